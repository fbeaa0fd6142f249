"""The ``chat`` phase-2 agent: the bounded tool loop of memoryd/agent/guard.py over Chat
Completions, for local servers (Ollama, vLLM, llama.cpp) and other providers (SPEC §5).

Each turn POSTs ``{backends.chat.base_url}/chat/completions`` (streamed, with
``stream_options.include_usage``) with our consolidation prompt as the system message, the
memory-root file tools (memoryd/agent/tools.py) as ``tools``, and the conversation so far: the
run message, then each assistant reply (its text and ``tool_calls``) followed by one ``tool``
message per call with the tool's result. Tool calls arrive as ``delta.tool_calls`` pieces that
are joined by their ``index``; a server that sends no call id gets one made up, so its results
can still be matched. ``finish_reason: length``, or a stream that ends with no finish reason,
is a reply cut off by the server. Every turn carries ``max_tokens`` (``phase2.
max_output_tokens``). With ``backends.chat.stream_tools = false`` turns are asked for with
``stream: false`` and the whole ``chat.completion`` is read instead, for servers that cannot
stream tool calls (llama-cpp-python's ``chatml-function-calling``).

The model is ``phase2.model`` (required: a config error when empty). HTTP, retries and errors
are the ``chat`` extractor's (memoryd/backends/chat.py); limits and the loop guard are
guard.py's, set by the ``[phase2]`` keys, exactly as for the ``openai`` agent.
"""

from __future__ import annotations

from typing import Any, Final, Unpack

from memoryd.config import Config
from memoryd.consolidate.loop import (
    TRANSIENT_RETRIES,
    AgentLimits,
    ModelTurn,
    ReplyCutOff,
    ToolCall,
    ToolLoopAgent,
)
from memoryd.consolidate.tools import TOOL_DEFINITIONS
from memoryd.extract.chat import ChatStream, chat_client, cut_off_reason
from memoryd.llm.http import ClientOptions
from memoryd.prompts import consolidation_prompt

# The same tools in the Chat Completions shape: {"type": "function", "function": {...}}.
CHAT_TOOLS: Final[list[dict[str, Any]]] = [
    {"type": "function", "function": {k: v for k, v in t.items() if k != "type"}}
    for t in TOOL_DEFINITIONS
]


class _TurnStream(ChatStream[ModelTurn]):
    def done(self) -> ModelTurn:
        cut = cut_off_reason(self.finish_reason)
        if cut is not None:
            raise ReplyCutOff(cut, self.usage, made_calls=bool(self.calls))
        calls = [
            ToolCall(
                call_id=partial.call_id or f"call_{index}",
                name=partial.name,
                arguments="".join(partial.arguments),
            )
            for index, partial in sorted(self.calls.items())
        ]
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if calls:
            message["tool_calls"] = [
                {
                    "id": c.call_id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in calls
            ]
        return ModelTurn(calls, self.usage, [message])


class ChatConsolidator(ToolLoopAgent):
    """Phase-2 consolidation over Chat Completions (see the module doc)."""

    name = "chat"
    default_model = ""

    def __init__(
        self,
        config: Config,
        *,
        limits: AgentLimits | None = None,
        transient_retries: int = TRANSIENT_RETRIES,
        source: str = "<config>",
        **options: Unpack[ClientOptions],
    ) -> None:
        model, http = chat_client(
            config, "phase2", source, transient_retries=transient_retries, **options
        )
        super().__init__(model, http, limits)
        self.max_output_tokens = config.phase2.max_output_tokens
        self.stream = config.backends.chat.stream_tools

    @classmethod
    def from_config(cls, config: Config, source: str = "<config>") -> ChatConsolidator:
        """The agent for ``phase2`` and ``backends.chat`` of ``config``."""
        return cls(config, limits=AgentLimits.from_config(config.phase2), source=source)

    def first_message(self, text: str) -> dict[str, Any]:
        return {"role": "user", "content": text}

    def request_body(self, conversation: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON body of one turn's ``/chat/completions`` call."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": consolidation_prompt()}, *conversation],
            "tools": CHAT_TOOLS,
            "tool_choice": "auto",
            "max_tokens": self.max_output_tokens,
            "stream": self.stream,
        }
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def new_stream(self) -> _TurnStream:
        return _TurnStream()

    def tool_output(self, call: ToolCall, output: str) -> dict[str, Any]:
        return {"role": "tool", "tool_call_id": call.call_id, "content": output}
