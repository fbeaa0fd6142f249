"""Time in memoryd comes from ``memoryd/clock.py`` only, so tests can pin or fake it.

A module that reads the wall clock itself makes a test pass on one day and fail on the next
(the demo once dated its rollouts from ``time.time()``, and a test asserted the resulting date).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import memoryd

PACKAGE = Path(memoryd.__file__).parent
CLOCK = PACKAGE / "clock.py"

# Calls that read a clock, written the ways Python code spells them.
CLOCK_CALL = re.compile(
    r"\b(?:time\.(?:time|time_ns|monotonic|monotonic_ns|perf_counter|perf_counter_ns"
    r"|clock_gettime|clock_gettime_ns|localtime|gmtime|ctime)"
    r"|datetime\.(?:now|utcnow|today)|date\.today)\("
)
# The same functions imported bare (``from time import time``) would dodge the pattern above.
CLOCK_NAMES = {
    "time": {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"},
}


def offenders(source: str) -> list[str]:
    found = [
        f"line {source.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for m in CLOCK_CALL.finditer(source)
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in CLOCK_NAMES:
            bad = {a.name for a in node.names} & CLOCK_NAMES[node.module]
            found += [f"line {node.lineno}: from {node.module} import {b}" for b in sorted(bad)]
    return found


def test_no_module_but_clock_reads_the_time() -> None:
    modules = sorted(p for p in PACKAGE.rglob("*.py") if p != CLOCK)
    assert len(modules) > 40  # the walk really covers the package
    bad = {
        str(p.relative_to(PACKAGE)): hits
        for p in modules
        if (hits := offenders(p.read_text(encoding="utf-8")))
    }
    assert bad == {}, f"read the time through memoryd.clock instead: {bad}"


def test_the_check_catches_each_spelling() -> None:
    for line in (
        "x = time.time()",
        "t = time.monotonic() - t0",
        "d = datetime.now(UTC)",
        "d = date.today()",
        "d = datetime.utcnow()",
        "from time import time",
        "from time import monotonic as mono",
    ):
        assert offenders(line + "\n"), line
    assert offenders("clock.now_ms()\nx = mytime.timeout\n") == []
    assert offenders(CLOCK.read_text(encoding="utf-8"))  # clock.py itself is the one reader
