"""The control socket inside ``memoryd serve`` (SPEC §6, §7).

``bind_control_socket`` claims the socket path before anything else runs: the directory is
made 0700, a socket file left by a dead daemon is replaced, and a path on which something
still answers is refused (two daemons on one socket would steal each other's clients).
``ControlServer.serve`` then accepts connections until cancelled and answers each request line
through ``memoryd.control.commands``; ``close`` removes the socket file if it is still ours.

Every connection is checked first: a peer with another uid gets ``permission_denied`` and is
closed (the 0600 mode already keeps others out; root and a lax parent are why we check again).
Each line is one request; anything wrong with a line (not JSON, too large, wrong version,
unknown command, bad arguments) gets an error response and the next line is read as usual.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
import structlog
from anyio.abc import SocketAttribute, SocketListener, SocketStream, TaskStatus

from memoryd.control import protocol
from memoryd.control.commands import CommandError, Context, prepare
from memoryd.errors import MemorydError
from memoryd.store.db import ensure_private_dir

log = structlog.get_logger("memoryd.control")

LISTEN_BACKLOG = 512  # a burst of CLI calls (scripts, status bars) must not be refused
_CHUNK = 65536
REFUSAL_DRAIN_SECONDS = 1.0


class _TooLarge:
    """Marker returned by ``_LineReader.next`` for a line beyond the limit."""


TOO_LARGE = _TooLarge()


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a connected Unix socket, or None when the
    platform offers no way to ask (callers refuse such peers)."""
    if hasattr(socket, "SO_PEERCRED"):  # Linux
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return int(uid)
    if sys.platform == "darwin" or "bsd" in sys.platform:
        # getpeereid(3) is LOCAL_PEERCRED underneath: struct xucred {u_int cr_version;
        # uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16];}
        sol_local, local_peercred = 0, 0x001
        raw = sock.getsockopt(sol_local, local_peercred, struct.calcsize("IIh16I"))
        _version, uid = struct.unpack_from("II", raw)
        return int(uid)
    return None


def _answers(path: Path) -> bool:
    """Whether a process accepts connections on the Unix socket at ``path``."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        s.connect(str(path))
    except OSError:
        return False
    finally:
        s.close()
    return True


def bind_control_socket(path: Path) -> socket.socket:
    """Create the listening socket at ``path``: 0600 in a 0700 directory. Raises MemorydError
    when another process answers there, or the path is something other than a socket."""
    ensure_private_dir(path.parent)
    try:
        st = path.lstat()
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise MemorydError(
                f"control socket path {path} exists and is not a socket; move it away "
                "or set socket_path / MEMORYD_SOCKET"
            )
        if _answers(path):
            raise MemorydError(
                f"another memoryd daemon is already listening on {path}; stop it first, "
                "or give this one another socket_path / MEMORYD_SOCKET"
            )
        path.unlink()  # left behind by a daemon that died without cleaning up
        log.info("control_stale_socket_removed", path=str(path))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        # The directory is 0700, so nobody else can reach the socket before this chmod.
        os.chmod(path, 0o600)
        sock.listen(LISTEN_BACKLOG)
    except OSError as e:
        sock.close()
        raise MemorydError(f"cannot listen on {path}: {e.strerror or e}") from None
    return sock


class _LineReader:
    """Reads newline-terminated lines of at most ``limit`` bytes from a stream. An oversized
    line is reported once (``TOO_LARGE``) and its remaining bytes are dropped as they arrive,
    never buffered."""

    def __init__(self, stream: SocketStream, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.buf = bytearray()
        self.skipping = False

    async def next(self) -> bytes | _TooLarge | None:
        """The next line (without its newline), TOO_LARGE, or None at end of stream."""
        while True:
            nl = self.buf.find(b"\n")
            if self.skipping:
                if nl >= 0:
                    del self.buf[: nl + 1]
                    self.skipping = False
                    continue
                self.buf.clear()
            elif nl >= 0:
                line = bytes(self.buf[:nl])
                del self.buf[: nl + 1]
                if len(line) > self.limit:
                    return TOO_LARGE
                return line
            elif len(self.buf) > self.limit:
                self.buf.clear()
                self.skipping = True
                return TOO_LARGE
            try:
                chunk = await self.stream.receive(_CHUNK)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                if self.buf and not self.skipping:
                    line, self.buf = bytes(self.buf), bytearray()
                    return line if len(line) <= self.limit else TOO_LARGE
                return None
            self.buf += chunk


def _request_id(line: bytes) -> protocol.Id:
    """The ``id`` of a request that failed validation, so its error can still be matched."""
    try:
        obj = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return None
    rid = obj.get("id") if isinstance(obj, dict) else None
    return rid if isinstance(rid, int | str) and not isinstance(rid, bool) else None


class ControlServer:
    """Serves the control protocol on a bound socket; ``make_context`` gives each request the
    daemon's DB connection, settings and the daemon itself."""

    def __init__(self, sock: socket.socket, path: Path, make_context: Callable[[], Context]):
        self.sock = sock
        self.path = path
        self.make_context = make_context
        self._inode = os.stat(path).st_ino
        self.uid = os.getuid()

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await SocketListener.from_socket(self.sock)
        log.info("control_listening", path=str(self.path))
        task_status.started()
        async with listener:
            await listener.serve(self._connection)

    def close(self) -> None:
        """Remove the socket file, unless another daemon has replaced it meanwhile."""
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()

    async def _connection(self, stream: SocketStream) -> None:
        async with stream:
            raw = stream.extra(SocketAttribute.raw_socket)
            try:
                uid = peer_uid(raw)
            except OSError as e:
                log.warning("control_peer_unknown", error=str(e))
                uid = None
            if uid != self.uid:
                log.warning("control_peer_refused", peer_uid=uid, uid=self.uid)
                msg = f"permission denied: the daemon runs as uid {self.uid}, peer is {uid}"
                with contextlib.suppress(
                    anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError
                ):
                    await stream.send(protocol.encode(protocol.error(protocol.E_PERMISSION, msg)))
                    await stream.send_eof()
                    # Closing with the peer's request unread would reset the connection and
                    # lose the answer on its side: read what it sent (briefly) first.
                    with anyio.move_on_after(REFUSAL_DRAIN_SECONDS):
                        while True:
                            await stream.receive(_CHUNK)  # until EndOfStream
                return
            reader = _LineReader(stream, protocol.MAX_LINE_BYTES)
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                while (line := await reader.next()) is not None:
                    if isinstance(line, _TooLarge):
                        limit = protocol.MAX_LINE_BYTES
                        await stream.send(
                            protocol.encode(
                                protocol.error(
                                    protocol.E_TOO_LARGE,
                                    f"request line longer than {limit} bytes; skipped",
                                )
                            )
                        )
                    elif line.strip() and not await self._answer(stream, line):
                        return

    async def _answer(self, stream: SocketStream, line: bytes) -> bool:
        """Answer one request line; False when the connection is done (after a stream)."""
        try:
            req = protocol.decode_request(line)
        except msgspec.ValidationError as e:
            await stream.send(
                protocol.encode(
                    protocol.error(
                        protocol.E_BAD_REQUEST, f"bad request: {e}", id=_request_id(line)
                    )
                )
            )
            return True
        except msgspec.DecodeError as e:
            await stream.send(
                protocol.encode(protocol.error(protocol.E_BAD_JSON, f"not a JSON object: {e}"))
            )
            return True
        if req.v != protocol.PROTOCOL_VERSION:
            msg = (
                f"protocol version {req.v} is not supported (this daemon speaks "
                f"{protocol.PROTOCOL_VERSION}); use a memoryd CLI of the same version"
            )
            await stream.send(protocol.encode(protocol.error(protocol.E_BAD_VERSION, msg, req.id)))
            return True
        try:
            command, args = prepare(req.cmd, req.args)
            ctx = self.make_context()
            if command.streaming:
                await self._stream(stream, req.id, command.stream(ctx, args))
                return False
            result = await command.call(ctx, args)
        except CommandError as e:
            await stream.send(protocol.encode(protocol.error(e.code, str(e), req.id)))
            return True
        except MemorydError as e:
            await stream.send(protocol.encode(protocol.error(protocol.E_FAILED, str(e), req.id)))
            return True
        except Exception as e:  # a bug in one command must not take the daemon down
            log.error("control_command_failed", cmd=req.cmd, error=repr(e), exc_info=e)
            msg = f"{req.cmd} failed: {type(e).__name__}: {e}"
            await stream.send(protocol.encode(protocol.error(protocol.E_FAILED, msg, req.id)))
            return True
        await stream.send(protocol.encode(protocol.ok(result, req.id)))
        return True

    async def _stream(
        self, stream: SocketStream, rid: protocol.Id, items: AsyncIterator[Any]
    ) -> None:
        """Send every item with ``more``, then an empty last line; the connection then closes.
        The client hanging up ends the stream (a follow would otherwise wait for log lines
        forever), so a streaming connection takes no further requests."""
        async with anyio.create_task_group() as tg:

            async def watch_hangup() -> None:
                with contextlib.suppress(
                    anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError
                ):
                    while True:
                        await stream.receive(_CHUNK)  # a stream takes no further requests
                tg.cancel_scope.cancel()

            async def send_all() -> None:
                try:
                    async for item in items:
                        await stream.send(protocol.encode(protocol.ok(item, rid, more=True)))
                    await stream.send(protocol.encode(protocol.ok(None, rid)))
                except (CommandError, MemorydError) as e:
                    code = e.code if isinstance(e, CommandError) else protocol.E_FAILED
                    await stream.send(protocol.encode(protocol.error(code, str(e), rid)))
                tg.cancel_scope.cancel()

            tg.start_soon(watch_hangup)
            tg.start_soon(send_all)
