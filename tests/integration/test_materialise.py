"""Materialising a tree another host published (``materialise_tree`` of
memoryd/phase2/materialise.py), on real memory roots with real git baselines: the root and its
baseline become the tree, and this host's unconsolidated edits are never overwritten (kept, or
saved beside a file the tree changed too) and stay in the next diff. Plus the published-tree
table and LISTEN/NOTIFY on a real PostgreSQL server, and SQLite, where nothing of this happens."""

from __future__ import annotations

from pathlib import Path

import anyio
import psycopg
import pytest
from structlog.testing import capture_logs

from memoryd.config import Config, Settings, StateConfig, resolve_paths
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.errors import MemorydError
from memoryd.maintenance import forget
from memoryd.phase2 import Consolidator
from memoryd.phase2.edits import edits_to_consolidate
from memoryd.phase2.materialise import materialise_tree
from memoryd.store import listen, published
from memoryd.store.db import immediate, open_db, open_state
from memoryd.store.engine import EVENT_TREE, NOTIFY_CHANNEL, Connection, PgConnection, notify
from memoryd.workspace.baseline import (
    baseline_files,
    diff_against_baseline,
    ensure_baseline,
)
from memoryd.workspace.history import list_runs, load_run, read_file

DSN_ENV = "MEMORYD_TEST_PG_DSN"
BIG = 1 << 20
OLD = {
    "MEMORY.md": b"# Task Group: old\n",
    "memory_summary.md": b"v1\nold\n",
    "rollout_summaries/a.md": b"thread a\n",
}
NEW = {
    "MEMORY.md": b"# Task Group: new\n",
    "memory_summary.md": b"v1\nnew\n",
    "rollout_summaries/b.md": b"thread b\n",
}


def root_at(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A memory root holding ``files``, as its baseline too (the last consolidation here)."""
    root = tmp_path / "memories"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    ensure_baseline(root)
    return root


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_an_unedited_root_becomes_the_tree_and_its_baseline(tmp_path: Path) -> None:
    root = root_at(tmp_path, OLD)
    done = materialise_tree(root, NEW, "run-1", max_file_bytes=BIG)
    assert done is not None and not done.kept and not done.saved
    assert files_of(root) == NEW  # a.md, gone from the tree, is gone here too
    assert baseline_files(root) == NEW
    assert diff_against_baseline(root).is_empty
    # Already current: nothing to do.
    assert materialise_tree(root, NEW, "run-1", max_file_bytes=BIG) is None


def test_an_edit_of_a_file_the_tree_left_alone_is_kept_for_the_next_run(tmp_path: Path) -> None:
    base = {**OLD, "skills/deploy/SKILL.md": b"deploy\n"}
    root = root_at(tmp_path, base)
    edited = b"deploy\n- never on Fridays\n"
    (root / "skills/deploy/SKILL.md").write_bytes(edited)
    tree = {**NEW, "skills/deploy/SKILL.md": b"deploy\n"}
    done = materialise_tree(root, tree, "run-2", max_file_bytes=BIG)
    assert done is not None and done.kept == ["skills/deploy/SKILL.md"] and not done.saved
    assert files_of(root) == {**tree, "skills/deploy/SKILL.md": edited}
    assert baseline_files(root) == tree
    # The edit is input of the next consolidation here.
    assert edits_to_consolidate(diff_against_baseline(root)) == ["skills/deploy/SKILL.md"]


def test_an_edit_of_a_file_the_tree_changed_too_is_saved_beside_it(tmp_path: Path) -> None:
    root = root_at(tmp_path, OLD)
    mine = b"# Task Group: old\n- my note\n"
    (root / "MEMORY.md").write_bytes(mine)
    (root / "notes.md").write_bytes(b"a file of mine\n")
    done = materialise_tree(root, NEW, "run-3", max_file_bytes=BIG)
    assert done is not None
    assert done.saved == ["MEMORY.user-edit-run-3.md"]
    assert done.kept == ["notes.md"]
    now = files_of(root)
    assert now["MEMORY.md"] == NEW["MEMORY.md"]
    assert now["MEMORY.user-edit-run-3.md"] == mine
    assert now["notes.md"] == b"a file of mine\n"
    assert baseline_files(root) == NEW
    assert sorted(edits_to_consolidate(diff_against_baseline(root))) == [
        "MEMORY.user-edit-run-3.md",
        "notes.md",
    ]


def test_a_materialisation_cut_short_before_the_swap_is_finished_without_false_edits(
    tmp_path: Path,
) -> None:
    """A crash after some files were written but before the baseline swap: the written files
    differ from the old baseline, yet they are the tree's, not the user's edits."""
    root = root_at(tmp_path, OLD)
    (root / "MEMORY.md").write_bytes(NEW["MEMORY.md"])  # written before the "crash"
    done = materialise_tree(root, NEW, "run-4", max_file_bytes=BIG)
    assert done is not None and not done.kept and not done.saved
    assert files_of(root) == NEW
    assert diff_against_baseline(root).is_empty


def test_a_derived_file_left_by_a_failed_local_run_is_replaced(tmp_path: Path) -> None:
    root = root_at(tmp_path, OLD)
    (root / "rollout_summaries/a.md").write_bytes(b"a local re-derivation\n")
    done = materialise_tree(root, NEW, "run-5", max_file_bytes=BIG)
    assert done is not None and not done.kept and not done.saved
    assert files_of(root) == NEW


def pg_settings(tmp_path: Path) -> Settings:
    cfg = Config(state=StateConfig(backend="postgres", dsn_env=DSN_ENV))
    return Settings(cfg, "<test>", resolve_paths(cfg, {"HOME": str(tmp_path)}))


async def test_the_newest_trees_are_kept_with_their_selections_and_read_back(
    tmp_path: Path, pg_dsn: str
) -> None:
    conn = await open_state(pg_settings(tmp_path), {DSN_ENV: pg_dsn})
    try:
        assert await published.latest_tree(conn) is None
        assert await published.tree_runs(conn) == []
        for i, tree in enumerate((OLD, NEW)):
            async with immediate(conn) as c:
                await published.insert_tree(
                    c, run_id=f"r{i}", files=tree, selection=[(f"t{i}", 10 + i)], now_ms=i
                )
        latest = await published.latest_tree(conn)
        assert latest is not None
        assert (latest.run_id, latest.files, latest.selection) == ("r1", NEW, (("t1", 11),))
        assert isinstance(conn, PgConnection) and latest.host_id == conn.host_id
        # The older one is kept too, and read back by its sequence number.
        runs = await published.tree_runs(conn)
        assert [run for _, run in runs] == ["r0", "r1"]
        first = await published.tree_at(conn, runs[0][0])
        assert first is not None
        assert (first.run_id, first.files, first.selection) == ("r0", OLD, (("t0", 10),))
        assert await published.tree_at(conn, runs[-1][0] + 1) is None
    finally:
        await conn.close()


async def test_publishing_prunes_to_the_newest_trees_in_its_transaction(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(published, "KEEP_TREES", 3)
    conn = await open_state(pg_settings(tmp_path), {DSN_ENV: pg_dsn})
    try:
        for i in range(5):
            async with immediate(conn) as c:
                await published.insert_tree(c, run_id=f"r{i}", files=NEW, selection=(), now_ms=i)
                # Pruned before the commit: no other host ever sees more than the kept ones.
                rows = await c.execute_fetchall("SELECT count(*) FROM published_trees")
                assert rows == [(min(i + 1, 3),)]
        assert [run for _, run in await published.tree_runs(conn)] == ["r2", "r3", "r4"]
    finally:
        await conn.close()


async def test_the_tree_after_a_forget_prunes_every_tree_that_may_hold_the_thread(
    tmp_path: Path, pg_dsn: str
) -> None:
    """A forget (maintenance.forget: the store's statements and the mark on the published
    trees) prunes nothing by itself: the newest tree is still every host's folder. The next
    tree published prunes every tree published before the forget, and one published after it
    by a run that was under way and consolidated the thread."""
    conn = await open_state(pg_settings(tmp_path), {DSN_ENV: pg_dsn})

    async def publish(run: str, selection: list[tuple[str, int]]) -> None:
        async with immediate(conn) as c:
            await published.insert_tree(c, run_id=run, files=NEW, selection=selection, now_ms=1)

    async def kept() -> list[str]:
        return [run for _, run in await published.tree_runs(conn)]

    try:
        async with immediate(conn) as c:
            await c.execute(
                "INSERT INTO threads (id, rollout_path, created_at, updated_at) "
                "VALUES ('gone', '/r.jsonl', 1, 1)"
            )
        await publish("never-held-it", [("kept", 1)])
        await publish("held-it", [("kept", 1), ("gone", 2)])
        assert (await forget(conn, thread_id="gone")).threads == ["gone"]
        assert await kept() == ["never-held-it", "held-it"]
        await publish("under-way", [("kept", 1), ("gone", 2)])  # consolidated before it
        await publish("after", [("kept", 1)])
        assert await kept() == ["after"]
        await publish("next", [("kept", 1)])
        assert await kept() == ["after", "next"]  # the mark prunes once
        # A tree published before the selections were kept may hold anything: pruned too.
        await conn.execute("UPDATE published_trees SET selection = NULL WHERE run_id = 'next'")
        await publish("last", [("kept", 1)])
        assert await kept() == ["after", "last"]
    finally:
        await conn.close()


MID = {**OLD, "MEMORY.md": b"# Task Group: in between\n", "rollout_summaries/m.md": b"m\n"}


def host(tmp_path: Path, conn: Connection, name: str) -> tuple[Consolidator, Path]:
    """One host's consolidator on the shared ``conn``: its own root and run history."""
    home = tmp_path / name
    directory = home / "state" / "history"
    consolidator = Consolidator(
        conn,
        Config(),
        OfflineConsolidator(),
        root=home / "memories",
        codex_home=home,
        worker_id=name,
        history_dir=directory,
    )
    return consolidator, directory


async def test_a_host_records_every_tree_it_missed_in_order_then_applies_the_newest(
    tmp_path: Path, pg_dsn: str
) -> None:
    """Through Consolidator.materialise on a real server: a host that held r0 and missed r1
    while r2 was published records both (r1 from its files, with its own selection), then
    writes only r2 into its root; a host new to the database takes only the newest."""
    conn = await open_state(pg_settings(tmp_path), {DSN_ENV: pg_dsn})

    async def publish(run: str, files: dict[str, bytes], selection: list[tuple[str, int]]) -> None:
        async with immediate(conn) as c:
            await published.insert_tree(c, run_id=run, files=files, selection=selection, now_ms=1)

    try:
        b, b_history = host(tmp_path, conn, "b")
        await publish("r0", OLD, [("a", 1)])
        assert (await b.materialise()) is not None
        assert [r.run_id for r in list_runs(b_history.parent)] == ["r0"]
        await publish("r1", MID, [("a", 1), ("m", 2)])
        await publish("r2", NEW, [("b", 3)])
        with capture_logs() as logs:
            done = await b.materialise()
        assert done is not None and done.run_id == "r2"
        assert files_of(b.root) == NEW
        assert [r.run_id for r in list_runs(b_history.parent)] == ["r2", "r1", "r0"]
        between = load_run(b_history, "r1")
        assert between.selection == (("a", 1), ("m", 2))
        assert {p: read_file(b_history, oid) for p, (oid, _) in between.files.items()} == MID
        assert load_run(b_history, "r2").selection == (("b", 3),)
        assert [e["runs"] for e in logs if e["event"] == "history_missed_runs_recorded"] == [["r1"]]
        # Nothing new: nothing written, nothing recorded twice.
        assert await b.materialise() is None
        assert [r.run_id for r in list_runs(b_history.parent)] == ["r2", "r1", "r0"]

        c, c_history = host(tmp_path, conn, "c")  # new: none of the kept trees is its
        assert (await c.materialise()) is not None
        assert files_of(c.root) == NEW
        assert [r.run_id for r in list_runs(c_history.parent)] == ["r2"]
    finally:
        await conn.close()


async def test_an_unreadable_history_never_stops_the_folder_following(
    tmp_path: Path, pg_dsn: str
) -> None:
    conn = await open_state(pg_settings(tmp_path), {DSN_ENV: pg_dsn})
    try:
        b, b_history = host(tmp_path, conn, "b")
        b_history.mkdir(parents=True)
        (b_history / "HEAD").write_text("not a ref\n")  # a damaged repository
        async with immediate(conn) as tx:
            await published.insert_tree(tx, run_id="r0", files=NEW, selection=(), now_ms=1)
        with capture_logs() as logs:
            done = await b.materialise()
        assert done is not None and files_of(b.root) == NEW
        events = [e["event"] for e in logs]
        assert "history_read_failed" in events and "history_commit_failed" in events
    finally:
        await conn.close()


async def test_sqlite_publishes_nothing_and_notifies_nobody(tmp_path: Path) -> None:
    conn = await open_db(tmp_path / "memoryd.sqlite")
    try:
        async with immediate(conn) as c:
            assert (
                await published.insert_tree(c, run_id="r", files=NEW, selection=(), now_ms=1)
                is None
            )
            await notify(c, EVENT_TREE)  # no statement: nothing to fail on SQLite
        assert await published.latest_tree(conn) is None
        assert list(await conn.execute_fetchall("SELECT count(*) FROM published_trees")) == [(0,)]
        assert not listen.can_listen(conn)
    finally:
        await conn.close()


async def test_notifications_arrive_and_the_listener_reconnects(
    tmp_path: Path, pg_dsn: str
) -> None:
    """A notification committed by another host reaches the listener; when its connection is
    killed it comes back (reporting ``reconnected``) and hears the next one."""
    conn = await open_state(pg_settings(tmp_path), {DSN_ENV: pg_dsn})
    got: list[tuple[str, str]] = []
    arrived = anyio.Event()

    def on_event(event: str, host: str) -> None:
        got.append((event, host))
        arrived.set()

    async def next_event() -> tuple[str, str]:
        nonlocal arrived
        with anyio.fail_after(20):
            await arrived.wait()
        arrived = anyio.Event()
        return got.pop(0)

    try:
        async with anyio.create_task_group() as tg:
            await tg.start(listen.listen, conn, on_event)
            async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as other:
                await other.execute(
                    "SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, f"{EVENT_TREE}:otherhost")
                )
                assert await next_event() == (EVENT_TREE, "otherhost")
                await other.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
                )
                assert await next_event() == (listen.EVENT_RECONNECTED, "")
                await other.execute(
                    "SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, "outputs:otherhost")
                )
                assert await next_event() == ("outputs", "otherhost")
            tg.cancel_scope.cancel()
    finally:
        await conn.close()


def test_a_tree_naming_a_path_outside_the_root_is_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    root = root_at(tmp_path, OLD)
    bad = {**NEW, "../escaped.md": b"x\n"}
    with pytest.raises(
        MemorydError,
        match=r"^the published memory tree of run r is unusable: "
        r"not a workspace path: '\.\./escaped\.md'; nothing was written",
    ):
        materialise_tree(root, bad, "r", max_file_bytes=BIG)
    assert not (tmp_path / "escaped.md").exists()
    assert files_of(root) == OLD
