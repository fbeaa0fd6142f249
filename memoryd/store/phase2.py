"""Phase 2 in the state DB: the global lock, input selection, run records and retention.

The lock is Codex's singleton ``memory_consolidate_global``/``global`` job row (reference
§6.1-§6.2), claimed in one ``BEGIN IMMEDIATE`` transaction with a fresh UUIDv4 ownership token
that fences every later write (heartbeat, success, failure). Two differences from Codex, both
from SPEC §4 and §9: the lease is the caller's ``phase2.lease_seconds`` (default 3600), and
instead of Codex's fixed 6-hour cooldown after a success the caller passes
``min_interval_seconds`` (the daemon: ``phase2.min_interval_seconds``; ``run --once`` and
``trigger``: 0). As in Codex, an exhausted retry budget never blocks a claim: the lock only
serialises runs, and the git diff decides whether there is work.

Selection ranks the non-empty stage-1 outputs of enabled threads as Codex does (§6.4) and labels
each input against the last successful selection, which is kept in ``phase2_selection`` so that
a thread whose output was deleted since is still reported as removed.

Times in ``jobs`` and ``stage1_outputs`` are whole seconds; ``phase2_runs`` times are ms.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from memoryd.errors import LockLost
from memoryd.layout import rollout_summary_stem
from memoryd.store.db import immediate
from memoryd.store.engine import EVENT_LOCK, Connection, PgConnection, notify
from memoryd.store.jobs import (
    DEFAULT_RETRY_REMAINING,
    GLOBAL,
    GLOBAL_KEY,
    UsageRow,
    insert_usage,
    lock_job_row_pg,
)
from memoryd.store.published import insert_tree

DAY_SECONDS = 86_400
PRUNE_BATCH = 200  # Codex's retention prune batch (reference §4.6)
LEASE_LOST = "lease_lost"  # the reason stored for a run whose lock was taken over

# What "blank" means for a stage-1 field: Codex trims before its emptiness check (§6.4).
# SQLite's one-argument trim() strips spaces only, so name the characters.
_BLANK = " \t\n\r\f\v"


class GlobalClaimOutcome(enum.Enum):
    CLAIMED = "claimed"
    RUNNING = "running"  # another worker holds a fresh lease
    BACKOFF = "backoff"  # the last run failed; retry_at is in the future
    COOLDOWN = "cooldown"  # the last run succeeded less than min_interval_seconds ago


@dataclass(frozen=True, slots=True)
class GlobalClaim:
    token: str
    worker_id: str
    input_watermark: int  # the job's input watermark when claimed (NULL reads as 0)
    claimed_at: int  # s
    lease_until: int  # s


class RunOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # the agent ran and the new baseline was recorded
    NOOP = "noop"  # nothing differed from the baseline: success without an agent
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Phase2RunRecord:
    """One ``phase2_runs`` row. Build the final one with :func:`dataclasses.replace`."""

    run_id: str
    started_at_ms: int
    outcome: RunOutcome = RunOutcome.RUNNING
    finished_at_ms: int | None = None
    reason: str | None = None
    inputs_added: int = 0
    inputs_retained: int = 0
    inputs_removed: int = 0
    history_commit: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    """One selected stage-1 output joined with its thread (a row of ``select_inputs``), as the
    artifact files (memroot/artifacts.py) need it."""

    thread_id: str
    source_updated_at: int  # seconds since the epoch, UTC
    rollout_path: str
    cwd: str
    git_branch: str | None
    rollout_summary: str
    raw_memory: str
    rollout_slug: str | None = None

    @property
    def stem(self) -> str:
        return rollout_summary_stem(self.thread_id, self.source_updated_at, self.rollout_slug)


@dataclass(frozen=True, slots=True)
class Selection:
    """The inputs of one consolidation, and how they differ from the last successful one.

    Labels are thread ids in thread-id order:

    * ``retained``: selected now at exactly the snapshot (``source_updated_at``) the last
      success consumed, so its content is already consolidated;
    * ``added``: selected now and either not selected last time, or selected at an older
      snapshot that phase 1 has since refreshed (those are also listed in ``refreshed``):
      either way there is content the consolidated files do not reflect yet. This is Codex's
      rule (``retained_thread_ids`` = exact snapshot matches, added = the rest);
    * ``removed``: consumed by the last success and not selected now, for whatever reason: a
      deleted output, a disabled or polluted thread, a memory unused for too long, or one that
      ranked below the limit.
    """

    rows: tuple[ArtifactRow, ...]  # thread-id order
    added: tuple[str, ...]
    retained: tuple[str, ...]
    removed: tuple[str, ...]
    refreshed: tuple[str, ...]  # the part of ``added`` that was selected before at another snapshot
    previous: Mapping[str, int]  # the last success's selection: thread id -> source_updated_at

    @property
    def snapshots(self) -> tuple[tuple[str, int], ...]:
        """The (thread_id, source_updated_at) pairs to pass to :func:`finish_global_succeeded`."""
        return tuple((r.thread_id, r.source_updated_at) for r in self.rows)

    @property
    def max_source_updated_at(self) -> int:
        """The newest selected snapshot (0 when nothing is selected): the completion watermark
        is ``max(claim.input_watermark, this)`` (reference §6.3 step 5)."""
        return max((r.source_updated_at for r in self.rows), default=0)


_GLOBAL_ROW = f"kind = '{GLOBAL}' AND job_key = '{GLOBAL_KEY}'"
_OWNED = f"{_GLOBAL_ROW} AND status = 'running' AND ownership_token = ?"


# --------------------------------------------------------------------------------------------
# The lock


async def try_claim_global(
    conn: Connection,
    *,
    worker_id: str,
    now_s: int,
    lease_seconds: int,
    min_interval_seconds: int = 0,
    ignore_backoff: bool = False,
) -> tuple[GlobalClaimOutcome, GlobalClaim | None]:
    """Claim the phase-2 lock (Codex's ``try_claim_global_phase2_job``), creating the job row
    if it is missing. Checked in Codex's order: a failure's backoff (skipped with
    ``ignore_backoff``), then a fresh lease held by anyone (a stale one is taken over), then
    the interval since the last success (only when ``min_interval_seconds`` > 0). The retry
    budget is not consulted."""
    token = str(uuid.uuid4())
    lease_until = now_s + max(lease_seconds, 0)
    async with immediate(conn) as c:
        columns = "status, lease_until, retry_at, input_watermark, finished_at, last_error"
        if isinstance(c, PgConnection):
            # Other hosts: the row is locked for this transaction, or skipped while another
            # transaction holds it (its owner heartbeating or finalising: the lock is busy).
            busy, row = await lock_job_row_pg(c, columns, GLOBAL, GLOBAL_KEY)
            if busy:
                return GlobalClaimOutcome.RUNNING, None
            rows = [row] if row is not None else []
        else:
            rows = list(await c.execute_fetchall(f"SELECT {columns} FROM jobs WHERE {_GLOBAL_ROW}"))
        if not rows:
            # ON CONFLICT: on PostgreSQL another host may create the row at the same moment;
            # it then holds the lock.
            created = await c.execute_fetchall(
                "INSERT INTO jobs (kind, job_key, status, worker_id, ownership_token, "
                "started_at, finished_at, lease_until, retry_at, retry_remaining, last_error, "
                "input_watermark, last_success_watermark) "
                "VALUES (?, ?, 'running', ?, ?, ?, NULL, ?, NULL, ?, NULL, 0, 0) "
                "ON CONFLICT (kind, job_key) DO NOTHING RETURNING 1",
                (GLOBAL, GLOBAL_KEY, worker_id, token, now_s, lease_until, DEFAULT_RETRY_REMAINING),
            )
            if not list(created):
                return GlobalClaimOutcome.RUNNING, None
            return GlobalClaimOutcome.CLAIMED, GlobalClaim(token, worker_id, 0, now_s, lease_until)
        status, lease, retry_at, input_wm, finished_at, last_error = rows[0]
        if not ignore_backoff and retry_at is not None and int(retry_at) > now_s:
            return GlobalClaimOutcome.BACKOFF, None
        if status == "running" and lease is not None and int(lease) > now_s:
            return GlobalClaimOutcome.RUNNING, None
        if (
            min_interval_seconds > 0
            and last_error is None
            and finished_at is not None
            and int(finished_at) + min_interval_seconds > now_s
        ):
            return GlobalClaimOutcome.COOLDOWN, None
        await c.execute(
            "UPDATE jobs SET status = 'running', worker_id = ?, ownership_token = ?, "
            "started_at = ?, finished_at = NULL, lease_until = ?, retry_at = NULL, "
            f"last_error = NULL WHERE {_GLOBAL_ROW}",
            (worker_id, token, now_s, lease_until),
        )
    watermark = int(input_wm) if input_wm is not None else 0
    return GlobalClaimOutcome.CLAIMED, GlobalClaim(token, worker_id, watermark, now_s, lease_until)


async def next_claim_at(conn: Connection, *, now_s: int, min_interval_seconds: int = 0) -> int:
    """The earliest second at which :func:`try_claim_global` may succeed (``now_s`` if it may
    now): the end of a backoff, of a fresh lease, or of the interval after a success."""
    rows = list(
        await conn.execute_fetchall(
            f"SELECT status, lease_until, retry_at, finished_at, last_error FROM jobs "
            f"WHERE {_GLOBAL_ROW}"
        )
    )
    if not rows:
        return now_s
    status, lease, retry_at, finished_at, last_error = rows[0]
    moments = [now_s]
    if retry_at is not None:
        moments.append(int(retry_at))
    if status == "running" and lease is not None:
        moments.append(int(lease))
    if min_interval_seconds > 0 and last_error is None and finished_at is not None:
        moments.append(int(finished_at) + min_interval_seconds)
    return max(moments)


async def lock_held(conn: Connection, *, now_s: int) -> bool:
    """Whether a live lease holds the lock at ``now_s`` (a run in this process, or another
    host's, including one that took the lock over from a run of ours)."""
    rows = await conn.execute_fetchall(
        f"SELECT 1 FROM jobs WHERE {_GLOBAL_ROW} AND status = 'running' AND lease_until > ?",
        (now_s,),
    )
    return bool(list(rows))


async def heartbeat_global(
    conn: Connection, claim: GlobalClaim, now_s: int, lease_seconds: int
) -> bool:
    """Renew the lease; False means the lock was lost (taken over, or finalised elsewhere)."""
    async with immediate(conn) as c:
        owned = await c.execute_fetchall(
            f"UPDATE jobs SET lease_until = ? WHERE {_OWNED} RETURNING 1",
            (now_s + max(lease_seconds, 0), claim.token),
        )
    return len(list(owned)) == 1


async def release_global(conn: Connection, claim: GlobalClaim) -> bool:
    """Give the lock back at shutdown without a verdict: no retry is spent, no backoff or
    interval starts, and the next claim (by anyone) may take it at once."""
    async with immediate(conn) as c:
        owned = await c.execute_fetchall(
            f"UPDATE jobs SET lease_until = 0 WHERE {_OWNED} RETURNING 1", (claim.token,)
        )
        await notify(c, EVENT_LOCK)  # another host's phase 2 may claim it now
    return len(list(owned)) == 1


async def is_dirty(conn: Connection) -> bool:
    """Whether phase-1 results arrived (or were deleted) since the last successful
    consolidation: the supervisor's cheap trigger. The git diff of the memory root still
    decides whether the agent runs, and user edits are not seen here."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT COALESCE(input_watermark, 0) > COALESCE(last_success_watermark, 0) "
            f"FROM jobs WHERE {_GLOBAL_ROW}"
        )
    )
    return bool(rows and rows[0][0])


# --------------------------------------------------------------------------------------------
# Run records


def new_run_id(at_ms: int) -> str:
    """``20261122T041210Z-1a2b3c4d``: sortable by start time, short enough to type."""
    stamp = datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


_UPSERT_RUN = """
INSERT INTO phase2_runs (run_id, started_at, finished_at, outcome, reason, inputs_added,
                         inputs_retained, inputs_removed, history_commit, input_tokens,
                         output_tokens)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(run_id) DO UPDATE SET
  started_at = excluded.started_at, finished_at = excluded.finished_at,
  outcome = excluded.outcome, reason = excluded.reason,
  inputs_added = excluded.inputs_added, inputs_retained = excluded.inputs_retained,
  inputs_removed = excluded.inputs_removed, history_commit = excluded.history_commit,
  input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens
"""


async def _write_run(conn: Connection, run: Phase2RunRecord) -> None:
    await conn.execute(
        _UPSERT_RUN,
        (
            run.run_id,
            run.started_at_ms,
            run.finished_at_ms,
            str(run.outcome),
            run.reason,
            run.inputs_added,
            run.inputs_retained,
            run.inputs_removed,
            run.history_commit,
            run.input_tokens,
            run.output_tokens,
        ),
    )


async def start_run(
    conn: Connection, *, started_at_ms: int, run_id: str | None = None
) -> Phase2RunRecord:
    """Record a consolidation attempt as running (call it once the lock is claimed)."""
    run = Phase2RunRecord(run_id=run_id or new_run_id(started_at_ms), started_at_ms=started_at_ms)
    async with immediate(conn) as c:
        await _write_run(c, run)
    return run


async def finish_run(
    conn: Connection, run: Phase2RunRecord, *, usage: Sequence[UsageRow] = ()
) -> None:
    """Write a run record as it stands (and the model calls it made), whatever its outcome;
    for the paths that do not go through the lock's finalisers."""
    async with immediate(conn) as c:
        await _write_run(c, run)
        await insert_usage(c, usage, run.finished_at_ms or run.started_at_ms)


async def get_run(conn: Connection, run_id: str) -> Phase2RunRecord | None:
    rows = await _runs(conn, "WHERE run_id = ?", (run_id,))
    return rows[0] if rows else None


async def recent_runs(conn: Connection, limit: int = 20) -> list[Phase2RunRecord]:
    """The latest runs, newest first."""
    return await _runs(conn, "ORDER BY started_at DESC, run_id DESC LIMIT ?", (limit,))


async def _runs(conn: Connection, tail: str, params: tuple[object, ...]) -> list[Phase2RunRecord]:
    rows = await conn.execute_fetchall(
        "SELECT run_id, started_at, outcome, finished_at, reason, inputs_added, "
        "inputs_retained, inputs_removed, history_commit, input_tokens, output_tokens "
        f"FROM phase2_runs {tail}",
        params,
    )
    return [
        Phase2RunRecord(
            run_id=str(r[0]),
            started_at_ms=int(r[1]),
            outcome=RunOutcome(r[2]),
            finished_at_ms=None if r[3] is None else int(r[3]),
            reason=r[4],
            inputs_added=int(r[5]),
            inputs_retained=int(r[6]),
            inputs_removed=int(r[7]),
            history_commit=r[8],
            input_tokens=int(r[9]),
            output_tokens=int(r[10]),
        )
        for r in rows
    ]


# --------------------------------------------------------------------------------------------
# Finalisers


async def finish_global_succeeded(
    conn: Connection,
    claim: GlobalClaim,
    *,
    now_s: int,
    completed_watermark: int,
    selected: Sequence[tuple[str, int]],
    run: Phase2RunRecord,
    usage: Sequence[UsageRow] = (),
    tree: Mapping[str, bytes] | None = None,
) -> bool:
    """Mark the run a success (Codex's ``mark_global_phase2_job_succeeded``), in one
    transaction fenced by the claim's token: the job is done with ``last_success_watermark =
    max(existing, completed_watermark)``; exactly the consumed ``(thread_id,
    source_updated_at)`` snapshots are marked ``selected_for_phase2`` (a row phase 1 refreshed
    meanwhile is not) and every other mark is cleared; the consumed set becomes the last
    successful selection; ``run`` (outcome ``succeeded`` or ``noop``) is written; ``tree``
    (the new baseline's files), when given, is published with that selection for the other
    hosts (memoryd/store/published.py; only on PostgreSQL).

    If the lock was lost, none of that happens: the run is recorded as failed with reason
    ``lease_lost`` (its model usage too) and False is returned; the caller must not reset
    the baseline."""
    if run.outcome not in (RunOutcome.SUCCEEDED, RunOutcome.NOOP):
        raise ValueError(f"a successful run cannot have outcome {run.outcome!s}")
    finished = (
        run
        if run.finished_at_ms is not None
        else dataclasses.replace(run, finished_at_ms=now_s * 1000)
    )
    pairs = list(dict(selected).items())  # one snapshot per thread, the last one given
    try:
        async with immediate(conn) as c:
            owned = await c.execute_fetchall(
                "UPDATE jobs SET status = 'done', finished_at = ?, lease_until = NULL, "
                "last_error = NULL, "
                "last_success_watermark = CASE WHEN COALESCE(last_success_watermark, 0) > ? "
                "THEN last_success_watermark ELSE ? END "
                f"WHERE {_OWNED} RETURNING 1",
                (now_s, completed_watermark, completed_watermark, claim.token),
            )
            if not list(owned):
                raise LockLost
            await c.execute(
                "UPDATE stage1_outputs SET selected_for_phase2 = 0, "
                "selected_for_phase2_source_updated_at = NULL "
                "WHERE selected_for_phase2 <> 0 "
                "OR selected_for_phase2_source_updated_at IS NOT NULL"
            )
            await c.executemany(
                "UPDATE stage1_outputs SET selected_for_phase2 = 1, "
                "selected_for_phase2_source_updated_at = source_updated_at "
                "WHERE thread_id = ? AND source_updated_at = ?",
                pairs,
            )
            await c.execute("DELETE FROM phase2_selection")
            await c.executemany(
                "INSERT INTO phase2_selection (thread_id, source_updated_at) VALUES (?, ?)", pairs
            )
            await _write_run(c, finished)
            await insert_usage(c, usage, now_s * 1000)
            if tree is not None:
                await insert_tree(
                    c, run_id=run.run_id, files=tree, selection=pairs, now_ms=now_s * 1000
                )
            await notify(c, EVENT_LOCK)
    except LockLost:
        await finish_run(
            conn,
            dataclasses.replace(
                finished, outcome=RunOutcome.FAILED, reason=LEASE_LOST, history_commit=None
            ),
            usage=usage,
        )
        return False
    return True


async def finish_global_failed(
    conn: Connection,
    claim: GlobalClaim,
    reason: str,
    *,
    now_s: int,
    retry_delay_seconds: int,
    run: Phase2RunRecord | None = None,
    usage: Sequence[UsageRow] = (),
) -> bool:
    """Record a failure (Codex's ``mark_global_phase2_job_failed``), fenced by the token:
    ``error``, the reason kept, retry after ``retry_delay_seconds``, one retry fewer (not
    below 0). The run record (outcome ``failed``, this reason) and usage are written even if
    the lock was lost meanwhile, since the run failed either way. Returns whether the job row
    was ours; if not, the caller may try :func:`fail_global_if_unowned`."""
    async with immediate(conn) as c:
        owned = await c.execute_fetchall(
            "UPDATE jobs SET status = 'error', finished_at = ?, lease_until = NULL, "
            "retry_at = ?, retry_remaining = CASE WHEN retry_remaining > 0 "
            "THEN retry_remaining - 1 ELSE 0 END, last_error = ? "
            f"WHERE {_OWNED} RETURNING 1",
            (now_s, now_s + max(retry_delay_seconds, 0), reason, claim.token),
        )
        if run is not None:
            await _write_run(
                c,
                dataclasses.replace(
                    run,
                    outcome=RunOutcome.FAILED,
                    reason=reason,
                    finished_at_ms=run.finished_at_ms or now_s * 1000,
                ),
            )
        await insert_usage(c, usage, now_s * 1000)
        await notify(c, EVENT_LOCK)
    return len(list(owned)) == 1


async def fail_global_if_unowned(
    conn: Connection,
    reason: str,
    *,
    token: str | None,
    now_s: int,
    retry_delay_seconds: int,
) -> bool:
    """The fallback failure (Codex's ``mark_global_phase2_job_failed_if_unowned``): the same
    transition for a running row whose token is ``token`` or NULL, which recovers a running
    row that lost its owner."""
    async with immediate(conn) as c:
        owned = await c.execute_fetchall(
            "UPDATE jobs SET status = 'error', finished_at = ?, lease_until = NULL, "
            "retry_at = ?, retry_remaining = CASE WHEN retry_remaining > 0 "
            "THEN retry_remaining - 1 ELSE 0 END, last_error = ? "
            f"WHERE {_GLOBAL_ROW} AND status = 'running' "
            "AND (ownership_token = ? OR ownership_token IS NULL) RETURNING 1",
            (now_s, now_s + max(retry_delay_seconds, 0), reason, token),
        )
    return len(list(owned)) == 1


# --------------------------------------------------------------------------------------------
# Selection and retention


_SELECT_SQL = f"""
SELECT o.thread_id, o.source_updated_at, t.rollout_path, t.cwd, t.git_branch,
       o.rollout_summary, o.raw_memory, o.rollout_slug
FROM stage1_outputs o JOIN threads t ON t.id = o.thread_id
WHERE t.memory_mode = 'enabled'
  AND (length(trim(o.raw_memory, '{_BLANK}')) > 0
       OR length(trim(o.rollout_summary, '{_BLANK}')) > 0)
  AND COALESCE(o.last_usage, o.source_updated_at) >= :cutoff
ORDER BY COALESCE(o.usage_count, 0) DESC,
         COALESCE(o.last_usage, o.source_updated_at) DESC,
         o.source_updated_at DESC,
         o.thread_id DESC
LIMIT :limit
"""


async def last_selection(conn: Connection) -> dict[str, int]:
    """What the last successful consolidation consumed: thread id -> source_updated_at."""
    rows = await conn.execute_fetchall("SELECT thread_id, source_updated_at FROM phase2_selection")
    return {str(r[0]): int(r[1]) for r in rows}


async def select_inputs(
    conn: Connection, *, limit: int, max_unused_days: float, now_s: int
) -> Selection:
    """The top ``limit`` phase-2 inputs (reference §6.4): non-empty outputs of threads whose
    ``memory_mode`` is ``enabled``, used or (never used and) updated within
    ``max_unused_days``, ranked by usage count, then last use (else source time), then
    source time, then thread id; returned in thread-id order, labelled against the last
    successful selection. Archived threads are not excluded (as in Codex)."""
    cutoff = now_s - int(max(max_unused_days, 0) * DAY_SECONDS)
    rows: list[ArtifactRow] = []
    if limit > 0:
        fetched = await conn.execute_fetchall(_SELECT_SQL, {"cutoff": cutoff, "limit": limit})
        rows = [
            ArtifactRow(
                thread_id=str(r[0]),
                source_updated_at=int(r[1]),
                rollout_path=str(r[2]),
                cwd=str(r[3]),
                git_branch=r[4],
                rollout_summary=str(r[5]),
                raw_memory=str(r[6]),
                rollout_slug=r[7],
            )
            for r in fetched
        ]
        rows.sort(key=lambda a: a.thread_id)
    previous = await last_selection(conn)
    added: list[str] = []
    retained: list[str] = []
    refreshed: list[str] = []
    for row in rows:
        before = previous.get(row.thread_id)
        if before == row.source_updated_at:
            retained.append(row.thread_id)
        else:
            added.append(row.thread_id)
            if before is not None:
                refreshed.append(row.thread_id)
    current = {r.thread_id for r in rows}
    removed = sorted(tid for tid in previous if tid not in current)
    return Selection(
        rows=tuple(rows),
        added=tuple(added),
        retained=tuple(retained),
        removed=tuple(removed),
        refreshed=tuple(refreshed),
        previous=previous,
    )


async def prune_stage1_outputs(
    conn: Connection, max_unused_days: float, now_s: int, limit: int = PRUNE_BATCH
) -> int:
    """Codex's retention prune (reference §4.6): delete up to ``limit`` outputs, stalest
    first, that the last successful consolidation did not consume and that were neither used
    nor updated within ``max_unused_days``. Jobs rows stay, so an unchanged thread is not
    extracted again. Returns the number deleted."""
    if limit <= 0:
        return 0
    cutoff = now_s - int(max(max_unused_days, 0) * DAY_SECONDS)
    async with immediate(conn) as c:
        deleted = await c.execute_fetchall(
            """DELETE FROM stage1_outputs WHERE thread_id IN (
                 SELECT thread_id FROM stage1_outputs
                 WHERE selected_for_phase2 = 0
                   AND COALESCE(last_usage, source_updated_at) < ?
                 ORDER BY COALESCE(last_usage, source_updated_at), source_updated_at, thread_id
                 LIMIT ?)
               RETURNING 1""",
            (cutoff, limit),
        )
    return len(list(deleted))
