"""SIGHUP on a real daemon: a new ``phase1.concurrency`` applies to model calls already waiting
while a call runs, and that call still finishes; a broken config is refused, kept out, and
logged; both announce ``RELOADING=1`` then ``READY=1`` to the service manager."""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from support.control import (
    daemon_fixture,  # noqa: F401
    held_model,
    openai_config,
    query,
    socket_path,
)
from support.daemon import WAIT, Serve, stage1_count, wait_for, write_config

from memoryd.control import client


class Notify:
    """A NOTIFY_SOCKET datagram socket that collects what the daemon sends."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(WAIT)
        self.got: list[str] = []

    def until(self, state: str) -> list[str]:
        """Receive until a message containing the line ``state``; return those received."""
        start = len(self.got)
        while True:
            msg = self.sock.recv(4096).decode()
            self.got.append(msg)
            if state in msg.splitlines():
                return self.got[start:]


@pytest.fixture
def notify(daemon: Serve) -> Iterator[Notify]:
    short = Path(tempfile.mkdtemp(prefix="mdn", dir="/tmp"))
    n = Notify(short / "notify.sock")
    daemon.env["NOTIFY_SOCKET"] = str(short / "notify.sock")
    try:
        yield n
    finally:
        n.sock.close()
        shutil.rmtree(short, ignore_errors=True)


def _stage1_running(s: Serve) -> int:
    sql = "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' AND status = 'running'"
    return int(query(s, sql)[0][0])


async def test_sighup_new_concurrency_applies_while_a_job_runs_and_it_finishes(
    daemon: Serve, notify: Notify
) -> None:
    async with held_model(daemon) as (srv, gate):
        write_config(daemon, openai_config(srv.url).replace("max_running = 1\n", ""))
        await anyio.to_thread.run_sync(daemon.start)
        await anyio.to_thread.run_sync(notify.until, "READY=1")
        await srv.wait_for_requests(1, within=WAIT)
        # All three are claimed; one model slot, so two wait for it.
        await anyio.to_thread.run_sync(
            lambda: wait_for("three claims", lambda: _stage1_running(daemon) == 3)
        )
        assert len(srv.requests) == 1

        write_config(
            daemon,
            openai_config(srv.url)
            .replace("max_running = 1\n", "")
            .replace("concurrency = 1", "concurrency = 3"),
        )
        daemon.signal(signal.SIGHUP)
        sent = await anyio.to_thread.run_sync(notify.until, "READY=1")
        assert sent[0].splitlines()[0] == "RELOADING=1"
        assert sent[0].splitlines()[1].startswith("MONOTONIC_USEC=")
        reloaded = await anyio.to_thread.run_sync(daemon.wait_event, "config_reloaded")
        assert reloaded["changed"] == ["phase1.concurrency"]
        # The two waiting jobs get their calls while the first is still held open.
        await srv.wait_for_requests(3, within=WAIT)
        assert not gate.is_set() and _stage1_running(daemon) == 3

        gate.set()
        await anyio.to_thread.run_sync(
            lambda: wait_for("all three finished", lambda: stage1_count(daemon) == 3)
        )
        assert len(srv.requests) == 3  # nothing was dropped and retried
        assert not daemon.events("stage1_released") and not daemon.events("stage1_lease_lost")
        daemon.signal(signal.SIGTERM)
        assert await anyio.to_thread.run_sync(daemon.wait_exit) == 0


def test_sighup_with_a_broken_config_keeps_the_old_one_and_says_why(
    daemon: Serve, notify: Notify
) -> None:
    write_config(daemon, "[phase1]\nconcurrency = 2\n")
    proc = daemon.start()
    notify.until("READY=1")
    # READY=1 comes once the socket is up, not only the first scan.
    assert client.request(socket_path(daemon), "ping")["pid"] == proc.pid

    daemon.config_path.write_text("[phase1]\nconcurrency = 0\n")
    daemon.signal(signal.SIGHUP)
    assert notify.until("READY=1")[0].startswith("RELOADING=1")
    failed = daemon.wait_event("config_reload_failed")
    assert "phase1.concurrency" in failed["error"] and str(daemon.config_path) in failed["error"]
    assert failed["kept"] == str(daemon.config_path)
    assert proc.poll() is None
    # (the CLI would refuse the broken file too, so ask the socket directly)
    assert client.request(socket_path(daemon), "status")["daemon"]["running"] is True

    # The next good reload is compared with what is in effect: concurrency is still 2.
    daemon.config_path.write_text("[phase1]\nconcurrency = 2\n[index]\nrescan_seconds = 60\n")
    daemon.signal(signal.SIGHUP)
    reloaded = daemon.wait_event("config_reloaded")
    assert reloaded["changed"] == ["index.rescan_seconds"]
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
