"""Several daemons on one PostgreSQL database (issue 18): their homes, their memory folders,
and psql on the shared database (tests/acceptance/test_multi_host_*.py)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from support import pg
from support.daemon import Serve, daemon_env, short_dir, write_config

DSN_ENV = "MEMORYD_TEST_PG_DSN"
CONFIG = f"""\
[state]
backend = "postgres"
dsn_env = "{DSN_ENV}"
[phase2]
min_interval_seconds = 0
"""
WAIT = 90.0  # two daemons and a server on a loaded 2-core machine


@contextlib.contextmanager
def hosts(n: int, dsn: str) -> Iterator[list[Serve]]:
    """``n`` daemons' homes (not started), each with its own CODEX_HOME and state dir, on the
    database ``dsn``; every process they ran is killed (by PID) on the way out."""
    with contextlib.ExitStack() as stack:
        out = []
        for _ in range(n):
            base = stack.enter_context(short_dir())
            env = daemon_env(base)
            env[DSN_ENV] = dsn
            s = stack.enter_context(Serve(base, env))
            write_config(s, CONFIG)
            out.append(s)
        yield out


def folder(s: Serve) -> dict[str, bytes]:
    """The memory folder's files, byte for byte (its baseline repository, and the staging
    names of a baseline being swapped, aside)."""
    root = s.state / "memories"
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".git")]
        for name in filenames:
            path = Path(dirpath, name)
            with contextlib.suppress(FileNotFoundError):  # replaced right now: seen next time
                out[str(path.relative_to(root))] = path.read_bytes()
    return dict(sorted(out.items()))


def same_folders(servers: list[Serve]) -> dict[str, bytes] | None:
    """The common folder when every host's holds the consolidated files and they are equal."""
    trees = [folder(s) for s in servers]
    if "MEMORY.md" not in trees[0] or any(t != trees[0] for t in trees[1:]):
        return None
    return trees[0]


def q(cluster: pg.PgCluster, dsn: str, sql: str) -> str:
    return cluster.psql(sql, dsn.rsplit("/", 1)[1])


def newest_tree(cluster: pg.PgCluster, dsn: str, column: str = "run_id") -> str:
    """A column of the newest published tree ('' when none is)."""
    return q(cluster, dsn, f"SELECT {column} FROM published_trees ORDER BY seq DESC LIMIT 1")


def consolidated(cluster: pg.PgCluster, dsn: str, n: int) -> bool:
    return q(cluster, dsn, "SELECT count(*) FROM phase2_selection") == str(n)
