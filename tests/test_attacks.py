"""Attacks on memoryd (issue 14, first half): a consolidation agent that misbehaves, links
planted in the memory root and the state dir, loose modes, and configuration aimed at the
user's own files. Each test names the attack and checks what memoryd does instead of the harm.

The loopback model (tests/support/responses_server.py) is scripted to attack; daemons and
``run --once`` are real subprocesses on a throw-away home (tests/support/daemon.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import aiosqlite
import anyio
import pygit2
import pytest
import structlog
from support.daemon import KEY_ENV, daemon_env, scalar, serving, short_dir, wait_for
from support.protocols import model_turns
from support.responses_server import (
    Behaviour,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)
from test_phase2 import env as env  # the real DB with phase-1 outputs, and a codex home

from memoryd import doctor
from memoryd.agent.offline import OfflineConsolidator
from memoryd.agent.tools import MemoryRootTools
from memoryd.config import Config, Phase2Config, load_settings
from memoryd.demo import install_examples
from memoryd.phase2 import Consolidator
from memoryd.workspace import diff_against_baseline, ensure_baseline, reset_baseline, snapshot

# (a+)+$ against 40 a's and a "!" backtracks through 2^40 ways to split the a's: hours in re.
BAIT = "a" * 40 + "!\n"
HOSTILE = "(a+)+$"


@pytest.fixture
def base() -> Iterator[Path]:
    with short_dir("mdatk-") as path:
        yield path


def search_call(path: str | None = None) -> str:
    return json.dumps({"pattern": HOSTILE, "path": path, "regex": True})


# --- a backtracking regex --------------------------------------------------------------------


def test_a_backtracking_regex_is_stopped_at_its_deadline(tmp_path: Path) -> None:
    (tmp_path / "bait.md").write_text(BAIT)
    tools = MemoryRootTools(tmp_path, search_seconds=0.5)
    out = tools.call("search", search_call())
    assert out == (
        "error: the regex search was stopped: it ran longer than 0.5s; simplify the pattern "
        "(nested repetition backtracks) or search for plain text"
    )
    # An ordinary regex still answers, through the same child process.
    ok = json.dumps({"pattern": r"a{3}!$", "path": None, "regex": True})
    assert tools.call("search", ok) == f"bait.md:1: {BAIT.strip()}"


def test_abort_stops_a_running_regex_search_at_once(tmp_path: Path) -> None:
    """A cancelled run aborts the tool in progress: the search with an hour's deadline ends
    as soon as ``abort`` is called, from another thread."""
    (tmp_path / "bait.md").write_text(BAIT)
    tools = MemoryRootTools(tmp_path, search_seconds=3600)
    answer: list[str] = []
    worker = threading.Thread(target=lambda: answer.append(tools.call("search", search_call())))
    worker.start()
    child = wait_for("the search child to start", lambda: tools._regex._child)
    tools.abort()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert child.returncode == -signal.SIGKILL  # killed and reaped, not left running
    assert answer == [
        "error: the regex search was stopped: aborted; simplify the pattern (nested repetition "
        "backtracks) or search for plain text"
    ]


def hostile_model(req: ReceivedRequest) -> Behaviour:
    """Phase 1: a valid memory. Phase 2: write the bait, then search it with a backtracking
    regex, turn after turn."""
    if "tools" not in req.json:
        return Reply(text='{"rollout_summary": "s", "rollout_slug": null, "raw_memory": "m"}')
    n = model_turns(req)
    if n == 0:
        args = {"path": "bait.md", "content": BAIT}
        return Reply(text=None, items=[function_call_item("write_file", args, "t0_0")])
    args2 = {"pattern": HOSTILE, "path": "bait.md", "regex": True}
    return Reply(text=None, items=[function_call_item("search", args2, f"t{n}_0")])


def hostile_config(url: str, **phase2: object) -> str:
    extra = "".join(f"{k} = {v}\n" for k, v in phase2.items())
    return (
        '[phase1]\nbackend = "openai"\n'
        f'[phase2]\nbackend = "openai"\nmin_interval_seconds = 0\n{extra}'
        f'[backends.openai]\nbase_url = "{url}"\napi_key_env = "{KEY_ENV}"\n'
        'timeout_seconds = 10\n[log]\nlevel = "debug"\n'
    )


async def test_run_once_keeps_to_max_seconds_during_a_hostile_search(base: Path) -> None:
    """The search's own deadline is 10 minutes; the run's is 3 s. ``run --once`` stops the agent
    at its wall-time limit (the child is killed) and exits, the run stored as time_limit."""
    install_examples(base / "codex" / "sessions")
    async with ResponsesServer(responder=hostile_model) as srv:
        (base / "memoryd.toml").write_text(
            hostile_config(srv.url, max_seconds=3, search_regex_seconds=600)
        )
        cmd = [sys.executable, "-m", "memoryd", "--config", str(base / "memoryd.toml")]
        done = await anyio.to_thread.run_sync(
            lambda: subprocess.run(
                [*cmd, "run", "--once"],
                env=daemon_env(base),
                cwd=base,
                capture_output=True,
                text=True,
                timeout=120,  # far below the search's 10 minutes; killed (by PID) past it
            )
        )
    assert done.returncode == 0, done.stderr
    assert "phase 2: failed: time_limit: the agent did not finish within 3s" in done.stdout
    db = base / "state" / "memoryd.sqlite"
    assert scalar(db, "SELECT count(*) FROM phase2_runs WHERE reason LIKE 'time_limit:%'") == 1


async def test_sigterm_stops_the_daemon_during_a_hostile_search(base: Path) -> None:
    """SIGTERM while the agent's regex search runs (its deadline 10 minutes away): the daemon
    cancels the run, kills the search and exits within its grace period, status 0."""
    install_examples(base / "codex" / "sessions")
    async with ResponsesServer(responder=hostile_model) as srv:
        config = hostile_config(srv.url, search_regex_seconds=600) + (
            "[daemon]\nshutdown_grace_seconds = 2\n"
        )
        with serving(base, config) as daemon:
            proc = daemon.procs[0]

            def searching() -> bool:
                assert proc.poll() is None, daemon.stderr()
                return any(e.get("turn") == 2 for e in daemon.events("phase2_agent_turn"))

            await anyio.to_thread.run_sync(lambda: wait_for("the hostile search", searching, 60))
            await anyio.sleep(0.5)  # the search child is running now
            proc.send_signal(signal.SIGTERM)
            code = await anyio.to_thread.run_sync(lambda: proc.wait(timeout=60))
    assert code == 0, daemon.stderr()
    db = base / "state" / "memoryd.sqlite"
    assert scalar(db, "SELECT count(*) FROM phase2_runs WHERE reason = 'stopped'") == 1


# --- a file too big for the workspace ---------------------------------------------------------

LIMIT = 8192


def test_a_file_over_the_limit_is_in_no_baseline_diff_or_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    root.mkdir()
    (root / "MEMORY.md").write_text("# memory\n")
    ensure_baseline(root, max_file_bytes=LIMIT)
    (root / "dump.bin").write_bytes(b"x" * (LIMIT + 1))
    (root / "ok.md").write_bytes(b"y" * LIMIT)
    diff = diff_against_baseline(root, max_file_bytes=LIMIT)
    assert diff.added == ["ok.md"] and diff.too_big == ("dump.bin",)
    assert set(snapshot(root, max_file_bytes=LIMIT)) == {"MEMORY.md", "ok.md"}
    reset_baseline(root, max_file_bytes=LIMIT)
    head = pygit2.Repository(str(root / ".git")).head.peel(pygit2.Commit)
    assert sorted(e.name for e in head.tree) == ["MEMORY.md", "ok.md"]
    # Left out, not deleted: the file is still there, and does not show up as a deletion.
    assert (root / "dump.bin").stat().st_size == LIMIT + 1
    assert diff_against_baseline(root, max_file_bytes=LIMIT).changes == ()


def test_a_baseline_from_before_the_limit_does_not_report_the_big_file_deleted(
    tmp_path: Path,
) -> None:
    root = tmp_path / "memories"
    root.mkdir()
    (root / "dump.bin").write_bytes(b"x" * (LIMIT + 1))
    ensure_baseline(root, max_file_bytes=LIMIT * 4)  # an older, larger limit took it in
    diff = diff_against_baseline(root, max_file_bytes=LIMIT)
    assert diff.changes == () and diff.too_big == ("dump.bin",)


async def test_phase2_leaves_a_big_user_file_out_of_the_baseline_and_history_with_a_warning(
    env: tuple[aiosqlite.Connection, Path, Path], tmp_path: Path
) -> None:
    conn, home, root = env
    cfg = Config(phase2=Phase2Config(max_file_bytes=LIMIT))
    root.mkdir(mode=0o700)
    (root / "video.mp4").write_bytes(b"\0" * (LIMIT * 3))
    hist = tmp_path / "history"
    c = Consolidator(
        conn, cfg, OfflineConsolidator(), root=root, codex_home=home, worker_id="t",
        history_dir=hist,
    )  # fmt: skip
    with structlog.testing.capture_logs() as logs:
        result = await c.run_once()
    assert result.outcome == "succeeded"
    assert "video.mp4" not in result.changed_paths
    warned = [e for e in logs if e["event"] == "phase2_files_too_big"]
    assert [e["files"] for e in warned] == [["video.mp4"]]
    head = pygit2.Repository(str(root / ".git")).head.peel(pygit2.Commit)
    assert "video.mp4" not in {e.name for e in head.tree}
    history = pygit2.Repository(str(hist))
    tree = history.head.peel(pygit2.Commit).tree
    assert "video.mp4" not in {e.name for e in tree} and "MEMORY.md" in {e.name for e in tree}
    assert (root / "video.mp4").stat().st_size == LIMIT * 3  # the user's file is untouched


def test_doctor_names_the_files_left_out(tmp_path: Path) -> None:
    root = tmp_path / "codex" / "memories"
    root.mkdir(parents=True, mode=0o700)
    (root / "memory_summary.md").write_text("v1\n")
    (root / "memory_summary.md").chmod(0o600)
    big = root / "dump.bin"
    big.write_bytes(b"x" * (LIMIT + 1))
    big.chmod(0o600)
    cfg = tmp_path / "memoryd.toml"
    cfg.write_text(f"[phase2]\nmax_file_bytes = {LIMIT}\n")
    settings = load_settings(cfg, env={"HOME": str(tmp_path), "CODEX_HOME": str(tmp_path / "codex"),
                                       "MEMORYD_STATE_DIR": str(tmp_path / "state")})  # fmt: skip
    check = doctor.check_memory_root(settings)
    assert (check.status, check.message) == (
        "warn",
        f"1 file(s) in {root} are larger than phase2.max_file_bytes ({LIMIT} bytes) and are "
        "left out of the baseline, the diff and the history: dump.bin",
    )
    assert check.fix == "move them out of the memory root, or raise phase2.max_file_bytes"
