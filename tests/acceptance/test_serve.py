"""End-to-end tests of ``memoryd serve``: a real subprocess, real files, real signals.

Every test starts the daemon against a temporary Codex home and state dir, waits (bounded) for
what it expects in the JSON log or the state DB, and kills what it started in teardown (the
``serve`` fixture, tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from support.daemon import WAIT, Serve, stage1_count, wait_for, write_config

DAY = ("2026", "11", "22")


def thread_id(rollout: Path) -> str:
    return rollout.stem[-36:]


def assert_stable_event_names(s: Serve) -> None:
    """Every log line is one JSON object with one snake_case event name (also the lines of
    libraries, at every level)."""
    records = s.events()
    assert records
    for rec in records:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", rec["event"]), rec


def day_dir(s: Serve) -> Path:
    d = s.codex.joinpath("sessions", *DAY)
    d.mkdir(parents=True, exist_ok=True)
    return d


# ------------------------------------------------------------------------------------------------


def test_indexes_new_and_growing_rollouts_and_stops_on_sigterm(
    serve: Serve, fixture_rollouts: list[Path]
) -> None:
    serve.codex.joinpath("sessions").mkdir(parents=True)
    proc = serve.start_ready()
    started = serve.events("daemon_started")[0]
    assert started["pid"] == proc.pid
    assert started["event_loop"] == "uvloop"

    # Codex writes a rollout line by line: first half, then the rest.
    src = fixture_rollouts[1]
    lines = src.read_bytes().splitlines(keepends=True)
    dst = day_dir(serve) / src.name
    half = len(lines) // 2
    dst.write_bytes(b"".join(lines[:half]))
    tid = thread_id(src)
    row = wait_for("threads row", lambda: serve.thread_row(tid))
    assert row["rollout_path"] == str(dst)
    wait_for("first half indexed",
             lambda: (r := serve.thread_row(tid)) and r["lines_parsed"] == half)

    with dst.open("ab") as f:
        f.write(b"".join(lines[half:]))
    full = wait_for("appended lines indexed",
                    lambda: (r := serve.thread_row(tid)) and r["lines_parsed"] == len(lines) and r)
    assert full["file_size"] == src.stat().st_size
    assert full["parsed_offset"] == src.stat().st_size
    assert full["index_error"] is None

    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0
    stopping = serve.events("daemon_stopping")
    assert stopping and stopping[0]["reason"] == "SIGTERM"
    stopped = serve.events("daemon_stopped")
    assert stopped and stopped[-1]["exit_code"] == 0
    assert_stable_event_names(serve)


def test_sigint_stops_cleanly(serve: Serve) -> None:
    serve.start_ready()
    serve.signal(signal.SIGINT)
    assert serve.wait_exit() == 0
    assert serve.events("daemon_stopping")[0]["reason"] == "SIGINT"
    assert serve.events("daemon_stopped")[-1]["exit_code"] == 0


def test_second_serve_on_same_state_dir_refuses(serve: Serve) -> None:
    first = serve.start_ready()
    second = subprocess.run(
        [sys.executable, "-m", "memoryd", "serve"],
        env=serve.env, cwd=serve.base, capture_output=True, timeout=WAIT,
        stdin=subprocess.DEVNULL,
    )
    assert second.returncode == 1
    err = second.stderr.decode().strip()
    assert len(err.splitlines()) == 1, err
    assert "already owns state dir" in err and str(serve.state) in err
    assert f"pid {first.pid}" in err
    # The refused one did not touch the running daemon or its log.
    assert first.poll() is None
    assert len(serve.events("daemon_started")) == 1
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0

    # The lock dies with its holder: the next start succeeds.
    serve.start_ready()
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0


def test_sighup_reloads_config_and_keeps_running_on_a_broken_one(
    serve: Serve, fixture_rollouts: list[Path]
) -> None:
    write_config(serve, "[index]\nrescan_seconds = 300\n")
    day = day_dir(serve)
    proc = serve.start_ready()

    serve.config_path.write_text("[index\nrescan_seconds = ", encoding="utf-8")
    serve.signal(signal.SIGHUP)
    failed = serve.wait_event("config_reload_failed")
    assert "TOML syntax error" in failed["error"] and str(serve.config_path) in failed["error"]

    serve.config_path.write_text('[index]\nrescan_seconds = "often"\n', encoding="utf-8")
    serve.signal(signal.SIGHUP)
    failed = serve.wait_event("config_reload_failed", after=1)
    assert "index.rescan_seconds" in failed["error"]
    assert proc.poll() is None

    # Still watching with the old config.
    src = fixture_rollouts[0]
    shutil.copy(src, day / src.name)
    wait_for("threads row after a failed reload", lambda: serve.thread_row(thread_id(src)))

    extra = serve.base / "more-sessions"
    serve.config_path.write_text(
        f'sessions_dirs = ["{extra}"]\n[index]\nrescan_seconds = 60\n', encoding="utf-8"
    )
    serve.signal(signal.SIGHUP)
    reloaded = serve.wait_event("config_reloaded")
    assert set(reloaded["changed"]) == {"index.rescan_seconds", "sessions_dirs"}
    restart = serve.wait_event("config_reload_needs_restart")
    assert restart["paths"] == ["sessions_dirs"]

    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0


def test_sessions_dir_created_after_start_is_watched(
    serve: Serve, fixture_rollouts: list[Path]
) -> None:
    serve.codex.mkdir()  # a Codex home without sessions/ yet
    serve.start_ready()
    assert not serve.codex.joinpath("sessions").exists()

    src = fixture_rollouts[2]
    shutil.copy(src, day_dir(serve) / src.name)
    row = wait_for("threads row in a new sessions dir", lambda: serve.thread_row(thread_id(src)))
    assert row["index_error"] is None

    # A whole day directory moved in at once gives one event for the directory only.
    staging = serve.base / "staging" / "23"
    staging.mkdir(parents=True)
    moved = fixture_rollouts[0]
    shutil.copy(moved, staging / moved.name)
    os.rename(staging, serve.codex.joinpath("sessions", "2026", "11", "23"))
    wait_for("threads row in a moved-in directory", lambda: serve.thread_row(thread_id(moved)))

    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0


def test_second_sigterm_exits_at_once(serve: Serve, fixture_rollouts: list[Path]) -> None:
    """The first signal waits (up to the grace period) for running work; the second does not.

    Running work is made to last: the test holds the state DB's write lock, so the daemon's
    indexing of a new rollout waits on it (busy_timeout)."""
    write_config(serve, '[log]\nlevel = "debug"\n[daemon]\nshutdown_grace_seconds = 120\n')
    day = day_dir(serve)
    serve.start_ready()
    blocker = sqlite3.connect(serve.db_path, timeout=5, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        src = fixture_rollouts[0]
        shutil.copy(src, day / src.name)
        serve.wait_event("watch_changes")
        t0 = time.monotonic()
        serve.signal(signal.SIGTERM)
        stopping = serve.wait_event("daemon_stopping")
        # the indexing (and possibly a consolidation check) waits on the lock
        assert stopping["running"] >= 1, "work was expected to be waiting on the lock"
        assert serve.proc is not None and serve.proc.poll() is None  # draining, not gone
        serve.signal(signal.SIGTERM)
        assert serve.wait_exit() == 1
        assert time.monotonic() - t0 < 60  # far below the 120 s grace
        forced = serve.events("daemon_forced_exit")
        assert forced and forced[0]["signal"] == "SIGTERM"
        assert not serve.events("daemon_stopped")
        assert_stable_event_names(serve)  # at debug level too
    finally:
        blocker.close()

    # Nothing was lost: the next start indexes the file.
    serve.start_ready()
    assert serve.thread_row(thread_id(fixture_rollouts[0])) is not None
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0


def test_grace_period_expires_then_work_is_cancelled(
    serve: Serve, fixture_rollouts: list[Path]
) -> None:
    write_config(serve, '[log]\nlevel = "debug"\n[daemon]\nshutdown_grace_seconds = 0.3\n')
    day = day_dir(serve)
    serve.start_ready()
    blocker = sqlite3.connect(serve.db_path, timeout=5, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        src = fixture_rollouts[0]
        shutil.copy(src, day / src.name)
        serve.wait_event("watch_changes")
        serve.signal(signal.SIGTERM)
        expired = serve.wait_event("shutdown_grace_expired")
        assert expired["running"] >= 1
    finally:
        # The cancelled write may now get the lock; it must not commit a half transaction.
        blocker.close()
    assert serve.wait_exit() == 0
    assert serve.events("daemon_stopped")[-1]["exit_code"] == 0

    # The cancelled work is redone by the next start.
    serve.start_ready()
    row = serve.thread_row(thread_id(fixture_rollouts[0]))
    assert row is not None and row["parsed_offset"] == fixture_rollouts[0].stat().st_size
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0


def test_failed_side_task_stops_the_daemon_non_zero(
    serve: Serve, fixture_rollouts: list[Path]
) -> None:
    """A broken state DB (here: its threads table is gone) is not something to limp on with."""
    day = day_dir(serve)
    serve.start_ready()
    conn = sqlite3.connect(serve.db_path, timeout=5)
    try:
        conn.execute("ALTER TABLE threads RENAME TO threads_moved_away")
        conn.commit()
    finally:
        conn.close()
    src = fixture_rollouts[0]
    shutil.copy(src, day / src.name)
    assert serve.wait_exit() == 1
    failed = serve.events("side_task_failed")
    # whichever side task touches the table first (the watcher's indexing, or a phase)
    assert failed and failed[0]["task"] in ("watcher", "phase1", "phase2")
    assert "no such table" in failed[0]["error"]
    assert serve.events("daemon_stopping")[0]["reason"] == "side_task_failed"
    assert serve.events("daemon_stopped")[-1]["exit_code"] == 1


def test_bad_config_refuses_to_start(serve: Serve) -> None:
    write_config(serve, "[index]\nrescan_seconds = 0\n")
    proc = serve.start()
    assert proc.wait(timeout=WAIT) == 2
    assert "index.rescan_seconds" in serve.stderr()
    assert not serve.log_path.exists()


def test_unusable_state_db_refuses_to_start(serve: Serve) -> None:
    serve.state.mkdir(mode=0o700)
    serve.db_path.write_bytes(b"this is not a database" * 100)
    proc = serve.start()
    assert proc.wait(timeout=WAIT) == 1
    err = serve.stderr().strip().splitlines()[-1]
    assert err.startswith("memoryd: state DB") and str(serve.db_path) in err
    failed = serve.events("daemon_failed")
    assert failed and str(serve.db_path) in failed[0]["error"]


# ------------------------------------------------------------------------------------------------
# phase 1 inside the daemon


def test_daemon_extracts_idle_rollouts_and_wakes_when_one_goes_idle(serve: Serve) -> None:
    from memoryd.demo import install_examples

    paths = install_examples(serve.codex / "sessions")
    # One rollout is 4 s short of the 12 h idle window: the daemon must not poll for it, but
    # sleep until exactly then and take it.
    late = paths[0]
    t = time.time() - 12 * 3600 + 4
    os.utime(late, (t, t))
    serve.start_ready()
    wait_for("two idle rollouts extracted", lambda: stage1_count(serve) == 2)
    assert stage1_count(serve) == 2
    wait_for("the third once it goes idle", lambda: stage1_count(serve) == 3, timeout=30)
    assert len(serve.events("stage1_succeeded")) == 3
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0
    assert_stable_event_names(serve)


def test_the_first_sessions_are_consolidated_without_waiting_out_the_interval(
    serve: Serve,
) -> None:
    """A daemon whose first phase-2 pass found nothing to consolidate (no sessions yet) takes
    the first extracted memories at once, not after phase2.min_interval_seconds (15 min by
    default): an empty pass is not a consolidation to space the next one from."""
    from memoryd.demo import install_examples

    serve.start_ready()
    serve.wait_event("phase2_nothing_to_consolidate")
    install_examples(serve.codex / "sessions")
    memory_md = serve.state / "memories" / "MEMORY.md"
    projects = ("proj-alpha", "proj-tools", "proj-compact")
    wait_for(
        "the three sessions consolidated into MEMORY.md",
        lambda: memory_md.is_file() and all(p in memory_md.read_text() for p in projects),
        timeout=60,  # far below the 900 s interval an empty pass used to impose
    )
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0
