"""sd_notify over real unix datagram sockets: a path and the abstract namespace, and what
``memoryd serve`` sends over one during its life (READY, WATCHDOG, RELOADING, STOPPING)."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import statistics
import time
import uuid
from pathlib import Path

import pytest
from support.daemon import WAIT, Serve

from memoryd.daemon.sdnotify import Notifier, reloading_state, socket_address, watchdog_interval


@pytest.fixture
def daemon(serve: Serve) -> Serve:
    """The ``memoryd serve`` subprocess fixture (tests/conftest.py) under this module's name."""
    return serve


def test_socket_address_forms() -> None:
    assert socket_address("/run/user/1000/systemd/notify") == "/run/user/1000/systemd/notify"
    assert socket_address("@/org/freedesktop/systemd1/notify/1") == (
        b"\0/org/freedesktop/systemd1/notify/1"
    )
    assert socket_address("vsock:2:1234") is None
    assert socket_address("relative/path") is None


def test_watchdog_interval_is_half_the_timeout_and_only_for_us() -> None:
    pid = os.getpid()
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}, pid) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(pid)}, pid) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, pid) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}, pid) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}, pid) is None
    assert watchdog_interval({}, pid) is None


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_notifier_sends_to_the_socket_and_unsets_the_environment(kind: str, tmp_path: Path) -> None:
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        if kind == "path":
            addr = str(tmp_path / "n.sock")
            receiver.bind(addr)
            value = addr
        else:
            name = f"memoryd-test-{uuid.uuid4().hex}"
            receiver.bind(b"\0" + name.encode())
            value = "@" + name
        receiver.settimeout(5)
        env = {"NOTIFY_SOCKET": value, "WATCHDOG_USEC": "2000000", "OTHER": "kept"}
        n = Notifier.from_environ(env)
        try:
            assert env == {"OTHER": "kept"}  # children must not notify in our name
            assert n.enabled and n.watchdog_seconds == 1.0
            n.notify("READY=1")
            n.notify("STOPPING=1")
            assert receiver.recv(64) == b"READY=1"
            assert receiver.recv(64) == b"STOPPING=1"
        finally:
            n.close()
    finally:
        receiver.close()


def test_without_notify_socket_nothing_is_sent() -> None:
    n = Notifier.from_environ({"WATCHDOG_USEC": "2000000"})
    assert not n.enabled and n.watchdog_seconds is None
    n.notify("READY=1")  # a no-op, no error
    n.close()


def test_a_vanished_socket_is_an_os_error(tmp_path: Path) -> None:
    n = Notifier(str(tmp_path / "gone.sock"), None)
    try:
        with pytest.raises(OSError):
            n.notify("READY=1")
    finally:
        n.close()


def test_reloading_state_carries_the_monotonic_time() -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    state, stamp = reloading_state().split("\n")
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert state == "RELOADING=1"
    key, value = stamp.split("=")
    assert key == "MONOTONIC_USEC" and before <= int(value) <= after


class Listener:
    """A service manager's notify socket: every datagram with the time it arrived."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(WAIT)
        self.got: list[tuple[float, str]] = []

    def until(self, prefix: str) -> tuple[float, str]:
        """Receive until a message starting with ``prefix`` arrives; return it."""
        while True:
            item = (time.monotonic(), self.sock.recv(4096).decode())
            self.got.append(item)
            if item[1].startswith(prefix):
                return item

    def close(self) -> None:
        self.sock.close()


def test_daemon_notifies_ready_watchdog_reload_and_stopping(daemon: Serve) -> None:
    """READY=1 after the first scan; WATCHDOG=1 every WATCHDOG_USEC/2 (well inside the timeout
    systemd enforces); RELOADING=1 then READY=1 around SIGHUP; STOPPING=1 on SIGTERM."""
    path = Path(daemon.base) / "notify.sock"
    assert len(str(path)) < 100, "unix socket path too long for this tmp dir"
    listener = Listener(path)
    try:
        timeout_s = 2.0
        daemon.env.update(NOTIFY_SOCKET=str(path), WATCHDOG_USEC=str(int(timeout_s * 1e6)))
        proc = daemon.start()
        listener.until("READY=1")
        assert daemon.events("daemon_ready"), "READY=1 must follow the first scan"

        pings = [listener.until("WATCHDOG=1")[0] for _ in range(4)]
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        # Half the timeout apart: never a flood, never late enough for systemd to kill us.
        assert all(0.8 * timeout_s / 2 <= g < timeout_s for g in gaps), gaps
        assert statistics.median(gaps) == pytest.approx(timeout_s / 2, abs=0.25), gaps

        os.kill(proc.pid, signal.SIGHUP)
        _, reloading = listener.until("RELOADING=1")
        assert reloading.splitlines()[1].startswith("MONOTONIC_USEC=")
        listener.until("READY=1")
        daemon.wait_event("config_reloaded")

        os.kill(proc.pid, signal.SIGTERM)
        listener.until("STOPPING=1")
        assert daemon.wait_exit() == 0
    finally:
        listener.close()


def test_daemon_ignores_a_watchdog_meant_for_another_process(daemon: Serve) -> None:
    """WATCHDOG_PID naming another process (e.g. a wrapper that exec'd something else): no
    pings from us, READY=1 and STOPPING=1 still arrive."""
    path = Path(daemon.base) / "notify.sock"
    listener = Listener(path)
    try:
        daemon.env.update(NOTIFY_SOCKET=str(path), WATCHDOG_USEC="200000", WATCHDOG_PID="1")
        proc = daemon.start()
        listener.until("READY=1")
        os.kill(proc.pid, signal.SIGTERM)
        listener.until("STOPPING=1")
        assert daemon.wait_exit() == 0
        assert not [m for _, m in listener.got if m == "WATCHDOG=1"], listener.got
    finally:
        listener.close()
