"""The hosts sharing one PostgreSQL state: each daemon's row in ``hosts`` (registered at start,
``last_seen`` refreshed by its heartbeat), what ``memoryd status`` lists, and the read-only
probe ``memoryd doctor`` runs against the server. On SQLite there is one host and no row."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec
import psycopg
import structlog

from memoryd import __version__
from memoryd.config import Settings
from memoryd.errors import StateDBError
from memoryd.store.engine import CONNECT_TIMEOUT_S, Connection, PgConnection, pg_dsn
from memoryd.store.jobs import GLOBAL, STAGE1

HEARTBEAT_SECONDS = 15.0
# The server's clock in ms at the moment the statement runs (not the transaction's start).
_SERVER_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

log = structlog.get_logger("memoryd.store")


class HostRow(msgspec.Struct, kw_only=True):
    host_id: str
    hostname: str
    version: str  # memoryd's
    started_at: int  # ms, the host's clock
    last_seen: int  # ms, the host's clock
    clock_offset_ms: int  # the host's clock minus the server's at the last heartbeat
    running: int  # jobs this host holds: its threads' extractions, the phase-2 lock


_UPSERT = f"""
INSERT INTO hosts (host_id, hostname, version, started_at, last_seen, clock_offset_ms)
VALUES (:host, :hostname, :version, :started, :now, :now - {_SERVER_MS})
ON CONFLICT (host_id) DO UPDATE SET
    hostname = excluded.hostname, version = excluded.version,
    started_at = excluded.started_at, last_seen = excluded.last_seen,
    clock_offset_ms = excluded.clock_offset_ms
"""


async def touch_host(
    conn: Connection, *, started_at_ms: int, now_ms: int, hostname: str | None = None
) -> bool:
    """Register this host (its name, this memoryd's version, when its daemon or ``run
    --once`` started), or refresh its ``last_seen`` (the heartbeat); False on
    SQLite (one host, nothing to list) or when the server cannot be reached: a missed
    heartbeat is logged, it never stops the daemon."""
    if not isinstance(conn, PgConnection):
        return False
    try:
        await conn.execute(
            _UPSERT,
            {
                "host": conn.host_id,
                "hostname": hostname or socket.gethostname(),
                "version": __version__,
                "started": started_at_ms,
                "now": now_ms,
            },
        )
    except psycopg.Error as e:
        log.warning("host_heartbeat_failed", error=" ".join(str(e).split()))
        return False
    return True


async def list_hosts(conn: Connection) -> list[HostRow] | None:
    """Every host sharing the state, with the jobs each runs; None on SQLite (one host)."""
    if not isinstance(conn, PgConnection):
        return None
    rows = await conn.execute_fetchall(
        """
        SELECT h.host_id, h.hostname, h.version, h.started_at, h.last_seen, h.clock_offset_ms,
          (SELECT count(*) FROM jobs j JOIN threads t ON t.id = j.job_key
            WHERE j.kind = :stage1 AND j.status = 'running' AND t.host_id = h.host_id)
          + (SELECT count(*) FROM jobs j
            WHERE j.kind = :global AND j.status = 'running'
              AND split_part(j.worker_id, ':', 1) = h.hostname)
        FROM hosts h ORDER BY h.hostname, h.host_id
        """,
        {"stage1": STAGE1, "global": GLOBAL},
    )
    return [
        HostRow(
            host_id=str(r[0]),
            hostname=str(r[1]),
            version=str(r[2]),
            started_at=int(r[3]),
            last_seen=int(r[4]),
            clock_offset_ms=int(r[5]),
            running=int(r[6]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class ServerProbe:
    """What ``doctor`` learns from the server, without changing anything."""

    server_version: int  # PostgreSQL's server_version_num, e.g. 150004
    schema_version: int | None  # None: no memoryd schema in the database yet
    now_ms: int  # the server's clock
    hosts: list[tuple[str, str, int, int]]  # (host id, hostname, last_seen, clock_offset_ms)


async def probe_server(settings: Settings, env: Mapping[str, str] | None = None) -> ServerProbe:
    """Connect to the database ``[state] dsn_env`` names and read its version, the schema
    version and the hosts' clocks. ConfigError when the variable is unset, StateDBError (the
    server's reason, one line) when it cannot be reached; nothing is created or migrated."""
    dsn = pg_dsn(settings, env)
    try:
        conn = await psycopg.AsyncConnection.connect(
            dsn, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True
        )
    except psycopg.Error as e:
        raise StateDBError(" ".join(str(e).split()) or type(e).__name__) from None
    try:
        version = conn.info.server_version
        cur = await conn.execute(f"SELECT {_SERVER_MS}, to_regclass('memoryd_schema') IS NOT NULL")
        row = await cur.fetchone()
        assert row is not None
        now_ms, has_schema = int(row[0]), bool(row[1])
        schema: int | None = None
        hosts: list[tuple[str, str, int, int]] = []
        if has_schema:
            cur = await conn.execute("SELECT max(version) FROM memoryd_schema")
            row = await cur.fetchone()
            schema = int(row[0]) if row and row[0] is not None else None
            cur = await conn.execute("SELECT to_regclass('hosts') IS NOT NULL")
            row = await cur.fetchone()
            if row and row[0]:
                cur = await conn.execute(
                    "SELECT host_id, hostname, last_seen, clock_offset_ms FROM hosts "
                    "ORDER BY hostname, host_id"
                )
                hosts = [(str(h), str(n), int(s), int(o)) for h, n, s, o in await cur.fetchall()]
    finally:
        await conn.close()
    return ServerProbe(version, schema, now_ms, hosts)
