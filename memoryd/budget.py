"""Token budgets and the usage ledger (SPEC §2 ``usage_ledger``, §5 budgets, §7 status).

Every model call's tokens are booked in ``usage_ledger`` as soon as the call returns, with a
cost estimate when ``[budget.prices]`` names the model. The ledger is the only record of
spend, so every process on the DB (the daemon, ``run --once``) sees the same totals.

Limits (``[budget]`` in the config, 0 = unlimited):

* ``daily_tokens``: both phases together per UTC day; the day resets at 00:00 UTC.
* ``phase1.daily_tokens`` / ``phase2.daily_tokens``: one phase's own spend per UTC day, on
  top of the shared cap.
* ``run_tokens`` (``phaseN.run_tokens`` replaces it for that phase when non-zero): one run,
  i.e. one phase-1 extraction job (its later chunks do not start) or one phase-2
  consolidation (the agent stops with reason ``token_limit``).

A model call starts only while the spend is below every limit that applies, so calls already
in flight may overshoot a limit by at most what they use. A phase-2 consolidation is capped
up front at what is left of its limits when it starts; phase-1 calls made meanwhile count
against the shared cap too, so the day may overshoot by those as well.

``Budget`` is the gate, one per process and shared by both phases, so that one exhaustion is
logged once (``budget_exhausted`` with spent / limit / reset_at) however many jobs meet it,
and its end once (``budget_reset``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import msgspec
import structlog

from memoryd import clock
from memoryd.config import Config
from memoryd.errors import MemorydError
from memoryd.store.db import immediate
from memoryd.store.engine import Connection
from memoryd.store.jobs import UsageRow, insert_usage
from memoryd.store.usage import spent_since

log = structlog.get_logger("memoryd.budget")

Phase = Literal["phase1", "phase2"]
PHASES: tuple[Phase, ...] = ("phase1", "phase2")
DAY_SECONDS = 86_400
RESETS = "daily at 00:00 UTC"
SHARED_KEY = "budget.daily_tokens"


class PhaseBudget(msgspec.Struct, kw_only=True):
    phase: str  # "phase1" | "phase2"
    spent_today: int  # tokens (input + output) booked since the last reset
    daily_limit: int  # this phase's own daily cap; 0 = none (the shared one still applies)
    run_limit: int  # the run limit in force for this phase; 0 = unlimited
    exhausted: bool  # this phase starts no model call until reset_at (either cap reached)
    cost_today: float | None = None  # estimated, when prices are configured


class BudgetStatus(msgspec.Struct, kw_only=True):
    spent_today: int  # both phases
    daily_limit: int  # 0 = unlimited
    reset_at: int  # s since the epoch: the next reset (00:00 UTC)
    exhausted: bool  # the shared cap is reached: no new model call starts until reset_at
    cost_today: float | None = None  # estimated, when costs are configured
    phases: list[PhaseBudget] = []
    resets: str = RESETS  # when the daily window resets, for people reading status


@dataclass(frozen=True)
class Verdict:
    """Whether a phase may start a model call now, and if not which limits stop it."""

    phase: Phase
    reached: tuple[tuple[str, int, int], ...]  # (config key, spent, limit) of each cap reached
    reset_at: int
    left: int | None  # tokens left today under every daily cap; None = unlimited

    @property
    def exhausted(self) -> bool:
        return bool(self.reached)


class BudgetExhausted(MemorydError):
    """A daily budget is spent: the model call did not start; try again after ``reset_at``."""

    def __init__(self, verdict: Verdict) -> None:
        key, spent, limit = verdict.reached[0]
        super().__init__(
            f"{key} spent ({spent} of {limit} tokens); resets at {_utc(verdict.reset_at)}"
        )
        self.verdict = verdict


class RunTokenLimit(MemorydError):
    """One run spent its ``run_tokens``: its next model call does not start."""


def day_window(now_s: int) -> tuple[int, int]:
    """The UTC day containing ``now_s``: (start, next reset), in s since the epoch."""
    start = now_s - now_s % DAY_SECONDS
    return start, start + DAY_SECONDS


def run_limit(cfg: Config, phase: Phase) -> int:
    """The run limit in force for ``phase``: its own when set, else the shared one."""
    b = cfg.budget
    return getattr(b, phase).run_tokens or b.run_tokens


def cost_estimate(cfg: Config, model: str, input_tokens: int, output_tokens: int) -> float | None:
    """The configured price of these tokens, or None when ``model`` has no price."""
    price = cfg.budget.prices.get(model)
    if price is None:
        return None
    return (
        input_tokens * price.input_per_million + output_tokens * price.output_per_million
    ) / 1_000_000


def _judge(
    cfg: Config, phase: Phase, spent: dict[str, tuple[int, float | None]], now_s: int
) -> Verdict:
    _, reset_at = day_window(now_s)
    total = sum(tokens for tokens, _ in spent.values())
    own = spent.get(phase, (0, None))[0]
    caps = [
        (key, used, limit)
        for key, used, limit in (
            (SHARED_KEY, total, cfg.budget.daily_tokens),
            (_own_key(phase), own, getattr(cfg.budget, phase).daily_tokens),
        )
        if limit > 0
    ]
    reached = tuple((key, used, limit) for key, used, limit in caps if used >= limit)
    left = min((limit - used for _, used, limit in caps), default=None)
    return Verdict(phase, reached, reset_at, max(left, 0) if left is not None else None)


def _own_key(phase: Phase) -> str:
    return f"budget.{phase}.daily_tokens"


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def budget_status(conn: Connection, cfg: Config, *, now_s: int) -> BudgetStatus:
    """What ``memoryd status`` shows: today's (UTC) spend against each limit."""
    day_start, reset_at = day_window(now_s)
    spent = await spent_since(conn, day_start * 1000)
    priced = bool(cfg.budget.prices)
    phases = []
    for phase in PHASES:
        tokens, cost = spent.get(phase, (0, None))
        phases.append(
            PhaseBudget(
                phase=phase,
                spent_today=tokens,
                daily_limit=getattr(cfg.budget, phase).daily_tokens,
                run_limit=run_limit(cfg, phase),
                exhausted=_judge(cfg, phase, spent, now_s).exhausted,
                cost_today=(cost or 0.0) if priced else None,
            )
        )
    total = sum(tokens for tokens, _ in spent.values())
    limit = cfg.budget.daily_tokens
    return BudgetStatus(
        spent_today=total,
        daily_limit=limit,
        reset_at=reset_at,
        exhausted=bool(limit) and total >= limit,
        cost_today=sum(p.cost_today or 0.0 for p in phases) if priced else None,
        phases=phases,
    )


class Budget:
    """The gate before every model call, and the ledger's bookkeeper (see the module doc).

    ``config`` is called at each use, so a SIGHUP reload takes effect at the next call."""

    def __init__(self, conn: Connection, config: Callable[[], Config]) -> None:
        self.conn = conn
        self.config = config
        self._exhausted: dict[str, int] = {}  # limit key -> reset_at of its logged exhaustion

    async def check(self, phase: Phase) -> Verdict:
        """May ``phase`` start a model call now? Logs each exhaustion, and its end, once."""
        now = clock.now_s()
        cfg = self.config()
        # Without a daily cap for this phase nothing needs today's spend: skip summing the
        # ledger, which grows with every call of the day (a per-call scan would be O(n^2)).
        limited = cfg.budget.daily_tokens > 0 or getattr(cfg.budget, phase).daily_tokens > 0
        today = await spent_since(self.conn, day_window(now)[0] * 1000) if limited else {}
        verdict = _judge(cfg, phase, today, now)
        reached = {key for key, _, _ in verdict.reached}
        for key in (SHARED_KEY, _own_key(phase)):
            logged = self._exhausted.get(key)
            if logged is not None and key not in reached:
                del self._exhausted[key]
                reason = "new day" if now >= logged else "limit changed"
                log.info("budget_reset", limit_key=key, reason=reason)
        for key, spent, limit in verdict.reached:
            if self._exhausted.get(key) != verdict.reset_at:
                self._exhausted[key] = verdict.reset_at
                log.warning(
                    "budget_exhausted",
                    phase=phase,
                    limit_key=key,
                    spent=spent,
                    limit=limit,
                    reset_at=verdict.reset_at,
                    reset_at_utc=_utc(verdict.reset_at),
                )
        return verdict

    async def admit(self, phase: Phase, *, run_spent: int = 0) -> None:
        """Raise unless ``phase`` may start a model call for a run that has spent
        ``run_spent`` tokens so far: BudgetExhausted (wait for the reset) or RunTokenLimit."""
        limit = run_limit(self.config(), phase)
        if limit and run_spent >= limit:
            raise RunTokenLimit(
                f"token_limit: the job spent {run_spent} tokens, its run limit is {limit}"
            )
        verdict = await self.check(phase)
        if verdict.exhausted:
            raise BudgetExhausted(verdict)

    async def run_allowance(self, phase: Phase) -> int | None:
        """Tokens one run of ``phase`` may spend now: its run limit, capped by what is left
        today; None = unlimited. Raises BudgetExhausted when nothing is left."""
        verdict = await self.check(phase)
        if verdict.exhausted:
            raise BudgetExhausted(verdict)
        caps = [c for c in (run_limit(self.config(), phase), verdict.left) if c]
        return min(caps) if caps else None

    def row(
        self,
        phase: Phase,
        backend: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
    ) -> UsageRow:
        """A ledger row for one model call (or one agent run), priced from the config."""
        return UsageRow(
            phase,
            backend,
            model,
            input_tokens,
            output_tokens,
            thread_id=thread_id,
            run_id=run_id,
            cost_estimate=cost_estimate(self.config(), model, input_tokens, output_tokens),
        )

    async def book(self, rows: Sequence[UsageRow]) -> None:
        """Write spent tokens to the ledger now, so the next gate check counts them."""
        rows = [r for r in rows if r.input_tokens or r.output_tokens]
        if not rows:
            return
        async with immediate(self.conn) as c:
            await insert_usage(c, rows, clock.now_ms())
