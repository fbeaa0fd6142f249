"""The ``memoryd`` command line: runs the daemon, one-shot passes, the demo, and the control
commands (``status``, ``jobs``, ``trigger``, ...), which ask the running daemon over its socket
and, for those that do not need it, run in this process when no daemon answers."""

from __future__ import annotations

import argparse
import enum
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from memoryd import __version__
from memoryd import log as logsetup
from memoryd.config import Config, Settings, check_memory_root, load_settings, resolve_paths
from memoryd.errors import ConfigError, LinkError, MemorydError
from memoryd.fsutil import ensure_private_dir
from memoryd.phase2.result import Phase2Outcome

if TYPE_CHECKING:
    from memoryd.control.commands import Command, Confirm

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


CONFIG_HELP = "config file (default: $MEMORYD_CONFIG, else ~/.config/memoryd/config.toml)"


def _common() -> argparse.ArgumentParser:
    """Options every subcommand takes too, so ``memoryd status --config X`` works like
    ``memoryd --config X status``. SUPPRESS: absent after the subcommand, the value given
    before it (or None) stays."""
    c = argparse.ArgumentParser(add_help=False)
    c.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=CONFIG_HELP)
    return c


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memoryd",
        description="Turns Codex CLI session rollouts into durable, consolidated memories.",
    )
    p.add_argument("--version", action="version", version=f"memoryd {__version__}")
    p.add_argument("--config", metavar="PATH", help=CONFIG_HELP)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    common = [_common()]

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = sub.add_parser(
            name, help=help, description=help, parents=common
        )
        return sp

    command("serve", "run the daemon in the foreground (what systemd/launchd start)")

    run = command("run", "one full pass without a daemon")
    run.add_argument("--once", action="store_true", required=True, help="run one pass and exit")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")

    demo = command(
        "demo",
        "run the pipeline on bundled example rollouts in a new home that is kept afterwards "
        "(the user's config and memories are not used)",
    )
    demo.add_argument("--dir", metavar="PATH", help="use this directory instead of a new temp dir")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")

    command(
        "unlink",
        "turn <codex_home>/memories from the link to memoryd's folder back into a plain "
        "directory holding a copy of memoryd's current memories (before uninstalling memoryd, "
        "or to give Codex its own memory writer back); stop the daemon first, or its next "
        "start links the folder again",
    )

    cfg = command("config", "validate the config and show the effective settings")
    cfg.add_argument("--json", action="store_true", help="print as JSON")
    cfg.add_argument(
        "--example",
        action="store_true",
        help="print the annotated config (every key with its default) to start a config file "
        "from, and nothing else",
    )
    _control_parsers(command)
    _service_parser(command)
    return p


def _control_parsers(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """One subcommand per entry of the control registry, its options from the entry's
    arguments: their types and defaults are the protocol's (the argument struct's fields)."""
    from memoryd.control.commands import COMMANDS

    for cmd in COMMANDS.values():
        sp = command(cmd.name, cmd.help)
        sp.add_argument("--json", action="store_true", help="print as JSON")
        fields = {f.name: f for f in msgspec.structs.fields(cmd.args)}
        group = sp.add_mutually_exclusive_group(required=True) if cmd.one_of else None
        for arg in cmd.cli:
            f = fields[arg.field]
            kw: dict[str, Any] = {"help": arg.help}
            if f.type is bool:
                kw["action"] = "store_true"
            else:
                kw["metavar"] = arg.metavar
                if f.type is int:
                    kw["type"] = int
                if isinstance(f.type, type) and issubclass(f.type, enum.Enum):
                    kw["choices"] = [m.value for m in f.type]
                    kw.pop("metavar")  # the choices say it better
                if f.default is not msgspec.NODEFAULT:
                    kw["default"] = f.default
            target = group if group is not None and arg.field in cmd.one_of else sp
            if arg.flags:
                target.add_argument(*arg.flags, dest=arg.field, **kw)
            else:
                if f.default is not msgspec.NODEFAULT:
                    kw["nargs"] = "?"  # a positional with a default may be left out
                target.add_argument(arg.field, **kw)
    doctor = command(
        "doctor", "check paths, permissions, DB, socket, backend, budgets and Codex settings"
    )
    doctor.add_argument("--json", action="store_true", help="print as JSON")


def _load(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _load_or_defaults(args: argparse.Namespace) -> tuple[Settings, ConfigError | None]:
    """The settings, or for a broken config file the built-in defaults (with the environment's
    CODEX_HOME / MEMORYD_*), after printing the config error first."""
    try:
        return _load(args), None
    except ConfigError as e:
        print(f"memoryd: {e}", file=sys.stderr)
        print(
            "memoryd: the daemon will not start with it; showing what the built-in defaults "
            "and the environment give",
            file=sys.stderr,
        )
        cfg = Config()
        return Settings(config=cfg, source="<defaults>", paths=resolve_paths(cfg, os.environ)), e


def _print_summary(summary: object, as_json: bool) -> None:
    from memoryd.daemon.runonce import RunSummary

    assert isinstance(summary, RunSummary)
    if as_json:
        print(json.dumps(asdict(summary), indent=2, default=str))
        return
    if not summary.codex_home_exists:
        print("No Codex rollouts found; looked in:")
        for d in summary.looked_in:
            print(f"  {d}")
        print("Nothing to do. Set CODEX_HOME or codex_home in the config if they live elsewhere.")
        return
    s = summary.scan
    assert s is not None
    print(
        f"indexed {s.files_seen} rollout files: {s.files_read} new or changed, "
        f"{s.files_unchanged} unchanged, {s.bytes_read:,} bytes read in {s.seconds:.2f} s"
    )
    print(
        f"threads: {summary.threads} ({summary.threads_with_errors} with an index error); "
        f"files that could not be indexed: {summary.problems}"
    )
    p1 = summary.phase1
    if p1 is not None:
        print(
            f"phase 1: {p1.claimed} extracted: {p1.succeeded} memories, "
            f"{p1.no_output} with nothing worth keeping, {p1.failed} failed"
            + (f", {p1.lost} lost their lease" if p1.lost else "")
        )
        for err in p1.errors[:5]:
            print(f"  failed: {err}")
        if len(p1.errors) > 5:
            print(f"  ... and {len(p1.errors) - 5} more (memoryd logs)")
        if p1.budget_reset_at is not None:
            print(
                f"phase 1: {p1.waiting} jobs wait for the token budget ({p1.budget_reason}); "
                "they run after the reset"
            )
    print(f"memories stored: {summary.memories}")
    if summary.skipped is not None:
        from memoryd.control.render import skipped

        for line in skipped(summary.skipped):
            print(line)
    p2 = summary.phase2
    if p2 is not None:
        if p2.outcome is Phase2Outcome.SUCCEEDED:
            print(
                f"phase 2: consolidated ({p2.added} inputs added, {p2.retained} retained, "
                f"{p2.removed} removed; {len(p2.changed_paths)} files changed since the last run)"
            )
        elif p2.outcome is Phase2Outcome.NOOP:
            print("phase 2: nothing changed since the last consolidation")
        elif p2.outcome is Phase2Outcome.FAILED:
            print(f"phase 2: failed: {p2.reason}")
        elif p2.outcome is Phase2Outcome.BUDGET:
            print(f"phase 2: not started, the token budget is spent ({p2.reason})")
        else:
            print(
                f"phase 2: not run ({p2.outcome}): another consolidation holds the lock, "
                "or the last one failed and is backing off"
            )
    print(f"phases run: {', '.join(summary.phases_run)}")


def _cmd_run(args: argparse.Namespace) -> int:
    from memoryd.daemon.runonce import run_once

    settings = _load(args)
    _refuse_unsafe_paths(settings)
    c = settings.config.log
    logsetup.configure("warning", settings.paths.log_dir, max_bytes=c.max_bytes, backups=c.backups)
    summary = anyio.run(run_once, settings)
    _print_summary(summary, args.json)
    return _exit_status(summary)


def _exit_status(summary: object) -> int:
    """EXIT_ERROR, with each reason on stderr, when a phase failed: scripts and timers must
    not read a failed pass as a good one."""
    from memoryd.daemon.runonce import RunSummary

    assert isinstance(summary, RunSummary)
    failures: list[str] = []
    p1 = summary.phase1
    if p1 is not None and p1.failed:
        first = f" (first: {p1.errors[0]})" if p1.errors else ""
        failures.append(f"phase 1: {p1.failed} extraction(s) failed{first}")
    p2 = summary.phase2
    if p2 is not None and p2.outcome is Phase2Outcome.FAILED:
        failures.append(f"phase 2 failed: {p2.reason}")
    for why in failures:
        print(f"memoryd: {why}", file=sys.stderr)
    return EXIT_ERROR if failures else EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from memoryd.demo import run_demo

    return run_demo(args.dir, as_json=args.json, print_summary=_print_summary)


def _refuse_unsafe_paths(settings: Settings) -> None:
    """Before ``run --once`` or ``serve`` touches anything: a memory root that would take in
    the user's own files is a config error, and a state dir that is a link is refused."""
    check_memory_root(settings)
    ensure_private_dir(settings.paths.state_dir)


def _cmd_serve(args: argparse.Namespace) -> int:
    from memoryd.daemon.supervisor import run_daemon

    settings = _load(args)
    _refuse_unsafe_paths(settings)
    return run_daemon(settings, config_arg=args.config)


def _cmd_unlink(args: argparse.Namespace) -> int:
    from memoryd.memroot.codexlink import unlink_to_directory

    settings = _load(args)
    paths = settings.paths
    logsetup.configure("warning", None, console=True)
    folder = unlink_to_directory(paths.codex_home, paths.memory_root)
    print(f"{folder} is a plain directory again, holding a copy of {paths.memory_root}.")
    print(
        "Codex's own memory writer may now rewrite it. Stop memoryd (systemctl --user disable "
        "--now memoryd) before it starts again: at its next start it would link the folder again."
    )
    return EXIT_OK


def _cmd_config(args: argparse.Namespace) -> int:
    if args.example:
        from memoryd.daemon.service import shipped

        sys.stdout.write(shipped("memoryd.toml").read_text(encoding="utf-8"))
        return EXIT_OK
    settings, error = _load_or_defaults(args)
    paths = {
        k: str(v) if not isinstance(v, tuple) else [str(x) for x in v]
        for k, v in vars(settings.paths).items()
    }
    from memoryd.extract.factory import meaning_status

    used, why = meaning_status(settings.config)
    data = {
        "source": settings.source,
        "paths": paths,
        "config": msgspec.to_builtins(settings.config),
        # what offline.meaning comes to on this installation with this phase-1 backend
        "meaning": {"in_use": used, "why": why},
    }
    if error is not None:
        data["error"] = str(error)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"config: {settings.source} ({'invalid: see above' if error else 'valid'})")
        for k, v in paths.items():
            print(f"{k}: {v}")
        print(f"meaning model: {why}")
    return EXIT_OK if error is None else EXIT_USAGE


def _printer(args: argparse.Namespace, command: Command[Any, Any]) -> Callable[[Any], None]:
    """Print each result as it comes: ``--json`` the data as it is (the wire's JSON; a
    stream's records one a line), else the command's text."""

    def emit(result: Any) -> None:
        if result is None:  # the end of a stream
            return
        if command.streaming:
            lines = [json.dumps(r) for r in result] if args.json else command.render(result)
            for line in lines:
                print(line, flush=True)
        elif args.json:
            print(json.dumps(result, indent=2))
        else:
            print("\n".join(command.render(command.decode(result))))

    return emit


def _confirm(args: argparse.Namespace, confirm: Confirm, settings: Settings) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise MemorydError(confirm.refused)
    # The question goes to stderr, so that it is seen even when stdout is redirected.
    sys.stderr.write(confirm.question(settings))
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() == "yes"


def wire_args(command: Command[Any, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The protocol arguments of a control command, from its command line."""
    return {
        a.field: a.to_wire(value) if a.to_wire else value
        for a in command.cli
        for value in [getattr(args, a.field)]
    }


def _cmd_control(args: argparse.Namespace) -> int:
    """Ask the daemon; when none answers, run the command here unless it needs the daemon."""
    from memoryd.control import client
    from memoryd.control.commands import COMMANDS, run_local

    command = COMMANDS[args.command]
    settings = _load_or_defaults(args)[0] if command.read_only else _load(args)
    cmd_args = wire_args(command, args)
    if command.confirm is not None:
        if not _confirm(args, command.confirm, settings):
            print(f"memoryd: {command.confirm.declined}", file=sys.stderr)
            return EXIT_ERROR
        cmd_args["yes"] = True
    emit = _printer(args, command)
    timeout = None if command.is_slow(cmd_args) else 60.0
    try:
        for result in client.stream(settings.paths.socket_path, command.name, cmd_args, timeout):
            emit(result)
    except client.DaemonNotRunning as e:
        if command.needs_daemon:
            print(f"memoryd: {e}; start it with `memoryd serve`", file=sys.stderr)
            return EXIT_ERROR
        if not command.read_only:
            # What it did goes to the log file, as the daemon would have logged it.
            c = settings.config.log
            logsetup.configure(
                "info", settings.paths.log_dir, max_bytes=c.max_bytes, backups=c.backups,
                console=False,
            )  # fmt: skip
        else:
            logsetup.configure("warning", None, console=True)
        anyio.run(run_local, settings, command.name, cmd_args, emit)
    return EXIT_OK


def _service_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    from memoryd.daemon import service

    svc = command("service", "install, remove or inspect memoryd as a per-user service")
    svc.add_argument(
        "action", choices=["install", "uninstall", "status"],
        help="install: write and enable the unit (systemd --user) or agent (launchd); "
        "uninstall: stop and remove it; status: show whether and how it is installed",
    )  # fmt: skip
    svc.add_argument(
        "--dry-run", action="store_true", help="print what would be done and change nothing"
    )
    svc.add_argument(
        "--memoryd", metavar="PATH", help="the memoryd executable (default: this one, on PATH)"
    )
    svc.add_argument(
        "--platform", choices=["linux", "macos"], default=service.default_platform(),
        help="systemd --user (linux) or launchd (macos); default: this machine's",
    )  # fmt: skip


def _cmd_service(args: argparse.Namespace) -> int:
    from memoryd.daemon import service

    return service.run(
        args.action,
        platform=args.platform,
        config=args.config,
        memoryd=args.memoryd,
        dry_run=args.dry_run,
    )


def _cmd_doctor(args: argparse.Namespace) -> int:
    from memoryd import doctor

    settings, error = _load_or_defaults(args)
    return doctor.run(settings, as_json=args.json, config_error=error)


def _config_error_status(command: str) -> int:
    """EXIT_USAGE, except for ``serve`` under a supervisor that restarts every non-zero exit
    (launchd): its agent sets MEMORYD_CONFIG_ERROR_STATUS=0, since no restart fixes a config."""
    value = os.environ.get("MEMORYD_CONFIG_ERROR_STATUS", "")
    if command == "serve" and value.isdigit():
        return int(value)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    # Everything memoryd creates (and libgit2, SQLite, a codex child on its behalf) is private
    # to the user, whatever umask it was started with.
    os.umask(0o077)
    from memoryd.control.commands import COMMANDS

    args = _parser().parse_args(argv)
    handlers = {
        "serve": _cmd_serve,
        "run": _cmd_run,
        "demo": _cmd_demo,
        "config": _cmd_config,
        "unlink": _cmd_unlink,
        "doctor": _cmd_doctor,
        "service": _cmd_service,
        **dict.fromkeys(COMMANDS, _cmd_control),
    }
    if args.command is None:
        _parser().print_help()
        return EXIT_USAGE
    try:
        return handlers[args.command](args)
    except (ConfigError, LinkError) as e:
        # Restarting cannot fix either: the service manager must not retry (systemd unit:
        # RestartPreventExitStatus=2).
        print(f"memoryd: {e}", file=sys.stderr)
        return _config_error_status(args.command)
    except MemorydError as e:
        print(f"memoryd: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `memoryd logs -f | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
