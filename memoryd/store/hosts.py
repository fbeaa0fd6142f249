"""The hosts sharing one PostgreSQL state: each daemon's row in ``hosts`` (registered at start,
``last_seen`` refreshed by its heartbeat), what ``memoryd status`` lists (marking the hosts
not seen for a long time as stale), ``memoryd hosts forget`` removing a host that is gone,
and the read-only probe ``memoryd doctor`` runs against the server. On SQLite there is one
host and no row."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import msgspec
import structlog

from memoryd import __version__
from memoryd.config import Settings
from memoryd.errors import MemorydError, StateDBError
from memoryd.store.engine import (
    CONNECT_TIMEOUT_S,
    Connection,
    PgConnection,
    on_connection,
    pg_dsn,
)
from memoryd.store.jobs import GLOBAL, STAGE1
from memoryd.textutil import error_line

HEARTBEAT_SECONDS = 15.0
# A host whose heartbeat stopped this long ago is shown as stale: a machine that is gone, or
# one that has not run memoryd for a week (`memoryd hosts forget` removes it from the list).
STALE_AFTER_DAYS = 7
_STALE_AFTER_MS = STALE_AFTER_DAYS * 86_400_000
# A host whose heartbeat came this recently runs: its next heartbeat would list it again.
ALIVE_MS = 120_000
# The server's clock in ms at the moment the statement runs (not the transaction's start).
_SERVER_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
# How long ago a host's last heartbeat was, by the server's clock (its ``last_seen`` is in the
# host's clock, ``clock_offset_ms`` ahead of the server's then): whatever the clocks' skew.
_IDLE_MS = f"({_SERVER_MS} - (h.last_seen - h.clock_offset_ms))"

log = structlog.get_logger("memoryd.store")


def is_stale(idle_ms: int) -> bool:
    """Whether a host whose last heartbeat was ``idle_ms`` ago (the server's clock) is stale."""
    return idle_ms >= _STALE_AFTER_MS


class HostRow(msgspec.Struct, kw_only=True):
    host_id: str
    hostname: str
    version: str  # memoryd's
    started_at: int  # ms, the host's clock
    last_seen: int  # ms, the host's clock
    clock_offset_ms: int  # the host's clock minus the server's at the last heartbeat
    running: int  # jobs this host holds: its threads' extractions, the phase-2 lock
    stale: bool = False  # not seen for STALE_AFTER_DAYS or more

    def label(self) -> str:
        """``laptop (a3b2c1d0)``: its name and the start of its id, as ``status`` lists it."""
        return f"{self.hostname} ({self.host_id[:8]})"


class HostError(MemorydError):
    """``hosts forget`` refused: which host is meant is unclear, or it may not be forgotten."""


class UnknownHost(HostError):
    """No host has that name or an id starting with it."""


class AmbiguousHost(HostError):
    """The name (or id prefix) fits more than one host."""


_UPSERT = f"""
INSERT INTO hosts (host_id, hostname, version, started_at, last_seen, clock_offset_ms)
VALUES (:host, :hostname, :version, :started, :now, :now - {_SERVER_MS})
ON CONFLICT (host_id) DO UPDATE SET
    hostname = excluded.hostname, version = excluded.version,
    started_at = excluded.started_at, last_seen = excluded.last_seen,
    clock_offset_ms = excluded.clock_offset_ms
"""


def this_hostname() -> str:
    """This machine's name, as the hosts table and the run history name it."""
    return socket.gethostname()


async def hostname_of(conn: Connection, host_id: str) -> str | None:
    """The name the host ``host_id`` registered (PostgreSQL); None on SQLite, for a host
    that never registered, or when the server cannot answer (a name is only shown)."""
    if not isinstance(conn, PgConnection) or not host_id:
        return None
    import psycopg

    try:
        rows = await conn.execute_fetchall(
            "SELECT hostname FROM hosts WHERE host_id = ?", (host_id,)
        )
    except psycopg.Error as e:
        log.warning("host_name_unread", error=error_line(e))
        return None
    return str(rows[0][0]) if rows else None


async def touch_host(
    conn: Connection, *, started_at_ms: int, now_ms: int, hostname: str | None = None
) -> bool:
    """Register this host (its name, this memoryd's version, when its daemon or ``run
    --once`` started), or refresh its ``last_seen`` (the heartbeat); False on
    SQLite (one host, nothing to list) or when the server cannot be reached: a missed
    heartbeat is logged, it never stops the daemon."""
    if not isinstance(conn, PgConnection):
        return False
    import psycopg  # only on PostgreSQL: a SQLite daemon never loads it

    try:
        await conn.execute(
            _UPSERT,
            {
                "host": conn.host_id,
                "hostname": hostname or this_hostname(),
                "version": __version__,
                "started": started_at_ms,
                "now": now_ms,
            },
        )
    except psycopg.Error as e:
        log.warning("host_heartbeat_failed", error=error_line(e))
        return False
    return True


async def list_hosts(conn: Connection) -> list[HostRow] | None:
    """Every host sharing the state, with the jobs each runs; None on SQLite (one host)."""
    if not isinstance(conn, PgConnection):
        return None
    return [h for h, _ in await _hosts(conn)]


async def _hosts(conn: PgConnection) -> list[tuple[HostRow, int]]:
    """Each host, and how many ms ago (the server's clock) its last heartbeat was."""
    rows = await conn.execute_fetchall(
        f"""
        SELECT h.host_id, h.hostname, h.version, h.started_at, h.last_seen, h.clock_offset_ms,
          (SELECT count(*) FROM jobs j JOIN threads t ON t.id = j.job_key
            WHERE j.kind = :stage1 AND j.status = 'running' AND t.host_id = h.host_id)
          + (SELECT count(*) FROM jobs j
            WHERE j.kind = :global AND j.status = 'running'
              AND split_part(j.worker_id, ':', 1) = h.hostname),
          {_IDLE_MS}
        FROM hosts h ORDER BY h.hostname, h.host_id
        """,
        {"stage1": STAGE1, "global": GLOBAL},
    )
    return [
        (
            HostRow(
                host_id=str(r[0]),
                hostname=str(r[1]),
                version=str(r[2]),
                started_at=int(r[3]),
                last_seen=int(r[4]),
                clock_offset_ms=int(r[5]),
                running=int(r[6]),
                stale=is_stale(int(r[7])),
            ),
            int(r[7]),
        )
        for r in rows
    ]


async def forget_host(conn: Connection, name: str) -> HostRow:
    """Remove the host ``name`` designates (its name, its id, or the start of its id) from
    the hosts listed: a machine that is gone. Only its ``hosts`` row goes: the memories
    extracted from its sessions stay, and a host that does start again registers again.
    Refused (HostError, one line) on SQLite, for this host, for a host whose heartbeat is
    recent (it runs), and for a name that fits several hosts or none."""
    if not isinstance(conn, PgConnection):
        raise HostError(
            "there is no other host to forget: the state is a SQLite file only this host "
            'uses (hosts share a state with [state] backend = "postgres")'
        )
    wanted = name.strip()
    if not wanted:
        raise HostError("name the host to forget: its name or the start of its id")
    rows = await _hosts(conn)
    exact = [(h, idle) for h, idle in rows if h.host_id == wanted.lower()]
    fits = exact or [
        (h, idle)
        for h, idle in rows
        if h.hostname.casefold() == wanted.casefold() or h.host_id.startswith(wanted.lower())
    ]
    if not fits:
        raise UnknownHost(
            f"no host is named {wanted!r} or has an id starting with it "
            "(`memoryd hosts` lists them)"
        )
    if len(fits) > 1:
        raise AmbiguousHost(
            f"{wanted!r} fits {len(fits)} hosts: {', '.join(h.label() for h, _ in fits)}; "
            "name one by more of its id"
        )
    ((host, idle),) = fits
    if host.host_id == conn.host_id:
        raise HostError(
            f"{host.label()} is this host (its state dir's host_id): a host forgets only "
            "other hosts"
        )
    if idle < ALIVE_MS:
        raise HostError(
            f"{host.label()} sent a heartbeat {max(idle, 0) // 1000} s ago: its memoryd runs "
            "and would list it again; stop memoryd there first"
        )
    # Only the row just read: a heartbeat since then moved last_seen, and the host runs.
    done = await conn.execute(
        "DELETE FROM hosts WHERE host_id = ? AND last_seen = ?", (host.host_id, host.last_seen)
    )
    if done.rowcount != 1:
        raise HostError(f"{host.label()} sent a heartbeat just now: its memoryd runs")
    log.info("host_forgotten", host_id=host.host_id, hostname=host.hostname)
    return host


@dataclass(frozen=True)
class ServerProbe:
    """What ``doctor`` learns from the server, without changing anything."""

    server_version: int  # PostgreSQL's server_version_num, e.g. 150004
    schema_version: int | None  # None: no memoryd schema in the database yet
    now_ms: int  # the server's clock
    hosts: list[tuple[str, str, int, int]]  # (host id, hostname, last_seen, clock_offset_ms)


@contextlib.asynccontextmanager
async def inspect_pg(
    settings: Settings, env: Mapping[str, str] | None = None
) -> AsyncIterator[PgConnection]:
    """One connection to the database ``[state] dsn_env`` names, for reading: no pool, no
    migration, no host id (doctor changes nothing). ConfigError when the variable is unset;
    StateDBError with the server's reason (one line) when it cannot be reached or a read
    fails."""
    import psycopg  # doctor on PostgreSQL only

    dsn = pg_dsn(settings, env)
    try:
        raw = await psycopg.AsyncConnection.connect(
            dsn, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True
        )
    except psycopg.Error as e:
        raise StateDBError(error_line(e)) from None
    try:
        # Every statement runs on ``raw`` (as inside a transaction); the pool is never used.
        yield on_connection(raw)
    except psycopg.Error as e:
        raise StateDBError(error_line(e)) from None
    finally:
        await raw.close()


async def probe_server(conn: PgConnection) -> ServerProbe:
    """The server's version and clock, the schema version and the hosts' clocks."""
    ((version, now_ms, has_schema, has_hosts),) = await conn.execute_fetchall(
        f"SELECT current_setting('server_version_num')::int, {_SERVER_MS}, "
        "to_regclass('memoryd_schema') IS NOT NULL, to_regclass('hosts') IS NOT NULL"
    )
    schema: int | None = None
    if has_schema:
        ((schema,),) = await conn.execute_fetchall("SELECT max(version) FROM memoryd_schema")
    rows = []
    if has_hosts:
        rows = await conn.execute_fetchall(
            "SELECT host_id, hostname, last_seen, clock_offset_ms FROM hosts "
            "ORDER BY hostname, host_id"
        )
    return ServerProbe(
        int(version),
        None if schema is None else int(schema),
        int(now_ms),
        [(str(h), str(n), int(seen), int(off)) for h, n, seen, off in rows],
    )
