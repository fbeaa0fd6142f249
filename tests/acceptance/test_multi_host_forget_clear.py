"""``forget`` and ``clear`` act on every host's folder (issue 18, point 5), with two real
daemons on a throw-away PostgreSQL cluster: a ``clear`` on one host empties the other's folder
(on the NOTIFY, or when a host that was stopped starts again); a ``forget`` on one host is
followed by a consolidation whose published tree no longer holds the forgotten memory, and
every host's folder (a stopped one's once it starts) loses it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import zlib

import msgspec
from support import pg
from support.control import cli, cli_json
from support.daemon import Serve, wait_for
from support.multihost import WAIT, consolidated, folder, hosts, newest_tree, q, same_folders
from support.rollouts import write_idle_rollouts


def decoded(hexed: str) -> dict[str, bytes]:
    """A published tree's files, decoded here (zlib'd msgpack, store/published.py) rather
    than through memoryd's own reader."""
    return msgspec.msgpack.decode(zlib.decompress(bytes.fromhex(hexed)), type=dict[str, bytes])


def published_files(cluster: pg.PgCluster, dsn: str, run_id: str = "") -> dict[str, bytes]:
    """The files of the newest published tree, or of run ``run_id``'s."""
    which = f"WHERE run_id = '{run_id}'" if run_id else ""
    hexed = q(
        cluster,
        dsn,
        f"SELECT encode(files, 'hex') FROM published_trees {which} ORDER BY seq DESC LIMIT 1",
    )
    return decoded(hexed) if hexed else {}


def every_published_tree(cluster: pg.PgCluster, dsn: str) -> list[dict[str, bytes]]:
    """Every kept published tree, oldest first."""
    rows = q(cluster, dsn, "SELECT encode(files, 'hex') FROM published_trees ORDER BY seq")
    return [decoded(hexed) for hexed in rows.split()]


def published_runs(cluster: pg.PgCluster, dsn: str) -> list[str]:
    """The run ids of the kept published trees, oldest first."""
    return q(cluster, dsn, "SELECT run_id FROM published_trees ORDER BY seq").split()


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
        wait_for(
            "the forgotten thread out of the selection",
            lambda: consolidated(pg_cluster, pg_dsn, 2),
            WAIT,
        )
        wait_for(
            "a published tree without it",
            lambda: not holds(published_files(pg_cluster, pg_dsn), forgotten),
            WAIT,
        )
        # The older trees, kept for hosts that missed them, held it: none is left.
        kept = every_published_tree(pg_cluster, pg_dsn)
        assert kept and not [t for t in kept if holds(t, forgotten)]
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
        # The run that consolidated both, in both histories: the host that did not make it
        # materialised it. (A run before it may have taken the first input alone: a host
        # new to the database takes only the newest tree, so it may not know that one.)
        first = newest_tree(pg_cluster, pg_dsn)
        wait_for(
            "the first tree in both histories",
            lambda: all(first in run_ids(s) for s in (a, b)),
            WAIT,
        )
        write_idle_rollouts(a.codex / "sessions", 2)
        wait_for("four inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 4), WAIT)
        tree = wait_for("identical memory folders again", lambda: same_folders([a, b]), WAIT)
        assert len([p for p in tree if p.startswith("rollout_summaries/")]) == 4

        # Every run published since is in both hosts' history, in publication order, under
        # the id of the host that made it, whichever host that was, even when two were
        # published before a busy host materialised the first.
        made = published_runs(pg_cluster, pg_dsn)
        made = made[made.index(first) :]
        assert len(made) >= 2
        for s in (a, b):
            wait_for(
                "every run in both histories",
                lambda s=s: run_ids(s)[: len(made)] == made[::-1],
                WAIT,
            )

        # A rollback on B to the first run (whoever made it) is published and reaches A: A's
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


def test_a_host_that_missed_publications_records_each_in_order_and_rolls_back_to_one(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    """B is frozen (SIGSTOP) while A publishes two runs, so that when it wakes only the newest
    tree is any host's folder. B still records every run A made, in publication order and
    with that run's own selection (its diff is A's), and a rollback on B to the run in
    between restores that run's tree for every host."""
    with hosts(2, pg_dsn) as (a, b):
        a.start_ready()
        b.start_ready()
        # B never takes the lock (a paused daemon still materialises): A makes every run.
        assert cli_json(b, "pause")["paused"] is True
        write_idle_rollouts(a.codex / "sessions", 1)
        wait_for("one input consolidated", lambda: consolidated(pg_cluster, pg_dsn, 1), WAIT)
        first = wait_for("a first tree", lambda: newest_tree(pg_cluster, pg_dsn), WAIT)
        # (Before it, one host published the folder its first run seeded.)
        wait_for("the first tree in B's history", lambda: run_ids(b)[:1] == [first], WAIT)

        b.signal(signal.SIGSTOP)
        try:
            for n in (2, 3):
                write_idle_rollouts(a.codex / "sessions", 1)
                wait_for(
                    f"{n} inputs consolidated",
                    lambda n=n: consolidated(pg_cluster, pg_dsn, n),
                    WAIT,
                )
            made = q(
                pg_cluster,
                pg_dsn,
                "SELECT run_id FROM phase2_runs WHERE outcome = "
                "'succeeded' AND started_at >= (SELECT started_at FROM phase2_runs WHERE "
                f"run_id = '{first}') ORDER BY started_at",
            ).split()
            assert len(made) == 3 and made[0] == first
        finally:
            b.signal(signal.SIGCONT)

        wait_for("B's folder A's", lambda: same_folders([a, b]), WAIT)
        wait_for("every run in B's history", lambda: run_ids(b)[:3] == made[::-1], WAIT)
        assert run_ids(a)[:3] == made[::-1]
        assert published_runs(pg_cluster, pg_dsn)[-3:] == made  # each kept for such a host
        between = made[1]
        # Recorded with its own facts and selection: the same entry and diff as on A.
        facts = {
            "kind",
            "inputs_added",
            "inputs_removed",
            "files_changed",
            "rolled_back_to",
            "host",
            "host_id",
        }
        entries = [
            {k: v for k, v in cli_json(s, "history")["runs"][1].items() if k in facts}
            for s in (a, b)
        ]
        assert entries[0] == entries[1] and entries[0]["inputs_added"] == 1
        # on both hosts, named as the host that made it: A
        assert entries[0]["host_id"] == (a.state / "host_id").read_text().strip()
        assert entries[0]["host"] == socket.gethostname()
        diffs = [cli(s, "diff", between) for s in (a, b)]
        assert all(d.returncode == 0 for d in diffs), [d.stderr for d in diffs]
        assert diffs[0].stdout == diffs[1].stdout and diffs[0].stdout

        # A rollback on B to the run in between: published, with that run's tree. B may still
        # be finishing a run it woke to after SIGCONT; the rollback then refuses, changing
        # nothing, and says to try again: so try again, as a user would.
        def rollback() -> subprocess.CompletedProcess[str] | None:
            r = cli(b, "rollback", between, "--json")
            if r.returncode != 0 and "holds the phase-2 lock" in r.stderr:
                return None
            return r

        done = wait_for("a rollback not refused for a running consolidation", rollback, WAIT)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["outcome"] == "succeeded"
        assert published_files(pg_cluster, pg_dsn, out["run_id"]) == published_files(
            pg_cluster, pg_dsn, between
        )
        # It restored that run's selection: the input consolidated after it is added again
        # by the next run (A's, on the NOTIFY), on top of the restored files.
        after = (
            f"outcome = 'succeeded' AND run_id <> '{out['run_id']}' AND started_at >= "
            f"(SELECT started_at FROM phase2_runs WHERE run_id = '{out['run_id']}')"
        )
        added = wait_for(
            "the next run",
            lambda: q(
                pg_cluster,
                pg_dsn,
                f"SELECT inputs_added FROM phase2_runs WHERE {after} ORDER BY started_at LIMIT 1",
            ),
            WAIT,
        )
        assert added == "1"
        entry = wait_for(
            "the rollback in A's history",
            lambda: next(
                (r for r in cli_json(a, "history")["runs"] if r["run_id"] == out["run_id"]), None
            ),
            WAIT,
        )
        assert entry["kind"] == "rollback" and entry["rolled_back_to"] == between
        for s in (a, b):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0
