"""The contract every consolidation agent implements (offline, openai, later chat and codex).

The phase-2 run (memoryd/phase2/) prepares the memory root before calling the agent:
``rollout_summaries/`` and ``raw_memories.md`` hold the selected stage-1 outputs, and
``phase2_workspace_diff.md`` (when the workspace differs from the baseline) lists what changed
since the last successful run, user edits included. The agent then edits files inside the
root only, and reports which files it wrote or deleted, so that the run can tell its edits
from the user's (SPEC §4, "Edits made while the agent runs").
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from memoryd.errors import MemorydError
from memoryd.llm.types import Usage


class ConsolidationInput(msgspec.Struct, kw_only=True):
    root: str  # absolute path of the memory root
    mode: Literal["init", "incremental"]  # init: no MEMORY.md yet
    added: list[str] = []  # thread ids selected now but not in the last successful run
    retained: list[str] = []
    removed: list[str] = []  # in the last successful run, not selected now
    diff_file: str | None = None  # DIFF_FILE relative to root, when there is a diff
    run_id: str = ""
    # The run's token cap from the budget (memoryd/budget.py): an agent that has spent this
    # many input + output tokens starts no further model call (reason ``token_limit``).
    max_tokens: int | None = None


class ConsolidationResult(msgspec.Struct, kw_only=True):
    backend: str
    model: str
    usage: Usage = msgspec.field(default_factory=Usage)
    written: list[str] = []  # root-relative paths the agent created or changed
    deleted: list[str] = []  # root-relative paths the agent deleted
    # root-relative path -> git blob id (memoryd.workspace.baseline.blob_id) of the content the
    # agent last wrote there: a file that differs from it afterwards was changed by someone else.
    written_ids: dict[str, str] = {}
    turns: int = 0


class ConsolidationAgent(Protocol):
    name: str
    model: str

    async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult: ...

    async def aclose(self) -> None: ...


class AgentError(MemorydError):
    """The agent did not finish: ``reason`` is a stable code stored with the run
    (``backend``, ``turn_limit``, ``token_limit``, ``time_limit``, ``loop_guard``...)."""

    def __init__(self, reason: str, message: str, *, usage: Usage | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        # What the agent spent before it stopped, when known: phase 2 books it for the run.
        self.usage = usage
