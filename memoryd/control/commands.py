"""The control commands (SPEC §7): one implementation each, run by the daemon or by the CLI.

A command is an async function of a ``Context`` (the DB connection, the settings and, inside
the daemon, the daemon's port: control/port.py) and its typed arguments. The daemon runs it
for a socket request; when no daemon answers, the CLI opens the state DB and runs the same
function itself, unless the command needs the daemon (``needs_daemon``: ping, trigger, pause,
resume). Results are typed (control/results.py) and msgspec encodes them as the protocol's
JSON; ``memoryd.control.render`` turns them into text.

``COMMANDS`` is the one registry of the control plane: each entry names its command, its help,
its arguments (a msgspec struct, and how the command line spells them), whether it needs the
daemon, may run on a broken config or takes long, its handler and its renderer. The server,
the local runner and the CLI's subcommands, help and output are all built from it.

``logs`` is the one streaming command: an async generator of record batches, which the server
sends as a stream of response lines and the CLI prints as they come.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import anyio
import msgspec

from memoryd import __version__, clock, maintenance
from memoryd.budget import budget_status
from memoryd.config import Settings
from memoryd.control import protocol, render
from memoryd.control.port import DaemonPort
from memoryd.control.results import (
    ClearResult,
    DaemonInfo,
    DiffResult,
    ForgetReport,
    HistoryResult,
    HostRow,
    HostsAction,
    HostsResult,
    JobsResult,
    NextWork,
    PauseResult,
    Phase2Result,
    PingResult,
    StatusResult,
    TriggerPhase,
    TriggerResult,
    WhenPhase2,
)
from memoryd.errors import MemorydError
from memoryd.log import LOG_FILE_NAME
from memoryd.phase1 import eligibility
from memoryd.store import hosts as hosts_store
from memoryd.store import jobs, published
from memoryd.store import phase2 as phase2_store
from memoryd.store.engine import Connection
from memoryd.workspace import history

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_POLL_SECONDS = 0.2  # how often ``logs -f`` looks for new lines (tail -f does 1 s)
KIND_ALIASES = {"stage1": jobs.STAGE1, "phase1": jobs.STAGE1, "phase2": jobs.GLOBAL}


class CommandError(MemorydError):
    """A command refused or failed; ``code`` is one of the protocol's stable error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    conn: Connection
    settings: Settings
    daemon: DaemonPort | None = None


class _Args(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class NoArgs(_Args):
    pass


class JobsArgs(_Args):
    status: str | None = None
    kind: str | None = None
    limit: int = 200


class TriggerArgs(_Args):
    phase: TriggerPhase
    thread: str | None = None
    force: bool = False  # run even while paused


class ForgetArgs(_Args):
    thread: str | None = None
    cwd: str | None = None


class ClearArgs(_Args):
    yes: bool = False
    reextract: bool = False


class LogsArgs(_Args):
    follow: bool = False
    level: str | None = None
    thread: str | None = None
    lines: int = 50


class HistoryArgs(_Args):
    limit: int = 50


class RunArgs(_Args):
    run: str


class HostsArgs(_Args):
    action: HostsAction = HostsAction.LIST
    host: str | None = None  # for forget: its name, its id or the start of its id


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise CommandError(protocol.E_BAD_REQUEST, f"the limit must be at least 1, not {limit}")


A = TypeVar("A", bound=_Args)
R = TypeVar("R")


@dataclass(frozen=True)
class Arg:
    """How the command line spells one field of a command's arguments. Its type and default
    come from the field: a bool is a flag, a Literal or enum gives the choices."""

    field: str
    help: str  # may say "%(default)s"
    flags: tuple[str, ...] = ()  # none: a positional argument
    metavar: str | None = None
    # The command line's value as the protocol takes it (a path made absolute, say).
    to_wire: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Confirm:
    """What the CLI asks before it sends a command that destroys (its ``yes`` argument is the
    answer): ``refused`` without a terminal to ask on, ``declined`` for any answer but yes."""

    question: Callable[[Settings], str]
    refused: str
    declined: str


@dataclass(frozen=True)
class Command(Generic[A, R]):
    """One control command. ``result`` is the type of what it returns (of each batch, for a
    stream), which the CLI decodes a socket answer into for ``render``."""

    name: str
    help: str
    args: type[A]
    fn: Callable[[Context, A], Any]  # a coroutine function; an async generator if streaming
    result: type[R]
    render: Callable[[R], list[str]]
    cli: tuple[Arg, ...] = ()
    one_of: tuple[str, ...] = ()  # fields of which the command line takes exactly one
    needs_daemon: bool = False  # without it: refused (the others run in the CLI process)
    read_only: bool = False  # only reads: runs on a broken config, to find out what is wrong
    slow: bool | Callable[[A], bool] = False  # takes as long as it takes: the CLI waits
    streaming: bool = False
    confirm: Confirm | None = None

    async def call(self, ctx: Context, args: A) -> R:
        self.check(ctx.daemon)
        return await cast(Callable[[Context, A], Awaitable[R]], self.fn)(ctx, args)

    def stream(self, ctx: Context, args: A) -> AsyncIterator[R]:
        self.check(ctx.daemon)
        return cast(Callable[[Context, A], AsyncIterator[R]], self.fn)(ctx, args)

    def check(self, daemon: DaemonPort | None) -> None:
        if self.needs_daemon and daemon is None:
            raise CommandError(protocol.E_FAILED, f"{self.name} needs the running daemon")

    def is_slow(self, raw_args: dict[str, Any]) -> bool:
        if callable(self.slow):
            return self.slow(msgspec.convert(raw_args, self.args))
        return self.slow

    def decode(self, data: Any) -> R:
        """A result as it came over the socket (or from ``run_local``), typed again."""
        return msgspec.convert(data, self.result)


@contextlib.contextmanager
def _not_found(*errors: type[MemorydError]) -> Iterator[None]:
    """Report ``errors`` (an unknown run, nothing to forget) with the protocol's code for a
    thing that does not exist, which scripts can tell from a failure."""
    try:
        yield
    except errors as e:
        raise CommandError(protocol.E_NOT_FOUND, str(e)) from None


def _daemon(ctx: Context) -> DaemonPort:
    assert ctx.daemon is not None  # Command.check refused the call otherwise
    return ctx.daemon


# ------------------------------------------------------------------------------- commands


async def ping(ctx: Context, _: NoArgs) -> PingResult:
    d = _daemon(ctx)
    return PingResult(pid=os.getpid(), version=__version__, started_at=d.started_at)


async def status(ctx: Context, _: NoArgs) -> StatusResult:
    conn, cfg = ctx.conn, ctx.settings.config
    now_ms = clock.now_ms()
    now = now_ms // 1000
    d = ctx.daemon
    daemon = DaemonInfo(running=False)
    if d is not None:
        daemon = DaemonInfo(
            running=True,
            pid=os.getpid(),
            version=__version__,
            started_at=d.started_at,
            ready=d.is_ready(),
            stopping=d.is_stopping(),
            config=d.settings.source,
        )
    paused = d.paused if d is not None else await jobs.get_paused(conn)
    rules = eligibility(cfg)
    claimable = await jobs.scan_candidates(conn, rules, now_ms=now_ms, limit=1)
    if claimable:
        p1_at: int | None = now
    else:
        at_ms = await jobs.next_eligible_at_ms(conn, rules, now_ms=now_ms)
        p1_at = None if at_ms is None else -(-at_ms // 1000)
    interval = cfg.phase2.min_interval_seconds
    runs = await phase2_store.recent_runs(conn, 1)
    hosts = await hosts_store.list_hosts(conn)
    return StatusResult(
        now=now,
        daemon=daemon,
        paused=paused,
        jobs=await jobs.job_counts(conn),
        running=await jobs.list_jobs(conn, status=jobs.JobStatus.RUNNING),
        last_phase2_run=runs[0] if runs else None,
        budget=await budget_status(conn, cfg, now_s=now),
        skipped=await jobs.skipped_counts(conn, rules),
        next=NextWork(
            phase1=p1_at,
            phase2=await phase2_store.next_claim_at(conn, now_s=now, min_interval_seconds=interval),
            phase2_pending_inputs=await phase2_store.is_dirty(conn),
        ),
        hosts=msgspec.UNSET if hosts is None else hosts,
    )


def _kind(name: str | None) -> str | None:
    if name is None:
        return None
    kind = KIND_ALIASES.get(name, name)
    if kind not in jobs.JOB_KINDS:
        raise CommandError(
            protocol.E_BAD_REQUEST,
            f"unknown job kind {name!r}; use one of {', '.join([*KIND_ALIASES, *jobs.JOB_KINDS])}",
        )
    return kind


async def jobs_(ctx: Context, a: JobsArgs) -> JobsResult:
    if a.status is not None and a.status not in jobs.JOB_STATUSES:
        raise CommandError(
            protocol.E_BAD_REQUEST,
            f"unknown job status {a.status!r}; use one of {', '.join(jobs.JOB_STATUSES)}",
        )
    _check_limit(a.limit)  # SQLite reads a negative LIMIT as "no limit"
    rows = await jobs.list_jobs(ctx.conn, status=a.status, kind=_kind(a.kind), limit=a.limit)
    return JobsResult(now=clock.now_s(), jobs=rows)


async def trigger(ctx: Context, a: TriggerArgs) -> TriggerResult:
    d = _daemon(ctx)
    if d.paused and not a.force and (a.phase is TriggerPhase.PHASE2 or a.thread is not None):
        # A pause means "no new work": a trigger that ran anyway would surprise the user who
        # paused (a plain `trigger phase1` only wakes the claim loop, which stays paused).
        raise CommandError(
            protocol.E_FAILED,
            f"not run: the daemon is paused (memoryd resume); pass --force to run {a.phase} anyway",
        )
    if a.phase is TriggerPhase.PHASE2:
        if a.thread is not None:
            raise CommandError(protocol.E_BAD_REQUEST, "--thread applies to phase1 only")
        return TriggerResult(phase=a.phase, result=await d.trigger_phase2())
    if a.thread is None:
        d.wake_phase1()
        return TriggerResult(phase=a.phase, woken=True, paused=d.paused)
    cand, why = await jobs.thread_candidate(ctx.conn, a.thread)
    if cand is None:
        raise CommandError(protocol.E_NOT_FOUND, why or a.thread)
    outcome = await d.trigger_thread(cand)
    return TriggerResult(phase=a.phase, thread=a.thread, outcome=outcome)


async def pause(ctx: Context, _: NoArgs) -> PauseResult:
    return await _daemon(ctx).set_paused(True)


async def resume(ctx: Context, _: NoArgs) -> PauseResult:
    return await _daemon(ctx).set_paused(False)


async def forget(ctx: Context, a: ForgetArgs) -> ForgetReport:
    if (a.thread is None) == (a.cwd is None):
        raise CommandError(protocol.E_BAD_REQUEST, "forget needs exactly one of thread or cwd")
    with _not_found(maintenance.NothingToForget):
        result = await maintenance.forget(ctx.conn, thread_id=a.thread, cwd=a.cwd)
    d = ctx.daemon
    if d is not None:
        d.wake_phase2(bypass_interval=True)  # a paused daemon runs it once resumed
    when = (
        WhenPhase2.NEXT_RUN if d is None
        else WhenPhase2.AFTER_RESUME if d.paused
        else WhenPhase2.WOKEN
    )  # fmt: skip
    return ForgetReport(threads=result.threads, outputs_deleted=result.outputs_deleted, phase2=when)


async def clear(ctx: Context, a: ClearArgs) -> ClearResult:
    if not a.yes:
        raise CommandError(protocol.E_BAD_REQUEST, "clear wipes every memory: pass yes=true")
    result = await maintenance.clear(
        ctx.conn, ctx.settings.paths.memory_root, reextract=a.reextract
    )
    if published.shared(ctx.conn):  # this host's folder is the cleared one: nothing to follow
        cleared = await maintenance.cleared_at_ms(ctx.conn) or 0
        await anyio.to_thread.run_sync(
            maintenance.mark_clear_seen, ctx.settings.paths.state_dir, cleared
        )
    if ctx.daemon is not None and a.reextract:
        # Every thread is pending again; an idle claim loop waits for a change and would not
        # see them until the next new rollout.
        ctx.daemon.wake_phase1()
    return result


async def hosts_(ctx: Context, a: HostsArgs) -> HostsResult:
    forgotten: HostRow | msgspec.UnsetType = msgspec.UNSET
    if a.action is HostsAction.FORGET:
        if a.host is None:
            raise CommandError(
                protocol.E_BAD_REQUEST,
                "hosts forget needs the host: its name or the start of its id "
                "(`memoryd hosts` lists them)",
            )
        try:
            forgotten = await hosts_store.forget_host(ctx.conn, a.host)
        except hosts_store.UnknownHost as e:
            raise CommandError(protocol.E_NOT_FOUND, str(e)) from None
        except hosts_store.AmbiguousHost as e:
            raise CommandError(protocol.E_BAD_REQUEST, str(e)) from None
        except hosts_store.HostError as e:
            raise CommandError(protocol.E_FAILED, str(e)) from None
    elif a.host is not None:
        raise CommandError(
            protocol.E_BAD_REQUEST,
            f"hosts list takes no host; `memoryd hosts forget {a.host}` removes one",
        )
    rows = await hosts_store.list_hosts(ctx.conn)
    return HostsResult(
        now=clock.now_s(), forgotten=forgotten, hosts=msgspec.UNSET if rows is None else rows
    )


async def history_(ctx: Context, a: HistoryArgs) -> HistoryResult:
    _check_limit(a.limit)  # the empty list it would give reads as "no runs yet"
    runs = await anyio.to_thread.run_sync(history.list_runs, ctx.settings.paths.state_dir, a.limit)
    return HistoryResult(runs=runs)


async def diff(ctx: Context, a: RunArgs) -> DiffResult:
    with _not_found(history.UnknownRun):
        entry, text = await anyio.to_thread.run_sync(
            history.run_diff, ctx.settings.paths.state_dir, a.run
        )
    return DiffResult(
        run=a.run, at_ms=entry.at_ms, host=entry.host, host_id=entry.host_id, diff=text
    )


async def rollback(ctx: Context, a: RunArgs) -> Phase2Result:
    """Through a Consolidator, so the restore takes the phase-2 lock like any run. A rollback
    runs no agent, so without a daemon the offline one stands in: a backend that cannot be
    built here (a missing key or binary) must not stop a restore."""
    if ctx.daemon is not None:
        consolidator = ctx.daemon.consolidator
    else:
        from memoryd.consolidate.offline import OfflineConsolidator
        from memoryd.phase1 import make_worker_id
        from memoryd.phase2 import Consolidator

        s = ctx.settings
        consolidator = Consolidator(
            ctx.conn,
            s.config,
            OfflineConsolidator(),
            root=s.paths.memory_root,
            codex_home=s.paths.codex_home,
            worker_id=make_worker_id(),
            history_dir=history.history_dir(s.paths.state_dir),
        )
    with _not_found(history.UnknownRun):
        return await consolidator.rollback(a.run)


# ------------------------------------------------------------------------------- logs


def _level_ok(rec: dict[str, Any], min_rank: int) -> bool:
    level = str(rec.get("level", "info")).lower()
    rank = LOG_LEVELS.index(level) if level in LOG_LEVELS else 0
    return rank >= min_rank


def _parse_lines(data: bytes, a: LogsArgs, min_rank: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in data.splitlines():
        try:
            rec = msgspec.json.decode(line)
        except msgspec.DecodeError:
            continue  # not one of our JSON lines (a torn write would be completed later)
        if not isinstance(rec, dict) or not _level_ok(rec, min_rank):
            continue
        if a.thread is not None and rec.get("thread_id") != a.thread:
            continue
        out.append(rec)
    return out


async def logs(ctx: Context, a: LogsArgs) -> AsyncIterator[list[dict[str, Any]]]:
    """The last ``lines`` matching records of the log file; with ``follow``, then every new
    matching record as it is written (across rotations) until the caller stops."""
    if a.level is not None and a.level.lower() not in LOG_LEVELS:
        raise CommandError(
            protocol.E_BAD_REQUEST,
            f"unknown log level {a.level!r}; use one of {', '.join(LOG_LEVELS)}",
        )
    min_rank = LOG_LEVELS.index(a.level.lower()) if a.level else 0
    path = ctx.settings.paths.log_dir / LOG_FILE_NAME
    data, ino, start = await anyio.to_thread.run_sync(_read_from, path, 0)
    # A line still being written (no newline yet) is read with the next batch: following
    # resumes right after the last complete line shown.
    complete = data[: data.rfind(b"\n") + 1]
    pos = start + len(complete)
    yield _parse_lines(complete, a, min_rank)[-a.lines :] if a.lines > 0 else []
    if not a.follow:
        return
    while True:
        await anyio.sleep(LOG_POLL_SECONDS)
        try:
            st = await anyio.to_thread.run_sync(os.stat, path)
        except FileNotFoundError:
            continue  # rotated away; the new file appears with the next line
        if st.st_ino != ino or st.st_size < pos:
            ino, pos = st.st_ino, 0  # rotated or truncated: read the new file from its start
        if st.st_size == pos:
            continue
        data, ino, start = await anyio.to_thread.run_sync(_read_from, path, pos)
        complete = data[: data.rfind(b"\n") + 1]
        pos = start + len(complete)
        records = _parse_lines(complete, a, min_rank)
        if records:
            yield records


def _read_from(path: Path, pos: int) -> tuple[bytes, int, int]:
    """(bytes from ``pos`` to the end, inode, pos) of the file; empty when it is missing."""
    try:
        with path.open("rb") as f:
            ino = os.fstat(f.fileno()).st_ino
            f.seek(pos)
            return f.read(), ino, pos
    except FileNotFoundError:
        return b"", 0, 0


# ------------------------------------------------------------------------------- registry


def _commands(*cmds: Command[Any, Any]) -> dict[str, Command[Any, Any]]:
    return {c.name: c for c in cmds}


def _absolute(path: str | None) -> str | None:
    """Codex records absolute cwds. Resolved on the caller's side, against its directory and
    home: the daemon runs elsewhere, and no shell expands the ~ of ``--cwd=~/x``. An empty
    one goes as it is, to be refused: abspath("") would be the caller's cwd."""
    return os.path.abspath(os.path.expanduser(path)) if path else path


_CONFIRM_CLEAR = Confirm(
    lambda settings: (
        f"This deletes every memory in {settings.paths.memory_root} and memoryd's memory "
        "state. Type 'yes' to continue: "
    ),
    refused="clear deletes every memory: confirm on a terminal, or pass --yes in scripts",
    declined="nothing cleared",
)


_LIMIT_HELP = "at most this many (default %(default)s)"
_RUN = Arg("run", "a run id, as `memoryd history` lists them", metavar="RUN")

COMMANDS = _commands(
    Command(
        "status", "daemon state, job counts, running jobs, last phase-2 run, budget, next work",
        NoArgs, status, StatusResult, render.status, read_only=True,
    ),
    Command(
        "jobs", "list jobs with their last errors and retry times",
        JobsArgs, jobs_, JobsResult, render.jobs, read_only=True,
        cli=(
            Arg("status", " | ".join(jobs.JOB_STATUSES), ("--status",), metavar="S"),
            Arg("kind", "stage1 | phase2 (or the full kind name)", ("--kind",), metavar="K"),
            Arg("limit", _LIMIT_HELP, ("--limit",)),
        ),
    ),
    Command(
        "trigger", "run a phase now, bypassing the interval (not the lock)",
        TriggerArgs, trigger, TriggerResult, render.trigger, needs_daemon=True, slow=True,
        cli=(
            Arg("phase", "phase1: extraction; phase2: consolidation"),
            Arg("thread", "phase1: extract this thread now", ("--thread",), metavar="ID"),
            Arg("force", "run it even while the daemon is paused", ("--force",)),
        ),
    ),
    Command(
        "pause", "stop claiming new work (running work finishes); kept across restarts",
        NoArgs, pause, PauseResult, render.paused, needs_daemon=True,
    ),
    Command(
        "resume", "claim new work again",
        NoArgs, resume, PauseResult, render.paused, needs_daemon=True,
    ),
    Command(
        "ping", "whether the daemon answers: its pid, version and start time",
        NoArgs, ping, PingResult, render.ping, needs_daemon=True,
    ),
    Command(
        "forget", "delete memories of a thread or a directory, then re-consolidate",
        ForgetArgs, forget, ForgetReport, render.forget, slow=True,
        cli=(
            Arg("thread", "the thread (session) id to forget", ("--thread",), metavar="ID"),
            Arg(
                "cwd", "forget every thread whose cwd is this directory or under it",
                ("--cwd",), metavar="PATH", to_wire=_absolute,
            ),
        ),
        one_of=("thread", "cwd"),
    ),
    Command(
        "clear",
        "wipe every memory and what memoryd wrote in the memory root; sessions known now are "
        "not extracted again unless they change",
        ClearArgs, clear, ClearResult, render.clear, slow=True, confirm=_CONFIRM_CLEAR,
        cli=(
            Arg("yes", "do not ask for confirmation", ("--yes",)),
            Arg(
                "reextract",
                "extract every known session again afterwards (as `codex debug clear-memories`)",
                ("--reextract",),
            ),
        ),
    ),
    Command(
        "logs", "show the structured log (--json: raw JSON lines)",
        LogsArgs, logs, list, render.log_batch, read_only=True, streaming=True,
        slow=lambda a: a.follow,
        cli=(
            Arg("follow", "keep printing new lines", ("-f", "--follow")),
            Arg("level", "at least this level: debug, info, warning, error", ("--level",),
                metavar="L"),
            Arg("thread", "only lines about this thread", ("--thread",), metavar="ID"),
            Arg("lines", "how many past lines (default %(default)s)", ("-n", "--lines")),
        ),
    ),
    Command(
        "hosts",
        "list the hosts sharing a PostgreSQL state; `hosts forget NAME` removes one that is "
        "gone (its memories stay)",
        HostsArgs, hosts_, HostsResult, render.hosts_result,
        cli=(
            Arg("action", "list (the default) or forget"),
            Arg("host", "forget: the host's name, or the start of its id", metavar="HOST"),
        ),
    ),
    Command(
        "history", "list the consolidation runs kept in the run history",
        HistoryArgs, history_, HistoryResult, render.history, read_only=True,
        cli=(Arg("limit", _LIMIT_HELP, ("--limit",)),),
    ),
    Command(
        "diff", "show what one consolidation run changed",
        RunArgs, diff, DiffResult, render.diff, read_only=True, cli=(_RUN,),
    ),
    Command(
        "rollback", "restore the memory root to a run's files",
        RunArgs, rollback, Phase2Result, render.rollback, slow=True, cli=(_RUN,),
    ),
)  # fmt: skip


def prepare(name: str, raw_args: dict[str, Any]) -> tuple[Command[Any, Any], Any]:
    """The command and its validated arguments; CommandError for an unknown command or
    arguments of the wrong shape."""
    command = COMMANDS.get(name)
    if command is None:
        known = ", ".join(sorted(COMMANDS))
        raise CommandError(protocol.E_UNKNOWN_COMMAND, f"unknown command {name!r}; known: {known}")
    try:
        args = msgspec.convert(raw_args, command.args)
    except msgspec.ValidationError as e:
        raise CommandError(protocol.E_BAD_REQUEST, f"bad arguments for {name}: {e}") from None
    return command, args


async def run_local(
    settings: Settings, name: str, raw_args: dict[str, Any], emit: Callable[[Any], None]
) -> None:
    """Run a command in this process, without a daemon: ``emit`` gets each result (every
    batch of a stream) as the same plain data a socket response would carry."""
    from memoryd.store.db import connect_state

    command, args = prepare(name, raw_args)
    command.check(None)
    async with connect_state(settings) as conn:
        ctx = Context(conn, settings)
        if command.streaming:
            async for item in command.stream(ctx, args):
                emit(msgspec.to_builtins(item))
        else:
            emit(msgspec.to_builtins(await command.call(ctx, args)))
