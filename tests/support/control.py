"""Helpers for the control-plane tests: a ``memoryd serve`` subprocess whose socket lives in a
short directory (Unix socket paths must stay under 108 bytes; pytest's tmp_path can be long),
a way to run the ``memoryd`` CLI against it, and the phase-1 config and held loopback model the
pause/resume and reload tests share."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from memoryd.demo import install_examples
from support.daemon import KEY_ENV, WAIT, Serve, daemon_env, short_dir
from support.responses_server import ReceivedRequest, Reply, ResponsesServer

GOOD_REPLY = json.dumps(
    {
        "rollout_summary": "# Ran the tests\nUser prefers uv.",
        "rollout_slug": "ran-tests",
        "raw_memory": "---\ndescription: ran tests\n---\n### Task 1\nuse uv",
    }
)


@pytest.fixture(name="daemon")
def daemon_fixture(tmp_path: Path) -> Iterator[Serve]:
    """A Serve (see tests/support/daemon.py) on tmp_path with its socket at
    /tmp/mdXXXX/run/memoryd.sock."""
    with (
        short_dir("md") as short,
        Serve(tmp_path, daemon_env(tmp_path, socket=short / "run" / "memoryd.sock")) as s,
    ):
        s.codex.joinpath("sessions").mkdir(parents=True)
        yield s


def openai_config(url: str, extra: str = "") -> str:
    """Phase 1 on the openai backend at ``url``, one job at a time (``extra``: more
    ``[phase1]`` lines), debug logs."""
    return (
        f'[phase1]\nbackend = "openai"\nconcurrency = 1\nmax_running = 1\n{extra}'
        f'[backends.openai]\nbase_url = "{url}"\napi_key_env = "{KEY_ENV}"\n'
        'timeout_seconds = 120\n[log]\nlevel = "debug"\n'
    )


@contextlib.asynccontextmanager
async def held_model(s: Serve) -> AsyncIterator[tuple[ResponsesServer, asyncio.Event]]:
    """The bundled rollouts installed in the daemon's home, and a loopback model whose every
    call waits for the event yielded with it before it answers GOOD_REPLY."""
    install_examples(s.codex / "sessions")
    gate = asyncio.Event()

    async def held(_: ReceivedRequest) -> Reply:
        await gate.wait()
        return Reply(text=GOOD_REPLY)

    async with ResponsesServer(responder=held) as srv:
        yield srv, gate


def query(s: Serve, sql: str) -> list[tuple[Any, ...]]:
    """Rows from the daemon's state DB, read from a connection of our own."""
    conn = sqlite3.connect(s.db_path, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


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
