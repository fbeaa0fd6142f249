"""Another host's consolidation brought into this root (PostgreSQL): the newest published tree
becomes the root's content and baseline, this host's unconsolidated edits kept, and the trees
this host missed recorded in its run history."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import anyio
import structlog

from memoryd.errors import MemorydError
from memoryd.fsutil import atomic_write, make_private_dirs
from memoryd.phase2.edits import edits_to_consolidate, user_edit_name
from memoryd.phase2.record import purge_forgotten, record_published
from memoryd.store import published
from memoryd.store.engine import Connection
from memoryd.workspace import history
from memoryd.workspace.baseline import (
    baseline_files,
    blob_id,
    check_rel_path,
    diff_against_baseline,
    ensure_baseline,
    reset_baseline,
)


@dataclass(frozen=True)
class Materialised:
    """What a materialisation of a published tree did to this host's memory root."""

    run_id: str
    changed: list[str]  # paths written or removed with the published content
    kept: list[str]  # this host's unconsolidated edits, left in place (in the next diff)
    saved: list[str]  # this host's edits of files the tree changed too, saved beside them
    baseline: str = ""  # the root's new baseline commit (the tree's content)


def materialise_tree(
    root: Path, files: dict[str, bytes], run_id: str, *, max_file_bytes: int
) -> Materialised | None:
    """Make ``files`` (a tree another host consolidated and published) this root's content
    and its baseline, keeping this host's edits that no consolidation has seen yet; None if
    the baseline already is that tree.

    An edit here (what :func:`edits_to_consolidate` counts: not memoryd's derived files) is
    never overwritten: a file the tree left as the old baseline had it keeps the user's
    version; a file the tree changed too gets the tree's version, and the user's is saved
    beside it as ``<name>.user-edit-<run>.md`` (as for an edit made while the agent ran; a
    file deleted here that the tree changed comes back with the tree's content). Either way
    the new baseline records the tree's content, so the edit is in this root's next diff:
    input of the next consolidation run here.

    Crash-safe as phase 2 is: the files are replaced one by one (atomically), then the
    baseline is swapped (the commit point). A crash before the swap leaves files that equal
    the tree's, which the next attempt recognises as such, not as edits."""
    for rel in files:
        try:
            check_rel_path(rel)
        except ValueError as e:  # never written outside the root, nor into .git
            raise MemorydError(
                f"the published memory tree of run {run_id} is unusable: {e}; nothing was "
                "written (the next consolidation publishes a new one)"
            ) from None
    ensure_baseline(root, max_file_bytes=max_file_bytes)
    base = baseline_files(root)
    if {p: blob_id(d) for p, d in base.items()} == {p: blob_id(d) for p, d in files.items()}:
        return None
    diff = diff_against_baseline(root, max_file_bytes=max_file_bytes)
    edited = set(edits_to_consolidate(diff))
    local = {c.path: c.new_data for c in diff.changes}  # None: deleted here
    keep: dict[str, bytes | None] = {}
    changed: list[str] = []
    kept: list[str] = []
    saved: list[str] = []
    for rel in sorted(set(files) | set(base) | set(local)):
        new = files.get(rel)
        now = local[rel] if rel in local else base.get(rel)
        if now == new:
            continue
        if rel in edited:
            if base.get(rel) == new:  # the tree left it alone: the user's version stays
                kept.append(rel)
                keep[rel] = new
                continue
            if now is not None:
                name = user_edit_name(rel, run_id)
                atomic_write(root / name, now, root=root)
                saved.append(name)
                keep[name] = None  # new to the baseline: it shows in the next diff
        path = root / rel
        if new is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            make_private_dirs(path.parent, root=root)
            atomic_write(path, new, root=root)
        changed.append(rel)
    baseline = reset_baseline(root, keep=keep or None, max_file_bytes=max_file_bytes)
    return Materialised(run_id, changed, kept, saved, baseline)


async def take_published(
    conn: Connection,
    history_dir: Path | None,
    root: Path,
    bound: structlog.stdlib.BoundLogger,
    *,
    max_file_bytes: int,
) -> tuple[published.PublishedTree, Materialised | None] | None:
    """Bring this root to the newest tree the hosts published (None: none is, or SQLite),
    after recording in this host's run history, in publication order, every kept tree it
    missed (published while it was stopped or busy): ``history`` on every host lists the
    runs every host made, and ``rollback`` to one of them works here as for a run of its
    own (the rollback is published like a run).

    A host's place is read from its run history rather than stored (a tag lookup per kept
    tree): the newest kept tree it holds. The kept trees after that one that it lacks are
    committed from their files; a host that holds none of them (a new one) takes only
    the newest. Then only the newest is applied to the root (:func:`materialise_tree`)
    and committed from the new baseline."""
    runs = await published.tree_runs(conn)
    if not runs:
        return None
    directory = history_dir
    have: set[str] = set()
    if directory is not None:
        try:
            have = await anyio.to_thread.run_sync(
                history.recorded, directory, [run for _, run in runs]
            )
        except Exception as exc:  # the folder still follows; only the history lags
            bound.error("history_read_failed", error=repr(exc))
    known = [i for i, (_, run) in enumerate(runs) if run in have]
    missed = [seq for seq, run in runs[known[-1] + 1 : -1] if run not in have] if known else []
    recorded: list[str] = []
    for seq in missed:
        between = await published.tree_at(conn, seq)
        if between is not None and await record_published(conn, history_dir, root, between, bound):
            recorded.append(between.run_id)
    if missed:
        bound.info("history_missed_runs_recorded", runs=list(recorded))
    tree = await published.tree_at(conn, runs[-1][0])
    done: Materialised | None = None
    if tree is not None:
        big = max_file_bytes
        done = await anyio.to_thread.run_sync(
            lambda: materialise_tree(root, tree.files, tree.run_id, max_file_bytes=big)
        )
        # Recorded once: from the new baseline, or from its files when the root already
        # held it (a crash between the swap and the commit, or a commit that failed).
        if tree.run_id not in have and await record_published(
            conn,
            history_dir,
            root,
            tree,
            bound,
            baseline=None if done is None else done.baseline,
        ):
            recorded.append(tree.run_id)
    if recorded:
        await purge_forgotten(conn, history_dir, bound)
    return None if tree is None else (tree, done)
