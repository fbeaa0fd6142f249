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

import anyio
import pytest
from support.daemon import KEY_ENV, daemon_env, scalar, serving, short_dir, wait_for
from support.protocols import model_turns
from support.responses_server import (
    Behaviour,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)

from memoryd.agent.tools import MemoryRootTools
from memoryd.demo import install_examples

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
