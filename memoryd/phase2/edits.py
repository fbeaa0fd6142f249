"""The changes in a diff that are the user's, not memoryd's: what a run must consolidate, the
renames it need not, and the files someone else changed while the agent ran (kept, or saved
beside the agent's version as ``<name>.user-edit-<run>.md``)."""

from __future__ import annotations

from pathlib import Path

from memoryd.consolidate.base import ConsolidationResult
from memoryd.fsutil import atomic_write
from memoryd.layout import EXTENSIONS_DIR, RAW_MEMORIES_FILE, ROLLOUT_SUMMARIES_DIR
from memoryd.memroot.extensions import AD_HOC, AD_HOC_INSTRUCTIONS, INSTRUCTIONS_FILE
from memoryd.workspace.diff import WorkspaceDiff


def only_compressed_renames(diff: WorkspaceDiff) -> bool:
    """Whether every change is a rollout that Codex compressed (``X.jsonl`` -> ``X.jsonl.zst``)
    showing up in the headers of the files phase 2 derives: the same memories, only their
    provenance moved with the file. Not a change of input: no consolidation for it."""
    if diff.is_empty:
        return False
    for c in diff.changes:
        if c.status != "M" or c.old_data is None or c.new_data is None:
            return False
        old, new = c.old_data.split(b"\n"), c.new_data.split(b"\n")
        if len(old) != len(new):
            return False
        for a, b in zip(old, new, strict=True):
            if a != b and not (
                a.startswith(b"rollout_path: ") and a.endswith(b".jsonl") and b == a + b".zst"
            ):
                return False
    return True


_SEEDED_AD_HOC = f"{EXTENSIONS_DIR}/{AD_HOC}/{INSTRUCTIONS_FILE}"


def edits_to_consolidate(diff: WorkspaceDiff) -> list[str]:
    """The changed paths that are not memoryd's own preparation: a note the user added to
    ``MEMORY.md``, a file of theirs, an expired extension resource pruned (SPEC §4 "Trigger"
    counts each). ``raw_memories.md`` and ``rollout_summaries/*.md`` are derived from the
    selection, and the ad-hoc instructions are memoryd's seed while they hold its text: a
    model has nothing to consolidate in those alone."""
    edits = []
    for c in diff.changes:
        folder, _, name = c.path.rpartition("/")
        derived = c.path == RAW_MEMORIES_FILE or (
            folder == ROLLOUT_SUMMARIES_DIR and name.endswith(".md")
        )
        seeded = c.path == _SEEDED_AD_HOC and c.new_data == AD_HOC_INSTRUCTIONS.encode()
        if not (derived or seeded):
            edits.append(c.path)
    return edits


def read_all(root: Path, ids: dict[str, str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for rel in ids:
        try:
            out[rel] = (root / rel).read_bytes()
        except OSError:
            continue
    return out


def user_edit_name(rel: str, run_id: str) -> str:
    """``MEMORY.md`` -> ``MEMORY.user-edit-<run>.md``."""
    stem, dot, ext = rel.rpartition(".")
    if dot and "/" not in ext:
        return f"{stem}.user-edit-{run_id}.{ext}"
    return f"{rel}.user-edit-{run_id}"


def reconcile_mid_run_edits(
    root: Path,
    before: dict[str, str],
    before_bytes: dict[str, bytes],
    after: dict[str, str],
    result: ConsolidationResult,
    run_id: str,
) -> tuple[dict[str, bytes | None], list[str]]:
    """Find files someone other than the agent changed while it ran (SPEC §4).

    Returns the ``keep`` map for :func:`reset_baseline` (path -> pre-run content, None for a
    file that did not exist) and the paths of user versions saved beside the agent's."""
    agent_ids = dict(result.written_ids)
    agent_touched = set(result.written) | set(result.deleted)
    keep: dict[str, bytes | None] = {}
    saved: list[str] = []
    for rel in sorted(set(before) | set(after)):
        if before.get(rel) == after.get(rel) and rel not in agent_touched:
            continue
        if rel not in agent_touched:
            keep[rel] = before_bytes.get(rel) if rel in before else None
            continue
        # The agent wrote or deleted this path. If what is there now is not what it wrote,
        # the user wrote it afterwards: keep the user's version beside the agent's.
        now = after.get(rel)
        wrote = agent_ids.get(rel)
        if rel in result.deleted and now is None:
            continue
        if now is not None and wrote is not None and now != wrote:
            data = (root / rel).read_bytes()
            name = user_edit_name(rel, run_id)
            atomic_write(root / name, data, root=root)
            saved.append(name)
            keep[rel] = before_bytes.get(rel) if rel in before else None
            keep[name] = None  # the saved copy is new to the baseline: it shows in the diff
    return keep, saved
