"""The throw-away PostgreSQL server the state-engine tests run on (tests/support/pg.py)."""

from __future__ import annotations

import os

from support import pg


def test_cluster_runs_unprivileged_on_loopback_and_gives_each_test_its_own_db(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    assert pg_cluster.psql("SELECT current_setting('listen_addresses')") == "127.0.0.1"
    dbname = pg_dsn.rsplit("/", 1)[1]
    assert pg_cluster.psql("SELECT current_database()", dbname) == dbname
    pid = pg_cluster.proc.pid
    with open(f"/proc/{pid}/status") as f:
        uid = next(int(ln.split()[1]) for ln in f if ln.startswith("Uid:"))
    assert uid != 0  # postgres refuses root: under root it runs as postgres (or nobody)
    assert os.geteuid() == 0 or uid == os.geteuid()
    assert (pg_cluster.socket_dir / f".s.PGSQL.{pg_cluster.port}").exists()
