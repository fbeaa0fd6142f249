"""``forget`` and ``clear`` act on every host's folder (issue 18, point 5), with two real
daemons on a throw-away PostgreSQL cluster: a ``clear`` on one host empties the other's folder
(on the NOTIFY, or when a host that was stopped starts again); a ``forget`` on one host is
followed by a consolidation whose published tree no longer holds the forgotten memory, and
every host's folder (a stopped one's once it starts) loses it."""

from __future__ import annotations

import json
import signal
import zlib

import msgspec
from support import pg
from support.control import cli, cli_json
from support.daemon import Serve, wait_for
from support.multihost import WAIT, consolidated, folder, hosts, q, same_folders
from support.rollouts import write_idle_rollouts


def published_files(cluster: pg.PgCluster, dsn: str) -> dict[str, bytes]:
    """The newest published tree's files, decoded here (zlib'd msgpack, store/published.py)
    rather than through memoryd's own reader."""
    hexed = q(cluster, dsn, "SELECT encode(files, 'hex') FROM published_trees "
              "ORDER BY seq DESC LIMIT 1")
    if not hexed:
        return {}
    return msgspec.msgpack.decode(zlib.decompress(bytes.fromhex(hexed)), type=dict[str, bytes])


def holds(tree: dict[str, bytes], text: str) -> list[str]:
    """The files of ``tree`` whose name or content holds ``text``."""
    return [p for p, data in tree.items() if text in p or text.encode() in data]


def memory_held(s: Serve) -> bool:
    return "MEMORY.md" in folder(s)


def test_a_clear_on_one_host_empties_every_hosts_folder_a_stopped_one_when_it_starts(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    with hosts(3, pg_dsn) as (a, b, c):
        write_idle_rollouts(a.codex / "sessions", 2)
        write_idle_rollouts(b.codex / "sessions", 1)
        for s in (a, b, c):
            s.start_ready()
        wait_for("three inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 3), WAIT)
        wait_for("identical memory folders", lambda: same_folders([a, b, c]), WAIT)
        c.signal(signal.SIGTERM)  # C is away during the clear
        assert c.wait_exit() == 0
        assert memory_held(c)

        # A host may still be running a consolidation (one that had nothing new to add):
        # clear refuses while the lock is held, so ask again until it is free.
        wait_for("the clear on A", lambda: cli(a, "clear", "--yes").returncode == 0, WAIT)
        assert not memory_held(a)
        # B empties its folder on the clear's NOTIFY, through the same removal as A's.
        wait_for("B's folder emptied", lambda: not memory_held(b), WAIT)
        assert not any(p.startswith("rollout_summaries/") for p in folder(b))
        followed = b.wait_event("clear_followed")
        assert followed["files_removed"] > 0
        # The clear deleted the published tree; one published since (a run after the clear)
        # is of the cleared folder, never the one from before it.
        after = published_files(pg_cluster, pg_dsn)
        assert "MEMORY.md" not in after
        assert not any(p.startswith("rollout_summaries/") for p in after)
        assert not a.events("clear_followed")  # the host that cleared does not clear twice

        # C was stopped: it empties its folder when it starts.
        assert memory_held(c)
        c.start_ready()
        wait_for("C's folder emptied", lambda: not memory_held(c), WAIT)
        assert c.wait_event("clear_followed")["files_removed"] > 0
        for s in (a, b, c):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0


def test_a_forget_on_one_host_leaves_the_memory_in_no_hosts_folder_nor_the_published_tree(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    with hosts(2, pg_dsn) as (a, b):
        forgotten = next(iter(write_idle_rollouts(a.codex / "sessions", 2)))
        write_idle_rollouts(b.codex / "sessions", 1)
        a.start_ready()
        b.start_ready()
        wait_for("three inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 3), WAIT)
        tree = wait_for("identical memory folders", lambda: same_folders([a, b]), WAIT)
        assert holds(tree, forgotten)  # its rollout summary at least, on both hosts
        assert holds(published_files(pg_cluster, pg_dsn), forgotten)
        b.signal(signal.SIGTERM)  # B is away during the forget
        assert b.wait_exit() == 0

        # Forgotten on A, a thread of A's own: A's consolidation drops it and publishes.
        out = cli_json(a, "forget", "--thread", forgotten)
        assert out["threads"] == [forgotten]
        wait_for("the forgotten thread out of the selection",
                 lambda: consolidated(pg_cluster, pg_dsn, 2), WAIT)
        wait_for("a published tree without it",
                 lambda: not holds(published_files(pg_cluster, pg_dsn), forgotten), WAIT)
        wait_for("A's folder without it", lambda: not holds(folder(a), forgotten), WAIT)
        assert holds(folder(b), forgotten)  # B was down: nothing wrote its folder

        b.start_ready()
        tree = wait_for("B caught up", lambda: same_folders([a, b]), WAIT)
        assert not holds(tree, forgotten)
        assert len([p for p in tree if p.startswith("rollout_summaries/")]) == 2
        # Nor in B's run history, which held it through the runs B had materialised.
        runs = run_ids(b)
        assert runs
        for run in runs:
            done = cli(b, "diff", run)
            assert done.returncode == 0, done.stderr
            assert forgotten not in done.stdout, run
        for s in (a, b):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0


def run_ids(s: Serve) -> list[str]:
    return [r["run_id"] for r in cli_json(s, "history")["runs"]]


def test_history_lists_every_hosts_runs_and_a_rollback_from_any_host_reaches_every_host(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    with hosts(2, pg_dsn) as (a, b):
        write_idle_rollouts(a.codex / "sessions", 2)  # only A has sessions
        a.start_ready()
        b.start_ready()
        wait_for("two inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 2), WAIT)
        wait_for("identical memory folders", lambda: same_folders([a, b]), WAIT)
        write_idle_rollouts(a.codex / "sessions", 2)
        wait_for("four inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 4), WAIT)
        tree = wait_for("identical memory folders again", lambda: same_folders([a, b]), WAIT)
        assert len([p for p in tree if p.startswith("rollout_summaries/")]) == 4

        # Every published run is in both hosts' history, under the id of the host that made
        # it, whichever host that was.
        published = set(q(pg_cluster, pg_dsn, "SELECT run_id FROM phase2_runs WHERE outcome = "
                          "'succeeded' AND inputs_added > 0").split())
        assert len(published) >= 2
        wait_for("every run in both histories",
                 lambda: all(published <= set(run_ids(s)) for s in (a, b)), WAIT)
        made_by_a = [r for r in run_ids(a) if r in published]
        first = made_by_a[-1]  # the oldest: two inputs

        # A rollback on B to that run (whoever made it) is published and reaches A: A's
        # history records it as the rollback it is.
        out: dict[str, str] = {}

        def rolled_back() -> bool:
            done = cli(b, "rollback", first, "--json")
            if done.returncode == 0:
                out.update(json.loads(done.stdout))
            return done.returncode == 0

        wait_for("the rollback on B", rolled_back, WAIT)
        assert out["outcome"] == "succeeded"

        def in_a() -> dict[str, object] | None:
            runs = {r["run_id"]: r for r in cli_json(a, "history")["runs"]}
            return runs.get(out["run_id"])

        entry = wait_for("the rollback in A's history", in_a, WAIT)
        assert entry["kind"] == "rollback" and entry["rolled_back_to"] == first
        for s in (a, b):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0
