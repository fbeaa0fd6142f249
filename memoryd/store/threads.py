"""The rollout index in the state DB as a whole: what ``run --once`` reports of it."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class IndexCounts:
    threads: int
    threads_with_errors: int  # rows with an ``index_error``
    problems: int  # ``index_problems`` rows: files that gave no thread
    memories: int  # ``stage1_outputs`` rows


async def index_counts(conn: aiosqlite.Connection) -> IndexCounts:
    async with conn.execute("SELECT count(*), count(index_error) FROM threads") as cur:
        row = await cur.fetchone()
    threads, with_errors = (int(row[0]), int(row[1])) if row else (0, 0)
    async with conn.execute("SELECT count(*) FROM index_problems") as cur:
        row = await cur.fetchone()
    problems = int(row[0]) if row else 0
    async with conn.execute("SELECT count(*) FROM stage1_outputs") as cur:
        row = await cur.fetchone()
    memories = int(row[0]) if row else 0
    return IndexCounts(threads, with_errors, problems, memories)
