"""Helpers for the control-plane tests: a ``memoryd serve`` subprocess whose socket lives in a
short directory (Unix socket paths must stay under 108 bytes; pytest's tmp_path can be long),
and a way to run the ``memoryd`` CLI against it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.daemon import WAIT, Serve, daemon_env, short_dir


@pytest.fixture(name="daemon")
def daemon_fixture(tmp_path: Path) -> Iterator[Serve]:
    """A Serve (see tests/support/daemon.py) on tmp_path with its socket at
    /tmp/mdXXXX/run/memoryd.sock."""
    with short_dir("md") as short:
        s = Serve(tmp_path, daemon_env(tmp_path, socket=short / "run" / "memoryd.sock"))
        s.codex.joinpath("sessions").mkdir(parents=True)
        try:
            yield s
        finally:
            s.kill_all()


def socket_path(s: Serve) -> Path:
    return Path(s.env["MEMORYD_SOCKET"])


def cli(
    s: Serve,
    *args: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``memoryd ARGS`` with the daemon's environment (plus ``env``) in ``cwd`` (the
    daemon's directory by default); never hangs past WAIT."""
    return subprocess.run(
        [sys.executable, "-m", "memoryd", *args],
        env={**s.env, **(env or {})},
        cwd=cwd or s.base,
        capture_output=True,
        text=True,
        timeout=WAIT * 3,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def cli_json(s: Serve, *args: str) -> Any:
    done = cli(s, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Conn:
    """A raw protocol connection: send lines, read response lines."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(WAIT)
        self.sock.connect(str(path))
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, obj: Any) -> dict[str, Any]:
        self.send(json.dumps(obj).encode() + b"\n")
        return self.read()

    def read(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed; pending {self.buf[:200]!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        out: dict[str, Any] = json.loads(line)
        return out

    def close(self) -> None:
        self.sock.close()
