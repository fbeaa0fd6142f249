"""A TCP proxy on 127.0.0.1 in front of the test PostgreSQL server that can lose a COMMIT: the
connection breaks either just before the COMMIT reaches the server (it is never applied) or
just after the server has answered it (applied, but the client never hears so). This is the
one moment at which a client cannot know what became of its transaction.

It reads the wire protocol's framing only (a type byte and a length per message), in two
threads per connection; the test's own connections pass through it unchanged otherwise."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

BEFORE = "before"  # the COMMIT is dropped: the server aborts the transaction
AFTER = "after"  # the COMMIT is applied; its reply is dropped


@dataclass
class PgProxy:
    upstream: tuple[str, int]
    sock: socket.socket
    lose: str | None = None  # armed: the next COMMIT is lost this way, then disarmed
    lost: int = 0  # how many COMMITs were lost
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _socks: list[socket.socket] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def dsn(self, dsn: str) -> str:
        """``dsn`` pointed at this proxy, in clear text (its framing must be readable)."""
        u = urlsplit(dsn)
        netloc = f"{u.username}@127.0.0.1:{self.port}" if u.username else f"127.0.0.1:{self.port}"
        query = "&".join(q for q in (u.query, "sslmode=disable&gssencmode=disable") if q)
        return urlunsplit((u.scheme, netloc, u.path, query, u.fragment))

    def _take(self) -> str | None:
        with self._lock:
            how, self.lose = self.lose, None
            if how is not None:
                self.lost += 1
            return how

    def serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.upstream)
            self._socks += [client, server]
            commit_sent = threading.Event()
            threading.Thread(
                target=self._to_server, args=(client, server, commit_sent), daemon=True
            ).start()
            threading.Thread(
                target=self._to_client, args=(server, client, commit_sent), daemon=True
            ).start()

    def _to_server(
        self, client: socket.socket, server: socket.socket, commit_sent: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            server.sendall(_startup(client))  # the startup packet has no type byte
            while (msg := _message(client)) is not None:
                if msg[:1] == b"Q" and msg[5:].rstrip(b"\0").rstrip().upper().endswith(b"COMMIT"):
                    how = self._take()
                    if how == BEFORE:
                        break  # never sent: the server sees the connection end and aborts
                    if how == AFTER:
                        # armed before the COMMIT leaves: set after it, a loaded machine let
                        # the other pump pass the server's answer on first (the client has
                        # its earlier answers already; it waits for each before the next)
                        commit_sent.set()  # the other pump drops the answer and breaks off
                        server.sendall(msg)
                        return
                server.sendall(msg)
        _close(client, server)

    def _to_client(
        self, server: socket.socket, client: socket.socket, commit_sent: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while (msg := _message(server)) is not None:
                if commit_sent.is_set():
                    if msg[:1] == b"Z":  # ReadyForQuery: the server has finished the COMMIT
                        break
                    continue
                client.sendall(msg)
        _close(client, server)

    def close(self) -> None:
        self.sock.close()
        for s in self._socks:
            _close(s)


def _read(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _startup(sock: socket.socket) -> bytes:
    head = _read(sock, 4)
    if head is None:
        raise OSError("client left before its startup packet")
    (n,) = struct.unpack("!I", head)
    body = _read(sock, n - 4)
    if body is None:
        raise OSError("client left in its startup packet")
    return head + body


def _message(sock: socket.socket) -> bytes | None:
    head = _read(sock, 5)
    if head is None:
        return None
    (n,) = struct.unpack("!I", head[1:])
    body = _read(sock, n - 4)
    return None if body is None else head + body


def _close(*socks: socket.socket) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()


@contextlib.contextmanager
def pg_proxy(dsn: str) -> Iterator[PgProxy]:
    """A proxy in front of the server ``dsn`` names; ``proxy.dsn(dsn)`` goes through it."""
    u = urlsplit(dsn)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    proxy = PgProxy((u.hostname or "127.0.0.1", u.port or 5432), sock)
    t = threading.Thread(target=proxy.serve, daemon=True)
    t.start()
    try:
        yield proxy
    finally:
        proxy.close()
        t.join(timeout=5)
