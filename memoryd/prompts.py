"""memoryd's own prompts: stage 1 (the system prompt and the per-rollout input message) and
phase 2 (the consolidation agent's instructions and its run message).

The templates ship as package data in ``memoryd/prompts/`` and are read with
importlib.resources, so they work from a checkout, a wheel or a zip. Placeholders are written
``{{name}}`` and substituted in one pass: text inserted for one placeholder (the rollout, which
may contain anything, including ``{{...}}``) is never scanned again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Literal, Protocol

from memoryd.layout import DIFF_FILE

STAGE1_SYSTEM = "stage1_system.md"
STAGE1_INPUT = "stage1_input.md"
CONSOLIDATION_SYSTEM = "consolidation.md"
CONSOLIDATION_INPUT = "consolidation_input.md"


# What the prompts read of a request, as protocols: the requests themselves are the phases'
# types (extract.base.ExtractionRequest, consolidate.base.ConsolidationInput), which sit above
# this module: their backends import it.
class Stage1Request(Protocol):
    rollout_path: str
    cwd: str
    git_branch: str | None
    rollout_contents: str
    chunk_index: int
    chunk_count: int


class ConsolidationRequest(Protocol):
    mode: Literal["init", "incremental"]
    added: list[str]
    retained: list[str]
    removed: list[str]
    diff_file: str | None


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@cache
def load_template(name: str) -> str:
    """The text of one bundled template (cached; templates never change at run time)."""
    return resources.files("memoryd").joinpath("prompts", name).read_text(encoding="utf-8")


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill every ``{{name}}``; a placeholder without a value is a bug, so it raises KeyError."""

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{{key}}}}} has no value")
        return values[key]

    return _PLACEHOLDER.sub(sub, template)


def stage1_system_prompt() -> str:
    """The stage-1 ``instructions``: role, safety, the no-op gate, and the output formats."""
    return load_template(STAGE1_SYSTEM)


def chunk_note(chunk_index: int, chunk_count: int) -> str:
    """What the model is told when it sees one part of a rollout split for the budget."""
    if chunk_count <= 1:
        return ""
    return (
        f"\nThis is part {chunk_index + 1} of {chunk_count} of a rollout too long to read at "
        "once. Each part is analyzed on its own and the results are joined in order. Write "
        "about what this part shows; do not guess what happened in the other parts. If this "
        "part holds nothing worth saving, return the all-empty object.\n"
    )


def stage1_input_message(request: Stage1Request) -> str:
    """The single user message of a stage-1 request for one rollout (or one chunk of it)."""
    return render(
        load_template(STAGE1_INPUT),
        {
            "rollout_path": request.rollout_path,
            "cwd": request.cwd or "unknown",
            "git_branch": request.git_branch or "unknown",
            "chunk_note": chunk_note(request.chunk_index, request.chunk_count),
            "rollout_contents": request.rollout_contents,
        },
    )


# --- phase 2 ---------------------------------------------------------------------------------


def consolidation_prompt() -> str:
    """The phase-2 agent's ``instructions``: role, safety, modes, the workspace diff, the
    MEMORY.md / memory_summary.md / skills formats, and how to finish."""
    return load_template(CONSOLIDATION_SYSTEM)


_MODE_NOTES = {
    "init": (
        "INIT: there is no `MEMORY.md` yet. Build `MEMORY.md` and `memory_summary.md` from the "
        "inputs; both must exist when you finish."
    ),
    "incremental": (
        "INCREMENTAL: `MEMORY.md` exists from earlier runs. Update it and `memory_summary.md` in "
        "place for the added and removed inputs and for any user edits; leave the rest alone. "
        "If nothing relevant changed, finish without editing."
    ),
}


def _id_lines(ids: list[str]) -> str:
    return "\n".join(f"  - {i}" for i in ids) if ids else "  - none"


def consolidation_input_message(request: ConsolidationRequest, *, extensions: bool = False) -> str:
    """The phase-2 agent's first (and only) user message: the mode, the added and removed
    thread ids (the retained ones only as a count: they are in ``raw_memories.md``), whether
    there is a workspace diff to read first, and the extensions note when the memory root has
    an ``extensions/`` directory."""
    if request.diff_file:
        diff_note = (
            f"Start by reading `{request.diff_file}`: it shows every change in the folder since "
            "the last successful consolidation. Changes you did not make are the user's and are "
            "authoritative.\n\n"
        )
    else:
        diff_note = f"There is no `{DIFF_FILE}` for this run.\n\n"
    extensions_note = ""
    if extensions:
        extensions_note = (
            "The folder has `extensions/`. Read each `extensions/<name>/instructions.md` before "
            "the other files of that extension; files under `extensions/<name>/resources/` are "
            "further inputs, and memories derived only from resources the diff shows as deleted "
            "must go. Do not edit or delete anything under `extensions/`.\n\n"
        )
    return render(
        load_template(CONSOLIDATION_INPUT),
        {
            "mode": request.mode.upper(),
            "mode_note": _MODE_NOTES[request.mode],
            "added_count": str(len(request.added)),
            "added": _id_lines(request.added),
            "removed_count": str(len(request.removed)),
            "removed": _id_lines(request.removed),
            "retained_count": str(len(request.retained)),
            "diff_note": diff_note,
            "extensions_note": extensions_note,
        },
    )
