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

import json
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
from memoryd.extract.chat import ChatStream, ProbeStream, chat_client, cut_off_reason
from memoryd.llm.http import ClientOptions
from memoryd.llm.types import BackendError
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


TOOLS_DROPPED: Final = (
    "the server accepts the tools request but does not show the tools to the model (the "
    "prompt is as long without them): its chat template has no tool support"
)


async def probe_phase2(config: Config) -> str:
    """A one-token agent turn in the shape phase 2 sends (``tools``, ``max_tokens``,
    streamed or not): whether the server takes it; BackendError when it does not. The same
    turn without the tools tells whether the server really passed them to the model: a prompt
    of the same size means it dropped them (llama-server does for a chat template without
    tool support); that is a BackendError too, naming TOOLS_DROPPED."""
    async with ChatConsolidator(config, transient_retries=0) as agent:
        key = agent._http.api_key()
        body = agent.request_body([{"role": "user", "content": "List the files."}])
        body["max_tokens"] = 1
        with_tools = await agent._http.stream(json.dumps(body).encode(), key, ProbeStream)
        bare = {k: v for k, v in body.items() if k not in ("tools", "tool_choice")}
        without = await agent._http.stream(json.dumps(bare).encode(), key, ProbeStream)
    if with_tools.input_tokens and with_tools.input_tokens <= without.input_tokens:
        raise BackendError(f"{TOOLS_DROPPED} ({with_tools.input_tokens} prompt tokens either way)")
    mode = "streamed" if config.backends.chat.stream_tools else "not streamed"
    shown = with_tools.input_tokens - without.input_tokens
    seen = f", the model sees them (+{shown} prompt tokens)" if with_tools.input_tokens else ""
    return f"tools request accepted ({mode}){seen}"
