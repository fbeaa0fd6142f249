"""Readable text for control command results (``--json`` prints the data as it is).

Every function takes a command's typed result (control/results.py: decoded from the socket's
JSON, or as the command returned it in the CLI process) and returns the lines to print.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from memoryd.control.results import (
    ClaimOutcome,
    ClearResult,
    DiffResult,
    ForgetReport,
    HistoryResult,
    HostRow,
    HostsResult,
    JobsResult,
    PauseResult,
    Phase2Outcome,
    Phase2Result,
    PingResult,
    StatusResult,
    TriggerResult,
    WhenPhase2,
)
from memoryd.store.hosts import STALE_AFTER_DAYS
from memoryd.store.jobs import STAGE1, JobStatus, Skipped
from memoryd.workspace.history import RunKind

_LOG_SKIP = {"timestamp", "level", "event", "logger"}


def when(ts: int | float | None, now: int | None = None) -> str:
    """``2026-11-22 06:10:00Z (in 5m)`` for a time in seconds; ``-`` for None."""
    if ts is None:
        return "-"
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if now is None:
        return stamp
    delta = int(ts - now)
    if delta == 0:
        return f"{stamp} (now)"
    return f"{stamp} ({'in ' if delta > 0 else ''}{_span(abs(delta))}{'' if delta > 0 else ' ago'})"


def _span(s: int) -> str:
    if s >= 86400:
        return f"{s // 86400}d{s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60}m"
    if s >= 60:
        return f"{s // 60}m{s % 60}s"
    return f"{s}s"


def status(r: StatusResult) -> list[str]:
    now = r.now
    d = r.daemon
    out = []
    if d.running:
        state = "stopping" if d.stopping else "running" if d.ready else "starting"
        started = d.started_at if isinstance(d.started_at, int) else None
        out.append(f"daemon: {state} (pid {d.pid}, memoryd {d.version}, up since {when(started)})")
    else:
        out.append(
            "daemon: not running (`memoryd serve` starts it; `memoryd run --once` makes one pass "
            "without it)"
        )
    out.append(f"claiming: {'paused (memoryd resume)' if r.paused else 'active'}")
    out.append("jobs:")
    if not r.jobs:
        out.append("  none yet")
    for kind, counts in r.jobs.items():
        out.append(f"  {kind}: " + ", ".join(f"{n} {st}" for st, n in sorted(counts.items())))
    for j in r.running:
        out.append(
            f"  running {j.kind} {j.job_key} on {j.worker_id}, "
            f"lease until {when(j.lease_until, now)}"
        )
    run = r.last_phase2_run
    if run is None:
        out.append("last phase 2 run: none")
    else:
        out.append(
            f"last phase 2 run: {run.run_id} {run.outcome}"
            + (f" ({run.reason})" if run.reason else "")
            + f", {run.inputs_added} added, {run.inputs_retained} retained, "
            f"{run.inputs_removed} removed"
        )
    b = r.budget
    limit = f"of {b.daily_limit:,}" if b.daily_limit else "(no daily limit)"
    out.append(
        f"budget: {b.spent_today:,} tokens today {limit}"
        + (f", exhausted until {when(b.reset_at, now)}" if b.exhausted else "")
    )
    out.extend(skipped(r.skipped))
    nx = r.next
    p1 = when(nx.phase1, now) if nx.phase1 is not None else "when a new rollout goes idle"
    out.append(f"next phase 1: {p1}")
    pending = "new inputs waiting" if nx.phase2_pending_inputs else "no new inputs yet"
    out.append(f"next phase 2: not before {when(nx.phase2, now)} ({pending})")
    if isinstance(r.hosts, list):
        out.extend(hosts(r.hosts, now))
    return out


def hosts(rows: list[HostRow], now: int) -> list[str]:
    """One line per host sharing the PostgreSQL state: who, last heartbeat, running jobs, and
    for a host not seen for days, how to remove it."""
    stale = sum(h.stale for h in rows)
    note = f" ({stale} stale: not seen for {STALE_AFTER_DAYS} days or more)" if stale else ""
    out = [f"hosts: {len(rows)}{note}"]
    for h in rows:
        out.append(
            f"  {h.hostname} ({h.host_id[:8]}, memoryd {h.version}): last seen "
            f"{when(h.last_seen // 1000, now)}, {h.running} running"
            + (f"; stale: `memoryd hosts forget {h.host_id[:8]}` removes it" if h.stale else "")
        )
    return out


def hosts_result(r: HostsResult) -> list[str]:
    out = []
    if isinstance(r.forgotten, HostRow):
        f = r.forgotten
        out.append(
            f"forgot host {f.label()}, last seen {when(f.last_seen // 1000, r.now)}: no longer "
            "listed; the memories of its sessions stay, and it is listed again if it starts"
        )
    if isinstance(r.hosts, list):
        out.extend(hosts(r.hosts, r.now))
    else:
        out.append(
            "one host, this one: the state is a SQLite file (hosts share a state on PostgreSQL)"
        )
    return out


def jobs(r: JobsResult) -> list[str]:
    now = r.now
    if not r.jobs:
        return ["no jobs match"]
    out = []
    for j in r.jobs:
        line = f"{j.kind:<26} {j.job_key:<38} {j.status:<8}"
        if j.status == JobStatus.RUNNING:
            line += f" lease until {when(j.lease_until, now)}"
        elif j.finished_at is not None:
            line += f" finished {when(j.finished_at, now)}"
        if j.kind == STAGE1 and j.status == JobStatus.ERROR and j.retry_remaining <= 0:
            # the claim takes it again only for a newer version of the rollout, whatever
            # retry_at says
            line += ", no retries left: extracted again once its session changes"
        elif j.retry_at is not None:
            line += f", retry at {when(j.retry_at, now)} ({j.retry_remaining} left)"
        out.append(line)
        if j.last_error:
            out.append(f"    last error: {j.last_error}")
    return out


def trigger(r: TriggerResult) -> list[str]:
    if isinstance(r.result, Phase2Result):
        res = r.result
        extra = f": {res.reason}" if res.reason else ""
        run = f" (run {res.run_id})" if res.run_id else ""
        return [f"phase 2: {res.outcome}{extra}{run}"]
    if isinstance(r.outcome, ClaimOutcome):
        return [f"phase 1, thread {r.thread}: {r.outcome.value} ({_CLAIMED[r.outcome]})"]
    note = " (but claiming is paused: memoryd resume)" if r.paused else ""
    return [f"phase 1: looking for claimable rollouts now{note}"]


_FAILED_JOBS = "`memoryd jobs --kind stage1 --status error` shows"
# What a claim's outcome means to whoever asked for the thread, and what comes next.
_CLAIMED = {
    ClaimOutcome.CLAIMED: "extracting it now",
    ClaimOutcome.UP_TO_DATE: "already extracted at this version; extracted again once its "
    "session changes",
    ClaimOutcome.RUNNING: "another worker is extracting it now",
    ClaimOutcome.BACKOFF: f"its last extraction failed and waits for its retry time; "
    f"{_FAILED_JOBS} the error and when",
    ClaimOutcome.EXHAUSTED: f"its extraction failed on every retry; {_FAILED_JOBS} the last "
    "error; tried again once its session changes",
    ClaimOutcome.CAP_REACHED: "phase1.max_running extractions run already; taken when one ends",
}


def skipped(sk: Skipped) -> list[str]:
    """Why phase 1 never takes some rollouts, one line per reason (nothing when none)."""
    if not sk.total:
        return []

    def parts(counts: dict[str, int]) -> str:
        return ", ".join(f"{name} {n}" for name, n in counts.items())

    out = [f"skipped rollouts: {sk.total}, never extracted:"]
    if sk.source_not_allowed:
        n = sum(sk.source_not_allowed.values())
        out.append(
            f"  {n} with a source not in phase1.allowed_sources ({parts(sk.source_not_allowed)})"
        )
    if sk.no_user_message:
        out.append(f"  {sk.no_user_message} with no user message")
    if sk.memory_mode_off:
        n = sum(sk.memory_mode_off.values())
        out.append(f"  {n} with memory mode off ({parts(sk.memory_mode_off)})")
    return out


def ping(r: PingResult) -> list[str]:
    return [f"daemon: answering (pid {r.pid}, memoryd {r.version}, up since {when(r.started_at)})"]


def paused(r: PauseResult) -> list[str]:
    if r.paused:
        return [f"paused: no new work is claimed; {r.running} running job(s) will finish"]
    return ["resumed: claiming new work again"]


def forget(r: ForgetReport) -> list[str]:
    out = [f"forgot {len(r.threads)} thread(s), {r.outputs_deleted} memories deleted"]
    if r.phase2 is WhenPhase2.WOKEN:
        out.append(
            "phase 2 is running now to drop them from the consolidated files and the run history"
        )
    elif r.phase2 is WhenPhase2.AFTER_RESUME:
        out.append("the daemon is paused: phase 2 drops them from the files after `memoryd resume`")
    else:
        out.append("the daemon is not running: `memoryd run --once` drops them from the files")
    out.append("they are never extracted again, and no rollback brings them back")
    return out


def clear(r: ClearResult) -> list[str]:
    out = [f"cleared: {r.outputs_deleted} memories deleted, {r.files_removed} files removed"]
    if r.reextract:
        out.append(f"all {r.threads} known sessions will be extracted again (--reextract)")
    else:
        out.append(
            f"the {r.threads} sessions known now are not extracted again unless they change; "
            "new sessions are (`memoryd clear --reextract` re-extracts everything)"
        )
    if r.kept:
        out.append(f"kept what memoryd did not write: {', '.join(r.kept)}")
    return out


def history(r: HistoryResult) -> list[str]:
    if not r.runs:
        return [
            "no consolidation runs in the history yet: each phase-2 run that changes the memory "
            "folder is recorded (`memoryd run --once` makes one)"
        ]
    out = []
    for e in r.runs:
        what = (
            f"rollback to {e.rolled_back_to}"
            if e.kind == RunKind.ROLLBACK
            else f"+{e.inputs_added} -{e.inputs_removed} inputs"
        )
        purged = " (purged: held forgotten memories)" if e.purged else ""
        out.append(
            f"{e.run_id}  {when(e.at_ms / 1000)}  on {run_host(e.host, e.host_id)}  {what}, "
            f"{e.files_changed} files changed{purged}"
        )
    return out


def run_host(name: str | None, host_id: str | None) -> str:
    """The host that ran a consolidation, named as ``hosts`` names it: ``name (id[:8])`` on
    PostgreSQL, the name alone on SQLite; ``-`` for a run recorded before hosts were."""
    if not host_id:
        return name or "-"
    return f"{name or 'unnamed host'} ({host_id[:8]})"


def diff(r: DiffResult) -> list[str]:
    """A header naming the run's host and time, then the patch (``git apply`` and ``patch``
    skip a leading line that is not part of a diff)."""
    header = f"run {r.run} on {run_host(r.host, r.host_id)}, {when(r.at_ms / 1000)}"
    return [header, *r.diff.splitlines()]


def rollback(r: Phase2Result) -> list[str]:
    """A rollback is a consolidation of its own (a Phase2Result)."""
    if r.outcome is not Phase2Outcome.SUCCEEDED:
        return [f"rollback: {r.outcome}" + (f": {r.reason}" if r.reason else "")]
    out = [f"{r.reason}: recorded as run {r.run_id}"]
    out += [f"  {p}" for p in r.changed_paths]
    # The result counts the selection's change from before the rollback to the restored run:
    # what it "removed" came in since that run, what it "added" (back) has gone since.
    since_added, since_removed = r.removed, r.added
    if since_added or since_removed:
        out.append(
            f"inputs changed since that run ({since_added} added, {since_removed} removed): "
            "the next phase 2 consolidates them on top of it"
        )
    return out


def log_batch(batch: list[dict[str, Any]]) -> list[str]:
    return [log_record(rec) for rec in batch]


def log_record(rec: dict[str, Any]) -> str:
    """``2026-11-22T06:00:00Z info  stage1_succeeded thread_id=... tokens=12``."""
    rest = " ".join(f"{k}={v}" for k, v in rec.items() if k not in _LOG_SKIP)
    ts = str(rec.get("timestamp", ""))[:19]
    return f"{ts} {rec.get('level', '')!s:<7} {rec.get('event', '')} {rest}".rstrip()
