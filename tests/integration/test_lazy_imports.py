"""The PostgreSQL driver is loaded only by a state on PostgreSQL: psycopg and its pool add about
10 MB to every process that imports them, and the default state is SQLite."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
import memoryd.cli, memoryd.daemon.supervisor, memoryd.daemon.runonce, memoryd.doctor
import memoryd.rollouts.indexer, memoryd.store.engine, memoryd.store.hosts
print(sorted(m for m in sys.modules if m.split(".")[0] in ("psycopg", "psycopg_pool")))
"""


def test_importing_the_daemon_and_the_store_does_not_load_psycopg() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
