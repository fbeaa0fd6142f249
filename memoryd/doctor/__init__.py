"""``memoryd doctor`` (SPEC §7): checks the installation and explains each problem with a fix.

Every check gives one line: ``ok``, ``warn`` (works, but probably not as you want) or ``fail``
(broken, or a privacy problem), the finding, and for anything not ok what to do about it. The
exit code is 1 when any check fails, so scripts and CI can run it. Doctor never creates or
repairs anything: the DB is opened read-only, and a missing path is reported, not made.

The checks live in this package's modules, one per concern: ``paths`` (the config and
memoryd's directories), ``state`` (the state DB or PostgreSQL, the budget), ``daemon`` (the
running service), ``backends``, ``codex`` (what Codex sees); ``check`` is what each gives.
This module runs them in order and prints them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import msgspec

from memoryd.config import Settings
from memoryd.doctor.backends import check_backends
from memoryd.doctor.check import Check, fail
from memoryd.doctor.codex import (
    check_codex_config,
    check_codex_link,
    check_codex_notes,
    check_summary,
)
from memoryd.doctor.daemon import check_socket
from memoryd.doctor.paths import check_config, check_memory_root, check_state_dir
from memoryd.doctor.state import check_budget, check_state
from memoryd.errors import ConfigError


def checks(settings: Settings, config_error: ConfigError | None = None) -> list[Check]:
    """Every check, in the order they are printed."""
    steps: list[Callable[[], Check | list[Check]]] = [
        lambda: check_config(settings, config_error),
        lambda: check_state_dir(settings),
        lambda: check_state(settings),
        lambda: check_memory_root(settings),
        lambda: check_codex_link(settings),
        lambda: check_summary(settings),
        lambda: check_socket(settings),
        lambda: check_backends(settings.config),
        lambda: check_budget(settings),
        lambda: check_codex_config(settings),
        lambda: check_codex_notes(settings),
    ]
    out: list[Check] = []
    for step in steps:
        try:
            got = step()
        except Exception as e:  # doctor reports, it never dies with a traceback
            got = fail(
                "doctor",
                f"a check could not run: {type(e).__name__}: {e}",
                "look at the paths named above; please report this",
            )
        out.extend(got if isinstance(got, list) else [got])
    return out


def format_line(c: Check) -> str:
    line = f"{c.status:<4}  {c.check}: {c.message}"
    return f"{line}; fix: {c.fix}" if c.fix else line


def run(
    settings: Settings, *, as_json: bool = False, config_error: ConfigError | None = None
) -> int:
    """Run every check, print one line each (or JSON), return the exit code (0 = no failure)."""
    results = checks(settings, config_error)
    if as_json:
        print(json.dumps(msgspec.to_builtins(results), indent=2))
    else:
        for c in results:
            print(format_line(c))
        fails = sum(c.status == "fail" for c in results)
        warns = sum(c.status == "warn" for c in results)
        print(f"{fails} failed, {warns} warnings, {len(results) - fails - warns} ok")
    sys.stdout.flush()
    return 1 if any(c.status == "fail" for c in results) else 0
