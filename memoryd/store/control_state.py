"""The ``control_state`` table: small named values the control plane leaves for the phases
(``paused``, a pending purge, when the last clear happened)."""

from __future__ import annotations

from memoryd.store.engine import Connection


async def set_state(c: Connection, key: str, value: str) -> None:
    await c.execute(
        "INSERT INTO control_state (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def get_state(conn: Connection, key: str) -> str | None:
    rows = list(
        await conn.execute_fetchall("SELECT value FROM control_state WHERE key = ?", (key,))
    )
    return str(rows[0][0]) if rows else None


async def delete_state(c: Connection, key: str, value: str) -> None:
    """Remove ``key`` only while it still holds ``value``."""
    await c.execute("DELETE FROM control_state WHERE key = ? AND value = ?", (key, value))
