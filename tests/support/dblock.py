"""Another process holding the state DB's write lock, for as long as a test wants.

``DBLocker(path)`` starts a Python subprocess that opens the DB, runs ``BEGIN EXCLUSIVE`` and
says so on stdout; ``release()`` tells it (on stdin) to roll back and exit. In WAL mode an
exclusive transaction blocks every writer of every other connection, which is what a second
memoryd, a backup tool or a user's ``sqlite3`` shell left open can do to the daemon."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

_HOLDER = r"""
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
con.execute("UPDATE jobs SET kind = kind WHERE 0")  # a write: the lock is really held
print("locked", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
con.close()
print("released", flush=True)
"""


class DBLocker:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.proc: subprocess.Popen[str] | None = None

    def hold(self) -> None:
        """Start the holder and return once it has the lock."""
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(self.db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "locked":
            self.proc.kill()
            self.proc.communicate()
            self.proc = None
            raise RuntimeError(f"the lock holder did not get the lock: {line!r}")

    def release(self) -> None:
        """Let the holder roll back and wait for it to exit."""
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "released"
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()

    def close(self) -> None:
        """``release``, for ``contextlib.closing`` (a holder started by hand, or never)."""
        self.release()

    def __enter__(self) -> Self:
        self.hold()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
