"""The state DB: one SQLite file in WAL mode, migrated to the newest schema when opened."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import weakref
from collections.abc import AsyncIterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TypeVar, cast

import aiosqlite
import anyio
import structlog

from memoryd.config import Settings
from memoryd.errors import StateDBError
from memoryd.fsutil import ensure_private_dir
from memoryd.store.engine import Connection, PgConnection, open_pg

BUSY_TIMEOUT_MS = 5000
_C = TypeVar("_C", bound=Connection)

log = structlog.get_logger("memoryd.store")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every bundled migration, in order."""
    out: list[tuple[int, str, str]] = []
    folder = resources.files("memoryd.store") / "migrations"
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        version = int(name.split("_", 1)[0])
        out.append((version, name, entry.read_text(encoding="utf-8")))
    out.sort()
    return out


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements, so they can run inside one explicit transaction
    (``executescript`` would commit first)."""
    stmts: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                stmts.append(buf.strip())
            buf = ""
    if buf.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()
    ):
        raise StateDBError(f"unterminated statement in migration: {buf.strip()[:80]!r}")
    return stmts


def _ensure_private_file(path: Path) -> None:
    """Create the DB file 0600 (or tighten it); a symbolic link there, dangling or not, is
    refused without touching its target."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP or os.path.islink(path):
            raise StateDBError(
                f"state DB {path} is a symbolic link (to {os.readlink(path)}); memoryd refuses "
                "to follow it: remove the link (the DB is created in the state dir)"
            ) from None
        raise StateDBError(f"cannot open state DB {path}: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StateDBError(f"state DB {path} is not a regular file")
        if st.st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


async def _migrate(conn: aiosqlite.Connection) -> int:
    """Apply missing migrations. ``BEGIN IMMEDIATE`` serialises two processes that open a new
    DB at once: the second waits (busy_timeout), then sees the new version and does nothing."""
    await _begin_immediate(conn)
    try:
        async with conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for version, name, sql in migrations():
            if version <= current:
                continue
            for stmt in split_statements(sql):
                try:
                    await conn.execute(stmt)
                except sqlite3.Error as e:
                    raise StateDBError(f"migration {name} failed: {e}") from e
            await conn.execute(f"PRAGMA user_version = {version}")
            current = version
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return current


async def _retry_while_locked(conn: aiosqlite.Connection, sql: str) -> list[sqlite3.Row]:
    """Run ``sql``, retrying for up to busy_timeout when SQLite answers "database is locked"
    at once instead of waiting (its busy handler is skipped where waiting cannot help), as when
    switching a brand-new file to WAL while other processes race to do the same. ``BEGIN
    IMMEDIATE`` has its own, longer-lived loop: :func:`_begin_immediate`."""
    deadline = anyio.current_time() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            return list(await conn.execute_fetchall(sql))
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or anyio.current_time() > deadline:
                raise
        await anyio.sleep(delay)
        delay = min(delay * 2, 0.1)


async def _set_wal(conn: aiosqlite.Connection) -> str | None:
    """Switch to WAL (retried: see :func:`_retry_while_locked`); returns the journal mode."""
    rows = await _retry_while_locked(conn, "PRAGMA journal_mode = WAL")
    return str(rows[0][0]) if rows else None


async def open_db(path: Path) -> aiosqlite.Connection:
    """Open (creating if needed) the state DB at ``path``, private to the user, migrated."""
    ensure_private_dir(path.parent)
    _ensure_private_file(path)
    try:
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as e:
        raise StateDBError(f"cannot open state DB {path}: {e}") from e
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = await _set_wal(conn)
        if mode is None or mode.lower() != "wal":
            raise StateDBError(f"state DB {path} refused WAL mode (got {mode!r})")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await _migrate(conn)
    except sqlite3.DatabaseError as e:
        await conn.close()
        raise StateDBError(f"state DB {path} is unusable: {e}") from e
    except BaseException:
        await conn.close()
        raise
    return conn


@contextlib.asynccontextmanager
async def connect(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    conn = await open_db(path)
    try:
        yield conn
    finally:
        await conn.close()


async def open_state(settings: Settings, env: Mapping[str, str] | None = None) -> Connection:
    """The state DB the config names (``[state] backend``): the SQLite file in the state dir,
    or the PostgreSQL database every host shares."""
    if settings.config.state.backend == "postgres":
        return await open_pg(settings, env)
    return await open_db(settings.paths.db_path)


@contextlib.asynccontextmanager
async def connect_state(
    settings: Settings, env: Mapping[str, str] | None = None
) -> AsyncIterator[Connection]:
    conn = await open_state(settings, env)
    try:
        yield conn
    finally:
        await conn.close()


_tx_locks: weakref.WeakKeyDictionary[aiosqlite.Connection, anyio.Lock] = weakref.WeakKeyDictionary()


def _tx_lock(conn: aiosqlite.Connection) -> anyio.Lock:
    lock = _tx_locks.get(conn)
    if lock is None:
        lock = _tx_locks[conn] = anyio.Lock()
    return lock


async def _begin_immediate(conn: aiosqlite.Connection, wait_out_locks: bool = True) -> None:
    """``BEGIN IMMEDIATE``, waiting as long as another process holds the write lock.

    busy_timeout makes one attempt wait 5 s; a lock held longer (a backup, a user's sqlite3
    shell, a stuck process) would otherwise raise "database is locked" out of a claim or a
    finaliser and stop phase 1 or phase 2 with the job's result unrecorded. A failed BEGIN
    leaves no transaction open, so trying again is safe; the wait is logged (``state_db_busy``)
    and stays cancellable (shutdown).

    SQLite may also answer "locked" at once, skipping its busy handler: when this connection
    still has a read statement open on an older snapshot and another process has committed
    since (tasks share the connection, and aiosqlite runs a SELECT's execute and fetch as
    separate steps). That clears within moments, so it is retried after short pauses, quietly
    unless it lasts. With ``wait_out_locks=False`` a lock that outlasted busy_timeout is raised
    (the indexer's watcher defers its batch instead, see rollouts/watch.py)."""
    busy_s = BUSY_TIMEOUT_MS / 1000
    started = last_log = anyio.current_time()
    delay = 0.005
    while True:
        attempt = anyio.current_time()
        try:
            await conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            now = anyio.current_time()
            waited = now - attempt >= 0.05  # the busy handler ran out; else answered at once
            if waited and not wait_out_locks:
                raise
            if waited or now - last_log >= busy_s:
                log.warning("state_db_busy", waited_seconds=round(now - started, 1), error=str(e))
                last_log = now
        await anyio.sleep(delay)
        delay = min(delay * 2, 0.1)


@contextlib.asynccontextmanager
async def immediate(conn: _C, *, wait_out_locks: bool = True) -> AsyncIterator[_C]:
    """A ``BEGIN IMMEDIATE`` transaction: takes the write lock up front, so a claim never
    fails half-way with SQLITE_BUSY on upgrade from a read lock.

    Tasks of one process share a connection, and SQLite has one transaction per connection:
    without the per-connection lock a second task's BEGIN would fail, or its statements would
    land inside the first task's transaction. The ROLLBACK/COMMIT are shielded so that a
    cancelled task never leaves the connection inside an open transaction.

    On PostgreSQL it is an ordinary transaction on a pooled connection of its own: rows are
    locked as the statements touch them (claims lock theirs with ``FOR UPDATE``)."""
    if isinstance(conn, PgConnection):
        async with conn.transaction() as tx:
            yield cast(_C, tx)
        return
    async with _tx_lock(conn):
        try:
            await _begin_immediate(conn, wait_out_locks)
        except BaseException:
            # Cancelled while BEGIN waited for the write lock: aiosqlite still runs it in its
            # thread, and a later BEGIN on this connection would then fail. A ROLLBACK queued
            # behind it undoes it (and fails harmlessly if BEGIN itself failed).
            with anyio.CancelScope(shield=True), contextlib.suppress(sqlite3.OperationalError):
                await conn.execute("ROLLBACK")
            raise
        try:
            yield conn
        except BaseException:
            with anyio.CancelScope(shield=True):
                await conn.execute("ROLLBACK")
            raise
        else:
            with anyio.CancelScope(shield=True):
                await conn.execute("COMMIT")
