"""One-time, never-destructive migration of Codex's legacy user memory folder (SPEC §1).

Older Codex builds kept the user's memories in ``<codex_home>/memories/user/memory/`` (next to
hashed per-cwd buckets). When that folder exists and the memory root holds no memory files yet,
its contents are copied into the root, so the first consolidation starts from them. This happens
when memoryd takes a real ``<codex_home>/memories`` over (memoryd/memroot/codexlink.py), before that
folder is kept aside; afterwards the path is a link, and phase 2's call finds nothing to do.

"No memory files yet" means none of ``MEMORY.md``, ``memory_summary.md``, ``raw_memories.md``
and ``rollout_summaries/*.md`` exists in the root (anything at those names counts, even a
broken symlink: the root is then not empty, and nothing is copied).

The copy:

* never moves, deletes or rewrites anything: the legacy folder and the per-cwd buckets stay as
  they were, and a file already at the destination is never overwritten;
* never follows a symbolic link: links inside the legacy folder are skipped (neither a linked
  file nor a linked folder is read), and a legacy folder that is itself a link (or sits under
  one) is not migrated;
* creates files 0600 and folders 0700, whatever the legacy modes were, keeping the files'
  modification times; each file appears complete or not at all;
* is idempotent: once the root holds memory files a second call copies nothing;
* passes every file through the secret redactor (SPEC §6): a secret in a legacy file does not
  enter the root's memory files, its baseline or the run history (the legacy folder itself is
  the user's and is left as it is; the workspace never commits it).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import structlog

from memoryd.fsutil import DIR_MODE, FILE_MODE
from memoryd.layout import LEGACY_PARTS
from memoryd.memroot.extensions import create_new_file
from memoryd.redact import find_secrets, redact_bytes

log = structlog.get_logger("memoryd.legacy")

MEMORY_FILES = ("MEMORY.md", "memory_summary.md", "raw_memories.md")
SUMMARIES_DIR = "rollout_summaries"
MAX_FILE_BYTES = 64 * 1024 * 1024  # a legacy memory file is text; anything larger is skipped


def legacy_dir(codex_home: Path) -> Path:
    return codex_home.joinpath(*LEGACY_PARTS)


def root_has_memory_files(root: Path) -> bool:
    """Whether the memory root already holds any memory file (see the module docstring)."""
    if any(os.path.lexists(root / name) for name in MEMORY_FILES):
        return True
    summaries = root / SUMMARIES_DIR
    try:
        with os.scandir(summaries) as it:
            return any(e.name.endswith(".md") for e in it)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _legacy_is_plain(codex_home: Path) -> bool:
    """The legacy folder and the folders between it and the Codex home are real directories
    (no symlinks), so the copy cannot read from outside the home."""
    p = codex_home
    for part in LEGACY_PARTS:
        p = p / part
        if not _real_dir(p):
            return False
    return True


def _plan(src: Path, dst: Path, stop: Path) -> list[tuple[Path, Path]]:
    """Every (legacy file, destination) pair, depth first in name order. ``stop`` (the legacy
    folder itself) is never a destination: when the root contains the legacy folder, a legacy
    ``user/memory/`` subtree is not copied onto itself."""
    pairs: list[tuple[Path, Path]] = []
    try:
        entries = sorted(os.scandir(src), key=lambda e: e.name)
    except OSError as exc:
        log.warning("legacy_memory_unreadable", path=str(src), error=str(exc))
        return pairs
    for entry in entries:
        target = dst / entry.name
        if target == stop or stop in target.parents:
            continue
        try:
            if entry.is_symlink():
                log.info("legacy_memory_symlink_skipped", path=entry.path)
                continue
            if entry.is_dir(follow_symlinks=False):
                pairs.extend(_plan(Path(entry.path), target, stop))
            elif entry.is_file(follow_symlinks=False):
                pairs.append((Path(entry.path), target))
        except OSError:
            continue
    return pairs


def _ensure_dirs(root: Path, directory: Path) -> bool:
    """Create ``directory`` (inside ``root``) and missing parents 0700; False when a
    non-directory or a symlink is in the way."""
    missing: list[Path] = []
    p = directory
    while p != root and not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    if p != root and not _real_dir(p):
        return False
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not _real_dir(d):
                return False
        else:
            os.chmod(d, DIR_MODE)
    return _real_dir(directory)


def _read_regular(path: Path) -> tuple[bytes, os.stat_result] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_FILE_BYTES + 1), st
    finally:
        os.close(fd)


def migrate_legacy(codex_home: Path, root: Path) -> list[str]:
    """Copy ``<codex_home>/memories/user/memory/`` into the memory root if the root holds no
    memory files yet; return the root-relative paths copied (sorted), ``[]`` when there was
    nothing to do. Never raises for a file it cannot copy (it is logged and skipped)."""
    legacy = legacy_dir(codex_home)
    if not _legacy_is_plain(codex_home):
        if os.path.lexists(legacy):
            log.warning("legacy_memory_not_a_plain_directory", path=str(legacy))
        return []
    if os.path.lexists(root) and not _real_dir(root):
        log.warning("memory_root_not_a_directory", path=str(root))
        return []
    if _real_dir(root) and root_has_memory_files(root):
        return []
    if not _real_dir(root):
        root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(root, DIR_MODE)

    copied: list[str] = []
    for src, dst in _plan(legacy, root, legacy):
        if os.path.lexists(dst) or not _ensure_dirs(root, dst.parent):
            continue
        got = _read_regular(src)
        if got is None:
            continue
        data, st = got
        clean = redact_bytes(data)  # entering the root, then the baseline and the history
        if clean is not data:
            log.warning(
                "legacy_memory_redacted",
                path=str(src),
                secrets=find_secrets(data.decode("utf-8", "surrogateescape")),
            )
            data = clean
        try:
            if not create_new_file(dst, data, FILE_MODE):
                continue
        except OSError as exc:
            log.warning("legacy_memory_copy_failed", path=str(src), error=str(exc))
            continue
        with contextlib.suppress(OSError):
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        copied.append(dst.relative_to(root).as_posix())
    if copied:
        log.info("legacy_memory_migrated", source=str(legacy), files=len(copied))
    return sorted(copied)
