"""The agent's ``search`` tool's line matching, and the child process a regex search runs in.

Python's ``re`` backtracks: a pattern such as ``(a+)+$`` on a line of a few thousand ``a``
characters runs for minutes, holding the GIL the whole time, so neither a thread nor the event
loop (nor a SIGTERM handler) gets to run meanwhile. A model-given regex is therefore matched in
a child process (``python -m memoryd.consolidate.search``) that the parent waits for with a deadline
and kills when it passes, or when the run is cancelled. A plain-text search cannot backtrack
and runs in process.

Lines are redacted before they are matched or shown: a user's own edit may hold a secret, and
matching the raw text would let a pattern probe it character by character. This module imports
nothing from memoryd but ``memoryd.redact`` (the standard library only), so the child starts
in the time of a bare Python.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from memoryd.redact import redact

MAX_SEARCH_FILE_BYTES: Final = 4 * 1024 * 1024
MAX_SEARCH_LINE_CHARS: Final = 4000  # a longer line is searched (and shown) only this far

_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their newlines, split at LF only (as grep and editors number
    them; str.splitlines also splits at form feeds and other separators)."""
    return _LINE.findall(text)


def numbered_lines(path: str) -> Iterator[tuple[int, str]]:
    """The numbered lines (newline dropped, cut at ``MAX_SEARCH_LINE_CHARS``) of one text
    file, or nothing for one that is not a regular file (a link, a FIFO), too big, or
    binary. Opened without following a link, and never read past the size bound."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    with open(fd, "rb", closefd=True) as f:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SEARCH_FILE_BYTES:
                return
            data = f.read(MAX_SEARCH_FILE_BYTES + 1)
        except OSError:
            return
    if len(data) > MAX_SEARCH_FILE_BYTES or b"\0" in data:
        return
    text = redact(data.decode("utf-8", errors="replace"))
    for n, line in enumerate(split_lines(text), 1):
        yield n, line.rstrip("\r\n")[:MAX_SEARCH_LINE_CHARS]


Hit = tuple[str, int, str]  # (root-relative path, line number, line)


def grep(
    files: Iterable[tuple[str, str]], matches: Callable[[str], bool], keep: int
) -> tuple[list[Hit], int]:
    """The first ``keep`` matching lines of ``files`` ((shown path, real path) pairs), and how
    many lines matched in all."""
    hits: list[Hit] = []
    total = 0
    for rel, path in files:
        for lineno, line in numbered_lines(path):
            if matches(line):
                total += 1
                if len(hits) < keep:
                    hits.append((rel, lineno, line))
    return hits, total


class SearchTimeout(Exception):
    """The regex search ran past its deadline (or was aborted) and its process was killed."""


class RegexSearch:
    """One regex search at a time in a child process; :meth:`abort` (from any thread) kills
    the one running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._aborted = False

    def run(
        self, pattern: str, files: list[tuple[str, str]], keep: int, seconds: float
    ) -> tuple[list[Hit], int]:
        request = json.dumps({"pattern": pattern, "files": files, "keep": keep}).encode()
        with self._lock:
            if self._aborted:
                raise SearchTimeout("aborted")
            child = subprocess.Popen(
                [sys.executable, "-I", "-m", "memoryd.consolidate.search"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                close_fds=True,
            )
            self._child = child
        try:
            out, _ = child.communicate(request, timeout=seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise SearchTimeout(f"it ran longer than {seconds:g}s") from None
        finally:
            with self._lock:
                self._child = None
        if child.returncode != 0:
            if self._aborted:
                raise SearchTimeout("aborted")
            raise SearchTimeout(f"the search process failed (exit status {child.returncode})")
        answer = json.loads(out)
        return [(r, int(n), line) for r, n, line in answer["hits"]], int(answer["total"])

    def abort(self) -> None:
        """Kill the running search (if any) and refuse later ones: the run is being
        cancelled."""
        with self._lock:
            self._aborted = True
            if self._child is not None and self._child.poll() is None:
                self._child.kill()


def _child_main() -> None:
    request: dict[str, Any] = json.loads(sys.stdin.buffer.read())
    rx = re.compile(request["pattern"], re.IGNORECASE)
    files = [(str(r), str(p)) for r, p in request["files"]]
    hits, total = grep(files, lambda line: rx.search(line) is not None, int(request["keep"]))
    sys.stdout.write(json.dumps({"hits": hits, "total": total}))


if __name__ == "__main__":
    _child_main()
