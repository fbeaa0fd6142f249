"""One memory across machines (issue 18, point 4): daemons with separate CODEX_HOMEs and state
dirs on one PostgreSQL database each extract their own rollouts; every input is consolidated
once, by whichever host holds the phase-2 lock, and published; the other hosts materialise the
published tree on its NOTIFY, so every memory folder ends byte-for-byte the same. A user's edit
on one host is kept and reaches every host through the next consolidation; a host that was
stopped during a consolidation catches up when it starts again."""

from __future__ import annotations

import signal
import time

from support import pg
from support.control import cli_json
from support.daemon import wait_for, write_config
from support.multihost import (
    CONFIG,
    WAIT,
    consolidated,
    folder,
    hosts,
    newest_tree,
    q,
    same_folders,
)
from support.rollouts import write_idle_rollouts

NOTE = "extensions/ad_hoc/notes/2026-12-07T01-00-00-deploys.md"
NOTE_TEXT = "Deploys go through make release, never by hand.\n"
LINE = "- Staging databases are reset every Monday at 06:00 UTC."


def test_two_hosts_extract_their_own_consolidate_once_and_end_with_identical_folders(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    with hosts(2, pg_dsn) as (a, b):
        ids = {s: set(write_idle_rollouts(s.codex / "sessions", 3)) for s in (a, b)}
        a.start_ready()
        b.start_ready()
        wait_for("all six inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 6), WAIT)
        tree = wait_for("identical memory folders", lambda: same_folders([a, b]), WAIT)
        summaries = [p for p in tree if p.startswith("rollout_summaries/")]
        assert len(summaries) == 6  # every host's outputs in one consolidation's folder
        assert "memory_summary.md" in tree
        # Each host extracted only its own threads.
        for s in (a, b):
            host = (s.state / "host_id").read_text().strip()
            rows = q(
                pg_cluster,
                pg_dsn,
                f"SELECT thread_id FROM stage1_outputs o JOIN threads t "
                f"ON t.id = o.thread_id WHERE t.host_id = '{host}'",
            )
            assert set(rows.split()) == ids[s]
        # Each input was consolidated once in all: no host re-ran the others' consolidation
        # for its own folder (a run that only retained what another run had consolidated).
        added = q(
            pg_cluster,
            pg_dsn,
            "SELECT sum(inputs_added) FROM phase2_runs WHERE outcome = 'succeeded'",
        )
        assert added == "6"
        redundant = q(
            pg_cluster,
            pg_dsn,
            "SELECT count(*) FROM phase2_runs WHERE outcome = 'succeeded' "
            "AND inputs_added = 0 AND inputs_removed = 0",
        )
        assert redundant == "0"
        # The host that did not consolidate last got the tree by materialising it (on the
        # NOTIFY, or at the start of a run of its own under the lock).
        publisher = newest_tree(pg_cluster, pg_dsn, "host_id")
        other = next(s for s in (a, b) if (s.state / "host_id").read_text().strip() != publisher)
        wait_for(
            "the other host's materialisation",
            lambda: other.events("phase2_materialised") + other.events("phase2_caught_up"),
            WAIT,
        )

        # A user's edits on host B (a line of MEMORY.md, a note file) are kept and, after the
        # next consolidation, on both hosts.
        runs = int(q(pg_cluster, pg_dsn, "SELECT count(*) FROM phase2_runs"))
        note = b.state / "memories" / NOTE
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(NOTE_TEXT)
        with (b.state / "memories" / "MEMORY.md").open("a") as f:
            f.write(f"\n{LINE}\n")
        wait_for("the note on host A", lambda: (a.state / "memories" / NOTE).is_file(), WAIT)
        assert (a.state / "memories" / NOTE).read_text() == NOTE_TEXT
        assert note.read_text() == NOTE_TEXT
        tree = wait_for("identical memory folders again", lambda: same_folders([a, b]), WAIT)
        # In MEMORY.md (or, had a run rewritten it while the line was being added, in the
        # user's version saved beside it): on both hosts, since the folders are the same.
        assert any(LINE.encode() in data for name, data in tree.items() if "MEMORY" in name)
        assert (
            int(
                q(
                    pg_cluster,
                    pg_dsn,
                    "SELECT count(*) FROM phase2_runs WHERE outcome = 'succeeded'",
                )
            )
            > 0
        )
        assert int(q(pg_cluster, pg_dsn, "SELECT count(*) FROM phase2_runs")) > runs
        for s in (a, b):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0


def test_a_host_stopped_during_a_consolidation_catches_up_when_it_starts_again(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    with hosts(2, pg_dsn) as (a, b):
        write_idle_rollouts(a.codex / "sessions", 2)
        a.start_ready()
        b.start_ready()
        wait_for("two inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 2), WAIT)
        wait_for("identical memory folders", lambda: same_folders([a, b]), WAIT)
        b.signal(signal.SIGTERM)
        assert b.wait_exit() == 0
        before, published = folder(b), newest_tree(pg_cluster, pg_dsn)
        # While B is down, A extracts and consolidates two more and publishes the tree.
        write_idle_rollouts(a.codex / "sessions", 2)
        wait_for("four inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 4), WAIT)
        wait_for(
            "the new tree published",
            lambda: folder(a) != before and newest_tree(pg_cluster, pg_dsn) != published,
            WAIT,
        )
        assert folder(b) == before  # B was down: nothing wrote its folder
        b.start_ready()
        tree = wait_for("B caught up", lambda: same_folders([a, b]), WAIT)
        assert len([p for p in tree if p.startswith("rollout_summaries/")]) == 4
        for s in (a, b):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0


def test_a_paused_host_receives_the_tree_by_its_notification_alone(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    """B's phase 2 is paused (it never claims, never catches up under the lock) and nothing
    polls the published trees: B's folder can become A's only through the NOTIFY."""
    with hosts(2, pg_dsn) as (a, b):
        a.start_ready()
        b.start_ready()
        assert cli_json(b, "pause")["paused"] is True
        write_idle_rollouts(a.codex / "sessions", 2)  # A's watcher picks them up
        wait_for("two inputs consolidated", lambda: consolidated(pg_cluster, pg_dsn, 2), WAIT)
        run_id = newest_tree(pg_cluster, pg_dsn)
        wait_for("identical memory folders", lambda: same_folders([a, b]), WAIT)
        # (A may have consolidated the two in one run or in two: B took in each tree.)
        # (Logged once the folder is written: waited for.)
        wait_for(
            "B's materialisation of the last tree",
            lambda: [e for e in b.events("phase2_materialised") if e["run_id"] == run_id],
            WAIT,
        )
        assert not b.events("phase2_caught_up")
        for s in (a, b):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0


def test_pause_is_a_hosts_own_and_outlives_only_its_restart(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    """`memoryd pause` on B stops B's model calls; A, on the same database, is not paused,
    neither now nor after a restart, while B still is after its own."""
    with hosts(2, pg_dsn) as (a, b):
        a.start_ready()
        b.start_ready()
        assert cli_json(b, "pause")["paused"] is True
        for s in (a, b):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0
            s.start_ready()
        assert cli_json(a, "status")["paused"] is False
        assert cli_json(b, "status")["paused"] is True
        write_idle_rollouts(a.codex / "sessions", 1)  # A extracts and consolidates as ever
        wait_for("A's input consolidated", lambda: consolidated(pg_cluster, pg_dsn, 1), WAIT)
        assert cli_json(b, "resume")["paused"] is False
        for s in (a, b):
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0


def test_a_lock_given_back_elsewhere_wakes_a_waiting_host_at_once(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    """B has an edit to consolidate while another host holds the phase-2 lock for an hour.
    B's phase 2 then sleeps until that lease ends, unless the NOTIFY of the lock given back
    (sent in the releasing transaction, as memoryd's own release does) wakes it: B
    consolidates its edit within moments of the release."""
    with hosts(1, pg_dsn) as (b,):
        write_config(b, CONFIG + '[log]\nlevel = "debug"\n')
        write_idle_rollouts(b.codex / "sessions", 1)
        b.start_ready()
        wait_for("the first consolidation", lambda: consolidated(pg_cluster, pg_dsn, 1), WAIT)
        row = "kind = 'memory_consolidate_global' AND job_key = 'global'"
        # Counted before the lock is taken: B may find it held at once, then sleep out the
        # hour-long lease with nothing more to log until the NOTIFY wakes it.
        seen = len(b.events("phase2_idle"))
        # Taken only while B does not hold it: B's phase 2 looks every second (interval 0),
        # and a lock taken over from a run of B's ends that run as lease_lost, not "running".
        wait_for(
            "the lock taken by another host",
            lambda: (
                q(
                    pg_cluster,
                    pg_dsn,
                    "UPDATE jobs SET status = 'running', worker_id = 'elsewhere', "
                    "ownership_token = 'held-by-another-host', "
                    "lease_until = extract(epoch FROM now())::bigint + 3600 "
                    f"WHERE {row} AND status <> 'running' RETURNING 1",
                )
                == "1"
            ),
            WAIT,
        )
        note = b.state / "memories" / NOTE
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(NOTE_TEXT)
        wait_for(
            "B finding the lock held",
            lambda: [e for e in b.events("phase2_idle")[seen:] if e["outcome"] == "running"],
            WAIT,
        )
        succeeded = "SELECT count(*) FROM phase2_runs WHERE outcome = 'succeeded'"
        before = int(q(pg_cluster, pg_dsn, succeeded))
        q(
            pg_cluster,
            pg_dsn,
            f"UPDATE jobs SET status = 'done', lease_until = NULL WHERE {row}; "
            "SELECT pg_notify('memoryd', 'lock:elsewhere')",
        )
        wait_for(
            "B's consolidation of its note",
            lambda: int(q(pg_cluster, pg_dsn, succeeded)) > before,
            30,
        )
        # B's run published its tree.
        assert newest_tree(pg_cluster, pg_dsn) == q(
            pg_cluster,
            pg_dsn,
            "SELECT run_id FROM phase2_runs WHERE outcome = 'succeeded' "
            "ORDER BY finished_at DESC LIMIT 1",
        )
        b.signal(signal.SIGTERM)
        assert b.wait_exit() == 0


def test_hosts_do_not_wake_each_other_into_a_loop_of_empty_runs(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    """At min_interval_seconds = 0 each host looks again at most once a second. A lock given
    back wakes only a host that found it held: were every host woken by every release, each
    empty run would wake the others at once, and three idle hosts would run phase 2 as fast
    as runs finish (16 a second were seen)."""
    with hosts(3, pg_dsn) as servers:
        write_idle_rollouts(servers[0].codex / "sessions", 1)
        for s in servers:
            s.start_ready()
        wait_for("the first consolidation", lambda: consolidated(pg_cluster, pg_dsn, 1), WAIT)
        wait_for("identical memory folders", lambda: same_folders(servers), WAIT)
        runs = "SELECT count(*) FROM phase2_runs"
        window = 6.0
        before = int(q(pg_cluster, pg_dsn, runs))
        time.sleep(window)
        during = int(q(pg_cluster, pg_dsn, runs)) - before
        # Once a second per host, with room for a wake by new input: 1.5 x 3 x 6 = 27.
        assert during <= 1.5 * len(servers) * window, f"{during} phase-2 runs in {window} s"
        for s in servers:
            s.signal(signal.SIGTERM)
            assert s.wait_exit() == 0
