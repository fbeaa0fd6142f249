"""One streaming model call with retries, shared by every HTTP backend: the Responses API
(``openai``: memoryd/backends/openai.py, memoryd/agent/openai_agent.py) and Chat Completions
(``chat``: memoryd/backends/chat.py, memoryd/agent/chat_agent.py).

``StreamClient.stream`` POSTs a JSON body to ``{base_url}{path}`` and reads the reply as
server-sent events; what the events *mean* is up to the caller's handler, which sees every JSON
event and returns a value once the stream has told it enough (``response.completed`` for the
Responses API, ``[DONE]`` for Chat Completions). A protocol subclass (``ResponsesClient`` here,
``ChatClient`` in memoryd/backends/chat.py) says how an event is named and which events are
errors. The client owns everything else:

* transient failures — HTTP 408/429/5xx, connection errors, timeouts (``timeout_seconds`` bounds
  the connect and every read, so a hung server is noticed), torn streams, streams that end before
  the handler is done, and ``response.failed`` / ``error`` events with a retryable code: retried
  up to ``transient_retries`` times, waiting ``min(30, 2**(n-1))`` seconds with jitter (between
  half and all of it), or at least the server's ``Retry-After`` (seconds or an HTTP date, or a
  "try again in Ns" in an error event). A ``Retry-After`` longer than ``MAX_INLINE_RETRY_AFTER``
  is not waited out in-process: the error goes back to the caller, whose own schedule takes over.
* permanent — other 4xx (the status and the server's message are reported, with a hint for 401
  and 404), a missing API key, a reply that is not an event stream, non-retryable error events,
  a reply larger than ``max_reply_bytes`` (counted as it streams, so a runaway reply costs at
  most that much memory).
* a reply is data: a lone surrogate escaped in an event (``"\\ud800"``) becomes U+FFFD.
* concurrency — every attempt holds a slot of the backend's ``max_concurrency`` limiter, which
  one process shares between all clients of that backend (both phases), so a local server
  never sees more requests at once than it is configured for.

Every failure is a BackendError whose message is one line.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Final, NamedTuple, Self, TypedDict, TypeVar, Unpack

import anyio
import anyio.lowlevel
import httpx
import structlog

from memoryd import __version__, clock, textutil
from memoryd.llm.types import BackendError, Usage
from memoryd.surrogates import may_hold_surrogate, scrub_json
from memoryd.textutil import excerpt

log = structlog.get_logger("memoryd.backends.http")

BACKOFF_BASE_SECONDS: Final = 1.0
BACKOFF_CAP_SECONDS: Final = 30.0
MAX_INLINE_RETRY_AFTER: Final = 60.0
MAX_ERROR_BODY_BYTES: Final = 64 * 1024
MAX_SSE_LINE_BYTES: Final = 16 * 1024 * 1024
MAX_REPLY_BYTES: Final = 32 * 1024 * 1024  # backends.<name>.max_reply_bytes

# Error codes (in response.failed / error events, and HTTP error bodies) worth retrying.
_TRANSIENT_CODES: Final = frozenset(
    {
        "server_error",
        "internal_error",
        "rate_limit_exceeded",
        "server_is_overloaded",
        "overloaded",
        "slow_down",
    }
)
_TRY_AGAIN = re.compile(r"try again in\s+(\d+(?:\.\d+)?)\s*(ms|s|seconds?)\b", re.IGNORECASE)

if TYPE_CHECKING:
    from memoryd.config import ChatBackendConfig, OpenAIBackendConfig

Sleep = Callable[[float], Awaitable[None]]


class ClientOptions(TypedDict, total=False):
    """What tests (and only tests) change about a client: the environment the API key is read
    from, the backoff's sleep and jitter, and the HTTP transport."""

    env: Mapping[str, str] | None
    sleep: Sleep
    rand: Callable[[], float]
    transport: httpx.AsyncBaseTransport | None


# --- server-sent events ----------------------------------------------------------------------


class SSEEvent(NamedTuple):
    event: str
    data: str
    id: str | None = None


class SSEError(ValueError):
    """The byte stream cannot be an event stream (a line beyond the size limit)."""


_EOL = re.compile(rb"\r\n|\r|\n")


class SSEParser:
    """Incremental parser for ``text/event-stream`` (the WHATWG rules that matter here).

    Feed it byte chunks as they arrive, in any split; it returns the events completed so far.
    Lines end in CRLF, LF or CR; ``event:`` sets the type, ``data:`` lines accumulate (joined by
    newlines), ``id:`` is kept, ``retry:`` and unknown fields are ignored, lines starting with
    ``:`` are comments, and a blank line dispatches the event (if it has data). An event that
    is not blank-line terminated when the stream ends is incomplete and is dropped.
    """

    def __init__(self, max_line_bytes: int = MAX_SSE_LINE_BYTES) -> None:
        self._buf = bytearray()
        self._max = max_line_bytes
        self._first_line = True
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    @property
    def pending(self) -> bool:
        """Whether bytes or fields of an undispatched event are held (a torn stream)."""
        return bool(self._buf or self._data or self._event)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buf += chunk
        out: list[SSEEvent] = []
        pos = 0
        while True:
            m = _EOL.search(self._buf, pos)
            if m is None:
                break
            if m.group() == b"\r" and m.end() == len(self._buf):
                break  # a CR at the end may be the first half of a CRLF split across chunks
            ev = self._line(bytes(self._buf[pos : m.start()]))
            if ev is not None:
                out.append(ev)
            pos = m.end()
        del self._buf[:pos]
        if len(self._buf) > self._max:
            raise SSEError(f"an event-stream line is longer than {self._max} bytes")
        return out

    def finish(self) -> list[SSEEvent]:
        """The stream ended: a final lone CR still ends its line; whatever event is then
        not blank-line terminated stays undispatched (and ``pending`` says so)."""
        if self._buf.endswith(b"\r"):
            return self.feed(b"\n")
        return []

    def _line(self, raw: bytes) -> SSEEvent | None:
        line = raw.decode("utf-8", errors="replace")
        if self._first_line:
            self._first_line = False
            line = line.removeprefix("\ufeff")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        ev = SSEEvent(self._event or "message", "\n".join(self._data), self._id)
        self._event = ""
        self._data = []
        return ev


# --- helpers ---------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now is None:
        now = datetime.fromtimestamp(clock.now_ms() / 1000, UTC)
    return max(0.0, (when - now).total_seconds())


def _retry_after_from_message(message: str) -> float | None:
    m = _TRY_AGAIN.search(message)
    if m is None:
        return None
    n = float(m.group(1))
    return n / 1000 if m.group(2).lower() == "ms" else n


def _error_fields(obj: Any) -> tuple[str | None, str | None]:
    """(code, message) from the shapes servers use: ``{"error": {...}}``, ``{...}``,
    ``{"detail": ...}``."""
    if not isinstance(obj, dict):
        return None, None
    inner = obj.get("error")
    if isinstance(inner, dict):
        obj = inner
    elif isinstance(inner, str):
        return None, inner
    code = obj.get("code") or obj.get("type")
    message = obj.get("message") or obj.get("detail")
    if message is not None and not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False)
    return (str(code) if code is not None else None), message


def one_line(text: str, limit: int = 300) -> str:
    """``textutil.one_line``, cut to ``limit`` characters for an error message."""
    flat = textutil.one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def message_text(item: Any) -> str | None:
    """The output text of an assistant ``message`` output item, if it is one."""
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    content = item.get("content")
    if not isinstance(content, list):
        return None
    parts = [
        c["text"]
        for c in content
        if isinstance(c, dict) and c.get("type") == "output_text" and isinstance(c.get("text"), str)
    ]
    return "".join(parts) if parts else None


def usage_from(
    usage: Any, input_key: str = "input_tokens", output_key: str = "output_tokens"
) -> Usage:
    """Token usage from a ``usage`` object under the protocol's key names (Chat Completions
    says ``prompt_tokens`` / ``completion_tokens``); zeros for what is missing or bogus."""
    if not isinstance(usage, dict):
        return Usage()

    def count(key: str) -> int:
        v = usage.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0

    return Usage(input_tokens=count(input_key), output_tokens=count(output_key))


def usage_of(response: Any) -> Usage:
    """The token usage of a ``response`` object (zeros when it has none)."""
    return usage_from(response.get("usage") if isinstance(response, dict) else None)


def incomplete_reason(response: Any) -> str:
    """Why a ``response.incomplete`` event's response stopped, as the server said."""
    details = response.get("incomplete_details") if isinstance(response, dict) else None
    reason = details.get("reason") if isinstance(details, dict) else None
    return str(reason) if reason else "no reason given"


async def _head(resp: httpx.Response) -> bytes:
    """At most MAX_ERROR_BODY_BYTES of a response body (error bodies can be anything)."""
    out = bytearray()
    async for chunk in resp.aiter_bytes():
        out += chunk
        if len(out) >= MAX_ERROR_BODY_BYTES:
            break
    return bytes(out[:MAX_ERROR_BODY_BYTES])


T = TypeVar("T")

# An event handler folds the JSON events of one response stream (kind, data) and returns the
# caller's result once it has one; it may raise (a BackendError marked transient is retried like
# any other transient failure; anything else ends the call). A fresh handler is made for every
# attempt. Error events (``response.failed`` / ``error``, or a chat chunk carrying an ``error``)
# never reach it: the client raises for them.
EventHandler = Callable[[str, dict[str, Any]], T | None]


# --- the per-backend concurrency limit -------------------------------------------------------

# Backend name -> limiter, per event-loop run (a RunVar): a limiter belongs to the loop it is
# used on (each test runs its own); a daemon has one loop, so one limiter per backend.
_LIMITERS: anyio.lowlevel.RunVar[dict[str, anyio.CapacityLimiter]] = anyio.lowlevel.RunVar(
    "memoryd_http_limiters"
)


def shared_limiter(backend: str, max_concurrency: int) -> anyio.CapacityLimiter:
    """The limiter every client of ``backend`` in this process shares (``backends.<name>.
    max_concurrency``); a later client with another limit (a config reload) resizes it."""
    per_run = _LIMITERS.get(None)
    if per_run is None:
        per_run = {}
        _LIMITERS.set(per_run)
    limiter = per_run.get(backend)
    if limiter is None:
        limiter = per_run[backend] = anyio.CapacityLimiter(max_concurrency)
    elif limiter.total_tokens != max_concurrency:
        limiter.total_tokens = max_concurrency
    return limiter


# --- the client ------------------------------------------------------------------------------


class OwnsStreamClient:
    """What every HTTP stage-1 backend and phase-2 agent does with the StreamClient it owns
    (``_http``): used as an async context manager, or closed with ``aclose``, it closes the
    client's connections."""

    _http: StreamClient

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()


class StreamClient:
    """Streaming ``POST {base_url}{path}`` with phase-1's error handling and retries (see the
    module doc). Subclasses name the protocol: ``backend`` (the config section under
    ``backends``, the limiter and the log prefix), ``path``, ``label`` (how messages name the
    backend), ``end_marker`` (what a finished stream ends with, for messages) and
    ``event_kind`` (an event's name, or an error to raise). ``model_key`` names the config key
    of the model in error hints."""

    backend: ClassVar[str]
    path: ClassVar[str]
    label: ClassVar[str]
    end_marker: ClassVar[str]
    key_required: ClassVar[bool] = True

    @classmethod
    def from_config(
        cls,
        bc: OpenAIBackendConfig | ChatBackendConfig,
        *,
        transient_retries: int,
        model_key: str,
        **options: Unpack[ClientOptions],
    ) -> Self:
        """The client for the connection settings of ``backends.<name>``."""
        return cls(
            base_url=bc.base_url,
            api_key_env=bc.api_key_env,
            timeout_seconds=bc.timeout_seconds,
            transient_retries=transient_retries,
            model_key=model_key,
            max_concurrency=bc.max_concurrency,
            max_reply_bytes=bc.max_reply_bytes,
            **options,
        )

    def __init__(
        self,
        *,
        base_url: str,
        api_key_env: str,
        timeout_seconds: float,
        transient_retries: int,
        model_key: str,
        max_concurrency: int | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        env: Mapping[str, str] | None = None,
        sleep: Sleep = anyio.sleep,
        rand: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + self.path
        self.api_key_env = api_key_env
        self.timeout_seconds = timeout_seconds
        self.transient_retries = transient_retries
        self.model_key = model_key
        self.max_concurrency = max_concurrency
        self.max_reply_bytes = max_reply_bytes
        self._env: Mapping[str, str] = os.environ if env is None else env
        self._sleep = sleep
        self._rand = rand
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds), transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def section(self) -> str:
        return f"backends.{self.backend}"

    def api_key(self) -> str | None:
        """The key from the environment variable named by ``api_key_env``; None (no
        Authorization header) when the protocol allows that and no variable is named."""
        if not self.api_key_env:
            if not self.key_required:
                return None
            raise BackendError(
                f"{self.label}: {self.section}.api_key_env is empty; set it to the name of "
                "the environment variable that holds your API key"
            )
        key = self._env.get(self.api_key_env, "").strip()
        if not key:
            raise BackendError(
                f"{self.label}: the environment variable {self.api_key_env} (named by "
                f"{self.section}.api_key_env) is not set or empty; export your API key in it"
            )
        return key

    def backoff_delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): exponential from 1 s,
        capped at 30 s, jittered to between half and all of it, and never less than the
        server's Retry-After."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** min(attempt - 1, 16))
        delay = ceiling * (0.5 + 0.5 * self._rand())
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    async def stream(
        self,
        content: bytes,
        key: str | None,
        new_handler: Callable[[], EventHandler[T]],
        *,
        log_fields: Mapping[str, Any] | None = None,
    ) -> T:
        """POST ``content`` and feed the events to a fresh ``new_handler()`` per attempt;
        return the handler's first non-None result. Transient failures are retried (see the
        module doc); the last one, or any permanent one, is raised as a BackendError."""
        attempts = self.transient_retries + 1
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._limited_call(content, key, new_handler())
            except BackendError as e:
                if not e.transient:
                    raise
                if attempt >= attempts:
                    plural = "s" if attempts != 1 else ""
                    raise BackendError(
                        f"{e} (gave up after {attempts} attempt{plural})",
                        transient=True,
                        status=e.status,
                        retry_after=e.retry_after,
                    ) from e
                if e.retry_after is not None and e.retry_after > MAX_INLINE_RETRY_AFTER:
                    raise BackendError(
                        f"{e} (the server asked to wait {e.retry_after:.0f}s; left to the "
                        "job's retry schedule)",
                        transient=True,
                        status=e.status,
                        retry_after=e.retry_after,
                    ) from e
                delay = self.backoff_delay(attempt, e.retry_after)
                log.warning(
                    f"{self.backend}_transient_error",
                    **(log_fields or {}),
                    attempt=attempt,
                    attempts=attempts,
                    status=e.status,
                    retry_in=round(delay, 3),
                    error=str(e),
                )
                await self._sleep(delay)

    # -- one HTTP attempt ---------------------------------------------------------------------

    async def _limited_call(self, content: bytes, key: str | None, handler: EventHandler[T]) -> T:
        if self.max_concurrency is None:
            return await self._call(content, key, handler)
        async with shared_limiter(self.backend, self.max_concurrency):
            return await self._call(content, key, handler)

    async def _call(self, content: bytes, key: str | None, handler: EventHandler[T]) -> T:
        headers = {
            "accept": "text/event-stream",
            "content-type": "application/json",
            "user-agent": f"memoryd/{__version__}",
        }
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        started = clock.get().monotonic()
        try:
            async with self._client.stream(
                "POST", self.url, content=content, headers=headers
            ) as resp:
                if not 200 <= resp.status_code < 300:
                    raise self._status_error(resp.status_code, resp.headers, await _head(resp))
                ctype = resp.headers.get("content-type", "")
                if ctype.lower().startswith("application/json") and self.accepts_json:
                    return self.on_json(await resp.aread(), handler)
                if not ctype.lower().startswith("text/event-stream"):
                    body = (await _head(resp)).decode("utf-8", errors="replace")
                    raise BackendError(
                        f"{self.label}: expected an event stream from {self.url}, got "
                        f"{ctype or 'no content type'} (HTTP {resp.status_code}): "
                        f"{excerpt(body)}",
                        status=resp.status_code,
                    )
                return await self._read_stream(resp, handler)
        except httpx.TimeoutException as e:
            what = {
                httpx.ConnectTimeout: "connecting to",
                httpx.WriteTimeout: "sending the request to",
                httpx.PoolTimeout: "waiting for a free connection to",
            }.get(type(e), "waiting for data from")
            raise BackendError(
                f"{self.label}: timed out after {self.timeout_seconds:g}s {what} "
                f"{self.url} ({self.section}.timeout_seconds)",
                transient=True,
            ) from None
        except httpx.ConnectError as e:
            raise BackendError(
                f"{self.label}: cannot connect to {self.url}: {one_line(str(e)) or 'refused'}",
                transient=True,
            ) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as e:
            waited = clock.get().monotonic() - started
            raise BackendError(
                f"{self.label}: the connection to {self.url} broke after {waited:.1f}s: "
                f"{one_line(str(e)) or type(e).__name__}",
                transient=True,
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            raise BackendError(
                f"{self.label}: request to {self.url} failed: "
                f"{one_line(str(e)) or type(e).__name__}"
            ) from None

    def _status_error(self, status: int, headers: httpx.Headers, raw: bytes) -> BackendError:
        text = raw.decode("utf-8", errors="replace")
        try:
            code, message = _error_fields(json.loads(text))
        except ValueError:
            code, message = None, None
        if not message:
            message = one_line(text) or "(empty body)"
        transient = status in (408, 429) or 500 <= status <= 599
        if code == "insufficient_quota":
            transient = False  # billing, not load: waiting will not help
        retry_after = parse_retry_after(headers.get("retry-after"))
        if retry_after is None and headers.get("retry-after-ms"):
            ms = parse_retry_after(headers.get("retry-after-ms"))
            retry_after = None if ms is None else ms / 1000
        hint = ""
        if status == 401:
            hint = f" (check the API key in ${self.api_key_env})"
        elif status == 404:
            hint = f" (check {self.section}.base_url and {self.model_key})"
        return BackendError(
            f"{self.label}: HTTP {status} from {self.url}: {one_line(message)}{hint}",
            transient=transient,
            status=status,
            retry_after=retry_after,
        )

    async def _read_stream(self, resp: httpx.Response, handler: EventHandler[T]) -> T:
        parser = SSEParser()
        events = received = 0
        try:
            async for chunk in resp.aiter_bytes():
                received += len(chunk)
                if received > self.max_reply_bytes:  # checked as it streams: never held whole
                    raise BackendError(
                        f"{self.label}: the reply from {self.url} is larger than "
                        f"{self.max_reply_bytes} bytes ({self.section}.max_reply_bytes); "
                        "stopped reading it"
                    )
                for ev in parser.feed(chunk):
                    events += 1
                    result = self._on_event(ev, handler)
                    if result is not None:
                        return result
            for ev in parser.finish():
                events += 1
                result = self._on_event(ev, handler)
                if result is not None:
                    return result
        except SSEError as e:
            raise BackendError(f"{self.label}: bad event stream from {self.url}: {e}") from None
        torn = " mid-event" if parser.pending else ""
        raise BackendError(
            f"{self.label}: stream ended{torn} before {self.end_marker} "
            f"(after {events} event{'s' if events != 1 else ''})",
            transient=True,
            status=resp.status_code,
        )

    def _on_event(self, ev: SSEEvent, handler: EventHandler[T]) -> T | None:
        if ev.data.strip() == "[DONE]":
            return handler("[DONE]", {})
        try:
            data = json.loads(ev.data)
        except ValueError:
            log.debug(f"{self.backend}_sse_not_json", event=ev.event, data=excerpt(ev.data))
            return None
        if not isinstance(data, dict):
            return None
        if may_hold_surrogate(ev.data):  # a reply is data: "\ud800" must not reach SQLite
            data = scrub_json(data)
        return handler(self.event_kind(ev, data), data)

    def event_kind(self, ev: SSEEvent, data: dict[str, Any]) -> str:
        """The name the handler sees for a JSON event; raises the BackendError an error event
        stands for."""
        raise NotImplementedError

    # A protocol whose requests may ask for a plain JSON reply (``stream: false``) sets this
    # and folds the reply into the handler in ``on_json``.
    accepts_json: ClassVar[bool] = False

    def on_json(self, body: bytes, handler: EventHandler[T]) -> T:
        raise NotImplementedError

    def event_error(self, kind: str, source: Any) -> BackendError:
        """The BackendError for an error event whose error fields are in ``source``."""
        code, message = _error_fields(source)
        message = one_line(message or "no message")
        transient = code in _TRANSIENT_CODES
        return BackendError(
            f"{self.label}: {kind} from {self.url}: {message}"
            + (f" (code {code})" if code else ""),
            transient=transient,
            retry_after=_retry_after_from_message(message) if transient else None,
        )


class ResponsesClient(StreamClient):
    """``POST {base_url}/responses``: events are named by their ``type``; ``response.failed``
    and ``error`` events are errors."""

    backend = "openai"
    path = "/responses"
    label = "OpenAI backend"
    end_marker = "response.completed"

    def event_kind(self, ev: SSEEvent, data: dict[str, Any]) -> str:
        kind = str(data.get("type") or ev.event)
        if kind == "response.failed":
            response = data.get("response")
            inner = response.get("error") if isinstance(response, dict) else None
            raise self.event_error(kind, {"error": inner} if isinstance(inner, dict) else {})
        if kind == "error":
            # An ``error`` event's own "type" is the event name, not an error code.
            raise self.event_error(kind, {k: v for k, v in data.items() if k != "type"})
        return kind
