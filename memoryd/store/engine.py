"""Which engine holds the state: SQLite (one embedded file, the default) or PostgreSQL (one
database shared by every host, ``[state] backend = "postgres"``).

The rest of store/ writes one dialect both accept (``?`` and ``:name`` parameters,
``INSERT … ON CONFLICT``, ``RETURNING``) and calls the connection the way it calls an
aiosqlite one. :class:`PgConnection` offers that same surface over a psycopg pool: it
translates the parameters and runs each statement on a pooled connection, or, inside
:meth:`PgConnection.transaction` (what ``store.db.immediate`` opens on PostgreSQL), on the
one connection that holds the transaction. Nothing outside store/ sees which engine runs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import uuid
from collections.abc import AsyncIterator, Generator, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import aiosqlite
import anyio
import structlog

if TYPE_CHECKING:  # imported where used: a SQLite daemon never loads psycopg (~10 MB RSS)
    import psycopg
    from psycopg_pool import AsyncConnectionPool

from memoryd.config import Settings
from memoryd.errors import ConfigError, StateDBError
from memoryd.fsutil import ensure_private_dir
from memoryd.textutil import error_line

log = structlog.get_logger("memoryd.store")

Params: TypeAlias = Sequence[Any] | Mapping[str, Any] | None
Row: TypeAlias = tuple[Any, ...]

# Any 64-bit key unique to memoryd: hosts migrating at once wait on it (pg_advisory_xact_lock).
MIGRATION_LOCK_KEY = 0x6D656D6F72796400  # "memoryd\0"
CONNECT_TIMEOUT_S = 10
# How long a daemon waits for a lost server (a restart, a failover) before it gives up.
RECONNECT_TIMEOUT_S = 120
RECONNECT_PAUSE_S = 0.5
# How long one attempt waits for a pooled connection while the server is away.
POOL_WAIT_S = 5.0


# A token of SQL text: a quoted string or identifier, a comment, a ``::`` cast, a parameter
# (``?`` or ``:name``), a ``%`` (psycopg's own marker, so escaped), or anything else.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|::|\?\d*|:[A-Za-z_]\w*|%|[^'"\-:?%]+|."""
)
# SQLite planner hints; PostgreSQL plans without them.
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)


@functools.lru_cache(maxsize=512)
def to_pg(sql: str) -> str:
    """``sql`` in psycopg's parameter style: ``?`` becomes ``%s``, ``:name`` ``%(name)s`` and
    SQLite's numbered ``?N`` ``%(pN)s`` (its parameters are then passed by name:
    :func:`_numbered`)."""
    out: list[str] = []
    for tok in _TOKEN.findall(_INDEXED_BY.sub("", sql)):
        if tok == "?":
            out.append("%s")
        elif tok.startswith("?"):
            out.append(f"%(p{tok[1:]})s")
        elif tok.startswith(":") and tok != "::" and len(tok) > 1:
            out.append(f"%({tok[1:]})s")
        elif tok == "%":
            out.append("%%")
        else:
            out.append(tok)
    return "".join(out)


class PgCursor:
    """The rows of one statement, read the way store/ reads an aiosqlite cursor."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    async def __aenter__(self) -> PgCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class _PgResult:
    """``await conn.execute(...)`` or ``async with conn.execute(...) as cur``, as aiosqlite."""

    __slots__ = ("_cursor", "_run")

    def __init__(self, run: Any) -> None:
        self._run = run
        self._cursor: PgCursor | None = None

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._run.__await__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> PgCursor:
        self._cursor = await self._run
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConnection:
    """The part of ``aiosqlite.Connection`` store/ uses, on a psycopg pool."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        host_id: str,
        tx: _PgTransaction | None = None,
    ) -> None:
        self.pool = pool
        self.host_id = host_id  # this daemon's: the threads rows it indexes and claims
        self._tx = tx  # set inside a transaction

    async def _run(self, sql: str, params: Params) -> PgCursor:
        import psycopg

        if self._tx is not None:
            return await self._tx.execute(sql, params)
        deadline = anyio.current_time() + RECONNECT_TIMEOUT_S
        while True:
            try:
                async with self.pool.connection() as conn:
                    return await _execute(conn, sql, params)
            except psycopg.OperationalError as e:
                # A statement outside a transaction runs alone: one that failed with its
                # connection (the server restarted) did not take effect, or took effect and
                # is one of store/'s idempotent writes; run it again on a fresh connection.
                if not _connection_lost(e):
                    raise
                await _pause_reconnecting(e, deadline)

    def execute(self, sql: str, params: Params = None) -> _PgResult:
        return _PgResult(self._run(sql, params))

    async def execute_fetchall(self, sql: str, params: Params = None) -> list[Row]:
        return await (await self._run(sql, params)).fetchall()

    async def executemany(self, sql: str, seq: Iterable[Params]) -> PgCursor:
        """Each parameter set in turn; the cursor's rowcount is the sum, as sqlite3's."""
        total = 0
        for params in seq:
            total += max((await self._run(sql, params)).rowcount, 0)
        return PgCursor([], total)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConnection]:
        """One transaction on one pooled connection; committed unless the body raises. A
        connection lost on the way (the server restarted) is replaced and the transaction
        replayed on it: :class:`_PgTransaction`."""
        if self._tx is not None:
            raise StateDBError("nested state DB transaction")
        tx = _PgTransaction(self.pool)
        try:
            yield PgConnection(self.pool, self.host_id, tx)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await tx.rollback()
            raise
        with anyio.CancelScope(shield=True):
            await tx.commit()

    async def close(self) -> None:
        await self.pool.close()


class _PgTransaction:
    """The statements of one transaction, and what each returned, so that a transaction
    whose connection was lost half-way (a server restart, a failover) survives it: on a new
    connection the statements run again, and if every one returns what it returned before,
    the body has seen exactly what it would have seen and carries on there. If one returns
    something else (another host changed those rows meanwhile), the transaction fails with a
    StateDBError instead.

    A connection lost at the COMMIT leaves it unknown whether the server applied it. Replaying
    an applied transaction would apply it twice (a pure insert, a usage-ledger booking, returns
    the same the second time), so the transaction's id is learnt as soon as it has one: each
    statement until then carries ``SELECT pg_current_xact_id_if_assigned()`` in the same
    message (no extra round trip, and a read-only transaction is given no id). After a lost
    COMMIT, ``pg_xact_status`` of that id on a new connection says whether it was applied."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], conn: psycopg.AsyncConnection[Any] | None = None
    ) -> None:
        self.pool = pool
        # ``conn`` given: statements on that one connection (doctor's, outside any pool),
        # whose loss is an error rather than a reconnection.
        self.fixed = conn is not None
        self.conn: psycopg.AsyncConnection[Any] | None = conn
        self.journal: list[tuple[str, Params, list[Row], int]] = []
        self.deadline = anyio.current_time() + RECONNECT_TIMEOUT_S
        self.committed = False
        self.xid: str | None = None  # the server's id of this transaction, once it has one

    async def execute(self, sql: str, params: Params, *, commit: bool = False) -> PgCursor:
        """Run ``sql`` in the transaction; with ``commit`` it is the last statement, sent
        with the COMMIT in one message (its rows are not returned)."""
        if self.committed:
            raise StateDBError("statement after the last one of a state DB transaction")
        import psycopg

        while True:
            try:
                if self.conn is None:
                    await self._connect()
                    continue
                if commit:
                    cur = await _execute(self.conn, sql + ";\nCOMMIT", params)
                    self.committed = True
                    await self._release()
                    return PgCursor([], cur.rowcount)
                cur = await self._statement(self.conn, sql, params)
            except psycopg.OperationalError as e:
                if self.fixed or not _connection_lost(e):
                    raise
                await self._drop(e)
                if commit and await self._applied():
                    # The COMMIT (and the statement with it) took effect; its reply was lost,
                    # and with it the statement's rowcount (-1: unknown, as DB-API has it).
                    self.committed = True
                    return PgCursor([], -1)
                continue
            self.journal.append((sql, params, list(cur._rows), cur.rowcount))
            return cur

    async def _statement(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: Params
    ) -> PgCursor:
        """One statement; while the transaction has no id yet, it is asked for with it."""
        if self.fixed or self.xid is not None:
            return await _execute(conn, sql, params)
        cur, self.xid = await _send(conn, sql, params, then_xid=True)
        return cur

    async def _applied(self) -> bool:
        """Whether the transaction whose COMMIT lost its connection was applied: asked on a
        new connection by its id (unknown if its only write went with the COMMIT: then it is
        replayed, as before it had any). Waits while the server has not yet finished it."""
        import psycopg

        if self.xid is None:
            return False
        while True:
            try:
                async with self.pool.connection() as conn:
                    (status,) = (await _execute(conn, _XACT_STATUS, (self.xid,)))._rows[0]
            except psycopg.OperationalError as e:
                if not _connection_lost(e):
                    raise
                await _pause_reconnecting(e, self.deadline)
                continue
            if status != "in progress":
                return bool(status == "committed")
            # The old session has not read its COMMIT (or its end) yet: it soon will.
            if anyio.current_time() > self.deadline:
                raise StateDBError(
                    "the connection to the PostgreSQL server was lost at a COMMIT and the "
                    f"server has not finished that transaction within {RECONNECT_TIMEOUT_S} s"
                )
            await anyio.sleep(RECONNECT_PAUSE_S)

    async def _connect(self) -> None:
        """A fresh connection with the journal replayed on it."""
        conn = await self.pool.getconn()
        self.conn = conn
        self.xid = None  # the replay is a new transaction, with an id of its own
        for sql, params, rows, rowcount in self.journal:
            cur = await self._statement(conn, sql, params)
            if cur._rows != rows or cur.rowcount != rowcount:
                raise StateDBError(
                    "the connection to the PostgreSQL server was lost mid-transaction and "
                    "the state changed meanwhile; the transaction was abandoned (its work is "
                    "retried as after a crash)"
                )

    async def _drop(self, e: psycopg.OperationalError) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            await self.pool.putconn(conn)  # the pool discards a broken connection
        await _pause_reconnecting(e, self.deadline)

    async def commit(self) -> None:
        import psycopg

        if self.committed or (self.conn is None and not self.journal):
            return  # committed with the last statement, or no statement ran
        while True:
            try:
                if self.conn is None:
                    await self._connect()
                    continue
                await self.conn.commit()
            except psycopg.OperationalError as e:
                if self.fixed or not _connection_lost(e):
                    await self.rollback()
                    raise
                await self._drop(e)
                if await self._applied():
                    self.committed = True
                    return  # applied; only the server's reply was lost
                continue
            await self._release()
            return

    async def rollback(self) -> None:
        import psycopg

        if self.conn is None or self.committed:
            return
        with contextlib.suppress(psycopg.Error):
            await self.conn.rollback()
        await self._release()

    async def _release(self) -> None:
        if self.conn is not None and not self.fixed:
            conn, self.conn = self.conn, None
            await self.pool.putconn(conn)


def on_connection(conn: psycopg.AsyncConnection[Any]) -> PgConnection:
    """A :class:`PgConnection` whose statements all run on ``conn``, outside any pool and with
    no reconnection (doctor's read-only look at a server: it changes nothing)."""
    return PgConnection(cast(Any, None), "", _PgTransaction(cast(Any, None), conn))


# SQLSTATE classes and codes that say the connection, not the statement, failed: connection
# exceptions, and the server shutting down or restarting (admin_shutdown, crash_shutdown,
# cannot_connect_now).
_LOST_STATES = ("08", "57P01", "57P02", "57P03")


def _connection_lost(e: psycopg.OperationalError) -> bool:
    from psycopg_pool import PoolTimeout

    if isinstance(e, PoolTimeout):
        return True  # no connection could be had within the pool's timeout: still down
    state = e.sqlstate or ""
    if state.startswith(_LOST_STATES):
        return True
    # Lost without a server message (the socket closed): psycopg gives no SQLSTATE.
    return not state


async def _pause_reconnecting(e: psycopg.OperationalError, deadline: float) -> None:
    """Wait a moment before the next attempt; StateDBError once the server has been gone
    for RECONNECT_TIMEOUT_S (the daemon then stops, and systemd restarts it)."""
    if anyio.current_time() > deadline:
        raise StateDBError(
            f"lost the PostgreSQL server for more than {RECONNECT_TIMEOUT_S} s: {error_line(e)}"
        ) from e
    log.warning("state_db_reconnecting", error=error_line(e))
    await anyio.sleep(RECONNECT_PAUSE_S)


async def _execute(conn: psycopg.AsyncConnection[Any], sql: str, params: Params) -> PgCursor:
    return (await _send(conn, sql, params, then_xid=False))[0]


_XID = "SELECT pg_current_xact_id_if_assigned()::text"
_XACT_STATUS = "SELECT pg_xact_status(?::xid8)"


async def _send(
    conn: psycopg.AsyncConnection[Any], sql: str, params: Params, *, then_xid: bool
) -> tuple[PgCursor, str | None]:
    """``sql``'s rows; with ``then_xid``, in the same message, the id of the transaction it
    runs in (None while the transaction has written nothing)."""
    import psycopg

    # ClientCursor binds parameters as literals, as SQLite sees them: a NULL compared with
    # ``IS NULL`` needs no declared type, an int may stand where a boolean is tested. It also
    # lets one message hold two statements (``then_xid``), whose results come one by one.
    cur = psycopg.AsyncClientCursor(conn)
    try:
        text = f"{sql};\n{_XID}" if then_xid else sql
        await cur.execute(to_pg(text), _numbered(sql, params))
        rows = await cur.fetchall() if cur.description is not None else []
        out = PgCursor([tuple(r) for r in rows], cur.rowcount)
        if not then_xid:
            return out, None
        cur.nextset()
        row = await cur.fetchone()
        return out, (row[0] if row else None)
    finally:
        await cur.close()


def _numbered(sql: str, params: Params) -> Params:
    """Positional parameters for SQLite's ``?N`` style as the names :func:`to_pg` gives them,
    and a Python bool as the integer SQLite stores for it (the schema's flags are integers,
    and PostgreSQL refuses a boolean literal in an integer column)."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {k: _as_sqlite(v) for k, v in params.items()}
    values = tuple(_as_sqlite(v) for v in params)
    if not _NUMBERED.search(sql):
        return values
    return {f"p{i}": v for i, v in enumerate(values, start=1)}


def _as_sqlite(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


_NUMBERED = re.compile(r"\?\d")

Connection: TypeAlias = aiosqlite.Connection | PgConnection


def host_of(conn: Connection) -> str:
    """The host whose rollouts this connection indexes and claims: the daemon's host id on
    PostgreSQL, where several hosts share the rows; '' on SQLite, where there is one."""
    return conn.host_id if isinstance(conn, PgConnection) else ""


async def execute_last(conn: Connection, sql: str, params: Params = None) -> int:
    """The last statement of a transaction (``store.db.immediate``), its rowcount. On
    PostgreSQL it travels with the COMMIT: the row and advisory locks the transaction holds
    (a claim's, the phase-2 row every finaliser advances) are released as soon as the server
    has run it, not one client round trip later, which is what other hosts queue behind
    when this daemon's event loop is slow to send the COMMIT."""
    if isinstance(conn, PgConnection) and conn._tx is not None:
        return (await conn._tx.execute(sql, params, commit=True)).rowcount
    return (await conn.execute(sql, params)).rowcount


HOST_ID_FILE = "host_id"
_HOST_ID = re.compile(r"[0-9a-f]{32}")


def load_host_id(state_dir: Path) -> str:
    """This daemon's stable host id, ``<state_dir>/host_id``: made once (a random UUID, so
    two machines never share one, even cloned from one image before the first start), then
    read back on every start. Raw transcripts are read only by the host whose id their
    ``threads`` rows carry."""
    ensure_private_dir(state_dir)
    path = state_dir / HOST_ID_FILE
    if not os.path.lexists(path):
        # Written aside, then linked into place: a daemon starting at the same moment reads
        # either no file or a whole one, and the first link wins.
        tmp = state_dir / f".{HOST_ID_FILE}.{uuid.uuid4().hex}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(uuid.uuid4().hex + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        except OSError as e:
            raise StateDBError(f"cannot write the host id {path}: {e.strerror or e}") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError as e:
        raise StateDBError(f"cannot read the host id {path}: {e.strerror or e}") from None
    if not _HOST_ID.fullmatch(text):
        raise StateDBError(
            f"host id file {path} does not hold a host id (32 hex digits); remove it and "
            "memoryd makes a new one (this host's rollouts are then indexed anew)"
        )
    return text


def pg_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every PostgreSQL migration, in order: the same versions as
    SQLite's, written in PostgreSQL's dialect (triggers in PL/pgSQL)."""
    folder = resources.files("memoryd.store") / "migrations" / "postgres"
    out = [
        (int(e.name.split("_", 1)[0]), e.name, e.read_text(encoding="utf-8"))
        for e in folder.iterdir()
        if e.name.endswith(".sql")
    ]
    out.sort()
    return out


async def migrate_pg(conn: psycopg.AsyncConnection[Any]) -> int:
    """Apply missing migrations in one transaction under an advisory lock: hosts that start
    together wait for the first, then find the schema current and do nothing."""
    import psycopg

    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        await conn.execute("CREATE TABLE IF NOT EXISTS memoryd_schema (version INTEGER NOT NULL)")
        cur = await conn.execute("SELECT max(version) FROM memoryd_schema")
        row = await cur.fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
        for version, name, sql in pg_migrations():
            if version <= current:
                continue
            try:
                await conn.execute(sql.encode())  # no parameters: several statements at once
            except psycopg.Error as e:
                raise StateDBError(f"migration postgres/{name} failed: {error_line(e)}") from e
            await conn.execute("INSERT INTO memoryd_schema (version) VALUES (%s)", (version,))
            current = version
    return current


def pg_dsn(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The DSN from the environment variable ``[state] dsn_env`` names; ConfigError if unset."""
    env = os.environ if env is None else env
    name = settings.config.state.dsn_env
    dsn = env.get(name, "")
    if not dsn:
        raise ConfigError(
            settings.source,
            "state.dsn_env",
            f"environment variable {name} is not set; export the PostgreSQL DSN in it "
            "(postgresql://user@host/db)",
        )
    return dsn


async def open_pg(settings: Settings, env: Mapping[str, str] | None = None) -> PgConnection:
    """A pool on the shared database, migrated; ConfigError (one line) when it is unreachable."""
    import psycopg
    from psycopg_pool import AsyncConnectionPool

    dsn = pg_dsn(settings, env)
    name = settings.config.state.dsn_env
    host = load_host_id(settings.paths.state_dir)
    try:
        first = await psycopg.AsyncConnection.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as e:
        raise ConfigError(
            settings.source,
            "state.dsn_env",
            f"cannot connect to the PostgreSQL server in ${name}: {error_line(e)}",
        ) from None
    try:
        await migrate_pg(first)
    finally:
        await first.close()
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=settings.config.state.pool_size,
        kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
        # A connection the server dropped while it sat in the pool is found out and
        # replaced when it is taken, not when a statement fails on it.
        check=AsyncConnectionPool.check_connection,
        timeout=POOL_WAIT_S,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        open=False,
    )
    await pool.open(wait=True)
    return PgConnection(pool, host)


# LISTEN/NOTIFY (PostgreSQL only): every daemon on the database listens on one channel; the
# payload is ``<event>:<host id of the sender>``. Sent inside the writing transaction, so a
# notification is delivered only once what it announces is committed (and never if it is not).
NOTIFY_CHANNEL = "memoryd"
EVENT_OUTPUTS = "outputs"  # stage-1 outputs landed (or were deleted): phase 2 has input
EVENT_LOCK = "lock"  # the phase-2 lock was given back or finished: another host may claim it
EVENT_TREE = "tree"  # a consolidated memory tree was published: materialise it
EVENT_CLEAR = "clear"  # the memories were cleared


async def notify(conn: Connection, event: str) -> None:
    """Announce ``event`` to every daemon on the database; nothing on SQLite (one host, whose
    own tasks already wake each other in process)."""
    if isinstance(conn, PgConnection):
        await conn.execute("SELECT pg_notify(?, ?)", (NOTIFY_CHANNEL, f"{event}:{conn.host_id}"))
