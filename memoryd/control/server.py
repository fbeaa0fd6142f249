"""The control socket inside ``memoryd serve`` (SPEC §6, §7).

``bind_control_socket`` claims the socket path before anything else runs: the directory is
made 0700, a socket file left by a dead daemon is replaced, and a path on which something
still answers is refused (two daemons on one socket would steal each other's clients).
``ControlServer.serve`` then accepts connections until cancelled and answers each request line
through ``memoryd.control.commands``; ``close`` removes the socket file if it is still ours.

Every connection is checked first: a peer with another uid gets ``permission_denied`` and is
closed (the 0600 mode already keeps others out; root and a lax parent are why we check again).
Each line is one request; anything wrong with a line (not JSON, nested too deeply, too large,
wrong version, unknown command, bad arguments) gets an error response and the next line is read
as usual.

The control plane never takes the daemon down: at most ``daemon.max_control_connections`` are
served at once (the excess is answered ``busy`` and closed), a failing ``accept`` (out of file
descriptors, say) backs off and keeps accepting (logged once per episode), and a connection whose
handler fails for any reason is logged and closed. Socket reads and writes wait through
``anyio.wait_readable`` / ``wait_writable`` rather than the stream's own futures: a cancelled
wait there can still be resolved by the event loop when the peer hangs up at that moment, which
asyncio logs as ``InvalidStateError: invalid state``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import struct
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import structlog
from anyio.abc import SocketAttribute, SocketListener, SocketStream, TaskStatus

from memoryd import clock
from memoryd.control import protocol
from memoryd.control.commands import CommandError, Context, prepare
from memoryd.errors import MemorydError
from memoryd.fsutil import ensure_private_dir

log = structlog.get_logger("memoryd.control")

LISTEN_BACKLOG = 512  # a burst of CLI calls (scripts, status bars) must not be refused
_CHUNK = 65536
REFUSAL_DRAIN_SECONDS = 1.0
BUSY_DRAIN_SECONDS = 0.2  # an excess connection holds its descriptor at most this long
# accept() failing (out of descriptors, say): wait, then try again (doubling up to max).
ACCEPT_BACKOFF_SECONDS = 0.05
ACCEPT_BACKOFF_MAX_SECONDS = 1.0
ACCEPT_EPISODE_SECONDS = 60.0
# accept() failing for one client that left already: skip it. Any other failure (out of file
# descriptors or memory, most likely) backs off and tries again: the daemon never exits on it.
_ACCEPT_PEER_ERRNOS = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EINTR})
_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError)


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


async def _receive(stream: SocketStream) -> bytes:
    """``stream.receive`` whose wait cannot race a hang-up into ``InvalidStateError`` (see the
    module docstring): readiness comes from ``anyio.wait_readable``, so the read itself does
    not block. Raises EndOfStream or BrokenResourceError like ``receive``."""
    await anyio.wait_readable(stream.extra(SocketAttribute.raw_socket))
    return await stream.receive(_CHUNK)


async def _send(stream: SocketStream, data: bytes) -> None:
    """``stream.send`` with the same race-free wait as ``_receive``."""
    raw = stream.extra(SocketAttribute.raw_socket)
    view = memoryview(data)
    await anyio.lowlevel.checkpoint()
    while view:
        try:
            sent = raw.send(view)
        except BlockingIOError:
            await anyio.wait_writable(raw)
            continue
        except OSError as e:
            raise anyio.BrokenResourceError from e
        view = view[sent:]


async def _reply(stream: SocketStream, resp: protocol.Response) -> None:
    await _send(stream, protocol.encode(resp))


def _accept_errno(exc: anyio.BrokenResourceError) -> int | None:
    """The errno of an accept() failure (anyio wraps the OSError), or None."""
    cause = exc.__cause__
    return cause.errno if isinstance(cause, OSError) else None


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
                chunk = await _receive(self.stream)
            except _GONE:
                if self.buf and not self.skipping:
                    line, self.buf = bytes(self.buf), bytearray()
                    return line if len(line) <= self.limit else TOO_LARGE
                return None
            self.buf += chunk


def _request_id(line: bytes) -> protocol.Id:
    """The ``id`` of a request that failed validation, so its error can still be matched."""
    try:
        obj = msgspec.json.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None
    rid = obj.get("id") if isinstance(obj, dict) else None
    return rid if isinstance(rid, int | str) and not isinstance(rid, bool) else None


class ControlServer:
    """Serves the control protocol on a bound socket; ``make_context`` gives each request the
    daemon's DB connection, settings and the daemon itself, ``max_connections`` the current
    cap on connections served at once (read per connection, so a reload applies)."""

    def __init__(
        self,
        sock: socket.socket,
        path: Path,
        make_context: Callable[[], Context],
        max_connections: Callable[[], int] = lambda: 256,
    ):
        self.sock = sock
        self.path = path
        self.make_context = make_context
        self.max_connections = max_connections
        self._inode = os.stat(path).st_ino
        self.uid = os.getuid()
        self.active = 0  # connections being served (refused and busy ones are not counted)
        self._last_accept_failure: float | None = None  # monotonic seconds

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await SocketListener.from_socket(self.sock)
        log.info("control_listening", path=str(self.path))
        task_status.started()
        async with listener, anyio.create_task_group() as tg:
            backoff = 0.0
            while True:
                try:
                    stream = await listener.accept()
                except anyio.BrokenResourceError as e:
                    code = _accept_errno(e)
                    if code in _ACCEPT_PEER_ERRNOS:
                        continue  # that one client gave up before we took it; as asyncio does
                    self._accept_failed(code)
                    backoff = min(backoff * 2 or ACCEPT_BACKOFF_SECONDS, ACCEPT_BACKOFF_MAX_SECONDS)
                    await anyio.sleep(backoff)
                    continue
                backoff = 0.0
                tg.start_soon(self._guarded, stream)

    def _accept_failed(self, code: int | None) -> None:
        """Log a failing accept() once per episode (a flood would fill the log otherwise):
        failures less than ACCEPT_EPISODE_SECONDS apart are one episode."""
        now = clock.get().monotonic()
        last, self._last_accept_failure = self._last_accept_failure, now
        if last is not None and now - last < ACCEPT_EPISODE_SECONDS:
            return
        log.warning(
            "control_accept_failed",
            error=os.strerror(code) if code is not None else "unknown error",
            active=self.active,
            hint="raise the open-files limit (ulimit -n / LimitNOFILE) or lower "
            "daemon.max_control_connections",
        )

    def close(self) -> None:
        """Remove the socket file, unless another daemon has replaced it meanwhile."""
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()

    async def _guarded(self, stream: SocketStream) -> None:
        """One connection; whatever goes wrong in it ends that connection only."""
        try:
            async with stream:
                await self._connection(stream)
        except Exception as e:
            log.error("control_connection_failed", error=repr(e), exc_info=e)

    async def _refuse(self, stream: SocketStream, resp: protocol.Response, drain: float) -> None:
        """Send ``resp``, then read (for at most ``drain`` seconds) what the peer sent before
        closing: closing with its request unread would reset the connection and lose the
        answer on its side."""
        with contextlib.suppress(*_GONE):
            await _reply(stream, resp)
            await stream.send_eof()
            with anyio.move_on_after(drain):
                while True:
                    await _receive(stream)  # until EndOfStream

    async def _connection(self, stream: SocketStream) -> None:
        raw = stream.extra(SocketAttribute.raw_socket)
        try:
            uid = peer_uid(raw)
        except OSError as e:
            log.warning("control_peer_unknown", error=str(e))
            uid = None
        if uid != self.uid:
            log.warning("control_peer_refused", peer_uid=uid, uid=self.uid)
            msg = f"permission denied: the daemon runs as uid {self.uid}, peer is {uid}"
            await self._refuse(
                stream, protocol.error(protocol.E_PERMISSION, msg), REFUSAL_DRAIN_SECONDS
            )
            return
        cap = self.max_connections()
        if self.active >= cap:
            log.debug("control_busy", active=self.active, cap=cap)
            msg = (
                f"the daemon is serving {self.active} connections already (the cap is {cap}, "
                "daemon.max_control_connections); try again shortly"
            )
            await self._refuse(stream, protocol.error(protocol.E_BUSY, msg), BUSY_DRAIN_SECONDS)
            return
        self.active += 1
        try:
            await self._serve_lines(stream)
        finally:
            self.active -= 1

    async def _serve_lines(self, stream: SocketStream) -> None:
        reader = _LineReader(stream, protocol.MAX_LINE_BYTES)
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            while (line := await reader.next()) is not None:
                if isinstance(line, _TooLarge):
                    limit = protocol.MAX_LINE_BYTES
                    msg = f"request line longer than {limit} bytes; skipped"
                    await _reply(stream, protocol.error(protocol.E_TOO_LARGE, msg))
                elif line.strip() and not await self._answer(stream, line):
                    return

    async def _answer(self, stream: SocketStream, line: bytes) -> bool:
        """Answer one request line; False when the connection is done (after a stream)."""
        try:
            req = protocol.decode_request(line)
        except msgspec.ValidationError as e:
            rid = _request_id(line)
            await _reply(stream, protocol.error(protocol.E_BAD_REQUEST, f"bad request: {e}", rid))
            return True
        except msgspec.DecodeError as e:
            await _reply(stream, protocol.error(protocol.E_BAD_JSON, f"not a JSON object: {e}"))
            return True
        except RecursionError:  # msgspec stops at Python's recursion limit, cleanly
            msg = "request nested too deeply; a request is a flat JSON object"
            await _reply(stream, protocol.error(protocol.E_BAD_JSON, msg))
            return True
        if req.v != protocol.PROTOCOL_VERSION:
            msg = (
                f"protocol version {req.v} is not supported (this daemon speaks "
                f"{protocol.PROTOCOL_VERSION}); use a memoryd CLI of the same version"
            )
            await _reply(stream, protocol.error(protocol.E_BAD_VERSION, msg, req.id))
            return True
        try:
            command, args = prepare(req.cmd, req.args)
            ctx = self.make_context()
            if command.streaming:
                await self._stream(stream, req.id, command.stream(ctx, args))
                return False
            result = await command.call(ctx, args)
        except CommandError as e:
            await _reply(stream, protocol.error(e.code, str(e), req.id))
            return True
        except MemorydError as e:
            await _reply(stream, protocol.error(protocol.E_FAILED, str(e), req.id))
            return True
        except Exception as e:  # a bug in one command must not take the daemon down
            log.error("control_command_failed", cmd=req.cmd, error=repr(e), exc_info=e)
            msg = f"{req.cmd} failed: {type(e).__name__}: {e}"
            await _reply(stream, protocol.error(protocol.E_FAILED, msg, req.id))
            return True
        await _reply(stream, protocol.ok(result, req.id))
        return True

    async def _stream(
        self, stream: SocketStream, rid: protocol.Id, items: AsyncIterator[Any]
    ) -> None:
        """Send every item with ``more``, then an empty last line; the connection then closes.
        The client hanging up ends the stream (a follow would otherwise wait for log lines
        forever), so a streaming connection takes no further requests; a hang-up in the middle
        of a send ends it the same way, quietly."""
        async with anyio.create_task_group() as tg:

            async def watch_hangup() -> None:
                with contextlib.suppress(*_GONE):
                    while True:
                        await _receive(stream)  # a stream takes no further requests
                tg.cancel_scope.cancel()

            async def send_all() -> None:
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    try:
                        async for item in items:
                            await _reply(stream, protocol.ok(item, rid, more=True))
                        await _reply(stream, protocol.ok(None, rid))
                    except (CommandError, MemorydError) as e:
                        code = e.code if isinstance(e, CommandError) else protocol.E_FAILED
                        await _reply(stream, protocol.error(code, str(e), rid))
                tg.cancel_scope.cancel()

            tg.start_soon(watch_hangup)
            tg.start_soon(send_all)
