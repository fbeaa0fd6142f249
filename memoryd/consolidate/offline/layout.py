"""Names, markers and size budgets of the files the offline consolidator writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

NAME = "offline"
MODEL = "offline-v1"

# Codex injects a summary of up to 10,000 bytes whole; of a longer one, only the first 5,000
# and the last 5,000 bytes (doctor/codex.py INJECT_HEAD_BYTES / INJECT_TAIL_BYTES).
SUMMARY_BUDGET = 10_000
HEAD_BYTES = 5_000  # what Codex reads of the summary first: its most valuable part
# A lower cap for stress runs (scripts/bench_quality.py --summary-budget): how the summary
# degrades when more is known than fits. Never above SUMMARY_BUDGET: Codex injects no more whole.
BUDGET_ENV = "MEMORYD_SUMMARY_BUDGET"
MIN_SUMMARY_BUDGET = 2_000
SUMMARY_NOTES_BUDGET = 1_200  # bytes of the summary's ``## User notes`` body
READ_LIMIT = 64 * 1024 * 1024
NOTE_READ_LIMIT = 64 * 1024
NOTE_CHARS = 1_000  # of one ad-hoc note in MEMORY.md
TITLE_CHARS = 160
MAX_TASK_KEYWORDS = 16
MAX_BLOCK_BULLETS = 40

NOTES_HEADING = "# User notes"
NOTES_BEGIN = (
    "<!-- memoryd:user-notes-begin: the offline consolidator keeps every line between these "
    "two markers as written; lines you add elsewhere in MEMORY.md or memory_summary.md move "
    "here -->"
)
NOTES_END = "<!-- memoryd:user-notes-end -->"
NOTES_BEGIN_PREFIX = "<!-- memoryd:user-notes-begin"
NOTES_END_PREFIX = "<!-- memoryd:user-notes-end"
STATE_PREFIX = "<!-- memoryd:state"
STATE_BEGIN = (
    "<!-- memoryd:state (offline consolidator bookkeeping that keeps your edits: digests of "
    "the files as written, and the generated lines you deleted; remove a hide line to bring "
    "that memory back)"
)
STATE_END = "-->"
ADHOC_HEADING = "## Ad-hoc notes"
EMPTY_HEADING = "# Memory is empty"
GENERAL_HEADING = "# General rules (for every project)"
SUPERSEDED_HEADING = "## Superseded (no longer current)"
SUMMARY_NOTES_HEADING = "## User notes"
SUMMARY_SECTIONS = (
    "## User Profile",
    "## User preferences",
    SUMMARY_NOTES_HEADING,
    "## General Tips",
    "## What's in Memory",
)
MOVED_HEADING = "## Moved from memory_summary.md (over its size budget)"
ADHOC_DIR = ("extensions", "ad_hoc", "notes")

FileTag = Literal["M", "S"]
Kind = Literal["blank", "heading", "sheading", "struct", "item"]


def summary_budget(env: Mapping[str, str]) -> int:
    """The summary's size cap: ``SUMMARY_BUDGET``, or a lower one from ``$MEMORYD_SUMMARY_BUDGET``
    (stress runs)."""
    raw = env.get(BUDGET_ENV, "").strip()
    if not raw:
        return SUMMARY_BUDGET
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = -1
    if not MIN_SUMMARY_BUDGET <= value <= SUMMARY_BUDGET:
        raise ValueError(
            f"{BUDGET_ENV}={raw!r} is not a byte count from {MIN_SUMMARY_BUDGET:,} to "
            f"{SUMMARY_BUDGET:,}: unset it or give one in that range"
        )
    return value
