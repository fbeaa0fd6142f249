"""Helpers for tests and benchmarks that run memoryd processes against a throw-away home.

``short_dir()`` gives a base directory short enough for the control socket (Unix socket
paths must stay under 108 bytes; pytest's tmp_path can be longer); ``daemon_env(base)`` the
environment that points every memoryd path into it; the rest read the state DB from a
separate connection, as another process would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEST_KEY_ENV = "MEMORYD_TEST_KEY"  # the api_key_env of configs pointing at a loopback model


@contextlib.contextmanager
def short_dir(prefix: str = "md-") -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def daemon_env(base: Path) -> dict[str, str]:
    """This process's environment minus memoryd's, XDG and systemd variables, with every
    memoryd path under ``base`` (config: ``base/cfg/memoryd/config.toml``)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORYD_", "XDG_", "NOTIFY_", "WATCHDOG_"))
        and k not in ("CODEX_HOME", "HOME")
    }
    env.update(
        CODEX_HOME=str(base / "codex"),
        MEMORYD_STATE_DIR=str(base / "state"),
        MEMORYD_SOCKET=str(base / "run" / "memoryd.sock"),
        XDG_CONFIG_HOME=str(base / "cfg"),
        HOME=str(base),
    )
    env[TEST_KEY_ENV] = "dummy"
    return env


@contextlib.contextmanager
def db(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def scalar(path: Path, sql: str, *args: object) -> int:
    """One integer from the state DB; 0 while the DB or its schema does not exist yet."""
    if not path.exists():
        return 0
    with db(path) as conn:
        try:
            return int(conn.execute(sql, args).fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def running_jobs(path: Path, kind: str, pid: int) -> int:
    """Jobs of this kind that the process with this pid holds (worker ids are host:pid:rand)."""
    return scalar(
        path,
        "SELECT count(*) FROM jobs WHERE kind = ? AND status = 'running' AND worker_id LIKE ?",
        kind,
        f"%:{pid}:%",
    )


def threads_left(path: Path) -> int:
    """Threads without a stage-1 output for their current ``updated_at``."""
    return scalar(
        path,
        "SELECT count(*) FROM threads t LEFT JOIN stage1_outputs o ON o.thread_id = t.id "
        "WHERE o.thread_id IS NULL OR o.source_updated_at < t.updated_at / 1000",
    )
