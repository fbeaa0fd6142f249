"""Codex-compatible memory artifacts: ``rollout_summaries/<stem>.md`` and ``raw_memories.md``.

Everything here is a pure function of the stage-1 rows (reference §6.5), so the files can be
regenerated from the state DB at any time, by phase 1 or phase 2, and a re-sync of unchanged
rows touches nothing on disk. The byte layout, the file-name stem and the ordering follow
Codex's ``memories/write/src/storage.rs``; writes are atomic (temporary file in the same
directory, fsync, rename, fsync of the directory), so a crash or a full disk never leaves a
half-written memory file behind.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from memoryd.errors import ArtifactError
from memoryd.fsutil import atomic_write, fsync_dir, make_private_dirs, read_regular_file, walk_tree
from memoryd.layout import RAW_MEMORIES_FILE, ROLLOUT_SUMMARIES_DIR
from memoryd.redact import redact
from memoryd.store.phase2 import ArtifactRow

# Rust's ``str::trim`` removes Unicode White_Space, which is not quite Python's ``isspace``
# (that one also counts U+001C..U+001F).
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one :func:`sync_artifacts` call did; ``written + unchanged`` = files it manages."""

    written: int
    deleted: int
    unchanged: int


# --------------------------------------------------------------------------------------------
# Rendering


def rfc3339(seconds: int) -> str:
    """``2026-06-12T10:00:00+00:00``, as chrono's ``to_rfc3339`` writes whole UTC seconds."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _rust_trim(text: str) -> str:
    return text.strip(_WHITE_SPACE)


def render_rollout_summary(row: ArtifactRow) -> str:
    """The body of ``rollout_summaries/<stem>.md``: a header, a blank line, the summary
    verbatim and one newline."""
    lines = [
        f"thread_id: {row.thread_id}",
        f"updated_at: {rfc3339(row.source_updated_at)}",
        f"rollout_path: {row.rollout_path}",
        f"cwd: {row.cwd}",
    ]
    if row.git_branch is not None:
        lines.append(f"git_branch: {row.git_branch}")
    return "\n".join(lines) + "\n\n" + row.rollout_summary + "\n"


def render_raw_memories(rows: Sequence[ArtifactRow]) -> str:
    """The body of ``raw_memories.md``: every row's raw memory, trimmed, under a header that
    points at its summary file, in ascending thread-id order."""
    if not rows:
        return "# Raw Memories\n\nNo raw memories yet.\n"
    parts = [
        "# Raw Memories\n\n",
        "Merged stage-1 raw memories (stable ascending thread-id order):\n\n",
    ]
    for row in sorted(rows, key=lambda r: r.thread_id):
        parts.append(
            f"## Thread `{row.thread_id}`\n"
            f"updated_at: {rfc3339(row.source_updated_at)}\n"
            f"cwd: {row.cwd}\n"
            f"rollout_path: {row.rollout_path}\n"
            f"rollout_summary_file: {row.stem}.md\n"
            "\n"
            f"{_rust_trim(row.raw_memory)}\n\n"
        )
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Writing


# ``fsutil.write_temp_file``'s names: "." + the target's name + "." + mkstemp's 8 random characters
# + ".tmp".
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def remove_stale_temp_files(root: Path) -> list[str]:
    """Delete the temporary files of writes that never finished (the writer was killed
    between creating the file and renaming it); return their paths relative to ``root``.

    Only safe while nothing writes into ``root``: phase 2 calls it under the global lock.
    Without it such a file would be committed into the baseline and handed to the agent as
    a user's addition, and stay in the memory folder for good."""
    removed: list[str] = []
    for dirpath, dirnames, filenames in walk_tree(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            if _TEMP_NAME.match(name):
                path = os.path.join(dirpath, name)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed.append(os.path.relpath(path, root))
    return sorted(removed)


def _ensure_dir(path: Path, root: Path) -> None:
    try:
        make_private_dirs(path, root=root)
    except NotADirectoryError as e:
        raise ArtifactError(str(e)) from None


def _encode(text: str) -> bytes:
    """A file's bytes: redacted once more (SPEC §6: every file memoryd writes; stage-1
    outputs are already redacted, so this only matters if a secret slipped through), and a
    lone surrogate (possible in JSON-escaped model output) must not abort a whole sync."""
    return redact(text).encode("utf-8", "replace")


def _write_if_changed(path: Path, payload: bytes) -> bool:
    if read_regular_file(path) == payload:
        return False
    atomic_write(path, payload)
    return True


def sync_artifacts(root: Path, rows: Sequence[ArtifactRow]) -> SyncResult:
    """Make ``root`` hold exactly the artifacts of ``rows`` (the phase-2 selection): one
    ``rollout_summaries/<stem>.md`` per row, no other ``*.md`` in that folder (other files are
    left alone), and ``raw_memories.md``. Files whose content would not change are not
    rewritten, so an unchanged selection does no writes at all."""
    summaries_dir = root / ROLLOUT_SUMMARIES_DIR
    _ensure_dir(summaries_dir, root)

    seen: set[str] = set()
    selected: list[ArtifactRow] = []
    for row in rows:  # the same thread twice: the first (best-ranked) row wins
        if row.thread_id not in seen:
            seen.add(row.thread_id)
            selected.append(row)

    written = unchanged = deleted = 0
    keep: set[str] = set()
    for row in selected:
        stem = row.stem
        keep.add(stem)
        if _write_if_changed(summaries_dir / f"{stem}.md", _encode(render_rollout_summary(row))):
            written += 1
        else:
            unchanged += 1

    for entry in sorted(os.scandir(summaries_dir), key=lambda e: e.name):
        if not entry.name.endswith(".md") or entry.name[: -len(".md")] in keep:
            continue
        if entry.is_dir(follow_symlinks=False):
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        deleted += 1

    if _write_if_changed(root / RAW_MEMORIES_FILE, _encode(render_raw_memories(selected))):
        written += 1
    else:
        unchanged += 1
    if deleted:
        fsync_dir(summaries_dir)
    return SyncResult(written=written, deleted=deleted, unchanged=unchanged)
