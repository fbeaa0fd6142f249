"""The control socket of a real ``memoryd serve``: its permissions and lifetime, one daemon per
socket, many clients at once, and an error answer for every kind of bad request while the
daemon keeps serving (SPEC §6, §7)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.control import Conn, cli, daemon_fixture, socket_path  # noqa: F401
from support.daemon import WAIT, Serve

from memoryd.control import client, protocol
from memoryd.control.server import peer_uid


def _req(cmd: str, **kw: object) -> dict[str, object]:
    return {"v": protocol.PROTOCOL_VERSION, "id": kw.pop("id", 1), "cmd": cmd, "args": kw}


def test_socket_is_private_answers_ping_and_is_removed_on_shutdown(daemon: Serve) -> None:
    proc = daemon.start_ready()
    path = socket_path(daemon)
    assert stat.S_ISSOCK(path.lstat().st_mode)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    pong = client.request(path, "ping")
    assert pong["pid"] == proc.pid and pong["version"]
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    assert not path.exists()


def test_stale_socket_is_replaced_and_a_live_one_refused(daemon: Serve, tmp_path: Path) -> None:
    path = socket_path(daemon)
    path.parent.mkdir(mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a daemon that died: the file stays, nobody listens
    dead.close()
    daemon.start_ready()
    assert client.request(path, "ping")["pid"] == daemon.procs[0].pid
    assert daemon.events("control_stale_socket_removed")

    # A second daemon on the same state dir: the lock refuses it first.
    same_state = cli(daemon, "serve")
    assert same_state.returncode == 1
    assert "already owns state dir" in same_state.stderr

    # Another state dir but the same socket: something answers there, so it is refused.
    # (and another Codex home: the first one's memories already link to the first daemon)
    other = dict(
        daemon.env,
        MEMORYD_STATE_DIR=str(tmp_path / "other-state"),
        CODEX_HOME=str(tmp_path / "other-codex"),
    )
    refused = subprocess.run(
        [sys.executable, "-m", "memoryd", "serve"],
        env=other,
        capture_output=True,
        text=True,
        timeout=WAIT,
        stdin=subprocess.DEVNULL,
    )
    assert refused.returncode == 1
    assert f"another memoryd daemon is already listening on {path}" in refused.stderr
    # The first daemon still owns and serves its socket.
    assert client.request(path, "ping")["pid"] == daemon.procs[0].pid
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0


def test_something_else_at_the_socket_path_is_refused(daemon: Serve) -> None:
    path = socket_path(daemon)
    path.parent.mkdir(mode=0o700)
    path.write_text("my notes\n")
    proc = daemon.start()
    assert proc.wait(timeout=WAIT) == 1
    assert "exists and is not a socket" in daemon.stderr()
    assert path.read_text() == "my notes\n"  # untouched


def test_two_hundred_concurrent_clients_each_get_status(daemon: Serve) -> None:
    daemon.start_ready()
    path = socket_path(daemon)
    n = 200
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def one(i: int) -> None:
        try:
            s = client.connect(path, timeout=WAIT * 3)
            with s:
                barrier.wait(timeout=WAIT)
                s.sendall(json.dumps(_req("status", id=i)).encode() + b"\n")
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                results[i] = json.loads(buf)
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=WAIT * 6)
    for i, r in enumerate(results):
        assert isinstance(r, dict), r
        assert r["ok"] is True and r["id"] == i
        assert r["result"]["daemon"]["pid"] == daemon.procs[0].pid
        assert r["result"]["paused"] is False
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0


def test_every_bad_request_gets_an_error_and_the_connection_keeps_working(
    daemon: Serve,
) -> None:
    daemon.start_ready()
    path = socket_path(daemon)
    c = Conn(path)

    def still_serving() -> None:
        r = c.request(_req("status", id="after"))
        assert r["ok"] is True and r["id"] == "after" and r["result"]["daemon"]["running"]

    c.send(b'{"v": 1, "cmd": "status", "args": \n')
    r = c.read()
    assert r["ok"] is False and r["error"]["code"] == protocol.E_BAD_JSON
    still_serving()

    c.send(b"[1, 2, 3]\n")
    assert c.read()["error"]["code"] == protocol.E_BAD_REQUEST
    still_serving()

    # 10 MB on one line: answered once with too_large, the rest skipped up to the newline.
    big = b'{"v": 1, "cmd": "status", "args": {"x": "' + b"a" * (10 * 1024 * 1024) + b'"}}\n'
    sender = threading.Thread(target=c.send, args=(big,))
    sender.start()
    r = c.read()
    sender.join(timeout=WAIT)
    assert r["ok"] is False and r["error"]["code"] == protocol.E_TOO_LARGE
    still_serving()

    r = c.request(_req("launch_missiles", id=7))
    assert r["id"] == 7 and r["error"]["code"] == protocol.E_UNKNOWN_COMMAND
    assert "launch_missiles" in r["error"]["message"] and "status" in r["error"]["message"]
    still_serving()

    r = c.request({"v": 99, "id": 8, "cmd": "status", "args": {}})
    assert r["id"] == 8 and r["error"]["code"] == protocol.E_BAD_VERSION
    assert "99" in r["error"]["message"]
    still_serving()

    r = c.request(_req("jobs", id=9, status=5))
    assert r["id"] == 9 and r["error"]["code"] == protocol.E_BAD_REQUEST
    r = c.request(_req("jobs", id=10, colour="red"))
    assert r["error"]["code"] == protocol.E_BAD_REQUEST and "colour" in r["error"]["message"]
    r = c.request(_req("jobs", id=11, status="sleeping"))
    assert r["error"]["code"] == protocol.E_BAD_REQUEST and "pending" in r["error"]["message"]
    r = c.request({"v": 1, "id": 12, "cmd": "status", "args": {}, "extra": True})
    assert r["id"] == 12 and r["error"]["code"] == protocol.E_BAD_REQUEST
    still_serving()
    c.close()

    # New connections are served too, and the daemon never logged a crash.
    assert client.request(path, "ping")["pid"] == daemon.procs[0].pid
    assert daemon.procs[0].poll() is None
    assert not daemon.events("side_task_failed") and not daemon.events("control_command_failed")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0


def test_peer_uid_of_a_socket_pair_is_ours() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        assert peer_uid(a) == os.getuid()


NOBODY = 65534
_NOBODY_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b'{"v": 1, "id": 1, "cmd": "status", "args": {}}\\n')
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
"""


# The test interpreter may live where another uid cannot run it (pyenv under /root).
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another uid")
@pytest.mark.skipif(
    not os.access(SYSTEM_PYTHON, os.X_OK), reason=f"no {SYSTEM_PYTHON} for the other uid"
)
def test_a_peer_with_another_uid_is_refused(daemon: Serve) -> None:
    daemon.start_ready()
    path = socket_path(daemon)
    # Open the way on purpose (0600 in a 0700 dir would stop the other uid at connect()),
    # so that the daemon's own peer check is what refuses it.
    path.parent.parent.chmod(0o755)
    path.parent.chmod(0o755)
    path.chmod(0o666)
    other = subprocess.run(
        [SYSTEM_PYTHON, "-I", "-S", "-c", _NOBODY_CLIENT, str(path)],
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd="/",
    )
    assert other.returncode == 0, other.stderr
    lines = other.stdout.splitlines()
    assert len(lines) == 1  # the refusal, then the daemon closed the connection
    r = json.loads(lines[0])
    assert r["ok"] is False and r["error"]["code"] == protocol.E_PERMISSION
    assert f"peer is {NOBODY}" in r["error"]["message"]
    refused = daemon.events("control_peer_refused")
    assert refused and refused[0]["peer_uid"] == NOBODY
    # Its own user is still served.
    assert client.request(path, "ping")["pid"] == daemon.procs[0].pid
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
