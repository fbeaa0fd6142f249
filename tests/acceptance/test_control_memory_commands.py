"""The memory commands end to end, as a user runs them: ``memoryd forget``, ``clear``,
``history``, ``diff``, ``rollback`` and ``doctor`` through the CLI, each against a running
``memoryd serve`` and, where the command allows it, with no daemon (the CLI then works on the
state DB itself). Real subprocesses, the real state DB and git history, the bundled example
rollouts and the offline backends; the facts asserted on are ones MEMORY.md shows beforehand."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.control import Conn, cli, cli_json, daemon_fixture, socket_path  # noqa: F401
from support.daemon import Serve, stage1_count, wait_for, write_config
from support.pipeline import (
    COMPACT_FACT,
    COMPACT_THREAD,
    SAMPLES_CWD,
    TOOLS_FACT,
    TOOLS_THREAD,
    UV_FACT,
    UV_THREAD,
    tree_bytes,
)
from support.rollouts import append_user_turn

from memoryd.demo import install_examples

FACTS = {UV_THREAD: UV_FACT, TOOLS_THREAD: TOOLS_FACT, COMPACT_THREAD: COMPACT_FACT}
ALL_FACTS = tuple(FACTS.values())
MODES = pytest.mark.parametrize("with_daemon", [False, True], ids=["no-daemon", "daemon"])


# ------------------------------------------------------------------------------- helpers


def root(s: Serve) -> Path:
    return s.state / "memories"


def memory_md(s: Serve) -> str:
    return (root(s) / "MEMORY.md").read_text(encoding="utf-8")


def rows(s: Serve, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(s.db_path, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def scalar(s: Serve, sql: str) -> Any:
    return rows(s, sql)[0][0]


def memory_rows(s: Serve) -> dict[str, int]:
    """The DB rows the memory commands may change, counted."""
    tables = ("threads", "stage1_outputs", "phase2_selection", "forgotten_threads", "jobs")
    return {t: scalar(s, f"SELECT count(*) FROM {t}") for t in tables}


def running(s: Serve) -> bool:
    return s.proc is not None and s.proc.poll() is None


def consolidate(s: Serve) -> dict[str, Any]:
    """One phase 2 the way a user asks for it: ``trigger phase2`` on a running daemon (again
    while the daemon's own run holds the lock), else ``run --once``. Its Phase2Result."""
    if running(s):

        def attempt() -> dict[str, Any] | None:
            result: dict[str, Any] = cli_json(s, "trigger", "phase2")["result"]
            return None if result["outcome"] == "running" else result

        return wait_for("phase 2 to take the lock", attempt)  # type: ignore[no-any-return]
    result: dict[str, Any] = cli_json(s, "run", "--once")["phase2"]
    return result


def held_path(rollout: Path) -> Path:
    return rollout.with_suffix(".held")


def setup_home(s: Serve, *, with_daemon: bool, hold_back: tuple[str, ...] = ()) -> list[Path]:
    """Install the bundled rollouts (those of ``hold_back`` renamed aside, see ``release``),
    start the daemon if asked (with an interval so long that only the test triggers phase 2
    after the first run) and consolidate them. Returns the held-back rollouts' paths."""
    held = []
    for path in install_examples(s.codex / "sessions"):
        if any(tid in path.name for tid in hold_back):
            os.rename(path, held_path(path))
            held.append(path)
    if with_daemon:
        write_config(s, "[phase2]\nmin_interval_seconds = 86400\n")
        s.start_ready()
        wait_for("phase 1 to extract the rollouts", lambda: stage1_count(s) == 3 - len(held))
    # noop: the daemon's own run had consolidated them already.
    assert consolidate(s)["outcome"] in ("succeeded", "noop")
    text = memory_md(s)
    assert all((fact in text) == (tid not in hold_back) for tid, fact in FACTS.items())
    return held


def release(s: Serve, held: list[Path]) -> None:
    """Put the held-back rollouts in place (idle: their mtimes are kept) and, without a
    daemon, leave them for the next ``run --once``; with one, wait for their extraction."""
    before = stage1_count(s)
    for path in held:
        os.rename(held_path(path), path)
    if running(s):
        wait_for("the released rollouts extracted", lambda: stage1_count(s) == before + len(held))


def stop(s: Serve) -> None:
    if running(s):
        s.signal(signal.SIGTERM)
        assert s.wait_exit() == 0


def one_line_error(done: Any, *needles: str) -> None:
    """Exit 1 with a single ``memoryd: ...`` line on stderr containing every needle."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    err = str(done.stderr).strip()
    assert len(err.splitlines()) == 1 and err.startswith("memoryd: "), err
    for needle in needles:
        assert needle in err, err


@pytest.fixture(name="s")
def home(daemon: Serve) -> Iterator[Serve]:
    """The daemon fixture, stopped cleanly (exit 0) when a test left it running."""
    yield daemon
    if running(daemon):
        stop(daemon)


# ------------------------------------------------------------------------------- forget


@MODES
def test_forget_thread_drops_its_facts_at_the_next_phase2_and_keeps_the_others(
    s: Serve, with_daemon: bool
) -> None:
    setup_home(s, with_daemon=with_daemon)
    text = memory_md(s)
    assert all(fact in text for fact in ALL_FACTS)

    out = cli_json(s, "forget", "--thread", UV_THREAD)
    assert out["threads"] == [UV_THREAD] and out["outputs_deleted"] == 1
    assert out["phase2"] == ("woken" if with_daemon else "at the next run")
    assert scalar(s, f"SELECT count(*) FROM stage1_outputs WHERE thread_id = '{UV_THREAD}'") == 0

    result = consolidate(s)
    assert result["outcome"] in ("succeeded", "noop")  # noop: the daemon's woken run did it
    text = memory_md(s)
    assert UV_FACT not in text and UV_THREAD not in text
    assert TOOLS_FACT in text and COMPACT_FACT in text
    assert UV_THREAD not in (root(s) / "raw_memories.md").read_text(encoding="utf-8")

    st = cli(s, "status")
    assert st.returncode == 0, st.stderr
    assert st.stdout.startswith("daemon: running" if with_daemon else "daemon: not running")
    jobs = cli_json(s, "jobs", "--kind", "stage1")["jobs"]
    assert sorted(j["job_key"] for j in jobs) == sorted([TOOLS_THREAD, COMPACT_THREAD])
    assert cli(s, "jobs").returncode == 0


def test_forget_with_a_daemon_runs_phase2_without_a_trigger(s: Serve) -> None:
    """``forget`` tells the user that phase 2 runs now: it must, even though the daemon's
    phase-2 loop is waiting out a long interval after the phase-1 outputs woke it."""
    setup_home(s, with_daemon=True)
    assert UV_FACT in memory_md(s)
    text = cli(s, "forget", "--thread", UV_THREAD)
    assert text.returncode == 0, text.stderr
    assert "phase 2 is running now" in text.stdout
    wait_for("MEMORY.md without the forgotten thread", lambda: UV_FACT not in memory_md(s))
    assert TOOLS_FACT in memory_md(s) and COMPACT_FACT in memory_md(s)


def test_forget_on_a_paused_daemon_says_so_and_phase2_follows_the_resume(s: Serve) -> None:
    setup_home(s, with_daemon=True)
    assert cli_json(s, "pause")["paused"] is True
    text = cli(s, "forget", "--thread", UV_THREAD)
    assert text.returncode == 0, text.stderr
    assert "the daemon is paused: phase 2 drops them from the files after `memoryd resume`" in (
        text.stdout
    )
    assert UV_FACT in memory_md(s)
    cli_json(s, "resume")
    wait_for("MEMORY.md without the forgotten thread", lambda: UV_FACT not in memory_md(s))


def test_a_reload_that_shortens_the_interval_lets_a_waiting_output_consolidate(
    s: Serve,
) -> None:
    """SIGHUP applies a new phase2.min_interval_seconds to an output already waiting out
    the old one (the reload wakes phase 2 for exactly that)."""
    held = setup_home(s, with_daemon=True, hold_back=(TOOLS_THREAD,))
    release(s, held)
    write_config(s, "[phase2]\nmin_interval_seconds = 0\n")
    s.signal(signal.SIGHUP)
    wait_for("the released thread consolidated", lambda: TOOLS_FACT in memory_md(s))


@MODES
def test_forget_cwd_relative_to_the_callers_directory(s: Serve, with_daemon: bool) -> None:
    """The daemon runs in another directory: the CLI resolves a relative --cwd against its
    own working directory before sending it."""
    setup_home(s, with_daemon=with_daemon)
    rel = os.path.relpath(SAMPLES_CWD, "/home")
    out = cli(s, "forget", "--cwd", rel, "--json", cwd=Path("/home"))
    assert out.returncode == 0, out.stderr
    assert sorted(json.loads(out.stdout)["threads"]) == sorted([TOOLS_THREAD, COMPACT_THREAD])
    consolidate(s)
    text = memory_md(s)
    assert TOOLS_FACT not in text and COMPACT_FACT not in text and UV_FACT in text


def test_forget_cwd_with_a_tilde_is_the_callers_home(s: Serve) -> None:
    """``--cwd=~/x`` reaches memoryd unexpanded (no shell expands a tilde after ``=``)."""
    setup_home(s, with_daemon=False)
    out = cli(s, "forget", "--cwd=~/code/samples-13uz", "--json", env={"HOME": "/home/dev"})
    assert out.returncode == 0, out.stderr
    assert sorted(json.loads(out.stdout)["threads"]) == sorted([TOOLS_THREAD, COMPACT_THREAD])


@MODES
def test_forget_unknown_thread_or_cwd_is_one_line_and_changes_nothing(
    s: Serve, with_daemon: bool
) -> None:
    setup_home(s, with_daemon=with_daemon)
    files, before = tree_bytes(root(s)), memory_rows(s)
    one_line_error(
        cli(s, "forget", "--thread", "no-such-thread"), "unknown thread 'no-such-thread'"
    )
    one_line_error(
        cli(s, "forget", "--cwd", "/nowhere/at/all"), "no thread has its cwd at or under"
    )
    one_line_error(cli(s, "forget", "--cwd", ""), "forget --cwd needs an absolute path, not ''")
    assert tree_bytes(root(s)) == files and memory_rows(s) == before
    assert consolidate(s)["outcome"] == "noop"


def all_objects(git_dir: Path) -> bytes:
    """The content of every object in a git repository, loose or packed, reachable or not."""
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


@MODES
def test_forget_purges_the_thread_from_the_run_history_and_the_baseline(
    s: Serve, with_daemon: bool
) -> None:
    held = setup_home(s, with_daemon=with_daemon, hold_back=(TOOLS_THREAD,))
    release(s, held)
    assert consolidate(s)["outcome"] == "succeeded"  # a second recorded run with the fact
    history, baseline = s.state / "history", root(s) / ".git"
    assert UV_FACT.encode() in all_objects(history) and UV_FACT.encode() in all_objects(baseline)
    runs_before = cli_json(s, "history")["runs"]

    cli_json(s, "forget", "--thread", UV_THREAD)
    consolidate(s)
    wait_for("the forgotten thread out of MEMORY.md", lambda: UV_FACT not in memory_md(s))
    wait_for("the history purged", lambda: UV_FACT.encode() not in all_objects(history))
    for repo in (history, baseline):
        objects = all_objects(repo)
        assert UV_FACT.encode() not in objects, repo
        assert TOOLS_FACT.encode() in objects and COMPACT_FACT.encode() in objects, repo
    # Every run is still listed, the old ones marked as purged, and a diff still works.
    runs = cli_json(s, "history")["runs"]
    assert [r["run_id"] for r in runs[1:]] == [r["run_id"] for r in runs_before]
    assert [r["purged"] for r in runs] == [False] + [True] * len(runs_before)
    assert "(purged: held forgotten memories)" in cli(s, "history").stdout
    assert cli(s, "diff", runs[1]["run_id"]).returncode == 0


@MODES
def test_a_rollback_never_brings_back_a_forgotten_thread(s: Serve, with_daemon: bool) -> None:
    setup_home(s, with_daemon=with_daemon)
    # The newest run before the forget: a loaded daemon may have recorded two by now (its own
    # run and the one setup_home triggers), and both hold the thread.
    before_forget = cli_json(s, "history")["runs"][0]
    cli_json(s, "forget", "--thread", UV_THREAD)
    if not with_daemon:  # (a daemon consolidates and purges at once)
        # Before the next consolidation, with nothing purged yet: refused all the same.
        one_line_error(
            cli(s, "rollback", before_forget["run_id"]),
            f"cannot roll back to {before_forget['run_id']}: it holds memories of 1 forgotten "
            f"thread(s) ({UV_THREAD})",
        )
    consolidate(s)

    def purged() -> bool:
        runs = {r["run_id"]: r for r in cli_json(s, "history")["runs"]}
        return bool(runs[before_forget["run_id"]]["purged"])

    # The purge ends the consolidation that drops the thread (a daemon's may still run).
    wait_for("the run before the forget purged", purged)
    running_runs = "SELECT count(*) FROM phase2_runs WHERE outcome = 'running'"
    wait_for("that consolidation finished", lambda: scalar(s, running_runs) == 0)
    files, before = tree_bytes(root(s)), memory_rows(s)
    one_line_error(
        cli(s, "rollback", before_forget["run_id"]),
        f"cannot roll back to {before_forget['run_id']}: its consolidated files held memories "
        "of a forgotten thread and were purged from the history",
    )
    assert tree_bytes(root(s)) == files and memory_rows(s) == before
    assert UV_FACT not in memory_md(s)
    # A run recorded after the forget can be restored.
    latest = cli_json(s, "history")["runs"][0]
    assert cli_json(s, "rollback", latest["run_id"])["outcome"] == "succeeded"


# ------------------------------------------------------------------------------- clear


@MODES
def test_clear_empties_the_root_and_memory_rows_and_keeps_threads(
    s: Serve, with_daemon: bool
) -> None:
    """A clear stays done: the sessions known at the clear are not extracted again while
    they do not change, a session that changes afterwards is, and so is a new one."""
    held = setup_home(s, with_daemon=with_daemon, hold_back=(COMPACT_THREAD,))
    assert scalar(s, "SELECT count(*) FROM phase2_selection") == 2
    done = cli(s, "clear", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "cleared: 2 memories deleted, " + done.stdout.split(", ")[1].split("\n")[0],
        "the 2 sessions known now are not extracted again unless they change; new sessions "
        "are (`memoryd clear --reextract` re-extracts everything)",
    ]
    assert root(s).is_dir() and list(root(s).iterdir()) == []
    assert scalar(s, "SELECT count(*) FROM stage1_outputs") == 0
    assert scalar(s, "SELECT count(*) FROM phase2_selection") == 0
    assert scalar(s, "SELECT count(*) FROM threads") == 2
    (event,) = [e for e in s.events("clear")]
    assert (event["outputs_deleted"], event["threads"], event["reextract"]) == (2, 2, False)

    # A new session and a changed one are extracted; the unchanged one is not.
    release(s, held)
    append_user_turn(next(s.codex.rglob(f"rollout-*{UV_THREAD}.jsonl")), "and pin uv 0.5")
    if with_daemon:
        wait_for("the new and the changed session extracted", lambda: stage1_count(s) == 2)
        consolidate(s)
    else:
        assert cli_json(s, "run", "--once")["phase1"]["succeeded"] == 2
    extracted_now = {r[0] for r in rows(s, "SELECT thread_id FROM stage1_outputs")}
    assert extracted_now == {COMPACT_THREAD, UV_THREAD}
    text = memory_md(s)
    assert UV_FACT in text and COMPACT_FACT in text and TOOLS_FACT not in text


@MODES
def test_clear_reextract_extracts_every_known_session_again(s: Serve, with_daemon: bool) -> None:
    setup_home(s, with_daemon=with_daemon)
    out = cli_json(s, "clear", "--yes", "--reextract")
    assert out["outputs_deleted"] == 3 and out["reextract"] is True and out["files_removed"] > 0
    if with_daemon:
        # The daemon re-extracts by itself and consolidates the fresh outputs.
        wait_for("phase 1 to extract afresh", lambda: stage1_count(s) == 3)
        wait_for(
            "a consolidation of the fresh outputs",
            lambda: (root(s) / "MEMORY.md").exists() and TOOLS_FACT in memory_md(s),
        )
    else:
        assert cli_json(s, "run", "--once")["phase1"]["succeeded"] == 3
    consolidate(s)
    assert all(fact in memory_md(s) for fact in ALL_FACTS)


@MODES
def test_clear_removes_only_what_memoryd_wrote(s: Serve, with_daemon: bool) -> None:
    setup_home(s, with_daemon=with_daemon)
    mine = {
        "notes.txt": b"my own notes\n",
        "drafts/plan.md": b"# plan\n",
        "extensions/mine/instructions.md": b"# my extension\n",
        "extensions/mine/resources/2026-01-01T00-00-00-x.md": b"evidence\n",
    }
    for rel, data in mine.items():
        (root(s) / rel).parent.mkdir(parents=True, exist_ok=True)
        (root(s) / rel).write_bytes(data)
    # memoryd's own, beside them: a saved user edit, a dead write's temporary file.
    (root(s) / "MEMORY.user-edit-20260101T000000Z-1.md").write_text("saved\n")
    (root(s) / ".MEMORY.md.abcd1234.tmp").write_text("torn\n")
    assert (root(s) / "extensions" / "ad_hoc" / "instructions.md").exists()
    assert (root(s) / "rollout_summaries").is_dir() and (root(s) / ".git").is_dir()

    done = cli(s, "clear", "--yes")
    assert done.returncode == 0, done.stderr
    assert "kept what memoryd did not write: drafts, extensions/mine, notes.txt" in done.stdout
    assert tree_bytes(root(s)) == mine
    assert sorted(os.listdir(root(s))) == ["drafts", "extensions", "notes.txt"]
    assert os.listdir(root(s) / "extensions") == ["mine"]


def test_a_clear_is_not_undone_by_a_rollback(s: Serve) -> None:
    """A rollback to a run recorded before the clear would bring the cleared memories back
    into the folder Codex reads: it is refused, and nothing changes."""
    setup_home(s, with_daemon=False)
    (last,) = cli_json(s, "history")["runs"]
    cli_json(s, "clear", "--yes")
    assert tree_bytes(root(s)) == {}
    before = memory_rows(s)
    one_line_error(
        cli(s, "rollback", last["run_id"]),
        f"cannot roll back to {last['run_id']}: it was recorded before `memoryd clear`",
        "a rollback never brings back cleared memories; nothing was changed",
    )
    assert tree_bytes(root(s)) == {} and memory_rows(s) == before


@MODES
def test_clear_refuses_a_symlinked_root_and_changes_nothing(s: Serve, with_daemon: bool) -> None:
    setup_home(s, with_daemon=with_daemon)
    real = s.base / "real-memories"
    shutil.move(root(s), real)
    root(s).symlink_to(real)
    files, before = tree_bytes(real), memory_rows(s)
    one_line_error(cli(s, "clear", "--yes"), "symbolic link", str(root(s)))
    assert root(s).is_symlink() and tree_bytes(real) == files and memory_rows(s) == before


# ------------------------------------------------------------------------------- history


@MODES
def test_history_diff_and_rollback_restore_the_files_and_the_next_run_builds_on_them(
    s: Serve, with_daemon: bool
) -> None:
    held = setup_home(s, with_daemon=with_daemon, hold_back=(TOOLS_THREAD,))
    first = tree_bytes(root(s))
    assert TOOLS_FACT not in memory_md(s)
    release(s, held)
    second = consolidate(s)
    assert second["outcome"] == "succeeded" and second["added"] == 1
    assert TOOLS_FACT in memory_md(s)
    after_second = tree_bytes(root(s))

    runs = cli_json(s, "history")["runs"]
    assert runs[0]["run_id"] == second["run_id"]
    assert [r["kind"] for r in runs] == ["consolidation"] * len(runs)
    recorded = "SELECT run_id FROM phase2_runs WHERE history_commit IS NOT NULL"
    assert {r["run_id"] for r in runs} == {row[0] for row in rows(s, recorded)}
    run1 = runs[1]["run_id"]
    text = cli(s, "history")
    assert text.returncode == 0 and text.stdout.splitlines()[0].startswith(second["run_id"])
    assert "+1 -0 inputs" in text.stdout.splitlines()[0]

    diff = cli(s, "diff", second["run_id"])
    assert diff.returncode == 0, diff.stderr
    added = [ln for ln in diff.stdout.splitlines() if ln.startswith("+") and TOOLS_FACT in ln]
    assert added and "+++ b/MEMORY.md" in diff.stdout
    header, patch = diff.stdout.split("\n", 1)
    assert header.startswith(f"run {second['run_id']} on {socket.gethostname()}, ")
    as_json = cli_json(s, "diff", second["run_id"])
    assert as_json["diff"] == patch.rstrip("\n") + "\n"
    assert (as_json["host"], as_json["host_id"]) == (socket.gethostname(), None)

    back = cli(s, "rollback", run1)
    assert back.returncode == 0, back.stderr
    lines = back.stdout.splitlines()
    assert lines[0].startswith(f"rollback to {run1}: recorded as run ")
    assert "  MEMORY.md" in lines
    # Since run1, one input (the tools thread) came in: the next phase 2 adds it back.
    assert "inputs changed since that run (1 added, 0 removed)" in back.stdout
    assert tree_bytes(root(s)) == first
    latest = cli_json(s, "history")["runs"][0]
    assert latest["kind"] == "rollback" and latest["rolled_back_to"] == run1

    third = consolidate(s)
    assert third["outcome"] == "succeeded"
    assert (third["added"], third["retained"], third["removed"]) == (1, 2, 0)
    # Built on the restored files, it ends where the second run did.
    assert tree_bytes(root(s)) == after_second


@MODES
def test_unknown_run_is_one_line_and_changes_nothing(s: Serve, with_daemon: bool) -> None:
    setup_home(s, with_daemon=with_daemon)
    files, runs = tree_bytes(root(s)), cli_json(s, "history")["runs"]
    for cmd in ("diff", "rollback"):
        one_line_error(cli(s, cmd, "20990101T000000Z-nope"), "unknown run '20990101T000000Z-nope'")
    one_line_error(cli(s, "history", "--limit", "0"), "the limit must be at least 1, not 0")
    assert tree_bytes(root(s)) == files and cli_json(s, "history")["runs"] == runs


def test_unknown_things_are_not_found_on_the_socket(s: Serve) -> None:
    """Scripts tell "no such run / thread" from a failure by the protocol's stable code."""
    setup_home(s, with_daemon=True)
    conn = Conn(socket_path(s))
    try:
        for cmd, args in (
            ("diff", {"run": "20990101T000000Z-nope"}),
            ("rollback", {"run": "20990101T000000Z-nope"}),
            ("forget", {"thread": "no-such-thread"}),
            ("forget", {"cwd": "/nowhere/at/all"}),
        ):
            resp = conn.request({"v": 1, "id": 1, "cmd": cmd, "args": args})
            assert resp["ok"] is False and resp["error"]["code"] == "not_found", (cmd, resp)
    finally:
        conn.close()


# ------------------------------------------------------------------------------- doctor


def test_doctor_on_the_demo_home_passes_and_pings_the_running_daemon(s: Serve) -> None:
    demo = cli(s, "demo", "--dir", str(s.base))  # the fixture's home has the demo's layout
    assert demo.returncode == 0, demo.stderr
    assert all(fact in memory_md(s) for fact in ALL_FACTS)

    def checks() -> dict[str, dict[str, Any]]:
        done = cli(s, "doctor", "--json")
        assert done.returncode == 0, (done.stdout, done.stderr)
        return {c["check"]: c for c in json.loads(done.stdout)}

    text = cli(s, "doctor")
    assert text.returncode == 0, text.stdout
    assert "0 failed" in text.stdout.splitlines()[-1]
    off = checks()
    assert not [c for c in off.values() if c["status"] == "fail"]
    assert off["socket"]["status"] == "warn" and "not running" in off["socket"]["message"]

    s.start_ready()
    on = checks()
    assert on["socket"]["status"] == "ok", on["socket"]
    assert f"pid {s.procs[0].pid}" in on["socket"]["message"]
