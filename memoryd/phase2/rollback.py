"""``memoryd rollback``: the memory root restored to a run the history recorded, as a
consolidation of its own under the phase-2 lock (SPEC §7), refused before anything changes
when it cannot be done."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import anyio
import structlog

from memoryd import clock
from memoryd.config import Phase2Config
from memoryd.errors import LockLost, MemorydError
from memoryd.maintenance import locked_message, rollback_refusal
from memoryd.phase2.lease import confirm_lock, finish_succeeded
from memoryd.phase2.record import ROLLBACK_REASON, record_history, tree_to_publish
from memoryd.phase2.result import Phase2Outcome, Phase2Result, run_record
from memoryd.phase2.validate import validate_artifacts, validate_run_tree
from memoryd.store import phase2 as store
from memoryd.store.db import immediate
from memoryd.store.engine import Connection
from memoryd.store.jobs import enqueue_global
from memoryd.store.phase2 import RunOutcome
from memoryd.workspace import history
from memoryd.workspace.baseline import ensure_baseline, reset_baseline

log = structlog.get_logger("memoryd.phase2")


async def roll_back(
    conn: Connection,
    p: Phase2Config,
    run_id: str,
    *,
    root: Path,
    worker_id: str,
    history_dir: Path | None,
) -> Phase2Result:
    """Restore the memory root to the tree the run history recorded for ``run_id``, as a
    consolidation of its own (SPEC §7).

    Refused with a MemorydError, before anything changes, when the run is not in the
    history, when its tree would not pass validation, or when a consolidation holds the
    phase-2 lock. Otherwise, under the lock: the working tree becomes that run's tree
    exactly (files added since are removed; ``.git`` is kept), is validated, and becomes
    the new baseline; the run's selection becomes the last successful selection, so the
    next run labels inputs against the restored files: inputs extracted since that run
    are ``added`` again and consolidated on top of them, inputs gone since (forgotten,
    say) are ``removed``. When the current inputs differ from that selection, phase 2 is
    enqueued for exactly that. The rollback is recorded as a succeeded run with reason
    ``rollback to <run>`` and committed to the history with kind ``rollback``."""
    directory = history_dir
    if directory is None:
        raise MemorydError("rollback needs the run history, and none is kept here")
    target = await anyio.to_thread.run_sync(history.load_run, directory, run_id)
    if target.entry.purged:
        raise MemorydError(
            f"cannot roll back to {run_id}: its consolidated files held memories of a "
            "forgotten thread and were purged from the history; roll back to a run "
            "recorded after the forget (`memoryd history`); nothing was changed"
        )
    refusal = await rollback_refusal(
        conn, run_id, target.entry.at_ms, [t for t, _ in target.selection]
    )
    if refusal is not None:
        raise MemorydError(refusal)
    invalid = await anyio.to_thread.run_sync(validate_run_tree, directory, target)
    if invalid is not None:
        raise MemorydError(f"cannot roll back to {run_id}: its tree is not usable ({invalid})")
    outcome, claim = await store.try_claim_global(
        conn,
        worker_id=worker_id,
        now_s=clock.now_s(),
        lease_seconds=p.lease_seconds,
        ignore_backoff=True,
    )
    if claim is None:
        raise MemorydError(locked_message(outcome, f"roll back to {run_id}"))
    reason = f"{ROLLBACK_REASON}{run_id}"
    run = await store.start_run(conn, started_at_ms=clock.now_ms())
    bound = log.bind(run_id=run.run_id, job_kind="memory_consolidate_global")
    wanted = dict(target.selection)
    previous = await store.last_selection(conn)
    result = Phase2Result(
        outcome=Phase2Outcome.FAILED,
        run_id=run.run_id,
        reason=reason,
        added=sum(1 for t, s in wanted.items() if previous.get(t) != s),
        retained=sum(1 for t, s in wanted.items() if previous.get(t) == s),
        removed=sum(1 for t in previous if t not in wanted),
    )
    try:
        with anyio.CancelScope(shield=True):
            result.changed_paths = await anyio.to_thread.run_sync(_restore, root, directory, target)
            await confirm_lock(conn, claim, p.lease_seconds)
            baseline = await anyio.to_thread.run_sync(reset_baseline, root)
    except (OSError, MemorydError, LockLost) as exc:
        why = store.LEASE_LOST if isinstance(exc, LockLost) else str(exc)
        with anyio.CancelScope(shield=True):
            await store.release_global(conn, claim)
            await store.finish_run(
                conn,
                dataclasses.replace(
                    run_record(run, result, RunOutcome.FAILED),
                    reason=f"{reason} failed: {why}",
                ),
            )
        bound.warning("phase2_rollback_failed", target=run_id, reason=why)
        raise MemorydError(f"{reason} failed: {why}") from exc
    record = await record_history(
        conn,
        history_dir,
        root,
        baseline,
        run,
        result,
        bound,
        kind="rollback",
        selection=target.selection,
        rolled_back_to=run_id,
    )
    record = dataclasses.replace(record, reason=reason)
    try:
        await finish_succeeded(
            conn,
            claim,
            record,
            list(target.selection),
            claim.input_watermark,
            [],  # a rollback runs no model: it books no tokens
            await tree_to_publish(conn, root),
        )
    except LockLost as exc:
        raise MemorydError(f"{reason} failed: {store.LEASE_LOST}") from exc
    result.outcome = Phase2Outcome.SUCCEEDED
    current = await store.select_inputs(
        conn, limit=p.max_inputs, max_unused_days=p.max_unused_days, now_s=clock.now_s()
    )
    if set(current.snapshots) != set(target.selection):
        async with immediate(conn) as c:
            await enqueue_global(c, clock.now_s())
    bound.info(
        "phase2_rolled_back",
        target=run_id,
        changed=len(result.changed_paths),
        history_commit=record.history_commit,
    )
    return result


def _restore(root: Path, directory: Path, target: history.HistoryRun) -> list[str]:
    """Worker-thread part of a rollback: the files, then their validation."""
    ensure_baseline(root)
    changed = history.restore(root, directory, target)
    invalid = validate_artifacts(root)
    if invalid is not None:
        raise MemorydError(invalid)
    return changed
