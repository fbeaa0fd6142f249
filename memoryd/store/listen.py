"""LISTEN/NOTIFY on PostgreSQL: a dedicated connection on which this daemon hears what the
other hosts' daemons announce (memoryd/store/engine.py ``notify``): outputs landed, the
phase-2 lock freed, a tree published, a clear. It replaces polling the shared database.

The connection is the daemon's own (outside the pool: a pooled connection would be handed to
other work between notifications). When it breaks (the server restarted, the network went
away) it is opened again with a growing pause; notifications sent meanwhile are lost, so a
reconnection is reported as an event of its own (EVENT_RECONNECTED) on which the daemon looks
at everything once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import structlog

from memoryd.store.engine import CONNECT_TIMEOUT_S, NOTIFY_CHANNEL, Connection, PgConnection
from memoryd.textutil import error_line

log = structlog.get_logger("memoryd.store")

EVENT_RECONNECTED = "reconnected"
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0


def can_listen(conn: Connection) -> bool:
    """Whether this engine announces changes (PostgreSQL); on SQLite there is one daemon."""
    return isinstance(conn, PgConnection)


def parse(payload: str) -> tuple[str, str]:
    """``<event>:<host id>`` -> (event, host id); a payload without a host is ('…', '')."""
    event, _, host = payload.partition(":")
    return event, host


async def listen(
    conn: Connection,
    on_event: Callable[[str, str], None],
    *,
    task_status: Any = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Call ``on_event(event, sender host id)`` for every notification, for ever: reconnects
    with backoff, and reports each reconnection as ``(EVENT_RECONNECTED, "")``. Reports
    ``task_status.started()`` once the first LISTEN is in place."""
    import psycopg  # PostgreSQL only: a SQLite daemon never loads it

    assert isinstance(conn, PgConnection)
    dsn = conn.pool.conninfo
    assert isinstance(dsn, str)  # open_pg gives the pool the DSN itself
    delay = BACKOFF_FIRST_S
    started = False
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            ) as listener:
                await listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
                if started:
                    log.info("listen_reconnected")
                    on_event(EVENT_RECONNECTED, "")
                else:
                    started = True
                    task_status.started()
                delay = BACKOFF_FIRST_S
                async for n in listener.notifies():
                    event, host = parse(n.payload)
                    on_event(event, host)
        except psycopg.OperationalError as e:
            log.warning(
                "listen_connection_lost",
                error=error_line(e),
                retry_seconds=round(delay, 1),
            )
        if not started:
            started = True  # nothing to wait for: notifications arrive once it reconnects
            task_status.started()
        await anyio.sleep(delay)
        delay = min(delay * 2, BACKOFF_MAX_S)
