"""``memoryd serve`` as a subprocess for the fault and leak tests: its environment (everything
under one short temp dir, so the control socket path stays under 108 bytes), its start, and
the moment its work is done, read from the state DB."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

KEY_ENV = "MEMORYD_TEST_API_KEY"


def daemon_env(base: Path) -> dict[str, str]:
    """The caller's environment minus anything memoryd reads, pointed into ``base``."""
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
        **{KEY_ENV: "dummy-key"},
    )
    return env


@contextlib.contextmanager
def serve(base: Path, config_text: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``memoryd --config <base>/memoryd.toml serve``; output goes to base/stdout.txt and
    base/stderr.txt. Killed (by PID) on the way out if the test did not stop it."""
    cfg = base / "memoryd.toml"
    cfg.write_text(config_text)
    with open(base / "stdout.txt", "wb") as out, open(base / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memoryd", "--config", str(cfg), "serve"],
            env=daemon_env(base),
            cwd=base,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def log_events(base: Path) -> list[str]:
    """The event names of the daemon's log file so far."""
    path = base / "state" / "logs" / "memoryd.log"
    if not path.exists():
        return []
    events = []
    for line in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            events.append(str(json.loads(line).get("event")))
    return events


def work_done(base: Path, threads: int) -> bool:
    """Every one of ``threads`` jobs finished and the last consolidation covers every output."""
    db = base / "state" / "memoryd.sqlite"
    if not db.exists() or not (base / "codex" / "memories" / "MEMORY.md").exists():
        return False
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        stage1 = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE status IN ('done', 'error')) FROM jobs "
            "WHERE kind = 'memory_stage1'"
        ).fetchone()
        glob = con.execute(
            "SELECT status, input_watermark, last_success_watermark FROM jobs "
            "WHERE kind = 'memory_consolidate_global'"
        ).fetchone()
    except sqlite3.OperationalError:
        return False  # not migrated yet, or locked
    finally:
        con.close()
    return (
        stage1 == (threads, threads)
        and glob is not None
        and glob[0] == "done"
        and glob[2] is not None
        and glob[2] >= glob[1]
    )
