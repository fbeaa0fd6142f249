"""The ``chat`` stage-1 backend: one streaming Chat Completions call per rollout (or chunk), for
local servers (Ollama, vLLM, llama.cpp) and other providers that speak that API (SPEC §5).

``POST {backends.chat.base_url}/chat/completions`` with the stage-1 system prompt as the system
message, the rollout as the user message, ``stream: true`` with ``stream_options.include_usage``
(the usage comes in a last chunk before ``data: [DONE]``), and ``response_format`` asking for
the strict ``codex_output_schema`` JSON schema the ``openai`` backend uses. The reply is the
concatenated ``delta.content`` of choice 0; ``[DONE]`` ends it.

Not every server enforces a JSON schema. When one rejects it (HTTP 400/422 whose message names
``response_format`` or ``json_schema``) the call is made again at once with ``response_format:
{type: json_object}``; when one ignores it (the reply is not a bare JSON object) the reply is
still parsed leniently, and later calls ask for ``json_object`` too. Either way the extractor
remembers the fallback (``json_mode``) for the rest of the process, and the lenient parser of
memoryd/backends/output.py (fences, prose around the object, legacy keys) reads the reply.

HTTP, retries, error classification and redaction are the ``openai`` backend's
(memoryd/backends/responses.py, memoryd/backends/openai.py): transient 429/5xx/timeouts/torn
streams are retried with backoff and Retry-After, other 4xx fail at once. An error chunk
(``data: {"error": {...}}``, as vLLM and OpenAI send mid-stream) is an error like an HTTP one.
``api_key_env`` may be empty: local servers need no key, and no Authorization header is sent.

``phase1.model`` must name a model the server serves (there is no sensible default across
servers): an empty one is a config error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar, Unpack

import structlog

from memoryd.config import Config
from memoryd.errors import ConfigError
from memoryd.extract.base import ExtractionRequest, ExtractionResult
from memoryd.extract.openai import SCHEMA_NAME, Reply, StreamingExtractor, UnusableReplyError
from memoryd.extract.output import STAGE1_SCHEMA
from memoryd.llm.http import ClientOptions, SSEEvent, StreamClient, usage_from
from memoryd.llm.types import BackendError, Usage
from memoryd.prompts import stage1_input_message, stage1_system_prompt
from memoryd.textutil import excerpt

log = structlog.get_logger("memoryd.backends.chat")

JSON_SCHEMA_FORMAT: Final[dict[str, Any]] = {
    "type": "json_schema",
    "json_schema": {"name": SCHEMA_NAME, "schema": STAGE1_SCHEMA, "strict": True},
}
JSON_OBJECT_FORMAT: Final[dict[str, Any]] = {"type": "json_object"}

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

    def event_kind(self, ev: SSEEvent, data: dict[str, Any]) -> str:
        if "error" in data or data.get("object") == "error":
            raise self.event_error("error chunk", data)
        return "chunk"


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


class _Stage1Stream(ChatStream[Reply]):
    def done(self) -> Reply:
        if self.finish_reason == "length":
            raise UnusableReplyError(
                "model reply was cut off before it finished (finish_reason: length)", self.usage
            )
        if not self.text.strip() and (self.refusal or self.finish_reason == "content_filter"):
            refused = "".join(self.refusal)
            said = excerpt(refused, 200) if refused else "finish_reason: content_filter"
            raise UnusableReplyError(f"model refused: {said}", self.usage)
        return Reply(self.text, self.usage)


def rejects_schema(e: BackendError) -> bool:
    """Whether an HTTP error says the server does not take our ``response_format``."""
    text = str(e).lower()
    return e.status in (400, 422) and ("response_format" in text or "json_schema" in text)


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
            "response_format": JSON_OBJECT_FORMAT if self.json_mode else JSON_SCHEMA_FORMAT,
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
        return self.result(reply)
