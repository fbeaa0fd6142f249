"""What a run leaves besides the memory root: its commit in the run history (its own runs, and
the trees other hosts published), the forgotten threads purged from that history, and the tree
published to the other hosts with the run's success."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import anyio
import structlog

from memoryd import clock
from memoryd.maintenance import pending_purge, purge_done
from memoryd.phase2.result import Phase2Result, run_record
from memoryd.store import forget as forget_store
from memoryd.store import hosts, published
from memoryd.store import phase2 as store
from memoryd.store.engine import Connection, host_of
from memoryd.store.phase2 import Phase2RunRecord, RunOutcome
from memoryd.workspace import history
from memoryd.workspace.baseline import baseline_files

ROLLBACK_REASON = "rollback to "  # a rollback's run record: "rollback to <run>"


async def tree_to_publish(conn: Connection, root: Path) -> dict[str, bytes] | None:
    """The baseline's files when the other hosts do not have them yet: published with the
    run's success (memoryd/store/published.py). None on SQLite (one host), or when the
    newest published tree already is this baseline (a run that changed nothing)."""
    if not published.shared(conn):
        return None
    files = await anyio.to_thread.run_sync(baseline_files, root)
    latest = await published.latest_tree(conn)
    if latest is not None and latest.files == files:
        return None
    return files


async def record_history(
    conn: Connection,
    history_dir: Path | None,
    root: Path,
    baseline: str,
    run: Phase2RunRecord,
    result: Phase2Result,
    bound: structlog.stdlib.BoundLogger,
    *,
    kind: str,
    selection: Sequence[tuple[str, int]],
    rolled_back_to: str | None = None,
) -> Phase2RunRecord:
    """Commit the new baseline's tree to the run history (a consolidation and a rollback
    record the same facts) and return the succeeded run's record with that commit's id,
    or None there when no history is kept or it failed. A failure is logged and never
    fails the run: the consolidated files are good, only their copy in the history is
    missing."""
    # One time for the history commit and the run's record: another host names the run by
    # its record's finish, so both hosts show the same time for it.
    at_ms = clock.now_ms()
    facts = history.RunFacts(
        run_id=run.run_id,
        kind=kind,
        at_ms=at_ms,
        inputs_added=result.added,
        inputs_retained=result.retained,
        inputs_removed=result.removed,
        selection=selection,
        rolled_back_to=rolled_back_to,
        **await host_facts(conn, host_of(conn), this_host=True),
    )
    directory = history_dir
    commit: str | None = None
    if directory is not None:
        try:
            with anyio.CancelScope(shield=True):
                commit = await anyio.to_thread.run_sync(
                    history.record, directory, root, baseline, facts
                )
        except Exception as exc:
            bound.error("history_commit_failed", error=repr(exc))
    return dataclasses.replace(
        run_record(run, result, RunOutcome.SUCCEEDED), history_commit=commit, finished_at_ms=at_ms
    )


async def host_facts(conn: Connection, host_id: str, *, this_host: bool = False) -> dict[str, str]:
    """The host a history commit names (``RunFacts.host``/``host_id``): ``host_id`` ('' on
    SQLite) with the name it registered in the hosts table; this machine's name for a run
    of this host's own that the table cannot name."""
    name = await hosts.hostname_of(conn, host_id)
    if name is None and this_host:
        name = hosts.this_hostname()
    return {"host": name or "", "host_id": host_id}


async def record_published(
    conn: Connection,
    history_dir: Path | None,
    root: Path,
    tree: published.PublishedTree,
    bound: structlog.stdlib.BoundLogger,
    *,
    baseline: str | None = None,
) -> bool:
    """Commit a tree another host published to this host's run history under that host's
    run id: from the root's ``baseline`` commit when it is this root's, else from its
    files. Its facts come from the shared run record and the selection published with
    it; a failure is logged (False) and never fails the materialisation."""
    directory = history_dir
    if directory is None:
        return False
    rec = await store.get_run(conn, tree.run_id)
    selection = tree.selection
    if selection is None:  # published before the selections were kept: the newest only
        selection = tuple((await store.last_selection(conn)).items())
    reason = rec.reason if rec is not None else None
    target = reason.removeprefix(ROLLBACK_REASON) if reason else None
    rolled_back = reason is not None and reason.startswith(ROLLBACK_REASON)
    facts = history.RunFacts(
        run_id=tree.run_id,
        kind="rollback" if rolled_back else "consolidation",
        at_ms=(rec.finished_at_ms if rec and rec.finished_at_ms else clock.now_ms()),
        inputs_added=rec.inputs_added if rec else 0,
        inputs_retained=rec.inputs_retained if rec else 0,
        inputs_removed=rec.inputs_removed if rec else 0,
        selection=sorted(selection),
        rolled_back_to=target if rolled_back else None,
        **await host_facts(conn, tree.host_id),
    )
    try:
        with anyio.CancelScope(shield=True):
            if baseline is None:
                await anyio.to_thread.run_sync(history.record_files, directory, tree.files, facts)
            else:
                await anyio.to_thread.run_sync(history.record, directory, root, baseline, facts)
    except Exception as exc:
        bound.error("history_commit_failed", run_id=tree.run_id, error=repr(exc))
        return False
    return True


async def _purge(
    directory: Path, threads: Sequence[str], bound: structlog.stdlib.BoundLogger
) -> int | None:
    """Cut ``threads``' memories out of the run history in ``directory``: how many runs were
    rewritten, or None when it failed (logged; the caller tries again later)."""
    try:
        with anyio.CancelScope(shield=True):
            rewritten: int = await anyio.to_thread.run_sync(history.purge, directory, threads)
    except Exception as exc:
        bound.error("history_purge_failed", error=repr(exc))
        return None
    return rewritten


async def purge_forgotten(
    conn: Connection, history_dir: Path | None, bound: structlog.stdlib.BoundLogger
) -> None:
    """After recording trees another host published: the forgets that led to them were
    purged from the history of the host that consolidated them; this host's history
    holds the same runs (and the trees before the forget), so they are purged here."""
    assert history_dir is not None
    forgotten = await forget_store.forgotten_threads(conn)
    rewritten = await _purge(history_dir, forgotten, bound)
    if rewritten:
        bound.info("history_purged", forgotten_threads=len(forgotten), runs_rewritten=rewritten)


async def purge_history(
    conn: Connection, history_dir: Path | None, bound: structlog.stdlib.BoundLogger
) -> None:
    """After a forget, cut the forgotten threads' memories out of the run history (under
    the lock, like every history write; by now the live files no longer hold them). A
    failure is logged and tried again after the next run; it never fails this one."""
    pending = await pending_purge(conn)
    if pending is None or history_dir is None:
        return
    token, threads = pending
    rewritten = await _purge(history_dir, threads, bound)
    if rewritten is None:
        return
    await purge_done(conn, token)
    bound.info("history_purged", forgotten_threads=len(threads), runs_rewritten=rewritten)
