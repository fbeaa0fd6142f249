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
from typing import TYPE_CHECKING, Any, TypeAlias

import aiosqlite

if TYPE_CHECKING:  # imported where used: a SQLite daemon never loads psycopg (~10 MB RSS)
    import psycopg
    from psycopg_pool import AsyncConnectionPool

from memoryd.config import Settings
from memoryd.errors import ConfigError, StateDBError
from memoryd.fsutil import ensure_private_dir

Params: TypeAlias = Sequence[Any] | Mapping[str, Any] | None
Row: TypeAlias = tuple[Any, ...]

# Any 64-bit key unique to memoryd: hosts migrating at once wait on it (pg_advisory_xact_lock).
MIGRATION_LOCK_KEY = 0x6D656D6F72796400  # "memoryd\0"
CONNECT_TIMEOUT_S = 10


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
        conn: psycopg.AsyncConnection[Any] | None = None,
    ) -> None:
        self.pool = pool
        self.host_id = host_id  # this daemon's: the threads rows it indexes and claims
        self._conn = conn  # set inside a transaction

    async def _run(self, sql: str, params: Params) -> PgCursor:
        if self._conn is not None:
            return await _execute(self._conn, sql, params)
        async with self.pool.connection() as conn:
            return await _execute(conn, sql, params)

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
        """One transaction on one pooled connection; committed unless the body raises."""
        if self._conn is not None:
            raise StateDBError("nested state DB transaction")
        async with self.pool.connection() as conn, conn.transaction():
            yield PgConnection(self.pool, self.host_id, conn)

    async def close(self) -> None:
        await self.pool.close()


async def _execute(conn: psycopg.AsyncConnection[Any], sql: str, params: Params) -> PgCursor:
    import psycopg

    # ClientCursor binds parameters as literals, as SQLite sees them: a NULL compared with
    # ``IS NULL`` needs no declared type, an int may stand where a boolean is tested.
    cur = psycopg.AsyncClientCursor(conn)
    try:
        await cur.execute(to_pg(sql), _numbered(sql, params))
        rows = await cur.fetchall() if cur.description is not None else []
        return PgCursor([tuple(r) for r in rows], cur.rowcount)
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
                raise StateDBError(f"migration postgres/{name} failed: {_one_line(e)}") from e
            await conn.execute("INSERT INTO memoryd_schema (version) VALUES (%s)", (version,))
            current = version
    return current


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


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
            f"cannot connect to the PostgreSQL server in ${name}: {_one_line(e)}",
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
        await conn.execute(
            "SELECT pg_notify(?, ?)", (NOTIFY_CHANNEL, f"{event}:{conn.host_id}")
        )
