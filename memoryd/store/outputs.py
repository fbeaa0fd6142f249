"""Reading stage-1 outputs back for the memory folder."""

from __future__ import annotations

import aiosqlite

from memoryd.artifacts import ArtifactRow


async def select_outputs(conn: aiosqlite.Connection, limit: int) -> list[ArtifactRow]:
    """Up to ``limit`` non-empty outputs of threads still enabled, ranked as Codex ranks its
    phase-2 inputs (usage count, then last use or source time), in thread-id order."""
    async with conn.execute(
        """SELECT o.thread_id, o.source_updated_at, t.rollout_path, t.cwd, t.git_branch,
                  o.rollout_summary, o.raw_memory, o.rollout_slug
           FROM stage1_outputs o JOIN threads t ON t.id = o.thread_id
           WHERE t.memory_mode = 'enabled'
             AND (o.raw_memory <> '' OR o.rollout_summary <> '')
           ORDER BY COALESCE(o.usage_count, 0) DESC,
                    COALESCE(o.last_usage, o.source_updated_at) DESC,
                    o.source_updated_at DESC, o.thread_id DESC
           LIMIT ?""",
        (limit,),
    ) as cur:
        rows = await cur.fetchall()
    out = [
        ArtifactRow(
            thread_id=str(r[0]),
            source_updated_at=int(r[1]),
            rollout_path=str(r[2]),
            cwd=str(r[3]),
            git_branch=r[4],
            rollout_summary=str(r[5]),
            raw_memory=str(r[6]),
            rollout_slug=r[7],
        )
        for r in rows
    ]
    out.sort(key=lambda a: a.thread_id)
    return out
