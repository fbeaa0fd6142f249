"""Real file-system faults for tests: a read-only bind mount and a small tmpfs.

The tests run as root in CI and in the dev container. Root ignores permission bits, so
``chmod -w`` on the memory root proves nothing there; a read-only bind mount makes the kernel
answer EROFS to every process, root included, on exactly the code paths a read-only
filesystem hits. A tmpfs of a few hundred KiB gives a real ENOSPC on write. Both need
CAP_SYS_ADMIN: where :func:`cannot_mount` gives a reason, the tests that need a mount skip
with it (the injected-errno variants in test_artifacts.py still run everywhere)."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True, timeout=30)


@functools.cache
def cannot_mount() -> str | None:
    """Why mounts are unavailable here, or None when a test may use them."""
    if os.geteuid() != 0:
        return "needs root (CAP_SYS_ADMIN) to mount a read-only bind mount or a tmpfs"
    probe = Path(tempfile.mkdtemp(prefix="memoryd-mount-probe-"))
    try:
        _run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
        _run("umount", str(probe))
    except (OSError, subprocess.SubprocessError) as e:
        return f"mount is not permitted here: {e}"
    finally:
        probe.rmdir()
    return None


def make_read_only(path: Path) -> None:
    """Bind-mount ``path`` onto itself read-only (undo with :func:`unmount`)."""
    _run("mount", "--bind", str(path), str(path))
    try:
        _run("mount", "-o", "remount,bind,ro", str(path))
    except BaseException:
        unmount(path)
        raise


def unmount(path: Path) -> None:
    """Unmount ``path``. pygit2 objects not yet collected may keep files under it open
    ("target is busy"): collect them first, and detach lazily if something still holds on."""
    gc.collect()
    try:
        _run("umount", str(path))
    except subprocess.CalledProcessError:
        _run("umount", "--lazy", str(path))


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    make_read_only(path)
    try:
        yield path
    finally:
        unmount(path)


@contextlib.contextmanager
def tmpfs(path: Path, size_kib: int) -> Iterator[Path]:
    """A fresh tmpfs of ``size_kib`` KiB mounted at ``path`` (created if missing)."""
    path.mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(path))
    try:
        yield path
    finally:
        unmount(path)


def fill(path: Path) -> int:
    """Write ``path`` until the filesystem is full; returns the bytes written."""
    written = 0
    block = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            try:
                written += os.write(fd, block)
            except OSError as e:
                if e.errno != 28:  # ENOSPC
                    raise
                return written
    finally:
        os.close(fd)
