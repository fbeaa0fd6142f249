"""Forget and clear in the state DB (SPEC §7): the statements behind ``memoryd forget`` and
``memoryd clear`` (maintenance.py decides what to forget and clears the files), and the
``control_state`` marks they leave for phase 2 and for rollback."""

from __future__ import annotations

from collections.abc import Sequence

from memoryd.store.control_state import set_state
from memoryd.store.engine import EVENT_CLEAR, Connection, notify
from memoryd.store.jobs import GLOBAL, STAGE1, enqueue_global

FORGOTTEN = "forgotten"  # the memory_mode of a forgotten thread


async def known_thread(c: Connection, thread_id: str) -> list[str]:
    """``[thread_id]`` when a thread row, a stage-1 output or the last selection knows it."""
    rows = await c.execute_fetchall(
        """SELECT EXISTS (SELECT 1 FROM threads WHERE id = :t)
               OR EXISTS (SELECT 1 FROM stage1_outputs WHERE thread_id = :t)
               OR EXISTS (SELECT 1 FROM phase2_selection WHERE thread_id = :t)""",
        {"t": thread_id},
    )
    return [thread_id] if next(iter(rows))[0] else []


async def threads_under(c: Connection, path: str, prefix: str) -> list[str]:
    """Threads whose cwd is ``path`` or starts with ``prefix`` (``path`` + "/")."""
    rows = await c.execute_fetchall(
        "SELECT id FROM threads WHERE cwd = :p OR substr(cwd, 1, length(:prefix)) = :prefix "
        "ORDER BY id",
        {"p": path, "prefix": prefix},
    )
    return [str(r[0]) for r in rows]


async def forget_threads(
    c: Connection, ids: Sequence[str], *, now_s: int, purge_key: str, purge_token: str
) -> int:
    """Inside the caller's transaction: mark ``ids`` forgotten, delete their outputs, jobs and
    citations, mark the run history for a purge and enqueue phase 2. Returns the number of
    stage-1 outputs deleted."""
    params = [(tid,) for tid in ids]
    await c.executemany(
        "INSERT INTO forgotten_threads (thread_id, forgotten_at) VALUES (?, ?) "
        "ON CONFLICT(thread_id) DO NOTHING",
        [(tid, now_s) for tid in ids],
    )
    await c.executemany(
        "UPDATE threads SET memory_mode = ?, stage1_pending = 0 WHERE id = ?",
        [(FORGOTTEN, tid) for tid in ids],
    )
    deleted = 0
    for tid in ids:
        rows = await c.execute_fetchall(
            "DELETE FROM stage1_outputs WHERE thread_id = ? RETURNING 1", (tid,)
        )
        deleted += len(list(rows))
    # Deleting the job also fences off a running extraction: its finish matches no row.
    await c.executemany(f"DELETE FROM jobs WHERE kind = '{STAGE1}' AND job_key = ?", params)
    await c.executemany("DELETE FROM memory_citations WHERE cited_thread_id = ?", params)
    await set_state(c, purge_key, purge_token)
    await enqueue_global(c, now_s)
    return deleted


async def forgotten_threads(conn: Connection) -> list[str]:
    rows = await conn.execute_fetchall("SELECT thread_id FROM forgotten_threads ORDER BY 1")
    return [str(r[0]) for r in rows]


async def forgotten_among(conn: Connection, threads: Sequence[str]) -> list[str]:
    """Which of ``threads`` were forgotten, in id order."""
    forgotten: list[str] = []
    for i in range(0, len(threads), 500):
        chunk = list(threads[i : i + 500])
        rows = await conn.execute_fetchall(
            "SELECT thread_id FROM forgotten_threads WHERE thread_id IN "
            f"({','.join('?' * len(chunk))}) ORDER BY thread_id",
            chunk,
        )
        forgotten.extend(str(r[0]) for r in rows)
    return forgotten


async def clear_memory_state(
    c: Connection, *, reextract: bool, cleared_key: str, now_ms: int
) -> tuple[int, int]:
    """Inside the caller's transaction: delete every output, the selection, the citations,
    the published tree and the jobs, keep the thread rows (pending again only with
    ``reextract``), and record when. Returns (outputs deleted, threads known)."""
    deleted = len(list(await c.execute_fetchall("DELETE FROM stage1_outputs RETURNING 1")))
    await c.execute("DELETE FROM phase2_selection")
    await c.execute("DELETE FROM memory_citations")
    # A host that comes back after the clear must not materialise the tree from before it.
    await c.execute("DELETE FROM published_trees")
    await c.execute(f"DELETE FROM jobs WHERE kind IN ('{STAGE1}', '{GLOBAL}')")
    # Pending again only on request; otherwise the indexer marks a thread pending when its
    # rollout changes (a new updated_at), which is "unless they change afterwards".
    await c.execute("UPDATE threads SET stage1_pending = ?", (int(reextract),))
    threads = next(iter(await c.execute_fetchall("SELECT count(*) FROM threads")))[0]
    await set_state(c, cleared_key, str(now_ms))
    await notify(c, EVENT_CLEAR)
    return deleted, int(threads)
