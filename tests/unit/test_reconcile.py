"""The indexer's reconcile step (memoryd/rollouts/reconcile.py), with plain data: stat
results, the rows already stored and what the files read gave -> the plan one store call
applies. No file, no DB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memoryd.rollouts.parse import ThreadMeta
from memoryd.rollouts.reconcile import (
    FileInfo,
    FileResult,
    Holder,
    Known,
    ReadAs,
    Scan,
    reconcile,
    to_read,
)
from memoryd.store.forget import FORGOTTEN
from memoryd.store.index_plan import VANISHED, Problem, Rename, ThreadRow, Touch
from memoryd.store.threads import THREAD_COLS

NOW = 1_800_000_000_000
SESS = "/h/.codex/sessions/2026/11/22"
ARCH = "/h/.codex/archived_sessions"
A = "01a2013d-497f-71f0-81b9-4c6d2314a10b"
B = "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0"
PA = f"{SESS}/rollout-2026-11-22T03-12-03-{A}.jsonl"
PB = f"{SESS}/rollout-2026-11-22T03-13-54-{B}.jsonl"
MTIME = 1_795_317_200_123_456_789


def info(path: str, size: int = 1000, mtime_ns: int = MTIME, inode: int = 7) -> FileInfo:
    return FileInfo(path, size, mtime_ns, inode, dev=1, archived=path.startswith(ARCH))


def meta(tid: str, **kw: Any) -> ThreadMeta:
    base: dict[str, Any] = dict(
        id=tid,
        has_session_meta=True,
        cwd="/w",
        created_at=1_795_317_123_460,
        preview="run the tests",
        lines_parsed=10,
    )
    base.update(kw)
    return ThreadMeta(**base)


def known(f: FileInfo, tid: str, *, error: str | None = None, **kw: Any) -> Known:
    return Known(
        id=tid,
        path=f.path,
        size=f.size,
        mtime_ns=f.mtime_ns,
        inode=f.inode,
        dev=f.dev,
        parsed_offset=f.size,
        first_line_sha256="h1",
        index_error=error,
        archived=f.archived,
        meta=meta(tid, **kw),
    )


def parsed(f: FileInfo, tid: str, **kw: Any) -> FileResult:
    return FileResult(
        f, "parsed", meta=meta(tid, **kw), parsed_offset=f.size, first_line_sha256="h1"
    )


def scan(
    files: list[FileInfo],
    rows: list[Known],
    results: Sequence[FileResult] = (),
    *,
    full: bool = True,
    **kw: Any,
) -> Scan:
    return Scan(
        now_ms=NOW, full=full, files=files, known={k.path: k for k in rows}, results=results, **kw
    )


def test_plan_rows_are_the_threads_columns_in_order() -> None:
    # apply_plan binds a ThreadRow as a tuple to the UPSERT of THREAD_COLS.
    assert ThreadRow.__struct_fields__ == tuple(c.strip() for c in THREAD_COLS.split(","))


def test_a_new_file_is_an_insert_with_its_stat_and_metadata() -> None:
    f = info(PA)
    assert to_read([f], {}) == [(f, None)]
    plan = reconcile(scan([f], [], [parsed(f, A)]))
    assert plan.updates == [] and plan.skips == [] and plan.deletes == []
    [row] = plan.inserts
    assert (row.id, row.rollout_path, row.file_size, row.file_mtime_ns) == (A, PA, 1000, MTIME)
    assert row.updated_at == MTIME // 1_000_000  # the file's mtime, as Codex's updated_at
    assert (row.created_at, row.preview) == (1_795_317_123_460, "run the tests")
    assert row.indexed_at == NOW
    assert row.memory_mode == "enabled" and not row.archived
    assert plan.changes_threads


def test_a_changed_file_is_an_update_of_its_thread() -> None:
    old = info(PA, size=1000)
    grown = info(PA, size=1500, mtime_ns=MTIME + 10**9)
    row_before = known(old, A)
    assert to_read([grown], {PA: row_before}) == [(grown, row_before)]
    plan = reconcile(
        scan(
            [grown],
            [row_before],
            [parsed(grown, A, lines_parsed=14)],
            holders={A: Holder(PA, False, MTIME)},
            present=frozenset({PA}),
        )
    )
    assert plan.inserts == [] and plan.problems == [] and plan.deletes == []
    [row] = plan.updates
    assert (row.file_size, row.lines_parsed, row.updated_at) == (1500, 14, (MTIME + 10**9) // 10**6)


def test_an_unchanged_file_is_not_read_and_skipped() -> None:
    f = info(PA)
    row = known(f, A)
    assert to_read([f], {PA: row}) == []
    plan = reconcile(scan([f], [row]))
    assert plan.skips == [PA]
    assert plan.rows_written == 0 and not plan.changes_threads
    assert plan.vanished == [] and plan.problems == []


def test_a_read_error_is_read_again_even_when_the_stat_is_the_same() -> None:
    f = info(PA)
    row = known(f, A, error="cannot read: Permission denied")
    assert to_read([f], {PA: row}) == [(f, row)]


def test_a_touched_file_only_moves_its_mtime() -> None:
    f = info(PA, mtime_ns=MTIME + 5 * 10**9)
    row = known(info(PA), A)
    touched = FileResult(f, "touched", meta=row.meta, parsed_offset=f.size, first_line_sha256="h1")
    plan = reconcile(scan([f], [row], [touched], holders={A: Holder(PA, False, MTIME)}))
    assert plan.touches == [Touch(PA, MTIME + 5 * 10**9)]
    assert plan.inserts == plan.updates == []


def test_a_vanished_file_marks_its_row_once() -> None:
    gone = known(info(PA), A)
    already = known(info(PB), B, error=VANISHED)
    plan = reconcile(scan([], [gone, already]))
    assert plan.vanished == [PA]  # the row already marked is not marked again
    assert plan.deletes == []  # the row stays: its memories are still the user's
    # An event-driven pass marks only the paths its events named.
    partial = reconcile(scan([], [gone, already], full=False, gone=[PA, PB, "/h/other.jsonl"]))
    assert partial.vanished == [PA]
    assert reconcile(scan([], [gone], full=False)).vanished == []


def test_a_file_that_vanished_while_read_is_marked_and_reported() -> None:
    f = info(PA)
    row = known(info(PA, size=10), A)
    r = FileResult(f, "problem", problem="vanished before it could be read")
    plan = reconcile(scan([f], [row], [r]))
    assert plan.vanished == [PA]
    assert plan.problems == [Problem(PA, "vanished before it could be read")]


def test_a_file_moved_to_the_archive_takes_its_row_along() -> None:
    moved = info(f"{ARCH}/rollout-2026-11-22T03-12-03-{A}.jsonl")
    row = known(info(PA), A)
    plan = reconcile(
        scan(
            [moved],
            [row],
            [parsed(moved, A)],
            holders={A: Holder(PA, False, MTIME)},
            present=frozenset(),
        )
    )
    [update] = plan.updates
    assert (update.id, update.rollout_path, update.archived) == (A, moved.path, True)
    assert plan.inserts == [] and plan.problems == []
    assert plan.vanished == [PA]  # the old path's row moved: apply_plan counts none vanished


def test_a_compressed_rollout_keeps_its_updated_at_and_provenance() -> None:
    zst = info(PA + ".zst", size=300, mtime_ns=MTIME + 60 * 10**9, inode=8)
    r = parsed(zst, A)
    r.content_bytes = 1000
    was = {(A, PA): ReadAs(1000, "h1", MTIME // 1_000_000)}
    holders = {A: Holder(PA, False, MTIME)}
    plan = reconcile(scan([zst], [known(info(PA), A)], [r], holders=holders, read_as=was))
    assert plan.renamed == [Rename(zst.path, A, PA)]
    [row] = plan.updates
    assert row.updated_at == MTIME // 1_000_000  # not extracted again for a new mtime
    # It grew before it was compressed: a new version, extracted again.
    r.content_bytes = 1200
    grown = reconcile(scan([zst], [known(info(PA), A)], [r], holders=holders, read_as=was))
    assert grown.renamed == [] and grown.updates[0].updated_at == zst.mtime_ns // 1_000_000
    # The original is still there: two files of one thread, not a rename.
    r.content_bytes = 1000
    both = reconcile(
        scan(
            [zst, info(PA)],
            [known(info(PA), A)],
            [r],
            holders=holders,
            read_as=was,
            present=frozenset({PA}),
        )
    )
    assert both.renamed == []


def test_unusable_files_are_skipped_with_their_reason() -> None:
    f, bad = info(PA), info(f"{SESS}/rollout-x.jsonl")
    plan = reconcile(
        scan(
            [f, bad],
            [],
            [FileResult(bad, "problem", problem="no thread id: no session_meta id and no UUID")],
            problems=[(f"{SESS}/rollout-link.jsonl", "broken symbolic link")],
        )
    )
    assert plan.problems == [
        Problem(f"{SESS}/rollout-link.jsonl", "broken symbolic link"),
        Problem(bad.path, "no thread id: no session_meta id and no UUID"),
    ]
    assert plan.inserts == plan.updates == [] and plan.skips == [PA]


def test_a_second_file_of_a_thread_loses_to_the_live_newer_one() -> None:
    live = info(PA, mtime_ns=MTIME + 10**9)
    copy = info(f"{ARCH}/rollout-2026-11-22T03-12-03-{A}.jsonl", mtime_ns=MTIME + 2 * 10**9)
    holders = {A: Holder(PA, False, live.mtime_ns)}
    plan = reconcile(
        scan(
            [live, copy],
            [known(live, A)],
            [parsed(copy, A)],
            holders=holders,
            present=frozenset({PA}),
        )
    )
    assert plan.problems == [Problem(copy.path, f"same thread id {A} as {PA}")]
    assert plan.inserts == plan.updates == []
    # Two new files of one thread in one pass: the later (live) one wins over the first.
    plan = reconcile(scan([copy, live], [], [parsed(copy, A), parsed(live, A)]))
    assert [r.rollout_path for r in plan.inserts] == [copy.path]
    assert [r.rollout_path for r in plan.updates] == [PA]
    assert plan.problems == [Problem(copy.path, f"same thread id {A} as {PA}")]


def test_a_file_that_now_names_another_thread_replaces_the_row() -> None:
    f = info(PA, inode=9)
    plan = reconcile(
        scan([f], [known(info(PA), B)], [parsed(f, A)], holders={}, present=frozenset())
    )
    assert plan.deletes == [PA]
    assert [(r.id, r.rollout_path) for r in plan.inserts] == [(A, PA)]


def test_a_forgotten_thread_stays_forgotten_when_its_file_is_read_again() -> None:
    # The file was replaced (new inode): read from the start, its session_meta says nothing
    # of the forget, but the plan keeps the row forgotten.
    f = info(PA, size=2000, inode=9)
    row = known(info(PA), A, memory_mode=FORGOTTEN)
    plan = reconcile(
        scan(
            [f],
            [row],
            [parsed(f, A)],
            holders={A: Holder(PA, False, MTIME)},
            present=frozenset({PA}),
        )
    )
    [update] = plan.updates
    assert update.memory_mode == FORGOTTEN
    # Another thread's row is not affected by it.
    g = info(PB)
    other = reconcile(scan([f, g], [row], [parsed(g, B)]))
    assert other.inserts[0].memory_mode == "enabled"


def test_citations_are_planned_per_citing_message() -> None:
    from memoryd.rollouts.citations import Citation as Cited
    from memoryd.rollouts.citations import CitedMessage

    f = info(PA)
    r = parsed(f, A)
    r.cited = [
        CitedMessage("k1", 1_795_317_300, Cited(entries=(), rollout_ids=(B,), thread_ids=(B,))),
        CitedMessage("k2", None, Cited(entries=(), rollout_ids=(B.upper(),), thread_ids=(B,))),
    ]
    plan = reconcile(scan([f], [], [r]))
    assert [(c.thread_id, c.message_key, c.cited, c.at_s) for c in plan.citations] == [
        (A, "k1", [B], 1_795_317_300),
        (A, "k2", [B], MTIME // 10**9),  # no timestamp: the file's mtime
    ]
