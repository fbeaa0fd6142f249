"""Claiming several stage-1 jobs in one call, the way the tests set up leases: phase 1 itself
claims one candidate at a time (store.jobs.try_claim), so this lives with the tests."""

from __future__ import annotations

from memoryd.store import jobs
from memoryd.store.engine import Connection


async def claim_batch(
    conn: Connection,
    rules: jobs.Eligibility,
    *,
    worker_id: str,
    now_ms: int,
    lease_seconds: int,
    max_running: int,
    max_claims: int,
) -> list[jobs.Claim]:
    """Claim up to ``max_claims`` threads, newest first, stopping at the global running cap."""
    if max_claims <= 0:
        return []
    claims: list[jobs.Claim] = []
    # The scan returns only claimable threads, so a small margin over max_claims covers the
    # ones another process claims between our scan and our claim.
    for cand in await jobs.scan_candidates(conn, rules, now_ms=now_ms, limit=max_claims * 2 + 8):
        outcome, claim = await jobs.try_claim(
            conn,
            cand,
            worker_id=worker_id,
            now_s=now_ms // 1000,
            lease_seconds=lease_seconds,
            max_running=max_running,
        )
        if claim is not None:
            claims.append(claim)
            if len(claims) >= max_claims:
                break
        elif outcome is jobs.ClaimOutcome.CAP_REACHED:
            break
    return claims
