"""The text of control answers where a user must know what comes next: a thread that
``trigger`` could not take, a job that will not be retried, an empty history, no daemon."""

from __future__ import annotations

import pytest
from test_control_registry import STATUS

from memoryd.control import render
from memoryd.control.results import HistoryResult, JobsResult, TriggerPhase, TriggerResult
from memoryd.store.jobs import GLOBAL, STAGE1, ClaimOutcome, JobRow, JobStatus

NOW = 1_800_000_000


def job(kind: str, retry_remaining: int) -> JobRow:
    return JobRow(
        kind=kind,
        job_key="t-1" if kind == STAGE1 else "global",
        status=JobStatus.ERROR,
        worker_id=None,
        started_at=NOW - 60,
        finished_at=NOW - 50,
        lease_until=None,
        retry_at=NOW + 3600,
        retry_remaining=retry_remaining,
        last_error="the model server answered 500",
    )


def test_a_stage1_job_out_of_retries_says_what_brings_it_back_not_a_retry_time() -> None:
    line, error = render.jobs(JobsResult(now=NOW, jobs=[job(STAGE1, 0)]))
    assert line.endswith(", no retries left: extracted again once its session changes")
    assert "retry at" not in line
    assert error == "    last error: the model server answered 500"
    (line, _) = render.jobs(JobsResult(now=NOW, jobs=[job(STAGE1, 2)]))
    assert line.endswith("(in 1h0m) (2 left)")
    # phase 2 retries at its time whatever its count says
    (line, _) = render.jobs(JobsResult(now=NOW, jobs=[job(GLOBAL, 0)]))
    assert ", retry at " in line and "no retries left" not in line


@pytest.mark.parametrize("outcome", list(ClaimOutcome))
def test_every_claim_outcome_of_a_triggered_thread_says_what_it_means(
    outcome: ClaimOutcome,
) -> None:
    (line,) = render.trigger(
        TriggerResult(phase=TriggerPhase.PHASE1, thread="t-1", outcome=outcome)
    )
    assert line.startswith(f"phase 1, thread t-1: {outcome.value} (") and line.endswith(")")


def test_a_failed_thread_trigger_points_at_the_error_and_what_comes_next() -> None:
    def text(outcome: ClaimOutcome) -> str:
        return render.trigger(
            TriggerResult(phase=TriggerPhase.PHASE1, thread="t-1", outcome=outcome)
        )[0]

    for outcome in (ClaimOutcome.BACKOFF, ClaimOutcome.EXHAUSTED):
        assert "`memoryd jobs --kind stage1 --status error`" in text(outcome)
    assert "once its session changes" in text(ClaimOutcome.EXHAUSTED)
    assert "phase1.max_running" in text(ClaimOutcome.CAP_REACHED)


def test_an_empty_history_and_a_stopped_daemon_name_the_command_that_fills_or_starts_them() -> None:
    (empty,) = render.history(HistoryResult(runs=[]))
    assert empty.startswith("no consolidation runs in the history yet: ")
    assert "`memoryd run --once`" in empty
    first = render.status(STATUS)[0]
    assert first.startswith("daemon: not running (") and "`memoryd serve`" in first
