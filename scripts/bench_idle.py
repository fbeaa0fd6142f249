#!/usr/bin/env python3
"""Benchmark what an idle daemon costs: CPU share and RSS with nothing to do.

N rollouts (default 10,000, bench_index's generator) that are all too recent to extract
(last active now; phase 1 waits 12 idle hours), ``memoryd serve`` with the default offline
backends. Once its first scan has indexed them all and its first consolidation (an empty
memory folder getting its baseline) has finished, it has nothing to do; then, for S seconds
(default 60), measured from /proc: its CPU share (utime + stime over wall time; target
<= 1 %) and RSS (target <= 100 MB). The baseline, measured over the same window: a Python
process that only sleeps, i.e. the floor for any Python daemon on this machine.

The window is checked to be truly idle: no stage-1 job and no consolidation ran in it.
``index.rescan_seconds`` (default 300) bounds how long the daemon sleeps: a window of at least
that long includes one periodic re-scan (its cost, spread over the interval, is in the figure).

    python scripts/bench_idle.py                 # 10,000 rollouts, 60 s
    python scripts/bench_idle.py -n 2000 -s 20   # quicker
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_daemon import ServeProcess, cpu_seconds, rss_mb
from bench_phase1 import make_rollouts
from support.daemon import wait_for

CPU_TARGET = 0.01
RSS_TARGET_MB = 100.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10_000, help="indexed rollouts (default 10000)")
    ap.add_argument("-s", type=float, default=60.0, help="measured seconds (default 60)")
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="md-idle-", dir="/tmp"))
    daemon = ServeProcess(base, '[log]\nlevel = "info"\n')
    sleeper: subprocess.Popen[bytes] | None = None
    try:
        t0 = time.perf_counter()
        make_rollouts(base / "codex", args.n, age_seconds=0)
        print(f"generated {args.n:,} recent rollouts in {time.perf_counter() - t0:.1f} s")

        # Started now, so its own start-up is long over when the window opens.
        sleeper = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(1e9)"], stdin=subprocess.DEVNULL
        )
        t0 = time.perf_counter()
        daemon.start()
        wait_for(
            "the first scan", lambda: daemon.alive() and daemon.log_events("daemon_ready"), 600
        )
        ready_s = time.perf_counter() - t0
        wait_for(
            "the first consolidation to finish",
            lambda: (
                daemon.alive()
                and daemon.query("SELECT 1 FROM phase2_runs WHERE finished_at IS NOT NULL")
            ),
            120,
        )
        settle_s = time.perf_counter() - t0
        threads = daemon.query("SELECT count(*) FROM threads")[0][0]
        assert threads == args.n, (threads, args.n)
        startup_peak = rss_mb(daemon.pid, "VmHWM")

        events_before = daemon.log_path.read_text(encoding="utf-8").count("\n")
        runs_before = daemon.query("SELECT count(*) FROM phase2_runs")[0][0]
        cpu0, base_cpu0, w0 = cpu_seconds(daemon.pid), cpu_seconds(sleeper.pid), time.monotonic()
        rss: list[float] = []
        base_rss: list[float] = []
        while time.monotonic() - w0 < args.s:
            daemon.alive()
            rss.append(rss_mb(daemon.pid))
            base_rss.append(rss_mb(sleeper.pid))
            time.sleep(min(1.0, max(0.0, args.s - (time.monotonic() - w0))))
        wall = time.monotonic() - w0
        cpu = cpu_seconds(daemon.pid) - cpu0
        base_cpu = cpu_seconds(sleeper.pid) - base_cpu0

        lines = daemon.log_path.read_text(encoding="utf-8").splitlines()[events_before:]
        jobs = daemon.query("SELECT count(*) FROM jobs WHERE kind = 'memory_stage1'")[0][0]
        runs = daemon.query("SELECT count(*) FROM phase2_runs")[0][0] - runs_before
        rescans = sum(1 for line in lines if '"event": "index_scan"' in line)
        assert jobs == 0 and runs == 0, f"not idle: {jobs} stage-1 jobs, {runs} consolidations"

        share, base_share = cpu / wall, base_cpu / wall
        print(
            f"rollouts indexed: {threads:,}; daemon ready after {ready_s:.1f} s, first "
            f"consolidation done after {settle_s:.1f} s; peak RSS while indexing "
            f"{startup_peak:.1f} MB"
        )
        print(
            f"idle window: {wall:.1f} s; log lines written in it: {len(lines)} "
            f"(periodic re-scans: {rescans}); stage-1 jobs: {jobs}; consolidations: {runs}"
        )
        print(f"{'':28}{'memoryd serve':>16}{'sleeping python':>18}")
        print(f"{'CPU seconds:':28}{cpu:16.3f}{base_cpu:18.3f}")
        print(f"{'CPU share:':28}{share:15.3%} {base_share:17.3%}   (target <= 1 %)")
        print(
            f"{'RSS, max over the window:':28}{max(rss):13.1f} MB{max(base_rss):15.1f} MB"
            "   (target <= 100 MB)"
        )
        print(f"{'RSS, at the end:':28}{rss[-1]:13.1f} MB{base_rss[-1]:15.1f} MB")
        print(
            f"CPU share {share / CPU_TARGET:.2f} x target; RSS {max(rss) / RSS_TARGET_MB:.2f} x "
            f"target; RSS above a bare Python process: {max(rss) - max(base_rss):.1f} MB"
        )
    finally:
        if sleeper is not None:
            sleeper.kill()
            sleeper.wait()
        daemon.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
