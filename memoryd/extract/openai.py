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

The HTTP call, the event-stream parser and the retries live in memoryd/llm/http.py
(shared with the phase-2 agent and the ``chat`` backend); this module folds the events into the
stage-1 reply text. ``StreamingExtractor`` is the part every HTTP stage-1 backend shares.

When ``phase1.model`` is empty the model is ``DEFAULT_MODEL``, Codex's preferred extraction
model for OpenAI providers (reference §5.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Unpack

from memoryd.config import Config
from memoryd.extract.base import ExtractionRequest, ExtractionResult, OutputError
from memoryd.extract.output import STAGE1_SCHEMA, finalize_output, parse_stage1_output
from memoryd.llm.http import MAX_INLINE_RETRY_AFTER as MAX_INLINE_RETRY_AFTER
from memoryd.llm.http import (
    ClientOptions,
    EventHandler,
    OwnsStreamClient,
    ResponsesClient,
    StreamClient,
    incomplete_reason,
    message_text,
    usage_of,
)
from memoryd.llm.http import SSEError as SSEError
from memoryd.llm.http import SSEEvent as SSEEvent
from memoryd.llm.http import SSEParser as SSEParser
from memoryd.llm.http import parse_retry_after as parse_retry_after
from memoryd.llm.types import Usage
from memoryd.prompts import stage1_input_message, stage1_system_prompt
from memoryd.textutil import excerpt

DEFAULT_MODEL: Final = "gpt-5.4-mini"
SCHEMA_NAME: Final = "codex_output_schema"


class UnusableReplyError(OutputError):
    """The model replied (and the tokens were spent) but not with a usable stage-1 object;
    ``usage`` says what the call cost so the caller can still book it."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage or Usage()


class Reply(NamedTuple):
    """A finished reply: its text and what it cost."""

    text: str
    usage: Usage


@dataclass
class _Stage1Stream:
    """What one response stream has said so far: the reply text, once ``response.completed``
    arrives (an EventHandler for ResponsesClient)."""

    deltas: list[str] = field(default_factory=list)
    done_text: str | None = None  # from response.output_text.done
    item_text: str | None = None  # from the first completed assistant message item
    refusal: list[str] = field(default_factory=list)

    def __call__(self, kind: str, data: dict[str, Any]) -> Reply | None:
        if kind == "response.output_text.delta":
            if isinstance(data.get("delta"), str):
                self.deltas.append(data["delta"])
        elif kind == "response.output_text.done":
            if self.done_text is None and isinstance(data.get("text"), str):
                self.done_text = data["text"]
        elif kind == "response.refusal.delta":
            if isinstance(data.get("delta"), str):
                self.refusal.append(data["delta"])
        elif kind == "response.output_item.done":
            text = message_text(data.get("item"))
            if self.item_text is None and text is not None:
                self.item_text = text
        elif kind == "response.completed":
            usage = usage_of(data.get("response"))
            text = "".join(self.deltas) if self.deltas else (self.done_text or self.item_text or "")
            if not text.strip() and self.refusal:
                raise UnusableReplyError(
                    f"model refused: {excerpt(''.join(self.refusal), 200)}", usage
                )
            return Reply(text, usage)
        elif kind == "response.incomplete":
            response = data.get("response")
            raise UnusableReplyError(
                "model reply was cut off before it finished (response.incomplete: "
                f"{incomplete_reason(response)})",
                usage_of(response),
            )
        return None


# --- the extractor ---------------------------------------------------------------------------


class StreamingExtractor(OwnsStreamClient):
    """What every HTTP stage-1 backend shares: one streamed call per rollout (or chunk) through
    a StreamClient, the reply text parsed with the lenient stage-1 parser, redacted and capped.
    A protocol subclass sets ``name`` and implements ``request_body`` and ``new_stream``."""

    name: str

    def __init__(self, model: str, http: StreamClient, *, allow_legacy: bool) -> None:
        self.model = model
        self.allow_legacy = allow_legacy
        self._http = http
        self.url = http.url
        self.api_key_env = http.api_key_env
        self.timeout_seconds = http.timeout_seconds
        self.transient_retries = http.transient_retries

    def api_key(self) -> str | None:
        """The key from the environment variable named by the backend's ``api_key_env``."""
        return self._http.api_key()

    def backoff_delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): see StreamClient."""
        return self._http.backoff_delay(attempt, retry_after)

    def request_body(self, request: ExtractionRequest) -> dict[str, Any]:
        raise NotImplementedError

    def new_stream(self) -> EventHandler[Reply]:
        """A fresh handler that folds one reply stream into its text and usage."""
        raise NotImplementedError

    async def call(self, request: ExtractionRequest) -> Reply:
        """One streamed call (with the client's retries) for ``request``."""
        key = self.api_key()
        content = json.dumps(self.request_body(request), ensure_ascii=False).encode("utf-8")
        return await self._http.stream(
            content, key, self.new_stream, log_fields={"thread_id": request.thread_id}
        )

    def result(self, reply: Reply) -> ExtractionResult:
        """The stage-1 result of a reply, or UnusableReplyError (with the usage to book)."""
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

    async def extract(self, request: ExtractionRequest) -> ExtractionResult:
        return self.result(await self.call(request))


class OpenAIExtractor(StreamingExtractor):
    """Stage-1 extraction over the Responses API (see the module doc for the behaviour)."""

    name = "openai"

    def __init__(
        self,
        config: Config,
        *,
        allow_legacy: bool = True,
        **options: Unpack[ClientOptions],
    ) -> None:
        http = ResponsesClient.from_config(
            config.backends.openai,
            transient_retries=config.phase1.transient_retries,
            model_key="phase1.model",
            **options,
        )
        super().__init__(config.phase1.model or DEFAULT_MODEL, http, allow_legacy=allow_legacy)

    @classmethod
    def from_config(cls, config: Config) -> OpenAIExtractor:
        """The extractor for ``phase1`` and ``backends.openai`` of ``config``."""
        return cls(config, allow_legacy=config.phase1.accept_legacy_keys)

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

    def new_stream(self) -> _Stage1Stream:
        return _Stage1Stream()
