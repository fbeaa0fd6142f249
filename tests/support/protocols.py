"""The two HTTP model protocols as test parameters: the contract tests of the stage-1 extractor
and of the consolidation agent run once per protocol through ``Proto``, which builds the
loopback server, the config and the backend, scripts the protocol-specific streams (a refusal,
a reply cut off, an error mid-stream, a stream without its end marker) and reads a request's
body back in protocol-neutral terms (the run message, the tool results, the turns so far)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memoryd.config import (
    BackendsConfig,
    ChatBackendConfig,
    Config,
    OpenAIBackendConfig,
    Phase1Config,
    Phase2Config,
)
from memoryd.consolidate.chat import CHAT_TOOLS, ChatConsolidator
from memoryd.consolidate.loop import ToolLoopAgent
from memoryd.consolidate.openai import OpenAIConsolidator
from memoryd.consolidate.tools import TOOL_DEFINITIONS
from memoryd.extract.chat import ChatExtractor
from memoryd.extract.openai import OpenAIExtractor, StreamingExtractor
from support.chat_server import DONE, ChatServer, chunk, usage_chunk
from support.responses_server import Events, ReceivedRequest, ResponsesServer


@dataclass(frozen=True)
class Proto:
    name: str  # the backend: "openai" | "chat"
    path: str  # where the requests go, under the server's /v1
    label: str  # how error messages name the backend
    end_marker: str  # what a finished stream ends with
    error_kind: str  # how messages name a failure reported in the stream
    error_event_kind: str  # how messages name a bare error event
    cut_reason: str  # how messages say the server cut a reply short

    def __repr__(self) -> str:
        return self.name

    # -- building -----------------------------------------------------------------------------

    def server(self, *script: Any, **kw: Any) -> ResponsesServer:
        cls = ChatServer if self.name == "chat" else ResponsesServer
        return cls(*script, **kw)

    def config(
        self,
        url: str,
        *,
        key_env: str,
        timeout: float = 5.0,
        max_concurrency: int = 16,
        phase1: Phase1Config | None = None,
        phase2: Phase2Config | None = None,
    ) -> Config:
        """A config whose both phases use this backend at ``url``."""
        p1 = phase1 or Phase1Config()
        p2 = phase2 or Phase2Config()
        p1.backend = p2.backend = self.name  # type: ignore[assignment]
        conn: dict[str, Any] = {
            "base_url": url,
            "api_key_env": key_env,
            "timeout_seconds": timeout,
            "max_concurrency": max_concurrency,
        }
        backends = (
            BackendsConfig(chat=ChatBackendConfig(**conn))
            if self.name == "chat"
            else BackendsConfig(openai=OpenAIBackendConfig(**conn))
        )
        return Config(phase1=p1, phase2=p2, backends=backends)

    def extractor(self, cfg: Config, **kw: Any) -> StreamingExtractor:
        cls = ChatExtractor if self.name == "chat" else OpenAIExtractor
        return cls(cfg, **kw)

    def agent(self, cfg: Config, **kw: Any) -> ToolLoopAgent:
        cls = ChatConsolidator if self.name == "chat" else OpenAIConsolidator
        return cls(cfg, **kw)

    @property
    def tools(self) -> list[dict[str, Any]]:
        return CHAT_TOOLS if self.name == "chat" else TOOL_DEFINITIONS

    # -- protocol-specific streams ------------------------------------------------------------

    def refusal(self, text: str) -> Events:
        if self.name == "chat":
            return Events(
                [
                    chunk(delta={"refusal": text}),
                    chunk(finish_reason="stop"),
                    usage_chunk(3, 0),
                    DONE,
                ]
            )
        return Events(
            [
                {"type": "response.created", "response": {"id": "r"}},
                {"type": "response.refusal.delta", "delta": text},
                {"type": "response.completed", "response": {"usage": {"input_tokens": 3}}},
            ]
        )

    def cut_off(self, partial: str, input_tokens: int, output_tokens: int) -> Events:
        """A reply the server ended early (its output limit), with its usage."""
        if self.name == "chat":
            return Events(
                [
                    chunk(delta={"content": partial}),
                    chunk(finish_reason="length"),
                    usage_chunk(input_tokens, output_tokens),
                    DONE,
                ]
            )
        return Events(
            [
                {"type": "response.output_text.delta", "delta": partial},
                {
                    "type": "response.incomplete",
                    "response": {
                        "incomplete_details": {"reason": "max_output_tokens"},
                        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                    },
                },
            ]
        )

    def failed(self, code: str, message: str) -> Events:
        """A stream that starts and then reports an error with ``code``."""
        if self.name == "chat":
            return Events(
                [
                    chunk(delta={"role": "assistant", "content": ""}),
                    {"error": {"code": code, "message": message}},
                ]
            )
        return Events(
            [
                {"type": "response.created", "response": {"id": "r"}},
                {
                    "type": "response.failed",
                    "response": {
                        "id": "r",
                        "status": "failed",
                        "error": {"code": code, "message": message},
                    },
                },
            ]
        )

    def error_event(self, fields: Mapping[str, Any]) -> Events:
        """A stream whose only event is an error with ``fields`` (flat or under "error")."""
        if self.name == "chat":
            inner = fields.get("error", fields)
            return Events([{"error": dict(inner)}])
        return Events([{"type": "error", **fields}])

    def without_end(self, text: str) -> Events:
        """A reply stream that stops before its end marker."""
        if self.name == "chat":
            return Events([chunk(delta={"content": text})])
        return Events([{"type": "response.output_text.delta", "delta": text}])

    # -- reading requests ---------------------------------------------------------------------

    def instructions(self, body: Mapping[str, Any]) -> str:
        if self.name == "chat":
            first = body["messages"][0]
            assert first["role"] == "system"
            return str(first["content"])
        return str(body["instructions"])

    def user_text(self, body: Mapping[str, Any]) -> str:
        """The text of the (single) user message: the rollout, or the agent's run message."""
        if self.name == "chat":
            [user] = [m for m in body["messages"] if m["role"] == "user"]
            return str(user["content"])
        message = body["input"][0]
        assert message["role"] == "user" and message["type"] == "message"
        [part] = message["content"]
        assert part["type"] == "input_text"
        return str(part["text"])


OPENAI = Proto(
    name="openai",
    path="/v1/responses",
    label="OpenAI backend",
    end_marker="response.completed",
    error_kind="response.failed",
    error_event_kind="error",
    cut_reason="max_output_tokens",
)
CHAT = Proto(
    name="chat",
    path="/v1/chat/completions",
    label="Chat backend",
    end_marker="[DONE]",
    error_kind="error chunk",
    error_event_kind="error chunk",
    cut_reason="finish_reason: length",
)
PROTOCOLS = [OPENAI, CHAT]


# --- reading an agent's requests, whichever protocol -----------------------------------------


def tool_outputs(req: ReceivedRequest) -> dict[str, str]:
    """call id -> the tool result the request sends back."""
    if "messages" in req.json:
        return {
            m["tool_call_id"]: m["content"] for m in req.json["messages"] if m["role"] == "tool"
        }
    return {
        i["call_id"]: i["output"]
        for i in req.json["input"]
        if i.get("type") == "function_call_output"
    }


def sent_calls(req: ReceivedRequest) -> list[dict[str, Any]]:
    """The model's earlier tool calls as the request replays them: call id, name, arguments."""
    if "messages" in req.json:
        return [
            {"call_id": c["id"], "name": c["function"]["name"], **c["function"]}
            for m in req.json["messages"]
            if m["role"] == "assistant"
            for c in m.get("tool_calls", [])
        ]
    return [i for i in req.json["input"] if i.get("type") == "function_call"]


def model_turns(req: ReceivedRequest) -> int:
    """How many tool-calling replies the model gave before this request (each reply's first
    call id ends in ``_0``)."""
    return sum(1 for c in sent_calls(req) if c["call_id"].endswith("_0"))
