"""Fault: the state DB is locked by another process for longer than ``busy_timeout``.

A real second process holds ``BEGIN EXCLUSIVE`` on the real DB file (tests/support/dblock.py)
while phase 1 claims, while it finalises a job, and while phase 2 finalises a run. The lock
is held on purpose for longer than the 5 s busy_timeout, so every statement that waits on it
gives up with "database is locked" at least once: that wait is the fault being injected, not a
synchronisation. Afterwards nothing may be lost or counted twice and the work completes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import aiosqlite
import anyio
import pytest
from support.daemon import log_events, serving, short_dir, work_done
from support.dblock import DBLocker
from support.fault_world import (
    GOOD_STAGE1,
    MEMORY_TEXT,
    World,
    api_key_fixture,  # noqa: F401 (a fixture)
    consolidating_model,
    consolidator,
    global_job,
    openai_config,
    rows,
    turns_so_far,
    world_fixture,  # noqa: F401 (a fixture)
)
from support.responses_server import Behaviour, ReceivedRequest, Reply, ResponsesServer

from memoryd.config import Config
from memoryd.consolidate.openai import OpenAIConsolidator
from memoryd.demo import install_examples
from memoryd.extract.offline import OfflineExtractor
from memoryd.extract.openai import OpenAIExtractor
from memoryd.phase1 import Phase1
from memoryd.store import jobs
from memoryd.store.db import BUSY_TIMEOUT_MS
from memoryd.workspace.baseline import diff_against_baseline

# Longer than busy_timeout: every statement waiting on the lock times out at least once.
HOLD_SECONDS = BUSY_TIMEOUT_MS / 1000 + 1.5
WAIT_S = 120.0


@pytest.fixture
def short_base() -> Iterator[Path]:
    # Short: the daemon's control socket lives under it (108-byte limit).
    with short_dir("mdlock-") as path:
        yield path


async def wait_until(what: str, done: Callable[[], bool], base: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, f"timed out until {what}: {log_events(base)}"
        await anyio.sleep(0.05)


async def assert_each_thread_extracted_once(conn: aiosqlite.Connection) -> None:
    assert await rows(conn, "SELECT count(*), count(DISTINCT thread_id) FROM stage1_outputs") == [
        (3, 3)
    ]
    assert await rows(
        conn, "SELECT status, count(*) FROM jobs WHERE kind = ? GROUP BY status", jobs.STAGE1
    ) == [("done", 3)]
    assert await rows(conn, "SELECT count(*) FROM usage_ledger WHERE phase = 'phase1'") in (
        [(0,)],  # the offline backend records no usage
        [(3,)],
    )


T = TypeVar("T")


async def waits_out_the_lock(
    locker: DBLocker, work: Callable[[], Awaitable[T]], locked: anyio.Event | None = None
) -> T:
    """Run ``work`` while ``locker`` holds the DB lock (already, or once ``locked`` is set),
    check that it is still waiting after the fault's duration (not crashed and not done),
    release the lock and return what ``work`` returns. The lock is released on any exit."""
    result: list[T] = []
    try:
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                result.append(await work())

            tg.start_soon(run)
            if locked is not None:
                await locked.wait()
            await anyio.sleep(HOLD_SECONDS)  # the fault's duration (see the module doc)
            assert result == []  # still waiting, not crashed and not done
            await anyio.to_thread.run_sync(locker.release)
    finally:
        await anyio.to_thread.run_sync(locker.release)
    (value,) = result
    return value


async def test_claims_wait_out_a_lock_longer_than_busy_timeout(w: World) -> None:
    conn = w.conn
    locker = DBLocker(w.db_path)
    await anyio.to_thread.run_sync(locker.hold)
    stats = await waits_out_the_lock(
        locker, lambda: Phase1(conn, Config(), OfflineExtractor()).run(until_idle=True)
    )
    assert (stats.claimed, stats.succeeded, stats.failed) == (3, 3, 0)
    await assert_each_thread_extracted_once(conn)


async def test_a_finished_job_is_recorded_once_the_lock_is_released(w: World) -> None:
    conn = w.conn
    locker = DBLocker(w.db_path)
    locked = anyio.Event()

    async def lock_then_answer(req: ReceivedRequest) -> Reply:
        # The first model call takes the lock: its own finaliser and the others' claims wait.
        if not locked.is_set():
            await anyio.to_thread.run_sync(locker.hold)
            locked.set()
        return Reply(text=GOOD_STAGE1)

    async with ResponsesServer(responder=lock_then_answer) as srv:
        cfg = openai_config(srv.url, concurrency=1)
        ex = OpenAIExtractor.from_config(cfg)
        try:
            stats = await waits_out_the_lock(
                locker, lambda: Phase1(conn, cfg, ex).run(until_idle=True), locked
            )
        finally:
            await ex.aclose()
        assert len(srv.requests) == 3  # one model call per thread: no result was redone
    assert (stats.claimed, stats.succeeded, stats.failed, stats.lost) == (3, 3, 0, 0)
    await assert_each_thread_extracted_once(conn)


async def test_a_consolidation_is_recorded_once_the_lock_is_released(w: World) -> None:
    await Phase1(w.conn, Config(), OfflineExtractor()).run(until_idle=True)
    locker = DBLocker(w.db_path)
    locked = anyio.Event()
    model = consolidating_model()

    async def lock_at_the_last_turn(req: ReceivedRequest) -> Behaviour:
        # The files are written; the run's ownership check and success record must wait.
        if turns_so_far(req) >= 2 and not locked.is_set():
            await anyio.to_thread.run_sync(locker.hold)
            locked.set()
        return model(req)

    async with ResponsesServer(responder=lock_at_the_last_turn) as srv:
        cfg = openai_config(srv.url)
        async with OpenAIConsolidator(cfg) as agent:
            res = await waits_out_the_lock(
                locker, lambda: consolidator(w, cfg, agent).run_once(), locked
            )
    assert (res.outcome, res.added) == ("succeeded", 3)
    assert (w.root / "MEMORY.md").read_text() == MEMORY_TEXT
    assert diff_against_baseline(w.root).is_empty
    assert await rows(w.conn, "SELECT outcome FROM phase2_runs") == [("succeeded",)]
    assert (await global_job(w.conn))[:2] == ("done", None)


async def test_run_once_started_while_the_db_is_locked_waits_and_completes(
    w: World, tmp_path: Path
) -> None:
    """The whole ``memoryd run --once`` process, started while another process holds the
    lock: it waits (saying so in its log), then indexes, extracts and consolidates."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "h"),
        "CODEX_HOME": str(w.home),
        "MEMORYD_STATE_DIR": str(w.db_path.parent),
    }
    locker = DBLocker(w.db_path)
    await anyio.to_thread.run_sync(locker.hold)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memoryd", "run", "--once"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Hold the lock until the process has met it and said it waits: on a loaded machine
        # its start-up alone can outlast a fixed hold, and it would never see the lock.
        log = w.db_path.parent / "logs" / "memoryd.log"
        with anyio.fail_after(WAIT_S):
            while not (log.exists() and '"event": "state_db_busy"' in log.read_text()):
                assert proc.poll() is None, proc.communicate()
                await anyio.sleep(0.1)
        await anyio.sleep(HOLD_SECONDS)  # and then for the fault's duration: it keeps waiting
        assert proc.poll() is None, proc.communicate()
    finally:
        await anyio.to_thread.run_sync(locker.release)
    out, err = await anyio.to_thread.run_sync(lambda: proc.communicate(timeout=120))
    assert proc.returncode == 0, err
    assert "phase 1: 3 extracted: 3 memories" in out
    await assert_each_thread_extracted_once(w.conn)


async def test_the_daemon_rides_out_a_lock_longer_than_busy_timeout(short_base: Path) -> None:
    """``memoryd serve`` running when another process takes the lock and new sessions arrive:
    phase 2 waits on the lock (``state_db_busy``) and the indexing of the new files waits
    behind it (or, meeting the lock itself, the watcher defers them). Once it is released
    every session is indexed, extracted once and consolidated, and the daemon is still
    running (no side task died)."""
    sessions = short_base / "codex" / "sessions"
    sessions.mkdir(parents=True)
    config = "[phase2]\nmin_interval_seconds = 0\n"
    with serving(short_base, config) as daemon:
        proc = daemon.procs[0]
        await wait_until(
            "the daemon is ready", lambda: "daemon_ready" in log_events(short_base), short_base
        )
        locker = DBLocker(short_base / "state" / "memoryd.sqlite")
        await anyio.to_thread.run_sync(locker.hold)
        try:
            install_examples(sessions)
            await wait_until(
                "the daemon meets the lock",
                lambda: "state_db_busy" in log_events(short_base),
                short_base,
            )
            await anyio.sleep(HOLD_SECONDS - BUSY_TIMEOUT_MS / 1000)  # the rest of the fault
            assert proc.poll() is None, daemon.stderr()
        finally:
            await anyio.to_thread.run_sync(locker.release)
        await wait_until("the work is done", lambda: work_done(short_base, threads=3), short_base)
        assert "side_task_failed" not in log_events(short_base)
        proc.send_signal(signal.SIGTERM)
        assert await anyio.to_thread.run_sync(lambda: proc.wait(timeout=60)) == 0
    con = sqlite3.connect(short_base / "state" / "memoryd.sqlite")
    try:
        assert con.execute(
            "SELECT count(*), count(DISTINCT thread_id) FROM stage1_outputs"
        ).fetchone() == (3, 3)
    finally:
        con.close()
