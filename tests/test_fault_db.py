"""Fault: the state DB is locked by another process for longer than ``busy_timeout``.

A real second process holds ``BEGIN EXCLUSIVE`` on the real DB file (tests/support/dblock.py)
while phase 1 claims, while it finalises a job, and while phase 2 finalises a run. The lock
is held on purpose for longer than the 5 s busy_timeout, so every statement that waits on it
gives up with "database is locked" at least once: that wait is the fault being injected, not a
synchronisation. Afterwards nothing may be lost or counted twice and the work completes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import anyio
import msgspec
import pytest
from support.dblock import DBLocker
from support.responses_server import ReceivedRequest, Reply, ResponsesServer

from memoryd.backends.offline import OfflineExtractor
from memoryd.backends.openai import OpenAIExtractor
from memoryd.config import Config
from memoryd.demo import install_examples
from memoryd.phase1 import Phase1
from memoryd.rollouts.indexer import Indexer
from memoryd.store import jobs
from memoryd.store.db import BUSY_TIMEOUT_MS, open_db

KEY_ENV = "MEMORYD_TEST_API_KEY"
# Longer than busy_timeout: every statement waiting on the lock times out at least once.
HOLD_SECONDS = BUSY_TIMEOUT_MS / 1000 + 1.5
GOOD_REPLY = json.dumps(
    {"rollout_summary": "# Did a thing", "rollout_slug": "thing", "raw_memory": "did a thing"}
)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "dummy-key")


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[tuple[aiosqlite.Connection, Path]]:
    home = tmp_path / "codex"
    install_examples(home / "sessions")
    path = tmp_path / "state" / "memoryd.sqlite"
    conn = await open_db(path)
    await Indexer(conn, [home / "sessions"], home / "archived_sessions").scan_all()
    try:
        yield conn, path
    finally:
        await conn.close()


async def rows(conn: aiosqlite.Connection, sql: str, *args: object) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await conn.execute_fetchall(sql, args)]


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


async def test_claims_wait_out_a_lock_longer_than_busy_timeout(
    state: tuple[aiosqlite.Connection, Path],
) -> None:
    conn, path = state
    locker = DBLocker(path)
    await anyio.to_thread.run_sync(locker.hold)
    try:
        async with anyio.create_task_group() as tg:
            result = []

            async def run() -> None:
                result.append(await Phase1(conn, Config(), OfflineExtractor()).run(until_idle=True))

            tg.start_soon(run)
            await anyio.sleep(HOLD_SECONDS)  # the fault's duration (see the module doc)
            assert result == []  # still waiting, not crashed and not done
            await anyio.to_thread.run_sync(locker.release)
    finally:
        await anyio.to_thread.run_sync(locker.release)
    (stats,) = result
    assert (stats.claimed, stats.succeeded, stats.failed) == (3, 3, 0)
    await assert_each_thread_extracted_once(conn)


async def test_a_finished_job_is_recorded_once_the_lock_is_released(
    state: tuple[aiosqlite.Connection, Path],
) -> None:
    conn, path = state
    locker = DBLocker(path)
    locked = anyio.Event()

    async def lock_then_answer(req: ReceivedRequest) -> Reply:
        # The first model call takes the lock: its own finaliser and the others' claims wait.
        if not locked.is_set():
            await anyio.to_thread.run_sync(locker.hold)
            locked.set()
        return Reply(text=GOOD_REPLY)

    async with ResponsesServer(responder=lock_then_answer) as srv:
        data = msgspec.to_builtins(Config())
        data["phase1"].update(backend="openai", concurrency=1)
        data["backends"]["openai"].update(base_url=srv.url, api_key_env=KEY_ENV)
        cfg = msgspec.convert(data, Config)
        ex = OpenAIExtractor.from_config(cfg)
        try:
            async with anyio.create_task_group() as tg:
                result = []

                async def run() -> None:
                    result.append(await Phase1(conn, cfg, ex).run(until_idle=True))

                tg.start_soon(run)
                await locked.wait()
                await anyio.sleep(HOLD_SECONDS)  # the fault's duration
                assert result == []
                await anyio.to_thread.run_sync(locker.release)
        finally:
            await anyio.to_thread.run_sync(locker.release)
            await ex.aclose()
        assert len(srv.requests) == 3  # one model call per thread: no result was redone
    (stats,) = result
    assert (stats.claimed, stats.succeeded, stats.failed, stats.lost) == (3, 3, 0, 0)
    await assert_each_thread_extracted_once(conn)
