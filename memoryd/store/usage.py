"""Token usage and memory usage in the state DB: what the budget has spent today
(``usage_ledger``), and the citations Codex records of memories (``memory_citations``, the
``usage_count`` / ``last_usage`` of ``stage1_outputs``)."""

from __future__ import annotations

from collections.abc import Sequence

from memoryd.store.engine import Connection


async def spent_since(conn: Connection, since_ms: int) -> dict[str, tuple[int, float | None]]:
    """phase -> (tokens, summed cost estimate) booked at or after ``since_ms``."""
    async with conn.execute(
        "SELECT phase, COALESCE(SUM(input_tokens + output_tokens), 0), SUM(cost_estimate) "
        "FROM usage_ledger WHERE at >= ? GROUP BY phase",
        (since_ms,),
    ) as cur:
        rows = await cur.fetchall()
    return {str(r[0]): (int(r[1]), None if r[2] is None else float(r[2])) for r in rows}


async def insert_citation(
    conn: Connection,
    citing_thread_id: str,
    message_key: str,
    cited_thread_id: str,
    at_s: int,
) -> bool:
    """Remember one citation (once per citing message); True when it is new and the cited
    thread has a stage-1 output to count it on now (``applied``)."""
    new = await conn.execute_fetchall(
        """INSERT OR IGNORE INTO memory_citations
             (citing_thread_id, message_key, cited_thread_id, cited_at, applied)
           VALUES (?, ?, ?, ?, EXISTS (SELECT 1 FROM stage1_outputs WHERE thread_id = ?))
           RETURNING applied""",
        (citing_thread_id, message_key, cited_thread_id, at_s, cited_thread_id),
    )
    rows = list(new)
    return bool(rows and rows[0][0])


async def count_use(conn: Connection, thread_id: str, at_s: int) -> None:
    """``usage_count + 1`` and ``last_usage = max(last_usage, at_s)`` of a stage-1 output."""
    await conn.execute(
        """UPDATE stage1_outputs SET usage_count = COALESCE(usage_count, 0) + 1,
             last_usage = CASE WHEN last_usage IS NULL OR last_usage < ?1 THEN ?1
                               ELSE last_usage END
           WHERE thread_id = ?2""",
        (at_s, thread_id),
    )


async def record_citations(
    c: Connection,
    citing_thread_id: str,
    message_key: str,
    cited_thread_ids: Sequence[str],
    at_s: int,
) -> int:
    """Inside the caller's transaction: one citing message's citations (thread ids already
    normalised, each once); returns how many stage-1 outputs were counted now."""
    counted = 0
    for tid in cited_thread_ids:
        if await insert_citation(c, citing_thread_id, message_key, tid, at_s):
            await count_use(c, tid, at_s)
            counted += 1
    return counted
