"""``memoryd run --once``: one full pass without a daemon."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from memoryd.config import Settings
from memoryd.rollouts.indexer import Indexer, ScanStats
from memoryd.store.db import connect

log = structlog.get_logger("memoryd.runonce")


@dataclass
class RunSummary:
    codex_home_exists: bool
    looked_in: list[str] = field(default_factory=list)
    scan: ScanStats | None = None
    threads: int = 0
    threads_with_errors: int = 0
    problems: int = 0
    phases_run: list[str] = field(default_factory=list)


async def run_once(settings: Settings) -> RunSummary:
    paths = settings.paths
    roots = [*paths.sessions_dirs, paths.archived_dir]
    summary = RunSummary(
        codex_home_exists=paths.codex_home.is_dir() or any(r.is_dir() for r in roots),
        looked_in=[str(r) for r in roots],
    )
    if not summary.codex_home_exists:
        log.info("run_once_no_codex_home", codex_home=str(paths.codex_home))
        return summary
    async with connect(paths.db_path) as conn:
        indexer = Indexer(
            conn,
            paths.sessions_dirs,
            paths.archived_dir,
            max_line_bytes=settings.config.index.max_line_bytes,
        )
        summary.scan = await indexer.scan_all()
        async with conn.execute("SELECT count(*), count(index_error) FROM threads") as cur:
            row = await cur.fetchone()
        if row:
            summary.threads, summary.threads_with_errors = int(row[0]), int(row[1])
        async with conn.execute("SELECT count(*) FROM index_problems") as cur:
            row = await cur.fetchone()
        summary.problems = int(row[0]) if row else 0
    summary.phases_run.append("index")
    return summary
