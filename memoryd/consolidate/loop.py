"""The bounded tool-calling loop every model-driven consolidation agent runs (``openai`` over the
Responses API, ``chat`` over Chat Completions), and the loop guard that stops it.

A protocol agent (``ToolLoopAgent`` subclass) only says how to talk to its API: the first
conversation item, the request body of a turn, how a streamed reply folds into a ``ModelTurn``
(its tool calls, its usage, and the items to send back next turn) and how a tool's result is
sent back. The loop here does the rest: it asks the model for a turn, runs every tool call of
the reply in order with the sandboxed memory-root tools (memoryd/consolidate/tools.py), and
ends when a reply makes no tool call.

Bounds (``AgentLimits``, the ``[phase2]`` keys of the same names), each a stable reason stored
in ``phase2_runs.reason``:

* ``max_turns``: model calls per run → ``turn_limit``;
* ``max_tokens`` (``MAX_TOTAL_TOKENS``, lowered to the budget's cap for the run when the
  request carries one): input + output tokens summed over the turns; a run that has spent more
  does not start another turn → ``token_limit`` (each turn resends the whole conversation, so
  this grows faster than the conversation does);
* ``max_seconds``: wall time of the whole run → ``time_limit``;
* ``loop_repeat_limit``: the same call (tool name and arguments, compared as canonical JSON)
  made this many times with no file change in between → ``loop_guard``;
* ``agent_max_bytes_written`` / ``agent_max_files_created`` (memoryd/consolidate/tools.py): what the
  agent's writes may add up to in one run → ``write_limit`` (the refused call's error is in the
  conversation; the per-file bounds only refuse the call);
* no progress: ``first_change_turns`` turns with tool calls and no file change at the start of
  a run (reading comes first), or ``no_progress_turns`` such turns in a row after a change →
  ``no_progress``. A write that leaves a file as it was is not a change.

A first reply with no tool call at all is ``no_tool_calls``: the model (or a server that drops
``tools`` for a chat template without tool support) cannot consolidate, and nothing was changed.
Any other failure (HTTP after retries, a missing API key, a reply cut off by the server) is
``backend``. A reply that carries no usage is booked with an estimate. Every failure is an
``AgentRunError`` (an ``AgentError``) that also carries the usage, turns and file changes made
before it, which the run needs to book tokens and to tell the agent's edits from the user's.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

import anyio
import structlog

from memoryd.config import Phase2Config
from memoryd.consolidate.base import AgentError, ConsolidationInput, ConsolidationResult
from memoryd.consolidate.tools import MemoryRootTools, WriteLimits
from memoryd.llm.http import EventHandler, OwnsStreamClient, StreamClient
from memoryd.llm.types import BackendError, Usage, estimate_usage
from memoryd.prompts import consolidation_input_message

log = structlog.get_logger("memoryd.agent")

_P2 = Phase2Config()
MAX_TURNS: Final = _P2.max_turns
MAX_TOTAL_TOKENS: Final = 2_000_000
MAX_WALL_SECONDS: Final = _P2.max_seconds
LOOP_REPEAT_LIMIT: Final = _P2.loop_repeat_limit
FIRST_CHANGE_TURNS: Final = _P2.first_change_turns
NO_PROGRESS_TURNS: Final = _P2.no_progress_turns
SEARCH_REGEX_SECONDS: Final = _P2.search_regex_seconds
TRANSIENT_RETRIES: Final = 3


@dataclass(frozen=True)
class AgentLimits:
    max_turns: int = MAX_TURNS
    max_tokens: int = MAX_TOTAL_TOKENS
    max_seconds: float = MAX_WALL_SECONDS
    repeat_limit: int = LOOP_REPEAT_LIMIT
    first_change_turns: int = FIRST_CHANGE_TURNS
    no_progress_turns: int = NO_PROGRESS_TURNS
    writes: WriteLimits = field(default_factory=WriteLimits)
    search_seconds: float = SEARCH_REGEX_SECONDS

    @classmethod
    def from_config(cls, p: Phase2Config) -> AgentLimits:
        return cls(
            max_turns=p.max_turns,
            max_seconds=p.max_seconds,
            repeat_limit=p.loop_repeat_limit,
            first_change_turns=p.first_change_turns,
            no_progress_turns=p.no_progress_turns,
            writes=WriteLimits.from_config(p),
            search_seconds=p.search_regex_seconds,
        )


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
        super().__init__(reason, message, usage=usage)
        self.turns = turns
        self.written = written
        self.deleted = deleted


class GuardStop(Exception):
    """The loop guard stops the run: ``reason`` is the stable code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def call_key(name: str, arguments: str) -> tuple[str, str]:
    """A tool call as the guard compares it: the name and the arguments as canonical JSON (so
    key order and spacing do not hide a repeat)."""
    try:
        canonical = json.dumps(json.loads(arguments), sort_keys=True, ensure_ascii=False)
    except ValueError:
        canonical = arguments
    return name, canonical


class LoopGuard:
    """The per-run counters behind ``turn_limit``, ``token_limit``, ``loop_guard`` and
    ``no_progress`` (see the module doc). The loop reports each turn and call; the guard raises
    GuardStop when a limit is reached."""

    def __init__(self, limits: AgentLimits) -> None:
        self.limits = limits
        self.seen: Counter[tuple[str, str]] = Counter()
        self.changed_any = False
        self.idle_turns = 0  # turns with tool calls since the last file change

    def before_turn(self, turns: int, usage: Usage) -> None:
        if turns >= self.limits.max_turns:
            raise GuardStop("turn_limit", f"the agent was still calling tools after {turns} turns")
        spent = usage.input_tokens + usage.output_tokens
        if spent > self.limits.max_tokens:
            raise GuardStop(
                "token_limit",
                f"the agent spent {spent} tokens in {turns} turns, over the limit of "
                f"{self.limits.max_tokens}",
            )

    def before_call(self, name: str, arguments: str) -> None:
        key = call_key(name, arguments)
        self.seen[key] += 1
        if self.seen[key] >= self.limits.repeat_limit:
            raise GuardStop(
                "loop_guard",
                f"the agent called {name} with the same arguments {self.seen[key]} times "
                f"without changing a file: {arguments[:200]}",
            )

    def after_call(self, name: str, arguments: str, changed: bool) -> None:
        if changed:  # a new state of the folder: earlier calls may mean something new
            self.seen.clear()
            self.seen[call_key(name, arguments)] = 1

    def after_turn(self, changed: bool) -> None:
        if changed:
            self.changed_any = True
            self.idle_turns = 0
            return
        self.idle_turns += 1
        limits = self.limits
        limit = limits.no_progress_turns if self.changed_any else limits.first_change_turns
        if self.idle_turns >= limit:
            since = "since its last file change" if self.changed_any else "from the start"
            raise GuardStop(
                "no_progress",
                f"the agent made {self.idle_turns} turns of tool calls without changing a file "
                f"({since})",
            )


# --- the loop --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    arguments: str  # JSON text, as the model sent it


@dataclass
class ModelTurn:
    """One model reply: its tool calls in order, its usage, and the conversation items that
    replay it in the next request."""

    calls: list[ToolCall]
    usage: Usage
    replay: list[dict[str, Any]] = field(default_factory=list)


NO_TOOL_CALLS: Final = "no_tool_calls"


def _no_tool_calls(what: str) -> str:
    return (
        f"the model {what} without calling a tool, so it cannot edit the memory folder (does "
        "the server pass tools to it? see docs/backends.md; phase2.offline_fallback = true "
        "consolidates offline instead)"
    )


class ReplyCutOff(Exception):
    """The server ended the reply early (its output limit, a content filter); the tokens were
    spent all the same."""

    def __init__(self, reason: str, usage: Usage, *, made_calls: bool = True) -> None:
        super().__init__(reason)
        self.usage = usage
        self.made_calls = made_calls  # False: the reply had begun no tool call when cut


def arguments_text(arguments: Any) -> str:
    """A call's arguments as the JSON text the APIs use (a lax server may send an object)."""
    if isinstance(arguments, str):
        return arguments
    return "" if arguments is None else json.dumps(arguments, ensure_ascii=False)


def add_usage(a: Usage, b: Usage) -> Usage:
    return Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        estimated=a.estimated or b.estimated,
    )


class ToolLoopAgent(OwnsStreamClient):
    """A consolidation agent that runs the bounded tool loop over a streaming HTTP API.

    Subclasses set ``name`` and ``default_model`` and implement ``first_message``,
    ``request_body``, ``new_stream`` and ``tool_output``."""

    name: str
    default_model: ClassVar[str]

    def __init__(self, model: str, http: StreamClient, limits: AgentLimits | None) -> None:
        self.model: str = model or self.default_model
        self.limits = limits or AgentLimits()
        self._http = http

    # -- the protocol -------------------------------------------------------------------------

    def first_message(self, text: str) -> dict[str, Any]:
        """The conversation's opening item: the run message as the user's."""
        raise NotImplementedError

    def request_body(self, conversation: list[dict[str, Any]]) -> dict[str, Any]:
        """The JSON body of one turn's request."""
        raise NotImplementedError

    def new_stream(self) -> EventHandler[ModelTurn]:
        """A fresh event handler that folds one reply stream into a ModelTurn (it raises
        ReplyCutOff when the server ended the reply early)."""
        raise NotImplementedError

    def tool_output(self, call: ToolCall, output: str) -> dict[str, Any]:
        """The conversation item that gives the model a tool's result."""
        raise NotImplementedError

    # -- the run ------------------------------------------------------------------------------

    async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult:
        run = _Run(self, request)
        with anyio.move_on_after(self.limits.max_seconds) as deadline:
            await run.loop()
        if deadline.cancelled_caught:
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


def _outcome(fn: Callable[[], str]) -> str | Exception:
    try:
        return fn()
    except Exception as e:
        return e


class _Run:
    """The state of one consolidation run."""

    def __init__(self, agent: ToolLoopAgent, request: ConsolidationInput) -> None:
        self.agent = agent
        self.request = request
        limits = agent.limits
        self.tools = MemoryRootTools(
            Path(request.root), limits.writes, search_seconds=limits.search_seconds
        )
        if request.max_tokens is not None:  # the budget's cap for this run
            limits = dataclasses.replace(
                limits, max_tokens=min(limits.max_tokens, request.max_tokens)
            )
        self.guard = LoopGuard(limits)
        self.usage = Usage()
        self.turns = 0
        message = consolidation_input_message(
            request, extensions=(self.tools.root / "extensions").is_dir()
        )
        self.conversation: list[dict[str, Any]] = [agent.first_message(message)]

    def error(self, reason: str, message: str) -> AgentRunError:
        log.warning(
            "phase2_agent_stopped",
            run_id=self.request.run_id,
            agent=self.agent.name,
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
        try:
            while True:
                self.guard.before_turn(self.turns, self.usage)
                turn = await self._model_turn(key)
                log.info(
                    "phase2_agent_turn",
                    run_id=self.request.run_id,
                    turn=self.turns,
                    tool_calls=len(turn.calls),
                    input_tokens=turn.usage.input_tokens,
                    output_tokens=turn.usage.output_tokens,
                )
                if not turn.calls and self.turns == 1:
                    raise GuardStop(NO_TOOL_CALLS, _no_tool_calls("answered"))
                if not turn.calls:
                    return
                changes_before = self.tools.changes
                for call in turn.calls:
                    await self._run_call(call)
                self.guard.after_turn(self.tools.changes != changes_before)
        except GuardStop as e:
            raise self.error(e.reason, str(e)) from None

    async def _model_turn(self, key: str | None) -> ModelTurn:
        body = self.agent.request_body(self.conversation)
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.turns += 1
        try:
            turn = await self.agent._http.stream(
                content,
                key,
                self.agent.new_stream,
                log_fields={"run_id": self.request.run_id, "turn": self.turns},
            )
        except ReplyCutOff as e:
            self.usage = add_usage(self.usage, e.usage)
            if self.turns == 1 and not e.made_calls:  # prose until the limit: no tool in sight
                raise self.error(
                    NO_TOOL_CALLS, _no_tool_calls(f"wrote until cut off ({e})")
                ) from None
            raise self.error("backend", f"the model's reply was cut off ({e})") from None
        except BackendError as e:
            raise self.error("backend", str(e)) from e
        if turn.usage == Usage():
            turn.usage = estimate_usage(content, json.dumps(turn.replay, ensure_ascii=False))
            log.info(
                "phase2_usage_estimated",
                run_id=self.request.run_id,
                input_tokens=turn.usage.input_tokens,
                output_tokens=turn.usage.output_tokens,
            )
        self.usage = add_usage(self.usage, turn.usage)
        self.conversation.extend(turn.replay)
        return turn

    async def _run_call(self, call: ToolCall) -> None:
        if not call.call_id:
            raise self.error("backend", "the model sent a function call without a call id")
        self.guard.before_call(call.name, call.arguments)
        changes = self.tools.changes
        output = await self._in_thread(
            lambda: self.tools.call(call.name, call.arguments), self.tools.abort
        )
        self.guard.after_call(call.name, call.arguments, self.tools.changes != changes)
        log.debug(
            "phase2_agent_tool",
            run_id=self.request.run_id,
            turn=self.turns,
            tool=call.name,
            ok=not output.startswith("error:"),
        )
        self.conversation.append(self.agent.tool_output(call, output))
        if self.tools.limit_hit is not None:
            hit = self.tools.limit_hit
            raise GuardStop("write_limit", f"the agent's writes hit a limit: {hit}")

    @staticmethod
    async def _in_thread(fn: Callable[[], str], abort: Callable[[], None]) -> str:
        """Run a tool off the event loop. If the run is cancelled meanwhile (the wall-time
        limit, a shutdown), ``abort`` stops the tool's slow part (a regex search) and the tool
        still completes before the cancellation goes on, so ``written`` and ``deleted`` never
        miss a change that landed on disk."""
        finished = False

        async def abort_if_cancelled() -> None:
            try:
                await anyio.sleep_forever()
            finally:  # cancelled: by the run's cancellation, or below once the tool is done
                if not finished:
                    abort()

        async with anyio.create_task_group() as tg:
            tg.start_soon(abort_if_cancelled)
            try:
                with anyio.CancelScope(shield=True):
                    # A tool's exception is returned, not raised here: out of the task group
                    # it would come wrapped in an exception group.
                    outcome = await anyio.to_thread.run_sync(_outcome, fn)
            finally:
                finished = True
                tg.cancel_scope.cancel()
        await anyio.lowlevel.checkpoint_if_cancelled()  # cancelled meanwhile: go on with that
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
