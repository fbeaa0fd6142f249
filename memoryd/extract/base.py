"""The contract every stage-1 extractor backend implements (offline, openai, chat, codex)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

from memoryd.errors import MemorydError
from memoryd.llm.types import Usage


class Stage1Output(msgspec.Struct, kw_only=True):
    """One rollout's memory, as Codex's stage-1 schema names it."""

    rollout_summary: str
    raw_memory: str
    rollout_slug: str | None = None

    def is_empty(self) -> bool:
        """Codex's no-output rule: exact emptiness of either field (no trimming)."""
        return self.raw_memory == "" or self.rollout_summary == ""


class ExtractionRequest(msgspec.Struct, kw_only=True):
    """What a backend sees of one rollout (or one chunk of it). ``rollout_contents`` is the
    filtered response-item view as a JSON array, already redacted and within budget."""

    thread_id: str
    rollout_path: str
    cwd: str
    git_branch: str | None = None
    rollout_contents: str
    chunk_index: int = 0
    chunk_count: int = 1


class ExtractionResult(msgspec.Struct, kw_only=True):
    output: Stage1Output
    usage: Usage
    backend: str
    model: str


class Extractor(Protocol):
    """A stage-1 backend. ``extract`` raises BackendError for transport problems (after its
    own bounded retries of transient ones) and OutputError for an unusable model reply."""

    name: str
    model: str

    async def extract(self, request: ExtractionRequest) -> ExtractionResult: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class SizedByContext(Protocol):
    """An extractor whose server has a context window that bounds a chunk (``chat``)."""

    async def input_token_limit(self) -> int | None: ...


class OutputError(MemorydError):
    """The model replied, but not with a usable stage-1 object."""
