"""What one index pass changes in the state DB, as typed data, and the one call that applies it.

The indexer (rollouts/indexer.py) reads the files and the rows, ``rollouts/reconcile.py``
decides, as a pure function, and :func:`apply_plan` writes the decision in one transaction
(through :func:`memoryd.store.threads.write_index`, whose statements it reuses).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import msgspec

from memoryd.store.engine import Connection
from memoryd.store.threads import IndexWrite, write_index

VANISHED = "rollout file no longer exists"  # the index_error of a row whose file went away


class ThreadRow(msgspec.Struct, frozen=True, kw_only=True):
    """One ``threads`` row as the indexer writes it; the fields are ``THREAD_COLS``, in order."""

    id: str
    rollout_path: str
    source: str
    thread_source: str | None
    cwd: str
    git_branch: str | None
    git_sha: str | None
    git_origin_url: str | None
    cli_version: str
    model_provider: str | None
    created_at: int  # ms
    updated_at: int  # ms
    preview: str
    archived: bool
    memory_mode_at_start: str | None
    memory_mode: str
    file_size: int
    file_mtime_ns: int
    file_inode: int
    file_dev: int
    parsed_offset: int
    first_line_sha256: str | None
    lines_parsed: int
    lines_skipped: int
    last_skip_reason: str | None
    has_session_meta: bool
    index_error: str | None
    indexed_at: int  # ms


class Touch(msgspec.Struct, frozen=True):
    """A file whose bytes are what was indexed, with a new mtime: the row's ``updated_at``
    follows the mtime (as Codex's does), nothing else changes."""

    path: str
    mtime_ns: int


class Problem(msgspec.Struct, frozen=True):
    """A file that gives no thread row (or loses a duplicate id), and why."""

    path: str
    reason: str


class Rename(msgspec.Struct, frozen=True):
    """A rollout compressed in place (``X.jsonl`` -> ``X.jsonl.zst``): the stage-1 provenance
    follows the file."""

    new_path: str
    thread_id: str
    old_path: str


class Citation(msgspec.Struct, frozen=True):
    """One assistant message of ``thread_id``'s rollout citing memories of other threads."""

    thread_id: str
    message_key: str
    cited: list[str]
    at_s: int


class IndexPlan(msgspec.Struct, kw_only=True):
    """Everything one index pass writes. ``inserts`` are threads no row holds yet; ``updates``
    rewrite the row of their thread id (moved, grown or replaced files); ``deletes`` are
    paths whose row names another thread than the file now does; ``skips`` were left alone
    (unchanged since the last scan); ``vanished`` rows lost their file."""

    now_ms: int
    full: bool  # a full scan: forget the problems of files not seen
    inserts: list[ThreadRow] = msgspec.field(default_factory=list)
    updates: list[ThreadRow] = msgspec.field(default_factory=list)
    touches: list[Touch] = msgspec.field(default_factory=list)
    skips: list[str] = msgspec.field(default_factory=list)
    deletes: list[str] = msgspec.field(default_factory=list)
    vanished: list[str] = msgspec.field(default_factory=list)
    renamed: list[Rename] = msgspec.field(default_factory=list)
    citations: list[Citation] = msgspec.field(default_factory=list)
    problems: list[Problem] = msgspec.field(default_factory=list)

    @property
    def rows_written(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.touches)

    @property
    def changes_threads(self) -> bool:
        """Whether a thread row is added, changed or lost (phase 1 has something to look at)."""
        return bool(self.rows_written or self.vanished or self.deletes)


class _AsTuples(Sequence[tuple[object, ...]]):
    """``rows`` as the tuples of their fields, each made when it is read."""

    def __init__(self, rows: list[ThreadRow]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, i: int) -> tuple[object, ...]: ...
    @overload
    def __getitem__(self, i: slice) -> list[tuple[object, ...]]: ...
    def __getitem__(self, i: int | slice) -> tuple[object, ...] | list[tuple[object, ...]]:
        if isinstance(i, slice):
            return [msgspec.structs.astuple(r) for r in self._rows[i]]
        return msgspec.structs.astuple(self._rows[i])


async def apply_plan(conn: Connection, plan: IndexPlan) -> int:
    """Apply ``plan`` in one transaction; returns how many vanished rows were marked (a file
    that moved took its row along, so it is not counted)."""
    now = plan.now_ms
    # Inserts first: a later file of the same pass naming the same thread is an update of it.
    written = [*plan.inserts, *plan.updates]
    rows = _AsTuples(written)  # made a batch at a time: a scan of 10,000 files holds no copy
    return await write_index(
        conn,
        IndexWrite(
            stale_paths=plan.deletes,
            rows=rows,
            renamed=[(r.new_path, r.thread_id, r.old_path) for r in plan.renamed],
            citations=[(c.thread_id, c.message_key, c.cited, c.at_s) for c in plan.citations],
            touches=[(t.mtime_ns, t.mtime_ns // 1_000_000, now, t.path) for t in plan.touches],
            vanished=[(VANISHED, now, p) for p in plan.vanished],
            ok_paths=[(r.rollout_path,) for r in written],
            problem_rows=[(p.path, p.reason, now, now) for p in plan.problems],
            full=plan.full,
        ),
    )
