"""A daemon on PostgreSQL registers its host and its heartbeat keeps the row fresh:
``memoryd status`` (answered by the daemon) lists it with its last heartbeat and running
jobs, and ``memoryd doctor`` checks the DSN, the server, the schema version and the clocks,
one line each."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

from support import pg
from support.daemon import Serve, wait_for, write_config

from memoryd import __version__
from memoryd.store import hosts
from memoryd.store.db import migrations

DSN_ENV = "MEMORYD_TEST_PG_DSN"


def _memoryd(s: Serve, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memoryd", *args],
        env=s.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_lists_the_daemons_host_and_doctor_checks_the_server(
    short_serve: Serve, pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    dbname = pg_dsn.rsplit("/", 1)[1]
    short_serve.env[DSN_ENV] = pg_dsn
    write_config(short_serve, f'[state]\nbackend = "postgres"\ndsn_env = "{DSN_ENV}"\n')
    short_serve.start_ready()
    host_id = (short_serve.state / "host_id").read_text().strip()
    wait_for(
        "the daemon's host row",
        lambda: pg_cluster.psql("SELECT host_id FROM hosts", dbname) == host_id,
    )

    r = _memoryd(short_serve, "status", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["daemon"]["running"] is True  # the daemon answered
    (host,) = data["hosts"]
    assert host["host_id"] == host_id
    assert host["hostname"] == socket.gethostname()
    assert host["version"] == __version__
    assert host["running"] == 0
    assert abs(host["last_seen"] - data["now"] * 1000) < 60_000

    r = _memoryd(short_serve, "status")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "hosts: 1" in lines
    (line,) = [ln for ln in lines if ln.startswith(f"  {socket.gethostname()} ({host_id[:8]}")]
    assert f"memoryd {__version__}): last seen " in line and line.endswith(", 0 running")

    r = _memoryd(short_serve, "doctor")
    checks = {ln.split(":", 1)[0].split()[-1]: ln for ln in r.stdout.splitlines() if ":" in ln}
    assert checks["pg_dsn"].startswith("ok ") and f"${DSN_ENV}" in checks["pg_dsn"]
    assert checks["pg_server"].startswith("ok ") and "PostgreSQL " in checks["pg_server"]
    assert checks["pg_schema"].startswith("ok ")
    assert f"schema version {migrations()[-1][0]} " in checks["pg_schema"]
    assert checks["clock_skew"].startswith("ok ") and "1 host(s)" in checks["clock_skew"]
    assert "state_db" not in checks  # no SQLite file to check on PostgreSQL
    assert checks["budget"].startswith("ok ")

    # `hosts forget`, answered by the daemon: a machine gone for a month goes from the list;
    # the daemon's own host is refused, in one line.
    gone = "9" * 32
    pg_cluster.psql(
        "INSERT INTO hosts (host_id, hostname, version, started_at, last_seen) "
        f"VALUES ('{gone}', 'gonebox', '0.0.1', 1, 1)",
        dbname,
    )
    r = _memoryd(short_serve, "status")
    assert f"; stale: `memoryd hosts forget {gone[:8]}` removes it" in r.stdout
    r = _memoryd(short_serve, "hosts", "forget", "gonebox")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"forgot host gonebox ({gone[:8]}), last seen 1970-01-01 ")
    assert "hosts: 1\n" in r.stdout
    assert pg_cluster.psql("SELECT count(*) FROM hosts", dbname) == "1"
    r = _memoryd(short_serve, "hosts", "forget", host_id[:8])
    assert r.returncode == 1
    assert r.stderr == (
        f"memoryd: {socket.gethostname()} ({host_id[:8]}) is this host (its state dir's "
        "host_id): a host forgets only other hosts\n"
    )

    # The heartbeat refreshes the row while the daemon runs.
    wait_for(
        "a heartbeat moving last_seen on",
        lambda: int(pg_cluster.psql("SELECT last_seen FROM hosts", dbname)) > host["last_seen"],
        timeout=hosts.HEARTBEAT_SECONDS * 3,
    )

    short_serve.signal(signal.SIGTERM)
    assert short_serve.wait_exit() == 0
