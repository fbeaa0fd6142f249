"""Which changes in the memory root are input for a model (``edits_to_consolidate``): the
user's, not the files phase 2 derives from the selection or the seed memoryd writes."""

from __future__ import annotations

from memoryd.memroot.extensions import AD_HOC_INSTRUCTIONS
from memoryd.phase2.edits import edits_to_consolidate
from memoryd.workspace.diff import FileChange, WorkspaceDiff

SEED = AD_HOC_INSTRUCTIONS.encode()


def _added(path: str, data: bytes = b"x\n") -> FileChange:
    return FileChange(path, "A", None, 0o100644, None, data)


def test_derived_files_and_the_untouched_seed_are_not_edits() -> None:
    diff = WorkspaceDiff(
        "base",
        (
            _added("raw_memories.md"),
            _added("rollout_summaries/2026-12-07T01-00-00-abcd-slug.md"),
            _added("extensions/ad_hoc/instructions.md", SEED),
        ),
    )
    assert edits_to_consolidate(diff) == []


def test_the_users_notes_files_and_changed_seed_are_edits() -> None:
    changes = (
        FileChange("MEMORY.md", "M", 0o100644, 0o100644, b"a\n", b"a\nb\n"),
        _added("extensions/ad_hoc/instructions.md", SEED + b"- mine\n"),
        _added("extensions/ad_hoc/notes/2026-12-07T01-00-00-uv.md"),
        _added("rollout_summaries/notes.txt"),  # not a summary phase 2 writes
        _added("rollout_summaries/old/kept.md"),  # nor is a nested one
        FileChange("skills/x/SKILL.md", "D", 0o100644, None, b"s\n", None),
    )
    assert edits_to_consolidate(WorkspaceDiff("base", changes)) == [c.path for c in changes]
