"""The consolidated memory tree, published for the other hosts (PostgreSQL only).

The host that holds the phase-2 lock consolidates every host's outputs; after its run it
publishes the new baseline's files here (run id, path -> bytes, compressed), and every other
daemon materialises them into its own memory root (memoryd/phase2/materialise.py).

The newest :data:`KEEP_TREES` trees are kept, each with the selection its run consolidated:
a host applies only the newest to its folder, but first records every kept tree it missed
(it was stopped, or busy, while several runs were published) in its own run history, so that
``history`` and ``rollback`` know every run on every host. Older trees are pruned in the
transaction that inserts a new one, and so is, after a ``forget``, every tree published
before it and every one whose selection names a forgotten thread (a run under way during the
forget): once the next tree, consolidated without it, is published, no row holds the
forgotten memory.

On SQLite there is one host and one folder, so nothing is published and nothing is read back.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec

from memoryd.errors import StateDBError
from memoryd.store.control_state import get_state, set_state
from memoryd.store.engine import EVENT_TREE, Connection, PgConnection, Row, notify
from memoryd.store.forget import forgotten_threads

# A tree larger than this (compressed) is not published: the memory folder is a few hundred
# kB of text; anything near this is not a memory folder any more.
MAX_TREE_BYTES = 64 * 1024 * 1024
# How many published trees are kept: as many runs as `memoryd history` lists by default, so a
# host that missed up to that many publications still lists every run it shows by default.
# A tree is the compressed memory folder (tens to hundreds of kB), so 50 stay small.
KEEP_TREES = 50
_COLUMNS = "seq, run_id, host_id, files, selection"
# control_state: the newest tree's seq when the last forget happened; the next tree
# published prunes that one and every older one.
_FORGET_MARK = "published_before_forget"


@dataclass(frozen=True, slots=True)
class PublishedTree:
    seq: int
    run_id: str
    host_id: str  # the host that consolidated it
    files: dict[str, bytes]  # root-relative path -> content
    # The (thread id, source_updated_at) pairs its run consolidated; None for a tree
    # published before memoryd kept them (migration 0009).
    selection: tuple[tuple[str, int], ...] | None = None


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


def _encode_selection(pairs: Iterable[tuple[str, int]]) -> str:
    return "".join(f"{tid} {s}\n" for tid, s in sorted(dict(pairs).items()))


def _decode_selection(text: str | None) -> tuple[tuple[str, int], ...] | None:
    if text is None:
        return None
    out: list[tuple[str, int]] = []
    for line in text.splitlines():
        tid, _, s = line.rpartition(" ")
        if tid and s.isdigit():
            out.append((tid, int(s)))
    return tuple(out)


async def insert_tree(
    c: Connection,
    *,
    run_id: str,
    files: Mapping[str, bytes],
    selection: Iterable[tuple[str, int]],
    now_ms: int,
) -> int | None:
    """Inside the caller's transaction (the run's success, so that a run is published exactly
    when it is recorded): publish ``files`` (and the ``selection`` its run consolidated) as the
    newest tree, prune the older ones (:func:`_prune`) and wake every other host (NOTIFY,
    delivered at commit). Returns its sequence number; None on SQLite, where nothing is
    published."""
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
        "INSERT INTO published_trees (run_id, host_id, published_at, files, selection) "
        "VALUES (?, ?, ?, ?, ?) RETURNING seq",
        (run_id, c.host_id, now_ms, blob, _encode_selection(selection)),
    )
    seq = int(next(iter(rows))[0])
    await _prune(c, seq)
    await notify(c, EVENT_TREE)
    return seq


async def note_forget(c: Connection) -> None:
    """Inside a forget's transaction: every tree published so far may hold what is forgotten,
    so the next one published prunes them all (:func:`_prune`). Nothing on SQLite."""
    if not isinstance(c, PgConnection):
        return
    rows = await c.execute_fetchall("SELECT COALESCE(max(seq), 0) FROM published_trees")
    await set_state(c, _FORGET_MARK, str(int(next(iter(rows))[0])))


async def _prune(c: Connection, newest: int) -> None:
    """Keep the :data:`KEEP_TREES` newest trees. Of those older than ``newest``, drop also
    every one published before the last forget (:func:`note_forget`), every one whose
    selection names a forgotten thread (its files hold that thread's memory: a run that was
    under way during the forget publishes after it), and every one whose selection is unknown
    (published before the selections were kept, when only the newest tree was)."""
    await c.execute(
        "DELETE FROM published_trees WHERE seq NOT IN "
        "(SELECT seq FROM published_trees ORDER BY seq DESC LIMIT ?)",
        (KEEP_TREES,),
    )
    mark = await get_state(c, _FORGET_MARK)
    if mark is not None and mark.isdigit():
        await c.execute(
            "DELETE FROM published_trees WHERE seq <= ? AND seq < ?", (int(mark), newest)
        )
    rows = await c.execute_fetchall(
        "SELECT seq, selection FROM published_trees WHERE seq < ?", (newest,)
    )
    older = [(int(seq), _decode_selection(text)) for seq, text in rows]
    if not older:
        return
    forgotten = set(await forgotten_threads(c))
    drop = [
        (seq,) for seq, pairs in older if pairs is None or any(tid in forgotten for tid, _ in pairs)
    ]
    await c.executemany("DELETE FROM published_trees WHERE seq = ?", drop)


def _tree(row: Row) -> PublishedTree:
    seq, run_id, host_id, blob, selection = row
    return PublishedTree(
        int(seq),
        str(run_id),
        str(host_id),
        decode(bytes(blob)),
        _decode_selection(None if selection is None else str(selection)),
    )


async def latest_tree(conn: Connection) -> PublishedTree | None:
    """The newest published tree, or None (none yet, or SQLite)."""
    if not isinstance(conn, PgConnection):
        return None
    rows = list(
        await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM published_trees ORDER BY seq DESC LIMIT 1"
        )
    )
    return _tree(rows[0]) if rows else None


async def tree_runs(conn: Connection) -> list[tuple[int, str]]:
    """``(seq, run id)`` of every kept tree, oldest first, without their files (empty on
    SQLite)."""
    if not isinstance(conn, PgConnection):
        return []
    rows = await conn.execute_fetchall("SELECT seq, run_id FROM published_trees ORDER BY seq")
    return [(int(seq), str(run_id)) for seq, run_id in rows]


async def tree_at(conn: Connection, seq: int) -> PublishedTree | None:
    """The kept tree ``seq``, or None (pruned or cleared meanwhile, or SQLite)."""
    if not isinstance(conn, PgConnection):
        return None
    rows = list(
        await conn.execute_fetchall(f"SELECT {_COLUMNS} FROM published_trees WHERE seq = ?", (seq,))
    )
    return _tree(rows[0]) if rows else None
