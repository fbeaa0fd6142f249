"""The claim-and-lock step: the global phase-2 lock (memoryd/store/phase2.py) claimed, its lease
heartbeated while a run holds it, ownership confirmed before the baseline moves, and a
success recorded only by the lock's holder (a lost lock raises LockLost)."""

from __future__ import annotations

import anyio
import structlog

from memoryd import clock
from memoryd.config import Phase2Config
from memoryd.errors import LockLost
from memoryd.store import phase2 as store
from memoryd.store.engine import Connection
from memoryd.store.jobs import GLOBAL, UsageRow, clamp_future_deadlines
from memoryd.store.phase2 import GlobalClaim, GlobalClaimOutcome, Phase2RunRecord

log = structlog.get_logger("memoryd.phase2")


async def claim_lock(
    conn: Connection, p: Phase2Config, *, worker_id: str, min_interval_seconds: int
) -> tuple[GlobalClaimOutcome, GlobalClaim | None]:
    """Claim the lock for a run, or say why not (held, backing off, cooling down)."""
    now = clock.now_s()
    if await clamp_future_deadlines(  # the clock went back: see jobs.py
        conn,
        GLOBAL,
        now_s=now,
        lease_seconds=p.lease_seconds,
        retry_delay_seconds=p.retry_delay_seconds,
    ):
        log.warning("clock_went_back", job_kind=GLOBAL)
    return await store.try_claim_global(
        conn,
        worker_id=worker_id,
        now_s=now,
        lease_seconds=p.lease_seconds,
        min_interval_seconds=min_interval_seconds,
    )


async def keep_lock(
    conn: Connection, claim: GlobalClaim, *, heartbeat_seconds: int, lease_seconds: int
) -> None:
    """Heartbeat the lease until cancelled; LockLost once another worker holds the lock."""
    while True:
        await anyio.sleep(heartbeat_seconds)
        await confirm_lock(conn, claim, lease_seconds)


async def confirm_lock(conn: Connection, claim: GlobalClaim, lease_seconds: int) -> None:
    """Renew the lease now, or raise LockLost: a lost lock must never move the baseline."""
    if not await store.heartbeat_global(conn, claim, clock.now_s(), lease_seconds):
        raise LockLost


async def finish_succeeded(
    conn: Connection,
    claim: GlobalClaim,
    run: Phase2RunRecord,
    selected: list[tuple[str, int]],
    watermark: int,
    usage: list[UsageRow],
    tree: dict[str, bytes] | None = None,
) -> None:
    """Record the success and release the lock (shielded), or raise LockLost if not ours."""
    with anyio.CancelScope(shield=True):
        ok = await store.finish_global_succeeded(
            conn,
            claim,
            now_s=clock.now_s(),
            completed_watermark=watermark,
            selected=selected,
            run=run,
            usage=usage,
            tree=tree,
        )
    if not ok:
        raise LockLost
