"""The ``memoryd`` command line: runs the daemon, one-shot passes, and the demo."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict

import anyio
import msgspec

from memoryd import __version__
from memoryd import log as logsetup
from memoryd.config import Settings, load_settings
from memoryd.errors import ConfigError, MemorydError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memoryd",
        description="Turns Codex CLI session rollouts into durable, consolidated memories.",
    )
    p.add_argument("--version", action="version", version=f"memoryd {__version__}")
    p.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $MEMORYD_CONFIG, else ~/.config/memoryd/config.toml)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("serve", help="run the daemon in the foreground (what systemd/launchd start)")

    run = sub.add_parser("run", help="one full pass without a daemon")
    run.add_argument("--once", action="store_true", required=True, help="run one pass and exit")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")

    demo = sub.add_parser(
        "demo", help="run the pipeline on bundled example rollouts in a temporary home"
    )
    demo.add_argument("--dir", metavar="PATH", help="use this directory instead of a new temp dir")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")

    cfg = sub.add_parser("config", help="validate the config and show the effective settings")
    cfg.add_argument("--json", action="store_true", help="print as JSON")
    return p


def _load(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _print_summary(summary: object, as_json: bool) -> None:
    from memoryd.runonce import RunSummary

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
    p2 = summary.phase2
    if p2 is not None:
        if p2.outcome == "succeeded":
            print(
                f"phase 2: consolidated ({p2.added} inputs added, {p2.retained} retained, "
                f"{p2.removed} removed; {len(p2.changed_paths)} files changed since the last run)"
            )
        elif p2.outcome == "noop":
            print("phase 2: nothing changed since the last consolidation")
        elif p2.outcome == "failed":
            print(f"phase 2: failed: {p2.reason}")
        elif p2.outcome == "budget":
            print(f"phase 2: not started, the token budget is spent ({p2.reason})")
        else:
            print(
                f"phase 2: not run ({p2.outcome}): another consolidation holds the lock, "
                "or the last one failed and is backing off"
            )
    print(f"phases run: {', '.join(summary.phases_run)}")


def _cmd_run(args: argparse.Namespace) -> int:
    from memoryd.runonce import run_once

    settings = _load(args)
    c = settings.config.log
    logsetup.configure("warning", settings.paths.log_dir, max_bytes=c.max_bytes, backups=c.backups)
    summary = anyio.run(run_once, settings)
    _print_summary(summary, args.json)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from memoryd.demo import run_demo

    return run_demo(args.dir, as_json=args.json, print_summary=_print_summary)


def _cmd_serve(args: argparse.Namespace) -> int:
    from memoryd.supervisor import run_daemon

    settings = _load(args)
    return run_daemon(settings, config_arg=args.config)


def _cmd_config(args: argparse.Namespace) -> int:
    settings = _load(args)
    paths = {
        k: str(v) if not isinstance(v, tuple) else [str(x) for x in v]
        for k, v in vars(settings.paths).items()
    }
    data = {
        "source": settings.source,
        "paths": paths,
        "config": msgspec.to_builtins(settings.config),
    }
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"config: {settings.source} (valid)")
        for k, v in paths.items():
            print(f"{k}: {v}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "serve": _cmd_serve,
        "run": _cmd_run,
        "demo": _cmd_demo,
        "config": _cmd_config,
    }
    if args.command is None:
        _parser().print_help()
        return EXIT_USAGE
    try:
        return handlers[args.command](args)
    except ConfigError as e:
        print(f"memoryd: {e}", file=sys.stderr)
        return EXIT_USAGE
    except MemorydError as e:
        print(f"memoryd: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
