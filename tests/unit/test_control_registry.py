"""The control registry (memoryd/control/commands.py ``COMMANDS``) is the one place a control
command is described: ``memoryd --help`` lists every entry, each entry's command line parses
into the protocol arguments its handler takes, and the typed results encode to the wire's JSON
and decode back to the same values (what the CLI renders)."""

from __future__ import annotations

import argparse
import enum
import os
from typing import Any

import msgspec
import pytest

from memoryd.budget import BudgetStatus
from memoryd.cli import _parser, wire_args
from memoryd.control import commands
from memoryd.control.commands import COMMANDS, Command, prepare
from memoryd.control.results import (
    ClaimOutcome,
    DaemonInfo,
    DiffResult,
    ForgetReport,
    HistoryResult,
    HostRow,
    HostsResult,
    JobsResult,
    NextWork,
    PauseResult,
    Phase2Outcome,
    Phase2Result,
    PingResult,
    StatusResult,
    TriggerPhase,
    TriggerResult,
    WhenPhase2,
)
from memoryd.maintenance import ClearResult
from memoryd.store.jobs import JobRow, JobStatus, Skipped
from memoryd.store.phase2 import Phase2RunRecord, RunOutcome
from memoryd.workspace.history import HistoryEntry, RunKind


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_memoryd_help_lists_every_registry_command_with_its_help() -> None:
    parser = _parser()
    text = " ".join(parser.format_help().split())  # argparse wraps long help lines
    subs = _subcommands(parser)
    for cmd in COMMANDS.values():
        assert f"{cmd.name} {' '.join(cmd.help.split())[:40]}" in text, cmd.name
        assert cmd.name in subs
        own = " ".join(subs[cmd.name].format_help().split())
        for arg in cmd.cli:
            assert " ".join(arg.help.split()).split("%")[0] in own, (cmd.name, arg.field)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_command_line_of_each_entry_says_every_argument_of_its_handler(name: str) -> None:
    cmd = COMMANDS[name]
    fields = msgspec.structs.fields(cmd.args)
    assert [a.field for a in cmd.cli] == [f.name for f in fields]


def _value(cmd: Command[Any, Any], field: str) -> tuple[list[str], Any]:
    """Command-line words that set ``field`` to something other than its default, and the
    value the protocol should then get."""
    (f,) = [f for f in msgspec.structs.fields(cmd.args) if f.name == field]
    if f.type is bool:
        return [], True
    if f.type is int:
        return ["7"], 7
    if isinstance(f.type, type) and issubclass(f.type, enum.Enum):
        last = list(f.type)[-1]
        return [last.value], last
    return [f"v-{field}"], f"v-{field}"


def _variants(cmd: Command[Any, Any]) -> list[tuple[str, ...]]:
    """The fields to give on one command line: all but the other members of a one-of group."""
    every = tuple(a.field for a in cmd.cli)
    if not cmd.one_of:
        return [every]
    return [tuple(f for f in every if f not in cmd.one_of or f == pick) for pick in cmd.one_of]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_argument_parses_into_the_protocol_arguments(name: str) -> None:
    """Each entry's options reach its argument struct with their values; the ones not given
    get the struct's own defaults."""
    cmd = COMMANDS[name]
    for given in _variants(cmd):
        argv, expected = [name], {}
        for arg in cmd.cli:
            if arg.field in given:
                words, value = _value(cmd, arg.field)
                argv += [*arg.flags[-1:], *words]
                expected[arg.field] = value
        wire = wire_args(cmd, _parser().parse_args(argv))
        if "cwd" in expected:  # made absolute on the caller's side
            expected["cwd"] = os.path.abspath(expected["cwd"])
        command, args = prepare(name, msgspec.to_builtins(wire))
        assert command is cmd
        assert {k: getattr(args, k) for k in expected} == expected, argv

        # A positional with a default may be left out (``memoryd hosts`` lists).
        defaulted = {
            f.name for f in msgspec.structs.fields(cmd.args) if f.default is not msgspec.NODEFAULT
        }
        required = [
            w for a in cmd.cli if not a.flags and a.field not in defaulted
            for w in _value(cmd, a.field)[0]
        ]  # fmt: skip
        one = [cmd.cli[0].flags[-1], "t"] if cmd.one_of else []
        bare = wire_args(cmd, _parser().parse_args([name, *required, *one]))
        defaults = prepare(name, msgspec.to_builtins(bare))[1]
        for f in msgspec.structs.fields(cmd.args):
            if f.default is not msgspec.NODEFAULT and f.name not in cmd.one_of:
                assert getattr(defaults, f.name) == f.default, (name, f.name)


def test_a_cwd_to_forget_is_made_absolute_for_the_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    ns = _parser().parse_args(["forget", "--cwd", "~/proj"])
    assert wire_args(COMMANDS["forget"], ns) == {"thread": None, "cwd": "/home/someone/proj"}


def test_slow_commands_wait_as_long_as_they_take() -> None:
    slow = {name for name, c in COMMANDS.items() if c.is_slow({})}
    assert slow == {"trigger", "forget", "clear", "rollback"}
    assert COMMANDS["logs"].is_slow({"follow": True})
    assert not COMMANDS["logs"].is_slow({"follow": False})


# ------------------------------------------------------------------------------- results

P2 = Phase2Result(
    outcome=Phase2Outcome.SUCCEEDED, run_id="r1", reason="rollback to r0", added=1,
    changed_paths=["MEMORY.md"],
)  # fmt: skip
JOB = JobRow("memory_stage1", "t-1", JobStatus.RUNNING, "w", 1, None, 9, None, 3, None)
STATUS = StatusResult(
    now=100,
    daemon=DaemonInfo(running=False),
    paused=False,
    jobs={"memory_stage1": {"running": 1}},
    running=[JOB],
    last_phase2_run=Phase2RunRecord("r1", 5, RunOutcome.SUCCEEDED, 6, None, 1, 0, 0),
    budget=BudgetStatus(spent_today=10, daily_limit=0, reset_at=200, exhausted=False),
    skipped=Skipped(total=1, no_user_message=1),
    next=NextWork(phase1=None, phase2=150, phase2_pending_inputs=True),
)
EXAMPLES: dict[str, list[Any]] = {
    "status": [STATUS],
    "jobs": [JobsResult(now=100, jobs=[JOB])],
    "trigger": [
        TriggerResult(phase=TriggerPhase.PHASE2, result=P2),
        TriggerResult(phase=TriggerPhase.PHASE1, woken=True, paused=True),
        TriggerResult(phase=TriggerPhase.PHASE1, thread="t-1", outcome=ClaimOutcome.UP_TO_DATE),
    ],
    "pause": [PauseResult(paused=True, running=2)],
    "resume": [PauseResult(paused=False, running=0)],
    "ping": [PingResult(pid=1, version="0", started_at=5)],
    "forget": [ForgetReport(threads=["t-1"], outputs_deleted=1, phase2=WhenPhase2.AFTER_RESUME)],
    "clear": [ClearResult(outputs_deleted=1, files_removed=2, threads=3, reextract=False, kept=[])],
    "logs": [[{"event": "e", "level": "info", "thread_id": "t-1"}]],
    "history": [
        HistoryResult(
            runs=[
                HistoryEntry(
                    run_id="r2", commit="c", at_ms=5, kind=RunKind.ROLLBACK, rolled_back_to="r1"
                ),
                HistoryEntry(
                    run_id="r1",
                    commit="b",
                    at_ms=4,
                    kind=RunKind.CONSOLIDATION,
                    host="alpha",
                    host_id="0123456789abcdef0123456789abcdef",
                ),
            ]
        )
    ],
    "hosts": [
        HostsResult(now=100),
        HostsResult(
            now=100,
            forgotten=HostRow(
                host_id="0123456789abcdef0123456789abcdef",
                hostname="oldbox",
                version="0.1.0",
                started_at=1,
                last_seen=2,
                clock_offset_ms=0,
                running=0,
                stale=True,
            ),
            hosts=[
                HostRow(
                    host_id="fedcba9876543210fedcba9876543210",
                    hostname="laptop",
                    version="0.1.0",
                    started_at=1,
                    last_seen=99_000,
                    clock_offset_ms=-3,
                    running=1,
                )
            ],
        ),
    ],
    "diff": [
        DiffResult(run="r1", at_ms=4, host=None, host_id=None, diff="--- a\n+++ b\n"),
        DiffResult(
            run="r2",
            at_ms=5,
            host="alpha",
            host_id="0123456789abcdef0123456789abcdef",
            diff="--- a\n+++ b\n",
        ),
    ],
    "rollback": [P2, Phase2Result(outcome=Phase2Outcome.RUNNING)],
}


def test_every_command_has_an_example_result() -> None:
    assert set(EXAMPLES) == set(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_results_come_back_typed_from_their_json_and_render_the_same(name: str) -> None:
    cmd = COMMANDS[name]
    for result in EXAMPLES[name]:
        wire = msgspec.json.decode(msgspec.json.encode(result))
        back = cmd.decode(wire)
        assert back == result
        assert cmd.render(back) == cmd.render(result)


def test_outcomes_decode_as_enums() -> None:
    status = COMMANDS["status"].decode(msgspec.to_builtins(STATUS))
    assert status.running[0].status is JobStatus.RUNNING
    assert status.last_phase2_run.outcome is RunOutcome.SUCCEEDED
    trig = COMMANDS["trigger"].decode(msgspec.to_builtins(EXAMPLES["trigger"][2]))
    assert trig.outcome is ClaimOutcome.UP_TO_DATE
    forget = COMMANDS["forget"].decode(msgspec.to_builtins(EXAMPLES["forget"][0]))
    assert forget.phase2 is WhenPhase2.AFTER_RESUME
    runs = COMMANDS["history"].decode(msgspec.to_builtins(EXAMPLES["history"][0])).runs
    assert runs[0].kind is RunKind.ROLLBACK
    assert COMMANDS["rollback"].decode(msgspec.to_builtins(P2)).outcome is Phase2Outcome.SUCCEEDED


def test_answers_with_optional_parts_leave_them_out_of_the_json() -> None:
    """The wire's shapes (a user contract): no daemon is ``{"running": false}``, and each of
    trigger's three answers carries only its own keys, in this order."""
    enc = msgspec.to_builtins
    assert enc(DaemonInfo(running=False)) == {"running": False}
    shapes = [list(enc(r)) for r in EXAMPLES["trigger"]]
    assert shapes == [["phase", "result"], ["phase", "woken", "paused"],
                      ["phase", "thread", "outcome"]]  # fmt: skip
    assert enc(EXAMPLES["trigger"][2])["outcome"] == "up_to_date"
    assert list(enc(EXAMPLES["forget"][0])) == ["threads", "outputs_deleted", "phase2"]
    assert enc(EXAMPLES["forget"][0])["phase2"] == "after resume"


def test_a_command_that_needs_the_daemon_is_refused_without_it() -> None:
    for cmd in COMMANDS.values():
        if cmd.needs_daemon:
            with pytest.raises(commands.CommandError, match=f"{cmd.name} needs the running"):
                cmd.check(None)
        else:
            cmd.check(None)
