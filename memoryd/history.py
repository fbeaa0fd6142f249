"""Run history (SPEC §7, issue 5). CONTRACT STUB: the run-history work replaces the body.

Every successful consolidation is committed to a git repository under the state dir, tagged
with its run id. ``Consolidator.rollback(run_id)`` (memoryd/phase2.py) restores one.
"""

from __future__ import annotations

from pathlib import Path

import msgspec


class HistoryEntry(msgspec.Struct, kw_only=True):
    run_id: str
    commit: str
    at_ms: int
    kind: str  # "consolidation" | "rollback"
    inputs_added: int = 0
    inputs_removed: int = 0
    files_changed: int = 0
    rolled_back_to: str | None = None  # for kind "rollback": the run restored


def list_runs(state_dir: Path, limit: int = 50) -> list[HistoryEntry]:
    """Newest first. An absent repository is an empty history."""
    raise NotImplementedError("contract stub")


def run_diff(state_dir: Path, run_id: str) -> str:
    """A unified diff of what that run changed (against the run before it). Raises
    MemorydError naming the run when it is not in the history."""
    raise NotImplementedError("contract stub")
