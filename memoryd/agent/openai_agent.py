"""The ``openai`` phase-2 agent: a tool-calling loop over the Responses API whose only tools are
the memory-root file tools of memoryd/agent/tools.py (SPEC §5, §6).

Each turn POSTs ``{backends.openai.base_url}/responses`` (streamed, ``store: false``) with our
consolidation prompt as ``instructions``, the tool definitions, and the whole conversation so
far as ``input``: the run message, then every earlier output item (function calls, assistant
messages, and reasoning items that carry ``encrypted_content``, ids dropped as nothing is stored
server-side) each followed by the ``function_call_output`` items of its calls. The agent runs
every ``function_call`` of a reply, in order, and sends the results; a reply without tool calls
ends the run. The model is ``phase2.model``, or ``DEFAULT_MODEL`` (Codex's consolidation default
for OpenAI providers, reference §6.8) when it is empty; reasoning effort ``medium`` as Codex.

HTTP, the event stream and retries are phase 1's (memoryd/backends/responses.py): transient
failures are retried ``TRANSIENT_RETRIES`` times with the same backoff and Retry-After rules.

Bounds (``AgentLimits``; module constants until phase 2 has settings for them):

* ``max_turns`` (``MAX_TURNS``): model calls per run → ``turn_limit``;
* ``max_tokens`` (``MAX_TOTAL_TOKENS``): input + output tokens summed over the turns; a run that
  has spent more does not start another turn → ``token_limit`` (each turn resends the whole
  conversation, so this grows faster than the conversation does);
* ``max_seconds`` (``MAX_WALL_SECONDS``): wall time of the whole run → ``time_limit``;
* ``repeat_limit`` (``LOOP_REPEAT_LIMIT``): the same call (tool name and arguments, compared as
  canonical JSON) made this many times with no file change in between → ``loop_guard``;
* no progress: ``first_change_turns`` turns with tool calls and no file change at the start of
  a run (reading comes first), or ``no_progress_turns`` such turns in a row after a change →
  ``no_progress``. A write that leaves a file as it was is not a change.

Any other failure (HTTP after retries, a missing API key, a reply cut off by the server) is
``backend``. Every failure is an ``AgentRunError`` (an ``AgentError``) that also carries the
usage, turns and file changes made before it, which the run needs to book tokens and to tell
the agent's edits from the user's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import httpx
import structlog

from memoryd.agent.base import AgentError, ConsolidationInput, ConsolidationResult
from memoryd.agent.tools import TOOL_DEFINITIONS, MemoryRootTools
from memoryd.backends.base import BackendError, Usage
from memoryd.backends.responses import ResponsesClient, Sleep, message_text, usage_of
from memoryd.config import Config
from memoryd.prompts import consolidation_input_message, consolidation_prompt

log = structlog.get_logger("memoryd.agent.openai")

DEFAULT_MODEL: Final = "gpt-5.4"
REASONING_EFFORT: Final = "medium"
MAX_TURNS: Final = 40
MAX_TOTAL_TOKENS: Final = 2_000_000
MAX_WALL_SECONDS: Final = 1800.0
LOOP_REPEAT_LIMIT: Final = 3
FIRST_CHANGE_TURNS: Final = 16
NO_PROGRESS_TURNS: Final = 8
TRANSIENT_RETRIES: Final = 3


@dataclass(frozen=True)
class AgentLimits:
    max_turns: int = MAX_TURNS
    max_tokens: int = MAX_TOTAL_TOKENS
    max_seconds: float = MAX_WALL_SECONDS
    repeat_limit: int = LOOP_REPEAT_LIMIT
    first_change_turns: int = FIRST_CHANGE_TURNS
    no_progress_turns: int = NO_PROGRESS_TURNS


class AgentRunError(AgentError):
    """An agent run that stopped early; besides ``reason`` it says what the run had spent and
    changed by then."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        usage: Usage,
        turns: int,
        written: list[str],
        deleted: list[str],
    ) -> None:
        super().__init__(reason, message)
        self.usage = usage
        self.turns = turns
        self.written = written
        self.deleted = deleted


class _CutOff(Exception):
    def __init__(self, reason: str, usage: Usage) -> None:
        super().__init__(reason)
        self.usage = usage


@dataclass
class _Turn:
    items: list[dict[str, Any]]
    usage: Usage

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i.get("type") == "function_call"]

    @property
    def text(self) -> str:
        return "".join(message_text(i) or "" for i in self.items)


@dataclass
class _TurnStream:
    """Folds one response stream into its output items and usage (an EventHandler)."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, kind: str, data: dict[str, Any]) -> _Turn | None:
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
            return _Turn(items, usage_of(response))
        elif kind == "response.incomplete":
            response = data.get("response")
            reason = None
            if isinstance(response, dict):
                details = response.get("incomplete_details")
                if isinstance(details, dict):
                    reason = details.get("reason")
            raise _CutOff(str(reason or "no reason given"), usage_of(response))
        return None


def _replayable(item: dict[str, Any]) -> dict[str, Any] | None:
    """An output item as it is sent back in the next turn's ``input`` (no ids: with
    ``store: false`` the server keeps nothing they could refer to), or None to leave it out."""
    kind = item.get("type")
    if kind == "function_call":
        return {
            "type": "function_call",
            "call_id": item.get("call_id"),
            "name": item.get("name"),
            "arguments": _arguments_text(item.get("arguments")),
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


def _arguments_text(arguments: Any) -> str:
    """A call's arguments as the JSON text the API uses (a lax server may send an object)."""
    if isinstance(arguments, str):
        return arguments
    return "" if arguments is None else json.dumps(arguments, ensure_ascii=False)


def _call_key(name: str, arguments: str) -> tuple[str, str]:
    try:
        canonical = json.dumps(json.loads(arguments), sort_keys=True, ensure_ascii=False)
    except ValueError:
        canonical = arguments
    return name, canonical


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
    )


class OpenAIConsolidator:
    """Phase-2 consolidation over the Responses API (see the module doc)."""

    name = "openai"

    def __init__(
        self,
        config: Config,
        *,
        env: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: AgentLimits | None = None,
        transient_retries: int = TRANSIENT_RETRIES,
    ) -> None:
        oc = config.backends.openai
        self.model: str = config.phase2.model or DEFAULT_MODEL
        self.limits = limits or AgentLimits()
        self._http = ResponsesClient(
            base_url=oc.base_url,
            api_key_env=oc.api_key_env,
            timeout_seconds=oc.timeout_seconds,
            transient_retries=transient_retries,
            model_key="phase2.model",
            env=env,
            sleep=sleep,
            rand=rand,
            transport=transport,
        )

    @classmethod
    def from_config(cls, config: Config) -> OpenAIConsolidator:
        """The agent for ``phase2`` and ``backends.openai`` of ``config``."""
        return cls(config)

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

    async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult:
        run = _Run(self, request)
        deadline = asyncio.timeout(self.limits.max_seconds)
        try:
            async with deadline:
                await run.loop()
        except TimeoutError:
            if not deadline.expired():
                raise
            raise run.error(
                "time_limit",
                f"the agent did not finish within {self.limits.max_seconds:g}s ({run.turns} turns)",
            ) from None
        return ConsolidationResult(
            backend=self.name,
            model=self.model,
            usage=run.usage,
            written=run.tools.written,
            deleted=run.tools.deleted,
            written_ids=run.tools.written_ids,
            turns=run.turns,
        )


class _Run:
    """The state of one consolidation run."""

    def __init__(self, agent: OpenAIConsolidator, request: ConsolidationInput) -> None:
        self.agent = agent
        self.request = request
        self.limits = agent.limits
        if request.max_tokens is not None:  # the budget's cap for this run
            cap = min(self.limits.max_tokens, request.max_tokens)
            self.limits = dataclasses.replace(self.limits, max_tokens=cap)
        self.tools = MemoryRootTools(Path(request.root))
        self.usage = Usage()
        self.turns = 0
        self.seen: Counter[tuple[str, str]] = Counter()
        message = consolidation_input_message(
            request, extensions=(self.tools.root / "extensions").is_dir()
        )
        self.conversation: list[dict[str, Any]] = [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": message}],
            }
        ]

    def error(self, reason: str, message: str) -> AgentRunError:
        log.warning(
            "phase2_agent_stopped",
            run_id=self.request.run_id,
            reason=reason,
            turns=self.turns,
            error=message,
        )
        return AgentRunError(
            reason,
            message,
            usage=self.usage,
            turns=self.turns,
            written=self.tools.written,
            deleted=self.tools.deleted,
        )

    async def loop(self) -> None:
        try:
            key = self.agent._http.api_key()
        except BackendError as e:
            raise self.error("backend", str(e)) from e
        changed_any = False
        idle_turns = 0  # turns with tool calls since the last file change
        while True:
            if self.turns >= self.limits.max_turns:
                raise self.error(
                    "turn_limit",
                    f"the agent was still calling tools after {self.turns} turns",
                )
            if self.usage.input_tokens + self.usage.output_tokens > self.limits.max_tokens:
                spent = self.usage.input_tokens + self.usage.output_tokens
                raise self.error(
                    "token_limit",
                    f"the agent spent {spent} tokens in {self.turns} turns, over the limit of "
                    f"{self.limits.max_tokens}",
                )
            turn = await self._model_turn(key)
            calls = turn.calls
            log.info(
                "phase2_agent_turn",
                run_id=self.request.run_id,
                turn=self.turns,
                tool_calls=len(calls),
                input_tokens=turn.usage.input_tokens,
                output_tokens=turn.usage.output_tokens,
            )
            if not calls:
                return
            changes_before = self.tools.changes
            for call in calls:
                await self._run_call(call)
            if self.tools.changes != changes_before:
                changed_any = True
                idle_turns = 0
                continue
            idle_turns += 1
            limit = self.limits.no_progress_turns if changed_any else self.limits.first_change_turns
            if idle_turns >= limit:
                since = "since its last file change" if changed_any else "from the start"
                raise self.error(
                    "no_progress",
                    f"the agent made {idle_turns} turns of tool calls without changing a file "
                    f"({since})",
                )

    async def _model_turn(self, key: str) -> _Turn:
        body = self.agent.request_body(self.conversation)
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.turns += 1
        try:
            turn = await self.agent._http.stream(
                content,
                key,
                _TurnStream,
                log_fields={"run_id": self.request.run_id, "turn": self.turns},
            )
        except _CutOff as e:
            self.usage = _add(self.usage, e.usage)
            raise self.error(
                "backend", f"the model's reply was cut off (response.incomplete: {e})"
            ) from None
        except BackendError as e:
            raise self.error("backend", str(e)) from e
        self.usage = _add(self.usage, turn.usage)
        for item in turn.items:
            replay = _replayable(item)
            if replay is not None:
                self.conversation.append(replay)
        return turn

    async def _run_call(self, call: dict[str, Any]) -> None:
        name = call.get("name")
        arguments = call.get("arguments")
        call_id = call.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise self.error("backend", "the model sent a function call without a call_id")
        if not isinstance(name, str):
            name = ""
        arguments = _arguments_text(arguments)
        key = _call_key(name, arguments)
        self.seen[key] += 1
        if self.seen[key] >= self.limits.repeat_limit:
            raise self.error(
                "loop_guard",
                f"the agent called {name} with the same arguments {self.seen[key]} times "
                f"without changing a file: {arguments[:200]}",
            )
        changes = self.tools.changes
        output = await self._in_thread(lambda: self.tools.call(name, arguments))
        if self.tools.changes != changes:
            self.seen.clear()  # a new state of the folder: earlier calls may mean something new
            self.seen[key] = 1
        log.debug(
            "phase2_agent_tool",
            run_id=self.request.run_id,
            turn=self.turns,
            tool=name,
            ok=not output.startswith("error:"),
        )
        self.conversation.append(
            {"type": "function_call_output", "call_id": call_id, "output": output}
        )

    @staticmethod
    async def _in_thread(fn: Callable[[], str]) -> str:
        """Run a tool off the event loop. If the run is cancelled meanwhile (the wall-time
        limit), the tool still completes before the cancellation goes on, so ``written`` and
        ``deleted`` never miss a change that landed on disk."""
        fut = asyncio.get_running_loop().run_in_executor(None, fn)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            await asyncio.wait([fut])
            raise
