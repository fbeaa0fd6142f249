"""Real rollout fragments through the offline extractor into a memory root, consolidated by
the offline consolidator: what the summary and MEMORY.md make of a few sessions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memoryd.consolidate.offline import consolidate_root
from memoryd.consolidate.offline.layout import SUMMARY_BUDGET
from memoryd.consolidate.offline.sources import Source, TaskIn
from memoryd.extract.base import ExtractionRequest
from memoryd.extract.offline import extract_output
from memoryd.memroot.artifacts import render_raw_memories, render_rollout_summary
from memoryd.store.phase2 import ArtifactRow

DAY = 86_400
T0 = 1_795_000_000  # 2026-11-18


def session(tid: int, cwd: str, day: int, items: list[dict[str, Any]]) -> ArtifactRow:
    thread_id = f"00000000-0000-4000-8000-{tid:012d}"
    out = extract_output(
        ExtractionRequest(
            thread_id=thread_id,
            rollout_path=f"/r/{tid}.jsonl",
            cwd=cwd,
            rollout_contents=json.dumps(items),
        )
    )
    return ArtifactRow(
        thread_id=thread_id,
        source_updated_at=T0 + day * DAY,
        rollout_path=f"/r/{tid}.jsonl",
        cwd=cwd,
        git_branch="main",
        rollout_summary=out.rollout_summary,
        raw_memory=out.raw_memory,
        rollout_slug=out.rollout_slug,
    )


def read_source(n: int, cwd: str, prefs: list[str], knowledge: Sequence[str] = ()) -> Source:
    """A session as the consolidator reads it back: one task with these rules and facts."""
    return Source(
        thread_id=f"t{n}",
        summary_file=f"t{n}.md",
        cwd=cwd,
        rollout_path=f"/r/{n}.jsonl",
        updated_at=f"2026-10-0{n}T09:00:00Z",
        git_branch="main",
        keywords=[],
        tasks=[TaskIn(title=f"task {n}", prefs=prefs, knowledge=list(knowledge))],
        fingerprint=f"f{n}",
    )


def consolidate(
    root: Path, rows: list[ArtifactRow], budget: int = SUMMARY_BUDGET
) -> tuple[str, str]:
    (root / "rollout_summaries").mkdir(parents=True, exist_ok=True)
    for row in rows:
        (root / "rollout_summaries" / f"{row.stem}.md").write_text(render_rollout_summary(row))
    (root / "raw_memories.md").write_text(render_raw_memories(rows))
    out = consolidate_root(root, None, budget)
    return out.memory, out.summary


def entry_lines(memory: str) -> list[str]:
    """The bullets of MEMORY.md's preference, knowledge and failure sections."""
    out: list[str] = []
    keep = False
    for ln in memory.splitlines():
        if ln.startswith("#"):
            keep = ln in (
                "## User preferences",
                "## Reusable knowledge",
                "## Failures and how to do differently",
            )
        elif keep and ln.startswith("- "):
            out.append(ln)
    return out
