"""Multi-process claims (issue 7, SPEC §3): a daemon and three ``memoryd run --once`` on one DB.

2,000 eligible rollouts, four processes claiming from the same state DB with a global running
cap of 16 (each process alone would hold up to 12: ``phase1.concurrency`` 8 plus its
prefetch), stage-1 calls to a loopback model (a few ms each) that records which thread every
call is about. Meanwhile a separate connection samples, in a tight loop, how many stage-1 jobs
hold a fresh lease. At the end:

* every thread was extracted exactly once (one model call and one usage row per thread: no
  process extracted a thread another one had, at the same ``updated_at``);
* no process surfaced ``database is locked`` (stdout, stderr, the log);
* the sampled running count never exceeded the cap, and exceeded what one process can hold
  (so the processes really claimed side by side).
"""

from __future__ import annotations

import collections
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from support.daemon import KEY_ENV, Serve, scalar, threads_left, wait_for, write_config
from support.fake_model import running
from support.rollouts import write_idle_rollouts

THREADS = 2000
MAX_RUNNING = 16
CONCURRENCY = 8
ONE_PROCESS_MAX = CONCURRENCY + 4  # phase1.PREFETCH_JOBS
RUN_ONCE = 3
FINISH_WAIT = 180.0

CONFIG = f"""\
[phase1]
backend = "openai"
concurrency = {CONCURRENCY}
max_running = {MAX_RUNNING}

[backends.openai]
base_url = "{{url}}"
api_key_env = "{KEY_ENV}"
timeout_seconds = 30
"""


class RunningSampler(threading.Thread):
    """Counts fresh-leased running stage-1 jobs from its own connection until stopped."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(daemon=True)
        self.db_path = db_path
        self.stop = threading.Event()
        self.samples: list[int] = []

    def run(self) -> None:
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            while not self.stop.is_set():
                try:
                    (n,) = conn.execute(
                        "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' "
                        "AND status = 'running' AND lease_until > ?",
                        (int(time.time()),),
                    ).fetchone()
                except sqlite3.OperationalError:
                    continue  # the schema is not there yet
                self.samples.append(int(n))
        finally:
            conn.close()


def test_a_daemon_and_three_run_once_share_one_db_without_double_work(
    short_serve: Serve,
) -> None:
    s, short_base, env = short_serve, short_serve.base, short_serve.env
    calls_log = short_base / "model-calls.jsonl"
    threads = write_idle_rollouts(short_base / "codex" / "sessions", THREADS)
    once: list[subprocess.Popen[bytes]] = []
    with running(0.002, 0.01, calls_log) as (_server, url):
        write_config(s, CONFIG.format(url=url))
        s.state.mkdir(parents=True)
        sampler = RunningSampler(s.db_path)
        try:
            daemon = s.start()
            for i in range(RUN_ONCE):
                with (
                    open(short_base / f"once{i}.out", "wb") as out,
                    open(short_base / f"once{i}.err", "wb") as err,
                ):
                    once.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "memoryd", "run", "--once", "--json"],
                            env=env,
                            cwd=short_base,
                            stdout=out,
                            stderr=err,
                            stdin=subprocess.DEVNULL,
                        )
                    )
            wait_for("the state DB", s.db_path.exists)
            sampler.start()
            codes = [p.wait(timeout=FINISH_WAIT) for p in once]

            def all_extracted() -> bool:
                assert daemon.poll() is None, f"daemon died: {s.stderr()}"
                return (
                    threads_left(s.db_path) == 0
                    and scalar(s.db_path, "SELECT count(*) FROM stage1_outputs") == THREADS
                )

            wait_for("every thread extracted", all_extracted, FINISH_WAIT)
            sampler.stop.set()
            sampler.join(timeout=10)
            s.signal(signal.SIGTERM)
            assert s.wait_exit(timeout=60) == 0, s.stderr()
        finally:
            sampler.stop.set()
            for p in once:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            s.kill_all()

    outputs = [(short_base / f"once{i}.out").read_text(errors="replace") for i in range(RUN_ONCE)]
    errors = [(short_base / f"once{i}.err").read_text(errors="replace") for i in range(RUN_ONCE)]
    assert codes == [0] * RUN_ONCE, errors
    summaries = [json.loads(o) for o in outputs]

    # Each thread: one model call, one usage row, one output.
    calls = [json.loads(line) for line in calls_log.read_text(encoding="utf-8").splitlines()]
    per_thread = collections.Counter(c["thread"] for c in calls if c["kind"] == "phase1")
    twice = {t: n for t, n in per_thread.items() if n != 1}
    assert twice == {}
    assert set(per_thread) == set(threads)
    conn = sqlite3.connect(s.db_path)
    try:
        ledger = dict(
            conn.execute(
                "SELECT thread_id, count(*) FROM usage_ledger WHERE phase = 'phase1' "
                "GROUP BY thread_id"
            ).fetchall()
        )
    finally:
        conn.close()
    assert set(ledger) == set(threads) and set(ledger.values()) == {1}

    # Work was shared: the run --once processes extracted some of it (the daemon the rest).
    by_once = [sm["phase1"]["succeeded"] for sm in summaries]
    assert sum(by_once) > 0, by_once
    assert all(sm["phase1"]["failed"] == 0 and sm["phase1"]["lost"] == 0 for sm in summaries)

    # Nobody was told the database was locked.
    texts = [*outputs, *errors, *(s.stderr(i) for i in range(len(s.procs)))]
    texts.append(s.log_path.read_text(encoding="utf-8"))
    assert not [t for t in texts if "database is locked" in t.lower()]

    # The global cap held, and was actually contended for.
    assert sampler.samples, "the sampler took no samples"
    peak = max(sampler.samples)
    assert peak <= MAX_RUNNING, collections.Counter(sampler.samples)
    assert peak > ONE_PROCESS_MAX, (peak, by_once)


async def test_begin_immediate_waits_out_another_tasks_half_read_select(tmp_path: Path) -> None:
    """The race behind the multi-process failures, made deterministic: task A's SELECT is
    executed but not yet fetched (its statement holds a snapshot) when another process
    commits; task B's write transaction on the same connection must wait for A, not fail
    with "database is locked"."""
    import anyio

    from memoryd.store.db import immediate, open_db

    path = tmp_path / "memoryd.sqlite"
    conn = await open_db(path)
    try:
        await conn.executemany(
            "INSERT INTO usage_ledger (at, phase, backend) VALUES (?, 'phase1', 'x')",
            [(i,) for i in range(10)],
        )
        cur = await conn.execute("SELECT at FROM usage_ledger")  # stepped once, not done
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("INSERT INTO usage_ledger (at, phase, backend) VALUES (99, 'phase1', 'y')")
        other.close()
        wrote = anyio.Event()

        async def writer() -> None:
            async with immediate(conn) as c:
                await c.execute(
                    "INSERT INTO usage_ledger (at, phase, backend) VALUES (100, 'phase1', 'z')"
                )
            wrote.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            await anyio.sleep(0.05)  # let BEGIN IMMEDIATE meet the open statement
            assert not wrote.is_set()
            rows = await cur.fetchall()
            await cur.close()
        assert wrote.is_set() and len(rows) == 10  # the read kept its snapshot: 10 rows
    finally:
        await conn.close()
