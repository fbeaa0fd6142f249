"""The validation step: whether the agent's output (or a recorded run's tree, before a rollback
restores it) is a usable memory folder, by Codex's checks (reference §5)."""

from __future__ import annotations

from pathlib import Path

from memoryd.layout import MEMORY_FILE, SUMMARY_FILE
from memoryd.workspace import history

INVALID_ARTIFACTS = "failed_invalid_artifacts"


def validate_artifacts(root: Path) -> str | None:
    """None if the agent's output is usable, else why not (Codex's checks, reference §5)."""
    summary = root / SUMMARY_FILE
    if not summary.is_file() or summary.is_symlink():
        return f"{INVALID_ARTIFACTS}: {SUMMARY_FILE} is missing"
    with summary.open("rb") as f:
        first = f.readline().rstrip(b"\r\n")
    if first != b"v1":
        return f"{INVALID_ARTIFACTS}: {SUMMARY_FILE} does not start with the line v1"
    memory = root / MEMORY_FILE
    if not memory.is_file() or memory.is_symlink():
        return f"{INVALID_ARTIFACTS}: {MEMORY_FILE} is missing"
    return None


def validate_run_tree(directory: Path, run: history.HistoryRun) -> str | None:
    """:func:`validate_artifacts` on a recorded tree, before anything is restored from it."""
    summary = run.files.get(SUMMARY_FILE)
    if summary is None:
        return f"{INVALID_ARTIFACTS}: {SUMMARY_FILE} is missing"
    if history.read_file(directory, summary[0]).split(b"\n", 1)[0].rstrip(b"\r") != b"v1":
        return f"{INVALID_ARTIFACTS}: {SUMMARY_FILE} does not start with the line v1"
    if MEMORY_FILE not in run.files:
        return f"{INVALID_ARTIFACTS}: {MEMORY_FILE} is missing"
    return None
