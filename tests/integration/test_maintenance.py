"""``forget`` and ``clear`` (SPEC §7): real rollouts, a real state DB, real phase 1 and phase 2
with the offline agent, real git."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.claims import claim_batch
from support.pipeline import (
    COMPACT_FACT,
    COMPACT_THREAD,
    SAMPLES_CWD,
    TOOLS_FACT,
    TOOLS_THREAD,
    UV_FACT,
    UV_THREAD,
    Pipeline,
    open_pipeline,
    tree_bytes,
)

from memoryd import clock
from memoryd.config import Config
from memoryd.errors import MemorydError
from memoryd.maintenance import clear, forget
from memoryd.phase1 import eligibility
from memoryd.store import jobs
from memoryd.store import phase2 as store
from memoryd.workspace.history import list_runs

MEMORY_ROWS = {
    "stage1_outputs": "SELECT count(*) FROM stage1_outputs",
    "phase2_selection": "SELECT count(*) FROM phase2_selection",
    "memory_citations": "SELECT count(*) FROM memory_citations",
    "jobs": "SELECT count(*) FROM jobs",
}


@pytest.fixture
async def pipe(tmp_path: Path) -> AsyncIterator[Pipeline]:
    p = await open_pipeline(tmp_path)
    try:
        yield p
    finally:
        await p.conn.close()


async def db_state(pipe: Pipeline) -> dict[str, object]:
    """Everything forget or clear may touch, to show that a refusal touched nothing."""
    out: dict[str, object] = {}
    for table in ("threads", "stage1_outputs", "phase2_selection", "jobs", "forgotten_threads"):
        out[table] = sorted(
            map(tuple, await pipe.conn.execute_fetchall(f"SELECT * FROM {table}")),
            key=repr,
        )
    return out


def consolidated(pipe: Pipeline) -> str:
    return (pipe.root / "MEMORY.md").read_text() + (pipe.root / "memory_summary.md").read_text()


# --------------------------------------------------------------------------------------------
# forget


async def test_forget_removes_the_threads_facts_after_the_next_run(pipe: Pipeline) -> None:
    assert (await pipe.run()).outcome == "succeeded"
    assert UV_FACT in consolidated(pipe)

    result = await forget(pipe.conn, thread_id=UV_THREAD)

    assert (result.threads, result.outputs_deleted) == ([UV_THREAD], 1)
    assert await store.is_dirty(pipe.conn)  # phase 2 was enqueued
    after = await pipe.run()
    assert after.outcome == "succeeded" and (after.removed, after.retained) == (1, 2)
    text = consolidated(pipe)
    assert UV_FACT not in text and "proj-alpha" not in text
    assert TOOLS_FACT in text and COMPACT_FACT in text
    assert not [p for p in (pipe.root / "rollout_summaries").iterdir() if "pytest" in p.name]
    assert UV_THREAD not in (pipe.root / "raw_memories.md").read_text()


async def test_forget_by_cwd_takes_that_directory_and_everything_under_it(
    pipe: Pipeline,
) -> None:
    await pipe.run()
    result = await forget(pipe.conn, cwd=SAMPLES_CWD + "/")
    assert sorted(result.threads) == sorted([TOOLS_THREAD, COMPACT_THREAD])
    assert result.outputs_deleted == 2
    assert (await forget(pipe.conn, cwd="/home/dev/code/run-ont1j3pn/proj-alpha")).threads == [
        UV_THREAD
    ]
    after = await pipe.run()
    assert after.outcome == "succeeded" and after.removed == 3
    text = consolidated(pipe)
    assert UV_FACT not in text and TOOLS_FACT not in text and COMPACT_FACT not in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thread_id": "0000-not-a-thread"}, "unknown thread '0000-not-a-thread'"),
        # a string prefix of a real cwd is not a directory above it
        ({"cwd": "/home/dev/code/samples-13u"}, "no thread has its cwd at or under"),
        ({"cwd": "code/samples-13uz"}, "needs an absolute path"),
        ({}, "exactly one of a thread id or a cwd"),
        ({"thread_id": UV_THREAD, "cwd": SAMPLES_CWD}, "exactly one of a thread id or a cwd"),
    ],
)
async def test_forget_with_nothing_to_match_is_a_clear_error_and_changes_nothing(
    pipe: Pipeline, kwargs: dict[str, str], message: str
) -> None:
    await pipe.run()
    before = await db_state(pipe)
    with pytest.raises(MemorydError, match=message):
        await forget(pipe.conn, **kwargs)
    assert await db_state(pipe) == before


async def test_a_forgotten_thread_is_not_extracted_again_after_a_rescan(
    pipe: Pipeline,
) -> None:
    await pipe.run()
    await forget(pipe.conn, thread_id=UV_THREAD)
    (rollout,) = pipe.sessions.rglob(f"*{UV_THREAD}.jsonl")
    # The session goes on: new lines, a newer (still idle) mtime, so a newer updated_at.
    lines = rollout.read_bytes().splitlines(keepends=True)
    with rollout.open("ab") as f:
        f.write(lines[-1])
    later = time.time() - 12.5 * 3600
    os.utime(rollout, (later, later))
    await pipe.extract()
    # And a thread row written from scratch (as for a replaced file) is held too.
    async with jobs.immediate(pipe.conn) as c:
        await c.execute("DELETE FROM threads WHERE id = ?", (UV_THREAD,))
    await pipe.extract()

    assert (
        await pipe.count("SELECT count(*) FROM stage1_outputs WHERE thread_id = ?", UV_THREAD) == 0
    )
    assert await pipe.count("SELECT count(*) FROM jobs WHERE job_key = ?", UV_THREAD) == 0
    modes = list(
        await pipe.conn.execute_fetchall(
            "SELECT memory_mode, updated_at FROM threads WHERE id = ?", (UV_THREAD,)
        )
    )
    assert modes[0][0] == "forgotten" and modes[0][1] // 1000 == int(later)
    assert await pipe.count("SELECT count(*) FROM stage1_outputs") == 2  # the others stay
    await pipe.run()
    assert UV_FACT not in consolidated(pipe)


async def test_an_extraction_running_when_the_thread_is_forgotten_is_dropped(
    tmp_path: Path,
) -> None:
    pipe = await open_pipeline(tmp_path, hold_back=(UV_THREAD,))
    try:
        for path in pipe.held_back:  # the file appears and is indexed; phase 1 claims it
            os.rename(path.with_suffix(".held"), path)
        await pipe.index()
        (claim,) = await claim_batch(
            pipe.conn,
            eligibility(Config()),
            worker_id="w",
            now_ms=clock.now_ms(),
            lease_seconds=600,
            max_running=64,
            max_claims=8,
        )
        assert claim.candidate.thread_id == UV_THREAD

        assert (await forget(pipe.conn, thread_id=UV_THREAD)).outputs_deleted == 0

        out = jobs.OutputRow(
            "raw", "summary", "slug", "/r", 1, 9, "ab" * 32, "offline", "offline-v1", 0, 0, 1
        )
        assert not await jobs.finish_succeeded(pipe.conn, claim, out, now_s=clock.now_s())
        # Whoever writes an output for a forgotten thread, it is not stored.
        async with jobs.immediate(pipe.conn) as c:
            await c.execute(
                "INSERT INTO stage1_outputs (thread_id, source_updated_at, raw_memory, "
                "rollout_summary, generated_at) VALUES (?, 1, 'r', 's', 1)",
                (UV_THREAD,),
            )
        assert (
            await pipe.count("SELECT count(*) FROM stage1_outputs WHERE thread_id = ?", UV_THREAD)
            == 0
        )
    finally:
        await pipe.conn.close()


# --------------------------------------------------------------------------------------------
# clear


async def test_clear_empties_the_root_and_the_memory_rows_but_keeps_threads(
    pipe: Pipeline,
) -> None:
    first = await pipe.run()
    at_first = tree_bytes(pipe.root)
    threads = sorted(
        map(tuple, await pipe.conn.execute_fetchall("SELECT id, memory_mode FROM threads"))
    )
    async with jobs.immediate(pipe.conn) as c:  # a citation seen by the indexer
        await c.execute("INSERT INTO memory_citations VALUES ('c', 'm', ?, 1, 1)", (UV_THREAD,))

    result = await clear(pipe.conn, pipe.root)

    assert result.outputs_deleted == 3 and result.files_removed >= len(at_first)
    assert pipe.root.is_dir() and os.listdir(pipe.root) == []  # .git is gone too
    for table, sql in MEMORY_ROWS.items():
        assert await pipe.count(sql) == 0, table
    assert (
        sorted(map(tuple, await pipe.conn.execute_fetchall("SELECT id, memory_mode FROM threads")))
        == threads
    )
    # The run history is kept, but a rollback never brings cleared memories back.
    assert [r.run_id for r in list_runs(pipe.state)] == [first.run_id]
    with pytest.raises(MemorydError, match=r"recorded before `memoryd clear`.*nothing was changed"):
        await pipe.consolidator().rollback(first.run_id)
    assert os.listdir(pipe.root) == []

    # A clear stays done: the threads known at the clear are not extracted again...
    await pipe.extract()
    assert await pipe.count("SELECT count(*) FROM stage1_outputs") == 0
    # ...unless the user asks for it.
    await clear(pipe.conn, pipe.root, reextract=True)
    await pipe.extract()
    assert await pipe.count("SELECT count(*) FROM stage1_outputs") == 3


async def test_clear_refuses_a_symlinked_root_and_changes_nothing(
    pipe: Pipeline, tmp_path: Path
) -> None:
    await pipe.run()
    real = tmp_path / "real-memories"
    os.rename(pipe.root, real)
    pipe.root.symlink_to(real)
    files = tree_bytes(real)
    git = sorted(str(p) for p in (real / ".git").rglob("*"))
    before = await db_state(pipe)

    with pytest.raises(MemorydError, match=r"refusing to clear a memory root that is a symbolic"):
        await clear(pipe.conn, pipe.root)

    assert pipe.root.is_symlink() and tree_bytes(real) == files
    assert sorted(str(p) for p in (real / ".git").rglob("*")) == git
    assert await db_state(pipe) == before


async def test_clear_while_a_consolidation_holds_the_lock_is_refused(pipe: Pipeline) -> None:
    await pipe.run()
    _, claim = await store.try_claim_global(
        pipe.conn, worker_id="other-daemon", now_s=clock.now_s(), lease_seconds=3600
    )
    assert claim is not None
    files = tree_bytes(pipe.root)
    before = await db_state(pipe)
    with pytest.raises(MemorydError, match="cannot clear now: a consolidation holds"):
        await clear(pipe.conn, pipe.root)
    assert tree_bytes(pipe.root) == files and (pipe.root / ".git").is_dir()
    assert await db_state(pipe) == before


async def test_clear_refuses_a_root_that_is_a_file_and_accepts_a_missing_one(
    pipe: Pipeline, tmp_path: Path
) -> None:
    await pipe.run()
    before = await db_state(pipe)
    a_file = tmp_path / "memories-file"
    a_file.write_text("not a folder\n")
    with pytest.raises(MemorydError, match="the memory root is not a directory"):
        await clear(pipe.conn, a_file)
    assert a_file.read_text() == "not a folder\n" and await db_state(pipe) == before

    result = await clear(pipe.conn, tmp_path / "no-such-root")
    assert (result.outputs_deleted, result.files_removed) == (3, 0)
    assert not (tmp_path / "no-such-root").exists()
    assert await pipe.count("SELECT count(*) FROM stage1_outputs") == 0
