"""``forget`` and ``clear`` (SPEC §7, issue 5). CONTRACT STUB: the run-history work replaces it."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import msgspec


class ForgetResult(msgspec.Struct, kw_only=True):
    threads: list[str]  # thread ids forgotten
    outputs_deleted: int


class ClearResult(msgspec.Struct, kw_only=True):
    outputs_deleted: int
    files_removed: int


async def forget(
    conn: aiosqlite.Connection, *, thread_id: str | None = None, cwd: str | None = None
) -> ForgetResult:
    """Delete those threads' memories, keep them from being extracted again, and enqueue
    phase 2 so the consolidated files drop them."""
    raise NotImplementedError("contract stub")


async def clear(conn: aiosqlite.Connection, root: Path) -> ClearResult:
    """Wipe the DB's memory state (keeping thread rows) and the root's contents. Refuses
    (MemorydError) a symlinked root."""
    raise NotImplementedError("contract stub")
