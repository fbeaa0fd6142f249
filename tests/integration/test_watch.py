"""The rollout watcher in-process: real directories, real inotify events, a real state DB."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import anyio.lowlevel
import structlog

from memoryd.config import IndexConfig
from memoryd.rollouts.indexer import VANISHED, Indexer
from memoryd.rollouts.watch import RolloutWatch, expand, is_db_busy, step_ms

WAIT = 15.0


def tid(rollout: Path) -> str:
    return rollout.stem[-36:]


async def row(conn: aiosqlite.Connection, thread_id: str) -> dict[str, Any] | None:
    async with conn.execute(
        "SELECT rollout_path, lines_parsed, file_size, index_error FROM threads WHERE id = ?",
        (thread_id,),
    ) as cur:
        r = await cur.fetchone()
    if r is None:
        return None
    return dict(zip(("rollout_path", "lines_parsed", "file_size", "index_error"), r, strict=True))


async def wait_row(
    conn: aiosqlite.Connection,
    thread_id: str,
    pred: Callable[[dict[str, Any]], bool] = lambda r: True,
) -> dict[str, Any]:
    with anyio.move_on_after(WAIT):
        while True:
            r = await row(conn, thread_id)
            if r is not None and pred(r):
                return r
            await anyio.sleep(0.05)
    raise AssertionError(f"timed out waiting for the threads row of {thread_id}: {r}")


async def wait_logged(logs: Sequence[Mapping[str, Any]], event: str) -> None:
    with anyio.move_on_after(WAIT):
        while True:
            if any(e["event"] == event for e in logs):
                return
            await anyio.sleep(0.05)
    raise AssertionError(f"timed out waiting for log event {event}")


class Cfg:
    """A config the test can change while the watcher runs (as a SIGHUP reload would)."""

    def __init__(self, **kw: Any) -> None:
        self.value = IndexConfig(**kw)

    def __call__(self) -> IndexConfig:
        return self.value


@asynccontextmanager
async def running(w: RolloutWatch, *loops: Callable[[], Any]) -> AsyncIterator[RolloutWatch]:
    """Run the loops while the body runs; then set ``stop`` and require them to end soon."""
    done = [anyio.Event() for _ in loops]

    async def run(fn: Callable[[], Any], ended: anyio.Event) -> None:
        await fn()
        ended.set()

    async with anyio.create_task_group() as tg:
        for fn, ended in zip(loops, done, strict=True):
            tg.start_soon(run, fn, ended)
        await anyio.lowlevel.checkpoint()  # each loop runs to its first wait: watch set up
        try:
            yield w
        finally:
            w.stop.set()
            with anyio.fail_after(3):
                for ended in done:
                    await ended.wait()


def make_watch(db: aiosqlite.Connection, codex: Path, cfg: Cfg | None = None) -> RolloutWatch:
    indexer = Indexer(db, [codex / "sessions"], codex / "archived_sessions")
    return RolloutWatch(indexer, cfg or Cfg(debounce_ms=50), anyio.Event(), recheck_seconds=0.2)


async def test_new_growing_and_deleted_rollouts_are_indexed(
    db: aiosqlite.Connection, codex_home: Path, sessions_day: Path, fixture_rollouts: list[Path]
) -> None:
    w = make_watch(db, codex_home)
    async with running(w, w.watch):
        src = fixture_rollouts[1]
        lines = src.read_bytes().splitlines(keepends=True)
        dst = sessions_day / src.name
        dst.write_bytes(b"".join(lines[:5]))
        await wait_row(db, tid(src), lambda r: r["lines_parsed"] == 5)
        with dst.open("ab") as f:
            f.write(b"".join(lines[5:]))
        r = await wait_row(db, tid(src), lambda r: r["lines_parsed"] == len(lines))
        assert r["file_size"] == src.stat().st_size
        dst.unlink()
        await wait_row(db, tid(src), lambda r: r["index_error"] == VANISHED)


async def test_stop_ends_the_watch_promptly(db: aiosqlite.Connection, codex_home: Path) -> None:
    w = make_watch(db, codex_home)
    w.recheck_seconds = 30.0  # the stop must not wait for a timeout tick
    with anyio.fail_after(3):
        async with anyio.create_task_group() as tg:
            tg.start_soon(w.watch)
            tg.start_soon(w.rescan_loop)
            await anyio.sleep(0.2)
            w.stop.set()


async def test_root_created_later_is_watched(
    db: aiosqlite.Connection, tmp_path: Path, fixture_rollouts: list[Path]
) -> None:
    codex = tmp_path / "codex"  # nothing exists yet, not even the Codex home
    w = make_watch(db, codex)
    async with running(w, w.watch):
        await anyio.sleep(0.3)  # at least one empty recheck
        day = codex / "sessions" / "2026" / "11" / "22"
        day.mkdir(parents=True)
        src = fixture_rollouts[0]
        shutil.copy(src, day / src.name)
        await wait_row(db, tid(src))
        # And files written after the restart arrive as events.
        later = fixture_rollouts[2]
        shutil.copy(later, day / later.name)
        await wait_row(db, tid(later))


async def test_directory_moved_in_is_walked(
    db: aiosqlite.Connection, codex_home: Path, tmp_path: Path, fixture_rollouts: list[Path]
) -> None:
    w = make_watch(db, codex_home)
    async with running(w, w.watch):
        staging = tmp_path / "staging" / "2026"
        (staging / "11" / "23").mkdir(parents=True)
        for f in fixture_rollouts:
            shutil.copy(f, staging / "11" / "23" / f.name)
        os.rename(staging, codex_home / "sessions" / "2026")
        for f in fixture_rollouts:
            await wait_row(db, tid(f))


async def test_rescan_finds_what_no_event_announced(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path, fixture_rollouts: list[Path]
) -> None:
    w = make_watch(db, codex_home, Cfg(rescan_seconds=1))
    async with running(w, w.rescan_loop):  # no watcher: only the periodic scan
        src = fixture_rollouts[0]
        shutil.copy(src, sessions_day / src.name)
        await wait_row(db, tid(src))


async def test_debounce_change_restarts_the_watch(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path, fixture_rollouts: list[Path]
) -> None:
    cfg = Cfg(debounce_ms=50)
    w = make_watch(db, codex_home, cfg)
    with structlog.testing.capture_logs() as logs:
        async with running(w, w.watch):
            cfg.value = IndexConfig(debounce_ms=120)
            await wait_logged(logs, "watch_restarting")
            src = fixture_rollouts[0]
            shutil.copy(src, sessions_day / src.name)
            await wait_row(db, tid(src))
    started = [e for e in logs if e["event"] == "watch_started"]
    assert [e["debounce_ms"] for e in started][-2:] == [50, 120]


async def test_locked_db_defers_the_batch_and_retries(
    db: aiosqlite.Connection,
    tmp_path: Path,
    sessions_day: Path,
    codex_home: Path,
    fixture_rollouts: list[Path],
) -> None:
    await db.execute("PRAGMA busy_timeout = 200")
    w = make_watch(db, codex_home)
    other = sqlite3.connect(tmp_path / "state" / "memoryd.sqlite", isolation_level=None)
    try:
        with structlog.testing.capture_logs() as logs:
            async with running(w, w.watch):
                other.execute("BEGIN IMMEDIATE")  # e.g. `memoryd run --once` writing
                src = fixture_rollouts[0]
                shutil.copy(src, sessions_day / src.name)
                await wait_logged(logs, "index_deferred")
                other.execute("ROLLBACK")
                await wait_row(db, tid(src))
    finally:
        other.close()


async def test_is_db_busy_tells_lock_contention_from_real_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    a = sqlite3.connect(path, isolation_level=None)
    b = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    try:
        a.execute("CREATE TABLE t (x)")
        a.execute("BEGIN IMMEDIATE")
        try:
            b.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            assert is_db_busy(e)
        else:
            raise AssertionError("expected the second writer to be refused")
        try:
            b.execute("SELECT * FROM missing")
        except sqlite3.OperationalError as e:
            assert not is_db_busy(e)
        assert not is_db_busy(ValueError("database is locked"))
    finally:
        a.close()
        b.close()


def test_expand_walks_new_directories_and_skips_other_files(tmp_path: Path) -> None:
    d = tmp_path / "2026" / "11" / "22"
    d.mkdir(parents=True)
    (d / "rollout-a.jsonl").write_text("{}\n")
    (d / "rollout-b.jsonl.zst").write_bytes(b"")
    (d / "notes.txt").write_text("x")
    gone = str(tmp_path / "rollout-gone.jsonl")  # a deleted rollout: still passed on
    got = expand([str(tmp_path / "2026"), str(d / "notes.txt"), gone, str(tmp_path / "nope")])
    assert got == sorted([str(d / "rollout-a.jsonl"), str(d / "rollout-b.jsonl.zst"), gone])


def test_step_is_bounded() -> None:
    assert step_ms(0) == 50
    assert step_ms(120) == 120
    assert step_ms(60_000) == 200
