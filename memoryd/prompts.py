"""memoryd's own stage-1 prompt: the system prompt and the per-rollout input message.

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

from memoryd.backends.base import ExtractionRequest

STAGE1_SYSTEM = "stage1_system.md"
STAGE1_INPUT = "stage1_input.md"

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


def stage1_input_message(request: ExtractionRequest) -> str:
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
