"""Token budgets (SPEC §5, issue 6). CONTRACT STUB: the budgets work completes it.

``budget_status`` is what ``memoryd status`` shows; the ``Budget`` gate is what phase 1 and
phase 2 wait on before a model call.
"""

from __future__ import annotations

import aiosqlite
import msgspec

from memoryd.config import Config


class PhaseBudget(msgspec.Struct, kw_only=True):
    phase: str  # "phase1" | "phase2"
    spent_today: int  # tokens (input + output) booked since the last reset
    daily_limit: int  # 0 = unlimited
    run_limit: int  # 0 = unlimited
    exhausted: bool


class BudgetStatus(msgspec.Struct, kw_only=True):
    spent_today: int  # both phases
    daily_limit: int  # 0 = unlimited
    reset_at: int  # s since the epoch: the next reset
    exhausted: bool  # no new model call starts until reset_at
    cost_today: float | None = None  # estimated, when costs are configured
    phases: list[PhaseBudget] = []


async def budget_status(conn: aiosqlite.Connection, cfg: Config, *, now_s: int) -> BudgetStatus:
    """Minimal stand-in until the budgets work lands: today's (UTC) spend from the ledger."""
    day_start = now_s - now_s % 86400
    async with conn.execute(
        "SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM usage_ledger WHERE at >= ?",
        (day_start * 1000,),
    ) as cur:
        row = await cur.fetchone()
    spent = int(row[0]) if row else 0
    limit = cfg.budget.daily_tokens
    return BudgetStatus(
        spent_today=spent,
        daily_limit=limit,
        reset_at=day_start + 86400,
        exhausted=bool(limit) and spent >= limit,
    )
