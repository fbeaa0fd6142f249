"""The sync step of a run, before the agent: the root brought up to date (legacy memories, dead
writes' leftovers, another host's clear and consolidation, the ad-hoc seed), the inputs
selected and written as ``rollout_summaries/`` and ``raw_memories.md``, expired extension
resources pruned, and the root diffed against its baseline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import structlog

from memoryd import clock
from memoryd.config import Phase2Config
from memoryd.errors import MemorydError
from memoryd.maintenance import apply_clear, clear_to_follow
from memoryd.memroot.artifacts import remove_stale_temp_files, sync_artifacts
from memoryd.memroot.extensions import prune_extension_resources, seed_ad_hoc
from memoryd.memroot.legacy import migrate_legacy
from memoryd.phase2.materialise import take_published
from memoryd.phase2.result import Failed
from memoryd.store import phase2 as store
from memoryd.store.engine import Connection
from memoryd.store.phase2 import Selection
from memoryd.workspace.baseline import diff_against_baseline, ensure_baseline
from memoryd.workspace.diff import WorkspaceDiff


@dataclass(frozen=True)
class Prepared:
    selection: Selection
    pruned: list[str]  # expired extension resources removed
    diff: WorkspaceDiff  # the root against its baseline


async def prepare_root(
    conn: Connection,
    p: Phase2Config,
    bound: structlog.stdlib.BoundLogger,
    *,
    root: Path,
    codex_home: Path,
    state_dir: Path | None,
    history_dir: Path | None,
) -> Prepared:
    """Everything before the diff is looked at; a file-system or memoryd error is the run's
    failure (:class:`Failed`), the baseline untouched."""
    try:
        migrated = await anyio.to_thread.run_sync(migrate_legacy, codex_home, root)
        if migrated:
            bound.info("legacy_memories_migrated", files=len(migrated))
        # Before the baseline: one recreated now must not commit a dead write's leftovers.
        stale = await anyio.to_thread.run_sync(remove_stale_temp_files, root)
        if stale:
            bound.warning("phase2_stale_temp_files_removed", files=stale)
        # A clear made on another host first: this run must not consolidate (and publish)
        # the folder from before it.
        if state_dir is not None:
            cleared = await clear_to_follow(conn, state_dir)
            if cleared is not None:
                await anyio.to_thread.run_sync(apply_clear, root, state_dir, cleared)
        big = p.max_file_bytes
        await anyio.to_thread.run_sync(lambda: ensure_baseline(root, max_file_bytes=big))
        # Another host's newer consolidation first (a host back from being offline):
        # this run builds on it, with this host's own edits on top.
        tree, caught_up = await take_published(
            conn, history_dir, root, bound, max_file_bytes=big
        ) or (None, None)
        if tree is not None and caught_up is not None:
            bound.info(
                "phase2_caught_up",
                published_run=tree.run_id,
                changed=len(caught_up.changed),
                edits_kept=caught_up.kept,
                edits_saved=caught_up.saved,
            )
        await anyio.to_thread.run_sync(seed_ad_hoc, root)
        selection = await store.select_inputs(
            conn,
            limit=p.max_inputs,
            max_unused_days=p.max_unused_days,
            now_s=clock.now_s(),
        )
        await anyio.to_thread.run_sync(sync_artifacts, root, list(selection.rows))
        pruned = await anyio.to_thread.run_sync(
            lambda: prune_extension_resources(root, datetime.fromtimestamp(clock.now_s(), UTC))
        )
        diff = await anyio.to_thread.run_sync(
            lambda: diff_against_baseline(root, max_file_bytes=big)
        )
    except (OSError, MemorydError) as e:
        raise Failed(f"preparing the memory root failed: {e}") from e
    return Prepared(selection, pruned, diff)
