"""Finding and running the installed Codex CLI (issue 6). CONTRACT STUB: the codex-backend
work replaces the body."""

from __future__ import annotations

from pathlib import Path


def find_codex(binary: str) -> Path | None:
    """``backends.codex.binary`` as a path, or looked up on PATH; None when absent."""
    raise NotImplementedError("contract stub")


def codex_version(binary: str) -> str | None:
    """``codex --version``'s version string, or None when it cannot be run."""
    raise NotImplementedError("contract stub")
