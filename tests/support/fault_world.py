"""Shared setup of the fault-injection, secret-leak, phase-1 and budget tests: a Codex home
with the three real rollouts, a real state DB indexed from it, openai-backend configs pointing
at the loopback Responses server (and the dummy key they name), a fake clock, and a scripted
phase-2 model that consolidates through the real tool loop.

Kept here rather than in conftest.py because only these tests use it (a module imports the
fixtures it wants); each test file still states the fault it injects and what it asserts."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec
import pytest

from memoryd import clock
from memoryd.config import Config
from memoryd.consolidate.base import ConsolidationAgent
from memoryd.demo import install_examples
from memoryd.phase2 import Consolidator
from memoryd.rollouts.indexer import Indexer
from memoryd.store import jobs
from memoryd.store.db import open_db
from support.daemon import KEY_ENV
from support.responses_server import Behaviour, ReceivedRequest, Reply, function_call_item
from support.rollouts import append_user_turn

THREADS = (
    "01a2013d-497f-71f0-81b9-4c6d2314a10b",
    "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0",
    "01a2013e-ff1a-7c20-8973-b369527e3057",
)
GOOD_STAGE1 = json.dumps(
    {"rollout_summary": "# Did a thing", "rollout_slug": "thing", "raw_memory": "did a thing"}
)
MEMORY_TEXT = "# Task Group: fixtures\nscope: tests\n\nconsolidated by the scripted model\n"
SUMMARY_TEXT = "v1\n\n## User Profile\n\nA developer who runs the fixtures.\n"


@pytest.fixture(name="api_key", autouse=True)
def api_key_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dummy key the loopback configs name (KEY_ENV), set for every test of a module that
    imports this fixture."""
    monkeypatch.setenv(KEY_ENV, "dummy-key")


@pytest.fixture(name="fake")
def fake_clock_fixture() -> Iterator[clock.FakeClock]:
    """``fake_clock()`` for one test."""
    with fake_clock() as c:
        yield c


@pytest.fixture(name="w")
async def world_fixture(tmp_path: Path) -> AsyncIterator[World]:
    """``world()`` under tmp_path for one test."""
    async with world(tmp_path) as got:
        yield got


@dataclass
class World:
    home: Path
    root: Path
    db_path: Path
    conn: aiosqlite.Connection


@asynccontextmanager
async def world(tmp_path: Path, *, age_s: float = 0) -> AsyncIterator[World]:
    """The three real rollouts (idle cli sessions, as the demo installs them), indexed; their
    last activity ``age_s`` further in the past than the demo puts it."""
    home = tmp_path / "codex"
    install_examples(home / "sessions", now=time.time() - age_s)
    db_path = tmp_path / "state" / "memoryd.sqlite"
    async with indexed_db(db_path, home) as conn:
        yield World(home, home / "memories", db_path, conn)


@asynccontextmanager
async def indexed_db(db_path: Path, home: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A state DB at ``db_path`` with every rollout under the Codex home ``home`` indexed."""
    conn = await open_db(db_path)
    try:
        await Indexer(conn, [home / "sessions"], home / "archived_sessions").scan_all()
        yield conn
    finally:
        await conn.close()


def openai_config(url: str, *, timeout: float = 10.0, **phase1: object) -> Config:
    """Defaults, with both phases on the openai backend at ``url``."""
    data = msgspec.to_builtins(Config())
    data["phase1"].update(backend="openai", **phase1)
    data["phase2"].update(backend="openai")
    data["backends"]["openai"].update(base_url=url, api_key_env=KEY_ENV, timeout_seconds=timeout)
    return msgspec.convert(data, Config)


def consolidator(
    w: World, cfg: Config, agent: ConsolidationAgent, *, root: Path | None = None
) -> Consolidator:
    root = w.root if root is None else root
    return Consolidator(w.conn, cfg, agent, root=root, codex_home=w.home, worker_id="test")


async def rows(conn: aiosqlite.Connection, sql: str, *args: object) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await conn.execute_fetchall(sql, args)]


async def stage1_jobs(conn: aiosqlite.Connection) -> list[tuple[Any, ...]]:
    """(status, retry_remaining, retry_at - finished_at, last_error) of every stage-1 job."""
    return await rows(
        conn,
        "SELECT status, retry_remaining, retry_at - finished_at, last_error FROM jobs "
        "WHERE kind = ? ORDER BY job_key",
        jobs.STAGE1,
    )


async def global_job(conn: aiosqlite.Connection) -> tuple[Any, ...]:
    """(status, last_error, retry_at - now) of the phase-2 job."""
    ((status, err, retry_at),) = await rows(
        conn, "SELECT status, last_error, retry_at FROM jobs WHERE kind = ?", jobs.GLOBAL
    )
    return status, err, None if retry_at is None else retry_at - clock.now_s()


def tool_outputs(req: ReceivedRequest) -> list[str]:
    return [i["output"] for i in req.json["input"] if i.get("type") == "function_call_output"]


def turns_so_far(req: ReceivedRequest) -> int:
    """Model replies with tool calls before this request (each reply's first call ends _0)."""
    return sum(
        1
        for i in req.json["input"]
        if i.get("type") == "function_call" and i["call_id"].endswith("_0")
    )


def consolidating_model(
    memory: Callable[[str], str] = lambda raw: MEMORY_TEXT,
    summary: Callable[[str], str] = lambda raw: SUMMARY_TEXT,
) -> Callable[[ReceivedRequest], Behaviour]:
    """A phase-2 model: reads raw_memories.md, writes ``memory(raw_memories text)`` to
    MEMORY.md and ``summary(...)`` (by default a valid one) to memory_summary.md, then
    answers. The step is read off the request, so a retried request gets the same step."""

    def respond(req: ReceivedRequest) -> Behaviour:
        n = turns_so_far(req)
        if n == 0:
            args = {"path": "raw_memories.md", "offset": None, "limit": None}
            return Reply(text=None, items=[function_call_item("read_file", args, "t0_0")])
        if n == 1:
            raw = tool_outputs(req)[0]
            calls = [
                ("write_file", {"path": "MEMORY.md", "content": memory(raw)}),
                ("write_file", {"path": "memory_summary.md", "content": summary(raw)}),
            ]
            items = [function_call_item(c, a, f"t1_{i}") for i, (c, a) in enumerate(calls)]
            return Reply(text=None, items=items)
        return Reply(text="Consolidated.")

    return respond


@contextmanager
def fake_clock() -> Iterator[clock.FakeClock]:
    """memoryd's clock frozen at the real current time, moved only by the test."""
    fake = clock.FakeClock(now_ms=time.time_ns() // 1_000_000)
    clock.set_clock(fake)
    try:
        yield fake
    finally:
        clock.set_clock(clock.SystemClock())


class RecordingSleep:
    """The backoff sleep of the HTTP client: recorded, not slept."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def grow_rollout(w: World, thread_id: str, text: str) -> None:
    """The user came back to a session and asked ``text`` (see ``append_user_turn``)."""
    append_user_turn(next(w.home.rglob(f"rollout-*{thread_id}.jsonl")), text)


async def reindex(w: World) -> None:
    await Indexer(w.conn, [w.home / "sessions"], w.home / "archived_sessions").scan_all()


def root_files(root: Path) -> dict[str, bytes]:
    """Every file of the memory root outside .git, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def temp_files(root: Path) -> list[str]:
    """Temporary files of atomic writes (``.<name>.<random>.tmp``) left anywhere in the root."""
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*.tmp"))
