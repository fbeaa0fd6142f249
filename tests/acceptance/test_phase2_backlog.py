"""The daemon consolidates a backlog once, after phase 1 has drained it (supervisor.py,
``Daemon._defer_while_phase1_drains``), even with ``phase2.min_interval_seconds = 0``, where
every phase-1 output wakes phase 2. Without the deferral a backlog was consolidated again
and again while it was still being extracted, each time rewriting the memory folder (and,
with a model, spending its tokens)."""

from __future__ import annotations

from support.control import cli
from support.daemon import KEY_ENV, Serve, db, scalar, wait_for, write_config
from support.fake_model import running
from support.rollouts import write_idle_rollouts

THREADS = 40

CONFIG = f"""\
[phase1]
backend = "openai"
concurrency = 2

[phase2]
min_interval_seconds = 0

[backends.openai]
base_url = "{{url}}"
api_key_env = "{KEY_ENV}"
timeout_seconds = 30
"""


def test_a_backlog_is_consolidated_once_after_phase1_drains_it(short_serve: Serve) -> None:
    s = short_serve
    write_idle_rollouts(s.codex / "sessions", THREADS)
    # 40 extractions, two at a time, 50-100 ms each: phase 1 takes about a second, so an
    # undeferred phase 2 would consolidate several partial backlogs meanwhile.
    with running(0.05, 0.1) as (_, url):
        write_config(s, CONFIG.format(url=url))
        s.start_ready()
        wait_for(
            "the backlog consolidated",
            lambda: (
                scalar(
                    s.db_path,
                    "SELECT count(*) FROM phase2_runs WHERE outcome = 'succeeded' "
                    "AND inputs_added + inputs_retained = ?",
                    THREADS,
                )
                == 1
            ),
            timeout=120,
        )
    assert scalar(s.db_path, "SELECT count(*) FROM stage1_outputs") == THREADS
    with db(s.db_path) as conn:
        runs = conn.execute(
            "SELECT inputs_added + inputs_retained FROM phase2_runs WHERE outcome = 'succeeded'"
        ).fetchall()
    # The daemon's first run, before any output exists, sets up the empty folder (0 inputs);
    # after that the backlog is consolidated once, whole.
    partial = [n for (n,) in runs if 0 < n < THREADS]
    assert partial == [], f"partial backlogs were consolidated first: {runs}"
    assert s.events("phase2_deferred"), "phase 2 was woken while phase 1 was busy, and waited"
    memory = (s.codex / "memories" / "MEMORY.md").read_text(encoding="utf-8")
    assert memory.strip()


def test_trigger_phase2_is_not_deferred_by_a_running_backlog(short_serve: Serve) -> None:
    """``trigger phase2`` is the user asking for a consolidation now: it does not wait for
    phase 1, which here is held back by a model that takes seconds per call."""
    s = short_serve
    write_idle_rollouts(s.codex / "sessions", THREADS)
    with running(3.0, 3.0) as (_, url):
        write_config(s, CONFIG.format(url=url))
        s.start_ready()
        wait_for("phase 1 to be running", lambda: running_jobs(s) > 0)
        done = cli(s, "trigger", "phase2")
        assert done.returncode == 0, done.stderr
        assert running_jobs(s) > 0, "phase 1 was still busy when phase 2 ran"
        assert scalar(s.db_path, "SELECT count(*) FROM phase2_runs") >= 1


def running_jobs(s: Serve) -> int:
    return scalar(
        s.db_path,
        "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' AND status = 'running'",
    )
