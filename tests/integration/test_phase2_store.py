"""Phase 2 in the store: the global lock, finalisers, selection and retention, against
Codex's store tests (reference §10.1) and SPEC §4."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
import pytest
from support.engines import open_target

from memoryd.store import jobs, phase2
from memoryd.store.db import immediate, open_db
from memoryd.store.engine import Connection
from memoryd.store.jobs import Candidate, OutputRow, UsageRow
from memoryd.store.phase2 import GlobalClaim, GlobalClaimOutcome, RunOutcome

NOW = 1_800_000_000
TESTS = str(Path(__file__).resolve().parents[1])  # for the claimer processes: support.engines
DAY = 86_400
HOUR = 3_600
LEASE = 3_600
A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"
C = "00000000-0000-4000-8000-00000000000c"
D = "00000000-0000-4000-8000-00000000000d"


async def add_thread(
    conn: Connection,
    tid: str,
    *,
    memory_mode: str = "enabled",
    archived: int = 0,
    git_branch: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO threads (id, rollout_path, source, cwd, git_branch, created_at, updated_at, "
        "preview, archived, memory_mode) VALUES (?, ?, 'cli', ?, ?, 0, 0, 'hi', ?, ?)",
        (tid, f"/r/rollout-{tid}.jsonl", f"/w/{tid}", git_branch, archived, memory_mode),
    )


async def add_output(
    conn: Connection,
    tid: str,
    source_updated_at: int,
    *,
    raw: str = "raw",
    summary: str = "summary",
    usage_count: int | None = None,
    last_usage: int | None = None,
    generated_at: int | None = None,
    thread: bool = True,
    memory_mode: str = "enabled",
    archived: int = 0,
    git_branch: str | None = None,
) -> None:
    if thread:
        await add_thread(
            conn, tid, memory_mode=memory_mode, archived=archived, git_branch=git_branch
        )
    await conn.execute(
        "INSERT INTO stage1_outputs (thread_id, source_updated_at, raw_memory, rollout_summary, "
        "rollout_slug, generated_at, usage_count, last_usage) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            tid,
            source_updated_at,
            raw,
            summary,
            f"slug-{tid[-1]}",
            source_updated_at if generated_at is None else generated_at,
            usage_count,
            last_usage,
        ),
    )


async def claim(
    conn: Connection,
    worker: str = "w1",
    *,
    now: int = NOW,
    min_interval: int = 0,
    ignore_backoff: bool = False,
) -> tuple[GlobalClaimOutcome, GlobalClaim | None]:
    return await phase2.try_claim_global(
        conn,
        worker_id=worker,
        now_s=now,
        lease_seconds=LEASE,
        min_interval_seconds=min_interval,
        ignore_backoff=ignore_backoff,
    )


async def claimed(
    conn: Connection, worker: str = "w1", *, now: int = NOW, min_interval: int = 0
) -> GlobalClaim:
    outcome, c = await claim(conn, worker, now=now, min_interval=min_interval)
    assert outcome is GlobalClaimOutcome.CLAIMED and c is not None
    return c


async def succeed(
    conn: Connection,
    c: GlobalClaim,
    *,
    now: int = NOW,
    watermark: int | None = None,
    selected: Sequence[tuple[str, int]] = (),
    outcome: RunOutcome = RunOutcome.SUCCEEDED,
) -> bool:
    run = await phase2.start_run(conn, started_at_ms=now * 1000)
    return await phase2.finish_global_succeeded(
        conn,
        c,
        now_s=now,
        completed_watermark=c.input_watermark if watermark is None else watermark,
        selected=selected,
        run=dataclasses.replace(run, outcome=outcome),
    )


async def fail(conn: Connection, c: GlobalClaim, *, now: int = NOW, delay: int = HOUR) -> bool:
    return await phase2.finish_global_failed(conn, c, "boom", now_s=now, retry_delay_seconds=delay)


async def enqueue(conn: Connection, watermark: int) -> None:
    async with immediate(conn) as c:
        await jobs.enqueue_global(c, watermark)


JOB_COLUMNS = (
    "kind",
    "job_key",
    "status",
    "worker_id",
    "ownership_token",
    "started_at",
    "finished_at",
    "lease_until",
    "retry_at",
    "retry_remaining",
    "last_error",
    "input_watermark",
    "last_success_watermark",
)


async def global_row(conn: Connection) -> dict[str, object]:
    rows = list(
        await conn.execute_fetchall(
            f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE kind = ? AND job_key = ?",
            (jobs.GLOBAL, jobs.GLOBAL_KEY),
        )
    )
    assert len(rows) == 1
    return dict(zip(JOB_COLUMNS, rows[0], strict=True))


async def marks(conn: Connection) -> dict[str, tuple[int, int | None]]:
    rows = await conn.execute_fetchall(
        "SELECT thread_id, selected_for_phase2, selected_for_phase2_source_updated_at "
        "FROM stage1_outputs"
    )
    return {str(r[0]): (int(r[1]), r[2]) for r in rows}


async def select(
    conn: Connection, limit: int = 10, days: float = 36_500, now: int = NOW
) -> phase2.Selection:
    return await phase2.select_inputs(conn, limit=limit, max_unused_days=days, now_s=now)


def ids(sel: phase2.Selection) -> list[str]:
    return [r.thread_id for r in sel.rows]


@pytest.fixture
async def db(state_target: str) -> AsyncIterator[Connection]:
    """The state DB on each engine in turn (conftest's ``state_target``)."""
    conn = await open_target(state_target)
    try:
        yield conn
    finally:
        await conn.close()


# --------------------------------------------------------------------------------------------
# The lock


async def test_only_one_fresh_runner(db: Connection) -> None:
    first = await claimed(db, "w1")
    assert await claim(db, "w2") == (GlobalClaimOutcome.RUNNING, None)
    assert await claim(db, "w2", now=NOW + LEASE - 1) == (GlobalClaimOutcome.RUNNING, None)
    row = await global_row(db)
    assert row["worker_id"] == "w1" and row["ownership_token"] == first.token


async def test_claim_creates_the_missing_row_and_success_starts_the_interval(
    db: Connection,
) -> None:
    c = await claimed(db)
    assert c.input_watermark == 0 and c.lease_until == NOW + LEASE
    row = await global_row(db)
    assert (row["status"], row["retry_remaining"], row["input_watermark"]) == ("running", 3, 0)
    assert row["last_success_watermark"] == 0 and row["started_at"] == NOW
    assert await succeed(db, c)
    # The daemon's interval holds the next claim back; run --once and trigger pass 0.
    assert await claim(db, min_interval=900, now=NOW + 899) == (GlobalClaimOutcome.COOLDOWN, None)
    assert (await claim(db, min_interval=0, now=NOW + 1))[0] is GlobalClaimOutcome.CLAIMED


async def test_fresh_tokens_are_uuid4(db: Connection) -> None:
    import uuid

    c = await claimed(db)
    assert uuid.UUID(c.token).version == 4


async def test_stale_lease_is_taken_over_and_keeps_the_watermark(db: Connection) -> None:
    await enqueue(db, 300)
    first = await claimed(db, "w1")
    assert first.input_watermark == 300
    later = NOW + LEASE  # the lease ran out
    second = await claimed(db, "w2", now=later)
    assert second.token != first.token and second.input_watermark == 300
    # The first runner's writes now match nothing: it must drop its result.
    assert not await phase2.heartbeat_global(db, first, later, LEASE)
    assert not await succeed(db, first, now=later)
    assert not await fail(db, first, now=later)
    row = await global_row(db)
    assert (row["status"], row["ownership_token"], row["worker_id"]) == (
        "running",
        second.token,
        "w2",
    )
    assert await phase2.heartbeat_global(db, second, later + 90, LEASE)
    assert (await global_row(db))["lease_until"] == later + 90 + LEASE


async def test_success_interval_holds_after_an_enqueue_and_zero_bypasses_it(
    db: Connection,
) -> None:
    await enqueue(db, 100)
    c = await claimed(db)
    assert await succeed(db, c)
    assert (await claim(db, min_interval=900))[0] is GlobalClaimOutcome.COOLDOWN
    await enqueue(db, 101)
    assert (await global_row(db))["status"] == "pending"
    assert (await claim(db, min_interval=900, now=NOW + 899))[0] is GlobalClaimOutcome.COOLDOWN
    assert await phase2.next_claim_at(db, now_s=NOW, min_interval_seconds=900) == NOW + 900
    assert (await claim(db, min_interval=900, now=NOW + 900))[0] is GlobalClaimOutcome.CLAIMED


async def test_lock_held_while_a_live_lease_holds_it_whoever_took_it(db: Connection) -> None:
    """What decides whether a lock given back elsewhere wakes this host's phase 2: held by a
    live lease (ours, or another worker's that took it over), not once it is released, ran
    out, or finished."""
    assert not await phase2.lock_held(db, now_s=NOW)  # no lock row yet
    first = await claimed(db, "w1")
    assert await phase2.lock_held(db, now_s=NOW)
    assert not await phase2.lock_held(db, now_s=NOW + LEASE)  # the lease ran out
    second = await claimed(db, "w2", now=NOW + LEASE)  # taken over from w1
    assert await phase2.lock_held(db, now_s=NOW + LEASE)
    assert not await succeed(db, first, now=NOW + LEASE)  # w1's finish changes nothing
    assert await phase2.lock_held(db, now_s=NOW + LEASE)
    assert await succeed(db, second, now=NOW + LEASE)
    assert not await phase2.lock_held(db, now_s=NOW + LEASE)
    third = await claimed(db, "w3", now=NOW + LEASE + 1)
    assert await phase2.release_global(db, third)
    assert not await phase2.lock_held(db, now_s=NOW + LEASE + 1)


async def test_zero_interval_bypasses_the_cooldown(db: Connection) -> None:
    c = await claimed(db)
    assert await succeed(db, c)
    assert (await claim(db, min_interval=900))[0] is GlobalClaimOutcome.COOLDOWN
    assert (await claim(db, min_interval=0))[0] is GlobalClaimOutcome.CLAIMED


async def test_claimable_after_the_retry_budget_is_exhausted(db: Connection) -> None:
    await enqueue(db, 100)
    for _ in range(3):
        c = await claimed(db)
        assert await fail(db, c, delay=0)
    assert (await global_row(db))["retry_remaining"] == 0
    c = await claimed(db)
    assert await fail(db, c, delay=0)
    assert (await global_row(db))["retry_remaining"] == 0  # floored, never negative
    assert (await claim(db))[0] is GlobalClaimOutcome.CLAIMED


async def test_failure_backs_off_keeps_the_reason_and_starts_no_interval(
    db: Connection,
) -> None:
    c = await claimed(db)
    assert await fail(db, c, delay=HOUR)
    row = await global_row(db)
    assert (row["status"], row["last_error"], row["retry_at"]) == ("error", "boom", NOW + HOUR)
    assert row["lease_until"] is None and row["retry_remaining"] == 2
    assert await claim(db, now=NOW + HOUR - 1) == (GlobalClaimOutcome.BACKOFF, None)
    assert await phase2.next_claim_at(db, now_s=NOW, min_interval_seconds=900) == NOW + HOUR
    # The backoff ends on time, and a failure is no success that would start the interval.
    c = await claimed(db, now=NOW + HOUR, min_interval=10 * HOUR)
    # trigger may skip the backoff.
    assert await fail(db, c, now=NOW + HOUR, delay=HOUR)
    assert (await claim(db, now=NOW + HOUR + 1))[0] is GlobalClaimOutcome.BACKOFF
    assert (await claim(db, now=NOW + HOUR + 1, ignore_backoff=True))[
        0
    ] is GlobalClaimOutcome.CLAIMED


async def test_enqueue_keeps_the_watermark_monotonic_and_dirty(db: Connection) -> None:
    assert not await phase2.is_dirty(db)  # no row yet
    await enqueue(db, 500)
    assert await phase2.is_dirty(db)
    c = await claimed(db)
    assert c.input_watermark == 500
    assert await succeed(db, c)
    assert not await phase2.is_dirty(db)
    await enqueue(db, 400)
    assert await phase2.is_dirty(db)
    c = await claimed(db, now=NOW + 1)
    assert c.input_watermark > 500


async def test_enqueue_during_a_run_leaves_it_dirty_after_success(db: Connection) -> None:
    await enqueue(db, 100)
    c = await claimed(db)
    await enqueue(db, 150)  # a phase-1 result lands while the agent runs
    assert (await global_row(db))["status"] == "running"
    assert await succeed(db, c, watermark=max(c.input_watermark, 120))
    assert (await global_row(db))["last_success_watermark"] == 120
    assert await phase2.is_dirty(db)


async def test_success_never_lowers_the_success_watermark(db: Connection) -> None:
    c = await claimed(db)
    assert await succeed(db, c, watermark=700)
    c = await claimed(db, now=NOW + 1)
    assert await succeed(db, c, now=NOW + 1, watermark=600)
    row = await global_row(db)
    assert row["last_success_watermark"] == 700
    assert (row["status"], row["last_error"], row["lease_until"]) == ("done", None, None)


async def test_unowned_running_row_falls_back(db: Connection) -> None:
    c = await claimed(db)
    await db.execute("UPDATE jobs SET ownership_token = NULL WHERE kind = ?", (jobs.GLOBAL,))
    assert not await fail(db, c)
    assert await phase2.fail_global_if_unowned(
        db, "boom", token=c.token, now_s=NOW, retry_delay_seconds=HOUR
    )
    row = await global_row(db)
    assert (row["status"], row["last_error"], row["retry_at"]) == ("error", "boom", NOW + HOUR)
    assert (await claim(db))[0] is GlobalClaimOutcome.BACKOFF
    # Not running any more: the fallback has nothing to recover.
    assert not await phase2.fail_global_if_unowned(
        db, "again", token=None, now_s=NOW, retry_delay_seconds=0
    )


async def test_fallback_never_touches_a_row_another_worker_owns(db: Connection) -> None:
    await claimed(db, "w1")
    assert not await phase2.fail_global_if_unowned(
        db, "boom", token="not-mine", now_s=NOW, retry_delay_seconds=0
    )
    assert (await global_row(db))["status"] == "running"


async def test_release_lets_the_next_claim_in_without_spending_a_retry(
    db: Connection,
) -> None:
    c = await claimed(db, "w1")
    assert await phase2.release_global(db, c)
    await claimed(db, "w2")  # at once, not after the lease
    assert not await phase2.release_global(db, c)  # no longer ours
    row = await global_row(db)
    assert row["worker_id"] == "w2" and row["retry_remaining"] == 3


async def test_racing_claims_on_many_connections_exactly_one_wins(state_target: str) -> None:
    conns = [await open_target(state_target) for _ in range(6)]
    try:
        await enqueue(conns[0], 42)
        results: list[GlobalClaimOutcome] = []

        async def one(i: int) -> None:
            results.append((await claim(conns[i], f"w{i}"))[0])

        async with anyio.create_task_group() as tg:
            for i in range(len(conns)):
                tg.start_soon(one, i)
        assert results.count(GlobalClaimOutcome.CLAIMED) == 1
        assert set(results) == {GlobalClaimOutcome.CLAIMED, GlobalClaimOutcome.RUNNING}
    finally:
        for c in conns:
            await c.close()


async def test_racing_claims_on_one_shared_connection_exactly_one_wins(
    db: Connection,
) -> None:
    results: list[GlobalClaimOutcome] = []

    async def one(i: int) -> None:
        results.append((await claim(db, f"w{i}"))[0])

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(one, i)
    assert sorted(r.value for r in results) == ["claimed"] + ["running"] * 7


CLAIMER = """
import anyio, os, sys, time
from memoryd.store import phase2
sys.path.insert(0, sys.argv[5])
from support.engines import open_target
async def main():
    conn = await open_target(sys.argv[1])
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.001)
    outcome, _ = await phase2.try_claim_global(conn, worker_id=sys.argv[2],
                                               now_s=int(sys.argv[4]), lease_seconds=3600)
    await conn.close()
    print(outcome.value)
anyio.run(main)
"""


@pytest.mark.acceptance  # starts other processes
def test_racing_claims_across_processes_exactly_one_wins(tmp_path: Path, state_target: str) -> None:
    go = tmp_path / "go"

    async def create() -> None:  # the processes race for the lock, not to create the DB
        await (await open_target(state_target)).close()

    async def running() -> int:
        conn = await open_target(state_target)
        try:
            rows = await conn.execute_fetchall("SELECT count(*) FROM jobs WHERE status = 'running'")
            return int(next(iter(rows))[0])
        finally:
            await conn.close()

    anyio.run(create)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, state_target, f"p{i}", str(go), str(NOW), TESTS],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outcomes: list[str] = []
    try:
        time.sleep(0.5)  # let every process open the DB and reach the starting line
        go.touch()
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            outcomes.append(out.strip())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert sorted(outcomes) == ["claimed", "running", "running", "running"]
    assert anyio.run(running) == 1


# --------------------------------------------------------------------------------------------
# Success: marks, last selection, run records


async def test_success_marks_exactly_the_consumed_snapshots(db: Connection) -> None:
    await add_output(db, A, 100)
    await add_output(db, B, 200)
    await add_output(db, C, 300)
    await db.execute(
        "UPDATE stage1_outputs SET selected_for_phase2 = 1, "
        "selected_for_phase2_source_updated_at = 300 WHERE thread_id = ?",
        (C,),
    )
    c = await claimed(db)
    # B was refreshed by phase 1 after it was selected at 199: not marked.
    assert await succeed(db, c, selected=[(A, 100), (B, 199)])
    assert await marks(db) == {A: (1, 100), B: (0, None), C: (0, None)}
    assert await phase2.last_selection(db) == {A: 100, B: 199}


async def test_success_updates_the_selected_snapshot_timestamp(db: Connection) -> None:
    await add_output(db, A, 100)
    c = await claimed(db)
    assert await succeed(db, c, selected=[(A, 100)])
    await db.execute("UPDATE stage1_outputs SET source_updated_at = 150 WHERE thread_id = ?", (A,))
    c = await claimed(db, now=NOW + 1)
    assert await succeed(db, c, now=NOW + 1, selected=[(A, 150)])
    assert await marks(db) == {A: (1, 150)}


async def test_lost_lease_writes_no_marks_and_records_a_failed_run(
    db: Connection,
) -> None:
    await add_output(db, A, 100)
    first = await claimed(db, "w1")
    await claimed(db, "w2", now=NOW + LEASE)
    run = await phase2.start_run(db, started_at_ms=NOW * 1000, run_id="r1")
    usage = [UsageRow("phase2", "offline", "m", 10, 5, run_id="r1")]
    done = dataclasses.replace(run, outcome=RunOutcome.SUCCEEDED, history_commit="abc")
    assert not await phase2.finish_global_succeeded(
        db,
        first,
        now_s=NOW + LEASE,
        completed_watermark=100,
        selected=[(A, 100)],
        run=done,
        usage=usage,
    )
    assert await marks(db) == {A: (0, None)}
    assert await phase2.last_selection(db) == {}
    got = await phase2.get_run(db, "r1")
    assert got is not None
    assert (got.outcome, got.reason, got.history_commit) == (RunOutcome.FAILED, "lease_lost", None)
    rows = await db.execute_fetchall("SELECT run_id, input_tokens FROM usage_ledger")
    assert [tuple(r) for r in rows] == [("r1", 10)]


async def test_run_records(db: Connection) -> None:
    run = await phase2.start_run(db, started_at_ms=NOW * 1000)
    assert run.run_id.startswith("20270115T") and run.outcome is RunOutcome.RUNNING
    assert await phase2.get_run(db, run.run_id) == run
    c = await claimed(db)
    done = dataclasses.replace(
        run,
        outcome=RunOutcome.SUCCEEDED,
        inputs_added=2,
        inputs_retained=1,
        inputs_removed=3,
        history_commit="c0ffee",
        input_tokens=100,
        output_tokens=20,
    )
    usage = [UsageRow("phase2", "openai", "gpt", 100, 20, run_id=run.run_id)]
    assert await phase2.finish_global_succeeded(
        db, c, now_s=NOW + 5, completed_watermark=0, selected=[], run=done, usage=usage
    )
    got = await phase2.get_run(db, run.run_id)
    assert got == dataclasses.replace(done, finished_at_ms=(NOW + 5) * 1000)
    rows = await db.execute_fetchall("SELECT at, phase, run_id FROM usage_ledger")
    assert [tuple(r) for r in rows] == [((NOW + 5) * 1000, "phase2", run.run_id)]

    c = await claimed(db, now=NOW + 10)
    second = await phase2.start_run(db, started_at_ms=(NOW + 10) * 1000, run_id="second")
    assert await phase2.finish_global_failed(
        db, c, "failed_invalid_artifacts", now_s=NOW + 20, retry_delay_seconds=HOUR, run=second
    )
    got = await phase2.get_run(db, "second")
    assert got is not None
    assert (got.outcome, got.reason, got.finished_at_ms) == (
        RunOutcome.FAILED,
        "failed_invalid_artifacts",
        (NOW + 20) * 1000,
    )
    assert [r.run_id for r in await phase2.recent_runs(db)] == ["second", run.run_id]

    with pytest.raises(ValueError, match="outcome"):
        await phase2.finish_global_succeeded(
            db, c, now_s=NOW, completed_watermark=0, selected=[], run=second
        )


async def test_noop_is_a_success(db: Connection) -> None:
    c = await claimed(db)
    assert await succeed(db, c, outcome=RunOutcome.NOOP)
    assert (await global_row(db))["status"] == "done"
    assert [r.outcome for r in await phase2.recent_runs(db)] == [RunOutcome.NOOP]


async def test_failed_run_is_recorded_even_if_the_lease_was_lost(db: Connection) -> None:
    first = await claimed(db, "w1")
    await claimed(db, "w2", now=NOW + LEASE)
    run = await phase2.start_run(db, started_at_ms=NOW * 1000, run_id="r")
    assert not await phase2.finish_global_failed(
        db, first, "agent", now_s=NOW + LEASE, retry_delay_seconds=0, run=run
    )
    got = await phase2.get_run(db, "r")
    assert got is not None and (got.outcome, got.reason) == (RunOutcome.FAILED, "agent")
    assert (await global_row(db))["status"] == "running"


# --------------------------------------------------------------------------------------------
# Selection


async def test_ranks_by_usage_count_then_recent_usage(db: Connection) -> None:
    await add_output(db, A, NOW - 20 * DAY, usage_count=5, last_usage=NOW - DAY)
    await add_output(db, B, NOW - 20 * DAY, usage_count=5, last_usage=NOW - 10 * DAY)
    await add_output(db, C, NOW - 20 * DAY, usage_count=1, last_usage=NOW - HOUR)
    assert ids(await select(db, limit=1, days=30)) == [A]
    assert ids(await select(db, limit=2, days=30)) == [A, B]


async def test_excludes_stale_used_memories_but_keeps_fresh_never_used(
    db: Connection,
) -> None:
    await add_output(db, D, NOW - 2 * DAY, usage_count=9, last_usage=NOW - 31 * DAY)
    await add_output(db, C, NOW - 2 * DAY)  # never used, recent source
    await add_output(db, B, NOW - 50 * DAY, usage_count=1, last_usage=NOW - DAY)
    await add_output(db, A, NOW - 31 * DAY)  # never used, old source
    sel = await select(db, days=30)
    assert ids(sel) == [B, C]  # thread-id order, not rank order
    assert sel.max_source_updated_at == NOW - 2 * DAY


async def test_prefers_recent_thread_updates_over_recent_generation(
    db: Connection,
) -> None:
    await add_output(db, A, 200, generated_at=NOW - 10)
    await add_output(db, B, 300, generated_at=NOW - 1000)
    assert ids(await select(db, limit=1)) == [B]


async def test_only_enabled_threads_with_content(db: Connection) -> None:
    await add_output(db, A, 100)
    await add_output(db, B, 101, memory_mode="polluted")
    await add_output(db, C, 102, memory_mode="disabled")
    await add_output(db, D, 103, raw=" \n\t", summary="  ")
    e = "00000000-0000-4000-8000-00000000000e"
    f = "00000000-0000-4000-8000-00000000000f"
    await add_output(db, e, 104, raw="  ", summary="kept: the summary has content")
    await add_output(db, f, 105, archived=1)  # archived threads are not excluded, as in Codex
    await add_output(db, "orphan", 106, thread=False)  # no thread row: skipped
    sel = await select(db)
    assert ids(sel) == [A, e, f]
    row = sel.rows[0]
    assert (row.rollout_path, row.cwd, row.raw_memory, row.rollout_summary, row.rollout_slug) == (
        f"/r/rollout-{A}.jsonl",
        f"/w/{A}",
        "raw",
        "summary",
        "slug-a",
    )


async def test_hydrates_thread_fields(db: Connection) -> None:
    await add_output(db, A, 100, git_branch="feature/x")
    await db.execute("UPDATE stage1_outputs SET rollout_path = '/stale/path'")
    (row,) = (await select(db)).rows
    assert (row.git_branch, row.rollout_path) == ("feature/x", f"/r/rollout-{A}.jsonl")


async def test_returns_current_rows_and_labels_against_the_last_success(
    db: Connection,
) -> None:
    for tid, s in ((A, 100), (B, 101), (C, 102)):
        await add_output(db, tid, s)
        await enqueue(db, s)
    c = await claimed(db)
    assert c.input_watermark == 102
    assert await succeed(db, c, selected=[(A, 100), (C, 102)])
    sel = await select(db, limit=2)
    assert ids(sel) == [B, C]
    assert (sel.added, sel.retained, sel.removed, sel.refreshed) == ((B,), (C,), (A,), ())
    assert sel.snapshots == ((B, 101), (C, 102))
    assert sel.rows[1].rollout_path == f"/r/rollout-{C}.jsonl"


async def test_refreshed_snapshot_is_returned_new_and_labelled_added(
    db: Connection,
) -> None:
    await add_thread(db, A)
    for s in (100, 101):
        cand = Candidate(A, f"/r/{A}.jsonl", "/w", None, s * 1000)
        _, job = await jobs.try_claim(
            db, cand, worker_id="w", now_s=NOW, lease_seconds=600, max_running=64
        )
        assert job is not None
        out = OutputRow(
            f"raw-{s}", f"summary-{s}", f"rollout-{s}", "/r", 1, 2, "", "o", "m", 0, 0, 1
        )
        assert await jobs.finish_succeeded(db, job, out, now_s=NOW)
        if s == 100:
            c = await claimed(db)
            assert await succeed(db, c, selected=(await select(db, limit=1)).snapshots)
    sel = await select(db, limit=1)
    assert [(r.thread_id, r.source_updated_at, r.raw_memory) for r in sel.rows] == [
        (A, 101, "raw-101")
    ]
    assert await marks(db) == {A: (1, 100)}  # still the consumed snapshot
    assert (sel.added, sel.retained, sel.removed, sel.refreshed) == ((A,), (), (), (A,))


async def test_removed_includes_deleted_outputs_and_polluted_threads(
    db: Connection,
) -> None:
    for tid, s in ((A, 100), (B, 101), (C, 102)):
        await add_output(db, tid, s)
    c = await claimed(db)
    assert await succeed(db, c, selected=(await select(db)).snapshots)
    await db.execute("DELETE FROM stage1_outputs WHERE thread_id = ?", (C,))
    await db.execute("UPDATE threads SET memory_mode = 'polluted' WHERE id = ?", (B,))
    await add_output(db, D, 103)
    sel = await select(db)
    assert ids(sel) == [A, D]
    assert (sel.added, sel.retained, sel.removed) == ((D,), (A,), (B, C))
    assert sel.previous == {A: 100, B: 101, C: 102}


async def test_an_empty_selection_removes_everything(db: Connection) -> None:
    await add_output(db, A, 100)
    c = await claimed(db)
    assert await succeed(db, c, selected=(await select(db)).snapshots)
    sel = await select(db, limit=0)
    assert (sel.rows, sel.added, sel.retained, sel.removed) == ((), (), (), (A,))
    assert sel.max_source_updated_at == 0


async def test_usage_outranks_recency_at_the_limit(db: Connection) -> None:
    await add_output(db, A, NOW - 5 * DAY, usage_count=2, last_usage=NOW - 4 * DAY)
    await add_output(db, B, NOW - DAY)
    await add_output(db, C, NOW - HOUR)
    assert ids(await select(db, limit=2, days=30)) == [A, C]


async def test_migration_seeds_the_last_selection_from_existing_marks(tmp_path: Path) -> None:
    path = tmp_path / "s" / "memoryd.sqlite"
    conn = await open_db(path)
    try:
        await add_output(conn, A, 100)
        await add_output(conn, B, 200)
        await conn.execute(
            "UPDATE stage1_outputs SET selected_for_phase2 = 1, "
            "selected_for_phase2_source_updated_at = 90 WHERE thread_id = ?",
            (A,),
        )
        # Back to schema version 2, as a DB written before this migration would be (0006
        # and 0007 undone too: SQLite cannot add a column or a table "if not exists").
        await conn.execute("DROP TABLE published_trees")
        await conn.execute("DROP INDEX index_problems_host_path")
        await conn.execute("ALTER TABLE threads DROP COLUMN host_id")
        await conn.execute("ALTER TABLE index_problems DROP COLUMN host_id")
        await conn.execute("DROP TRIGGER stage1_outputs_pending_citations")
        await conn.execute("DROP TABLE memory_citations")
        await conn.execute("DROP TABLE phase2_selection")
        await conn.execute("PRAGMA user_version = 2")
    finally:
        await conn.close()
    conn = await open_db(path)
    try:
        assert await phase2.last_selection(conn) == {A: 90}
    finally:
        await conn.close()


# --------------------------------------------------------------------------------------------
# Retention


async def test_prune_removes_stale_unselected_rows_only(db: Connection) -> None:
    await add_output(db, A, NOW - 40 * DAY)  # stale, unselected
    await add_output(db, B, NOW - 35 * DAY, usage_count=1, last_usage=NOW - 31 * DAY)  # stale
    await add_output(db, C, NOW - 40 * DAY)  # stale but consumed by the last success
    await add_output(db, D, NOW - 60 * DAY, usage_count=1, last_usage=NOW - DAY)  # used lately
    e = "00000000-0000-4000-8000-00000000000e"
    await add_output(db, e, NOW - DAY)  # fresh
    await db.execute(
        "UPDATE stage1_outputs SET selected_for_phase2 = 1, "
        "selected_for_phase2_source_updated_at = source_updated_at WHERE thread_id = ?",
        (C,),
    )
    await db.execute(
        "INSERT INTO jobs (kind, job_key, status, retry_remaining, last_success_watermark) "
        "VALUES ('memory_stage1', ?, 'done', 3, 1)",
        (A,),
    )
    assert await phase2.prune_stage1_outputs(db, 30, NOW) == 2
    left = await db.execute_fetchall("SELECT thread_id FROM stage1_outputs ORDER BY thread_id")
    assert [r[0] for r in left] == [C, D, e]
    rows = await db.execute_fetchall("SELECT job_key FROM jobs")
    assert [r[0] for r in rows] == [A]
    assert await phase2.prune_stage1_outputs(db, 30, NOW) == 0


async def test_prune_respects_the_batch_limit_stalest_first(db: Connection) -> None:
    await add_output(db, A, NOW - 40 * DAY)
    await add_output(db, B, NOW - 50 * DAY)
    await add_output(db, C, NOW - 45 * DAY)
    assert await phase2.prune_stage1_outputs(db, 30, NOW, limit=2) == 2
    left = await db.execute_fetchall("SELECT thread_id FROM stage1_outputs")
    assert [r[0] for r in left] == [A]
    assert await phase2.prune_stage1_outputs(db, 30, NOW, limit=0) == 0
