"""``memoryd serve`` as a subprocess against a throw-away home, for tests and benchmarks.

``short_dir()`` gives a base directory short enough for the control socket (Unix socket
paths must stay under 108 bytes; pytest's tmp_path can be longer); ``daemon_env(base)`` the
environment that points every memoryd path into it; ``Serve`` starts the daemon there, reads
its JSON log and kills (by PID) what it started; ``wait_for`` is the bounded poll every such
test synchronises with; the rest read the state DB from a separate connection, as another
process would. One copy of all this, so that every daemon test isolates its daemon the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

WAIT = 20.0  # seconds: generous bound for a loaded 2-core machine; typical waits are < 2 s
KEY_ENV = "MEMORYD_TEST_API_KEY"  # the api_key_env of configs pointing at a loopback model


def wait_for(what: str, pred: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Poll ``pred`` until it returns something true and return that; AssertionError naming
    ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def short_dir(prefix: str = "md-") -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def daemon_env(base: Path, socket: Path | None = None) -> dict[str, str]:
    """This process's environment minus memoryd's, XDG and systemd variables, with every
    memoryd path under ``base`` (config: ``base/cfg/memoryd/config.toml``; the control socket
    at ``socket`` if given, for a ``base`` too long for one) and a dummy key in ``KEY_ENV``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORYD_", "XDG_", "NOTIFY_", "WATCHDOG_"))
        and k not in ("CODEX_HOME", "HOME")
    }
    env.update(
        CODEX_HOME=str(base / "codex"),
        MEMORYD_STATE_DIR=str(base / "state"),
        MEMORYD_SOCKET=str(socket or base / "run" / "memoryd.sock"),
        XDG_CONFIG_HOME=str(base / "cfg"),
        HOME=str(base),
    )
    env[KEY_ENV] = "dummy-key"
    return env


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of a memoryd JSON log so far (none before the file exists); a line being
    written right now is skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


class Serve:
    """``memoryd serve`` subprocesses (one after the other) on the paths ``env`` names; the
    n-th one writes ``base/stdout<n>.txt`` and ``base/stderr<n>.txt``. Leaving a ``with``
    block on it kills (by PID) every one still running."""

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base = base
        self.env = env
        self.state = Path(env["MEMORYD_STATE_DIR"])
        self.codex = Path(env["CODEX_HOME"])
        self.log_path = self.state / "logs" / "memoryd.log"
        self.db_path = self.state / "memoryd.sqlite"
        self.config_path = Path(env["XDG_CONFIG_HOME"]) / "memoryd" / "config.toml"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Serve:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill_all()

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``memoryd ARGS serve`` (``args``: global options such as ``--config``)."""
        n = len(self.procs)
        with (
            open(self.output_path("stdout", n), "wb") as out,
            open(self.output_path("stderr", n), "wb") as err,
        ):
            proc = subprocess.Popen(
                [sys.executable, "-m", "memoryd", *args, "serve"],
                env=self.env,
                cwd=self.base,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        self.procs.append(proc)
        self.proc = proc
        return proc

    def start_ready(self) -> subprocess.Popen[bytes]:
        """Start and wait until the first scan is done and the watcher runs."""
        seen = len(self.events("daemon_ready"))
        proc = self.start()
        wait_for(
            "daemon_ready",
            lambda: self._alive_or_fail(proc) and len(self.events("daemon_ready")) > seen,
        )
        return proc

    def _alive_or_fail(self, proc: subprocess.Popen[bytes]) -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited early with {proc.returncode}: {self.stderr()}")
        return True

    def output_path(self, stream: str, n: int = -1) -> Path:
        """Where the n-th process (the last by default) writes ``stream`` (stdout, stderr)."""
        i = n if n >= 0 else len(self.procs) - 1
        return self.base / f"{stream}{i}.txt"

    def stderr(self, n: int = -1) -> str:
        return self.output_path("stderr", n).read_text(errors="replace")

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return [r for r in read_log(self.log_path) if name is None or r.get("event") == name]

    def wait_event(self, name: str, after: int = 0, timeout: float = WAIT) -> dict[str, Any]:
        """The first ``name`` event beyond the first ``after`` ones."""
        found = wait_for(f"log event {name}", lambda: self.events(name)[after:], timeout)
        return found[0]  # type: ignore[no-any-return]

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout: float = WAIT) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def thread_row(self, thread_id: str) -> dict[str, Any] | None:
        if not self.db_path.exists():
            return None
        conn = sqlite3.connect(self.db_path, timeout=5)
        try:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
            return dict(row) if row else None
        finally:
            conn.close()

    def kill_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)


@contextlib.contextmanager
def serving(base: Path, config_text: str) -> Iterator[Serve]:
    """``memoryd --config <base>/memoryd.toml serve`` on a home under ``base``, started (its
    process: ``procs[0]``); every process it ran is killed (by PID) on the way out if the test
    did not stop it."""
    cfg = base / "memoryd.toml"
    cfg.write_text(config_text)
    with Serve(base, daemon_env(base)) as s:
        s.start("--config", str(cfg))
        yield s


def write_config(s: Serve, text: str) -> None:
    """The config file the daemon finds by itself (XDG_CONFIG_HOME)."""
    s.config_path.parent.mkdir(parents=True, exist_ok=True)
    s.config_path.write_text(text, encoding="utf-8")


def log_events(base: Path) -> list[str]:
    """The event names of the log of the daemon whose home is ``base`` so far."""
    return [str(r.get("event")) for r in read_log(base / "state" / "logs" / "memoryd.log")]


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


def stage1_count(s: Serve) -> int:
    """Stage-1 outputs in the daemon's state DB; 0 before the DB file exists."""
    if not s.db_path.exists():
        return 0
    with db(s.db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM stage1_outputs").fetchone()[0])


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
