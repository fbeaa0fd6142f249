"""Helpers for the control-plane tests: a ``memoryd serve`` subprocess whose socket lives in a
short directory (Unix socket paths must stay under 108 bytes; pytest's tmp_path can be long),
and a way to run the ``memoryd`` CLI against it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_serve import WAIT, Serve

KEY_ENV = "MEMORYD_TEST_API_KEY"


@pytest.fixture(name="daemon")
def daemon_fixture(tmp_path: Path) -> Iterator[Serve]:
    """A Serve (see tests/test_serve.py) with its socket at /tmp/mdXXXX/run/memoryd.sock."""
    short = Path(tempfile.mkdtemp(prefix="md", dir="/tmp"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEMORYD_", "XDG_", "NOTIFY_", "WATCHDOG_"))
        and k not in ("CODEX_HOME", "HOME")
    }
    env.update(
        CODEX_HOME=str(tmp_path / "codex"),
        MEMORYD_STATE_DIR=str(tmp_path / "state"),
        MEMORYD_SOCKET=str(short / "run" / "memoryd.sock"),
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        HOME=str(tmp_path),
        **{KEY_ENV: "dummy-key"},
    )
    s = Serve(tmp_path, env)
    s.codex.joinpath("sessions").mkdir(parents=True)
    try:
        yield s
    finally:
        s.kill_all()
        shutil.rmtree(short, ignore_errors=True)


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
