"""Run history and rollback (SPEC §7): real rollouts, a real state DB, the offline agent, real
git repositories (the memory root's baseline and the history under the state dir)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pygit2
import pytest
from structlog.testing import capture_logs
from support.pipeline import (
    COMPACT_FACT,
    TOOLS_FACT,
    TOOLS_THREAD,
    UV_FACT,
    Pipeline,
    open_pipeline,
    tree_bytes,
)

from memoryd import clock
from memoryd.consolidate.base import ConsolidationInput, ConsolidationResult
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.errors import MemorydError
from memoryd.phase2.result import Phase2Result
from memoryd.store import phase2 as store
from memoryd.workspace.baseline import blob_id, diff_against_baseline, ensure_baseline
from memoryd.workspace.history import (
    HistoryError,
    RunFacts,
    history_dir,
    list_runs,
    load_run,
    purge,
    read_file,
    record,
    record_files,
    recorded,
    run_diff,
)


@pytest.fixture
async def pipe(tmp_path: Path) -> AsyncIterator[Pipeline]:
    """Two threads extracted; proj-tools (the ripgrep preference) arrives later."""
    p = await open_pipeline(tmp_path, hold_back=(TOOLS_THREAD,))
    try:
        yield p
    finally:
        await p.conn.close()


class DiffSpy(OfflineConsolidator):
    """The offline agent, remembering the workspace diff each run started from."""

    def __init__(self) -> None:
        super().__init__()
        self.diffs: list[str] = []

    async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult:
        self.diffs.append((Path(request.root) / request.diff_file).read_text())
        return await super().consolidate(request)


async def history_commit(pipe: Pipeline, run_id: str) -> str | None:
    rows = list(
        await pipe.conn.execute_fetchall(
            "SELECT history_commit FROM phase2_runs WHERE run_id = ?", (run_id,)
        )
    )
    return rows[0][0]


async def test_history_lists_changing_runs_newest_first_with_counts(pipe: Pipeline) -> None:
    assert list_runs(pipe.state) == []  # no repository yet: an empty history
    first = await pipe.run()
    assert first.outcome == "succeeded" and first.added == 2
    assert (await pipe.run()).outcome == "noop"  # nothing changed: not recorded
    await pipe.release()
    second = await pipe.run()
    assert second.outcome == "succeeded" and (second.added, second.retained) == (1, 2)

    runs = list_runs(pipe.state)
    assert [r.run_id for r in runs] == [second.run_id, first.run_id]
    assert [r.kind for r in runs] == ["consolidation", "consolidation"]
    assert [(r.inputs_added, r.inputs_removed) for r in runs] == [(1, 0), (2, 0)]
    # run 1 created MEMORY.md, memory_summary.md, raw_memories.md, 2 summaries and the
    # ad-hoc instructions; run 2 added one summary and rewrote the three consolidated files.
    assert [r.files_changed for r in runs] == [4, 6]
    assert runs[0].at_ms >= runs[1].at_ms
    for r in runs:
        assert await history_commit(pipe, r.run_id) == r.commit
    assert [r.run_id for r in list_runs(pipe.state, limit=1)] == [second.run_id]


async def test_run_diff_shows_what_that_run_changed(pipe: Pipeline) -> None:
    first = await pipe.run()
    await pipe.release()
    second = await pipe.run()

    diff = run_diff(pipe.state, second.run_id)[1]
    assert (
        f'+- proj-tools: the user said "Next time always use ripgrep instead of grep." -> in '
        f"similar future tasks, {TOOLS_FACT} [Task 1]" in diff
    )
    added = [line for line in diff.splitlines() if line.startswith("+++ b/rollout_summaries/")]
    assert len(added) == 1 and "tool_ls_la" in added[0]
    assert "new file mode" in diff and "diff --git a/MEMORY.md b/MEMORY.md" in diff
    assert '+- proj-alpha: the user said "I prefer uv over pip."' not in diff  # unchanged

    whole = run_diff(pipe.state, first.run_id)[1]  # the first run: everything is new
    assert UV_FACT in whole and COMPACT_FACT in whole and TOOLS_FACT not in whole
    assert whole.count("new file mode") == 6

    with pytest.raises(HistoryError, match=r"unknown run 'nope-1'.*memoryd history"):
        run_diff(pipe.state, "nope-1")
    with pytest.raises(HistoryError, match=r"unknown run '\.\./x'"):
        run_diff(pipe.state, "../x")


async def test_rollback_restores_that_tree_exactly_and_the_next_run_builds_on_it(
    pipe: Pipeline,
) -> None:
    first = await pipe.run()
    at_first = tree_bytes(pipe.root)
    await pipe.release()
    assert (await pipe.run()).outcome == "succeeded"
    (pipe.root / "skills" / "later").mkdir(parents=True)
    (pipe.root / "skills" / "later" / "SKILL.md").write_text("# a skill added later\n")
    (pipe.root / "MEMORY.md").write_text("hand-mangled\n")
    assert TOOLS_FACT in (pipe.root / "memory_summary.md").read_text()

    rolled = await pipe.consolidator().rollback(first.run_id)

    assert rolled.outcome == "succeeded" and rolled.reason == f"rollback to {first.run_id}"
    assert tree_bytes(pipe.root) == at_first  # byte for byte; later files gone
    assert not (pipe.root / "skills").exists()
    assert (pipe.root / ".git").is_dir() and diff_against_baseline(pipe.root).is_empty
    assert (rolled.added, rolled.retained, rolled.removed) == (0, 2, 1)
    row = await store.get_run(pipe.conn, rolled.run_id or "")
    assert row is not None and row.outcome == "succeeded"
    assert row.reason == f"rollback to {first.run_id}"
    newest = list_runs(pipe.state)[0]
    assert (newest.run_id, newest.kind, newest.rolled_back_to) == (
        rolled.run_id,
        "rollback",
        first.run_id,
    )
    assert row.history_commit == newest.commit
    undo = run_diff(pipe.state, rolled.run_id)[1]  # against run 2: its additions taken back
    assert f"future tasks, {TOOLS_FACT} [Task 1]" in undo and "deleted file mode" in undo
    assert [ln for ln in undo.splitlines() if ln.startswith("+") and TOOLS_FACT in ln] == []
    # The inputs now differ from what the restored files hold: phase 2 is due.
    assert await store.is_dirty(pipe.conn)

    spy = DiffSpy()
    after = await pipe.run(spy)
    assert after.outcome == "succeeded" and (after.added, after.retained) == (1, 2)
    (diff,) = spy.diffs
    status = diff.split("## Status\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert status[0] == "- M raw_memories.md" and status[1].startswith("- A rollout_summaries/")
    assert len(status) == 2  # started from the restored files: nothing else differed
    memory = (pipe.root / "MEMORY.md").read_text()
    assert UV_FACT in memory and TOOLS_FACT in memory and "hand-mangled" not in memory


async def test_after_rolling_back_an_edit_with_no_new_input_the_next_run_is_a_noop(
    pipe: Pipeline,
) -> None:
    first = await pipe.run()
    at_first = tree_bytes(pipe.root)
    memory = pipe.root / "MEMORY.md"
    memory.write_text(memory.read_text() + "\nA note I regret.\n")
    assert (await pipe.run()).outcome == "succeeded"
    assert "A note I regret." in memory.read_text()

    await pipe.consolidator().rollback(first.run_id)
    assert tree_bytes(pipe.root) == at_first
    assert not await store.is_dirty(pipe.conn)
    assert (await pipe.run()).outcome == "noop"
    assert tree_bytes(pipe.root) == at_first


RUNS = "SELECT count(*) FROM phase2_runs"


class Unchanged:
    """What a refused rollback must leave as it was: the memory root's files and the runs."""

    def __init__(self, pipe: Pipeline, root: dict[str, bytes], runs: int) -> None:
        self.pipe, self.root, self.runs = pipe, root, runs

    @classmethod
    async def now(cls, pipe: Pipeline) -> Unchanged:
        return cls(pipe, tree_bytes(pipe.root), await pipe.count(RUNS))

    async def check(self) -> None:
        assert tree_bytes(self.pipe.root) == self.root
        assert await self.pipe.count(RUNS) == self.runs


async def two_runs(pipe: Pipeline) -> Phase2Result:
    """A consolidation, then another over the held-back inputs; the first one's result."""
    first = await pipe.run()
    await pipe.release()
    await pipe.run()
    return first


async def test_rollback_of_an_unknown_run_is_refused_and_changes_nothing(
    pipe: Pipeline,
) -> None:
    await pipe.run()
    unchanged = await Unchanged.now(pipe)
    with pytest.raises(MemorydError, match=r"unknown run '20990101T000000Z-deadbeef'"):
        await pipe.consolidator().rollback("20990101T000000Z-deadbeef")
    await unchanged.check()
    assert len(list_runs(pipe.state)) == 1


async def test_rollback_while_a_consolidation_holds_the_lock_is_refused(
    pipe: Pipeline,
) -> None:
    first = await two_runs(pipe)
    unchanged = await Unchanged.now(pipe)
    outcome, claim = await store.try_claim_global(
        pipe.conn, worker_id="other-daemon", now_s=clock.now_s(), lease_seconds=3600
    )
    assert claim is not None, outcome
    with pytest.raises(MemorydError, match="a consolidation holds the phase-2 lock"):
        await pipe.consolidator().rollback(first.run_id)
    await unchanged.check()
    assert len(list_runs(pipe.state)) == 2
    owner = await pipe.count(
        "SELECT count(*) FROM jobs WHERE kind = 'memory_consolidate_global' "
        "AND status = 'running' AND ownership_token = ?",
        claim.token,
    )
    assert owner == 1  # the holder still holds it


async def test_a_history_failure_never_fails_a_consolidation(pipe: Pipeline) -> None:
    history_dir(pipe.state).write_text("not a repository\n")  # the history cannot be created
    with capture_logs() as logs:
        result = await pipe.run()
    assert result.outcome == "succeeded"
    assert await history_commit(pipe, result.run_id or "") is None
    row = await store.get_run(pipe.conn, result.run_id or "")
    assert row is not None and row.outcome == "succeeded"
    assert diff_against_baseline(pipe.root).is_empty
    failures = [e for e in logs if e["event"] == "history_commit_failed"]
    assert len(failures) == 1 and failures[0]["run_id"] == result.run_id


async def test_history_commits_are_tagged_with_their_run_ids(pipe: Pipeline) -> None:
    first = await pipe.run()
    repo = pygit2.Repository(str(history_dir(pipe.state)))
    tag = repo.references.get(f"refs/tags/{first.run_id}")
    assert tag is not None and str(tag.target) == list_runs(pipe.state)[0].commit
    tree = repo[tag.target].peel(pygit2.Tree)
    names = {e.name for e in tree}
    assert "MEMORY.md" in names and ".git" not in names
    assert "phase2_workspace_diff.md" not in names
    assert (history_dir(pipe.state).stat().st_mode & 0o777) == 0o700


async def test_rollback_from_a_damaged_history_is_refused_and_changes_nothing(
    pipe: Pipeline,
) -> None:
    first = await two_runs(pipe)
    unchanged = await Unchanged.now(pipe)
    # The pack run 1's tree went into (each run adds one pack of what was new) is lost. The
    # pack is found by its index listing the tree's id (two packs may share an mtime).
    packs = list((history_dir(pipe.state) / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 2
    tree = (
        pygit2.Repository(str(history_dir(pipe.state)))
        .revparse_single(f"{first.run_id}^{{tree}}")
        .id
    )
    [lost] = [p for p in packs if tree.raw in p.with_suffix(".idx").read_bytes()]
    for path in (lost, lost.with_suffix(".idx")):
        path.unlink()
    with pytest.raises(MemorydError, match=f"the run history is damaged: .*{tree}"):
        await pipe.consolidator().rollback(first.run_id)
    await unchanged.check()


# A tree another host published, recorded from its files (history.record_files): a host that
# missed it while it was stopped or busy records it without ever holding it in its root.
PUBLISHED = {
    "MEMORY.md": b"# Task Group: published\n",
    "memory_summary.md": b"v1\npublished\n",
    "rollout_summaries/a.md": b"thread_id: thread-a\nthe summary of a\n",
    "skills/deploy/SKILL.md": b"deploy\n",
}


def facts(run_id: str, selection: list[tuple[str, int]]) -> RunFacts:
    return RunFacts(
        run_id=run_id,
        kind="consolidation",
        at_ms=1_700_000_000_000,
        inputs_added=len(selection),
        inputs_retained=0,
        inputs_removed=0,
        selection=selection,
    )


def test_a_tree_recorded_from_its_files_is_the_commit_its_root_would_have_made(
    tmp_path: Path,
) -> None:
    """Same tree id, same message, same tag as :func:`record` of a root holding those files."""
    root = tmp_path / "memories"
    for rel, data in PUBLISHED.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    baseline = ensure_baseline(root)
    run = facts("r-1", [("thread-a", 7)])
    from_root = record(tmp_path / "from-root", root, baseline, run)
    from_files = record_files(tmp_path / "from-files", PUBLISHED, run)
    a = pygit2.Repository(str(tmp_path / "from-root"))
    b = pygit2.Repository(str(tmp_path / "from-files"))
    assert a[from_root].tree_id == b[from_files].tree_id
    assert a[from_root].message == b[from_files].message
    loaded = load_run(tmp_path / "from-files", "r-1")
    assert loaded.selection == (("thread-a", 7),)
    assert {p: read_file(tmp_path / "from-files", oid) for p, (oid, _) in loaded.files.items()} == (
        PUBLISHED
    )
    assert (tmp_path / "from-files").stat().st_mode & 0o777 == 0o700


def test_runs_recorded_from_files_chain_are_found_by_run_id_and_purged(tmp_path: Path) -> None:
    directory = tmp_path / "history"
    assert recorded(directory, ["r-1"]) == set()  # no repository yet
    record_files(directory, PUBLISHED, facts("r-1", [("thread-a", 7)]))
    later = {**PUBLISHED, "MEMORY.md": b"# Task Group: later\n", "notes.md": b"mine\n"}
    record_files(directory, later, facts("r-2", [("thread-a", 7), ("thread-b", 9)]))
    repo = pygit2.Repository(str(directory))
    head = repo.revparse_single("refs/heads/main")
    assert isinstance(head, pygit2.Commit)
    assert str(head.parents[0].id) == str(repo.references["refs/tags/r-1"].target)
    assert "Memoryd-Files-Changed: 2" in head.message
    assert recorded(directory, ["r-1", "r-2", "r-3", "../r-1", ""]) == {"r-1", "r-2"}
    # A forget of thread-a reaches these commits like any other: its summary and the
    # consolidated files go, and a rollback to them refuses.
    assert purge(directory, ["thread-a"]) == 2
    purged = load_run(directory, "r-1")
    assert purged.entry.purged and "rollout_summaries/a.md" not in purged.files
    summary = blob_id(PUBLISHED["rollout_summaries/a.md"])
    assert summary not in pygit2.Repository(str(directory)).odb  # gone from disk too


def test_a_published_tree_with_a_path_no_root_can_hold_is_refused_and_nothing_recorded(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "history"
    record_files(directory, PUBLISHED, facts("r-1", []))
    with pytest.raises(HistoryError, match=r"the tree of run r-2 cannot be recorded: .*\.git"):
        record_files(directory, {**PUBLISHED, ".git/config": b"x"}, facts("r-2", []))
    assert recorded(directory, ["r-1", "r-2"]) == {"r-1"}


async def test_a_runs_history_time_is_its_records_finish(pipe: Pipeline) -> None:
    """Another host names a published run by its shared record's finish, this host by its
    history commit: the two must be one time, or `diff` of one run differs between hosts."""
    first = await pipe.run()
    [entry] = list_runs(pipe.state)
    rec = await store.get_run(pipe.conn, first.run_id)
    assert rec is not None and rec.finished_at_ms is not None
    assert entry.at_ms == rec.finished_at_ms
