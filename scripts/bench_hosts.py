#!/usr/bin/env python3
"""Benchmark phase 1 across hosts: one backlog through 1, 2 and 4 daemons on PostgreSQL,
against 1 daemon on SQLite.

K idle rollouts (default 400, bench_index's generator) split evenly over N hosts, each a
``memoryd serve`` with its own CODEX_HOME and state dir; on PostgreSQL all of them share one
database of a throw-away cluster this script starts (tests/support/pg.py, the tests' own).
Every stage-1 call goes to the loopback model (tests/support/fake_model.py, in its own
process), which answers after a fixed L seconds (default 0.2) and logs when each call
arrived. ``phase1.concurrency`` C (default 4) per daemon; phase 2 is offline and waits a day
between runs, so what is measured is extraction.

Throughput is K over the span from the first model call's arrival to the last one's answer
(so daemon start-up is left out, but not the skew between daemons), as a ratio of the ideal
N x C / L (target >= 0.85 at 4 daemons). DB time per job on PostgreSQL is the server's own
execution time of every statement of that run (pg_stat_statements, reset before it) over K;
CPU per job is the daemons' user + system time over K (what the engine costs the client).

    python scripts/bench_hosts.py                  # K=400, L=200 ms, C=4
    python scripts/bench_hosts.py -k 800 -l 0.1 -c 8
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_daemon import ServeProcess, cpu_seconds
from bench_phase1 import make_rollouts
from support import pg
from support.daemon import KEY_ENV, wait_for
from support.fake_model import running

DSN_ENV = "MEMORYD_BENCH_PG_DSN"
CONFIG = """\
[phase1]
backend = "openai"
concurrency = {c}
max_running = {max_running}

[phase2]
backend = "offline"
min_interval_seconds = 86400

[backends.openai]
base_url = "{url}"
api_key_env = "{key}"
"""
STATE = f'[state]\nbackend = "postgres"\ndsn_env = "{DSN_ENV}"\npool_size = {{pool}}\n'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", type=int, default=400, help="rollouts in the backlog (default 400)")
    ap.add_argument("-l", type=float, default=0.200, help="model latency in s (default 0.2)")
    ap.add_argument("-c", type=int, default=4, help="phase1.concurrency (default 4)")
    ap.add_argument("--pool", type=int, default=8, help="state.pool_size (default 8)")
    ap.add_argument(
        "--daemons", default="1,2,4", help="daemon counts on PostgreSQL (default 1,2,4)"
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="after each PostgreSQL run, the statements that took the most server time",
    )
    args = ap.parse_args()
    counts = [int(n) for n in args.daemons.split(",")]

    bindir = pg.find_bindir()
    if bindir is None:
        print("no PostgreSQL server binaries under /usr/lib/postgresql/<n>/bin", file=sys.stderr)
        return 2
    print(
        f"backlog K: {args.k} rollouts   latency L: {args.l * 1000:.0f} ms   "
        f"concurrency C: {args.c} per daemon   pool_size: {args.pool}"
    )
    print(
        f"{'engine':<10} {'daemons':>7} {'span s':>8} {'jobs/s':>8} {'ideal':>8} "
        f"{'ratio':>6} {'DB ms/job':>10} {'stmts/job':>10} {'CPU ms/job':>11}"
    )
    with pg.cluster(bindir) as cluster:
        # The server's own statement timings: pg_stat_statements, loaded at start.
        cluster.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        cluster.stop()
        cluster.start()
        runs: list[tuple[str, int]] = [("sqlite", 1)] + [("postgres", n) for n in counts]
        for engine, n in runs:
            row = run(args, cluster, engine, n)
            print(
                f"{engine:<10} {n:>7} {row['span']:>8.2f} {row['rate']:>8.1f} "
                f"{row['ideal']:>8.1f} {row['rate'] / row['ideal']:>6.2f} "
                f"{_fmt(row['db_ms'], '.2f'):>10} {_fmt(row['stmts'], '.1f'):>10} "
                f"{row['cpu_ms']:>11.1f}",
                flush=True,
            )
    print("target: ratio >= 0.85 at 4 daemons on PostgreSQL")
    return 0


def _fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def run(args: argparse.Namespace, cluster: pg.PgCluster, engine: str, n: int) -> dict[str, Any]:
    """One backlog through ``n`` daemons on ``engine``; the figures of that run."""
    base = Path(tempfile.mkdtemp(prefix="md-hosts-", dir="/tmp"))
    calls = base / "calls.jsonl"
    dsn = ""
    if engine == "postgres":
        dsn = cluster.new_database()
        cluster.psql("CREATE EXTENSION pg_stat_statements", dsn.rsplit("/", 1)[1])
    try:
        with (
            running(args.l, args.l, calls) as (_server, url),
            daemons(base, args, url, engine, n, dsn) as procs,
        ):
            if dsn:
                cluster.psql("SELECT pg_stat_statements_reset()", dsn.rsplit("/", 1)[1])
            for d in procs:
                d.start()
            wait_for(
                f"{args.k} extractions by {n} daemon(s) on {engine}",
                lambda: all(d.alive() for d in procs) and _stage1_done(procs, dsn) == args.k,
                max(120.0, 20 * args.k * args.l / (n * args.c)),
            )
            cpu = sum(cpu_seconds(d.pid) for d in procs)
            db_ms = stmts = None
            if dsn:
                total_ms, total_calls = _statements(cluster, dsn)
                db_ms, stmts = total_ms / args.k, total_calls / args.k
                if args.profile:
                    _profile(cluster, dsn, args.k)
        arrivals = sorted(
            e["t"] for e in map(json.loads, calls.read_text().splitlines()) if e["kind"] == "phase1"
        )
        assert len(arrivals) == args.k, (len(arrivals), args.k)  # one call per thread
        span = arrivals[-1] - arrivals[0] + args.l
        return {
            "span": span,
            "rate": args.k / span,
            "ideal": n * args.c / args.l,
            "db_ms": db_ms,
            "stmts": stmts,
            "cpu_ms": cpu / args.k * 1000,
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def daemons(
    base: Path, args: argparse.Namespace, url: str, engine: str, n: int, dsn: str
) -> Iterator[list[ServeProcess]]:
    """``n`` hosts (homes under ``base``) with K/n rollouts each, not started yet; stopped on
    the way out."""
    config = CONFIG.format(c=args.c, max_running=max(64, 4 * n * args.c), url=url, key=KEY_ENV)
    if engine == "postgres":
        config += STATE.format(pool=args.pool)
    procs = []
    try:
        for i in range(n):
            home = base / f"h{i}"
            home.mkdir()
            share = args.k // n + (1 if i < args.k % n else 0)
            make_rollouts(home / "codex", share)
            d = ServeProcess(home, config)
            d.env[DSN_ENV] = dsn
            procs.append(d)
        yield procs
    finally:
        for d in procs:
            d.stop()


def _stage1_done(procs: list[ServeProcess], dsn: str) -> int:
    sql = "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' AND status = 'done'"
    if not dsn:
        rows = procs[0].query(sql)
        return int(rows[0][0]) if rows else 0
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(sql).fetchone()
    except psycopg.Error:
        return 0  # not migrated yet
    return int(row[0]) if row else 0


def _statements(cluster: pg.PgCluster, dsn: str) -> tuple[float, int]:
    """(ms, calls) the server spent executing this database's statements since the reset."""
    out = cluster.psql(
        "SELECT coalesce(sum(total_exec_time), 0), coalesce(sum(calls), 0) "
        "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())",
        dsn.rsplit("/", 1)[1],
    )
    ms, n = out.split("|")
    return float(ms), int(n)


def _profile(cluster: pg.PgCluster, dsn: str, k: int) -> None:
    """The five statements of this run that took the most server time, per job."""
    out = cluster.psql(
        f"SELECT round((total_exec_time / {k})::numeric, 3), "
        f"round((calls::float / {k})::numeric, 2), "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "ORDER BY total_exec_time DESC LIMIT 5",
        dsn.rsplit("/", 1)[1],
    )
    for line in out.splitlines():
        ms, calls, query = line.split("|", 2)
        print(f"    {ms:>7} ms/job {calls:>6} calls/job  {query}")


if __name__ == "__main__":
    sys.exit(main())
