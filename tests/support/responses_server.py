"""A real HTTP/1.1 server on 127.0.0.1 that plays a Responses-API endpoint for tests.

Usage::

    async with ResponsesServer(Status(429, retry_after="2"), Reply(text='{"a": 1}')) as srv:
        cfg.backends.openai.base_url = srv.url          # http://127.0.0.1:PORT/v1
        ...                                              # the client POSTs {url}/responses
        assert len(srv.requests) == 2 and srv.requests[0].json["stream"] is True

Each incoming request is recorded (``srv.requests``: method, path, lower-cased headers, raw
body, parsed JSON body, arrival time) and answered by one *behaviour*, chosen in this order:
the next item of the script queue (constructor arguments, ``srv.script(...)``); else the
``responder`` callable (sync or async, gets the ReceivedRequest: use it for agent loops that
must look at the request); else ``default``; else a 500 saying the script ran out.

Behaviours: ``Reply`` (a proper SSE stream for an output text and/or extra output items, e.g.
``function_call_item(...)``, with usage; chunked or close-delimited), ``Events`` (any raw
event list), ``Status`` (an HTTP error with optional Retry-After and a JSON error body),
``Cut`` (a Reply stream dropped after some events), ``Hang`` (never answer, optionally after
sending the headers), ``Garbage`` (arbitrary bytes as the body). Every behaviour has a
``latency`` (seconds before the first byte), and the server adds its own ``latency`` to every
request (for a benchmark with a fixed model latency).

The server speaks enough HTTP/1.1 for httpx: Content-Length and chunked request bodies,
keep-alive (or ``Connection: close``), chunked or close-delimited event streams. ``stop()``
(or leaving the ``async with``) closes the listener and every open connection, hung ones too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

Framing = Literal["chunked", "close"]


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes
    json: Any  # the parsed body, or None when it is not JSON
    received_at: float  # time.monotonic() when the request was complete


@dataclass(frozen=True)
class Reply:
    """A successful streamed response: response.created, the message item with its text as
    output_text.delta chunks (``delta_chars`` each; ``deltas=False`` sends only the completed
    item), any ``items`` (complete output items such as function calls), then
    response.completed with the usage. ``text=None`` sends no message item."""

    text: str | None = ""
    input_tokens: int = 10
    output_tokens: int = 5
    deltas: bool = True
    delta_chars: int = 16
    items: Sequence[Mapping[str, Any]] = ()
    latency: float = 0.0
    event_delay: float = 0.0  # pause between events
    framing: Framing = "chunked"


@dataclass(frozen=True)
class Events:
    """A 200 event stream of exactly these events (each a dict with a "type"), nothing added."""

    events: Sequence[Mapping[str, Any]]
    latency: float = 0.0
    event_delay: float = 0.0
    framing: Framing = "chunked"


@dataclass(frozen=True)
class Status:
    """An HTTP error: a JSON ``{"error": {...}}`` body, or ``body`` as given."""

    status: int
    message: str = "scripted error"
    code: str | None = None
    retry_after: str | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    latency: float = 0.0


@dataclass(frozen=True)
class Cut:
    """The stream of ``Reply(text)``, dropped after ``after_events`` events (plus half of the
    next one when ``mid_event``); ``reset`` aborts the socket instead of closing it."""

    text: str = '{"rollout_summary": "s", "rollout_slug": null, "raw_memory": "m"}'
    after_events: int = 2
    mid_event: bool = False
    reset: bool = False
    framing: Framing = "chunked"
    latency: float = 0.0


@dataclass(frozen=True)
class Hang:
    """Never answer (until the server stops); with ``headers_first`` send the 200 event-stream
    headers and then nothing."""

    headers_first: bool = False
    latency: float = 0.0


@dataclass(frozen=True)
class Garbage:
    """``body`` as the response body under the given status and content type, then close."""

    body: bytes = b"\x00\xff\xfe this is not an event stream \x81\n\n{{{"
    status: int = 200
    content_type: str = "text/event-stream"
    latency: float = 0.0


Behaviour = Reply | Events | Status | Cut | Hang | Garbage
Responder = Callable[[ReceivedRequest], "Behaviour | Awaitable[Behaviour]"]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def function_call_item(
    name: str, arguments: Mapping[str, Any] | str, call_id: str
) -> dict[str, Any]:
    """A complete ``function_call`` output item (for Reply.items in agent-loop tests)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": args,
        "status": "completed",
    }


def reply_events(reply: Reply, response_id: str = "resp_1") -> list[dict[str, Any]]:
    """The event list a Responses server sends for ``reply`` (without sequence numbers)."""
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "response": {"id": response_id, "object": "response", "status": "in_progress"},
        }
    ]
    output: list[dict[str, Any]] = []
    if reply.text is not None:
        item_id = f"msg_{response_id}"
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "type": "message",
                    "id": item_id,
                    "role": "assistant",
                    "status": "in_progress",
                    "content": [],
                },
            }
        )
        if reply.deltas:
            step = max(1, reply.delta_chars)
            for i in range(0, len(reply.text), step):
                events.append(
                    {
                        "type": "response.output_text.delta",
                        "item_id": item_id,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": reply.text[i : i + step],
                    }
                )
            events.append(
                {
                    "type": "response.output_text.done",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "text": reply.text,
                }
            )
        message = {
            "type": "message",
            "id": item_id,
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
        }
        events.append({"type": "response.output_item.done", "output_index": 0, "item": message})
        output.append(message)
    for item in reply.items:
        index = len(output)
        events.append(
            {"type": "response.output_item.added", "output_index": index, "item": dict(item)}
        )
        events.append(
            {"type": "response.output_item.done", "output_index": index, "item": dict(item)}
        )
        output.append(dict(item))
    events.append(
        {
            "type": "response.completed",
            "response": {
                "id": response_id,
                "object": "response",
                "status": "completed",
                "output": output,
                "usage": {
                    "input_tokens": reply.input_tokens,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": reply.output_tokens,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": reply.input_tokens + reply.output_tokens,
                },
            },
        }
    )
    return events


def _sse(event: Mapping[str, Any]) -> bytes:
    return f"event: {event.get('type', 'message')}\ndata: {json.dumps(event)}\n\n".encode()


class _Close(Exception):
    """Internal: end this connection now (the behaviour closed or reset it)."""


class ResponsesServer:
    def __init__(
        self,
        *script: Behaviour,
        responder: Responder | None = None,
        default: Behaviour | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
    ) -> None:
        self._queue: deque[Behaviour] = deque(script)
        self.responder = responder
        self.default = default
        self.latency = latency
        self.host = host
        self.port = 0
        self.requests: list[ReceivedRequest] = []
        self.connections = 0  # TCP connections accepted so far
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._arrived = asyncio.Condition()
        self._ids = itertools.count(1)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL a client is configured with; requests go to ``{url}/responses``."""
        if self._server is None:
            raise RuntimeError("ResponsesServer is not started")
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for w in list(self._writers):
            w.close()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- the protocol (a subclass speaking another one overrides these) ------------------------

    def reply_events(self, reply: Reply, response_id: str) -> list[dict[str, Any]]:
        """The events that stream ``reply``."""
        return reply_events(reply, response_id)

    def frame(self, event: Mapping[str, Any], seq: int) -> bytes:
        """One event as it goes on the wire."""
        return _sse({**event, "sequence_number": seq})

    # -- test helpers -------------------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in order."""
        self._queue.extend(behaviours)

    @property
    def pending_script(self) -> int:
        return len(self._queue)

    @property
    def bodies(self) -> list[Any]:
        return [r.json for r in self.requests]

    async def wait_for_requests(self, n: int, within: float = 5.0) -> list[ReceivedRequest]:
        """Wait until at least ``n`` requests arrived (TimeoutError after ``within`` s)."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= n)
        return self.requests

    # -- HTTP ---------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                req = await self._read_request(reader)
                if req is None:
                    break
                async with self._arrived:
                    self.requests.append(req)
                    self._arrived.notify_all()
                behaviour = await self._choose(req)
                keep_alive = req.headers.get("connection", "").lower() != "close"
                if not await self._respond(behaviour, writer, keep_alive):
                    break
        except (_Close, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # stop(): the connection is closed below
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _read_request(self, reader: asyncio.StreamReader) -> ReceivedRequest | None:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            return None  # the client closed the connection
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            raise _Close
        method, target, _version = parts
        headers: dict[str, str] = {}
        while True:
            h = await reader.readline()
            if h in (b"\r\n", b"\n"):
                break
            if not h.endswith(b"\n"):
                return None
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                body += await reader.readexactly(size)
                await reader.readline()
            raw = bytes(body)
        else:
            raw = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return ReceivedRequest(
            method=method,
            path=target,
            headers=headers,
            body=raw,
            json=parsed,
            received_at=time.monotonic(),
        )

    async def _choose(self, req: ReceivedRequest) -> Behaviour:
        if self._queue:
            return self._queue.popleft()
        if self.responder is not None:
            got = self.responder(req)
            return await got if isinstance(got, Awaitable) else got
        if self.default is not None:
            return self.default
        return Status(500, "ResponsesServer: no scripted behaviour left", code="server_error")

    async def _respond(self, b: Behaviour, writer: asyncio.StreamWriter, keep_alive: bool) -> bool:
        """Send one response; return whether the connection may serve another request."""
        delay = self.latency + b.latency
        if delay > 0:
            await asyncio.sleep(delay)
        if isinstance(b, Status):
            body = b.body
            if body is None:
                body = json.dumps(
                    {
                        "error": {
                            "message": b.message,
                            "type": "server_error" if b.status >= 500 else "invalid_request_error",
                            "code": b.code,
                            "param": None,
                        }
                    }
                ).encode()
            extra = dict(b.headers)
            if b.retry_after is not None:
                extra["retry-after"] = b.retry_after
            await self._head(writer, b.status, b.content_type, keep_alive, len(body), extra)
            writer.write(body)
            await writer.drain()
            return keep_alive
        if isinstance(b, Garbage):
            await self._head(writer, b.status, b.content_type, False, None, {})
            writer.write(b.body)
            await writer.drain()
            return False
        if isinstance(b, Hang):
            if b.headers_first:
                await self._head(writer, 200, "text/event-stream", True, None, {}, chunked=True)
            await asyncio.Event().wait()  # until stop() cancels this connection
            return False
        rid = f"resp_{next(self._ids)}"
        if isinstance(b, Reply):
            return await self._stream(
                writer, self.reply_events(b, rid), b.framing, keep_alive, b.event_delay
            )
        if isinstance(b, Events):
            return await self._stream(
                writer, [dict(e) for e in b.events], b.framing, keep_alive, b.event_delay
            )
        # Cut
        events = self.reply_events(Reply(text=b.text), rid)
        chunked = b.framing == "chunked"
        await self._head(writer, 200, "text/event-stream", False, None, {}, chunked=chunked)
        for seq, ev in enumerate(events[: b.after_events]):
            self._write_part(writer, self.frame(ev, seq), chunked)
        if b.mid_event and b.after_events < len(events):
            data = self.frame(events[b.after_events], b.after_events)
            self._write_part(writer, data[: len(data) // 2], chunked)
        await writer.drain()
        if b.reset:
            writer.transport.abort()
        raise _Close

    async def _stream(
        self,
        writer: asyncio.StreamWriter,
        events: list[dict[str, Any]],
        framing: Framing,
        keep_alive: bool,
        event_delay: float,
    ) -> bool:
        chunked = framing == "chunked"
        keep = keep_alive and chunked
        await self._head(writer, 200, "text/event-stream", keep, None, {}, chunked=chunked)
        for seq, ev in enumerate(events):
            if event_delay > 0 and seq:
                await asyncio.sleep(event_delay)
            self._write_part(writer, self.frame(ev, seq), chunked)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return keep

    @staticmethod
    def _write_part(writer: asyncio.StreamWriter, data: bytes, chunked: bool) -> None:
        if chunked:
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            writer.write(data)

    @staticmethod
    async def _head(
        writer: asyncio.StreamWriter,
        status: int,
        content_type: str,
        keep_alive: bool,
        length: int | None,
        extra: Mapping[str, str],
        *,
        chunked: bool = False,
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
            f"content-type: {content_type}",
            f"connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        if content_type.startswith("text/event-stream"):
            lines.append("cache-control: no-cache")
        if length is not None:
            lines.append(f"content-length: {length}")
        elif chunked:
            lines.append("transfer-encoding: chunked")
        lines += [f"{k}: {v}" for k, v in extra.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
