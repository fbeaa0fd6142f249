"""``memoryd doctor`` (SPEC §7, issue 5). CONTRACT STUB: the service/doctor work replaces it."""

from __future__ import annotations

from memoryd.config import Settings


def run(settings: Settings, *, as_json: bool = False) -> int:
    """Run every check, print one line each (or JSON), return the exit code (0 = no failure)."""
    raise NotImplementedError("contract stub")
