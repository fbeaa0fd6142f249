"""Crash test (issue 7, SPEC §3, §4, §8): ``memoryd serve`` SIGKILLed ten times mid-work.

300 eligible rollouts, both phases on the ``openai`` backends against a loopback model in its
own process that answers every call after a random 20–200 ms (phase 2 is a scripted tool-calling
agent, so a consolidation lasts several model turns and can be killed half-way). The daemon is
killed at random moments while stage-1 jobs run and while a consolidation runs, and restarted
each time; then it is left to finish. Afterwards:

* every eligible thread has exactly one stage-1 output, for its current ``updated_at``;
* the extraction calls the model received are at most the number of threads plus the jobs that
  were in flight at each kill (a killed job is redone, nothing else is);
* the memory folder is valid and its git baseline clean;
* no file in the memory root is truncated or half-written, and the derived files match the DB.

Each kill first freezes the daemon (SIGSTOP), so the in-flight count read from the DB is the
exact state it dies in, then SIGKILLs it.

The phase-1 kills come first: the daemon consolidates a backlog only once its phase 1 has
drained it (supervisor.py), so consolidations to kill exist only after the extractions. The
moment of each kill within its phase stays random.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from support.daemon import (
    KEY_ENV,
    Serve,
    db,
    running_jobs,
    scalar,
    threads_left,
    wait_for,
    write_config,
)
from support.fake_model import MEMORY_MD, STAGE1_REPLY, SUMMARY_MD, running
from support.rollouts import write_idle_rollouts

from memoryd.layout import (
    MEMORY_FILE,
    RAW_MEMORIES_FILE,
    ROLLOUT_SUMMARIES_DIR,
    SUMMARY_FILE,
    rollout_summary_stem,
)
from memoryd.memroot.artifacts import remove_stale_temp_files
from memoryd.phase2.validate import validate_artifacts
from memoryd.workspace.baseline import diff_against_baseline

THREADS = 300
KILLS = ["phase1"] * 6 + ["phase2"] * 4
PHASE_WAIT = 60.0  # bound for the work a kill targets to show up
FINISH_WAIT = 150.0  # bound for the last daemon to extract and consolidate what is left

CONFIG = f"""\
[phase1]
backend = "openai"
concurrency = 4
lease_seconds = 10
heartbeat_seconds = 2
retry_delay_seconds = 1

[phase2]
backend = "openai"
min_interval_seconds = 1
lease_seconds = 10
heartbeat_seconds = 2
retry_delay_seconds = 1
max_inputs = 512

[backends.openai]
base_url = "{{url}}"
api_key_env = "{KEY_ENV}"
timeout_seconds = 30
"""


def consolidated_all(path: Path, since_ms: int) -> bool:
    """Every output is in the last successful selection, no consolidation runs, and one
    started since ``since_ms`` has finished (it cleans up what a kill left behind)."""
    return (
        scalar(
            path,
            "SELECT count(*) FROM phase2_runs WHERE started_at >= ? "
            "AND outcome IN ('succeeded', 'noop')",
            since_ms,
        )
        > 0
        and threads_left(path) == 0
        and scalar(
            path,
            "SELECT count(*) FROM stage1_outputs WHERE selected_for_phase2 = 1 "
            "AND selected_for_phase2_source_updated_at = source_updated_at",
        )
        == THREADS
        and scalar(
            path,
            "SELECT count(*) FROM jobs WHERE kind = 'memory_consolidate_global' "
            "AND status = 'running'",
        )
        == 0
    )


def test_sigkill_at_random_moments_loses_nothing_and_repeats_only_in_flight_work(
    short_serve: Serve,
) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4)))
    seed_note = f"(kill plan seed {rng.random():.6f})"
    s = short_serve
    calls_log = s.base / "model-calls.jsonl"
    with running(0.02, 0.2, calls_log) as (_server, url), contextlib.ExitStack() as stack:
        stack.callback(s.kill_all)
        threads = write_idle_rollouts(s.codex / "sessions", THREADS)
        write_config(s, CONFIG.format(url=url))

        kills: list[tuple[str, int, bool]] = []  # (target, stage-1 in flight, phase 2 running)
        for target in KILLS:
            proc = s.start()
            if target == "phase1" and kills and threads_left(s.db_path) == 0:
                target = "phase2"  # phase 1 is done: only consolidations are left to kill
            kind = "memory_stage1" if target == "phase1" else "memory_consolidate_global"

            def busy(kind: str = kind, proc: subprocess.Popen[bytes] = proc) -> bool:
                assert proc.poll() is None, f"daemon died: {s.stderr()}"
                return running_jobs(s.db_path, kind, proc.pid) > 0

            wait_for(f"{target} work in daemon {proc.pid} {seed_note}", busy, PHASE_WAIT)
            # Not synchronisation: the kill lands at a random moment inside that work (a
            # consolidation is shorter than phase 1, so its window is too).
            time.sleep(rng.uniform(0.0, 1.0 if target == "phase1" else 0.4))
            os.kill(proc.pid, signal.SIGSTOP)
            in_flight = running_jobs(s.db_path, "memory_stage1", proc.pid)
            consolidating = running_jobs(s.db_path, "memory_consolidate_global", proc.pid) > 0
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            kills.append((target, in_flight, consolidating))

        last_start_ms = int(time.time() * 1000)
        proc = s.start()
        wait_for(
            f"everything extracted and consolidated {seed_note}",
            lambda: proc.poll() is None and consolidated_all(s.db_path, last_start_ms),
            FINISH_WAIT,
        )
        s.signal(signal.SIGTERM)
        assert s.wait_exit() == 0, s.stderr()

    # The kills hit what they were meant to hit.
    assert len(kills) == len(KILLS)
    assert sum(1 for _, n, _c in kills if n > 0) >= 3, kills
    assert sum(1 for *_, c in kills if c) >= 2, kills

    # Every eligible thread has exactly one output, for its current version.
    with db(s.db_path) as conn:
        rows = conn.execute(
            "SELECT t.id, t.updated_at, o.source_updated_at, o.rollout_slug, o.rollout_summary, "
            "o.raw_memory FROM threads t JOIN stage1_outputs o ON o.thread_id = t.id"
        ).fetchall()
        outputs = conn.execute("SELECT count(*) FROM stage1_outputs").fetchone()[0]
        failed_runs = conn.execute(
            "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' AND last_error IS NOT NULL"
        ).fetchone()[0]
    assert outputs == len(rows) == THREADS
    assert {r[0] for r in rows} == set(threads)
    assert all(r[2] == r[1] // 1000 for r in rows)
    assert failed_runs == 0

    # Model calls: every thread once, plus at most one redo per job in flight at a kill.
    kinds = calls_log.read_text(encoding="utf-8").splitlines()
    phase1_calls = sum(1 for line in kinds if '"phase1"' in line)
    redo_bound = sum(n for _, n, _c in kills)
    assert THREADS <= phase1_calls <= THREADS + redo_bound, (phase1_calls, kills)

    # The memory folder is valid, its baseline clean, nothing half-written or left over.
    root = s.state / "memories"
    assert (s.codex / "memories").resolve() == root  # what Codex reads
    assert validate_artifacts(root) is None
    assert diff_against_baseline(root).is_empty
    leftovers = [
        p.relative_to(root)
        for p in root.rglob("*")
        if ".git" not in p.relative_to(root).parts
        and (p.name.startswith(".") or p.name.endswith(".tmp"))
    ]
    assert leftovers == []
    assert not (root / "phase2_workspace_diff.md").exists()
    for md in root.rglob("*.md"):
        if ".git" not in md.relative_to(root).parts:
            md.read_bytes().decode("utf-8")  # raises on a torn multi-byte sequence
    assert (root / MEMORY_FILE).read_text(encoding="utf-8") == MEMORY_MD
    assert (root / SUMMARY_FILE).read_text(encoding="utf-8") == SUMMARY_MD

    # The derived files are exactly the DB's outputs.
    reply = json.loads(STAGE1_REPLY)
    expected = {
        rollout_summary_stem(tid, sua, slug) + ".md": (tid, summary)
        for tid, _u, sua, slug, summary, _raw in rows
    }
    summaries = root / ROLLOUT_SUMMARIES_DIR
    assert {p.name for p in summaries.iterdir()} == set(expected)
    for name, (tid, summary) in expected.items():
        text = (summaries / name).read_text(encoding="utf-8")
        assert text.startswith(f"thread_id: {tid}\n") and text.endswith(f"\n\n{summary}\n")
        assert summary == reply["rollout_summary"]
    raw = (root / RAW_MEMORIES_FILE).read_text(encoding="utf-8")
    assert sorted(
        line[len("## Thread `") : -1] for line in raw.splitlines() if line.startswith("## Thread `")
    ) == sorted(threads)
    assert raw.count(reply["raw_memory"].strip()) == THREADS

    # Nothing failed on the way that was not a kill.
    for i in range(len(s.procs)):
        assert "Traceback" not in s.stderr(i)
    names = {e.get("event") for e in s.events()}
    assert "side_task_failed" not in names and "stage1_failed" not in names
    assert "database is locked" not in s.log_path.read_text(encoding="utf-8")


def test_phase2_removes_the_temp_files_of_killed_writes(tmp_path: Path) -> None:
    """A write killed between creating its temp file and renaming it leaves the temp file;
    the next consolidation deletes it (and only such files) before taking a baseline."""
    root = tmp_path / "memories"
    (root / "rollout_summaries").mkdir(parents=True)
    (root / ".git").mkdir()
    dead = [
        root / ".MEMORY.md.k2x_9a0q.tmp",
        root / "rollout_summaries" / ".2026-11-21T16-59-20-ENJE-x.md.bhsfn23p.tmp",
    ]
    kept = [
        root / "MEMORY.md",
        root / "notes.tmp",  # not a temp-file name of ours
        root / ".MEMORY.md.short.tmp",
        root / ".git" / ".index.abcdefgh.tmp",  # git's own business
    ]
    for p in dead + kept:
        p.write_text("x", encoding="utf-8")
    removed = remove_stale_temp_files(root)
    assert removed == sorted(str(p.relative_to(root)) for p in dead)
    assert not any(p.exists() for p in dead)
    assert all(p.exists() for p in kept)
    assert remove_stale_temp_files(tmp_path / "missing") == []
