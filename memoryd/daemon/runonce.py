"""``memoryd run --once``: one full pass without a daemon.

It never waits for a spent token budget to reset: phase 1 stops claiming and the summary says
how many jobs wait for the budget and when it resets (``Phase1Stats.waiting``), and phase 2
reports outcome ``budget`` instead of starting.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import anyio
import structlog

from memoryd import clock
from memoryd.budget import Budget
from memoryd.config import Settings
from memoryd.consolidate.factory import make_consolidator
from memoryd.extract.factory import make_extractor
from memoryd.memroot.codexlink import LinkResult, ensure_link
from memoryd.phase1 import Phase1, Phase1Stats, eligibility, progress_line
from memoryd.phase2 import Consolidator
from memoryd.phase2.result import Phase2Result
from memoryd.rollouts.indexer import Indexer, ScanStats
from memoryd.rollouts.limits import ZstLimits
from memoryd.store import hosts
from memoryd.store.db import connect_state
from memoryd.store.jobs import Skipped, skipped_counts
from memoryd.store.threads import index_counts
from memoryd.workspace.history import history_dir

log = structlog.get_logger("memoryd.runonce")


@dataclass
class RunSummary:
    codex_home_exists: bool
    looked_in: list[str] = field(default_factory=list)
    scan: ScanStats | None = None
    threads: int = 0
    threads_with_errors: int = 0
    problems: int = 0
    phase1: Phase1Stats | None = None
    memories: int = 0
    skipped: Skipped | None = None
    phase2: Phase2Result | None = None
    phases_run: list[str] = field(default_factory=list)
    link: LinkResult | None = None


def _tty_progress(stats: Phase1Stats, remaining: int) -> None:
    sys.stderr.write("\r\x1b[K" + progress_line(stats, remaining))
    sys.stderr.flush()


async def run_once(settings: Settings, *, progress: bool | None = None) -> RunSummary:
    paths = settings.paths
    roots = [*paths.sessions_dirs, paths.archived_dir]
    summary = RunSummary(
        codex_home_exists=paths.codex_home.is_dir() or any(r.is_dir() for r in roots),
        looked_in=[str(r) for r in roots],
    )
    if not summary.codex_home_exists:
        log.info("run_once_no_codex_home", codex_home=str(paths.codex_home))
        return summary
    # Before anything is written: Codex must see memoryd's root, and never write into it.
    summary.link = await anyio.to_thread.run_sync(ensure_link, paths.codex_home, paths.memory_root)
    extractor = make_extractor(settings.config, settings.source)
    agent = make_consolidator(settings.config, settings.source)
    show = sys.stderr.isatty() if progress is None else progress
    try:
        async with connect_state(settings) as conn:
            # On PostgreSQL this host is one of several: `status` and `doctor` list it.
            now_ms = clock.now_ms()
            await hosts.touch_host(conn, started_at_ms=now_ms, now_ms=now_ms)
            indexer = Indexer(
                conn,
                paths.sessions_dirs,
                paths.archived_dir,
                max_line_bytes=settings.config.index.max_line_bytes,
                zst=ZstLimits.of(settings.config.index),
            )
            summary.scan = await indexer.scan_all()
            summary.phases_run.append("index")
            budget = Budget(conn, lambda: settings.config)
            phase1 = Phase1(
                conn,
                settings.config,
                extractor,
                on_progress=_tty_progress if show else None,
                budget=budget,
            )
            summary.phase1 = await phase1.run(until_idle=True)
            if show:
                sys.stderr.write("\n")
            summary.phases_run.append("phase1")
            consolidator = Consolidator(
                conn,
                settings.config,
                agent,
                root=paths.memory_root,
                codex_home=paths.codex_home,
                worker_id=phase1.worker_id,
                budget=budget,
                history_dir=history_dir(paths.state_dir),
                state_dir=paths.state_dir,
            )
            summary.phase2 = await consolidator.run_once(min_interval_seconds=0)
            summary.phases_run.append("phase2")
            counts = await index_counts(conn)
            summary.threads = counts.threads
            summary.threads_with_errors = counts.threads_with_errors
            summary.problems, summary.memories = counts.problems, counts.memories
            summary.skipped = await skipped_counts(conn, eligibility(settings.config))
    finally:
        await extractor.aclose()
        await agent.aclose()
    return summary
