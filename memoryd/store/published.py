"""The consolidated memory tree, published for the other hosts (PostgreSQL only).

The host that holds the phase-2 lock consolidates every host's outputs; after its run it
publishes the new baseline's files here (run id, path -> bytes, compressed), and every other
daemon materialises them into its own memory root (memoryd/phase2.py: ``materialise``). Only
the newest tree is kept: the folder is small text, already redacted, and a host that was
offline needs the newest tree, not the ones in between. On SQLite there is one host and one
folder, so nothing is published and nothing is read back.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from memoryd.errors import StateDBError
from memoryd.store.engine import EVENT_TREE, Connection, PgConnection, notify

# A tree larger than this (compressed) is not published: the memory folder is a few hundred
# kB of text; anything near this is not a memory folder any more.
MAX_TREE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PublishedTree:
    seq: int
    run_id: str
    host_id: str  # the host that consolidated it
    files: dict[str, bytes]  # root-relative path -> content


def shared(conn: Connection) -> bool:
    """Whether several hosts share this state (and so trees are published)."""
    return isinstance(conn, PgConnection)


def encode(files: Mapping[str, bytes]) -> bytes:
    return zlib.compress(msgspec.msgpack.encode(dict(sorted(files.items()))), 6)


def decode(blob: bytes) -> dict[str, bytes]:
    try:
        return msgspec.msgpack.decode(zlib.decompress(blob), type=dict[str, bytes])
    except (zlib.error, msgspec.DecodeError) as e:
        raise StateDBError(f"the published memory tree is unreadable: {e}") from e


async def insert_tree(
    c: Connection, *, run_id: str, files: Mapping[str, bytes], now_ms: int
) -> int | None:
    """Inside the caller's transaction (the run's success, so that a run is published exactly
    when it is recorded): publish ``files`` as the newest tree, drop the older ones and wake
    every other host (NOTIFY, delivered at commit). Returns its sequence number; None on
    SQLite, where nothing is published."""
    if not isinstance(c, PgConnection):
        return None
    blob = encode(files)
    if len(blob) > MAX_TREE_BYTES:
        raise StateDBError(
            f"the memory folder is {len(blob)} bytes compressed, more than the "
            f"{MAX_TREE_BYTES} memoryd publishes to the other hosts; move large files out "
            "of the memory root"
        )
    rows = await c.execute_fetchall(
        "INSERT INTO published_trees (run_id, host_id, published_at, files) "
        "VALUES (?, ?, ?, ?) RETURNING seq",
        (run_id, c.host_id, now_ms, blob),
    )
    seq = int(next(iter(rows))[0])
    await c.execute("DELETE FROM published_trees WHERE seq < ?", (seq,))
    await notify(c, EVENT_TREE)
    return seq


async def latest_tree(conn: Connection) -> PublishedTree | None:
    """The newest published tree, or None (none yet, or SQLite)."""
    if not isinstance(conn, PgConnection):
        return None
    rows = list(
        await conn.execute_fetchall(
            "SELECT seq, run_id, host_id, files FROM published_trees ORDER BY seq DESC LIMIT 1"
        )
    )
    if not rows:
        return None
    seq, run_id, host_id, blob = rows[0]
    return PublishedTree(int(seq), str(run_id), str(host_id), decode(bytes(blob)))
