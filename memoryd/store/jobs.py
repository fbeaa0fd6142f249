"""Stage-1 job claims, heartbeats and finalisers, and the phase-2 watermark.

The rules are Codex's (reference/codex-memories.md §4.2-§4.5, §6.1) so the two stores can be
compared row for row; SPEC §3 differs in applying the "already extracted" check inside the scan
query, before the limit, and in heartbeating leases. Every claim is one ``BEGIN IMMEDIATE``
transaction, and every later write on a claimed job is fenced by its ``ownership_token``: a
write that matches no row means the lease was lost, and the caller drops its result.

Times in ``jobs`` and ``stage1_outputs`` are whole seconds; ``threads.updated_at`` is ms.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from memoryd.errors import LeaseLost
from memoryd.store.control_state import get_state, set_state
from memoryd.store.db import immediate
from memoryd.store.engine import (
    EVENT_OUTPUTS,
    Connection,
    PgConnection,
    execute_last,
    host_of,
    notify,
)

STAGE1 = "memory_stage1"
GLOBAL = "memory_consolidate_global"
GLOBAL_KEY = "global"
DEFAULT_RETRY_REMAINING = 3


class ClaimOutcome(enum.Enum):
    CLAIMED = "claimed"
    UP_TO_DATE = "up_to_date"
    RUNNING = "running"
    BACKOFF = "backoff"
    EXHAUSTED = "exhausted"
    CAP_REACHED = "cap_reached"  # Codex reports this as "running"; we stop a batch on it


@dataclass(frozen=True, slots=True)
class Candidate:
    thread_id: str
    rollout_path: str
    cwd: str
    git_branch: str | None
    updated_at_ms: int

    @property
    def watermark(self) -> int:
        """S: the thread's ``updated_at`` in whole seconds, the stage-1 input watermark."""
        return self.updated_at_ms // 1000


@dataclass(frozen=True, slots=True)
class Claim:
    candidate: Candidate
    token: str
    worker_id: str
    lease_until: int


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The phase-1 selection rules (SPEC §3), from config."""

    allowed_sources: tuple[str, ...]
    max_age_days: float
    min_idle_hours: float
    honor_codex_generate_memories: bool = False


@dataclass(frozen=True, slots=True)
class UsageRow:
    phase: str
    backend: str
    model: str
    input_tokens: int
    output_tokens: int
    thread_id: str | None = None
    run_id: str | None = None
    cost_estimate: float | None = None


@dataclass(frozen=True, slots=True)
class OutputRow:
    raw_memory: str
    rollout_summary: str
    rollout_slug: str | None
    rollout_path: str
    input_first_line: int
    input_last_line: int
    input_sha256: str
    backend: str
    model: str
    input_tokens: int
    output_tokens: int
    chunk_count: int


def _window(rules: Eligibility, now_ms: int) -> tuple[int, int]:
    oldest = now_ms - int(max(rules.max_age_days, 0) * 86_400_000)
    newest = now_ms - int(max(rules.min_idle_hours, 0) * 3_600_000)
    return oldest, newest


def _source_list(rules: Eligibility) -> str:
    return ",".join(f":s{i}" for i in range(len(rules.allowed_sources)))


def _source_params(rules: Eligibility) -> dict[str, object]:
    return {f"s{i}": src for i, src in enumerate(rules.allowed_sources)}


# The scan walks only threads whose current version is not extracted yet (the partial index
# of migration 0002); without the hint the planner would prefer threads_claim and step over
# every thread ever extracted on each scan.
#
# A thread is claimable when it is eligible, not extracted at this updated_at, and its job (if
# any) is not freshly leased, not in backoff and not out of retries for this input. The last
# three repeat the claim's own conditions so that the scan's LIMIT is spent on threads that can
# actually be claimed (the claim re-checks them under the write lock).
_CANDIDATES_SQL = """
SELECT t.id, t.rollout_path, t.cwd, t.git_branch, t.updated_at
FROM threads t INDEXED BY threads_stage1_pending
LEFT JOIN jobs j ON j.kind = 'memory_stage1' AND j.job_key = t.id
WHERE t.stage1_pending = 1
  AND t.host_id = :host
  AND t.archived = 0
  AND t.preview <> ''
  AND t.index_error IS NULL
  AND t.source IN ({sources})
  AND t.memory_mode = 'enabled'
  AND (:honor = 0 OR t.memory_mode_at_start IS NULL OR t.memory_mode_at_start <> 'disabled')
  AND t.updated_at >= :oldest AND t.updated_at <= :newest
  AND NOT EXISTS (SELECT 1 FROM stage1_outputs o
                  WHERE o.thread_id = t.id AND o.source_updated_at >= t.updated_at / 1000)
  AND (j.job_key IS NULL OR (
        COALESCE(j.last_success_watermark, -1) < t.updated_at / 1000
    AND NOT (j.status = 'running' AND j.lease_until IS NOT NULL AND j.lease_until > :now)
    AND (j.retry_at IS NULL OR j.retry_at <= :now
         OR t.updated_at / 1000 > COALESCE(j.input_watermark, -1))
    AND (j.retry_remaining > 0 OR t.updated_at / 1000 > COALESCE(j.input_watermark, -1))))
ORDER BY t.updated_at DESC
LIMIT :limit
"""


async def scan_candidates(
    conn: Connection, rules: Eligibility, *, now_ms: int, limit: int
) -> list[Candidate]:
    """Claimable threads, newest first; every filter is applied before the limit."""
    if limit <= 0 or not rules.allowed_sources:
        return []
    oldest, newest = _window(rules, now_ms)
    params = _source_params(rules)
    params.update(
        honor=int(rules.honor_codex_generate_memories),
        oldest=oldest,
        newest=newest,
        now=now_ms // 1000,
        limit=limit,
        host=host_of(conn),
    )
    sql = _CANDIDATES_SQL.format(sources=_source_list(rules))
    async with conn.execute(sql, params) as cur:
        rows = await cur.fetchall()
    return [Candidate(str(r[0]), str(r[1]), str(r[2]), r[3], int(r[4])) for r in rows]


@dataclass
class Skipped:
    """Indexed rollouts phase 1 never takes, by reason (``status`` and ``run --once`` say so:
    a ``codex exec`` session skipped without a word looks like a bug)."""

    total: int = 0
    source_not_allowed: dict[str, int] = field(default_factory=dict)  # source -> n
    no_user_message: int = 0
    memory_mode_off: dict[str, int] = field(default_factory=dict)  # mode -> n


# The index_error the indexer stores for a rollout without a user message: phase 1 skips it, so
# the reason is stored instead of leaving the thread silently ineligible.
NO_USER_MESSAGE = "no user message found: nothing to learn from, so it is not extracted"


async def skipped_counts(conn: Connection, rules: Eligibility) -> Skipped:
    """Live, readable threads (not archived, indexed without error but the missing user
    message) that phase 1 skips for good: a source not in ``phase1.allowed_sources``, no user
    message, a memory mode other than ``enabled`` (disabled or polluted by Codex, forgotten by
    the user), in that order."""
    sources = _source_list(rules)
    params = {**_source_params(rules), "no_user": NO_USER_MESSAGE, "host": host_of(conn)}
    out = Skipped()
    live = "host_id = :host AND archived = 0 AND (index_error IS NULL OR index_error = :no_user)"
    async with conn.execute(
        f"SELECT source, count(*) FROM threads WHERE {live} AND source NOT IN ({sources}) "
        "GROUP BY source ORDER BY source",
        params,
    ) as cur:
        out.source_not_allowed = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
    async with conn.execute(
        f"SELECT count(*) FROM threads WHERE {live} AND source IN ({sources}) AND preview = ''",
        params,
    ) as cur:
        row = await cur.fetchone()
    out.no_user_message = int(row[0]) if row else 0
    async with conn.execute(
        f"SELECT memory_mode, count(*) FROM threads WHERE {live} AND source IN ({sources}) "
        "AND preview <> '' AND memory_mode <> 'enabled' GROUP BY memory_mode ORDER BY 1",
        params,
    ) as cur:
        out.memory_mode_off = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
    out.total = (
        sum(out.source_not_allowed.values())
        + out.no_user_message
        + sum(out.memory_mode_off.values())
    )
    return out


async def next_eligible_at_ms(conn: Connection, rules: Eligibility, *, now_ms: int) -> int | None:
    """The earliest future moment a thread that is not claimable now may become so: a recent
    thread going idle, a backoff ending, a lease expiring. None when nothing is pending."""
    _oldest, newest = _window(rules, now_ms)
    idle_ms = int(max(rules.min_idle_hours, 0) * 3_600_000)
    sources = _source_list(rules)
    params = _source_params(rules)
    params.update(newest=newest, now=now_ms // 1000, host=host_of(conn))
    moments: list[int] = []
    async with conn.execute(
        f"""SELECT MIN(updated_at) FROM threads
            WHERE host_id = :host AND archived = 0 AND preview <> '' AND index_error IS NULL
              AND memory_mode = 'enabled' AND source IN ({sources})
              AND updated_at > :newest""",
        params,
    ) as cur:
        row = await cur.fetchone()
    if row and row[0] is not None:
        moments.append(int(row[0]) + idle_ms)
    async with conn.execute(
        """SELECT MIN(CASE WHEN status = 'running' THEN lease_until ELSE retry_at END)
           FROM jobs
           WHERE kind = 'memory_stage1'
             AND ((status = 'running' AND lease_until > :now)
                  OR (status = 'error' AND retry_at > :now AND retry_remaining > 0))""",
        params,
    ) as cur:
        row = await cur.fetchone()
    if row and row[0] is not None:
        moments.append(int(row[0]) * 1000)
    return min(moments) if moments else None


# What a claim decides on: whether the thread is extracted at this watermark, how many other
# jobs hold a live lease (the global cap), and the job row if there is one.
_UP_TO_DATE_AND_RUNNING = """
     EXISTS (SELECT 1 FROM stage1_outputs
             WHERE thread_id = :key AND source_updated_at >= :s),
     (SELECT count(*) FROM jobs
      WHERE kind = :kind AND status = 'running' AND lease_until IS NOT NULL
        AND lease_until > :now AND job_key <> :key)"""
_JOB_COLUMNS = """j.status, j.lease_until, j.retry_at, j.retry_remaining, j.input_watermark,
     j.last_success_watermark, j.job_key"""
_CLAIM_STATE_SQL = f"""SELECT {_UP_TO_DATE_AND_RUNNING}, {_JOB_COLUMNS}
   FROM (SELECT 1) AS one LEFT JOIN jobs j ON j.kind = :kind AND j.job_key = :key"""

# PostgreSQL: every host's claims take this transaction-scoped lock first, so that counting
# the running jobs and taking one more is one step across hosts (the cap is global). It is
# held only for the claim's few statements; heartbeats and finalisers never take it.
CLAIM_LOCK_KEY = 0x6D656D6F72796401


async def lock_job_row_pg(
    c: PgConnection, columns: str, kind: str, key: str
) -> tuple[bool, Sequence[Any] | None]:
    """(busy, row): the job row locked ``FOR UPDATE SKIP LOCKED`` for this transaction, None
    when there is none; busy when another transaction holds it (its owner finalising or
    heartbeating), which a claim reads as "running"."""
    params = {"kind": kind, "key": key}
    row = await c.execute_fetchall(
        f"SELECT {columns} FROM jobs j WHERE j.kind = :kind AND j.job_key = :key "
        "FOR UPDATE SKIP LOCKED",
        params,
    )
    if row:
        return False, row[0]
    busy = await c.execute_fetchall(
        "SELECT 1 FROM jobs WHERE kind = :kind AND job_key = :key", params
    )
    return bool(busy), None


async def _claim_state_pg(c: PgConnection, params: dict[str, Any]) -> Sequence[Any] | None:
    """The claim's inputs on PostgreSQL, its job row locked; None when that row is busy."""
    await c.execute("SELECT pg_advisory_xact_lock(?)", (CLAIM_LOCK_KEY,))
    busy, job = await lock_job_row_pg(c, _JOB_COLUMNS, STAGE1, params["key"])
    if busy:
        return None
    ((up_to_date, running),) = await c.execute_fetchall(f"SELECT {_UP_TO_DATE_AND_RUNNING}", params)
    return (up_to_date, running, *(job if job is not None else (None,) * 7))


async def try_claim(
    conn: Connection,
    cand: Candidate,
    *,
    worker_id: str,
    now_s: int,
    lease_seconds: int,
    max_running: int,
    max_retries: int = DEFAULT_RETRY_REMAINING,
) -> tuple[ClaimOutcome, Claim | None]:
    """Codex's ``try_claim_stage1_job`` in one ``BEGIN IMMEDIATE`` transaction.

    ``max_retries`` (``phase1.max_retries``) is the retry budget a new job, or a job whose
    input advanced, starts with."""
    s = cand.watermark
    token = str(uuid.uuid4())
    lease_until = now_s + max(lease_seconds, 0)
    key = cand.thread_id
    async with immediate(conn) as c:
        params: dict[str, Any] = {"key": key, "s": s, "kind": STAGE1, "now": now_s}
        state: Sequence[Any] | None
        if isinstance(c, PgConnection):
            state = await _claim_state_pg(c, params)
            if state is None:  # another host's transaction is writing this job right now
                return ClaimOutcome.RUNNING, None
        else:
            # Everything the decision needs in one statement: on a shared connection each
            # statement is a trip to aiosqlite's thread, and the write lock is held meanwhile.
            (state,) = await c.execute_fetchall(_CLAIM_STATE_SQL, params)
        up_to_date, running_others, *job = state
        if up_to_date or (job[5] is not None and int(job[5]) >= s):
            return ClaimOutcome.UP_TO_DATE, None
        existing = job if job[6] is not None else None  # job_key is NULL: no row yet
        if running_others >= max_running:
            return ClaimOutcome.CAP_REACHED, None
        if existing is None:
            await execute_last(
                c,
                "INSERT INTO jobs (kind, job_key, status, worker_id, ownership_token, "
                "started_at, finished_at, lease_until, retry_at, retry_remaining, last_error, "
                "input_watermark, last_success_watermark) "
                "VALUES (?, ?, 'running', ?, ?, ?, NULL, ?, NULL, ?, NULL, ?, NULL)",
                (STAGE1, key, worker_id, token, now_s, lease_until, max_retries, s),
            )
            return ClaimOutcome.CLAIMED, Claim(cand, token, worker_id, lease_until)
        status, lease, retry_at, retry_remaining, input_wm, _, _ = existing
        advanced = s > (int(input_wm) if input_wm is not None else -1)
        leased = status == "running" and lease is not None and int(lease) > now_s
        in_backoff = retry_at is not None and int(retry_at) > now_s and not advanced
        exhausted = int(retry_remaining) <= 0 and not advanced
        if not (leased or in_backoff or exhausted):
            await execute_last(
                c,
                "UPDATE jobs SET status = 'running', worker_id = ?, ownership_token = ?, "
                "started_at = ?, finished_at = NULL, lease_until = ?, retry_at = NULL, "
                "last_error = NULL, input_watermark = ?, "
                "retry_remaining = CASE WHEN ? = 1 THEN ? ELSE retry_remaining END "
                "WHERE kind = ? AND job_key = ?",
                (
                    worker_id,
                    token,
                    now_s,
                    lease_until,
                    s,
                    int(advanced),
                    max_retries,
                    STAGE1,
                    key,
                ),
            )
            return ClaimOutcome.CLAIMED, Claim(cand, token, worker_id, lease_until)
    if exhausted:
        return ClaimOutcome.EXHAUSTED, None
    if in_backoff:
        return ClaimOutcome.BACKOFF, None
    return ClaimOutcome.RUNNING, None


async def heartbeat(conn: Connection, claim: Claim, *, now_s: int, lease_seconds: int) -> bool:
    """Renew the lease; False means it was lost (taken over, or finalised elsewhere)."""
    async with immediate(conn) as c:
        owned = await c.execute_fetchall(
            "UPDATE jobs SET lease_until = ? WHERE kind = ? AND job_key = ? "
            "AND status = 'running' AND ownership_token = ? RETURNING 1",
            (now_s + lease_seconds, STAGE1, claim.candidate.thread_id, claim.token),
        )
    return len(list(owned)) == 1


_ENQUEUE_GLOBAL = """INSERT INTO jobs (kind, job_key, status, retry_remaining, input_watermark,
                         last_success_watermark)
       VALUES (?, ?, 'pending', ?, ?, 0)
       ON CONFLICT(kind, job_key) DO UPDATE SET
         status = CASE WHEN jobs.status = 'running' THEN 'running' ELSE 'pending' END,
         retry_at = CASE WHEN jobs.status = 'running' THEN jobs.retry_at ELSE NULL END,
         retry_remaining = CASE WHEN jobs.retry_remaining > excluded.retry_remaining
                                THEN jobs.retry_remaining ELSE excluded.retry_remaining END,
         input_watermark = CASE
           WHEN excluded.input_watermark > COALESCE(jobs.input_watermark, 0)
           THEN excluded.input_watermark
           ELSE COALESCE(jobs.input_watermark, 0) + 1 END"""


async def enqueue_global(conn: Connection, watermark: int, *, last: bool = False) -> None:
    """Advance the phase-2 job's input watermark, strictly increasing (reference §6.1).
    Must run inside the caller's transaction; ``last``: as its last statement
    (:func:`execute_last`: every host's finalisers lock this one row). Wakes the other
    hosts' phase 2 on PostgreSQL."""
    params = (GLOBAL, GLOBAL_KEY, DEFAULT_RETRY_REMAINING, watermark)
    await notify(conn, EVENT_OUTPUTS)  # every host's phase 2 has input (sent at the COMMIT)
    if last:
        await execute_last(conn, _ENQUEUE_GLOBAL, params)
    else:
        await conn.execute(_ENQUEUE_GLOBAL, params)


async def insert_usage(conn: Connection, usage: Sequence[UsageRow], at_ms: int) -> None:
    """Ledger rows, inside the caller's transaction (phase 1 books each model call through
    memoryd/budget.py as it returns; phase 2 books a run with its record)."""
    if usage:
        await conn.executemany(
            "INSERT INTO usage_ledger (at, phase, backend, model, input_tokens, output_tokens, "
            "cost_estimate, thread_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    at_ms,
                    u.phase,
                    u.backend,
                    u.model,
                    u.input_tokens,
                    u.output_tokens,
                    u.cost_estimate,
                    u.thread_id,
                    u.run_id,
                )
                for u in usage
            ],
        )


_OWNED = "kind = 'memory_stage1' AND job_key = ? AND status = 'running' AND ownership_token = ?"


async def _mark_done(c: Connection, claim: Claim, now_s: int) -> bool:
    await c.execute(
        "UPDATE threads SET stage1_pending = 0 WHERE id = ? AND updated_at / 1000 <= ?",
        (claim.candidate.thread_id, claim.candidate.watermark),
    )
    owned = await c.execute_fetchall(
        "UPDATE jobs SET status = 'done', finished_at = ?, lease_until = NULL, "
        f"last_error = NULL, last_success_watermark = input_watermark WHERE {_OWNED} RETURNING 1",
        (now_s, claim.candidate.thread_id, claim.token),
    )
    return len(list(owned)) == 1


async def finish_succeeded(
    conn: Connection,
    claim: Claim,
    out: OutputRow,
    *,
    now_s: int,
) -> bool:
    """Store the output and advance phase 2; False (nothing written) if the lease was lost."""
    s = claim.candidate.watermark
    try:
        async with immediate(conn) as c:
            if not await _mark_done(c, claim, now_s):
                raise LeaseLost
            await c.execute(
                """INSERT INTO stage1_outputs (thread_id, source_updated_at, raw_memory,
                     rollout_summary, rollout_slug, generated_at, rollout_path,
                     input_first_line, input_last_line, input_sha256, backend, model,
                     input_tokens, output_tokens, chunk_count)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(thread_id) DO UPDATE SET
                     source_updated_at = excluded.source_updated_at,
                     raw_memory = excluded.raw_memory,
                     rollout_summary = excluded.rollout_summary,
                     rollout_slug = excluded.rollout_slug,
                     generated_at = excluded.generated_at,
                     rollout_path = excluded.rollout_path,
                     input_first_line = excluded.input_first_line,
                     input_last_line = excluded.input_last_line,
                     input_sha256 = excluded.input_sha256,
                     backend = excluded.backend, model = excluded.model,
                     input_tokens = excluded.input_tokens,
                     output_tokens = excluded.output_tokens,
                     chunk_count = excluded.chunk_count
                   WHERE excluded.source_updated_at >= stage1_outputs.source_updated_at""",
                (
                    claim.candidate.thread_id,
                    s,
                    out.raw_memory,
                    out.rollout_summary,
                    out.rollout_slug,
                    now_s,
                    out.rollout_path,
                    out.input_first_line,
                    out.input_last_line,
                    out.input_sha256,
                    out.backend,
                    out.model,
                    out.input_tokens,
                    out.output_tokens,
                    out.chunk_count,
                ),
            )
            await enqueue_global(c, s, last=True)
    except LeaseLost:
        return False
    return True


async def finish_no_output(
    conn: Connection,
    claim: Claim,
    *,
    now_s: int,
) -> bool:
    """Done with nothing worth keeping: delete an earlier output (and then advance phase 2)."""
    try:
        async with immediate(conn) as c:
            if not await _mark_done(c, claim, now_s):
                raise LeaseLost
            deleted = await c.execute_fetchall(
                "DELETE FROM stage1_outputs WHERE thread_id = ? RETURNING 1",
                (claim.candidate.thread_id,),
            )
            if list(deleted):
                await enqueue_global(c, claim.candidate.watermark)
    except LeaseLost:
        return False
    return True


async def finish_failed(
    conn: Connection,
    claim: Claim,
    reason: str,
    *,
    now_s: int,
    retry_delay_seconds: int,
    spend_retry: bool = True,
) -> bool:
    """Record the failure with its reason; retry after the backoff, one retry fewer unless
    ``spend_retry`` is False (the cause was the machine's, not the job's: out of file
    descriptors, say)."""
    try:
        async with immediate(conn) as c:
            owned = await c.execute_fetchall(
                "UPDATE jobs SET status = 'error', finished_at = ?, lease_until = NULL, "
                "retry_at = ?, retry_remaining = retry_remaining - ?, last_error = ? "
                f"WHERE {_OWNED} RETURNING 1",
                (
                    now_s,
                    now_s + retry_delay_seconds,
                    1 if spend_retry else 0,
                    reason,
                    claim.candidate.thread_id,
                    claim.token,
                ),
            )
            if not list(owned):
                raise LeaseLost
    except LeaseLost:
        return False
    return True


async def release_unfinished(conn: Connection, claim: Claim) -> None:
    """Give a job back (at shutdown, or when the token budget is spent before its model call)
    so another worker need not wait out the lease. The job was not tried, so no retry is
    spent; it is ``pending`` again, as if never claimed."""
    async with immediate(conn) as c:
        await c.execute(
            f"UPDATE jobs SET status = 'pending', lease_until = NULL WHERE {_OWNED}",
            (claim.candidate.thread_id, claim.token),
        )


async def clamp_future_deadlines(
    conn: Connection,
    kind: str,
    *,
    now_s: int,
    lease_seconds: int,
    retry_delay_seconds: int,
) -> int:
    """Pull deadlines that lie further ahead than they can have been set back to their
    normal length; returns how many jobs changed.

    Leases, backoffs and finish times are absolute wall-clock seconds. After the clock jumps
    backwards (an NTP step, a corrected RTC, a restored VM) a lease a dead worker took just
    before would look fresh for the size of the jump plus a lease, a backoff would last the
    jump plus the delay, and phase 2's interval would count from a finish "in the future":
    a jump back of years strands the jobs for years. No lease is ever granted for more than
    ``lease_seconds`` from now, no backoff for more than ``retry_delay_seconds``, and nothing
    finished later than now, so capping them loses nothing: a live worker's lease stays
    ahead of now (its heartbeat renews it) and is never taken over early."""
    async with immediate(conn) as c:
        changed = await c.execute_fetchall(
            # CASE, not SQLite's two-argument MIN: both engines accept it, and a NULL stays NULL
            """UPDATE jobs SET
                 lease_until = CASE WHEN lease_until > :lease_end THEN :lease_end
                                    ELSE lease_until END,
                 retry_at = CASE WHEN retry_at > :retry_end THEN :retry_end ELSE retry_at END,
                 finished_at = CASE WHEN finished_at > :now THEN :now ELSE finished_at END
               WHERE kind = :kind
                 AND (lease_until > :lease_end OR retry_at > :retry_end OR finished_at > :now)
               RETURNING 1""",
            {
                "kind": kind,
                "now": now_s,
                "lease_end": now_s + max(lease_seconds, 0),
                "retry_end": now_s + max(retry_delay_seconds, 0),
            },
        )
    return len(list(changed))


# --------------------------------------------------------------------------------------------
# Control commands: pause, forced claims, job listings (memoryd/control/commands.py)


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"


JOB_STATUSES = tuple(JobStatus)
JOB_KINDS = (STAGE1, GLOBAL)
_PAUSED_KEY = "paused"


def _paused_key(conn: Connection) -> str:
    """Pausing is a host's own: ``memoryd pause`` on a laptop stops that laptop's model calls
    and leaves the other hosts sharing a PostgreSQL state running (and running after their
    restart). On SQLite there is one host and the key is the plain one."""
    host = host_of(conn)
    return f"{_PAUSED_KEY}:{host}" if host else _PAUSED_KEY


async def get_paused(conn: Connection) -> bool:
    """Whether ``memoryd pause`` is in effect; kept in the DB so a restart stays paused."""
    return await get_state(conn, _paused_key(conn)) == "1"


async def set_paused(conn: Connection, paused: bool) -> None:
    key = _paused_key(conn)
    async with immediate(conn) as c:
        await set_state(c, key, "1" if paused else "0")


async def thread_candidate(conn: Connection, thread_id: str) -> tuple[Candidate | None, str | None]:
    """The thread as a claim candidate regardless of how long it has been idle (``trigger
    phase1 --thread``), or None and why it can never be extracted. The claim itself still
    applies every lease, backoff and up-to-date rule."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT id, rollout_path, cwd, git_branch, updated_at, archived, memory_mode, "
            "index_error, preview, host_id FROM threads WHERE id = ?",
            (thread_id,),
        )
    )
    if not rows:
        return None, f"no thread with id {thread_id} has been indexed"
    tid, path, cwd, branch, updated, archived, mode, index_error, preview, host = rows[0]
    if host != host_of(conn):  # its rollout is on that host: only that host reads it
        return None, f"thread {tid} is on another host ({host}); it is extracted there"
    if archived:
        return None, f"thread {tid} is archived; archived sessions are never extracted"
    if mode != "enabled":
        return None, f"thread {tid} has memory_mode {mode}"
    if not preview:  # the indexer stored why (index_error): NO_USER_MESSAGE
        return None, f"thread {tid} has no user message to learn from"
    if index_error is not None:
        return None, f"thread {tid} could not be indexed: {index_error}"
    return Candidate(str(tid), str(path), str(cwd), branch, int(updated)), None


async def job_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """kind -> status -> number of jobs."""
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in await conn.execute_fetchall(
        "SELECT kind, status, count(*) FROM jobs GROUP BY kind, status ORDER BY kind, status"
    ):
        out.setdefault(str(kind), {})[str(status)] = int(n)
    return out


@dataclass(frozen=True, slots=True)
class JobRow:
    """One ``jobs`` row as ``memoryd jobs`` and ``status`` show it (times in s)."""

    kind: str
    job_key: str
    status: JobStatus
    worker_id: str | None
    started_at: int | None
    finished_at: int | None
    lease_until: int | None
    retry_at: int | None
    retry_remaining: int
    last_error: str | None


async def list_jobs(
    conn: Connection,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 200,
) -> list[JobRow]:
    """Jobs, most recently started first, optionally of one status and kind."""
    rows = await conn.execute_fetchall(
        "SELECT kind, job_key, status, worker_id, started_at, finished_at, lease_until, "
        "retry_at, retry_remaining, last_error FROM jobs "
        "WHERE (:status IS NULL OR status = :status) AND (:kind IS NULL OR kind = :kind) "
        "ORDER BY COALESCE(started_at, 0) DESC, kind, job_key LIMIT :limit",
        {"status": status, "kind": kind, "limit": limit},
    )
    return [JobRow(r[0], r[1], JobStatus(r[2]), *r[3:]) for r in rows]
