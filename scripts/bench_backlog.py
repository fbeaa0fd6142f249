#!/usr/bin/env python3
"""Benchmark a backlog end to end: ``memoryd serve`` start to a consolidated memory folder.

K idle rollouts (default 500, bench_index's generator), both phases on the ``openai``
backends against the loopback model (tests/support/fake_model.py, in its own process) that
answers every call after L seconds (default 0.1): stage-1 extractions, and a consolidation
agent that takes four model turns. ``phase1.concurrency`` C (default 8).

Measured: from the moment ``serve`` is started to the end of the first successful
consolidation whose inputs are the whole backlog (a ``phase2_runs`` row, ``succeeded``, with
K inputs). The lower bound: ceil(K / C) x L (every model slot busy all the time, nothing
else costing anything) plus one consolidation, timed as that final run's own duration in
the same run. Printed: both, and their ratio (target <= 1.3).

``phase2.min_interval_seconds`` is 0 here (``--min-interval`` to try others): every
phase-1 output wakes phase 2 (at most one consolidation runs at a time), so a consolidation
starts as soon as the last output is stored (or as soon as the one then running ends). The
default, 900 s, batches bursts for a user's day and would measure the interval rather than
memoryd; with 0 the consolidations that run while phase 1 is still busy show up in the
figure only through the CPU and DB time they take from it, and through the one that may be
running when the backlog completes.

    python scripts/bench_backlog.py                  # K=500, L=100 ms, C=8
    python scripts/bench_backlog.py -k 200 -l 0.05 -c 4
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_daemon import ServeProcess
from bench_phase1 import make_rollouts
from support.daemon import KEY_ENV, wait_for
from support.fake_model import AGENT_STEPS, running

CONFIG = """\
[phase1]
backend = "openai"
concurrency = {c}
max_running = {max_running}

[phase2]
backend = "openai"
min_interval_seconds = {interval}
max_inputs = {k}

[backends.openai]
base_url = "{url}"
api_key_env = "{key}"
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", type=int, default=500, help="rollouts in the backlog (default 500)")
    ap.add_argument("-l", type=float, default=0.100, help="model latency in s (default 0.1)")
    ap.add_argument("-c", type=int, default=8, help="phase1.concurrency (default 8)")
    ap.add_argument(
        "--min-interval", type=int, default=0, help="phase2.min_interval_seconds (default 0)"
    )
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="md-backlog-", dir="/tmp"))
    try:
        make_rollouts(base / "codex", args.k)
        with running(args.l, args.l) as (_server, url):
            config = CONFIG.format(
                c=args.c,
                max_running=max(64, args.c + 4),
                k=max(256, args.k),
                url=url,
                key=KEY_ENV,
                interval=args.min_interval,
            )
            daemon = ServeProcess(base, config)
            try:
                started = time.time()
                daemon.start()
                bound_guess = math.ceil(args.k / args.c) * args.l
                done = wait_for(
                    "a consolidation of the whole backlog",
                    lambda: (
                        daemon.alive()
                        and daemon.query(
                            "SELECT started_at, finished_at FROM phase2_runs "
                            "WHERE outcome = 'succeeded' AND inputs_added + inputs_retained = ? "
                            "ORDER BY finished_at LIMIT 1",
                            args.k,
                        )
                    ),
                    max(120.0, 20 * bound_guess),
                )
                run_start_ms, run_end_ms = done[0]
                (last_call_ms,) = daemon.query(
                    "SELECT max(at) FROM usage_ledger WHERE phase = 'phase1'"
                )[0]
                (runs_before,) = daemon.query(
                    "SELECT count(*) FROM phase2_runs WHERE started_at < ?", run_start_ms
                )[0]
                (outputs,) = daemon.query("SELECT count(*) FROM stage1_outputs")[0]
                ready = _first_event_time(daemon, "daemon_ready")
            finally:
                daemon.stop()
        assert outputs == args.k, (outputs, args.k)

        total = run_end_ms / 1000 - started
        consolidation = (run_end_ms - run_start_ms) / 1000
        phase1_ideal = math.ceil(args.k / args.c) * args.l
        lower = phase1_ideal + consolidation
        print(
            f"backlog: {args.k} rollouts   latency L: {args.l * 1000:.0f} ms   "
            f"concurrency C: {args.c}   consolidation: {len(AGENT_STEPS)} model turns"
        )
        if ready is not None:
            print(f"serve start -> first scan done (daemon_ready):  {ready - started:8.2f} s")
            rate = args.k / (last_call_ms / 1000 - ready)
            print(
                f"phase 1 from daemon_ready: {rate:.1f} jobs/s = {rate * args.l / args.c:.2f}"
                " of the ideal C/L (scripts/bench_phase1.py measures phase 1 alone)"
            )
        print(
            f"serve start -> last extraction stored:           "
            f"{last_call_ms / 1000 - started:8.2f} s"
        )
        print(f"serve start -> backlog consolidated:             {total:8.2f} s")
        print(f"  consolidations run before the final one:       {runs_before:8d}")
        print(
            f"lower bound ceil(K/C) x L + one consolidation:   {lower:8.2f} s   "
            f"({phase1_ideal:.2f} + {consolidation:.2f}, the final run's own duration)"
        )
        print(
            f"measured / lower bound:                          {total / lower:8.2f}   "
            "(target <= 1.3)"
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


def _first_event_time(daemon: ServeProcess, name: str) -> float | None:
    """Unix time of the first log event ``name`` (its ISO timestamp), if any."""
    for line in daemon.log_path.read_text(encoding="utf-8").splitlines():
        if f'"event": "{name}"' in line:
            stamp = json.loads(line)["timestamp"].replace("Z", "+00:00")
            return datetime.fromisoformat(stamp).timestamp()
    return None


if __name__ == "__main__":
    sys.exit(main())
