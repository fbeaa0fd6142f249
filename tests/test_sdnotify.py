"""sd_notify over real unix datagram sockets: a path and the abstract namespace."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from memoryd.sdnotify import Notifier, socket_address, watchdog_interval


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
def test_notifier_sends_to_the_socket_and_unsets_the_environment(
    kind: str, tmp_path: Path
) -> None:
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
