"""Several ``memoryd serve`` daemons, each with its own CODEX_HOME and state dir (each a
"host"), on one database of a real PostgreSQL server, against the loopback model in its own
process (tests/support/fake_model.py), which logs every call it receives:

* three hosts each extract only their own rollouts, one model call per thread;
* the host holding the phase-2 lock is SIGKILLed in the middle of the agent, and another host
  completes the consolidation once the lease has run out;
* the server is stopped (fast shutdown, by PID) and started again on the same port mid-run:
  the daemons reconnect and every thread is still extracted exactly once, none exits.
"""

from __future__ import annotations

import collections
import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support import pg
from support.daemon import KEY_ENV, Serve, daemon_env, short_dir, wait_for, write_config
from support.fake_model import MEMORY_MD, running
from support.rollouts import write_idle_rollouts

from memoryd.store.engine import POOL_WAIT_S

DSN_ENV = "MEMORYD_TEST_PG_DSN"
WAIT = 90.0  # s: several daemons and a server on a loaded 2-core machine

CONFIG = f"""\
[phase1]
backend = "openai"
concurrency = 2
lease_seconds = 60
heartbeat_seconds = 2
retry_delay_seconds = 1

[phase2]
backend = "{{phase2}}"
min_interval_seconds = 0
lease_seconds = 10
heartbeat_seconds = 2
retry_delay_seconds = 1

[backends.openai]
base_url = "{{url}}"
api_key_env = "{KEY_ENV}"
timeout_seconds = 60

[state]
backend = "postgres"
dsn_env = "{DSN_ENV}"
"""


class Host:
    """One machine: a daemon on a home of its own, its rollouts, the shared database."""

    def __init__(self, serve: Serve, threads: set[str]) -> None:
        self.serve = serve
        self.threads = threads

    @property
    def pid(self) -> int:
        assert self.serve.proc is not None
        return self.serve.proc.pid

    def alive(self) -> bool:
        return self.serve.proc is not None and self.serve.proc.poll() is None


@contextlib.contextmanager
def hosts(n: int, rollouts: int, dsn: str, config: str) -> Iterator[list[Host]]:
    """``n`` hosts with ``rollouts`` idle rollouts each, their daemons started and past their
    first scan; every daemon is killed (by PID) on the way out."""
    with contextlib.ExitStack() as stack:
        out = []
        for _ in range(n):
            base = stack.enter_context(short_dir())
            serve = stack.enter_context(Serve(base, daemon_env(base)))
            serve.env[DSN_ENV] = dsn
            write_config(serve, config)
            out.append(Host(serve, set(write_idle_rollouts(serve.codex / "sessions", rollouts))))
        for h in out:
            h.serve.start_ready()
        yield out


def query(dsn: str, sql: str, *args: object) -> list[tuple[Any, ...]] | None:
    """Rows from the shared database, or None while the server is away."""
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            return conn.execute(sql, args).fetchall()
    except psycopg.OperationalError:
        return None


def count(dsn: str, sql: str, *args: object) -> int:
    rows = query(dsn, sql, *args)
    return int(rows[0][0]) if rows else -1


def model_calls(log: Path) -> tuple[collections.Counter[str], int]:
    """Stage-1 calls per thread, and the number of agent turns, the model received."""
    phase1: collections.Counter[str] = collections.Counter()
    phase2 = 0
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["kind"] == "phase1":
            phase1[entry["thread"]] += 1
        else:
            phase2 += 1
    return phase1, phase2


def extracted(dsn: str, threads: int) -> bool:
    return (
        count(
            dsn,
            "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' AND status = 'done'",
        )
        == threads
    )


def stop_all(group: list[Host]) -> None:
    """SIGTERM every daemon; each must exit 0 (none died along the way)."""
    for h in group:
        assert h.alive(), f"daemon {h.pid} exited: {h.serve.stderr()}"
        h.serve.signal(signal.SIGTERM)
    for h in group:
        assert h.serve.wait_exit(timeout=60) == 0, h.serve.stderr()


def owner_pids(dsn: str) -> dict[str, int]:
    """Thread id -> pid of the daemon whose claim finished its stage-1 job (worker ids are
    host:pid:random)."""
    rows = query(dsn, "SELECT job_key, worker_id FROM jobs WHERE kind = 'memory_stage1'") or []
    return {str(k): int(str(w).split(":")[-2]) for k, w in rows}


def test_three_hosts_each_extract_only_their_own_rollouts_once(pg_dsn: str, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    with running(0.2, 0.2, calls) as (_server, url):
        config = CONFIG.format(url=url, phase2="offline")
        with hosts(3, 4, pg_dsn, config) as group:
            wait_for("twelve extractions", lambda: extracted(pg_dsn, 12), WAIT)
            owners = owner_pids(pg_dsn)
            stop_all(group)
    every = set().union(*(h.threads for h in group))
    assert len(every) == 12
    for h in group:
        assert {t for t, pid in owners.items() if pid == h.pid} == h.threads
    phase1, _ = model_calls(calls)
    assert set(phase1) == every
    assert set(phase1.values()) == {1}, phase1
    assert count(pg_dsn, "SELECT count(*) FROM stage1_outputs") == 12


def test_another_host_completes_the_consolidation_of_a_host_killed_holding_the_lock(
    pg_dsn: str, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.jsonl"
    # Every model answer takes a second: the agent's four turns hold the lock for seconds.
    with running(1.0, 1.0, calls) as (_server, url):
        config = CONFIG.format(url=url, phase2="openai")
        with hosts(2, 2, pg_dsn, config) as group:

            def holder() -> Host | None:
                rows = query(
                    pg_dsn,
                    "SELECT worker_id FROM jobs WHERE kind = 'memory_consolidate_global' "
                    "AND status = 'running'",
                )
                if not rows or model_calls(calls)[1] == 0:
                    return None  # not yet in the agent
                pid = int(str(rows[0][0]).split(":")[-2])
                return next((h for h in group if h.pid == pid), None)

            victim = wait_for("a consolidation in its agent", holder, WAIT)
            victim.serve.signal(signal.SIGKILL)
            victim.serve.wait_exit()
            killed_ms = int(time.time() * 1000)
            (survivor,) = [h for h in group if h is not victim]

            def consolidated() -> bool:
                assert survivor.alive(), survivor.serve.stderr()
                return (
                    count(
                        pg_dsn,
                        "SELECT count(*) FROM phase2_runs WHERE outcome = 'succeeded' "
                        "AND started_at > %s",
                        killed_ms,
                    )
                    > 0
                    and count(
                        pg_dsn,
                        "SELECT count(*) FROM stage1_outputs WHERE selected_for_phase2 = 1",
                    )
                    == 4
                    and count(
                        pg_dsn,
                        "SELECT count(*) FROM jobs WHERE kind = 'memory_consolidate_global' "
                        "AND status = 'running'",
                    )
                    == 0
                )

            wait_for("the survivor's consolidation after the lease", consolidated, WAIT)
            (worker,) = query(
                pg_dsn,
                "SELECT worker_id FROM jobs WHERE kind = 'memory_consolidate_global'",
            ) or [("",)]
            stop_all([survivor])
            memory = (survivor.serve.state / "memories" / "MEMORY.md").read_text("utf-8")
    assert f":{survivor.pid}:" in str(worker)
    # The lock was taken over only once the dead host's lease (10 s, renewed every 2 s)
    # had run out.
    (started,) = query(
        pg_dsn, "SELECT min(started_at) FROM phase2_runs WHERE started_at > %s", killed_ms
    ) or [(None,)]
    assert started[0] is not None and started[0] - killed_ms >= 7000, (started, killed_ms)
    assert memory == MEMORY_MD
    phase1, _ = model_calls(calls)
    assert set(phase1.values()) == {1}, phase1


def test_daemons_reconnect_after_a_server_restart_and_extract_every_thread_once(
    tmp_path: Path,
) -> None:
    bindir = pg.find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries: apt-get install postgresql (.ci/run does)")
    calls = tmp_path / "calls.jsonl"
    # A server of its own: this test stops it, the session's server serves the others.
    with pg.cluster(bindir) as server, running(1.0, 1.0, calls) as (_model, url):
        dsn = server.new_database()
        config = CONFIG.format(url=url, phase2="offline")
        with hosts(2, 8, dsn, config) as group:
            wait_for(
                "the first extractions",
                lambda: count(dsn, "SELECT count(*) FROM stage1_outputs") >= 2,
                WAIT,
            )
            in_flight = count(
                dsn,
                "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' AND status = 'running'",
            )
            server.stop()  # fast shutdown by PID: every connection is cut
            # Down for longer than a daemon waits for a pooled connection (POOL_WAIT_S), with
            # heartbeats due every 2 s: statements fail against it, not just wait.
            time.sleep(POOL_WAIT_S + 2)
            server.start()

            def done() -> bool:
                for h in group:
                    assert h.alive(), f"daemon {h.pid} exited: {h.serve.stderr()}"
                return extracted(dsn, 16)

            wait_for("all sixteen extractions after the restart", done, WAIT)
            stop_all(group)
            assert in_flight > 0  # the restart hit running work
            reconnects = sum(len(h.serve.events("state_db_reconnecting")) for h in group)
            assert reconnects > 0
            assert count(dsn, "SELECT count(*) FROM stage1_outputs") == 16
            assert (
                count(
                    dsn,
                    "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' "
                    "AND last_error IS NOT NULL",
                )
                == 0
            )
    phase1, _ = model_calls(calls)
    assert set(phase1) == set().union(*(h.threads for h in group))
    assert set(phase1.values()) == {1}, phase1
