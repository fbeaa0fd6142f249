"""Stage-1 claims, leases and finalisers: Codex's store tests (reference §10.1) against ours."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from support.claims import claim_batch
from support.engines import open_target

from memoryd.store import jobs
from memoryd.store.db import immediate
from memoryd.store.engine import Connection, host_of
from memoryd.store.jobs import Candidate, ClaimOutcome, Eligibility, OutputRow

NOW_MS = 1_800_000_000_000
TESTS = str(Path(__file__).resolve().parents[1])  # for the claimer processes: support.claims
NOW_S = NOW_MS // 1000
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
RULES = Eligibility(allowed_sources=("cli", "vscode"), max_age_days=30, min_idle_hours=12)


async def add_thread(
    conn: Connection,
    tid: str,
    updated_at_ms: int,
    *,
    source: str = "cli",
    preview: str = "do the thing",
    memory_mode: str = "enabled",
    memory_mode_at_start: str | None = None,
    archived: int = 0,
    index_error: str | None = None,
) -> Candidate:
    await conn.execute(
        "INSERT INTO threads (id, rollout_path, source, cwd, created_at, updated_at, preview, "
        "archived, memory_mode_at_start, memory_mode, index_error, host_id) "
        "VALUES (?, ?, ?, '/proj', ?, ?, ?, ?, ?, ?, ?, ?) "
        # as the indexer does: a new updated_at makes the thread pending for stage 1 again
        "ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, stage1_pending = 1",
        (
            tid,
            f"/r/{tid}.jsonl",
            source,
            updated_at_ms,
            updated_at_ms,
            preview,
            archived,
            memory_mode_at_start,
            memory_mode,
            index_error,
            host_of(conn),  # as the indexer writes it: the claiming host's own thread
        ),
    )
    return Candidate(tid, f"/r/{tid}.jsonl", "/proj", None, updated_at_ms)


@pytest.fixture
async def db(state_target: str) -> AsyncIterator[Connection]:
    """The state DB on each engine in turn (conftest's ``state_target``)."""
    conn = await open_target(state_target)
    try:
        yield conn
    finally:
        await conn.close()


def idle(hours: float = 13) -> int:
    return NOW_MS - int(hours * HOUR_MS)


async def claim(
    conn: Connection,
    cand: Candidate,
    worker: str = "w1",
    *,
    now_s: int = NOW_S,
    max_running: int = 64,
    max_retries: int = jobs.DEFAULT_RETRY_REMAINING,
) -> tuple[ClaimOutcome, jobs.Claim | None]:
    return await jobs.try_claim(
        conn,
        cand,
        worker_id=worker,
        now_s=now_s,
        lease_seconds=600,
        max_running=max_running,
        max_retries=max_retries,
    )


async def batch(db: Connection, n: int) -> list[jobs.Claim]:
    """One claim pass of worker "w" at NOW with the default cap of 64."""
    return await claim_batch(
        db,
        RULES,
        worker_id="w",
        now_ms=NOW_MS,
        lease_seconds=600,
        max_running=64,
        max_claims=n,
    )


def output(raw: str = "raw", summary: str = "summary") -> OutputRow:
    return OutputRow(raw, summary, "slug", "/r", 1, 9, "ab" * 32, "offline", "offline-v1", 0, 0, 1)


async def job_row(conn: Connection, key: str, kind: str = jobs.STAGE1) -> tuple:  # type: ignore[type-arg]
    async with conn.execute(
        "SELECT status, retry_remaining, retry_at, last_error, input_watermark, "
        "last_success_watermark, ownership_token, lease_until FROM jobs "
        "WHERE kind = ? AND job_key = ?",
        (kind, key),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return tuple(row)


async def test_claim_skips_when_up_to_date_and_newer_input_claims(db: Connection) -> None:
    cand = await add_thread(db, "t1", idle())
    outcome, c = await claim(db, cand)
    assert outcome is ClaimOutcome.CLAIMED and c is not None
    assert await jobs.finish_succeeded(db, c, output(), now_s=NOW_S)
    assert (await claim(db, cand))[0] is ClaimOutcome.UP_TO_DATE
    newer = await add_thread(db, "t1", cand.updated_at_ms + 5000)
    assert (await claim(db, newer))[0] is ClaimOutcome.CLAIMED


async def test_up_to_date_by_job_watermark_even_without_output(db: Connection) -> None:
    cand = await add_thread(db, "t1", idle())
    _, c = await claim(db, cand)
    assert c is not None and await jobs.finish_no_output(db, c, now_s=NOW_S)
    assert (await claim(db, cand))[0] is ClaimOutcome.UP_TO_DATE
    assert await jobs.scan_candidates(db, RULES, now_ms=NOW_MS, limit=10) == []


async def test_fresh_lease_is_skipped_but_a_stale_one_is_stolen(db: Connection) -> None:
    cand = await add_thread(db, "t1", idle())
    _, first = await claim(db, cand, "w1")
    assert first is not None
    assert (await claim(db, cand, "w2"))[0] is ClaimOutcome.RUNNING
    await db.execute("UPDATE jobs SET lease_until = 0 WHERE job_key = 't1'")
    outcome, second = await claim(db, cand, "w2")
    assert outcome is ClaimOutcome.CLAIMED and second is not None
    assert second.token != first.token
    # The first worker's heartbeat and finaliser now match nothing: its result is dropped.
    assert not await jobs.heartbeat(db, first, now_s=NOW_S, lease_seconds=600)
    assert not await jobs.finish_succeeded(db, first, output(), now_s=NOW_S)
    async with db.execute("SELECT count(*) FROM stage1_outputs") as cur:
        assert await cur.fetchone() == (0,)
    assert await jobs.heartbeat(db, second, now_s=NOW_S + 60, lease_seconds=600)
    assert (await job_row(db, "t1"))[7] == NOW_S + 660


async def test_racing_claims_on_one_thread_exactly_one_wins(state_target: str) -> None:
    conns = [await open_target(state_target) for _ in range(6)]
    try:
        cand = await add_thread(conns[0], "t1", idle())
        results: list[ClaimOutcome] = []

        async def one(i: int) -> None:
            results.append((await claim(conns[i], cand, f"w{i}"))[0])

        async with anyio.create_task_group() as tg:
            for i in range(len(conns)):
                tg.start_soon(one, i)
        assert results.count(ClaimOutcome.CLAIMED) == 1
        assert set(results) == {ClaimOutcome.CLAIMED, ClaimOutcome.RUNNING}
    finally:
        for c in conns:
            await c.close()


async def test_racing_claims_respect_the_running_cap(state_target: str) -> None:
    conns = [await open_target(state_target) for _ in range(4)]
    try:
        cands = [await add_thread(conns[0], f"t{i}", idle(13 + i)) for i in range(4)]
        won: list[str] = []

        async def one(i: int) -> None:
            outcome, c = await claim(conns[i], cands[i], f"w{i}", max_running=1)
            if c is not None:
                won.append(c.candidate.thread_id)
            else:
                assert outcome is ClaimOutcome.CAP_REACHED

        async with anyio.create_task_group() as tg:
            for i in range(4):
                tg.start_soon(one, i)
        assert len(won) == 1
    finally:
        for c in conns:
            await c.close()


async def test_eighty_eligible_ten_running_cap_64_claims_54(db: Connection) -> None:
    for i in range(80):
        await add_thread(db, f"e{i:03d}", idle(13) - i * 1000)
    for i in range(10):
        cand = await add_thread(db, f"r{i:03d}", idle(20))
        assert (await claim(db, cand, "other"))[0] is ClaimOutcome.CLAIMED
    claims = await batch(db, 64)
    assert len(claims) == 54
    async with db.execute(
        "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_until > ?", (NOW_S,)
    ) as cur:
        assert await cur.fetchone() == (64,)
    again = await batch(db, 64)
    assert again == []


async def test_two_full_batches_across_passes(db: Connection) -> None:
    for i in range(200):
        await add_thread(db, f"e{i:03d}", idle(13) - i * 1000)
    seen: set[str] = set()
    for _ in range(2):
        claims = await batch(db, 64)
        assert len(claims) == 64
        for c in claims:
            assert c.candidate.thread_id not in seen
            seen.add(c.candidate.thread_id)
            assert await jobs.finish_succeeded(db, c, output(), now_s=NOW_S)
    assert len(seen) == 128


@pytest.mark.parametrize(
    ("age_ms", "claimable"),
    [
        (HOUR_MS, False),  # fresh
        (12 * HOUR_MS - 60_000, False),  # just under the idle window
        (12 * HOUR_MS + 60_000, True),  # just over it
        (30 * DAY_MS - 60_000, True),  # inside the age window
        (31 * DAY_MS, False),  # too old
    ],
)
async def test_age_and_idle_boundaries(db: Connection, age_ms: int, claimable: bool) -> None:
    await add_thread(db, "t", NOW_MS - age_ms)
    found = await jobs.scan_candidates(db, RULES, now_ms=NOW_MS, limit=10)
    assert [c.thread_id for c in found] == (["t"] if claimable else [])


async def test_eligibility_filters(db: Connection) -> None:
    await add_thread(db, "ok", idle())
    await add_thread(db, "exec", idle(), source="exec")
    await add_thread(db, "nopreview", idle(), preview="")
    await add_thread(db, "archived", idle(), archived=1)
    await add_thread(db, "optout", idle(), memory_mode="disabled")
    await add_thread(db, "polluted", idle(), memory_mode="polluted")
    await add_thread(db, "gone", idle(), index_error="rollout file no longer exists")
    await add_thread(db, "codexoff", idle(), memory_mode_at_start="disabled")
    found = {c.thread_id for c in await jobs.scan_candidates(db, RULES, now_ms=NOW_MS, limit=50)}
    # Codex's generate_memories=false marker does not block extraction by default (SPEC §2).
    assert found == {"ok", "codexoff"}
    honor = Eligibility(("cli", "vscode"), 30, 12, honor_codex_generate_memories=True)
    found = {c.thread_id for c in await jobs.scan_candidates(db, honor, now_ms=NOW_MS, limit=50)}
    assert found == {"ok"}


async def test_up_to_date_threads_do_not_use_up_the_scan_limit(db: Connection) -> None:
    # SPEC §3 applies "already extracted" in the scan, before the limit (Codex does not).
    newest = await add_thread(db, "newest", idle(13))
    await add_thread(db, "older", idle(14))
    _, c = await claim(db, newest)
    assert c is not None and await jobs.finish_succeeded(db, c, output(), now_s=NOW_S)
    found = await jobs.scan_candidates(db, RULES, now_ms=NOW_MS, limit=1)
    assert [f.thread_id for f in found] == ["older"]


@pytest.mark.parametrize("max_retries", [3, 1, 5])  # 3 is Codex's; phase1.max_retries sets it
async def test_retry_exhaustion_does_not_block_a_newer_watermark(
    db: Connection, max_retries: int
) -> None:
    cand = await add_thread(db, "t", idle())
    now = NOW_S
    for i in range(max_retries):
        outcome, c = await claim(db, cand, now_s=now, max_retries=max_retries)
        assert outcome is ClaimOutcome.CLAIMED and c is not None, i
        assert await jobs.finish_failed(db, c, f"boom {i}", now_s=now, retry_delay_seconds=0)
    status, remaining, *_ = await job_row(db, "t")
    assert (status, remaining) == ("error", 0)
    exhausted = await claim(db, cand, now_s=now + 1, max_retries=max_retries)
    assert exhausted[0] is ClaimOutcome.EXHAUSTED
    newer = await add_thread(db, "t", cand.updated_at_ms + 1000)
    outcome, c = await claim(db, newer, now_s=now + 1, max_retries=max_retries)
    assert outcome is ClaimOutcome.CLAIMED and c is not None
    row = await job_row(db, "t")
    assert row[1] == max_retries and row[4] == newer.watermark


async def test_failure_backs_off_keeps_reason_and_counts_down(db: Connection) -> None:
    cand = await add_thread(db, "t", idle())
    _, c = await claim(db, cand)
    assert c is not None
    assert await jobs.finish_failed(
        db, c, "HTTP 500 from model", now_s=NOW_S, retry_delay_seconds=3600
    )
    status, remaining, retry_at, last_error, *_ = await job_row(db, "t")
    assert (status, remaining, retry_at, last_error) == (
        "error",
        2,
        NOW_S + 3600,
        "HTTP 500 from model",
    )
    assert (await claim(db, cand, now_s=NOW_S + 10))[0] is ClaimOutcome.BACKOFF
    assert await jobs.scan_candidates(db, RULES, now_ms=NOW_MS + 10_000, limit=5) == []
    assert await jobs.next_eligible_at_ms(db, RULES, now_ms=NOW_MS) == (NOW_S + 3600) * 1000
    assert (await claim(db, cand, now_s=NOW_S + 3600))[0] is ClaimOutcome.CLAIMED


async def test_success_enqueues_phase2_and_watermark_is_monotonic(db: Connection) -> None:
    cand = await add_thread(db, "t", idle())
    _, c = await claim(db, cand)
    assert c is not None and await jobs.finish_succeeded(db, c, output(), now_s=NOW_S)
    g = await job_row(db, jobs.GLOBAL_KEY, jobs.GLOBAL)
    assert g[0] == "pending" and g[4] == cand.watermark
    async with jobs.immediate(db) as tx:
        await jobs.enqueue_global(tx, cand.watermark - 100)
    assert (await job_row(db, jobs.GLOBAL_KEY, jobs.GLOBAL))[4] == cand.watermark + 1


async def test_no_output_without_earlier_output_does_not_enqueue(db: Connection) -> None:
    cand = await add_thread(db, "t", idle())
    _, c = await claim(db, cand)
    assert c is not None and await jobs.finish_no_output(db, c, now_s=NOW_S)
    async with db.execute("SELECT count(*) FROM jobs WHERE kind = ?", (jobs.GLOBAL,)) as cur:
        assert await cur.fetchone() == (0,)


async def test_no_output_deletes_earlier_output_and_enqueues(db: Connection) -> None:
    cand = await add_thread(db, "t", idle(14))
    _, c = await claim(db, cand)
    assert c is not None and await jobs.finish_succeeded(db, c, output(), now_s=NOW_S)
    newer = await add_thread(db, "t", cand.updated_at_ms + 1000)
    _, c2 = await claim(db, newer)
    assert c2 is not None and await jobs.finish_no_output(db, c2, now_s=NOW_S)
    async with db.execute("SELECT count(*) FROM stage1_outputs") as cur:
        assert await cur.fetchone() == (0,)
    assert (await job_row(db, jobs.GLOBAL_KEY, jobs.GLOBAL))[4] == newer.watermark


async def test_output_keeps_usage_and_refresh_never_goes_backwards(
    db: Connection,
) -> None:
    cand = await add_thread(db, "t", idle(14))
    _, c = await claim(db, cand)
    assert c is not None and await jobs.finish_succeeded(db, c, output("v1"), now_s=NOW_S)
    await db.execute("UPDATE stage1_outputs SET usage_count = 4, selected_for_phase2 = 1")
    newer = await add_thread(db, "t", cand.updated_at_ms + 1000)
    _, c2 = await claim(db, newer)
    assert c2 is not None and await jobs.finish_succeeded(db, c2, output("v2"), now_s=NOW_S)
    async with db.execute(
        "SELECT raw_memory, source_updated_at, usage_count, selected_for_phase2 FROM stage1_outputs"
    ) as cur:
        assert await cur.fetchone() == ("v2", newer.watermark, 4, 1)


async def test_usage_is_written_to_the_ledger_in_the_callers_transaction(
    db: Connection,
) -> None:
    """Phase 1 books each call as it returns (memoryd/budget.py), not with the job's outcome,
    so a job that then fails or loses its lease has its tokens counted all the same."""
    usage = [jobs.UsageRow("phase1", "openai", "m", 100, 20, thread_id="t")]
    async with immediate(db) as c:
        await jobs.insert_usage(c, usage, NOW_MS)
    async with db.execute(
        "SELECT phase, backend, model, input_tokens, output_tokens, thread_id FROM usage_ledger"
    ) as cur:
        assert await cur.fetchall() == [("phase1", "openai", "m", 100, 20, "t")]


async def test_next_eligible_moment_is_when_a_recent_thread_goes_idle(
    db: Connection,
) -> None:
    await add_thread(db, "recent", NOW_MS - 2 * HOUR_MS)
    assert await jobs.next_eligible_at_ms(db, RULES, now_ms=NOW_MS) == NOW_MS + 10 * HOUR_MS


CLAIMER = """
import anyio, json, sys
from memoryd.store import jobs
sys.path.insert(0, sys.argv[5])
from support.claims import claim_batch
from support.engines import open_target
async def main():
    conn = await open_target(sys.argv[1])
    rules = jobs.Eligibility(("cli",), 30, 12)
    got = []
    for _ in range(40):
        for c in await claim_batch(conn, rules, worker_id=sys.argv[2], now_ms=int(sys.argv[3]),
                                        lease_seconds=600, max_running=int(sys.argv[4]),
                                        max_claims=3):
            got.append(c.candidate.thread_id)
    await conn.close()
    print(json.dumps(got))
anyio.run(main)
"""


@pytest.mark.acceptance  # starts other processes
async def test_running_cap_holds_across_processes(state_target: str) -> None:
    conn = await open_target(state_target)
    try:
        for i in range(100):
            await add_thread(conn, f"t{i:03d}", idle(13) - i)
    finally:
        await conn.close()
    cap = 25
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, state_target, f"p{i}", str(NOW_MS), str(cap), TESTS],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    import json

    claimed: list[str] = []
    try:
        deadline = time.monotonic() + 120
        for p in procs:
            out, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
            assert p.returncode == 0, err
            claimed += json.loads(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert len(claimed) == len(set(claimed)) == cap


async def test_an_extracted_thread_leaves_the_scan_until_its_rollout_changes(
    db: Connection,
) -> None:
    cand = await add_thread(db, "t", idle(14))
    (c,) = await batch(db, 5)
    assert await jobs.finish_succeeded(db, c, output(), now_s=NOW_S)
    assert await rows_pending(db) == [("t", 0)]
    assert await jobs.scan_candidates(db, RULES, now_ms=NOW_MS, limit=5) == []
    await add_thread(db, "t", cand.updated_at_ms + 2000)
    assert [x.thread_id for x in await jobs.scan_candidates(db, RULES, now_ms=NOW_MS, limit=5)] == [
        "t"
    ]


async def rows_pending(db: Connection) -> list[tuple[str, int]]:
    async with db.execute("SELECT id, stage1_pending FROM threads") as cur:
        return [(str(a), int(b)) for a, b in await cur.fetchall()]


async def test_a_thread_of_another_host_is_never_a_candidate_here(db: Connection) -> None:
    """Raw transcripts never leave their host: a thread another host indexed is not scanned,
    not counted as skipped or pending, and ``trigger phase1 --thread`` refuses it by name."""
    await add_thread(db, "mine", idle())
    await add_thread(db, "theirs", idle(14))
    await db.execute("UPDATE threads SET host_id = 'other-host' WHERE id = 'theirs'")
    found = await jobs.scan_candidates(db, RULES, now_ms=NOW_MS, limit=10)
    assert [c.thread_id for c in found] == ["mine"]
    cand, why = await jobs.thread_candidate(db, "theirs")
    assert cand is None
    assert why == "thread theirs is on another host (other-host); it is extracted there"
    await db.execute("UPDATE threads SET updated_at = ? WHERE id = 'theirs'", (NOW_MS,))
    assert await jobs.next_eligible_at_ms(db, RULES, now_ms=NOW_MS) is None
