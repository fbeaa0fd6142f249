"""Phases 1 and 2 when the process is out of file descriptors (a flood of control connections
took the last ones, say): the job or run fails cleanly with a reason that says what to raise
and is retried within a minute rather than after its ``retry_delay_seconds`` (a stage-1 job
without spending one of its retries); once descriptors are free the retry does the work."""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiosqlite
from support.fault_world import fake_clock, global_job, stage1_jobs
from support.phase2_env import env as env  # the real DB with phase-1 outputs, a codex home

from memoryd.config import Config
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.demo import install_examples
from memoryd.errors import DESCRIPTOR_RETRY_SECONDS
from memoryd.extract.offline import OfflineExtractor
from memoryd.phase1 import Phase1
from memoryd.phase2 import Consolidator
from memoryd.phase2.validate import validate_artifacts
from memoryd.rollouts.indexer import Indexer
from memoryd.store.db import open_db

HINT = "(out of file descriptors: raise the open-files limit (ulimit -n / LimitNOFILE))"


@contextmanager
def no_spare_descriptor() -> Iterator[None]:
    """For the block, every descriptor this process may open is taken: its open-files limit
    is lowered near what it has open, and the rest is filled with /dev/null."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 8, hard))
    filler: list[int] = []
    try:
        with contextlib.suppress(OSError):
            while True:
                filler.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_stage1_job_out_of_descriptors_keeps_its_retries_and_is_retried_soon(
    tmp_path: Path,
) -> None:
    home = tmp_path / "codex"
    install_examples(home / "sessions")
    cfg = Config()
    assert cfg.phase1.retry_delay_seconds > DESCRIPTOR_RETRY_SECONDS
    conn = await open_db(tmp_path / "state" / "memoryd.sqlite")
    try:
        await Indexer(conn, [home / "sessions"], home / "archived_sessions").scan_all()
        phase1 = Phase1(conn, cfg, OfflineExtractor())
        with fake_clock() as clock:
            with no_spare_descriptor():
                stats = await phase1.run(until_idle=True)  # each rollout read fails
            jobs = await stage1_jobs(conn)
            assert stats.failed == len(jobs) > 0 and stats.succeeded == 0
            for status, retries, delay, error in jobs:
                assert (status, retries, delay) == ("error", cfg.phase1.max_retries, 60)
                assert error.endswith(HINT), error
            clock.advance(DESCRIPTOR_RETRY_SECONDS)
            stats = await Phase1(conn, cfg, OfflineExtractor()).run(until_idle=True)
        assert stats.succeeded == len(jobs) and stats.failed == 0
    finally:
        await conn.close()


async def test_out_of_descriptors_fails_cleanly_and_is_retried_soon(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env
    cfg = Config()
    assert cfg.phase2.retry_delay_seconds > DESCRIPTOR_RETRY_SECONDS
    c = Consolidator(conn, cfg, OfflineConsolidator(), root=root, codex_home=home, worker_id="t")
    with fake_clock() as clock:
        with no_spare_descriptor():
            result = await c.run_once()
        assert result.outcome == "failed"
        assert result.reason is not None and result.reason.endswith(HINT)
        status, error, retry_in = await global_job(conn)
        assert (status, error) == ("error", result.reason)
        assert retry_in == DESCRIPTOR_RETRY_SECONDS

        assert (await c.run_once()).outcome == "backoff"  # not before the retry time
        clock.advance(DESCRIPTOR_RETRY_SECONDS)
        result = await c.run_once()
    assert result.outcome == "succeeded", result.reason
    assert validate_artifacts(root) is None
    assert len(list((root / "rollout_summaries").glob("*.md"))) == result.added > 0
