"""Keeps the ``threads`` index current while the daemon runs.

File-system events (``watchfiles``: inotify/FSEvents, recursive, debounced) send the changed
rollout files to ``Indexer.index_paths``; a full ``scan_all`` every ``index.rescan_seconds`` is
the safety net for anything the events missed (a directory moved out of the tree, an
overflowed inotify queue, a network file system without events).

Roots that do not exist yet (a fresh ``~/.codex``, ``archived_sessions`` before the first
archive) cannot be watched; the watcher looks for them again on every timeout tick of the
underlying watch (``RECHECK_SECONDS``) and restarts itself when the set of existing roots
changes. Idle cost: a short sleep-and-check loop in one thread, no Python work per tick.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import anyio
import structlog
from watchfiles import awatch

from memoryd.config import IndexConfig
from memoryd.rollouts.indexer import Indexer, ScanStats, is_rollout_name

log = structlog.get_logger("memoryd.watch")

RECHECK_SECONDS = 2.0
"""How often missing roots are looked for, and deferred batches retried."""

_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def is_db_busy(e: BaseException) -> bool:
    """True for SQLITE_BUSY/SQLITE_LOCKED: another process (``memoryd run --once``) holds the
    write lock longer than ``busy_timeout``. Worth a retry, not a crash."""
    code = getattr(e, "sqlite_errorcode", None)
    return (
        isinstance(e, sqlite3.OperationalError)
        and isinstance(code, int)
        and (code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED))
    )


def step_ms(debounce_ms: int) -> int:
    """The watcher's quiet period: a batch is handed over once no new path changed for this
    long (or ``debounce_ms`` after its first change). It is also how often the watch thread
    wakes up, so it is never below 50 ms."""
    return max(50, min(debounce_ms, 200))


def rollouts_under(directory: str) -> list[str]:
    """Every rollout file below ``directory`` (symlinks not followed)."""
    out: list[str] = []
    for dirpath, _dirs, files in os.walk(directory):
        out.extend(os.path.join(dirpath, f) for f in files if is_rollout_name(f))
    return out


def expand(paths: Iterable[str]) -> list[str]:
    """Changed paths → rollout files. A directory that appeared (a new day, or a tree moved
    in) is walked: files created in it before its watch was added give no event."""
    out: set[str] = set()
    for p in paths:
        if is_rollout_name(os.path.basename(p)):
            out.add(p)
        elif os.path.isdir(p):
            out.update(rollouts_under(p))
    return sorted(out)


class RolloutWatch:
    """Runs the watcher and the periodic re-scan for one Indexer.

    ``config`` is read again at every (re)start and every re-scan, so a reloaded config takes
    effect without a restart. ``busy`` wraps each indexing call so the supervisor can let it
    finish during a graceful shutdown. Both loops return soon after ``stop`` is set."""

    def __init__(
        self,
        indexer: Indexer,
        config: Callable[[], IndexConfig],
        stop: anyio.Event,
        *,
        busy: Callable[[], AbstractAsyncContextManager[object]] | None = None,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self.indexer = indexer
        self.config = config
        self.stop = stop
        self.busy = busy or contextlib.nullcontext
        self.recheck_seconds = recheck_seconds
        self._pending: set[str] = set()

    def roots(self) -> list[Path]:
        return self.indexer.watched_dirs()

    def existing_roots(self) -> list[Path]:
        return [r for r in self.roots() if r.is_dir()]

    async def scan(self) -> ScanStats | None:
        """One full scan; None when the DB stayed locked (logged, retried next time)."""
        async with self.busy():
            try:
                return await self.indexer.scan_all()
            except sqlite3.OperationalError as e:
                if not is_db_busy(e):
                    raise
                log.warning("index_deferred", full=True, reason=str(e))
                return None

    async def rescan_loop(self) -> None:
        """A full scan every ``index.rescan_seconds`` until ``stop``."""
        while True:
            with anyio.move_on_after(self.config().rescan_seconds):
                await self.stop.wait()
            if self.stop.is_set():
                return
            stats = await self.scan()
            if stats is not None:
                log.debug("rescan_done", files_seen=stats.files_seen, files_read=stats.files_read)

    async def watch(self) -> None:
        """Watch every existing root until ``stop``; pick up roots that appear later."""
        seen: set[Path] | None = None
        while not self.stop.is_set():
            roots = self.existing_roots()
            if not roots:
                with anyio.move_on_after(self.recheck_seconds):
                    await self.stop.wait()
                seen = set()
                continue
            # Roots that appeared while we ran may already hold files (the initial scan
            # covered those that existed at start).
            appeared = [] if seen is None else [str(r) for r in roots if r not in seen]
            seen = set(roots)
            try:
                await self._watch(roots, appeared)
            except OSError as e:
                # A root vanished between the check and the watch, or the kernel refuses more
                # watches (ENOSPC: fs.inotify.max_user_watches). The periodic re-scan keeps the
                # index current meanwhile; try again later.
                vanished = isinstance(e, FileNotFoundError)
                retry = self.recheck_seconds if vanished else self.config().rescan_seconds
                report = log.warning if vanished else log.error
                report("watch_failed", error=str(e), retry_seconds=retry)
                with anyio.move_on_after(retry):
                    await self.stop.wait()

    async def _watch(self, roots: Sequence[Path], appeared: list[str]) -> None:
        """One watcher over ``roots``; returns on ``stop`` or when it must be rebuilt."""
        debounce = self.config().debounce_ms
        missing = [str(r) for r in self.roots() if r not in roots]
        log.info(
            "watch_started", dirs=[str(r) for r in roots], missing=missing, debounce_ms=debounce
        )
        events = awatch(
            *roots,
            debounce=debounce,
            step=step_ms(debounce),
            stop_event=self.stop,
            rust_timeout=int(self.recheck_seconds * 1000),
            yield_on_timeout=True,
            ignore_permission_denied=True,
        )
        async with contextlib.aclosing(events):
            async for changes in events:
                # The first item (changes or a timeout tick) proves the watch is live, so a
                # walk of the new roots now cannot miss a file written before it started.
                self._pending.update(appeared)
                appeared = []
                self._pending.update(path for _change, path in changes)
                if self._pending and not self.stop.is_set():
                    await self._flush()
                if self.existing_roots() != list(roots) or self.config().debounce_ms != debounce:
                    log.info("watch_restarting", reason="watched directories or debounce changed")
                    return

    async def _flush(self) -> None:
        batch, self._pending = self._pending, set()
        files = await anyio.to_thread.run_sync(expand, batch)
        if not files:
            return
        log.debug("watch_changes", files=len(files))
        async with self.busy():
            try:
                await self.indexer.index_paths(files)
            except sqlite3.OperationalError as e:
                if not is_db_busy(e):
                    raise
                log.warning("index_deferred", full=False, files=len(files), reason=str(e))
                self._pending.update(files)
