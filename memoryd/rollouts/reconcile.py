"""The indexer's decisions, as pure functions of plain data.

The indexer (rollouts/indexer.py) stats the rollout files and loads their rows (``Known``),
asks :func:`to_read` which files must be read, reads those (``FileResult``), looks up the rows
that already hold the thread ids found, and hands all of it to :func:`reconcile`, which
returns the :class:`~memoryd.store.index_plan.IndexPlan` one store call applies. Nothing here
touches the file system, the DB or the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from memoryd.rollouts.citations import CitedMessage, cited_ids
from memoryd.rollouts.parse import ThreadMeta
from memoryd.store.forget import FORGOTTEN
from memoryd.store.index_plan import (
    VANISHED,
    Citation,
    IndexPlan,
    Problem,
    Rename,
    ThreadRow,
    Touch,
)


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    size: int
    mtime_ns: int
    inode: int
    dev: int
    archived: bool


@dataclass(slots=True)
class Known:
    """The indexer's bookkeeping for one file, as stored in ``threads``."""

    id: str
    path: str
    size: int
    mtime_ns: int
    inode: int
    dev: int
    parsed_offset: int
    first_line_sha256: str | None
    index_error: str | None
    archived: bool
    meta: ThreadMeta


@dataclass(slots=True)
class FileResult:
    info: FileInfo
    kind: str  # "parsed" | "touched" | "problem"
    meta: ThreadMeta | None = None
    parsed_offset: int = 0
    first_line_sha256: str | None = None
    index_error: str | None = None
    problem: str | None = None
    cited: list[CitedMessage] = field(default_factory=list)
    content_bytes: int | None = None  # a .zst file: the decompressed bytes read


@dataclass(frozen=True, slots=True)
class Holder:
    """The row that holds a thread id: where, archived or not, and its file's mtime."""

    path: str
    archived: bool
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class ReadAs:
    """What a clean row recorded of the file it was read from (to recognise a compressed
    copy of the same bytes)."""

    size: int
    first_line_sha256: str | None
    updated_at_ms: int


@dataclass(slots=True)
class Scan:
    """Everything one index pass read, as plain data: the input of :func:`reconcile`."""

    now_ms: int
    full: bool  # every root was walked: a known row whose file was not seen has vanished
    files: Sequence[FileInfo]  # the rollout files found (and stat'ed)
    known: Mapping[str, Known]  # path -> the row indexed from it
    results: Sequence[FileResult] = ()  # the files read, for those :func:`to_read` named
    problems: Sequence[tuple[str, str]] = ()  # (path, reason): found but unusable
    gone: Sequence[str] = ()  # paths named by file events that no longer exist
    holders: Mapping[str, Holder] = field(default_factory=dict)  # id -> its row, for ids read
    present: frozenset[str] = frozenset()  # which holders' paths still exist
    read_as: Mapping[tuple[str, str], ReadAs] = field(default_factory=dict)  # (id, path) ->


def settled(index_error: str | None) -> bool:
    """Whether a row's outcome can change only with the file's bytes: a clean index, or a
    verdict on the content. A read error (a chmod keeps the mtime) or a file that had gone
    away is tried again on every scan."""
    return index_error is None or not (
        index_error == VANISHED or index_error.startswith("cannot read")
    )


def unchanged(info: FileInfo, known: Known | None) -> bool:
    return (
        known is not None
        and settled(known.index_error)
        and known.size == info.size
        and known.mtime_ns == info.mtime_ns
        and known.inode == info.inode
        and known.dev == info.dev
    )


def to_read(
    files: Sequence[FileInfo], known: Mapping[str, Known]
) -> list[tuple[FileInfo, Known | None]]:
    """The files whose stat differs from their row (or that have none), with that row."""
    todo = [(info, known.get(info.path)) for info in files]
    return [(i, k) for i, k in todo if not unchanged(i, k)]


def compressed_source(path: str) -> str | None:
    """The ``X.jsonl`` a ``X.jsonl.zst`` may have been compressed from."""
    return path[: -len(".zst")] if path.endswith(".zst") else None


def reconcile(scan: Scan) -> IndexPlan:
    """Decide what one index pass writes (see the module doc)."""
    now = scan.now_ms
    known = scan.known
    plan = IndexPlan(now_ms=now, full=scan.full)
    read = {r.info.path for r in scan.results}
    plan.skips = [f.path for f in scan.files if f.path not in read]

    if scan.full:
        seen = {f.path for f in scan.files}
        vanished = list(scan.gone)
        vanished += [p for p, k in known.items() if p not in seen and k.index_error != VANISHED]
    else:
        vanished = [p for p in scan.gone if p in known and known[p].index_error != VANISHED]
    problems = [Problem(p, reason) for p, reason in scan.problems]
    # A file whose content now names another thread id than its row: drop the old row.
    stale: list[str] = []
    parsed: list[FileResult] = []
    for r in scan.results:
        k = known.get(r.info.path)
        if r.kind == "problem":
            problems.append(Problem(r.info.path, r.problem or "unusable"))
            if (
                k is not None
                and k.index_error != VANISHED
                and (r.problem or "").startswith("vanished")
            ):
                vanished.append(r.info.path)
            continue
        if r.kind == "parsed" and k is not None and r.meta is not None and k.id != r.meta.id:
            stale.append(r.info.path)
        parsed.append(r)

    existing = scan.present | {r.info.path for r in parsed}
    renamed_at = _compressed_renames(scan, parsed, existing, plan.renamed)
    stale_set, vanished_set = set(stale), set(vanished)
    holders = dict(scan.holders)
    for r in parsed:
        assert r.meta is not None and r.meta.id is not None
        tid = r.meta.id
        holder = holders.get(tid)
        if holder is not None and holder.path != r.info.path and holder.path not in stale_set:
            if holder.path in existing and holder.path not in vanished_set:
                # Two files, one thread: the live one wins over the archived one, then the
                # newer one; the other is a problem.
                mine = (not r.info.archived, r.info.mtime_ns)
                theirs = (not holder.archived, holder.mtime_ns)
                if mine <= theirs:
                    problems.append(Problem(r.info.path, f"same thread id {tid} as {holder.path}"))
                    continue
                problems.append(Problem(holder.path, f"same thread id {tid} as {r.info.path}"))
        # Two files of this batch may name one thread: the later one must see the earlier.
        holders[tid] = Holder(r.info.path, r.info.archived, r.info.mtime_ns)
        if r.kind == "touched":
            plan.touches.append(Touch(r.info.path, r.info.mtime_ns))
            continue
        k = known.get(r.info.path)
        forgotten = k is not None and k.id == tid and k.meta.memory_mode == FORGOTTEN
        row = thread_row(r, now, renamed_at.get(r.info.path), forgotten=forgotten)
        (plan.updates if holder is not None else plan.inserts).append(row)
        fallback_s = r.info.mtime_ns // 1_000_000_000
        plan.citations += [
            Citation(
                tid,
                m.message_key,
                cited_ids(m.citation.thread_ids),
                m.at_s if m.at_s is not None else fallback_s,
            )
            for m in r.cited  # counted once per citing message, however often seen
        ]
    plan.deletes = stale
    plan.vanished = vanished
    plan.problems = problems
    return plan


def _compressed_renames(
    scan: Scan,
    parsed: Sequence[FileResult],
    existing: frozenset[str] | set[str],
    out: list[Rename],
) -> dict[str, int]:
    """Codex (0.140+, opt-in) may compress an idle ``X.jsonl`` into ``X.jsonl.zst`` and
    delete the original. Such a file that decompresses to as many bytes as the row was
    read from, with the same first line (the session_meta with its thread id and start
    time), is the same input: it keeps the row's ``updated_at`` (so it is not extracted
    again, whatever its new mtime), and the stage-1 provenance moves to the new path (added
    to ``out``). A rollout that grew before it was compressed is an ordinary new version.
    Returns path -> the ``updated_at`` it keeps."""
    kept: dict[str, int] = {}
    for r in parsed:
        old = compressed_source(r.info.path)
        if old is None or r.content_bytes is None or r.meta is None or r.meta.id is None:
            continue
        if old in existing:
            continue
        was = scan.read_as.get((r.meta.id, old))
        if was is None or (was.size, was.first_line_sha256) != (
            r.content_bytes,
            r.first_line_sha256,
        ):
            continue
        kept[r.info.path] = was.updated_at_ms
        out.append(Rename(r.info.path, r.meta.id, old))
    return kept


def thread_row(
    r: FileResult, now_ms: int, updated_at_ms: int | None = None, *, forgotten: bool = False
) -> ThreadRow:
    """The row a parsed file gives. ``updated_at`` is the file's mtime unless given; a
    forgotten thread stays forgotten, whatever its rollout says."""
    m, info = r.meta, r.info
    assert m is not None and m.id is not None
    updated_at = updated_at_ms if updated_at_ms is not None else info.mtime_ns // 1_000_000
    return ThreadRow(
        id=m.id,
        rollout_path=info.path,
        source=m.source,
        thread_source=m.thread_source,
        cwd=m.cwd,
        git_branch=m.git_branch,
        git_sha=m.git_sha,
        git_origin_url=m.git_origin_url,
        cli_version=m.cli_version,
        model_provider=m.model_provider,
        created_at=m.created_at if m.created_at is not None else updated_at,
        updated_at=updated_at,
        preview=m.preview,
        archived=info.archived,
        memory_mode_at_start=m.memory_mode_at_start,
        memory_mode=FORGOTTEN if forgotten else m.memory_mode,
        file_size=info.size,
        file_mtime_ns=info.mtime_ns,
        file_inode=info.inode,
        file_dev=info.dev,
        parsed_offset=r.parsed_offset,
        first_line_sha256=r.first_line_sha256,
        lines_parsed=m.lines_parsed,
        lines_skipped=m.lines_skipped,
        last_skip_reason=m.last_skip_reason,
        has_session_meta=m.has_session_meta,
        index_error=r.index_error,
        indexed_at=now_ms,
    )
