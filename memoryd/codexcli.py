"""Finding and running the installed Codex CLI (issue 6). CONTRACT STUB: the codex-backend
work completes it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def find_codex(binary: str) -> Path | None:
    """``backends.codex.binary`` as a path, or looked up on PATH; None when absent."""
    found = shutil.which(binary)
    return Path(found) if found else None


def codex_version(binary: str) -> str | None:
    """``codex --version``'s version string, or None when it cannot be run."""
    path = find_codex(binary)
    if path is None:
        return None
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.stdout.split()
    return words[-1] if out.returncode == 0 and words else None
