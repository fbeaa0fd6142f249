"""Run history (SPEC §7, issue 5): every consolidation that changed the memory root, kept.

The memory root's own ``.git`` holds a single baseline commit and forgets the past on every
run (Codex's design, kept as it is). memoryd keeps the past here instead, in a bare git
repository ``<state_dir>/history``: after each successful consolidation the new baseline's
tree (exactly the files the baseline tracks: not ``.git``, not ``phase2_workspace_diff.md``)
becomes one commit on ``refs/heads/main`` whose parent is the previous run's, tagged
``refs/tags/<run id>``. A ``rollback`` (memoryd/phase2/) is recorded the same way with kind
``rollback``. Runs that changed nothing (outcome ``noop``) are not recorded: their tree is
the previous commit's. The commit is written while the run still holds the phase-2 lock (so
the chain follows the runs' order), just before the run is marked succeeded; a run that loses
its lock in between leaves a commit whose DB record says ``lease_lost``; the tree is still
what the root holds, since its baseline was already reset. On PostgreSQL a host also records
the runs other hosts published: the one it materialises from its new baseline, the ones it
missed in between from their published files (``record_files``), the same commits either way.

Everything ``memoryd history`` shows lives in the commit itself, so the history can be read
without the state DB: the commit message carries the run id, the kind, the run's time, its
input counts, the host that ran it (its name, and its host id on PostgreSQL) and the exact
``(thread, snapshot)`` pairs it consolidated (what a rollback puts
back as the last successful selection, so that the next run labels inputs against the
restored files). A rollback commit also names the run it restored.

All objects go through pygit2 (never the git command line). The reads reuse the memory
root's checked object reader (memoryd/workspace/gitobj.py: libgit2 1.9 must never parse a damaged
loose object, and its own hash check is switched off process-wide), and objects are written
with libgit2's fsync on, which memoryd/workspace/baseline.py also turns on for its baselines.

The functions are synchronous: phase 2 calls them in a worker thread.
"""

from __future__ import annotations

import contextlib
import enum
import os
import shutil
import stat
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pygit2
from pygit2.enums import FileMode, ObjectType, RepositoryOpenFlag

from memoryd.errors import MemorydError
from memoryd.fsutil import atomic_write, fsync_dir
from memoryd.layout import DIFF_FILE, EXTENSIONS_DIR, ROLLOUT_SUMMARIES_DIR
from memoryd.workspace.baseline import (
    BASELINE_EMAIL,
    BASELINE_NAME,
    GIT_DIR,
    blob_id,
    check_rel_path,
    snapshot,
)
from memoryd.workspace.gitobj import (
    MODE_EXEC,
    MODE_LINK,
    PackWriter,
    lookup,
    read_object,
    tree_entries,
    verify_tree,
)

HISTORY_DIR = "history"  # under the state dir
BRANCH_REF = "refs/heads/main"
TAG_PREFIX = "refs/tags/"
_DIR_MODE = 0o700
_FILE_MODE = 0o600
_PACK_LEVEL = 6  # zlib level of the history's packs (git's default)

# Commit message keys ("trailers"), one per line after the title.
_RUN = "Memoryd-Run"
_KIND = "Memoryd-Kind"
_AT = "Memoryd-At-Ms"
_ADDED = "Memoryd-Inputs-Added"
_RETAINED = "Memoryd-Inputs-Retained"
_REMOVED = "Memoryd-Inputs-Removed"
_FILES = "Memoryd-Files-Changed"
_ROLLED_BACK_TO = "Memoryd-Rolled-Back-To"
_SELECTED = "Memoryd-Selected"  # repeated: "<thread id> <source_updated_at>"
_PURGED = "Memoryd-Purged"  # "yes": forgotten memories were cut out of this run's tree
# The host that ran the consolidation: its name and, on PostgreSQL, its host id (the hosts
# table's, as `memoryd status` lists them). Runs recorded before these existed have neither.
_HOST = "Memoryd-Host"
_HOST_ID = "Memoryd-Host-Id"


class HistoryError(MemorydError):
    """The run history cannot answer: an unknown run, or a damaged history repository."""


class UnknownRun(HistoryError):
    """The run id is not in the history (the control protocol answers ``not_found``)."""


class RunKind(enum.StrEnum):
    CONSOLIDATION = "consolidation"
    ROLLBACK = "rollback"


class HistoryEntry(msgspec.Struct, kw_only=True):
    run_id: str
    commit: str
    at_ms: int
    kind: RunKind
    inputs_added: int = 0
    inputs_removed: int = 0
    files_changed: int = 0
    rolled_back_to: str | None = None  # for kind "rollback": the run restored
    purged: bool = False  # its consolidated files held forgotten memories and were removed
    host: str | None = None  # the host that ran it (its name); None: not recorded
    host_id: str | None = None  # that host's id on PostgreSQL; None on SQLite or not recorded


@dataclass(frozen=True, slots=True)
class HistoryRun:
    """One recorded run, with what a rollback needs: its tree and its selection."""

    entry: HistoryEntry
    inputs_retained: int
    selection: tuple[tuple[str, int], ...]  # (thread id, source_updated_at)
    tree: str  # the tree id in the history repository
    files: Mapping[str, tuple[str, int]]  # path -> (blob id, mode)


def history_dir(state_dir: Path) -> Path:
    return Path(state_dir) / HISTORY_DIR


# --------------------------------------------------------------------------------------------
# Reading


def _kind(value: str | None) -> RunKind:
    """A kind this version does not know (a newer memoryd's) reads as a consolidation."""
    return RunKind(value) if value in set(RunKind) else RunKind.CONSOLIDATION


def list_runs(state_dir: Path, limit: int = 50) -> list[HistoryEntry]:
    """Newest first. An absent repository is an empty history."""
    repo = _open(history_dir(state_dir))
    if repo is None or limit <= 0:
        return []
    out: list[HistoryEntry] = []
    commit = _head(repo)
    while commit is not None and len(out) < limit:
        out.append(_parse(commit)[0])
        commit = _parent(repo, commit)
    return out


def run_diff(state_dir: Path, run_id: str) -> tuple[HistoryEntry, str]:
    """That run as ``history`` lists it (its host, its time), and a unified diff (git's
    format) of what it changed against the run before it (against nothing for the first
    recorded run). Raises HistoryError naming the run when it is not in the history."""
    repo, commit = _find(history_dir(state_dir), run_id)
    parent = _parent(repo, commit)
    new_tree = _checked_tree(repo, commit.tree_id)
    if parent is None:
        diff = new_tree.diff_to_tree(swap=True)
    else:
        diff = _checked_tree(repo, parent.tree_id).diff_to_tree(new_tree)
    return _parse(commit)[0], diff.patch or ""


def load_run(directory: Path, run_id: str) -> HistoryRun:
    """Everything recorded for ``run_id`` in the history repository at ``directory``."""
    repo, commit = _find(directory, run_id)
    entry, retained, selection = _parse(commit)
    _checked_tree(repo, commit.tree_id)
    return HistoryRun(
        entry=entry,
        inputs_retained=retained,
        selection=selection,
        tree=str(commit.tree_id),
        files=tree_entries(repo, commit.tree_id),
    )


def read_file(directory: Path, blob: str) -> bytes:
    """The content of one blob of the history repository, checked against its id."""
    repo = _open(directory)
    if repo is None:
        raise HistoryError(f"no run history at {directory}")
    return read_object(repo, blob)[1]


def _open(directory: Path) -> pygit2.Repository | None:
    if not (directory / "HEAD").is_file():
        return None
    try:
        return pygit2.Repository(str(directory), RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise HistoryError(f"the run history at {directory} cannot be opened: {exc}") from exc


def _head(repo: pygit2.Repository) -> pygit2.Commit | None:
    ref = repo.references.get(BRANCH_REF)
    if ref is None:
        return None
    return _commit(repo, str(ref.target))


def _parent(repo: pygit2.Repository, commit: pygit2.Commit) -> pygit2.Commit | None:
    ids = commit.parent_ids
    return _commit(repo, str(ids[0])) if ids else None


def _commit(repo: pygit2.Repository, oid: str) -> pygit2.Commit:
    try:
        obj = lookup(repo, oid)
    except MemorydError as exc:
        raise HistoryError(f"the run history is damaged: {exc}") from exc
    if not isinstance(obj, pygit2.Commit):
        raise HistoryError(f"the run history is damaged: {oid} is not a commit")
    return obj


def _checked_tree(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Tree:
    """A tree whose every object was read and checked, so libgit2 may diff it safely."""
    try:
        verify_tree(repo, oid)
    except MemorydError as exc:
        raise HistoryError(f"the run history is damaged: {exc}") from exc
    tree = repo[oid]
    assert isinstance(tree, pygit2.Tree)
    return tree


def _find(directory: Path, run_id: str) -> tuple[pygit2.Repository, pygit2.Commit]:
    repo = _open(directory)
    ref = None if repo is None else _tag(repo, run_id)
    if ref is None:
        raise UnknownRun(
            f"unknown run {run_id!r}: it is not in the run history at {directory} "
            "(`memoryd history` lists the runs)"
        )
    assert repo is not None
    return repo, _commit(repo, str(ref.target))


def _tag(repo: pygit2.Repository, run_id: str) -> pygit2.Reference | None:
    """The tag of ``run_id``, or None (not recorded, or not a name a run can have)."""
    if not run_id or "/" in run_id or run_id.startswith("."):
        return None
    with contextlib.suppress(pygit2.InvalidSpecError, ValueError):
        return repo.references.get(TAG_PREFIX + run_id)
    return None


def _parse(commit: pygit2.Commit) -> tuple[HistoryEntry, int, tuple[tuple[str, int], ...]]:
    fields: dict[str, str] = {}
    selection: list[tuple[str, int]] = []
    for line in commit.message.splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key == _SELECTED:
            tid, _, s = value.rpartition(" ")
            if tid and s.isdigit():
                selection.append((tid, int(s)))
        else:
            fields[key] = value

    def num(key: str) -> int:
        value = fields.get(key, "0")
        return int(value) if value.isdigit() else 0

    entry = HistoryEntry(
        run_id=fields.get(_RUN, ""),
        commit=str(commit.id),
        at_ms=num(_AT) or commit.commit_time * 1000,
        kind=_kind(fields.get(_KIND)),
        inputs_added=num(_ADDED),
        inputs_removed=num(_REMOVED),
        files_changed=num(_FILES),
        rolled_back_to=fields.get(_ROLLED_BACK_TO),
        purged=fields.get(_PURGED) == "yes",
        host=fields.get(_HOST) or None,
        host_id=fields.get(_HOST_ID) or None,
    )
    return entry, num(_RETAINED), tuple(selection)


# --------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What a history commit records about its run (besides the tree)."""

    run_id: str
    kind: str  # "consolidation" | "rollback"
    at_ms: int
    inputs_added: int
    inputs_retained: int
    inputs_removed: int
    selection: Sequence[tuple[str, int]]
    rolled_back_to: str | None = None
    host: str = ""  # the host that ran it: its name ('' when unknown)
    host_id: str = ""  # its id on PostgreSQL ('' on SQLite)


def record(directory: Path, root: Path, baseline: str, facts: RunFacts) -> str:
    """Commit the tree of the memory root's baseline commit ``baseline`` to the history at
    ``directory`` (created on first use, 0700) as the child of the last recorded run, tag it
    with the run id, and return the new commit id."""
    source = pygit2.Repository(str(Path(root) / GIT_DIR), RepositoryOpenFlag.NO_SEARCH)
    try:
        tree_id = lookup(source, baseline).peel(pygit2.Tree).id
        _init(directory).free()
        _copy_tree(source, directory, str(tree_id))
    finally:
        source.free()
    repo = _open(directory)  # opened afresh: it sees the new pack
    assert repo is not None
    return _commit_run(repo, tree_id, facts)


def record_files(directory: Path, files: Mapping[str, bytes], facts: RunFacts) -> str:
    """Commit ``files`` (root-relative path -> content: a tree another host published, which
    this host's root never held) to the history at ``directory`` as :func:`record` does: the
    child of the last recorded run, tagged with the run id, the same message. Its blobs go
    into one pack, its trees are written by libgit2. Raises HistoryError, writing nothing,
    when a path is not one a memory root can hold."""
    ids: dict[str, str] = {}
    for rel, data in files.items():
        try:
            check_rel_path(rel)
        except ValueError as exc:
            raise HistoryError(
                f"the tree of run {facts.run_id} cannot be recorded: {exc}"
            ) from None
        ids[rel] = blob_id(data)
    _init(directory).free()
    with _new_pack(directory) as (pack, have):
        for rel, data in files.items():
            if ids[rel] not in have:  # runs share most files: each blob once
                pack.add(ids[rel], data, ObjectType.BLOB, _PACK_LEVEL)
    repo = _open(directory)  # opened afresh: it sees the new pack
    assert repo is not None
    index = pygit2.Index()
    for rel in sorted(ids):
        index.add(pygit2.IndexEntry(rel, pygit2.Oid(hex=ids[rel]), FileMode.BLOB))
    return _commit_run(repo, index.write_tree(repo), facts)


def recorded(directory: Path, run_ids: Collection[str]) -> set[str]:
    """Which of ``run_ids`` the history at ``directory`` holds (its tags; none when absent)."""
    repo = _open(directory)
    if repo is None:
        return set()
    found = {run_id for run_id in run_ids if _tag(repo, run_id) is not None}
    repo.free()
    return found


def _commit_run(repo: pygit2.Repository, tree_id: pygit2.Oid, facts: RunFacts) -> str:
    """The commit of one run: ``tree_id`` as the child of the last recorded run, tagged."""
    parent = _head(repo)
    files_changed = _count_changes(repo, None if parent is None else parent.tree_id, tree_id)
    lines = [
        f"memoryd {facts.kind} {facts.run_id}",
        "",
        f"{_RUN}: {facts.run_id}",
        f"{_KIND}: {facts.kind}",
        f"{_AT}: {facts.at_ms}",
        f"{_ADDED}: {facts.inputs_added}",
        f"{_RETAINED}: {facts.inputs_retained}",
        f"{_REMOVED}: {facts.inputs_removed}",
        f"{_FILES}: {files_changed}",
    ]
    if facts.rolled_back_to is not None:
        lines.append(f"{_ROLLED_BACK_TO}: {facts.rolled_back_to}")
    # one line each: a name with a line break in it must not forge another trailer
    if host := " ".join(facts.host.split()):
        lines.append(f"{_HOST}: {host}")
    if host_id := "".join(facts.host_id.split()):
        lines.append(f"{_HOST_ID}: {host_id}")
    lines.extend(f"{_SELECTED}: {tid} {s}" for tid, s in sorted(dict(facts.selection).items()))
    sig = pygit2.Signature(BASELINE_NAME, BASELINE_EMAIL, facts.at_ms // 1000, 0)
    commit_id = repo.create_commit(
        BRANCH_REF,
        sig,
        sig,
        "\n".join(lines) + "\n",
        tree_id,
        [] if parent is None else [parent.id],
    )
    repo.references.create(TAG_PREFIX + facts.run_id, commit_id, force=True)
    return str(commit_id)


def _init(directory: Path) -> pygit2.Repository:
    pygit2.settings.enable_fsync_gitdir(True)
    existing = _open(directory)
    if existing is not None:
        return existing
    directory.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=_DIR_MODE)
    os.chmod(directory, _DIR_MODE)
    repo = pygit2.init_repository(str(directory), bare=True, initial_head="main")
    repo.config["core.logallrefupdates"] = False
    return repo


def _copy_tree(source: pygit2.Repository, directory: Path, tree: str) -> None:
    """Copy a tree and everything under it that the history lacks (same bytes, same ids) as
    one compressed pack: one fsync for the lot instead of one per loose object (a first
    commit of a root with thousands of files would otherwise take seconds per thousand).
    The pack appears complete or not at all, so an object found in the history is whole."""
    with _new_pack(directory) as (pack, have):
        # A tree already there has all its objects there too.
        _pack_trees(source, pack, [tree], lambda oid: oid in have)


@contextlib.contextmanager
def _new_pack(directory: Path) -> Iterator[tuple[PackWriter, pygit2.Odb]]:
    """A pack for the history at ``directory`` and its object database (what it already
    holds), finished when the block ends, removed if it fails."""
    dest = pygit2.Repository(str(directory), RepositoryOpenFlag.NO_SEARCH)
    try:
        pack = PackWriter(directory / "objects" / "pack")
        try:
            yield pack, dest.odb
            pack.finish()
        except BaseException:
            pack.abort()
            raise
    finally:
        dest.free()


def _pack_trees(
    source: pygit2.Repository, pack: PackWriter, trees: list[str], skip: Callable[[str], bool]
) -> None:
    """Add ``trees`` and everything under them, read (and checked) from ``source``, to
    ``pack``; an object for which ``skip`` is true is left out with everything under it."""
    stack = list(trees)
    while stack:
        oid = stack.pop()
        if skip(oid):
            continue
        type_code, data = read_object(source, oid)
        if type_code == ObjectType.TREE:
            obj = source[oid]
            assert isinstance(obj, pygit2.Tree)
            stack.extend(str(e.id) for e in obj if e.filemode != FileMode.COMMIT)
        pack.add(oid, data, type_code, _PACK_LEVEL)


def _count_changes(repo: pygit2.Repository, old: pygit2.Oid | None, new: pygit2.Oid) -> int:
    before = {} if old is None else tree_entries(repo, old)
    after = tree_entries(repo, new)
    return sum(1 for p in before.keys() | after.keys() if before.get(p) != after.get(p))


# --------------------------------------------------------------------------------------------
# Purging forgotten memories (memoryd forget)
#
# A forgotten thread's memories must not outlive the forget in the history. Every recorded run
# that consolidated one of the threads (its ``Memoryd-Selected`` lines name it) is rewritten:
# its tree keeps only what provably does not come from them (the other threads' rollout
# summaries and the extensions) and drops every consolidated file (MEMORY.md, the summary,
# raw_memories.md, skills/: a model's rewrite cannot be taken apart per thread); its message
# loses the thread's selection line and gains ``Memoryd-Purged: yes``, which makes a rollback
# to it refuse. Later runs keep their trees and messages and get new parents; the tags follow.
# Then the repository is repacked into one pack of what is reachable and every other pack and
# loose object is deleted, so the forgotten bytes are gone from disk, not just unreferenced.


def purge(directory: Path, threads: Collection[str]) -> int:
    """Cut ``threads``' memories out of the history at ``directory``; return how many runs
    were rewritten (0, and nothing touched, when none consolidated them)."""
    repo = _open(directory)
    if repo is None or not threads:
        return 0
    forgotten = set(threads)
    chain: list[pygit2.Commit] = []
    commit = _head(repo)
    while commit is not None:
        chain.append(commit)
        commit = _parent(repo, commit)
    chain.reverse()
    affected = [bool(forgotten & {t for t, _ in _parse(c)[2]}) for c in chain]
    if not any(affected):
        return 0
    first = affected.index(True)
    parent: pygit2.Oid | None = chain[first - 1].id if first else None
    moved: dict[str, pygit2.Oid] = {}  # old commit id -> new
    theirs: dict[str, bool] = {}  # rollout summary blob -> is a forgotten thread's (runs share)
    for commit, hit in zip(chain[first:], affected[first:], strict=True):
        tree_id, message = commit.tree_id, commit.message
        if hit:
            tree_id = _purged_tree(repo, commit.tree_id, forgotten, theirs)
            message = _purged_message(message, forgotten)
        parent = repo.create_commit(
            None,
            commit.author,
            commit.committer,
            message,
            tree_id,
            [] if parent is None else [parent],
        )
        moved[str(commit.id)] = parent
    assert parent is not None
    repo.references.create(BRANCH_REF, parent, force=True)
    for name in list(repo.references):
        if name.startswith(TAG_PREFIX):
            target = str(repo.references[name].target)
            if target in moved:
                repo.references.create(name, moved[target], force=True)
    _repack(repo, directory, parent)
    repo.free()
    return sum(affected)


def _purged_tree(
    repo: pygit2.Repository, tree_id: pygit2.Oid, forgotten: set[str], theirs: dict[str, bool]
) -> pygit2.Oid:
    headers = tuple(f"thread_id: {t}\n".encode() for t in forgotten)
    index = pygit2.Index()
    for path, (oid, mode) in sorted(tree_entries(repo, tree_id).items()):
        if path.startswith(f"{ROLLOUT_SUMMARIES_DIR}/"):
            if oid not in theirs:
                theirs[oid] = read_object(repo, oid)[1].startswith(headers)
            if theirs[oid]:
                continue
        elif not path.startswith(f"{EXTENSIONS_DIR}/"):
            continue
        index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=oid), FileMode(mode)))
    return index.write_tree(repo)


def _purged_message(message: str, forgotten: set[str]) -> str:
    lines = [
        ln
        for ln in message.splitlines()
        if not (
            ln.startswith(f"{_SELECTED}: ")
            and ln[len(_SELECTED) + 2 :].rpartition(" ")[0] in forgotten
        )
        and not ln.startswith(f"{_PURGED}: ")
    ]
    return "\n".join([*lines, f"{_PURGED}: yes"]) + "\n"


def _repack(repo: pygit2.Repository, directory: Path, head: pygit2.Oid) -> None:
    """One new pack of everything reachable from ``head`` (which every tag is, the chain
    being linear), then every other pack and loose object deleted. A crash before the
    deletions leaves extra objects, never missing ones."""
    objects = directory / "objects"
    old_packs = set((objects / "pack").glob("pack-*"))
    pack = PackWriter(objects / "pack")
    try:
        trees: list[str] = []
        commit: pygit2.Commit | None = _commit(repo, str(head))
        while commit is not None:
            pack.add(str(commit.id), read_object(repo, str(commit.id))[1], ObjectType.COMMIT,
                     _PACK_LEVEL)  # fmt: skip
            trees.append(str(commit.tree_id))
            commit = _parent(repo, commit)
        seen: set[str] = set()

        def packed(oid: str) -> bool:  # runs share most trees and blobs: walk each once
            if oid in seen:
                return True
            seen.add(oid)
            return False

        _pack_trees(repo, pack, trees, packed)
        pack.finish()
    except BaseException:
        pack.abort()
        raise
    new_packs = set((objects / "pack").glob("pack-*")) - old_packs
    for path in old_packs - new_packs:
        path.unlink()
    for sub in objects.iterdir():
        if len(sub.name) == 2 and sub.is_dir():  # loose objects: objects/ab/cdef...
            shutil.rmtree(sub)
    fsync_dir(objects / "pack")


# --------------------------------------------------------------------------------------------
# Restoring


def restore(root: Path, directory: Path, run: HistoryRun) -> list[str]:
    """Make the memory root's working tree exactly ``run``'s tree: files that differ are
    rewritten (mode and bytes), files the tree lacks are removed, and directories left empty
    by that are removed. ``.git`` and memoryd's staging names are not touched; the transient
    diff file is removed. Returns the paths changed. The baseline is not touched: the caller
    resets it once the restored files are validated."""
    root = Path(root)
    current = snapshot(root)
    changed: list[str] = []
    for rel in sorted(current.keys() - run.files.keys(), reverse=True):
        _unlink(root / rel)
        _prune_empty_parents(root, rel)
        changed.append(rel)
    for rel in sorted(run.files):
        oid, mode = run.files[rel]
        if current.get(rel) == oid and _mode_matches(root / rel, mode):
            continue
        _write_entry(root, rel, read_file(directory, oid), mode)
        changed.append(rel)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(root / DIFF_FILE)
    return sorted(set(changed))


def _mode_matches(path: Path, mode: int) -> bool:
    st = os.lstat(path)
    if mode == MODE_LINK:
        return stat.S_ISLNK(st.st_mode)
    if not stat.S_ISREG(st.st_mode):
        return False
    return bool(st.st_mode & 0o111) == (mode == MODE_EXEC)


def _write_entry(root: Path, rel: str, data: bytes, mode: int) -> None:
    path = root / rel
    # Whatever sits in the way goes: a file where a parent directory must be, a directory
    # (or a link) where the file must be.
    parent = root
    for part in rel.split("/")[:-1]:
        parent = parent / part
        if os.path.lexists(parent) and (parent.is_symlink() or not parent.is_dir()):
            os.unlink(parent)
        if not parent.exists():
            parent.mkdir(mode=_DIR_MODE)
    if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
        _unlink(path)
    if mode == MODE_LINK:
        os.symlink(os.fsdecode(data), path)
    else:
        atomic_write(path, data, 0o700 if mode == MODE_EXEC else _FILE_MODE)


def _unlink(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _prune_empty_parents(root: Path, rel: str) -> None:
    parts = rel.split("/")[:-1]
    while parts:
        with contextlib.suppress(OSError):  # not empty (or gone): stop at the first such
            os.rmdir(root.joinpath(*parts))
            parts.pop()
            continue
        return
