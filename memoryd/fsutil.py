"""File-system helpers every layer uses: private directories, atomic writes with fsync of the
file and its directory, a directory lock, a walk that never follows links, no-follow reads.

They live here, below everything, so that a module needing a mkdir or an atomic write does not
import the state DB or the memory-root artifacts for it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from memoryd.errors import ArtifactError, StateDBError

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700; tighten it if it already exists. A
    symbolic link there is refused (StateDBError): memoryd's state (DB, logs, history, lock,
    socket) is never kept, nor chmodded, through a link someone planted."""
    if os.path.islink(path):
        raise StateDBError(
            f"{path} is a symbolic link (to {os.readlink(path)}); memoryd keeps its state only "
            "in a real directory: remove the link or point MEMORYD_STATE_DIR/state_dir at the "
            "real directory"
        )
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise StateDBError(f"{path} is not a directory")
    if st.st_mode & 0o077 and st.st_uid == os.getuid():
        path.chmod(0o700)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (its entry, not the file's data)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked_dir(directory: Path) -> Iterator[None]:
    """An exclusive flock on ``directory`` itself, across threads and processes: no lock file
    appears inside it, and the kernel drops the lock if the process dies."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def atomic_write(
    path: Path, data: str | bytes, mode: int = FILE_MODE, *, root: Path | None = None
) -> None:
    """Replace ``path`` with ``data`` so that a reader (or a crash) sees either the old file
    or the complete new one: write a temporary file in the same directory with ``mode``,
    fsync it, rename it over ``path``, fsync the directory. On any error before the rename
    the temporary file is removed and the old file is untouched. With ``root``, refused
    (ArtifactError) when a directory between ``root`` and ``path`` is a symbolic link; a link
    at ``path`` itself is replaced, never followed."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    directory = path.parent
    if root is not None:
        refuse_links(root, directory)
    tmp = write_temp_file(path, payload, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(directory)


def write_all(fd: int, payload: bytes, mode: int) -> None:
    """Set ``mode`` on ``fd``, write all of ``payload`` (short writes included), fsync."""
    os.fchmod(fd, mode)
    view = memoryview(payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.fsync(fd)


def write_temp_file(path: Path, payload: bytes, mode: int) -> Path:
    """A complete, fsynced temporary file beside ``path``, ready to be renamed or linked into
    place; removed again if writing it fails (a killed process leaves it behind: see
    ``memroot.artifacts.remove_stale_temp_files``)."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            write_all(fd, payload, mode)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def walk_tree(top: Path | str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(top)`` top-down, never following links, without recursion: Python 3.11's
    ``os.walk`` recurses once per level, so a tree deeper than the recursion limit (a few
    thousand nested folders someone planted in the memory root) raised RecursionError in every
    later run. Pruning ``dirnames`` in place works as with ``os.walk``; an unreadable or
    vanished directory is skipped."""
    stack = [os.fspath(top)]
    while stack:
        directory = stack.pop()
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(directory) as it:
                for entry in it:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError:
            continue
        yield directory, dirs, files
        stack.extend(os.path.join(directory, d) for d in reversed(dirs))


def refuse_links(root: Path, path: Path) -> None:
    """ArtifactError when a component of ``path`` below ``root`` (``root`` itself is checked
    where it is prepared) is a symbolic link: nothing memoryd writes under the memory root goes
    through a link a user or a program planted there, wherever it points."""
    here = root
    for part in path.relative_to(root).parts:
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return
        if stat.S_ISLNK(mode):
            raise ArtifactError(
                f"refused to write through the symbolic link {here} inside the memory root; "
                "memoryd never follows links there: replace it with a real directory"
            )


def make_private_dirs(path: Path, *, root: Path | None = None) -> None:
    """Create ``path`` (and missing parents) private to the user (0700); an existing directory
    keeps its mode. A symlink or a non-directory in the way raises NotADirectoryError: memory
    files are never written through a link out of the memory root. With ``root``, a link at
    any component between ``root`` and ``path`` is refused too (before anything is made)."""
    if root is not None:
        try:
            refuse_links(root, path)
        except ArtifactError as e:
            raise NotADirectoryError(str(e)) from None
    missing: list[Path] = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        else:
            os.chmod(d, DIR_MODE)
    if path.is_symlink() or not path.is_dir():
        raise NotADirectoryError(f"{path} is not a directory")


def read_regular_file(path: Path, limit: int = -1) -> bytes | None:
    """The bytes of ``path`` (at most ``limit`` of them) if it is a regular file (not a
    symlink, FIFO, ...), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit)
    finally:
        os.close(fd)
