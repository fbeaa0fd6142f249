"""A blocking client for the control socket, used by the CLI and ``doctor``.

``request`` sends one command and returns its single response; ``stream`` yields every line
of a streaming response. Both raise ``DaemonNotRunning`` when nothing listens on the socket
(missing file, refused connection, stale socket of a dead daemon), so a command can say so
clearly, and ``ControlError`` when the daemon answers with an error.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memoryd.control import protocol
from memoryd.errors import MemorydError

_ids = itertools.count(1)


class DaemonNotRunning(MemorydError):
    def __init__(self, socket_path: Path, why: str) -> None:
        super().__init__(f"the memoryd daemon is not running (no answer on {socket_path}: {why})")
        self.socket_path = socket_path


class ControlError(MemorydError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def connect(socket_path: Path, timeout: float | None = 10.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(socket_path))
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as e:
        s.close()
        raise DaemonNotRunning(socket_path, e.strerror or type(e).__name__) from None
    except OSError as e:  # e.g. permission denied, or a path too long for a Unix socket
        s.close()
        raise MemorydError(f"cannot connect to {socket_path}: {e.strerror or e}") from None
    return s


def _lines(s: socket.socket) -> Iterator[bytes]:
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            if buf:
                yield buf
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line


def stream(
    socket_path: Path, cmd: str, args: dict[str, Any] | None = None, timeout: float | None = 10.0
) -> Iterator[Any]:
    """Send ``cmd`` and yield the ``result`` of every response line until the last one."""
    s = connect(socket_path, timeout)
    with s:
        req = protocol.Request(v=protocol.PROTOCOL_VERSION, cmd=cmd, args=args or {}, id=next(_ids))
        s.sendall(protocol.encode(req))
        try:
            for line in _lines(s):
                resp = protocol.decode_response(line)
                if not resp.ok:
                    err = resp.error
                    code, msg = (err.code, err.message) if err else (protocol.E_FAILED, "error")
                    raise ControlError(code, msg)
                yield resp.result
                if not resp.more:
                    return
        except TimeoutError:
            raise ControlError(
                protocol.E_FAILED, f"the daemon did not answer {cmd} within {timeout} s"
            ) from None
        raise ControlError(protocol.E_FAILED, "the daemon closed the connection mid-answer")


def request(
    socket_path: Path, cmd: str, args: dict[str, Any] | None = None, timeout: float | None = 10.0
) -> Any:
    """Send one command and return its result."""
    results = list(stream(socket_path, cmd, args, timeout))
    return results[-1] if results else None
