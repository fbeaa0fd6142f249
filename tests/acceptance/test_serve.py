"""End-to-end tests of ``memoryd serve``: a real subprocess, real files, real signals.

Every test starts the daemon against a temporary Codex home and state dir, waits (bounded) for
what it expects in the JSON log or the state DB, and kills what it started in teardown (the
``serve`` fixture, tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from support.daemon import (
    KEY_ENV,
    WAIT,
    Serve,
    db,
    running_jobs,
    stage1_count,
    wait_for,
    write_config,
)
from support.dblock import DBLocker
from support.fake_model import running
from support.rollouts import write_idle_rollouts

from memoryd.daemon.supervisor import SHUTDOWN_HARD_DEADLINE_SECONDS
from memoryd.store.jobs import STAGE1

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
    wait_for(
        "first half indexed", lambda: (r := serve.thread_row(tid)) and r["lines_parsed"] == half
    )

    with dst.open("ab") as f:
        f.write(b"".join(lines[half:]))
    full = wait_for(
        "appended lines indexed",
        lambda: (r := serve.thread_row(tid)) and r["lines_parsed"] == len(lines) and r,
    )
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
        env=serve.env,
        cwd=serve.base,
        capture_output=True,
        timeout=WAIT,
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
        assert "index_batch" in [j["job"] for j in expired["jobs"]], expired  # what waited
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


STALLED_MODEL_CONFIG = f"""\
[log]
level = "debug"

[daemon]
shutdown_grace_seconds = 1  # GRACE

[phase1]
backend = "openai"
concurrency = 2
lease_seconds = 10
heartbeat_seconds = 2

[backends.openai]
base_url = "{{url}}"
api_key_env = "{KEY_ENV}"
timeout_seconds = 300
"""


GRACE = 1.0


def sigterm_with_two_jobs_behind_a_locked_db(s: Serve, locker: DBLocker) -> dict[str, Path]:
    """Start the daemon on two idle rollouts and a model that never answers in time, take
    the state DB's write lock from another process (``locker``), send SIGTERM and return once
    the grace period is over, checking that the log names both jobs and how long they ran.
    The caller runs this inside ``fake_model.running`` and ``write_config``."""
    threads = write_idle_rollouts(s.codex / "sessions", 2)
    proc = s.start_ready()
    wait_for("both jobs to be running", lambda: running_jobs(s.db_path, STAGE1, proc.pid) == 2)
    locker.hold()
    s.signal(signal.SIGTERM)
    expired = s.wait_event("shutdown_grace_expired")
    named = {j["job"]: j["running_seconds"] for j in expired["jobs"]}
    for tid in threads:
        assert named.get(f"{STAGE1}:{tid}", 0) >= GRACE, expired
    return threads


def test_a_locked_db_cannot_hold_up_shutdown_past_the_hard_deadline(short_serve: Serve) -> None:
    """Another process holds the state DB's write lock through the shutdown: handing the jobs
    back waits on it, and gets SHUTDOWN_HARD_DEADLINE_SECONDS after the grace period before
    the daemon exits anyway (status 1, the log naming the jobs). The jobs are not lost: after
    the lock is gone the next start takes them over once their leases run out."""
    s = short_serve
    locker = DBLocker(s.db_path)
    with running(600.0, 600.0) as (_, url), contextlib.closing(locker):
        write_config(s, STALLED_MODEL_CONFIG.format(url=url))
        threads = sigterm_with_two_jobs_behind_a_locked_db(s, locker)
        t0 = time.monotonic()
        code = s.wait_exit(timeout=SHUTDOWN_HARD_DEADLINE_SECONDS + WAIT)
        took = time.monotonic() - t0
    # Exit at the hard deadline after the grace period (plus a loaded machine's slack), not
    # whenever the lock goes.
    assert took < SHUTDOWN_HARD_DEADLINE_SECONDS + 5, took
    assert code == 1
    hard = s.events("shutdown_hard_deadline_expired")
    assert hard and {f"{STAGE1}:{tid}" for tid in threads} <= {j["job"] for j in hard[0]["jobs"]}
    assert not s.events("stage1_released")  # the lock never let a hand-back through
    assert not s.events("daemon_stopped")

    with running(0.01, 0.02) as (_, url):
        write_config(s, STALLED_MODEL_CONFIG.format(url=url))
        s.start_ready()
        wait_for(
            "both threads extracted after the leases ran out",
            lambda: stage1_count(s) == 2,
            timeout=WAIT + 10,  # phase1.lease_seconds
        )
    s.signal(signal.SIGTERM)
    assert s.wait_exit() == 0


def test_a_lock_released_within_the_hard_deadline_lets_the_jobs_be_handed_back(
    short_serve: Serve,
) -> None:
    """The same shutdown, but the lock goes a moment after the grace period: the finalisers
    are still inside the hard deadline, hand both jobs back (pending again, no retry spent)
    and the daemon stops cleanly."""
    s = short_serve
    locker = DBLocker(s.db_path)
    with running(600.0, 600.0) as (_, url), contextlib.closing(locker):
        write_config(s, STALLED_MODEL_CONFIG.format(url=url))
        threads = sigterm_with_two_jobs_behind_a_locked_db(s, locker)
        time.sleep(1)  # the hand-backs are waiting on the lock now
        locker.release()
        assert s.wait_exit(timeout=SHUTDOWN_HARD_DEADLINE_SECONDS + WAIT) == 0
    assert {e["thread_id"] for e in s.events("stage1_released")} == set(threads)
    assert not s.events("shutdown_hard_deadline_expired")
    with db(s.db_path) as conn:
        rows = conn.execute(
            "SELECT status, lease_until, retry_remaining FROM jobs WHERE kind = ?", (STAGE1,)
        ).fetchall()
    assert rows == [("pending", None, 3)] * 2, rows


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
