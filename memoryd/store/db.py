"""The state DB: one SQLite file in WAL mode, migrated to the newest schema when opened."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import aiosqlite
import anyio

from memoryd.errors import StateDBError

BUSY_TIMEOUT_MS = 5000


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


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700; tighten it if it already exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.stat()
    if st.st_mode & 0o077 and st.st_uid == os.getuid():
        path.chmod(0o700)


def _ensure_private_file(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


async def _migrate(conn: aiosqlite.Connection) -> int:
    """Apply missing migrations. ``BEGIN IMMEDIATE`` serialises two processes that open a new
    DB at once: the second waits (busy_timeout), then sees the new version and does nothing."""
    await conn.execute("BEGIN IMMEDIATE")
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
    at once instead of waiting (its busy handler is skipped where waiting cannot help):

    * switching a brand-new file to WAL while other processes race to do the same;
    * ``BEGIN IMMEDIATE`` while this connection still has a read statement open on an older
      snapshot and another process has committed since. Tasks share the connection and
      aiosqlite runs a SELECT's execute and its fetch as separate steps, so another task's
      half-read SELECT can sit between them; it finishes within moments, then BEGIN works.
    """
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


_tx_locks: weakref.WeakKeyDictionary[aiosqlite.Connection, anyio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _tx_lock(conn: aiosqlite.Connection) -> anyio.Lock:
    lock = _tx_locks.get(conn)
    if lock is None:
        lock = _tx_locks[conn] = anyio.Lock()
    return lock


@contextlib.asynccontextmanager
async def immediate(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """A ``BEGIN IMMEDIATE`` transaction: takes the write lock up front, so a claim never
    fails half-way with SQLITE_BUSY on upgrade from a read lock.

    Tasks of one process share a connection, and SQLite has one transaction per connection:
    without the per-connection lock a second task's BEGIN would fail, or its statements would
    land inside the first task's transaction. The ROLLBACK/COMMIT are shielded so that a
    cancelled task never leaves the connection inside an open transaction."""
    async with _tx_lock(conn):
        try:
            await _retry_while_locked(conn, "BEGIN IMMEDIATE")
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
