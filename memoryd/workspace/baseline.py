"""The memory root as a git-backed workspace: a one-commit baseline, and a diff against it.

Phase 2 (SPEC §4, reference §6.6) keeps ``<memory root>/.git`` as a private repository whose
single commit is the state of the root after the last successful consolidation. Before the agent
runs, the working tree is compared with that commit and the changes (new phase-1 inputs, user
edits, pruned extension resources) are written to ``phase2_workspace_diff.md``; after a
successful run the history is replaced by one fresh commit of the new tree.

Everything goes through pygit2 (libgit2). The git command line is never invoked, so git hooks
never run (libgit2 has no hook support at all: neither ``.git/hooks`` nor ``core.hooksPath``
is ever executed) and no user or system git configuration changes what is hashed: blobs are
the raw bytes of each file, with no clean/smudge filters, no end-of-line conversion, and no
``.gitignore``; only ``.git`` itself (and the transient diff file) is left out.

The functions here are synchronous and may take a while on a large root: phase 2 calls them
in a worker thread (``anyio.to_thread.run_sync``). To keep them fast on thousands of files,
a baseline's blobs are written as one pack rather than a loose file each (workspace/gitobj.py,
which also reads every object checked), and a stat cache kept inside ``.git`` lets a diff skip
the files whose stat data has not changed (workspace/statcache.py).

Crash safety of a baseline reset: the new repository is built beside the old one in
``.git.memoryd-tmp``, renamed to ``.git.memoryd-new`` once complete, and then swapped in
(``.git`` → ``.git.memoryd-old``, ``.git.memoryd-new`` → ``.git``, remove the old one). The
second rename is the commit point. :func:`ensure_baseline` (and the next reset) finishes or
rolls back whatever a crash left: a half-built repository is removed, a complete new one that
never reached ``.git`` is discarded (the old baseline stays, as after any failed run), and a
left-over old one is removed. Those three names are memoryd's own and are not part of the
workspace (never in a baseline, a diff or a snapshot).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath

import pygit2
import structlog
from pygit2.enums import FileMode, RepositoryOpenFlag

from memoryd import clock
from memoryd.config import Phase2Config
from memoryd.fsutil import atomic_write, fsync_dir, locked_dir, walk_tree
from memoryd.layout import DIFF_FILE, LEGACY_PARTS
from memoryd.workspace import statcache
from memoryd.workspace.diff import DIFF_LIMIT_BYTES, FileChange, WorkspaceDiff
from memoryd.workspace.gitobj import (
    MODE_EXEC,
    MODE_FILE,
    MODE_LINK,
    PackWriter,
    WorkspaceError,
    head_commit,
    read_blob,
    tree_entries,
    verify_tree,
)
from memoryd.workspace.statcache import Known, StatKey

log = structlog.get_logger("memoryd.workspace")

GIT_DIR = ".git"
BRANCH = "main"
BASELINE_MESSAGE = "Initialize memoryd git baseline\n"
BASELINE_NAME = "memoryd"
BASELINE_EMAIL = "memoryd@localhost"
# A fixed commit time makes the baseline commit a pure function of the tree: the same tree
# always gives the same commit id (the history is never kept, so the date tells nothing).
BASELINE_TIME = 0
BASELINE_VERSION = 1  # repo config memoryd.baseline-version, like Codex's codex-baseline-version
# A file larger than this is not part of the workspace: never read, never in a baseline, a diff,
# a snapshot or the run history (phase 2 passes ``[phase2] max_file_bytes``).
MAX_FILE_BYTES = Phase2Config().max_file_bytes

# memoryd's own staging names for a baseline being built or swapped (see the module docstring).
STAGING_TMP = ".git.memoryd-tmp"
STAGING_NEW = ".git.memoryd-new"
STAGING_OLD = ".git.memoryd-old"
# Codex's legacy user-memory folder, ``<codex_home>/memories/user/`` (memoryd/memroot/legacy.py):
# its files are imported into the root redacted; the originals are the user's, left where they are,
# and never committed to the baseline (nor shown in a diff) with what secrets they hold.
LEGACY_TOP = LEGACY_PARTS[1]
_RESERVED_TOP = frozenset({GIT_DIR, DIFF_FILE, STAGING_TMP, STAGING_NEW, STAGING_OLD, LEGACY_TOP})


_DIR_MODE = 0o700

# Test seam: called with the name of each step of a baseline rebuild, so a test can raise
# there and check that ensure_baseline recovers from the state a crash would leave.
_crash_hook: Callable[[str], None] | None = None


# --------------------------------------------------------------------------------------------
# Public API


def ensure_baseline(root: Path, *, max_file_bytes: int = MAX_FILE_BYTES) -> str:
    """Make ``root/.git`` a usable repository with a baseline commit and return its id.

    Creates ``root`` (0700) when missing. A ``.git`` that is missing, unborn, unreadable or
    not a directory is replaced by a fresh repository whose one commit is the current tree
    (so whatever the root holds now is the baseline, not a change). An intact repository is
    kept as it is."""
    root = _prepare_root(root, create=True)
    with _root_lock(root):
        _recover(root)
        commit = _usable_head(root)
        if commit is not None:
            return commit
        log.info("workspace_baseline_created", root=str(root))
        return _rebuild(root, keep=None, max_file_bytes=max_file_bytes)


def reset_baseline(
    root: Path,
    *,
    keep: Mapping[str, bytes | None] | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> str:
    """Replace the history with one fresh commit of the current tree and return its id.

    ``keep`` maps root-relative paths to the content the new baseline records for them
    instead of the current file (``None``: the path is absent from the baseline). Phase 2
    passes the pre-run content of files someone else changed while the agent ran, so that
    their edit shows up in the next diff. The working tree is not touched."""
    root = _prepare_root(root, create=False)
    checked = {check_rel_path(p): v for p, v in (keep or {}).items()}
    with _root_lock(root):
        _recover(root)
        return _rebuild(root, keep=checked, max_file_bytes=max_file_bytes)


def diff_against_baseline(root: Path, *, max_file_bytes: int = MAX_FILE_BYTES) -> WorkspaceDiff:
    """Compare the working tree with the baseline commit. Nothing is written anywhere: files
    are hashed in memory (only those whose stat data changed since the baseline was taken).
    A file larger than ``max_file_bytes`` is in neither side (``too_big`` names it)."""
    root = _prepare_root(root, create=False)
    repo = _open(root)
    if repo is None:
        raise WorkspaceError(f"{root}: no usable git baseline (call ensure_baseline first)")
    cache = statcache.load(root / GIT_DIR)
    try:
        head = head_commit(repo)
        if cache is not None and cache.tree == str(head.tree_id):
            base = cache.entries()
        else:
            base = tree_entries(repo, head.tree_id)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise WorkspaceError(f"{root}: cannot read the git baseline: {exc}") from exc
    # The stat cache's entries that agree with the baseline: a file they vouch for is
    # unchanged, and the walk does not even report it.
    known = {
        p: k for p, k in (cache.known() if cache else {}).items() if base.get(p) == (k[1], k[2])
    }
    changes: list[FileChange] = []
    seen: set[str] = set()
    too_big: list[str] = []
    for path, mode, oid, data, _key in _walk(root, known, seen, max_file_bytes, too_big):
        seen.add(path)
        old = base.get(path)
        if old == (oid, mode):
            continue
        new_oid: str | None = oid  # keys the render's cache of redacted texts: must be data's
        if data is None:  # the stat cache knew it, yet it differs (the cache is stale)
            data = _current_bytes(root, path)
            new_oid = None
        if old is None:
            changes.append(FileChange(path, "A", None, mode, None, data, None, new_oid))
        else:
            old_data = read_blob(repo, old[0]) if old[0] != oid else data
            changes.append(FileChange(path, "M", old[1], mode, old_data, data, old[0], new_oid))
    for path in base.keys() - seen - set(too_big):
        oid, mode = base[path]
        changes.append(FileChange(path, "D", mode, None, read_blob(repo, oid), None, oid))
    changes.sort(key=lambda c: c.path)
    return WorkspaceDiff(str(head.id), tuple(changes), tuple(sorted(too_big)))


def baseline_files(root: Path) -> dict[str, bytes]:
    """``path -> content`` of every file the baseline commit holds: the tree phase 2 publishes
    for the other hosts (memoryd/store/published.py)."""
    root = _prepare_root(root, create=False)
    repo = _open(root)
    if repo is None:
        raise WorkspaceError(f"{root}: no usable git baseline (call ensure_baseline first)")
    try:
        entries = tree_entries(repo, head_commit(repo).tree_id)
        return {path: read_blob(repo, oid) for path, (oid, _mode) in entries.items()}
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise WorkspaceError(f"{root}: cannot read the git baseline: {exc}") from exc


def write_diff_file(root: Path, diff: WorkspaceDiff, limit_bytes: int = DIFF_LIMIT_BYTES) -> Path:
    """Write ``diff`` to ``root/phase2_workspace_diff.md`` (atomic, 0600) and return the path."""
    root = _prepare_root(root, create=False)
    path = root / DIFF_FILE
    atomic_write(path, diff.render(limit_bytes))
    return path


def remove_diff_file(root: Path) -> None:
    """Delete the diff file if it exists (whatever it is: a stale file, a link)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(Path(root) / DIFF_FILE)


def snapshot(root: Path, *, max_file_bytes: int = MAX_FILE_BYTES) -> dict[str, str]:
    """``path -> git blob id`` of every file of the workspace (not ``.git``, not the diff
    file), hashed in memory. Phase 2 takes one before and one after the agent runs to find
    the files that someone other than the agent changed meanwhile."""
    root = _prepare_root(root, create=False)
    cache = statcache.load(root / GIT_DIR)
    known = cache.known() if cache is not None else {}
    return {path: oid for path, _mode, oid, _data, _key in _walk(root, known, None, max_file_bytes)}


def oversized_files(root: Path, max_file_bytes: int = MAX_FILE_BYTES) -> list[str]:
    """Root-relative paths of the regular files larger than ``max_file_bytes`` (left out of
    the workspace), by their size alone: nothing is read."""
    found: list[str] = []
    for dirpath, dirnames, filenames in walk_tree(root):
        if dirpath == os.fspath(root):
            dirnames[:] = [d for d in dirnames if d not in _RESERVED_TOP]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size > max_file_bytes:
                found.append(os.path.relpath(path, root))
    return sorted(found)


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (sha1 of ``blob <size>\\0<data>``), without any repo."""
    h = hashlib.sha1(b"blob %d\x00" % len(data), usedforsecurity=False)
    h.update(data)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Root and repository checks


def _prepare_root(root: Path, *, create: bool) -> Path:
    root = Path(root)
    if root.is_symlink():
        raise WorkspaceError(f"memory root cannot be a symbolic link: {root}")
    if not root.exists():
        if not create:
            raise WorkspaceError(f"memory root does not exist: {root}")
        root.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            root.mkdir(mode=_DIR_MODE)
        os.chmod(root, _DIR_MODE)
        if root.is_symlink():  # lost a race with whoever made it a link
            raise WorkspaceError(f"memory root cannot be a symbolic link: {root}")
    if not root.is_dir():
        raise WorkspaceError(f"memory root is not a directory: {root}")
    st = os.lstat(root)
    if st.st_mode & 0o077 and st.st_uid == os.getuid():
        # A root someone opened up (0777) is memoryd's to keep private: its files hold what
        # the user did, and a writable root lets anyone plant files and links in it.
        os.chmod(root, _DIR_MODE)
        log.warning("memory_root_mode_tightened", root=str(root), was=oct(st.st_mode & 0o777))
    return root.absolute()


@contextlib.contextmanager
def _root_lock(root: Path) -> Iterator[None]:
    """Serialise baseline writers of one root, across threads and processes (phase 2's DB
    lock already admits one consolidator per state DB; this also covers a second state DB,
    or a CLI command, aimed at the same root). An flock on the root directory itself, so
    no lock file appears in the workspace."""
    with locked_dir(root):
        yield


def _open(root: Path) -> pygit2.Repository | None:
    """The repository at ``root/.git`` if it is a real directory that libgit2 opens as a
    non-bare repository of ``root``, else None."""
    git = root / GIT_DIR
    try:
        if not stat.S_ISDIR(os.lstat(git).st_mode):
            return None  # a file (gitlink), a symlink, ...: not ours
        repo = pygit2.Repository(str(git), RepositoryOpenFlag.NO_SEARCH)
    except (OSError, pygit2.GitError, KeyError, ValueError):
        return None
    workdir = repo.workdir
    if repo.is_bare or not workdir or not os.path.samefile(workdir, root):
        return None
    return repo


def _usable_head(root: Path) -> str | None:
    """The id of the HEAD commit if ``.git`` is usable and every object the baseline needs
    can be read back intact, else None (the caller rebuilds)."""
    repo = _open(root)
    if repo is None:
        return None
    try:
        if repo.head_is_unborn:
            return None
        commit = head_commit(repo)
        verify_tree(repo, commit.tree_id)
        return str(commit.id)
    except Exception as exc:  # any read failure means "corrupt": the remedy is a rebuild
        log.warning("workspace_baseline_unusable", root=str(root), error=repr(exc))
        return None


# --------------------------------------------------------------------------------------------
# The working tree


def check_rel_path(path: str) -> str:
    """``path`` if it names a file inside the workspace (relative, normalised, not under
    ``.git`` or memoryd's own names), else ValueError."""
    p = PurePosixPath(path)
    if (
        not path
        or str(p) != path
        or p.is_absolute()
        or any(part in ("", ".", "..") for part in p.parts)
        or p.parts[0] in _RESERVED_TOP
    ):
        raise ValueError(f"not a workspace path: {path!r}")
    return path


_name_ok_cache: dict[str, bool] = {}
_name_probe = pygit2.Index()
_name_lock = threading.Lock()  # phase 2 calls in from worker threads
_PROBE_ID = pygit2.Oid(hex="0" * 39 + "1")


def _representable(name: str) -> bool:
    """Whether git can record a path component called ``name``. It must be valid UTF-8, and
    libgit2 refuses ``.git`` in any spelling (``.GIT``, ``.git.``, ``git~1``, ...) at any
    depth, like the git command line does; such entries (a nested repository, say) are left
    out of the workspace altogether rather than failing every baseline."""
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes in the name (surrogate escapes)
            return False
    lowered = name.lower()
    if "g" not in lowered or "i" not in lowered or "t" not in lowered:
        return True  # every name libgit2 rejects spells "git" somehow
    with _name_lock:
        ok = _name_ok_cache.get(name)
        if ok is None:
            try:
                _name_probe.add(pygit2.IndexEntry(name, _PROBE_ID, FileMode.BLOB))
                ok = True
            except (pygit2.GitError, ValueError):
                ok = False
            _name_probe.clear()
            if len(_name_ok_cache) < 100_000:
                _name_ok_cache[name] = ok
        return ok


def _file_mode(st_mode: int) -> int:
    return MODE_EXEC if st_mode & 0o111 else MODE_FILE


class _TooBig(Exception):
    """The file is larger than the workspace's size limit (it is not read)."""


def _read_regular(
    path: str, max_bytes: int = MAX_FILE_BYTES
) -> tuple[bytes, int, StatKey | None] | None:
    """The bytes, st_mode and stat key (None when racy) of a regular file, or None if it
    vanished or stopped being a regular file since it was listed (a concurrent writer renamed
    something over it). The stat data is taken before the read, so a write during the read
    changes the file's ctime after the recorded one. _TooBig when it holds more than
    ``max_bytes`` (at most that much plus one byte is read: memory stays bounded)."""
    now = clock.fs_time_ns()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            return None
        raise WorkspaceError(f"cannot read {path}: {exc}") from exc
    with open(fd, "rb", closefd=True) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size > max_bytes:
            raise _TooBig
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise WorkspaceError(f"cannot read {path}: {exc}") from exc
        if len(data) > max_bytes:  # it grew since the fstat
            raise _TooBig
    return data, st.st_mode, statcache.stat_key(st, now)


_Item = tuple[str, int, str, bytes | None, StatKey | None]


def _walk(
    root: Path,
    known: Mapping[str, Known],
    seen: set[str] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    too_big: list[str] | None = None,
) -> Iterator[_Item]:
    """``(path, mode, blob id, bytes, stat key)`` for every file of the workspace, in no set
    order. ``bytes`` is None when the id came from ``known`` (the stat cache); the stat key
    is None for symlinks and racy files. With ``seen``, every path found is added to it and
    the files ``known`` vouches for are added to it instead of being yielded (a diff has
    nothing to do with them).

    Regular files are 100644, or 100755 when any execute bit is set; symlinks are 120000 with
    their target as content (never followed); directories only hold files (an empty one is
    nothing); FIFOs, sockets and devices are skipped. Left out: ``.git`` and the staging
    names at the top, the diff file at the top, names git cannot record, and files larger
    than ``max_bytes`` (appended to ``too_big`` when given, never read)."""
    stack: list[tuple[str, str]] = [(os.fspath(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            it = os.scandir(directory)
        except (FileNotFoundError, NotADirectoryError):
            continue  # removed while we walked
        except OSError as exc:
            raise WorkspaceError(f"cannot list {directory}: {exc}") from exc
        with it:
            for entry in it:
                # This loop runs once per file of the root on every diff: the common case
                # (a regular file the stat cache vouches for) is kept to a few operations.
                name = entry.name
                if not prefix and name in _RESERVED_TOP:
                    continue
                if (not name.isascii() or "g" in name or "G" in name) and not _representable(name):
                    continue
                rel = prefix + name
                try:
                    if entry.is_file(follow_symlinks=False):
                        hit = known.get(rel)
                        if hit is not None:
                            st = entry.stat(follow_symlinks=False)
                            key = hit[0]
                            if (
                                st.st_mtime_ns == key[2]
                                and st.st_ctime_ns == key[3]
                                and st.st_size == key[1]
                                and st.st_ino == key[4]
                                and st.st_mode == key[0]
                                and st.st_dev == key[5]
                            ):
                                if seen is None:
                                    yield rel, hit[2], hit[1], None, key
                                else:
                                    seen.add(rel)
                                continue
                        try:
                            got = _read_regular(entry.path, max_bytes)
                        except _TooBig:
                            if too_big is not None:
                                too_big.append(rel)
                            continue
                        if got is not None:
                            data, st_mode, stat_key = got
                            yield rel, _file_mode(st_mode), blob_id(data), data, stat_key
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, rel + "/"))
                    elif entry.is_symlink():
                        target = os.readlink(os.fsencode(entry.path))
                        yield rel, MODE_LINK, blob_id(target), target, None
                except (FileNotFoundError, NotADirectoryError):
                    continue  # vanished between the listing and the read


def _current_bytes(root: Path, path: str) -> bytes:
    """A file's bytes read again (its id came from the stat cache); empty if it is gone."""
    full = root / path
    if full.is_symlink():
        return os.readlink(os.fsencode(full))
    try:
        got = _read_regular(os.fspath(full))
    except _TooBig:
        return b""
    return b"" if got is None else got[0]


# --------------------------------------------------------------------------------------------
# Building and swapping a baseline


def _step(name: str) -> None:
    if _crash_hook is not None:
        _crash_hook(name)


def _remove(path: Path) -> None:
    """Remove ``path`` whatever it is (directory tree, file, symlink); absent is fine."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _recover(root: Path) -> None:
    """Finish what an interrupted rebuild left (see the module docstring): after this, only
    ``.git`` (or nothing) remains."""
    tmp, new, old, git = (root / n for n in (STAGING_TMP, STAGING_NEW, STAGING_OLD, GIT_DIR))
    try:
        changed = False
        for leftover in (tmp, new):  # never reached .git: the old baseline stays
            if os.path.lexists(leftover):
                _remove(leftover)
                changed = True
        if os.path.lexists(old):
            if os.path.lexists(git):
                _remove(old)  # the swap happened; only the clean-up was missed
            else:
                os.rename(old, git)  # crashed between the two renames: roll back
            changed = True
        if changed:
            fsync_dir(root)
            log.info("workspace_baseline_recovered", root=str(root))
    except OSError as exc:
        raise WorkspaceError(f"{root}: cannot clean up an interrupted baseline: {exc}") from exc


def _rebuild(root: Path, keep: Mapping[str, bytes | None] | None, *, max_file_bytes: int) -> str:
    """Build a fresh one-commit repository of the current tree beside ``.git`` and swap it
    in. Returns the new commit id."""
    tmp, new, old, git = (root / n for n in (STAGING_TMP, STAGING_NEW, STAGING_OLD, GIT_DIR))
    try:
        commit_id = _build(root, tmp, keep, max_file_bytes)
        _step("built")
        os.rename(tmp, new)
        fsync_dir(root)
        _step("renamed_new")
        if os.path.lexists(git):
            os.rename(git, old)
            fsync_dir(root)
        _step("moved_old")
        os.rename(new, git)  # the commit point
        fsync_dir(root)
        _step("swapped")
    except Exception as exc:
        # Not a crash: put things back now rather than at the next call (a crash leaves the
        # same states, which _recover handles then).
        with contextlib.suppress(Exception):
            _recover(root)
        if isinstance(exc, WorkspaceError):
            raise
        raise WorkspaceError(f"{root}: cannot write the git baseline: {exc}") from exc
    try:
        _remove(old)
    except OSError as exc:  # the new baseline is in place; the next run removes the rest
        log.warning("workspace_old_baseline_left", root=str(root), error=repr(exc))
    return commit_id


def _collect(
    root: Path, pack: PackWriter, keep: Mapping[str, bytes | None] | None, max_file_bytes: int
) -> tuple[dict[str, tuple[str, int]], dict[str, StatKey]]:
    """Pack a blob for every workspace file and every kept content; return the new
    baseline's ``path -> (blob id, mode)`` and the stat keys of the files read."""
    entries: dict[str, tuple[str, int]] = {}
    stats: dict[str, StatKey] = {}
    for path, mode, oid, data, key in _walk(root, {}, None, max_file_bytes):
        assert data is not None  # nothing is known: every file is read
        pack.add(oid, data)
        entries[path] = (oid, mode)
        if key is not None:
            stats[path] = key
    for path, content in (keep or {}).items():
        current = entries.pop(path, None)
        stats.pop(path, None)
        if content is None:
            continue
        # The kept file replaces whatever now sits in its way: a directory at its path, or a
        # file where one of its parent directories should be.
        prefix = path + "/"
        for other in [p for p in entries if p.startswith(prefix)]:
            del entries[other]
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.pop("/".join(parts[:i]), None)
        mode = current[1] if current is not None and current[1] != MODE_LINK else MODE_FILE
        oid = blob_id(content)
        pack.add(oid, content)
        entries[path] = (oid, mode)
    return entries, stats


def _build(
    root: Path, tmp: Path, keep: Mapping[str, bytes | None] | None, max_file_bytes: int
) -> str:
    _remove(tmp)
    os.mkdir(tmp, _DIR_MODE)
    # libgit2 fsyncs what it writes (trees, commit, refs, index), and the pack writer fsyncs
    # the pack, so the swap never installs a repository still only in the page cache.
    pygit2.settings.enable_fsync_gitdir(True)
    pygit2.init_repository(str(tmp), bare=True, initial_head=BRANCH).free()
    pack = PackWriter(tmp / "objects" / "pack")
    try:
        entries, stats = _collect(root, pack, keep, max_file_bytes)
        pack.finish()
    except BaseException:
        pack.abort()
        raise
    _step("objects_written")
    repo = pygit2.Repository(str(tmp), RepositoryOpenFlag.NO_SEARCH)  # sees the new pack
    try:
        index = pygit2.Index(str(tmp / "index"))
        for path in sorted(entries):
            oid, mode = entries[path]
            index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=oid), FileMode(mode)))
        tree_id = index.write_tree(repo)
        sig = pygit2.Signature(BASELINE_NAME, BASELINE_EMAIL, BASELINE_TIME, 0)
        commit_id = repo.create_commit(
            f"refs/heads/{BRANCH}", sig, sig, BASELINE_MESSAGE, tree_id, []
        )
        # The index lets `git status` in the root (a curious user's) agree with the baseline.
        index.write()
        config = repo.config
        config["core.bare"] = False  # once renamed to root/.git, its work tree is root
        config["core.logallrefupdates"] = False
        config["core.autocrlf"] = False
        config["memoryd.baseline-version"] = BASELINE_VERSION
    finally:
        repo.free()
    statcache.write(tmp, str(tree_id), entries, stats)
    for name in ("config", "HEAD", "index"):
        _fsync_file(tmp / name)
    fsync_dir(tmp)
    return str(commit_id)
