"""Phase 2 when the process is out of file descriptors (a flood of control connections took
the last ones, say): the run fails cleanly with a reason that says what to raise, keeps the
baseline, and is retried within a minute rather than after ``phase2.retry_delay_seconds``;
once descriptors are free again the retry consolidates everything."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import aiosqlite
from support.fault_world import fake_clock, global_job
from support.phase2_env import env as env  # the real DB with phase-1 outputs, a codex home

from memoryd.config import Config
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.phase2 import DESCRIPTOR_RETRY_SECONDS, Consolidator, validate_artifacts


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_out_of_descriptors_fails_cleanly_and_is_retried_soon(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env
    cfg = Config()
    assert cfg.phase2.retry_delay_seconds > DESCRIPTOR_RETRY_SECONDS
    c = Consolidator(conn, cfg, OfflineConsolidator(), root=root, codex_home=home, worker_id="t")
    with fake_clock() as clock:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (_open_fds(), hard))  # not one more
        try:
            result = await c.run_once()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert result.outcome == "failed"
        assert result.reason is not None and result.reason.endswith(
            "(out of file descriptors: raise the open-files limit (ulimit -n / LimitNOFILE))"
        )
        status, error, retry_in = await global_job(conn)
        assert (status, error) == ("error", result.reason)
        assert retry_in == DESCRIPTOR_RETRY_SECONDS

        assert (await c.run_once()).outcome == "backoff"  # not before the retry time
        clock.advance(DESCRIPTOR_RETRY_SECONDS)
        result = await c.run_once()
    assert result.outcome == "succeeded", result.reason
    assert validate_artifacts(root) is None
    assert len(list((root / "rollout_summaries").glob("*.md"))) == result.added > 0
