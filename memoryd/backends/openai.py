"""The ``openai`` stage-1 backend: one streaming Responses-API call per rollout (or chunk).

``POST {backends.openai.base_url}/responses`` with the stage-1 system prompt as
``instructions``, the rollout as one user message, ``stream: true``, ``store: false``,
reasoning effort ``low`` and the strict ``codex_output_schema`` JSON schema (as Codex sends it,
reference §5.1). The reply is read as server-sent events: output text deltas are concatenated
(the text of the first completed assistant message item is the fallback when no delta came),
and ``response.completed`` ends the read and carries the token usage.

Failures:

* transient — HTTP 408/429/5xx, connection errors, timeouts (``timeout_seconds`` bounds the
  connect and every read, so a hung server is noticed), torn streams and streams that end
  before ``response.completed``: retried inside ``extract`` up to ``phase1.transient_retries``
  times, waiting ``min(30, 2**(n-1))`` seconds with jitter (between half and all of it), or at
  least the server's ``Retry-After`` (seconds or an HTTP date). A ``Retry-After`` longer than
  ``MAX_INLINE_RETRY_AFTER`` is not waited out in-process: the error goes to the job, whose own
  retry schedule takes over.
* permanent — other 4xx (the status and the server's message are reported), a missing API key,
  ``response.failed`` / ``error`` events with a non-retryable code; and OutputError when the
  reply cannot be parsed as a stage-1 object.

When ``phase1.model`` is empty the model is ``DEFAULT_MODEL``, Codex's preferred extraction
model for OpenAI providers (reference §5.1).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, NamedTuple, Self

import httpx
import structlog

from memoryd import __version__
from memoryd.backends.base import (
    BackendError,
    ExtractionRequest,
    ExtractionResult,
    OutputError,
    Usage,
)
from memoryd.backends.output import STAGE1_SCHEMA, excerpt, finalize_output, parse_stage1_output
from memoryd.config import Config
from memoryd.prompts import stage1_input_message, stage1_system_prompt

log = structlog.get_logger("memoryd.backends.openai")

DEFAULT_MODEL: Final = "gpt-5.4-mini"
SCHEMA_NAME: Final = "codex_output_schema"
BACKOFF_BASE_SECONDS: Final = 1.0
BACKOFF_CAP_SECONDS: Final = 30.0
MAX_INLINE_RETRY_AFTER: Final = 60.0
MAX_ERROR_BODY_BYTES: Final = 64 * 1024
MAX_SSE_LINE_BYTES: Final = 16 * 1024 * 1024

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

Sleep = Callable[[float], Awaitable[None]]


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
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


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


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class UnusableReplyError(OutputError):
    """The model replied (and the tokens were spent) but not with a usable stage-1 object;
    ``usage`` says what the call cost so the caller can still book it."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage or Usage()


class _Reply(NamedTuple):
    text: str
    usage: Usage


@dataclass
class _StreamState:
    """What one response stream has said so far."""

    events: int = 0
    deltas: list[str] = field(default_factory=list)
    done_text: str | None = None  # from response.output_text.done
    item_text: str | None = None  # from the first completed assistant message item
    refusal: list[str] = field(default_factory=list)


# --- the extractor ---------------------------------------------------------------------------


class OpenAIExtractor:
    """Stage-1 extraction over the Responses API (see the module doc for the behaviour)."""

    name = "openai"

    def __init__(
        self,
        config: Config,
        *,
        env: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_legacy: bool = True,
    ) -> None:
        oc = config.backends.openai
        self.model: str = config.phase1.model or DEFAULT_MODEL
        self.url = oc.base_url.rstrip("/") + "/responses"
        self.api_key_env = oc.api_key_env
        self.timeout_seconds = oc.timeout_seconds
        self.transient_retries = config.phase1.transient_retries
        self.allow_legacy = allow_legacy
        self._env: Mapping[str, str] = os.environ if env is None else env
        self._sleep = sleep
        self._rand = rand
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(oc.timeout_seconds), transport=transport
        )

    @classmethod
    def from_config(cls, config: Config) -> OpenAIExtractor:
        """The extractor for ``phase1`` and ``backends.openai`` of ``config``."""
        return cls(config, allow_legacy=config.phase1.accept_legacy_keys)

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
        await self._client.aclose()

    # -- request ------------------------------------------------------------------------------

    def api_key(self) -> str:
        """The key from the environment variable named by ``backends.openai.api_key_env``."""
        if not self.api_key_env:
            raise BackendError(
                "OpenAI backend: backends.openai.api_key_env is empty; set it to the name of "
                "the environment variable that holds your API key"
            )
        key = self._env.get(self.api_key_env, "").strip()
        if not key:
            raise BackendError(
                f"OpenAI backend: the environment variable {self.api_key_env} (named by "
                "backends.openai.api_key_env) is not set or empty; export your API key in it"
            )
        return key

    def request_body(self, request: ExtractionRequest) -> dict[str, Any]:
        """The JSON body of the ``/responses`` call for one rollout (or chunk)."""
        return {
            "model": self.model,
            "instructions": stage1_system_prompt(),
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": stage1_input_message(request)}],
                }
            ],
            "stream": True,
            "store": False,
            "reasoning": {"effort": "low"},
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": SCHEMA_NAME,
                    "strict": True,
                    "schema": STAGE1_SCHEMA,
                }
            },
        }

    def backoff_delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): exponential from 1 s,
        capped at 30 s, jittered to between half and all of it, and never less than the
        server's Retry-After."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** min(attempt - 1, 16))
        delay = ceiling * (0.5 + 0.5 * self._rand())
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    async def extract(self, request: ExtractionRequest) -> ExtractionResult:
        key = self.api_key()
        content = json.dumps(self.request_body(request), ensure_ascii=False).encode("utf-8")
        attempts = self.transient_retries + 1
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = await self._call(content, key)
                break
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
                    "openai_transient_error",
                    thread_id=request.thread_id,
                    attempt=attempt,
                    attempts=attempts,
                    status=e.status,
                    retry_in=round(delay, 3),
                    error=str(e),
                )
                await self._sleep(delay)
        try:
            parsed = parse_stage1_output(reply.text, allow_legacy=self.allow_legacy)
        except OutputError as e:
            raise UnusableReplyError(str(e), reply.usage) from None
        return ExtractionResult(
            output=finalize_output(parsed),
            usage=reply.usage,
            backend=self.name,
            model=self.model,
        )

    # -- one HTTP attempt ---------------------------------------------------------------------

    async def _call(self, content: bytes, key: str) -> _Reply:
        headers = {
            "authorization": f"Bearer {key}",
            "accept": "text/event-stream",
            "content-type": "application/json",
            "user-agent": f"memoryd/{__version__}",
        }
        started = time.monotonic()
        try:
            async with self._client.stream(
                "POST", self.url, content=content, headers=headers
            ) as resp:
                if not 200 <= resp.status_code < 300:
                    raise self._status_error(resp.status_code, resp.headers, await _head(resp))
                ctype = resp.headers.get("content-type", "")
                if not ctype.lower().startswith("text/event-stream"):
                    body = (await _head(resp)).decode("utf-8", errors="replace")
                    raise BackendError(
                        f"OpenAI backend: expected an event stream from {self.url}, got "
                        f"{ctype or 'no content type'} (HTTP {resp.status_code}): "
                        f"{excerpt(body)}",
                        status=resp.status_code,
                    )
                return await self._read_stream(resp)
        except httpx.TimeoutException as e:
            what = {
                httpx.ConnectTimeout: "connecting to",
                httpx.WriteTimeout: "sending the request to",
                httpx.PoolTimeout: "waiting for a free connection to",
            }.get(type(e), "waiting for data from")
            raise BackendError(
                f"OpenAI backend: timed out after {self.timeout_seconds:g}s {what} "
                f"{self.url} (backends.openai.timeout_seconds)",
                transient=True,
            ) from None
        except httpx.ConnectError as e:
            raise BackendError(
                f"OpenAI backend: cannot connect to {self.url}: {_one_line(str(e)) or 'refused'}",
                transient=True,
            ) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as e:
            waited = time.monotonic() - started
            raise BackendError(
                f"OpenAI backend: the connection to {self.url} broke after {waited:.1f}s: "
                f"{_one_line(str(e)) or type(e).__name__}",
                transient=True,
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            raise BackendError(
                f"OpenAI backend: request to {self.url} failed: "
                f"{_one_line(str(e)) or type(e).__name__}"
            ) from None

    def _status_error(self, status: int, headers: httpx.Headers, raw: bytes) -> BackendError:
        text = raw.decode("utf-8", errors="replace")
        try:
            code, message = _error_fields(json.loads(text))
        except ValueError:
            code, message = None, None
        if not message:
            message = _one_line(text) or "(empty body)"
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
            hint = " (check backends.openai.base_url and phase1.model)"
        return BackendError(
            f"OpenAI backend: HTTP {status} from {self.url}: {_one_line(message)}{hint}",
            transient=transient,
            status=status,
            retry_after=retry_after,
        )

    async def _read_stream(self, resp: httpx.Response) -> _Reply:
        parser = SSEParser()
        state = _StreamState()
        try:
            async for chunk in resp.aiter_bytes():
                for ev in parser.feed(chunk):
                    reply = self._on_event(ev, state)
                    if reply is not None:
                        return reply
            for ev in parser.finish():
                reply = self._on_event(ev, state)
                if reply is not None:
                    return reply
        except SSEError as e:
            raise BackendError(f"OpenAI backend: bad event stream from {self.url}: {e}") from None
        torn = " mid-event" if parser.pending else ""
        n = state.events
        raise BackendError(
            f"OpenAI backend: stream ended{torn} before response.completed "
            f"(after {n} event{'s' if n != 1 else ''})",
            transient=True,
            status=resp.status_code,
        )

    def _on_event(self, ev: SSEEvent, st: _StreamState) -> _Reply | None:
        """Fold one event into ``st``; the reply once ``response.completed`` arrives."""
        st.events += 1
        try:
            data = json.loads(ev.data)
        except ValueError:
            log.debug("openai_sse_not_json", event=ev.event, data=excerpt(ev.data))
            return None
        if not isinstance(data, dict):
            return None
        kind = data.get("type") or ev.event
        if kind == "response.output_text.delta":
            if isinstance(data.get("delta"), str):
                st.deltas.append(data["delta"])
        elif kind == "response.output_text.done":
            if st.done_text is None and isinstance(data.get("text"), str):
                st.done_text = data["text"]
        elif kind == "response.refusal.delta":
            if isinstance(data.get("delta"), str):
                st.refusal.append(data["delta"])
        elif kind == "response.output_item.done":
            text = _message_text(data.get("item"))
            if st.item_text is None and text is not None:
                st.item_text = text
        elif kind == "response.completed":
            usage = _usage(data.get("response"))
            text = "".join(st.deltas) if st.deltas else (st.done_text or st.item_text or "")
            if not text.strip() and st.refusal:
                raise UnusableReplyError(
                    f"model refused: {excerpt(''.join(st.refusal), 200)}", usage
                )
            return _Reply(text, usage)
        elif kind == "response.incomplete":
            response = data.get("response")
            reason = None
            if isinstance(response, dict):
                details = response.get("incomplete_details")
                if isinstance(details, dict):
                    reason = details.get("reason")
            raise UnusableReplyError(
                "model reply was cut off before it finished (response.incomplete: "
                f"{reason or 'no reason given'})",
                _usage(response),
            )
        elif kind in ("response.failed", "error"):
            raise self._event_error(kind, data)
        return None

    def _event_error(self, kind: str, data: dict[str, Any]) -> BackendError:
        # An ``error`` event's own "type" is the event name, not an error code.
        source: Any = {k: v for k, v in data.items() if k != "type"}
        if kind == "response.failed":
            response = data.get("response")
            source = response.get("error") if isinstance(response, dict) else None
            source = {"error": source} if isinstance(source, dict) else {}
        code, message = _error_fields(source)
        message = _one_line(message or "no message")
        transient = code in _TRANSIENT_CODES
        return BackendError(
            f"OpenAI backend: {kind} from {self.url}: {message}"
            + (f" (code {code})" if code else ""),
            transient=transient,
            retry_after=_retry_after_from_message(message) if transient else None,
        )


async def _head(resp: httpx.Response) -> bytes:
    """At most MAX_ERROR_BODY_BYTES of a response body (error bodies can be anything)."""
    out = bytearray()
    async for chunk in resp.aiter_bytes():
        out += chunk
        if len(out) >= MAX_ERROR_BODY_BYTES:
            break
    return bytes(out[:MAX_ERROR_BODY_BYTES])


def _message_text(item: Any) -> str | None:
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


def _usage(response: Any) -> Usage:
    usage = response.get("usage") if isinstance(response, dict) else None
    if not isinstance(usage, dict):
        return Usage()

    def count(key: str) -> int:
        v = usage.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0

    return Usage(input_tokens=count("input_tokens"), output_tokens=count("output_tokens"))
