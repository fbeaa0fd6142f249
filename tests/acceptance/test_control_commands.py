"""The control commands through the ``memoryd`` CLI against a real daemon (or none): pause and
resume around a running model call, trigger, the commands that need the daemon, and logs from
the file and followed through the daemon (SPEC §7)."""

from __future__ import annotations

import json
import os
import pty
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
from support.control import (
    cli,
    cli_json,
    daemon_fixture,  # noqa: F401
    held_model,
    openai_config,
    query,
)
from support.daemon import WAIT, Serve, stage1_count, wait_for, write_config

from memoryd.demo import install_examples


async def test_pause_lets_the_running_job_finish_claims_nothing_and_resume_restarts(
    daemon: Serve,
) -> None:
    async with held_model(daemon) as (srv, gate):
        write_config(daemon, openai_config(srv.url))  # one job at a time
        await anyio.to_thread.run_sync(daemon.start_ready)
        await srv.wait_for_requests(1, within=WAIT)

        paused = await anyio.to_thread.run_sync(cli_json, daemon, "pause")
        assert paused == {"paused": True, "running": 1}
        st = await anyio.to_thread.run_sync(cli_json, daemon, "status")
        assert st["paused"] is True
        (job,) = st["running"]
        assert job["kind"] == "memory_stage1" and job["lease_until"] > st["now"]
        idle_before = len(daemon.events("phase1_idle"))

        gate.set()  # the running call answers: its job must still finish
        await anyio.to_thread.run_sync(
            lambda: wait_for("the running job to finish", lambda: stage1_count(daemon) == 1)
        )
        # Its end woke the claim loop, which looked, claimed nothing and went idle.
        await anyio.to_thread.run_sync(lambda: daemon.wait_event("phase1_idle", idle_before))
        assert len(srv.requests) == 1
        assert query(daemon, "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1'") == [(1,)]
        text = await anyio.to_thread.run_sync(cli, daemon, "status")
        assert "claiming: paused" in text.stdout

        resumed = await anyio.to_thread.run_sync(cli_json, daemon, "resume")
        assert resumed["paused"] is False
        await anyio.to_thread.run_sync(
            lambda: wait_for("the other two after resume", lambda: stage1_count(daemon) == 3)
        )
        assert len(srv.requests) == 3
        assert daemon.events("daemon_paused") and daemon.events("daemon_resumed")

        # pause is kept in the DB: a restarted daemon stays paused until resumed.
        await anyio.to_thread.run_sync(cli_json, daemon, "pause")
        daemon.signal(signal.SIGTERM)
        assert await anyio.to_thread.run_sync(daemon.wait_exit) == 0
        await anyio.to_thread.run_sync(daemon.start_ready)
        st = await anyio.to_thread.run_sync(cli_json, daemon, "status")
        assert st["daemon"]["running"] is True and st["paused"] is True
        daemon.signal(signal.SIGTERM)
        assert await anyio.to_thread.run_sync(daemon.wait_exit) == 0


def test_ping_names_the_daemon_that_answers(daemon: Serve) -> None:
    proc = daemon.start_ready()
    out = cli_json(daemon, "ping")
    assert out["pid"] == proc.pid and set(out) == {"pid", "version", "started_at"}
    text = cli(daemon, "ping")
    assert text.returncode == 0
    assert text.stdout.startswith(f"daemon: answering (pid {proc.pid}, memoryd {out['version']}")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0


def test_trigger_phase2_runs_at_once_despite_a_long_interval(daemon: Serve) -> None:
    write_config(daemon, "[phase2]\nmin_interval_seconds = 86400\n")
    daemon.start_ready()
    runs = "SELECT run_id FROM phase2_runs ORDER BY started_at"
    finished = "SELECT run_id FROM phase2_runs WHERE outcome <> 'running'"
    # Finished, not just started: a trigger while it holds the lock answers "running".
    wait_for("the first consolidation", lambda: len(query(daemon, finished)) == 1)
    out = cli_json(daemon, "trigger", "phase2")
    assert out["phase"] == "phase2" and out["result"]["outcome"] in ("noop", "succeeded")
    assert [r[0] for r in query(daemon, runs)][-1] == out["result"]["run_id"]
    text = cli(daemon, "trigger", "phase2")
    assert text.returncode == 0 and text.stdout.startswith("phase 2: ")
    assert len(query(daemon, runs)) == 3
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0


def test_trigger_phase1_thread_extracts_a_thread_that_is_not_idle_yet(daemon: Serve) -> None:
    paths = install_examples(daemon.codex / "sessions")
    fresh = paths[0]
    now = time.time()
    os.utime(fresh, (now, now))  # just written: 12 h short of the idle window
    tid = fresh.stem[-36:]
    daemon.start_ready()
    wait_for("the two idle ones", lambda: stage1_count(daemon) == 2)
    assert query(daemon, f"SELECT count(*) FROM jobs WHERE job_key = '{tid}'") == [(0,)]

    out = cli_json(daemon, "trigger", "phase1", "--thread", tid)
    assert out == {"phase": "phase1", "thread": tid, "outcome": "claimed"}
    wait_for("the triggered thread extracted", lambda: stage1_count(daemon) == 3)
    jobs = cli_json(daemon, "jobs", "--kind", "stage1", "--status", "done")["jobs"]
    assert tid in {j["job_key"] for j in jobs}
    text = cli(daemon, "jobs", "--kind", "stage1").stdout.splitlines()
    assert len(text) == 3 and any(tid in line and " done " in line for line in text)
    status = cli(daemon, "status").stdout
    assert f"daemon: running (pid {daemon.procs[0].pid}" in status
    assert "memory_stage1: 3 done" in status
    again = cli_json(daemon, "trigger", "phase1", "--thread", tid)
    assert again["outcome"] == "up_to_date"

    missing = cli(daemon, "trigger", "phase1", "--thread", "no-such-thread")
    assert missing.returncode == 1
    assert "no thread with id no-such-thread has been indexed" in missing.stderr
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0


def test_commands_that_need_the_daemon_say_it_is_not_running(daemon: Serve) -> None:
    for args in (["pause"], ["resume"], ["trigger", "phase1"], ["trigger", "phase2"], ["ping"]):
        done = cli(daemon, *args)
        assert done.returncode == 1, args
        assert "the memoryd daemon is not running" in done.stderr
        assert str(daemon.env["MEMORYD_SOCKET"]) in done.stderr
        assert "memoryd serve" in done.stderr
    # The others run without it, from the state DB.
    st = cli(daemon, "status")
    assert st.returncode == 0, st.stderr
    assert st.stdout.startswith("daemon: not running")
    assert cli_json(daemon, "status")["daemon"] == {"running": False}
    assert cli_json(daemon, "jobs")["jobs"] == []
    bad = cli(daemon, "jobs", "--status", "sleeping")
    assert bad.returncode == 1 and "unknown job status 'sleeping'" in bad.stderr


def _log_line(level: str, event: str, **kw: Any) -> str:
    rec = {"event": event, "level": level, "logger": "t", "timestamp": "2026-11-22T06:00:00Z"}
    return json.dumps({**kw, **rec})


def test_logs_from_the_file_filtered_by_level_and_thread(daemon: Serve) -> None:
    daemon.log_path.parent.mkdir(parents=True)
    daemon.log_path.write_text(
        "\n".join(
            [
                _log_line("info", "stage1_succeeded", thread_id="t-1"),
                _log_line("warning", "stage1_failed", thread_id="t-2", reason="model said no"),
                "not json at all",
                _log_line("error", "phase2_failed", run_id="r-1"),
                _log_line("debug", "phase1_idle"),
                _log_line("info", "stage1_succeeded", thread_id="t-2"),
            ]
        )
        + "\n"
    )
    warn = cli(daemon, "logs", "--level", "warning")
    assert warn.returncode == 0, warn.stderr
    lines = warn.stdout.splitlines()
    assert len(lines) == 2
    assert "warning" in lines[0] and "stage1_failed" in lines[0]
    assert "reason=model said no" in lines[0]
    assert "error" in lines[1] and "phase2_failed" in lines[1]

    t2 = cli(daemon, "logs", "--thread", "t-2", "--json")
    recs = [json.loads(x) for x in t2.stdout.splitlines()]
    assert [r["event"] for r in recs] == ["stage1_failed", "stage1_succeeded"]
    assert all(r["thread_id"] == "t-2" for r in recs)

    last = cli(daemon, "logs", "-n", "1", "--json")
    assert [json.loads(x)["event"] for x in last.stdout.splitlines()] == ["stage1_succeeded"]
    alls = cli(daemon, "logs")
    assert len(alls.stdout.splitlines()) == 5  # the non-JSON line is skipped

    bad = cli(daemon, "logs", "--level", "loud")
    assert bad.returncode == 1 and "unknown log level 'loud'" in bad.stderr


def test_logs_follow_through_the_daemon_receives_new_lines(daemon: Serve) -> None:
    daemon.start_ready()
    with subprocess.Popen(
        [sys.executable, "-m", "memoryd", "logs", "-f", "--json", "-n", "1000"],
        env=daemon.env,
        cwd=daemon.base,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as follower:
        assert follower.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda out: [lines.put(x) for x in iter(out.readline, "")],
            args=(follower.stdout,),
        )
        reader.start()

        def next_event(name: str) -> dict[str, Any]:
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                try:
                    rec: dict[str, Any] = json.loads(lines.get(timeout=0.5))
                except queue.Empty:
                    continue
                if rec["event"] == name:
                    return rec
            raise AssertionError(f"no {name} line from logs -f")

        try:
            next_event("daemon_ready")  # the tail arrived: what follows is followed
            assert cli(daemon, "pause").returncode == 0
            assert next_event("daemon_paused")["logger"] == "memoryd.supervisor"
            assert follower.poll() is None
        finally:
            follower.kill()
            follower.wait(timeout=WAIT)
            reader.join(timeout=WAIT)
    # The daemon noticed the follower leave and serves others as before.
    assert cli_json(daemon, "resume")["paused"] is False
    # A follower still attached does not hold up a shutdown, and is told the stream ended.
    with subprocess.Popen(
        [sys.executable, "-m", "memoryd", "logs", "-f", "-n", "1"],
        env=daemon.env,
        cwd=daemon.base,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as second:
        assert second.stdout is not None
        assert second.stdout.readline()  # attached: the tail arrived
        daemon.signal(signal.SIGTERM)
        assert daemon.wait_exit() == 0
        _, err = second.communicate(timeout=WAIT)
    assert second.returncode == 1
    assert "the daemon closed the connection mid-answer" in err
    assert not daemon.events("control_command_failed")


def test_clear_refuses_without_a_terminal_or_yes(daemon: Serve) -> None:
    memories = daemon.codex / "memories"
    memories.mkdir()
    (memories / "MEMORY.md").write_text("keep me\n")
    done = cli(daemon, "clear")
    assert done.returncode == 1
    assert "confirm on a terminal, or pass --yes" in done.stderr
    assert (memories / "MEMORY.md").read_text() == "keep me\n"
    assert not Path(daemon.state).exists()  # not even the state DB was touched


def test_clear_on_a_terminal_asks_and_a_no_keeps_everything(daemon: Serve) -> None:
    memories = daemon.codex / "memories"
    memories.mkdir()
    (memories / "MEMORY.md").write_text("keep me\n")
    primary, secondary = pty.openpty()
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "memoryd", "clear"],
            env=daemon.env,
            cwd=daemon.base,
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=secondary,
            text=True,
        ) as proc:
            os.close(secondary)
            secondary = -1
            seen = b""
            while b"Type 'yes' to continue" not in seen:
                seen += os.read(primary, 4096)
            assert str(Path(daemon.state) / "memories").encode() in seen
            os.write(primary, b"no\n")
            while b"nothing cleared" not in seen:
                seen += os.read(primary, 4096)
            assert proc.wait(timeout=WAIT) == 1
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    assert (memories / "MEMORY.md").read_text() == "keep me\n"


def test_jobs_shows_last_errors_and_retry_times_without_a_daemon(daemon: Serve) -> None:
    assert cli(daemon, "status").returncode == 0  # creates the state DB
    retry_at = int(time.time()) + 3600
    conn = sqlite3.connect(daemon.db_path)
    try:
        conn.executemany(
            "INSERT INTO jobs (kind, job_key, status, started_at, finished_at, retry_at, "
            "retry_remaining, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                ("memory_stage1", "t-bad", "error", 100, 200, retry_at, 2, "model said 400"),
                ("memory_stage1", "t-good", "done", 100, 200, None, 3, None),
            ],
        )
        conn.commit()
    finally:
        conn.close()
    errors = cli(daemon, "jobs", "--status", "error")
    assert errors.returncode == 0, errors.stderr
    lines = errors.stdout.splitlines()
    assert len(lines) == 2 and "t-bad" in lines[0] and "(2 left)" in lines[0]
    assert "retry at" in lines[0] and lines[1].strip() == "last error: model said 400"
    (job,) = cli_json(daemon, "jobs", "--status", "error")["jobs"]
    assert job["retry_at"] == retry_at and job["last_error"] == "model said 400"
    assert [j["job_key"] for j in cli_json(daemon, "jobs", "--kind", "phase2")["jobs"]] == []
    bad = cli(daemon, "jobs", "--kind", "phase3")
    assert bad.returncode == 1 and "unknown job kind 'phase3'" in bad.stderr
    negative = cli(daemon, "jobs", "--limit", "-1")  # SQLite would read it as "no limit"
    assert negative.returncode == 1
    assert "the limit must be at least 1, not -1" in negative.stderr


def test_trigger_while_paused_is_refused_unless_forced(daemon: Serve) -> None:
    paths = install_examples(daemon.codex / "sessions")
    fresh = paths[0]
    now = time.time()
    os.utime(fresh, (now, now))  # not idle yet: only a trigger would extract it
    tid = fresh.stem[-36:]
    write_config(daemon, "[phase2]\nmin_interval_seconds = 86400\n")
    daemon.start_ready()
    runs = "SELECT count(*) FROM phase2_runs"
    # A run that consolidated something: a no-op run may come first when phase 2 starts before
    # the extractions end (slower with the meaning model loading).
    done = "SELECT count(*) FROM phase2_runs WHERE outcome = 'succeeded'"
    wait_for("the two idle ones consolidated", lambda: query(daemon, done) == [(1,)])
    assert cli_json(daemon, "pause")["paused"] is True
    (before,) = query(daemon, runs)
    for args in (["trigger", "phase1", "--thread", tid], ["trigger", "phase2"]):
        done = cli(daemon, *args)
        assert done.returncode == 1, (args, done.stdout)
        assert done.stderr.strip() == (
            f"memoryd: not run: the daemon is paused (memoryd resume); pass --force to run "
            f"{args[1]} anyway"
        )
    assert stage1_count(daemon) == 2 and query(daemon, runs) == [before]

    out = cli_json(daemon, "trigger", "phase1", "--thread", tid, "--force")
    assert out["outcome"] == "claimed"
    wait_for("the forced thread extracted", lambda: stage1_count(daemon) == 3)
    forced = cli_json(daemon, "trigger", "phase2", "--force")
    assert forced["result"]["outcome"] == "succeeded"
    assert query(daemon, runs) == [(before[0] + 1,)]
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
