"""One writer (SPEC §1): ``<codex_home>/memories`` is a symbolic link to memoryd's own root.

Codex's read path follows a linked ``memories`` and injects the ``memory_summary.md`` it finds
there, while Codex's write pipeline refuses a linked memory root and writes nothing (observed
with the real CLI 0.169.0 and 0.171.0, its own writer left on). So memoryd keeps its root in a
directory of its own and maintains the link; nothing memoryd writes goes through it.

:func:`ensure_link` runs at every start (``serve``, ``run --once``, ``demo``, the service
install) and finds one of:

* the link to our root: nothing to do;
* nothing: the link is created;
* a real directory (Codex's own memories, or memoryd's from before it had its own root): it is
  taken over, losing nothing: its files are imported once into our root, where the next
  consolidation sees them as user edits (``MEMORY.md``, ``memory_summary.md``, ``skills/``,
  ``extensions/`` and notes at their own paths; Codex's ``rollout_summaries/`` and
  ``raw_memories.md``, which phase 2 rewrites from memoryd's DB, under ``imported/codex/``); the
  directory is then swapped for the link and kept as ``memories.before-memoryd-<UTC time>``,
  never deleted;
* anything else (a link elsewhere, a file, a home we cannot write): :class:`LinkError`, one
  line saying what was found and what to do, and nothing is changed.

Crash safety of the take-over: the import writes only inside our root (atomic files, and the
same result when repeated); the link is made under a temporary name and swapped with the
directory in one ``renameat2(RENAME_EXCHANGE)``, so ``memories`` is at every instant either the
old directory or the finished link; only then is the old directory (now under the temporary
name) renamed aside. :func:`ensure_link` first finishes whatever a killed take-over left. On a
system without an atomic exchange the directory is renamed aside first and the link renamed
into place second; a kill between the two leaves no ``memories`` at all for a moment, which
the next start completes (the import is already done by then).

:func:`unlink_to_directory` is the way back (``memoryd unlink``): ``memories`` becomes a plain
directory holding a copy of memoryd's current memories, swapped in the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import structlog

from memoryd import clock
from memoryd.errors import LinkError
from memoryd.fsutil import (
    DIR_MODE,
    FILE_MODE,
    atomic_write,
    fsync_dir,
    locked_dir,
    make_private_dirs,
    read_regular_file,
)
from memoryd.layout import RAW_MEMORIES_FILE, ROLLOUT_SUMMARIES_DIR
from memoryd.memroot.legacy import migrate_legacy
from memoryd.workspace.baseline import ensure_baseline
from memoryd.workspace.gitobj import WorkspaceError

log = structlog.get_logger("memoryd.codexlink")

__all__ = ["LinkError", "LinkResult", "LinkState", "ensure_link", "inspect", "unlink_to_directory"]

LINK_NAME = "memories"
ASIDE_PREFIX = "memories.before-memoryd-"
IMPORTED_DIR = ("imported", "codex")
# Swap names beside the link, memoryd's own: a take-over's link before the swap (and the old
# directory after it), a going-back's directory before the swap (and the link after it).
TAKEOVER_TMP = ".memories.memoryd-takeover"
UNLINK_TMP = ".memories.memoryd-unlink"
# Not imported: the git baselines (Codex's and memoryd's, with memoryd's swap leftovers), the
# transient diff file, Codex's lock, and the legacy per-cwd buckets (``user/``, handled by
# memoryd.memroot.legacy and otherwise left in the directory kept aside).
_SKIP_TOP = frozenset(
    {
        ".git",
        ".codex-baseline",
        ".git.memoryd-tmp",
        ".git.memoryd-new",
        ".git.memoryd-old",
        "phase2_workspace_diff.md",
        "memories.lock",
        "user",
    }
)
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_RENAME_EXCHANGE = 2  # linux/fs.h

# Tests set this to stop the process at a named step (see tests/acceptance/test_codexlink.py).
_crash_hook: Callable[[str], None] | None = None

Action = Literal["linked", "created", "took_over"]


@dataclass
class LinkResult:
    action: Action  # "linked": it already was the link
    link: Path
    root: Path
    aside: Path | None = None  # where a taken-over directory now is
    imported: list[str] = field(default_factory=list)  # root-relative paths written


@dataclass(frozen=True)
class LinkState:
    """What is at ``<codex_home>/memories`` now (for doctor): ``kind`` is one of ``link``
    (to our root), ``missing``, ``dir``, ``foreign_link``, ``broken_link``, ``other``."""

    kind: str
    link: Path
    target: str = ""


def _step(name: str) -> None:
    if _crash_hook is not None:
        _crash_hook(name)


def link_path(codex_home: Path) -> Path:
    return codex_home / LINK_NAME


def _same(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def inspect(codex_home: Path, root: Path) -> LinkState:
    """What ``<codex_home>/memories`` is, compared with memoryd's root ``root``."""
    link = link_path(codex_home)
    try:
        st = os.lstat(link)
    except FileNotFoundError:
        return LinkState("missing", link)
    except NotADirectoryError:
        return LinkState("other", link, str(codex_home))
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(link)
        if _same(link, root) or os.path.normpath(os.path.join(codex_home, target)) == str(root):
            return LinkState("link", link, target)
        if not os.path.exists(link):
            return LinkState("broken_link", link, target)
        return LinkState("foreign_link", link, target)
    if stat.S_ISDIR(st.st_mode):
        return LinkState("dir", link)
    return LinkState("other", link)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the directory entries ``a`` and ``b``; False when the system or the
    file system cannot (the caller then falls back to two renames)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_cwd = -100
    if fn(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _aside_name(codex_home: Path) -> Path:
    stamp = datetime.fromtimestamp(clock.now_s(), UTC).strftime(_STAMP_FORMAT)
    candidate = codex_home / f"{ASIDE_PREFIX}{stamp}"
    n = 2
    while os.path.lexists(candidate):
        candidate = codex_home / f"{ASIDE_PREFIX}{stamp}-{n}"
        n += 1
    return candidate


def _remove(path: Path) -> None:
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _recover(codex_home: Path, root: Path) -> Path | None:
    """Finish or undo what a killed take-over or going-back left beside the link; return where
    a taken-over directory was moved aside, if that happened now."""
    aside: Path | None = None
    tmp = codex_home / TAKEOVER_TMP
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISDIR(os.lstat(tmp).st_mode):
            # Killed after the swap: the old directory waits under the temporary name.
            aside = _aside_name(codex_home)
            os.rename(tmp, aside)
            log.info("codex_link_takeover_finished", aside=str(aside))
        else:
            os.unlink(tmp)  # a link that never reached its place
        fsync_dir(codex_home)
    back = codex_home / UNLINK_TMP
    with contextlib.suppress(FileNotFoundError):
        _remove(back)  # either a half-copied directory or the link already swapped out
        fsync_dir(codex_home)
    return aside


def _check_paths(codex_home: Path, root: Path) -> None:
    link = link_path(codex_home)
    if root == link:
        raise LinkError(
            f"memory_root is {link} itself, the folder Codex also writes: leave memory_root "
            "empty in the memoryd config (memoryd then keeps its own folder and links this one "
            "to it) or point it at another directory"
        )
    if root.is_relative_to(link) or (
        Path(os.path.realpath(root)).is_relative_to(os.path.realpath(link))
        and not os.path.islink(link)
    ):
        raise LinkError(
            f"memory_root {root} is inside {link}, which memoryd turns into a link to it: "
            "point memory_root at a directory outside it"
        )


def _refuse(state: LinkState, codex_home: Path, root: Path) -> LinkError:
    link = state.link
    if state.kind == "foreign_link":
        return LinkError(
            f"{link} is a symbolic link to {state.target}, not to memoryd's memory root {root}: "
            f"remove it (rm {link}) to let memoryd link it, or set memory_root = "
            f'"{state.target}" in the memoryd config, then start memoryd again'
        )
    if state.kind == "broken_link":
        return LinkError(
            f"{link} is a symbolic link to {state.target}, which does not exist: remove it "
            f"(rm {link}) and start memoryd again"
        )
    return LinkError(
        f"{link} is not a directory or a link (a file or a special file): move it away "
        f"(mv {link} {link}.bak) and start memoryd again"
    )


def _writable(codex_home: Path) -> None:
    if os.access(codex_home, os.W_OK | os.X_OK):
        return
    if os.statvfs(codex_home).f_flag & os.ST_RDONLY:
        why, fix = "is on a read-only file system", "remount it read-write"
    else:
        why, fix = "is not writable by you", f"fix its owner or mode (chmod u+rwx {codex_home})"
    raise LinkError(
        f"cannot link {link_path(codex_home)} to memoryd's memory root: {codex_home} {why}: "
        f"{fix} and start memoryd again"
    )


def _make_link(tmp: Path, root: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(root, tmp)


def _is_memoryd_root(directory: Path) -> bool:
    """Whether ``directory`` is a memory root memoryd wrote (its baseline says so): its
    rollout summaries and raw memories are then memoryd's own, rebuilt from its DB."""
    data = read_regular_file(directory / ".git" / "config")
    return data is not None and b"[memoryd]" in data


def _import(old: Path, root: Path, codex_home: Path) -> list[str]:
    """Copy the regular files of ``old`` into ``root`` (see the module docstring); return the
    root-relative paths written. A file at the same path in ``root`` is replaced, exactly as a
    user's edit would replace it: what it held stays in the root's git baseline, so the next
    consolidation sees the change, and in the run history. Repeating the import after a kill
    gives the same result."""
    derived_by_us = _is_memoryd_root(old)
    written = migrate_legacy(codex_home, root)
    for dirpath, dirnames, filenames in os.walk(old):
        rel_dir = os.path.relpath(dirpath, old)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in _SKIP_TOP]
            filenames = [f for f in filenames if f not in _SKIP_TOP]
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".tmp") and name.startswith("."):
                continue  # a write that never finished
            rel = os.path.normpath(os.path.join(rel_dir, name))
            data = read_regular_file(Path(dirpath, name))  # links and special files: skipped
            if data is None:
                continue
            if rel.split(os.sep, 1)[0] in (ROLLOUT_SUMMARIES_DIR, RAW_MEMORIES_FILE):
                # Phase 2 rewrites these from memoryd's DB: Codex's own go where it leaves them.
                if derived_by_us or read_regular_file(root / rel) == data:
                    continue
                rel = os.path.join(*IMPORTED_DIR, rel)
            dest = root / rel
            if read_regular_file(dest) != data:
                make_private_dirs(dest.parent)
                atomic_write(dest, data, FILE_MODE)
            written.append(rel)
    return sorted(set(written))


def _prepare_root(root: Path) -> None:
    try:
        make_private_dirs(root)
    except (NotADirectoryError, OSError) as e:
        raise LinkError(
            f"memoryd's memory root {root} cannot be created or is not a directory ({e}): "
            "fix that path or set memory_root in the memoryd config"
        ) from None


def ensure_link(codex_home: Path, root: Path) -> LinkResult:
    """Make ``<codex_home>/memories`` the symbolic link to ``root`` (creating ``root`` and the
    Codex home when missing), taking over a real directory found there. Raises LinkError,
    changing nothing, when something else is there. Safe to call at every start."""
    codex_home, root = Path(codex_home).absolute(), Path(root).absolute()
    link = link_path(codex_home)
    _check_paths(codex_home, root)
    if not codex_home.is_dir():
        try:
            make_private_dirs(codex_home)
        except OSError as e:
            raise LinkError(
                f"the Codex home {codex_home} is not a directory memoryd can use ({e}): set "
                "CODEX_HOME or codex_home in the memoryd config to Codex's home"
            ) from None
    if _linked(codex_home, root):  # every start but the first: no lock, nothing written
        _prepare_root(root)
        return LinkResult("linked", link, root)
    # Processes starting together (a daemon and ``run --once``) change the link one at a time.
    with locked_dir(codex_home):
        return _ensure_locked(codex_home, root)


def _linked(codex_home: Path, root: Path) -> bool:
    return inspect(codex_home, root).kind == "link" and not any(
        os.path.lexists(codex_home / n) for n in (TAKEOVER_TMP, UNLINK_TMP)
    )


def _ensure_locked(codex_home: Path, root: Path) -> LinkResult:
    link = link_path(codex_home)
    if _linked(codex_home, root):  # another process just made it
        _prepare_root(root)
        return LinkResult("linked", link, root)
    state = inspect(codex_home, root)
    if state.kind in ("foreign_link", "broken_link", "other"):
        raise _refuse(state, codex_home, root)
    _writable(codex_home)
    if state.kind == "dir" and not os.access(link, os.R_OK | os.X_OK):
        raise LinkError(
            f"{link} is a directory memoryd cannot read, so it cannot import it before "
            f"linking: fix its mode (chmod -R u+rwX {link}) and start memoryd again"
        )
    _prepare_root(root)
    aside = _recover(codex_home, root)
    state = inspect(codex_home, root)
    if state.kind == "link":
        return LinkResult("took_over" if aside else "linked", link, root, aside=aside)
    tmp = codex_home / TAKEOVER_TMP
    if state.kind == "missing":
        _make_link(tmp, root)
        os.rename(tmp, link)
        fsync_dir(codex_home)
        log.info("codex_link_created", link=str(link), root=str(root))
        return LinkResult("created", link, root, aside=aside)
    # A real directory: import, swap, keep it aside. A fresh root gets its (empty) baseline
    # first, so that what is imported is a change the next consolidation sees.
    try:
        ensure_baseline(root)
    except WorkspaceError as e:
        raise LinkError(f"cannot prepare memoryd's memory root {root}: {e}") from None
    try:
        imported = _import(link, root, codex_home)
        fsync_dir(root)
    except OSError as e:
        raise LinkError(
            f"cannot import {link} into memoryd's memory root {root}: {e}; {link} was left as "
            "it is: fix that and start memoryd again"
        ) from None
    _step("imported")
    _make_link(tmp, root)
    fsync_dir(codex_home)
    _step("link_ready")
    aside = _aside_name(codex_home)
    if _exchange(tmp, link):
        fsync_dir(codex_home)
        _step("swapped")
        os.rename(tmp, aside)
    else:
        os.rename(link, aside)
        fsync_dir(codex_home)
        _step("moved_aside")
        os.rename(tmp, link)
    fsync_dir(codex_home)
    _step("done")
    log.info(
        "codex_link_took_over",
        link=str(link),
        root=str(root),
        aside=str(aside),
        imported=len(imported),
    )
    return LinkResult("took_over", link, root, aside=aside, imported=imported)


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy the regular files and directories of ``src`` (not ``.git``: Codex keeps its own
    baseline) into a new ``dst``, private to the user."""
    os.mkdir(dst, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(src):
        rel_dir = os.path.relpath(dirpath, src)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".git" and not d.startswith(".git.")]
        for d in dirnames:
            if not os.path.islink(os.path.join(dirpath, d)):
                os.makedirs(dst / rel_dir / d, DIR_MODE, exist_ok=True)
        for name in filenames:
            data = read_regular_file(Path(dirpath, name))
            if data is not None:
                atomic_write(dst / rel_dir / name, data, FILE_MODE)


def unlink_to_directory(codex_home: Path, root: Path) -> Path:
    """Turn the link ``<codex_home>/memories`` back into a plain directory holding a copy of
    memoryd's current memories (its root is left as it is); return the directory. Raises
    LinkError when the path is not memoryd's link."""
    codex_home, root = Path(codex_home).absolute(), Path(root).absolute()
    if not codex_home.is_dir():
        raise LinkError(
            f"{link_path(codex_home)} is not memoryd's link: {codex_home} does not exist"
        )
    with locked_dir(codex_home):
        return _unlink_locked(codex_home, root)


def _unlink_locked(codex_home: Path, root: Path) -> Path:
    link = link_path(codex_home)
    _recover(codex_home, root)
    state = inspect(codex_home, root)
    if state.kind == "dir":
        raise LinkError(f"{link} is already a plain directory: nothing to do")
    if state.kind != "link":
        raise LinkError(
            f"{link} is not memoryd's link to {root} (found: {state.kind.replace('_', ' ')}"
            f"{' to ' + state.target if state.target else ''}): nothing was changed"
        )
    _writable(codex_home)
    staging = codex_home / UNLINK_TMP
    _copy_tree(root, staging)
    fsync_dir(codex_home)
    _step("copied")
    if _exchange(staging, link):
        fsync_dir(codex_home)
        _step("swapped")
        os.unlink(staging)
    else:
        os.unlink(link)
        os.rename(staging, link)
    fsync_dir(codex_home)
    log.info("codex_link_removed", link=str(link), root=str(root))
    return link
