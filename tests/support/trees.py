"""A folder tree deeper than Python's recursion limit (and longer than PATH_MAX), made and
removed through directory fds: what a user or an old agent may plant in the memory root."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def plant_deep_tree(top: Path, depth: int) -> None:
    """``top/d/d/.../d/leaf.md``, ``depth`` folders deep (made through directory fds: the path
    is longer than PATH_MAX)."""
    fd = os.open(top, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        nxt = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    leaf = os.open("leaf.md", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
    os.write(leaf, b"needle\n")
    os.close(leaf)
    os.close(fd)


def remove_deep_tree(top: Path) -> None:
    """Undo :func:`plant_deep_tree` (pytest's own clean-up recurses, and would fail on it)."""
    fds = [os.open(top, os.O_RDONLY)]
    while True:
        try:
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        except FileNotFoundError:
            break
    with contextlib.suppress(FileNotFoundError):
        os.unlink("leaf.md", dir_fd=fds[-1])
    for parent in reversed(fds[:-1]):
        os.close(fds.pop())
        os.rmdir("d", dir_fd=parent)
    os.close(fds.pop())
