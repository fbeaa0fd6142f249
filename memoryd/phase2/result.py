"""What a phase-2 attempt reports: its outcome, the run's counts and tokens, and the run record
stored for it; the failure that becomes a stored reason."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from memoryd import clock
from memoryd.errors import MemorydError
from memoryd.store.phase2 import Phase2RunRecord, RunOutcome


class Phase2Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    NOOP = "noop"  # nothing changed since the last run: no agent ran
    FAILED = "failed"
    # Not run: the lock is held, the last run failed recently, or one ran too recently
    # (GlobalClaimOutcome), or the token budget is spent (see budget_reset_at).
    RUNNING = "running"
    BACKOFF = "backoff"
    COOLDOWN = "cooldown"
    BUDGET = "budget"


@dataclass
class Phase2Result:
    outcome: Phase2Outcome
    run_id: str | None = None
    reason: str | None = None
    added: int = 0
    retained: int = 0
    removed: int = 0
    changed_paths: list[str] = field(default_factory=list)
    user_edits_kept: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    budget_reset_at: int | None = None  # outcome "budget": when the spent budget resets


class Failed(MemorydError):
    """A run that failed for ``reason``: stored with the run, retried after the backoff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run_record(
    run: Phase2RunRecord, result: Phase2Result, outcome: RunOutcome = RunOutcome.RUNNING
) -> Phase2RunRecord:
    """``run``'s record as it ends now, with ``result``'s counts and tokens."""
    return dataclasses.replace(
        run,
        outcome=outcome,
        finished_at_ms=clock.now_ms(),
        inputs_added=result.added,
        inputs_retained=result.retained,
        inputs_removed=result.removed,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
    )
