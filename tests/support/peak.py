"""A command's peak resident memory, for the tests and benchmarks that bound it.

``ru_maxrss`` of a child counts the memory of the process that forked it (the child starts
as a copy of its parent, and exec keeps the high-water mark), so a test that just built a
large input would measure itself. ``run_measured`` therefore starts the command from a small
Python stub that reports its child's peak from ``wait4``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_STUB = (
    "import json, os, subprocess, sys\n"
    "out, err = open(sys.argv[1], 'wb'), open(sys.argv[2], 'wb')\n"
    "p = subprocess.Popen(sys.argv[3:], stdout=out, stderr=err, stdin=subprocess.DEVNULL)\n"
    "_, status, ru = os.wait4(p.pid, 0)\n"
    "print(json.dumps([os.waitstatus_to_exitcode(status), ru.ru_maxrss]))\n"
)


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_mib: float


def run_measured(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> Measured:
    """Run ``argv`` in ``cwd`` and return its outputs and peak RSS (MiB)."""
    out, err = cwd / "measured.out", cwd / "measured.err"
    done = subprocess.run(
        [sys.executable, "-c", _STUB, str(out), str(err), *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    code, maxrss_kib = json.loads(done.stdout)
    return Measured(code, out.read_text(), err.read_text(), maxrss_kib / 1024)
