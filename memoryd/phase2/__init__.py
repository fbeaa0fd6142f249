"""Phase 2: one consolidation run, under the global lock (SPEC §4 "Run", in its order).

claim the lock → make sure the memory root has a git baseline → select the inputs → write
``rollout_summaries/`` and ``raw_memories.md`` → prune expired extension resources → diff the
root against the baseline; nothing changed: record success, done → write the diff file →
run the consolidation agent with the lock heartbeated → validate ``memory_summary.md`` (first
line ``v1``) and ``MEMORY.md`` → confirm ownership → reset the baseline to one fresh commit,
remove the diff file, record success and the exact snapshots consumed.

Any failure leaves the baseline alone (the next run sees the same diff), stores the reason and
backs off ``phase2.retry_delay_seconds``. A user who edits a file while the agent runs keeps
the edit: the new baseline records that file's pre-run content, so the edit is in the next
run's diff; if the agent rewrote the same file, the user's version is saved beside it as
``<name>.user-edit-<run>.md`` and reported.

Each success that changed the root is also committed to the run history
(memoryd/workspace/history.py) before the success is recorded, while the lock is still held;
``Consolidator.rollback`` restores a recorded run through the same lock.

All file-system and git work runs in worker threads; the DB work on the shared connection.

Token budgets (memoryd/budget.py): while a daily budget that applies to phase 2 is spent no
consolidation starts (outcome ``budget``, the lock is not taken); otherwise the agent's tokens
are capped at ``min(run_tokens, what is left today)`` (``ConsolidationInput.max_tokens``). The
agent's usage is booked with the run record, for failed runs too.

This module owns the order (:class:`Consolidator`, the entry point of the daemon and the
command line); each step lives in a module of its own: ``lease`` (claim, heartbeat, confirm),
``prepare`` (the sync and the diff), ``edits`` (what in the diff is the user's), ``agent``
(the agent run and the offline fallback), ``validate``, ``record`` (the run history and the
tree published), ``materialise`` (another host's tree), ``rollback``, and ``result`` (what an
attempt reports).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Literal

import anyio
import structlog

from memoryd import clock
from memoryd.budget import Budget, BudgetExhausted
from memoryd.config import Config
from memoryd.consolidate.base import ConsolidationAgent, ConsolidationInput
from memoryd.errors import (
    DESCRIPTOR_HINT,
    DESCRIPTOR_RETRY_SECONDS,
    LockLost,
    MemorydError,
    out_of_descriptors,
)
from memoryd.layout import MEMORY_FILE
from memoryd.llm.types import Usage
from memoryd.phase2.agent import run_agent
from memoryd.phase2.edits import (
    edits_to_consolidate,
    only_compressed_renames,
    read_all,
    reconcile_mid_run_edits,
)
from memoryd.phase2.lease import claim_lock, confirm_lock, finish_succeeded, keep_lock
from memoryd.phase2.materialise import Materialised, take_published
from memoryd.phase2.prepare import prepare_root
from memoryd.phase2.record import purge_history, record_history, tree_to_publish
from memoryd.phase2.result import Failed, Phase2Outcome, Phase2Result, run_record
from memoryd.phase2.rollback import roll_back
from memoryd.phase2.validate import validate_artifacts
from memoryd.store import phase2 as store
from memoryd.store.db import immediate
from memoryd.store.engine import Connection
from memoryd.store.jobs import UsageRow, enqueue_global
from memoryd.store.phase2 import GlobalClaim, GlobalClaimOutcome, Phase2RunRecord, RunOutcome
from memoryd.workspace.baseline import remove_diff_file, reset_baseline, snapshot, write_diff_file

log = structlog.get_logger("memoryd.phase2")


class Consolidator:
    """Runs consolidations for one process; at most one per DB runs anywhere (the lock)."""

    def __init__(
        self,
        conn: Connection,
        cfg: Config,
        agent: ConsolidationAgent,
        *,
        root: Path,
        codex_home: Path,
        worker_id: str,
        budget: Budget | None = None,
        history_dir: Path | None = None,
        state_dir: Path | None = None,
    ) -> None:
        """``history_dir``: the run history repository (memoryd/workspace/history.py); None records
        no history and makes :meth:`rollback` unavailable. ``state_dir``: where this host
        remembers the last ``clear`` its root follows (PostgreSQL; None follows none)."""
        self.conn = conn
        self.cfg = cfg
        self.budget = budget or Budget(conn, lambda: self.cfg)
        self.agent = agent
        self.root = root
        self.codex_home = codex_home
        self.worker_id = worker_id
        self.history_dir = history_dir
        self.state_dir = state_dir
        self._usage: list[UsageRow] = []
        self._max_tokens: int | None = None  # this run's agent token cap from the budget
        # One writer of the root in this process: a consolidation, a rollback, or the
        # materialisation of a tree another host published.
        self._root_guard = anyio.Lock()

    async def run_once(self, *, min_interval_seconds: int = 0) -> Phase2Result:
        """One attempt: claim the lock (or report why not) and run to a recorded outcome."""
        async with self._root_guard:
            return await self._run_once(min_interval_seconds)

    async def materialise(self) -> Materialised | None:
        """Bring the newest tree another host published into this root, after recording the
        ones this host missed in its run history (:func:`take_published`; PostgreSQL; None on
        SQLite, or when the root already holds it). This host's unconsolidated edits are kept
        (:func:`materialise_tree`) and phase 2 is enqueued for them: they are consolidated
        here, by the next run this host makes under the lock, and published from there."""
        async with self._root_guard:
            # Read under the guard: a run of ours that ends meanwhile publishes a newer tree,
            # which must not be overwritten by the one read before it.
            taken = await take_published(
                self.conn,
                self.history_dir,
                self.root,
                log,
                max_file_bytes=self.cfg.phase2.max_file_bytes,
            )
        if taken is None:
            return None
        tree, done = taken
        if done is None:
            return None
        log.info(
            "phase2_materialised",
            run_id=done.run_id,
            from_host=tree.host_id,
            changed=len(done.changed),
            edits_kept=done.kept,
            edits_saved=done.saved,
        )
        if done.kept or done.saved:
            async with immediate(self.conn) as c:
                await enqueue_global(c, clock.now_s())
        return done

    async def _run_once(self, min_interval_seconds: int) -> Phase2Result:
        p = self.cfg.phase2
        try:
            self._max_tokens = await self.budget.run_allowance("phase2")
        except BudgetExhausted as e:
            reset_at = e.verdict.reset_at
            return Phase2Result(
                outcome=Phase2Outcome.BUDGET, reason=str(e), budget_reset_at=reset_at
            )
        outcome, claim = await claim_lock(
            self.conn, p, worker_id=self.worker_id, min_interval_seconds=min_interval_seconds
        )
        if claim is None:
            return Phase2Result(outcome=Phase2Outcome(outcome.value))
        assert outcome is GlobalClaimOutcome.CLAIMED
        self._usage = []
        run = await store.start_run(self.conn, started_at_ms=clock.now_ms())
        bound = log.bind(run_id=run.run_id, job_kind="memory_consolidate_global")
        result = Phase2Result(outcome=Phase2Outcome.FAILED, run_id=run.run_id)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    partial(
                        keep_lock,
                        self.conn,
                        claim,
                        heartbeat_seconds=self.cfg.phase2.heartbeat_seconds,
                        lease_seconds=self.cfg.phase2.lease_seconds,
                    )
                )
                await self._run_failing_cleanly(claim, run, result, bound)
                tg.cancel_scope.cancel()
        except* LockLost:
            result.outcome, result.reason = Phase2Outcome.FAILED, store.LEASE_LOST
            bound.warning("phase2_lock_lost")
        except* anyio.get_cancelled_exc_class():
            # Shutdown mid-run: the baseline is untouched, so the next run sees the same
            # diff; give the lock back now rather than making it wait out the lease.
            with anyio.CancelScope(shield=True):
                await store.release_global(self.conn, claim)
                await store.finish_run(
                    self.conn,
                    dataclasses.replace(
                        run_record(run, result, RunOutcome.FAILED), reason="stopped"
                    ),
                    usage=self._usage,
                )
            bound.info("phase2_released")
            raise
        except* Failed as eg:
            reason = str(eg.exceptions[0])
            delay = p.retry_delay_seconds
            if out_of_descriptors(eg.exceptions[0]):
                reason = f"{reason} ({DESCRIPTOR_HINT})"
                delay = min(delay, DESCRIPTOR_RETRY_SECONDS)
            result.outcome, result.reason = Phase2Outcome.FAILED, reason
            failed = dataclasses.replace(
                run_record(run, result),
                outcome=RunOutcome.FAILED,
                reason=reason,
                finished_at_ms=clock.now_ms(),
            )
            with anyio.CancelScope(shield=True):
                await store.finish_global_failed(
                    self.conn,
                    claim,
                    reason,
                    now_s=clock.now_s(),
                    retry_delay_seconds=delay,
                    run=failed,
                    usage=self._usage,
                )
            bound.warning("phase2_failed", reason=reason, retry_seconds=delay)
        return result

    async def _run_failing_cleanly(
        self,
        claim: GlobalClaim,
        run: Phase2RunRecord,
        result: Phase2Result,
        bound: structlog.stdlib.BoundLogger,
    ) -> None:
        """``_run``, with a file-system error after the preparation (the root turned read-only
        or the disk filled while the agent ran, so the diff file or the new baseline cannot be
        written) made the run's stored failure, like one during it, instead of an exception
        that escapes ``run_once`` and stops the daemon's phase-2 task."""
        try:
            await self._run(claim, run, result, bound)
        except Failed:
            raise
        except (OSError, MemorydError) as e:
            raise Failed(f"writing the memory root failed: {e}") from e
        except RecursionError as e:  # a tree too deep for some library's recursive walk
            raise Failed(f"the memory root is nested too deeply: {e}") from e

    async def _run(
        self,
        claim: GlobalClaim,
        run: Phase2RunRecord,
        result: Phase2Result,
        bound: structlog.stdlib.BoundLogger,
    ) -> None:
        p = self.cfg.phase2
        root = self.root
        prepared = await prepare_root(
            self.conn,
            p,
            bound,
            root=root,
            codex_home=self.codex_home,
            state_dir=self.state_dir,
            history_dir=self.history_dir,
        )
        selection, pruned, diff = prepared.selection, prepared.pruned, prepared.diff
        rows = list(selection.rows)
        big = p.max_file_bytes
        if diff.too_big:
            bound.warning(
                "phase2_files_too_big",
                files=list(diff.too_big),
                max_file_bytes=big,
                hint="left out of the baseline, the diff and the history; raise "
                "phase2.max_file_bytes or move them out of the memory root",
            )
        result.added, result.retained, result.removed = (
            len(selection.added),
            len(selection.retained),
            len(selection.removed),
        )
        selected = list(selection.snapshots)
        watermark = max(claim.input_watermark, selection.max_source_updated_at)
        if only_compressed_renames(diff):
            # Fold the new paths into the baseline; the agent has nothing to learn from them.
            await confirm_lock(self.conn, claim, p.lease_seconds)
            await anyio.to_thread.run_sync(reset_baseline, root)
            bound.info("phase2_compressed_renames_only", files=len(diff.changes))
            diff = dataclasses.replace(diff, changes=())
        # No inputs, none gone and no edit of the user's: there is nothing for a model to
        # consolidate (a model run on an empty input list costs minutes of a local server for
        # nothing). A user's note is input of its own: it must not wait for the first memory.
        edits = edits_to_consolidate(diff)
        nothing_to_do = not rows and not selection.removed and not edits
        if diff.is_empty or nothing_to_do:
            await purge_history(self.conn, self.history_dir, bound)
            await finish_succeeded(
                self.conn,
                claim,
                run_record(run, result, RunOutcome.NOOP),
                selected,
                watermark,
                self._usage,
                await tree_to_publish(self.conn, self.root),
            )
            result.outcome = Phase2Outcome.NOOP
            event = "phase2_nothing_changed" if diff.is_empty else "phase2_nothing_to_consolidate"
            bound.info(event, inputs=len(rows), pruned=len(pruned))
            return
        result.changed_paths = [*diff.added, *diff.modified, *diff.deleted]
        await anyio.to_thread.run_sync(write_diff_file, root, diff)
        mode: Literal["init", "incremental"] = (
            "incremental" if (root / MEMORY_FILE).exists() else "init"
        )
        before = await anyio.to_thread.run_sync(lambda: snapshot(root, max_file_bytes=big))
        before_bytes = await anyio.to_thread.run_sync(read_all, root, before)
        bound.info(
            "phase2_agent_started",
            mode=mode,
            agent=self.agent.name,
            added=result.added,
            retained=result.retained,
            removed=result.removed,
            changed=len(result.changed_paths),
            edits=len(edits),
        )
        request = ConsolidationInput(
            root=str(root),
            mode=mode,
            added=list(selection.added),
            retained=list(selection.retained),
            removed=list(selection.removed),
            diff_file="phase2_workspace_diff.md",
            run_id=run.run_id,
            max_tokens=self._max_tokens,
        )
        agent_result, fell_back = await run_agent(
            self.agent,
            request,
            bound,
            offline_fallback=p.offline_fallback,
            book=partial(self._book, run, result),
        )
        invalid = await anyio.to_thread.run_sync(validate_artifacts, root)
        if invalid is not None:
            raise Failed(invalid)
        after = await anyio.to_thread.run_sync(lambda: snapshot(root, max_file_bytes=big))
        keep, saved = await anyio.to_thread.run_sync(
            reconcile_mid_run_edits, root, before, before_bytes, after, agent_result, run.run_id
        )
        if saved:
            bound.warning("phase2_user_edit_preserved", files=saved)
        result.user_edits_kept = sorted(keep)
        # A lost lock must never reset the baseline: confirm ownership right before.
        await confirm_lock(self.conn, claim, p.lease_seconds)
        baseline = await anyio.to_thread.run_sync(
            lambda: reset_baseline(root, keep=keep or None, max_file_bytes=big)
        )
        await anyio.to_thread.run_sync(remove_diff_file, root)
        # Recorded while the lock is held, so history commits follow the runs' order.
        record = await record_history(
            self.conn,
            self.history_dir,
            self.root,
            baseline,
            run,
            result,
            bound,
            kind="consolidation",
            selection=selected,
        )
        await purge_history(self.conn, self.history_dir, bound)
        if fell_back is not None:
            record = dataclasses.replace(record, reason=fell_back)
            result.reason = fell_back
        await finish_succeeded(
            self.conn,
            claim,
            record,
            selected,
            watermark,
            self._usage,
            await tree_to_publish(self.conn, self.root),
        )
        result.outcome = Phase2Outcome.SUCCEEDED
        bound.info(
            "phase2_succeeded",
            turns=agent_result.turns,
            written=len(agent_result.written),
            deleted=len(agent_result.deleted),
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
        )

    def _book(
        self, run: Phase2RunRecord, result: Phase2Result, backend: str, model: str, spent: Usage
    ) -> None:
        """The agent's usage, booked with the run record when the run ends."""
        row = self.budget.row(
            "phase2", backend, model, spent.input_tokens, spent.output_tokens, run_id=run.run_id
        )
        self._usage = [row]
        result.input_tokens, result.output_tokens = spent.input_tokens, spent.output_tokens

    async def rollback(self, run_id: str) -> Phase2Result:
        """Restore the memory root to the tree the run history recorded for ``run_id``
        (:func:`~memoryd.phase2.rollback.roll_back`), as this process's one writer of the root."""
        async with self._root_guard:
            return await roll_back(
                self.conn,
                self.cfg.phase2,
                run_id,
                root=self.root,
                worker_id=self.worker_id,
                history_dir=self.history_dir,
            )
