"""Phase 1: claim idle rollouts, extract one memory each in a bounded worker pool, finalise.

One ``Phase1`` object per process. ``run(until_idle=True)`` is ``memoryd run --once``: it
keeps ``phase1.concurrency`` model calls in flight until nothing is claimable. ``run()`` is the
daemon's loop: when nothing is claimable and nothing runs it sleeps until the next moment
something can change (a thread going idle, a backoff or lease ending) or until ``wake()`` is
called (the indexer saw new rows, or a command asked for it). There is no polling.

While a job runs its lease is renewed every ``phase1.heartbeat_seconds``; if a renewal finds
the lease gone (another process took it over), the job is cancelled and its result dropped.
Finalisers are shielded from cancellation, so a job that finished always records how.

``phase1.concurrency`` bounds the model calls, not the jobs: a few more jobs than that are
claimed (PREFETCH_JOBS), so that reading and rendering the next rollout and finalising the
last one happen while every model slot stays busy.

Token budgets (memoryd/budget.py): each model call passes ``Budget.admit`` and its tokens are
booked in ``usage_ledger`` before its model slot is freed, so the next call's check sees them.
While a daily budget is spent nothing is claimed; a job already claimed whose call meets the
spent budget is released unfailed (no retry spent). The daemon then sleeps until the budget's
reset (00:00 UTC) or the next other change; ``run(until_idle=True)`` stops and reports how many
jobs wait (``Phase1Stats.waiting``) and when the budget resets. A job that has spent its
``run_tokens`` starts no further chunk and fails with ``token_limit``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import structlog

from memoryd import clock
from memoryd.budget import Budget, BudgetExhausted, RunTokenLimit, Verdict
from memoryd.config import Config
from memoryd.errors import (
    DESCRIPTOR_HINT,
    DESCRIPTOR_RETRY_SECONDS,
    LeaseLost,
    out_of_descriptors,
)
from memoryd.extract.base import (
    ExtractionRequest,
    Extractor,
    OutputError,
    SizedByContext,
    Stage1Output,
)
from memoryd.extract.output import finalize_output, hollow_field, merge_partials
from memoryd.llm.types import BackendError, Usage
from memoryd.rollouts.limits import ZstLimits
from memoryd.rollouts.render import RolloutUnusable, render_rollout
from memoryd.store import jobs
from memoryd.store.engine import Connection
from memoryd.store.jobs import Candidate, Claim, Eligibility, OutputRow, UsageRow
from memoryd.textutil import excerpt

log = structlog.get_logger("memoryd.phase1")

# Bounds the daemon's sleep when nothing is scheduled, so a clock jump cannot strand it.
MAX_IDLE_SLEEP_SECONDS = 3600.0
# Jobs claimed beyond the model-call slots; they render while the slots are busy. Claims are
# made in batches of at least half of this, unless a model slot would otherwise go idle.
PREFETCH_JOBS = 4
PROGRESS_INTERVAL_SECONDS = 0.25
# Candidates fetched per scan; the ones not claimed at once are tried before the next scan.
SCAN_BATCH = 64


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def eligibility(cfg: Config) -> Eligibility:
    p = cfg.phase1
    return Eligibility(
        allowed_sources=tuple(p.allowed_sources),
        max_age_days=p.max_rollout_age_days,
        min_idle_hours=p.min_rollout_idle_hours,
        honor_codex_generate_memories=p.honor_codex_generate_memories,
    )


@dataclass
class Phase1Stats:
    claimed: int = 0
    succeeded: int = 0
    no_output: int = 0
    failed: int = 0
    lost: int = 0
    deferred: int = 0  # claimed, then given back unfailed: the budget was spent before the call
    waiting: int = 0  # run --once: claimable jobs left for the budget's reset
    budget_reset_at: int | None = None  # when they can run (s since the epoch), if waiting
    budget_reason: str | None = None  # which budget is spent, for people
    errors: list[str] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return self.succeeded + self.no_output + self.failed + self.lost + self.deferred


class Phase1:
    def __init__(
        self,
        conn: Connection,
        cfg: Config,
        extractor: Extractor,
        *,
        worker_id: str | None = None,
        on_progress: Callable[[Phase1Stats, int], None] | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.conn = conn
        self.cfg = cfg
        self.budget = budget or Budget(conn, lambda: self.cfg)
        self.extractor = extractor
        self.worker_id = worker_id or make_worker_id()
        self.on_progress = on_progress
        self.stats = Phase1Stats()
        self.running = 0
        # The jobs being worked on now (pool and forced), thread id -> when they started
        # (monotonic s): a shutdown that runs out of grace says which and for how long.
        self.active: dict[str, float] = {}
        self._changed = anyio.Event()
        self._job_done = anyio.Event()
        self._candidates: list[Candidate] = []
        self._last_report = float("-inf")
        self._model_slots = anyio.CapacityLimiter(cfg.phase1.concurrency)
        self.paused = False
        self._clock_seen_s: int | None = None  # the latest wall-clock time a claim round saw
        # Called after a job stored or deleted an output (the daemon wakes phase 2).
        self.on_output: Callable[[], None] | None = None

    async def wait_idle(self) -> None:
        """Return once no job of this process is running. Several tasks may wait at once (a
        shutdown and phase 2's backlog deferral): a finished job sets the event they share,
        and only a set event is replaced, so no waiter is left on one nobody will set."""
        while self.running:
            if self._job_done.is_set():
                self._job_done = anyio.Event()
            await self._job_done.wait()

    def wake(self) -> None:
        """Something may have become claimable: look again now."""
        self._candidates.clear()  # the next claim scans afresh, so new threads are seen
        self._changed.set()

    async def _claim(self, rules: Eligibility, n: int) -> list[Claim]:
        """Claim up to ``n`` jobs, newest threads first, stopping at the global cap.

        Candidates left over from the last scan are tried before scanning again: the scan is
        the costliest statement of a claim, and the claim re-checks every rule under the
        write lock, so a stale candidate is merely skipped."""
        p = self.cfg.phase1
        claims: list[Claim] = []
        scanned = False
        while len(claims) < n:
            if not self._candidates:
                if scanned:
                    break
                self._candidates = await jobs.scan_candidates(
                    self.conn, rules, now_ms=clock.now_ms(), limit=max(SCAN_BATCH, 2 * n)
                )
                scanned = True
                if not self._candidates:
                    break
            cand = self._candidates.pop(0)
            outcome, claim = await jobs.try_claim(
                self.conn,
                cand,
                worker_id=self.worker_id,
                now_s=clock.now_s(),
                lease_seconds=p.lease_seconds,
                max_running=p.max_running,
                max_retries=p.max_retries,
            )
            if claim is not None:
                claims.append(claim)
            elif outcome is jobs.ClaimOutcome.CAP_REACHED:
                self._candidates.insert(0, cand)
                break
        return claims

    async def run(self, *, until_idle: bool = False) -> Phase1Stats:
        async with anyio.create_task_group() as tg:
            while True:
                p = self.cfg.phase1  # re-read each round: SIGHUP may have replaced the config
                rules = eligibility(self.cfg)
                self._changed = anyio.Event()
                self._model_slots.total_tokens = p.concurrency  # follows a config reload
                free = p.concurrency + PREFETCH_JOBS - self.running
                claims: list[Claim] = []
                blocked: Verdict | None = None
                worth_it = free >= PREFETCH_JOBS // 2 or self.running < p.concurrency
                if free > 0 and worth_it and not self.paused:
                    await self._clamp_if_clock_went_back()
                    verdict = await self.budget.check("phase1")
                    if verdict.exhausted:
                        blocked = verdict  # claim nothing: it would only be given back
                    else:
                        claims = await self._claim(rules, free)
                for c in claims:
                    self.running += 1
                    self.stats.claimed += 1
                    tg.start_soon(self._run_one, c)
                if claims:
                    await self._report(force=False)
                    continue
                if self.running == 0 and until_idle:
                    if blocked is not None:
                        await self._note_waiting(rules, blocked)
                    break
                await self._sleep_until_change(rules, until_idle, blocked)
        await self._report(force=True)
        return self.stats

    async def _note_waiting(self, rules: Eligibility, blocked: Verdict) -> None:
        """``run --once`` does not wait for the reset: say what is left for it."""
        waiting = await jobs.scan_candidates(
            self.conn, rules, now_ms=clock.now_ms(), limit=1_000_000
        )
        self.stats.waiting = len(waiting)
        self.stats.budget_reset_at = blocked.reset_at
        self.stats.budget_reason = str(BudgetExhausted(blocked))

    async def _clamp_if_clock_went_back(self) -> None:
        """On the first round (a restart may follow a jump) and whenever the wall clock went
        backwards, cap leases and backoffs set under the later time (jobs.py explains)."""
        now = clock.now_s()
        if self._clock_seen_s is None or now < self._clock_seen_s:
            p = self.cfg.phase1
            changed = await jobs.clamp_future_deadlines(
                self.conn,
                jobs.STAGE1,
                now_s=now,
                lease_seconds=p.lease_seconds,
                retry_delay_seconds=p.retry_delay_seconds,
            )
            if changed:
                log.warning("clock_went_back", jobs=changed, job_kind=jobs.STAGE1)
        self._clock_seen_s = now

    async def _sleep_until_change(
        self, rules: Eligibility, until_idle: bool, blocked: Verdict | None
    ) -> None:
        if self.running > 0 or until_idle:
            await self._changed.wait()  # a job finishing (or a wake) is the next change
            return
        now = clock.now_ms()
        at = await jobs.next_eligible_at_ms(self.conn, rules, now_ms=now)
        if blocked is not None:  # nothing is claimed before the budget resets
            at = blocked.reset_at * 1000
        delay = MAX_IDLE_SLEEP_SECONDS if at is None else max(0.0, (at - now) / 1000)
        delay = min(delay, MAX_IDLE_SLEEP_SECONDS)
        log.debug("phase1_idle", sleep_seconds=round(delay, 3))
        with anyio.move_on_after(delay + 0.05):
            await self._changed.wait()

    async def _report(self, *, force: bool = False) -> None:
        """Progress for ``run --once`` on a terminal, at most a few times a second: counting
        what remains is a full scan."""
        if self.on_progress is None:
            return
        now = clock.get().monotonic()
        if not force and now - self._last_report < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_report = now
        remaining = len(
            await jobs.scan_candidates(
                self.conn, eligibility(self.cfg), now_ms=clock.now_ms(), limit=1_000_000
            )
        )
        self.on_progress(self.stats, remaining + self.running)

    async def _run_one(self, claim: Claim) -> None:
        try:
            await self.run_job(claim)
        finally:
            self.running -= 1
            self._changed.set()
            self._job_done.set()
            await self._report(force=False)

    async def run_job(self, claim: Claim) -> str:
        """Run one claimed job to a recorded outcome; returns it."""
        tid = claim.candidate.thread_id
        self.active[tid] = clock.get().monotonic()
        try:
            return await self._run_job(claim)
        finally:
            self.active.pop(tid, None)

    async def _run_job(self, claim: Claim) -> str:
        tid = claim.candidate.thread_id
        bound = log.bind(thread_id=tid, job_kind=jobs.STAGE1)
        outcome = "lost"
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._heartbeat, claim, tg.cancel_scope)
                outcome = await self._extract_and_finish(claim, bound)
                tg.cancel_scope.cancel()
        except* LeaseLost:
            outcome = "lost"
        except* anyio.get_cancelled_exc_class():
            # Shutdown: hand the job back now instead of making others wait out the lease.
            with anyio.CancelScope(shield=True):
                await jobs.release_unfinished(self.conn, claim)
            bound.info("stage1_released")
            raise
        if outcome == "lost":
            self.stats.lost += 1
            bound.warning("stage1_lease_lost")
        return outcome

    async def _heartbeat(self, claim: Claim, scope: anyio.CancelScope) -> None:
        p = self.cfg.phase1
        while True:
            await anyio.sleep(p.heartbeat_seconds)
            ok = await jobs.heartbeat(
                self.conn, claim, now_s=clock.now_s(), lease_seconds=p.lease_seconds
            )
            if not ok:
                raise LeaseLost

    async def _extract_and_finish(self, claim: Claim, bound: structlog.BoundLogger) -> str:
        p = self.cfg.phase1
        cand = claim.candidate
        usage: list[UsageRow] = []
        try:
            chunk_tokens = p.max_input_tokens
            if isinstance(self.extractor, SizedByContext):  # the server's context window
                limit = await self.extractor.input_token_limit()
                chunk_tokens = min(chunk_tokens, limit) if limit else chunk_tokens
            rendered = await anyio.to_thread.run_sync(
                lambda: render_rollout(
                    cand.rollout_path,
                    max_tokens=chunk_tokens,
                    max_line_bytes=self.cfg.index.max_line_bytes,
                    zst_limits=ZstLimits.of(self.cfg.index),
                )
            )
            parts: list[Stage1Output] = []
            for i, chunk in enumerate(rendered.chunks):
                request = ExtractionRequest(
                    thread_id=cand.thread_id,
                    rollout_path=cand.rollout_path,
                    cwd=cand.cwd,
                    git_branch=cand.git_branch,
                    rollout_contents=chunk,
                    chunk_index=i,
                    chunk_count=len(rendered.chunks),
                )
                async with self._model_slots:
                    await self.budget.admit("phase1", run_spent=_tokens(usage))
                    try:
                        result = await self.extractor.extract(request)
                    except (BackendError, OutputError) as e:
                        spent = getattr(e, "usage", None)  # an unusable reply still cost tokens
                        if isinstance(spent, Usage):
                            await self._book(
                                usage, self.extractor.name, self.extractor.model, spent, cand
                            )
                        raise
                    await self._book(usage, result.backend, result.model, result.usage, cand)
                parts.append(result.output)
            merged = finalize_output(parts[0] if len(parts) == 1 else merge_partials(parts))
            hollow = None if merged.is_empty() else hollow_field(merged)
            if hollow is not None:
                bound.warning(
                    "stage1_hollow_output", field=hollow, text=excerpt(getattr(merged, hollow))
                )
                merged = Stage1Output(rollout_summary="", raw_memory="", rollout_slug=None)
        except BudgetExhausted as e:
            return await self._defer(claim, str(e), bound)
        except (RolloutUnusable, BackendError, OutputError, OSError, RunTokenLimit) as e:
            if out_of_descriptors(e):  # the machine's shortage, not the rollout's fault
                reason = f"{e} ({DESCRIPTOR_HINT})"
                return await self._fail(claim, reason, bound, transient=True)
            return await self._fail(claim, str(e) or type(e).__name__, bound)
        except Exception as e:  # a bug must not wedge the job: record it, retry later
            bound.exception("stage1_unexpected_error")
            return await self._fail(claim, f"internal error: {type(e).__name__}: {e}", bound)

        now = clock.now_s()
        with anyio.CancelScope(shield=True):
            if merged.is_empty():
                ok = await jobs.finish_no_output(self.conn, claim, now_s=now)
                outcome = "succeeded_no_output"
            else:
                row = OutputRow(
                    raw_memory=merged.raw_memory,
                    rollout_summary=merged.rollout_summary,
                    rollout_slug=merged.rollout_slug,
                    rollout_path=cand.rollout_path,
                    input_first_line=rendered.first_line,
                    input_last_line=rendered.last_line,
                    input_sha256=rendered.sha256,
                    backend=self.extractor.name,
                    model=self.extractor.model,
                    input_tokens=sum(u.input_tokens for u in usage),
                    output_tokens=sum(u.output_tokens for u in usage),
                    chunk_count=len(rendered.chunks),
                )
                ok = await jobs.finish_succeeded(self.conn, claim, row, now_s=now)
                outcome = "succeeded"
        if not ok:
            return "lost"
        if outcome == "succeeded":
            self.stats.succeeded += 1
        else:
            self.stats.no_output += 1
        if self.on_output is not None:
            self.on_output()
        bound.info(
            "stage1_" + outcome,
            chunks=len(rendered.chunks),
            input_tokens=sum(u.input_tokens for u in usage),
            output_tokens=sum(u.output_tokens for u in usage),
        )
        return outcome

    async def _book(
        self, usage: list[UsageRow], backend: str, model: str, spent: Usage, cand: Candidate
    ) -> None:
        """Book one call's tokens in the ledger now (the next budget check counts them) and
        keep them for the job's totals."""
        row = self.budget.row(
            "phase1",
            backend,
            model,
            spent.input_tokens,
            spent.output_tokens,
            thread_id=cand.thread_id,
        )
        usage.append(row)
        with anyio.CancelScope(shield=True):
            await self.budget.book([row])

    async def _defer(self, claim: Claim, reason: str, bound: structlog.BoundLogger) -> str:
        """The budget is spent: give the job back untried; it runs after the reset."""
        with anyio.CancelScope(shield=True):
            await jobs.release_unfinished(self.conn, claim)
        self.stats.deferred += 1
        bound.info("stage1_waiting_for_budget", reason=reason)
        return "deferred"

    async def _fail(
        self, claim: Claim, reason: str, bound: structlog.BoundLogger, *, transient: bool = False
    ) -> str:
        """``transient``: out of file descriptors; retried soon, and no retry is spent."""
        reason = reason.strip().splitlines()[0][:1000] if reason.strip() else "failed"
        delay = self.cfg.phase1.retry_delay_seconds
        with anyio.CancelScope(shield=True):
            ok = await jobs.finish_failed(
                self.conn,
                claim,
                reason,
                now_s=clock.now_s(),
                retry_delay_seconds=min(delay, DESCRIPTOR_RETRY_SECONDS) if transient else delay,
                spend_retry=not transient,
            )
        if not ok:
            return "lost"
        self.stats.failed += 1
        self.stats.errors.append(f"{claim.candidate.thread_id}: {reason}")
        bound.warning("stage1_failed", reason=reason)
        return "failed"


def _tokens(usage: list[UsageRow]) -> int:
    return sum(u.input_tokens + u.output_tokens for u in usage)


def progress_line(stats: Phase1Stats, remaining: int) -> str:
    return (
        f"phase 1: {stats.succeeded} done, {stats.no_output} no output, {stats.failed} failed, "
        f"{remaining} remaining"
    )
