"""A throw-away PostgreSQL cluster for tests: ``initdb`` into a temp dir, the server listening
on 127.0.0.1 (a free port) and on a Unix socket in that dir, stopped by PID at the end.

PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` user
(else ``nobody``) and the server runs as that user; otherwise as ourselves. Each test gets a
database of its own (``PgCluster.new_database``) so tests share the server, not their state.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "memoryd"
START_TIMEOUT = 30.0  # s: a loaded 2-core machine


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<n>/bin`` holding initdb and postgres, or None."""
    env = os.environ.get("MEMORYD_TEST_PG_BINDIR")
    candidates = [Path(env)] if env else []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted(
            (p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
        )
        candidates += [v / "bin" for v in versions]
    for c in candidates:
        if (c / "initdb").is_file() and (c / "postgres").is_file():
            return c
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a postgres nor a nobody account exists")


@dataclass
class PgCluster:
    bindir: Path
    base: Path
    port: int
    proc: subprocess.Popen[bytes]
    databases: list[str] = field(default_factory=list)

    @property
    def socket_dir(self) -> Path:
        return self.base

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        out = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.dsn(dbname),
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def new_database(self) -> str:
        """A fresh, empty database; its DSN."""
        name = "t_" + uuid.uuid4().hex[:16]
        self.psql(f"CREATE DATABASE {name}")
        self.databases.append(name)
        return self.dsn(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT) of the postmaster we started, by PID; SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def start(self) -> None:
        """Start the server again on the same data dir and port (a restart mid-test)."""
        self.proc = _spawn(self.bindir, self.base, self.port)
        _wait_ready(self)


def _spawn(bindir: Path, base: Path, port: int) -> subprocess.Popen[bytes]:
    user = _run_as()
    log = open(base / "server.log", "ab")  # the child keeps its own copy
    try:
        return subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(base / "data"),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={base}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            start_new_session=True,  # a Ctrl-C of pytest does not reach it; we stop it by PID
        )
    finally:
        log.close()


def _wait_ready(cluster: PgCluster) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if cluster.proc.poll() is not None:
            log = (cluster.base / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"postgres exited with {cluster.proc.returncode}:\n{log}")
        ok = subprocess.run(
            [str(cluster.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(cluster.port)],
            check=False,
        )
        if ok.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"postgres did not accept connections within {START_TIMEOUT} s")
        time.sleep(0.1)


@contextlib.contextmanager
def cluster(bindir: Path) -> Iterator[PgCluster]:
    """A running throw-away cluster; stopped and removed on exit."""
    base = Path(tempfile.mkdtemp(prefix="md-pg-", dir="/tmp"))  # short: the socket path
    c: PgCluster | None = None
    try:
        user = _run_as()
        if user is not None:
            os.chown(base, user.pw_uid, user.pw_gid)
        os.chmod(base, 0o700)
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(base / "data"),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
        port = _free_port()
        c = PgCluster(bindir, base, port, _spawn(bindir, base, port))
        _wait_ready(c)
        yield c
    finally:
        if c is not None:
            c.stop()
        shutil.rmtree(base, ignore_errors=True)
