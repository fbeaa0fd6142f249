"""Fault: the file system refuses. The memory root read-only (before a run and while the agent
writes), the disk full during an artifact write, ``.git`` of the memory root deleted or
corrupted between runs, a rollout deleted while its job runs.

Read-only and disk-full are real: a read-only bind mount (EROFS for root too, where chmod
would prove nothing) and a small tmpfs filled to the last block (ENOSPC), see
tests/support/mounts.py; they skip, saying why, where mounting is not permitted. The
injected-errno variants of the same faults at the single-write level (short write then
ENOSPC, failed fsync, failed rename) are in test_artifacts.py and run everywhere.

Each run must end with its reason stored (``phase2_runs.reason`` and ``jobs.last_error``) and
a backoff, leave every file as it was (no temp file, no half-written file), lose no phase-1
output, and complete on the retry once the fault is gone."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pygit2
import pytest
from support.claims import claim_batch
from support.fault_world import (
    GOOD_STAGE1,
    THREADS,
    World,
    api_key_fixture,  # noqa: F401 (a fixture)
    consolidating_model,
    consolidator,
    fake_clock_fixture,  # noqa: F401 (a fixture)
    global_job,
    grow_rollout,
    openai_config,
    reindex,
    root_files,
    rows,
    stage1_jobs,
    temp_files,
    turns_so_far,
    world,
)
from support.mounts import cannot_mount, fill, make_read_only, read_only, tmpfs, unmount
from support.responses_server import Behaviour, ReceivedRequest, Reply, ResponsesServer

from memoryd import clock
from memoryd.config import Config
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.consolidate.openai import OpenAIConsolidator
from memoryd.extract.offline import OfflineExtractor
from memoryd.extract.openai import OpenAIExtractor
from memoryd.fsutil import atomic_write
from memoryd.phase1 import Phase1, eligibility
from memoryd.phase2 import Consolidator
from memoryd.phase2.validate import validate_artifacts
from memoryd.store import phase2 as phase2_store
from memoryd.workspace.baseline import diff_against_baseline

NEW_REQUEST = "Also add a Makefile target for the tests"
RETRY = Config().phase2.retry_delay_seconds


@pytest.fixture
def mountable() -> None:
    """Skip, saying why, where mounting is not permitted (checked when the test runs)."""
    reason = cannot_mount()
    if reason is not None:
        pytest.skip(reason)


needs_mount = pytest.mark.usefixtures("mountable")


@pytest.fixture
async def w(tmp_path: Path, fake: clock.FakeClock) -> AsyncIterator[World]:
    async with world(tmp_path) as got:
        yield got


async def extract(w: World) -> tuple[int, int]:
    stats = await Phase1(w.conn, Config(), OfflineExtractor()).run(until_idle=True)
    return stats.claimed, stats.succeeded


async def new_input(w: World) -> None:
    """The user returns to a session: one thread has a new phase-1 output to consolidate."""
    grow_rollout(w, THREADS[0], NEW_REQUEST)
    await reindex(w)
    assert await extract(w) == (1, 1)


async def consolidated(w: World, root: Path | None = None) -> Consolidator:
    """Phase 1 and a first successful consolidation with the real offline agent."""
    assert await extract(w) == (3, 3)
    run = consolidator(w, Config(), OfflineConsolidator(), root=root)
    assert (await run.run_once()).outcome == "succeeded"
    return run


async def assert_failed_and_backing_off(w: World, run: Consolidator, says: str) -> str:
    result = await run.run_once()
    assert result.outcome == "failed" and result.reason and says in result.reason, result
    assert await global_job(w.conn) == ("error", result.reason, RETRY)
    assert result.run_id is not None
    record = await phase2_store.get_run(w.conn, result.run_id)
    assert record is not None and record.reason == result.reason
    return result.reason


async def assert_no_output_lost(w: World) -> None:
    outputs = dict(await rows(w.conn, "SELECT thread_id, raw_memory FROM stage1_outputs"))
    assert sorted(outputs) == sorted(THREADS) and NEW_REQUEST in outputs[THREADS[0]]


async def assert_retry_consolidates(
    w: World, run: Consolidator, fake: clock.FakeClock, root: Path
) -> None:
    fake.advance(RETRY + 1)
    result = await run.run_once()
    assert result.outcome == "succeeded", result
    assert NEW_REQUEST in (root / "raw_memories.md").read_text()
    assert validate_artifacts(root) is None
    assert diff_against_baseline(root).is_empty
    assert temp_files(root) == []


# --- a read-only memory root ------------------------------------------------------------------


@needs_mount
async def test_read_only_root_fails_the_run_with_its_reason_and_loses_nothing(
    w: World, fake: clock.FakeClock
) -> None:
    run = await consolidated(w)
    await new_input(w)
    before = root_files(w.root)
    with read_only(w.root):
        await assert_failed_and_backing_off(w, run, "Read-only file system")
        assert root_files(w.root) == before
    await assert_no_output_lost(w)
    await assert_retry_consolidates(w, run, fake, w.root)


@needs_mount
async def test_root_turning_read_only_while_the_agent_writes_fails_the_run_cleanly(
    w: World, fake: clock.FakeClock
) -> None:
    await consolidated(w)
    await new_input(w)
    before = root_files(w.root)
    model = consolidating_model()
    mounted: list[Path] = []
    runs_faulted = 0

    def read_only_from_the_first_write(req: ReceivedRequest) -> Behaviour:
        nonlocal runs_faulted
        reply = model(req)
        if turns_so_far(req) == 1 and runs_faulted == 0:
            make_read_only(w.root)  # the agent has read; its writes will meet EROFS
            mounted.append(w.root)
            runs_faulted += 1
        return reply

    try:
        async with ResponsesServer(responder=read_only_from_the_first_write) as srv:
            cfg = openai_config(srv.url)
            async with OpenAIConsolidator(cfg) as agent:
                run = consolidator(w, cfg, agent)
                await assert_failed_and_backing_off(w, run, "Read-only file system")
                # The agent's writes failed: the consolidated files are the last run's, whole.
                after = root_files(w.root)
                for name in ("MEMORY.md", "memory_summary.md"):
                    assert after[name] == before[name]
                assert temp_files(w.root) == []
                unmount(mounted.pop())
                await assert_no_output_lost(w)
                await assert_retry_consolidates(w, run, fake, w.root)
    finally:
        for path in mounted:
            unmount(path)


# --- a full disk ------------------------------------------------------------------------------


@needs_mount
def test_atomic_write_on_a_full_filesystem_keeps_the_old_file(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "fs", size_kib=64) as fs:
        target = fs / "MEMORY.md"
        atomic_write(target, "old content\n")
        fill(fs / "filler")
        with pytest.raises(OSError, match="No space left"):
            atomic_write(target, "new content\n" * 10_000)
        assert target.read_text() == "old content\n"
        assert temp_files(fs) == []


@needs_mount
async def test_disk_full_during_the_artifact_sync_fails_the_run_and_keeps_every_file(
    w: World, fake: clock.FakeClock, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "fs", size_kib=512) as fs:
        root = fs / "memories"
        run = await consolidated(w, root)
        await new_input(w)
        before = root_files(root)
        filler = fs / "filler"
        fill(filler)
        await assert_failed_and_backing_off(w, run, "No space left on device")
        assert root_files(root) == before
        assert temp_files(root) == []
        filler.unlink()
        await assert_no_output_lost(w)
        await assert_retry_consolidates(w, run, fake, root)


# --- .git deleted or corrupted between runs ---------------------------------------------------


def _delete(git: Path) -> None:
    shutil.rmtree(git)


def _garbage_head(git: Path) -> None:
    (git / "HEAD").write_bytes(b"\x00garbage\xff\n")


def _objects_lost(git: Path) -> None:
    shutil.rmtree(git / "objects")


def _file_pointing_elsewhere(git: Path) -> None:
    shutil.rmtree(git)
    git.write_text("gitdir: /nonexistent/elsewhere\n")


@pytest.mark.parametrize(
    "damage", [_delete, _garbage_head, _objects_lost, _file_pointing_elsewhere]
)
async def test_damaged_git_between_runs_is_rebuilt_and_the_next_run_succeeds(
    w: World, damage: Callable[[Path], None]
) -> None:
    run = await consolidated(w)
    damage(w.root / ".git")
    await new_input(w)
    result = await run.run_once()
    assert result.outcome == "succeeded", result
    assert NEW_REQUEST in (w.root / "raw_memories.md").read_text()
    assert validate_artifacts(w.root) is None
    assert diff_against_baseline(w.root).is_empty
    repo = pygit2.Repository(str(w.root / ".git"))
    assert repo.head.peel(pygit2.Commit).tree["MEMORY.md"] is not None


# --- a rollout deleted while its job runs -----------------------------------------------------


async def test_rollout_deleted_before_its_job_reads_it_fails_that_job_only(w: World) -> None:
    claims = await claim_batch(
        w.conn,
        eligibility(Config()),
        worker_id="w",
        now_ms=clock.now_ms(),
        lease_seconds=600,
        max_running=64,
        max_claims=3,
    )
    assert len(claims) == 3
    gone = claims[0].candidate
    Path(gone.rollout_path).unlink()
    p1 = Phase1(w.conn, Config(), OfflineExtractor())
    outcomes = [await p1.run_job(c) for c in claims]
    assert outcomes == ["failed", "succeeded", "succeeded"]
    ((status, remaining, backoff, err),) = await rows(
        w.conn,
        "SELECT status, retry_remaining, retry_at - finished_at, last_error FROM jobs "
        "WHERE job_key = ?",
        gone.thread_id,
    )
    assert (status, remaining, backoff) == ("error", 2, Config().phase1.retry_delay_seconds)
    assert err == "cannot read: No such file or directory"
    # The next scan marks the thread vanished: it is not retried against a missing file.
    await reindex(w)
    assert await rows(w.conn, "SELECT index_error FROM threads WHERE id = ?", gone.thread_id) != [
        (None,)
    ]
    assert await extract(w) == (0, 0)


async def test_rollout_deleted_during_the_model_call_keeps_what_was_read(w: World) -> None:
    deleted: list[str] = []

    def delete_then_answer(req: ReceivedRequest) -> Behaviour:
        body = req.body.decode()
        for path in w.home.rglob("rollout-*.jsonl"):
            if not deleted and path.name in body:
                path.unlink()
                deleted.append(path.name)
        return Reply(text=GOOD_STAGE1)

    async with ResponsesServer(responder=delete_then_answer) as srv:
        cfg = openai_config(srv.url, concurrency=1)
        async with OpenAIExtractor(cfg) as ex:
            stats = await Phase1(w.conn, cfg, ex).run(until_idle=True)
    assert len(deleted) == 1
    # Read before it vanished: extracted from what was read, once; nothing failed.
    assert (stats.succeeded, stats.failed) == (3, 0)
    assert await rows(w.conn, "SELECT count(*), count(DISTINCT thread_id) FROM stage1_outputs") == [
        (3, 3)
    ]
    assert {j[0] for j in await stage1_jobs(w.conn)} == {"done"}
    await reindex(w)
    assert await extract(w) == (0, 0)
