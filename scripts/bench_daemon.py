"""Shared by the whole-daemon benchmarks (bench_idle.py, bench_backlog.py): a throw-away
Codex home and state dir, ``memoryd serve`` as a subprocess on it, and what /proc says about
a process. Not a benchmark itself."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.daemon import daemon_env  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    """Resident set size now (``VmRSS``) or at its peak (``VmHWM``), in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for pid {pid}")


class ServeProcess:
    """``memoryd serve`` on a home under ``base`` with ``config`` (TOML text)."""

    def __init__(self, base: Path, config: str) -> None:
        self.base = base
        self.env = daemon_env(base)
        self.db_path = Path(self.env["MEMORYD_STATE_DIR"]) / "memoryd.sqlite"
        self.log_path = Path(self.env["MEMORYD_STATE_DIR"]) / "logs" / "memoryd.log"
        cfg = Path(self.env["XDG_CONFIG_HOME"]) / "memoryd" / "config.toml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(config, encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        with open(self.base / "serve.out", "wb") as out, open(self.base / "serve.err", "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "memoryd", "serve"],
                env=self.env,
                cwd=self.base,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        return self.proc

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            err = (self.base / "serve.err").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"memoryd serve is not running: {err}")
        return True

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Rows from the state DB (empty while it or its schema does not exist yet)."""
        if not self.db_path.exists():
            return []
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            conn.close()

    def log_events(self, name: str) -> int:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return 0
        return text.count(f'"event": "{name}"')

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
