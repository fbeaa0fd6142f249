"""The ``openai`` phase-2 agent: the bounded tool loop of memoryd/consolidate/loop.py over the
Responses API, whose only tools are the memory-root file tools of memoryd/consolidate/tools.py
(SPEC §5, §6).

Each turn POSTs ``{backends.openai.base_url}/responses`` (streamed, ``store: false``) with our
consolidation prompt as ``instructions``, the tool definitions, and the whole conversation so
far as ``input``: the run message, then every earlier output item (function calls, assistant
messages, and reasoning items that carry ``encrypted_content``, ids dropped as nothing is stored
server-side) each followed by the ``function_call_output`` items of its calls. The model is
``phase2.model``, or ``DEFAULT_MODEL`` (Codex's consolidation default for OpenAI providers,
reference §6.8) when it is empty; reasoning effort ``medium`` as Codex.

HTTP, the event stream and retries are phase 1's (memoryd/llm/http.py): transient
failures are retried ``TRANSIENT_RETRIES`` times with the same backoff and Retry-After rules.
The limits and the loop guard are guard.py's, set by the ``[phase2]`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Unpack

from memoryd.config import Config
from memoryd.consolidate.loop import MAX_TURNS as MAX_TURNS
from memoryd.consolidate.loop import (
    TRANSIENT_RETRIES,
    ModelTurn,
    ReplyCutOff,
    ToolCall,
    ToolLoopAgent,
    arguments_text,
)
from memoryd.consolidate.loop import AgentLimits as AgentLimits
from memoryd.consolidate.loop import AgentRunError as AgentRunError
from memoryd.consolidate.tools import TOOL_DEFINITIONS
from memoryd.llm.http import (
    ClientOptions,
    ResponsesClient,
    incomplete_reason,
    message_text,
    usage_of,
)
from memoryd.prompts import consolidation_prompt

DEFAULT_MODEL: Final = "gpt-5.4"
REASONING_EFFORT: Final = "medium"


@dataclass
class _TurnStream:
    """Folds one response stream into a ModelTurn (an EventHandler)."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, kind: str, data: dict[str, Any]) -> ModelTurn | None:
        if kind == "response.output_item.done":
            item = data.get("item")
            if isinstance(item, dict):
                self.items.append(item)
        elif kind == "response.completed":
            response = data.get("response")
            items = self.items
            if not items and isinstance(response, dict):
                output = response.get("output")
                if isinstance(output, list):
                    items = [i for i in output if isinstance(i, dict)]
            calls = [_tool_call(i) for i in items if i.get("type") == "function_call"]
            replay = [r for r in map(_replayable, items) if r is not None]
            return ModelTurn(calls, usage_of(response), replay)
        elif kind == "response.incomplete":
            response = data.get("response")
            raise ReplyCutOff(
                f"response.incomplete: {incomplete_reason(response)}", usage_of(response)
            )
        return None


def _tool_call(item: dict[str, Any]) -> ToolCall:
    call_id, name = item.get("call_id"), item.get("name")
    return ToolCall(
        call_id=call_id if isinstance(call_id, str) else "",
        name=name if isinstance(name, str) else "",
        arguments=arguments_text(item.get("arguments")),
    )


def _replayable(item: dict[str, Any]) -> dict[str, Any] | None:
    """An output item as it is sent back in the next turn's ``input`` (no ids: with
    ``store: false`` the server keeps nothing they could refer to), or None to leave it out."""
    kind = item.get("type")
    if kind == "function_call":
        return {
            "type": "function_call",
            "call_id": item.get("call_id"),
            "name": item.get("name"),
            "arguments": arguments_text(item.get("arguments")),
        }
    if kind == "message":
        text = message_text(item)
        if text is None:
            return None
        return {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text}],
        }
    if kind == "reasoning" and isinstance(item.get("encrypted_content"), str):
        summary = item.get("summary")
        return {
            "type": "reasoning",
            "summary": summary if isinstance(summary, list) else [],
            "encrypted_content": item["encrypted_content"],
        }
    return None


class OpenAIConsolidator(ToolLoopAgent):
    """Phase-2 consolidation over the Responses API (see the module doc)."""

    name = "openai"
    default_model = DEFAULT_MODEL

    def __init__(
        self,
        config: Config,
        *,
        limits: AgentLimits | None = None,
        transient_retries: int = TRANSIENT_RETRIES,
        **options: Unpack[ClientOptions],
    ) -> None:
        http = ResponsesClient.from_config(
            config.backends.openai,
            transient_retries=transient_retries,
            model_key="phase2.model",
            **options,
        )
        super().__init__(config.phase2.model, http, limits)

    @classmethod
    def from_config(cls, config: Config) -> OpenAIConsolidator:
        """The agent for ``phase2`` and ``backends.openai`` of ``config``."""
        return cls(config, limits=AgentLimits.from_config(config.phase2))

    def first_message(self, text: str) -> dict[str, Any]:
        content = [{"type": "input_text", "text": text}]
        return {"type": "message", "role": "user", "content": content}

    def request_body(self, conversation: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON body of one turn's ``/responses`` call."""
        return {
            "model": self.model,
            "instructions": consolidation_prompt(),
            "input": conversation,
            "tools": TOOL_DEFINITIONS,
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "stream": True,
            "store": False,
            "reasoning": {"effort": REASONING_EFFORT},
            "include": ["reasoning.encrypted_content"],
        }

    def new_stream(self) -> _TurnStream:
        return _TurnStream()

    def tool_output(self, call: ToolCall, output: str) -> dict[str, Any]:
        return {"type": "function_call_output", "call_id": call.call_id, "output": output}
