"""The ``chat`` stage-1 backend: one streaming Chat Completions call per rollout (or chunk), for
local servers (Ollama, vLLM, llama.cpp) and other providers that speak that API (SPEC §5).

``POST {backends.chat.base_url}/chat/completions`` with the stage-1 system prompt as the system
message, the rollout as the user message, ``stream: true`` with ``stream_options.include_usage``
(the usage comes in a last chunk before ``data: [DONE]``), and ``response_format`` asking for
the strict ``codex_output_schema`` JSON schema the ``openai`` backend uses. The reply is the
concatenated ``delta.content`` of choice 0; ``[DONE]`` ends it.

Not every server enforces a JSON schema. When one rejects it (an HTTP error of any status whose
message names ``response_format`` or ``json_schema``: llama-cpp-python answers 500) the call is
made again at once with ``response_format: {type: json_object, schema: ...}`` (servers that
constrain JSON mode to a schema read it there, others ignore it); when one ignores it (the
reply is not a bare JSON object) the reply is still parsed leniently, and later calls ask for
``json_object`` too. Either way the extractor remembers the fallback (``json_mode``) for the
rest of the process, and the lenient parser of memoryd/backends/output.py (fences, prose around
the object, legacy keys) reads the reply.

HTTP, retries, error classification and redaction are the ``openai`` backend's
(memoryd/backends/responses.py, memoryd/backends/openai.py): transient 429/5xx/timeouts/torn
streams are retried with backoff and Retry-After, other 4xx fail at once. An error chunk
(``data: {"error": {...}}``, as vLLM and OpenAI send mid-stream) is an error like an HTTP one.
``api_key_env`` may be empty: local servers need no key, and no Authorization header is sent.

What real local servers do, and what memoryd does about it: every call carries ``max_tokens``
(``phase1.max_output_tokens``), so a small model that loops stops instead of filling the
context; a stream that ends without a finish reason was cut off (llama-cpp-python ends a running
stream that way), not finished; a stream without usage is booked with an estimate
(``Usage.estimated``); stage-1 chunks are sized from the server's context window
(``backends.chat.context_tokens``, else what ``/props`` or ``/models`` report), so a rollout
never meets a context-overflow 400 over and over.

``phase1.model`` must name a model the server serves (there is no sensible default across
servers): an empty one is a config error.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar, Unpack

import httpx
import msgspec
import structlog

from memoryd.config import Config
from memoryd.errors import ConfigError
from memoryd.extract.base import ExtractionRequest, ExtractionResult
from memoryd.extract.openai import SCHEMA_NAME, Reply, StreamingExtractor, UnusableReplyError
from memoryd.extract.output import MAX_SLUG_CHARS, STAGE1_SCHEMA
from memoryd.llm.http import (
    ClientOptions,
    EventHandler,
    SSEEvent,
    StreamClient,
    one_line,
    usage_from,
)
from memoryd.llm.types import BackendError, Usage, estimate_usage
from memoryd.prompts import stage1_input_message, stage1_system_prompt
from memoryd.textutil import excerpt

log = structlog.get_logger("memoryd.backends.chat")


def bounded_schema(max_tokens: int) -> dict[str, Any]:
    """The stage-1 schema with its texts bounded to fit ``max_tokens`` (a token is rarely less
    than one character, escapes included, but a looping small model gets close): a server that
    enforces the schema then makes the model close the object within the reply's budget, where
    it would otherwise write until it is cut off."""
    schema = copy.deepcopy(STAGE1_SCHEMA)
    props = schema["properties"]
    props["raw_memory"] = {"type": "string", "maxLength": max(1, max_tokens * 3 // 4)}
    props["rollout_summary"] = {"type": "string", "maxLength": max(1, max_tokens // 8)}
    props["rollout_slug"] = {"type": ["string", "null"], "maxLength": MAX_SLUG_CHARS}
    return schema


def json_schema_format(max_tokens: int) -> dict[str, Any]:
    schema = bounded_schema(max_tokens)
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": True},
    }


def json_object_format(max_tokens: int) -> dict[str, Any]:
    return {"type": "json_object", "schema": bounded_schema(max_tokens)}


# What the prompt and the stage-1 reply leave of the server's context for the rollout: the
# system prompt and the input message's frame, with room to spare (4 bytes a token).
PROMPT_OVERHEAD_TOKENS: Final = 2500
MIN_CHUNK_TOKENS: Final = 256

T = TypeVar("T")


class ChatClient(StreamClient):
    """``POST {base_url}/chat/completions``: every chunk is a ``chunk`` event, ``[DONE]`` ends
    the stream, a chunk carrying an ``error`` (or ``"object": "error"``) is an error. The key is
    optional (local servers)."""

    backend = "chat"
    path = "/chat/completions"
    label = "Chat backend"
    end_marker = "[DONE]"
    key_required = False

    accepts_json = True  # a phase-2 turn with stream: false

    def event_kind(self, ev: SSEEvent, data: dict[str, Any]) -> str:
        if "error" in data or data.get("object") == "error":
            raise self.event_error("error chunk", data)
        return "chunk"

    def on_json(self, body: bytes, handler: EventHandler[T]) -> T:
        """A whole ``chat.completion`` (``stream: false``) fed to the handler as the one chunk
        it would have streamed: choice 0's message as the delta, its finish reason, the usage,
        then ``[DONE]``."""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise BackendError(
                f"{self.label}: the reply from {self.url} is not a JSON object: "
                f"{excerpt(body.decode('utf-8', errors='replace'))}"
            )
        self.event_kind(SSEEvent("message", ""), data)  # an error object raises
        choices = data.get("choices")
        chunk: dict[str, Any] = {"usage": data.get("usage")}
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            first = choices[0]
            chunk["choices"] = [
                {
                    "index": 0,
                    "delta": first.get("message") or {},
                    "finish_reason": first.get("finish_reason"),
                }
            ]
        handler("chunk", chunk)
        done = handler("[DONE]", {})
        assert done is not None  # a handler always answers [DONE]
        return done

    def _status_error(self, status: int, headers: httpx.Headers, raw: bytes) -> BackendError:
        # A refusal of the response format is not load, whatever the status says
        # (llama-cpp-python answers json_schema with a 500): retrying cannot help, falling
        # back can.
        error = super()._status_error(status, headers, raw)
        if error.transient and names_response_format(str(error)):
            error.transient = False
        return error


def chat_client(
    config: Config,
    phase: str,
    source: str,
    *,
    transient_retries: int,
    **options: Unpack[ClientOptions],
) -> tuple[str, ChatClient]:
    """``phaseN.model``, which the chat backend cannot do without (a ConfigError first when
    it is empty), and the ``backends.chat`` client for that phase's calls: the stage-1
    extractor and the phase-2 agent are set up alike."""
    model: str = getattr(config, phase).model
    if not model:
        raise ConfigError(
            source,
            f"{phase}.model",
            "the chat backend needs the name of a model the server at backends.chat.base_url "
            "serves (for Ollama e.g. qwen2.5-coder:7b; see docs/backends.md)",
        )
    http = ChatClient.from_config(
        config.backends.chat,
        transient_retries=transient_retries,
        model_key=f"{phase}.model",
        **options,
    )
    return model, http


@dataclass
class PartialCall:
    """A tool call as its deltas arrive (the arguments come in pieces, keyed by index)."""

    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class ChatStream(Generic[T]):
    """Folds the chunks of one Chat Completions stream: choice 0's content, refusal and tool
    call deltas, its finish reason, and the usage; ``done`` makes the caller's result when
    ``[DONE]`` arrives (an EventHandler for ChatClient)."""

    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: dict[int, PartialCall] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)

    def __call__(self, kind: str, data: dict[str, Any]) -> T | None:
        if kind == "[DONE]":
            return self.done()
        if isinstance(data.get("usage"), dict):
            self.usage = usage_from(data["usage"], "prompt_tokens", "completion_tokens")
        choices = data.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._delta(delta)
            if isinstance(choice.get("finish_reason"), str):
                self.finish_reason = choice["finish_reason"]
        return None

    def _delta(self, delta: dict[str, Any]) -> None:
        if isinstance(delta.get("content"), str):
            self.content.append(delta["content"])
        if isinstance(delta.get("refusal"), str):
            self.refusal.append(delta["refusal"])
        tool_calls = delta.get("tool_calls")
        for tc in tool_calls if isinstance(tool_calls, list) else []:
            if not isinstance(tc, dict):
                continue
            call_id = tc["id"] if isinstance(tc.get("id"), str) else ""
            call = self.calls.setdefault(self._slot(tc.get("index"), call_id), PartialCall())
            if call_id:
                call.call_id = call_id
            fn = tc.get("function")
            if not isinstance(fn, dict):
                continue
            if isinstance(fn.get("name"), str) and not call.name:
                call.name = fn["name"]
            args = fn.get("arguments")
            if isinstance(args, str):
                call.arguments.append(args)
            elif isinstance(args, dict):  # a lax server sends the object itself
                call.arguments = [json.dumps(args, ensure_ascii=False)]

    def _slot(self, index: Any, call_id: str) -> int:
        """Which call a tool-call delta continues: its ``index``; a server that sends none
        (older Ollama) starts a new call with each new id and otherwise continues the last."""
        if isinstance(index, int):
            return index
        for slot, call in self.calls.items():
            if call_id and call.call_id == call_id:
                return slot
        if call_id or not self.calls:
            return len(self.calls)
        return max(self.calls)

    @property
    def text(self) -> str:
        return "".join(self.content)

    def done(self) -> T:
        raise NotImplementedError


def cut_off_reason(finish_reason: str | None) -> str | None:
    """Why a reply with this finish reason did not finish, or None when it did."""
    if finish_reason is None:
        return "the stream ended without a finish reason"
    if finish_reason == "length":
        return "finish_reason: length"
    return None


class _Stage1Stream(ChatStream[Reply]):
    def done(self) -> Reply:
        cut = cut_off_reason(self.finish_reason)
        if cut is not None:
            raise UnusableReplyError(
                f"model reply was cut off before it finished ({cut}; phase1.max_output_tokens "
                "bounds it)",
                self.usage,
            )
        if not self.text.strip() and (self.refusal or self.finish_reason == "content_filter"):
            refused = "".join(self.refusal)
            said = excerpt(refused, 200) if refused else "finish_reason: content_filter"
            raise UnusableReplyError(f"model refused: {said}", self.usage)
        return Reply(self.text, self.usage)


def names_response_format(message: str) -> bool:
    text = message.lower()
    return "response_format" in text or "json_schema" in text


def rejects_schema(e: BackendError) -> bool:
    """Whether an HTTP error (any status) says the server does not take our
    ``response_format``."""
    return e.status is not None and names_response_format(str(e))


def _is_bare_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


class ChatExtractor(StreamingExtractor):
    """Stage-1 extraction over Chat Completions (see the module doc)."""

    name = "chat"

    def __init__(
        self,
        config: Config,
        *,
        allow_legacy: bool = True,
        source: str = "<config>",
        **options: Unpack[ClientOptions],
    ) -> None:
        model, http = chat_client(
            config, "phase1", source, transient_retries=config.phase1.transient_retries, **options
        )
        super().__init__(model, http, allow_legacy=allow_legacy)
        self.json_mode = False  # True once the server has shown it does not do json_schema
        self.max_output_tokens = config.phase1.max_output_tokens
        self.context_tokens = config.backends.chat.context_tokens
        self._base_url = config.backends.chat.base_url.rstrip("/")
        self._timeout = config.backends.chat.timeout_seconds
        self._input_limit: int | None = None
        self._probed = False

    @classmethod
    def from_config(cls, config: Config, source: str = "<config>") -> ChatExtractor:
        """The extractor for ``phase1`` and ``backends.chat`` of ``config``."""
        return cls(config, allow_legacy=config.phase1.accept_legacy_keys, source=source)

    def request_body(self, request: ExtractionRequest) -> dict[str, Any]:
        """The JSON body of the ``/chat/completions`` call for one rollout (or chunk)."""
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": stage1_system_prompt()},
                {"role": "user", "content": stage1_input_message(request)},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": self.max_output_tokens,
            "response_format": (json_object_format if self.json_mode else json_schema_format)(
                self.max_output_tokens
            ),
        }

    def new_stream(self) -> _Stage1Stream:
        return _Stage1Stream()

    def _fall_back(self, why: str) -> None:
        if not self.json_mode:
            self.json_mode = True
            log.warning("chat_json_schema_unsupported", url=self._http.url, why=why)

    async def extract(self, request: ExtractionRequest) -> ExtractionResult:
        try:
            reply = await self.call(request)
        except BackendError as e:
            if self.json_mode or not rejects_schema(e):
                raise
            self._fall_back(str(e))
            reply = await self.call(request)
        if not self.json_mode and not _is_bare_json_object(reply.text):
            self._fall_back("the reply to a json_schema request was not a JSON object")
        if reply.usage == Usage() and reply.text:
            body = json.dumps(self.request_body(request), ensure_ascii=False)
            reply = Reply(reply.text, estimate_usage(body, reply.text))
            log.info("chat_usage_estimated", url=self._http.url, **_counts(reply.usage))
        return self.result(reply)

    async def input_token_limit(self) -> int | None:
        """The most rollout tokens one call can carry: the server's context window
        (``backends.chat.context_tokens``, else what the server reports, asked once) less
        the reply's ``max_tokens`` and the prompt; None when the window is unknown."""
        if not self._probed:
            self._probed = True
            context = self.context_tokens or await self._probe_context()
            if context:
                room = context - self.max_output_tokens - PROMPT_OVERHEAD_TOKENS
                self._input_limit = max(MIN_CHUNK_TOKENS, room)
                log.info("chat_context", context_tokens=context, chunk_tokens=self._input_limit)
        return self._input_limit

    async def _probe_context(self) -> int | None:
        """The context window the server reports: llama.cpp's ``/props`` (next to or above
        the ``/v1`` base URL), or vLLM's ``max_model_len`` in ``/models``."""
        root = self._base_url.removesuffix("/v1")
        urls = [f"{self._base_url}/props", f"{root}/props", f"{self._base_url}/models"]
        headers = {}
        key = self.api_key()
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        async with httpx.AsyncClient(timeout=min(self._timeout, 10.0)) as client:
            for url in dict.fromkeys(urls):
                try:
                    resp = await client.get(url, headers=headers)
                    data = resp.json() if resp.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as e:
                    log.debug("chat_context_probe_failed", url=url, error=one_line(str(e)))
                    continue
                found = context_from(data, self.model)
                if found:
                    return found
        log.info("chat_context_unknown", url=self._base_url)
        return None


def context_from(data: Any, model: str) -> int | None:
    """The context window in a ``/props`` (``n_ctx``, at the top or under
    ``default_generation_settings``) or ``/models`` (``max_model_len`` of the model) reply."""
    if not isinstance(data, dict):
        return None
    for holder in (data, data.get("default_generation_settings")):
        if isinstance(holder, dict) and _positive(holder.get("n_ctx")):
            return int(holder["n_ctx"])
    models = data.get("data")
    models = models if isinstance(models, list) else []
    for entry in models:
        if isinstance(entry, dict) and _positive(entry.get("max_model_len")):
            if entry.get("id") == model or len(models) == 1:
                return int(entry["max_model_len"])
    return None


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _counts(usage: Usage) -> dict[str, int]:
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}


# --- what memoryd doctor asks -------------------------------------------------------------


class ProbeStream(ChatStream[Usage]):
    def done(self) -> Usage:
        return self.usage


_PROBE_MESSAGE: Final = "Reply with an empty JSON object."


async def probe_phase1(config: Config) -> str:
    """A one-token stage-1 call in the shape phase 1 sends (stream, usage, ``max_tokens``,
    ``response_format``): what the server takes; BackendError when it takes neither format."""
    cfg = msgspec.structs.replace(
        config, phase1=msgspec.structs.replace(config.phase1, transient_retries=0)
    )
    async with ChatExtractor(cfg) as extractor:
        body = extractor.request_body(
            ExtractionRequest(thread_id="doctor", rollout_path="", cwd="", rollout_contents="[]")
        )
        body["messages"] = [{"role": "user", "content": _PROBE_MESSAGE}]
        body["max_tokens"] = 1
        key = extractor.api_key()
        try:
            await extractor._http.stream(json.dumps(body).encode(), key, ProbeStream)
            said = "json_schema accepted"
        except BackendError as e:
            if not rejects_schema(e):
                raise
            body["response_format"] = json_object_format(extractor.max_output_tokens)
            await extractor._http.stream(json.dumps(body).encode(), key, ProbeStream)
            said = "json_schema refused, json_object accepted (used instead)"
        limit = await extractor.input_token_limit()
    chunks = f"chunks of {limit} tokens" if limit else "context unknown: chunks of "
    if not limit:
        chunks += f"phase1.max_input_tokens ({config.phase1.max_input_tokens})"
    return f"stage-1 request {said}, {chunks}"
