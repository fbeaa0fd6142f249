"""The agent step: the configured consolidation agent run on the prepared root, its tokens
booked even when it fails, and the offline fallback when a model made no tool call."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from memoryd.consolidate.base import (
    AgentError,
    ConsolidationAgent,
    ConsolidationInput,
    ConsolidationResult,
)
from memoryd.consolidate.loop import NO_TOOL_CALLS
from memoryd.llm.types import Usage
from memoryd.phase2.result import Failed

# What a run that fell back records as its reason.
FELL_BACK = f"{NO_TOOL_CALLS}: consolidated offline (phase2.offline_fallback)"


async def run_agent(
    agent: ConsolidationAgent,
    request: ConsolidationInput,
    bound: structlog.stdlib.BoundLogger,
    *,
    offline_fallback: bool,
    book: Callable[[str, str, Usage], None],
) -> tuple[ConsolidationResult, str | None]:
    """The agent's result, and :data:`FELL_BACK` when the offline consolidator made it.
    ``book(backend, model, usage)`` books the agent's tokens; an agent's failure is the run's
    (:class:`Failed`) unless the fallback applies."""
    try:
        agent_result = await agent.consolidate(request)
    except AgentError as e:
        if e.usage is not None:  # a stopped agent still spent its tokens
            book(agent.name, agent.model, e.usage)
        if e.reason != NO_TOOL_CALLS or not offline_fallback:
            raise Failed(str(e)) from e
        # The model made no call, so the folder is as prepared: the offline consolidator
        # starts from the same state, and the user still gets a folder.
        from memoryd.consolidate.offline import OfflineConsolidator

        bound.warning("phase2_offline_fallback", agent=agent.name, error=str(e))
        return await OfflineConsolidator().consolidate(request), FELL_BACK
    book(agent_result.backend, agent_result.model, agent_result.usage)
    return agent_result, None
