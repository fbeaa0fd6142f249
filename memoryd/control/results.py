"""What the control commands return: one typed result per command, encoded by msgspec as the
JSON of the wire protocol (SPEC §7) and of ``--json``, and decoded back from it for
``memoryd.control.render``.

The JSON is a user contract: field order is the order of the keys on the wire, and a field
that some answers leave out is ``UNSET`` (msgspec omits it) rather than null.
"""

from __future__ import annotations

import enum

import msgspec

from memoryd.budget import BudgetStatus
from memoryd.maintenance import ClearResult, ForgetResult
from memoryd.phase2.result import Phase2Outcome, Phase2Result
from memoryd.store.hosts import HostRow
from memoryd.store.jobs import ClaimOutcome, JobRow, Skipped
from memoryd.store.phase2 import Phase2RunRecord
from memoryd.workspace.history import HistoryEntry

__all__ = [
    "ClaimOutcome",
    "ClearResult",
    "DaemonInfo",
    "DiffResult",
    "ForgetReport",
    "HistoryResult",
    "HostRow",
    "HostsAction",
    "HostsResult",
    "JobsResult",
    "NextWork",
    "PauseResult",
    "Phase2Outcome",
    "Phase2Result",
    "PingResult",
    "StatusResult",
    "TriggerPhase",
    "TriggerResult",
    "WhenPhase2",
]


class PingResult(msgspec.Struct, kw_only=True):
    pid: int
    version: str
    started_at: int


class DaemonInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``{"running": false}`` without a daemon; every field when one answers."""

    running: bool
    pid: int | msgspec.UnsetType = msgspec.UNSET
    version: str | msgspec.UnsetType = msgspec.UNSET
    started_at: int | msgspec.UnsetType = msgspec.UNSET
    ready: bool | msgspec.UnsetType = msgspec.UNSET
    stopping: bool | msgspec.UnsetType = msgspec.UNSET
    config: str | msgspec.UnsetType = msgspec.UNSET  # where the settings came from


class NextWork(msgspec.Struct, kw_only=True):
    phase1: int | None  # s; None: when a new rollout goes idle
    phase2: int  # s: not before
    phase2_pending_inputs: bool


class StatusResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    now: int
    daemon: DaemonInfo
    paused: bool
    jobs: dict[str, dict[str, int]]  # kind -> status -> number
    running: list[JobRow]
    last_phase2_run: Phase2RunRecord | None
    budget: BudgetStatus
    skipped: Skipped
    next: NextWork
    # On PostgreSQL: every host sharing the state (left out on SQLite: one host).
    hosts: list[HostRow] | msgspec.UnsetType = msgspec.UNSET


class JobsResult(msgspec.Struct, kw_only=True):
    now: int
    jobs: list[JobRow]


class TriggerPhase(enum.StrEnum):
    PHASE1 = "phase1"
    PHASE2 = "phase2"


class TriggerResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One of three answers: phase 2's ``result``; phase 1 ``woken`` (with ``paused``); or
    the claim ``outcome`` of one ``thread``."""

    phase: TriggerPhase
    result: Phase2Result | msgspec.UnsetType = msgspec.UNSET
    woken: bool | msgspec.UnsetType = msgspec.UNSET
    paused: bool | msgspec.UnsetType = msgspec.UNSET
    thread: str | msgspec.UnsetType = msgspec.UNSET
    outcome: ClaimOutcome | msgspec.UnsetType = msgspec.UNSET


class PauseResult(msgspec.Struct, kw_only=True):
    paused: bool
    running: int  # jobs still running (they finish)


class WhenPhase2(enum.StrEnum):
    """When phase 2 drops what ``forget`` deleted from the consolidated files."""

    WOKEN = "woken"  # now: the daemon runs it
    AFTER_RESUME = "after resume"  # the daemon is paused
    NEXT_RUN = "at the next run"  # no daemon: the next ``run --once`` or start


class ForgetReport(ForgetResult, kw_only=True):
    phase2: WhenPhase2


class HistoryResult(msgspec.Struct, kw_only=True):
    runs: list[HistoryEntry]


class HostsAction(enum.StrEnum):
    LIST = "list"
    FORGET = "forget"


class HostsResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    now: int
    # The host ``forget`` removed (left out for ``list``).
    forgotten: HostRow | msgspec.UnsetType = msgspec.UNSET
    # Every host sharing the PostgreSQL state, after the forget (left out on SQLite: one host).
    hosts: list[HostRow] | msgspec.UnsetType = msgspec.UNSET


class DiffResult(msgspec.Struct, kw_only=True):
    run: str
    at_ms: int  # when it ran
    # The host that ran it, as ``history`` names it: None for a run recorded before hosts were
    # named (host) and on SQLite (host_id).
    host: str | None
    host_id: str | None
    diff: str
