"""The ``codex`` backend: the installed Codex CLI as the phase-1 extractor and phase-2 agent.

Two kinds of test. The process-hygiene ones run real child processes (a small Python program
standing in for a child that spawns a grandchild and ignores SIGTERM) through the same runner
the backends use, and always run. The others run the real Codex CLI 0.169.0 (npm
``@openai/codex``), from ``$MEMORYD_TEST_CODEX``, pointed at the loopback Responses server
through a temporary CODEX_HOME written as in the observed reference §1, with every proxy
variable aimed at that server so nothing can leave the machine; they skip, saying why, when the
variable is unset.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from support.daemon import wait_for
from support.mock_codex import mock_env, write_mock_config
from support.responses_server import (
    Hang,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)

from memoryd.config import Config, Settings, resolve_paths
from memoryd.consolidate.base import ConsolidationInput
from memoryd.consolidate.codex import CodexConsolidator, changes
from memoryd.consolidate.factory import make_consolidator
from memoryd.daemon.runonce import run_once
from memoryd.demo import install_examples
from memoryd.errors import ConfigError
from memoryd.extract.base import ExtractionRequest, OutputError
from memoryd.extract.codex import CodexExtractor
from memoryd.extract.factory import make_extractor
from memoryd.extract.offline import OfflineExtractor
from memoryd.extract.output import STAGE1_SCHEMA
from memoryd.llm.codexcli import CodexRunner, CodexTimeoutError, child_args, find_codex
from memoryd.llm.types import BackendError, Usage
from memoryd.phase1 import Phase1
from memoryd.phase2 import Consolidator
from memoryd.phase2.result import Phase2Result
from memoryd.rollouts.indexer import Indexer
from memoryd.store import jobs
from memoryd.store.db import open_db
from memoryd.workspace.baseline import blob_id, diff_against_baseline, ensure_baseline

CODEX_ENV = os.environ.get("MEMORYD_TEST_CODEX")
CODEX = CODEX_ENV if CODEX_ENV and os.access(CODEX_ENV, os.X_OK) else None
needs_codex = pytest.mark.skipif(
    CODEX is None,
    reason="set MEMORYD_TEST_CODEX to a Codex CLI 0.169.0 binary (npm install @openai/codex) "
    "to run the codex backend against the real CLI; CI does",
)

UV_ROLLOUT = "01a2013d-497f-71f0-81b9-4c6d2314a10b"  # "I prefer uv over pip", proj-alpha
SECRET = "sk-proj-" + "Zq7" * 15  # a key shape the redactor knows
TINY_REQUEST = ExtractionRequest(
    thread_id="t", rollout_path="/r.jsonl", cwd="/w", rollout_contents="[]"
)
STAGE1_REPLY = {
    "rollout_summary": "The user ran pytest through uv in proj-alpha.",
    "rollout_slug": "pytest-with-uv",
    "raw_memory": "The user prefers uv over pip for running the test suite.",
}


# --- process helpers --------------------------------------------------------------------------


def live_group_members(pgid: int) -> list[int]:
    """PIDs of processes in group ``pgid`` that are not dead (zombies count as dead: an
    orphaned grandchild is reaped by init, not by us)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            out.append(int(entry))
    return out


async def poll(pred: Any, within: float = 60.0) -> None:
    """Wait until ``pred()`` is true, polling; fail after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not pred():  # noqa: ASYNC110 (state in another process or thread: no event)
            await asyncio.sleep(0.05)


# A child that starts a grandchild in its own process group, both ignoring SIGTERM, records
# both PIDs, then writes to stderr and hangs (or exits with ``code`` when one is given).
_CHILD = r"""
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
g = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
open(sys.argv[1], "w").write(f"{os.getpid()} {g.pid}")
sys.stderr.write("x" * int(sys.argv[3]) + "\nError: the child gave up\n")
sys.stderr.flush()
if sys.argv[2] != "hang":
    sys.exit(int(sys.argv[2]))
time.sleep(600)
"""


@dataclass
class FakeChild:
    runner: CodexRunner
    pidfile: Path

    def argv(self, mode: str, stderr_bytes: int = 0) -> list[str]:
        return [sys.executable, "-c", _CHILD, str(self.pidfile), mode, str(stderr_bytes)]

    def pids(self) -> list[int]:
        return [int(p) for p in self.pidfile.read_text().split()]


@pytest.fixture
def fake_child(tmp_path: Path) -> Iterator[FakeChild]:
    runner = CodexRunner(
        binary=Path(sys.executable),
        env=dict(os.environ),
        timeout_seconds=3.0,
        timeout_key="backends.codex.timeout_seconds",
        kill_grace=0.5,
    )
    child = FakeChild(runner, tmp_path / "pids")
    yield child
    if child.pidfile.exists():  # never leave one running, whatever the test did
        for pid in child.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def assert_all_gone(pids: list[int]) -> None:
    """The child is reaped and its group is dead. The child is reaped before run() returns;
    SIGKILL to the rest of the group is delivered asynchronously, so a grandchild may take a
    moment to die on a loaded machine: poll for it with a bounded deadline."""
    leader = pids[0]
    assert not Path(f"/proc/{leader}").exists(), "the child was not reaped"
    wait_for(
        "the members of the child's process group to die",
        lambda: live_group_members(leader) == [],
    )


@pytest.mark.acceptance  # starts other processes
async def test_a_child_past_its_timeout_is_killed_with_its_whole_group(
    fake_child: FakeChild,
) -> None:
    with pytest.raises(CodexTimeoutError) as err:
        await fake_child.runner.run(fake_child.argv("hang"), "prompt", cwd=Path.cwd())
    assert str(err.value) == (
        "codex exec did not finish within 3s (backends.codex.timeout_seconds); "
        "its process group was killed"
    )
    assert_all_gone(fake_child.pids())
    assert fake_child.runner.children == set()


@pytest.mark.acceptance  # starts other processes
async def test_cancelling_a_run_kills_the_child_group_before_the_cancellation_goes_on(
    fake_child: FakeChild,
) -> None:
    fake_child.runner.timeout_seconds = 600
    task = asyncio.create_task(
        fake_child.runner.run(fake_child.argv("hang"), "prompt", cwd=Path.cwd())
    )
    await poll(lambda: fake_child.pidfile.exists() and len(fake_child.pids()) == 2)
    pids = fake_child.pids()
    assert live_group_members(pids[0]) != []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_all_gone(pids)


@pytest.mark.acceptance  # starts other processes
async def test_a_failed_child_reports_its_own_error_and_its_stderr_stays_bounded(
    fake_child: FakeChild,
) -> None:
    # Writing 5 MB of stderr can take longer than the fixture's 3 s on a loaded machine;
    # this test is about the exit status and the tail, not the timeout.
    fake_child.runner.timeout_seconds = 120
    done = await fake_child.runner.run(
        fake_child.argv("3", stderr_bytes=5_000_000), "prompt", cwd=Path.cwd()
    )
    assert done.returncode == 3
    assert len(done.stderr_tail) <= 64 * 1024
    assert done.failure() == "codex exec exited with status 3: Error: the child gave up"
    assert_all_gone(fake_child.pids())  # the grandchild did not outlive its parent's group


@pytest.mark.parametrize("binary", ["/nonexistent/bin/codex", "memoryd-test-no-such-codex"])
def test_a_missing_binary_is_refused_when_the_backend_is_built(binary: str) -> None:
    cfg = Config()
    cfg.phase1.backend = "codex"
    cfg.phase2.backend = "codex"
    cfg.backends.codex.binary = binary
    for build in (make_extractor, make_consolidator):
        with pytest.raises(ConfigError) as err:
            build(cfg, "/etc/memoryd.toml")
        assert err.value.key == "backends.codex.binary"
        assert str(err.value).startswith(
            f"config error: /etc/memoryd.toml: backends.codex.binary: the Codex CLI {binary!r} "
        )
        assert "install it (npm install -g @openai/codex)" in str(err.value)


def test_changes_between_snapshots() -> None:
    before = {"MEMORY.md": "a", "old.md": "b", "same.md": "c"}
    after = {"MEMORY.md": "a2", "new.md": "d", "same.md": "c"}
    assert changes(before, after) == (["MEMORY.md", "new.md"], ["old.md"])


def test_the_child_command_line_keeps_memoryd_overrides_last() -> None:
    argv = child_args(
        "codex",
        cwd=Path("/m"),
        sandbox="workspace-write",
        shell=True,
        overrides=["features.memories=true"],
    )
    assert argv[:2] == ["codex", "exec"] and argv[-1] == "-"  # the prompt comes on stdin
    assert {"--json", "--ephemeral", "--skip-git-repo-check"} <= set(argv)
    assigned = [argv[i + 1] for i, a in enumerate(argv) if a == "-c"]
    # The user's attempt to turn memories on is overridden by ours, which come later.
    assert assigned.index("features.memories=true") < assigned.index("features.memories=false")
    assert "sandbox_workspace_write.exclude_slash_tmp=true" in assigned
    assert "features.shell_tool=false" not in assigned  # phase 2 edits files with the shell
    extraction = child_args("codex", cwd=Path("/t"), sandbox="read-only", shell=False)
    assert "features.shell_tool=false" in extraction
    assert not any(a.startswith("sandbox_workspace_write") for a in extraction)


# --- the real Codex CLI -------------------------------------------------------------------------


@dataclass
class Loopback:
    server: ResponsesServer
    home: Path  # CODEX_HOME
    base: Path
    env: dict[str, str]
    cfg: Config

    def settings(self) -> Settings:
        return Settings(self.cfg, "<test>", resolve_paths(self.cfg, self.env))


@asynccontextmanager
async def loopback_codex(server: ResponsesServer) -> AsyncIterator[Loopback]:
    """A CODEX_HOME whose config sends the CLI to ``server`` (reference §1). The user config
    turns Codex's memories feature on, as a memoryd user's would: the backend must override it."""
    assert CODEX is not None
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="mdcx-"))
    home = base / "codex"
    (home / "sessions").mkdir(parents=True)
    async with server:
        write_mock_config(home, server.url)
        env = mock_env(server.url, home=base, codex_home=home)
        env["MEMORYD_STATE_DIR"] = str(base / "state")
        cfg = Config()
        cfg.backends.codex.binary = CODEX
        try:
            yield Loopback(server, home, base, env, cfg)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def user_texts(req: ReceivedRequest) -> list[str]:
    body = req.json if isinstance(req.json, dict) else {}
    return [
        part.get("text", "")
        for item in body.get("input", [])
        if isinstance(item, dict) and item.get("role") == "user"
        for part in item.get("content", []) or []
        if isinstance(part, dict)
    ]


def install_uv_rollout(sessions: Path) -> Path:
    """The proj-alpha example rollout alone, as an idle cli session, with a planted secret."""
    paths = install_examples(sessions)
    keep = next(p for p in paths if UV_ROLLOUT in p.name)
    for p in paths:
        if p != keep:
            p.unlink()
    st = keep.stat()
    data = keep.read_text()
    assert "I prefer uv over pip." in data
    keep.write_text(data.replace("I prefer uv over pip.", f"I prefer uv over pip. key={SECRET}"))
    os.utime(keep, (st.st_atime, st.st_mtime))
    return keep


@needs_codex
async def test_phase1_extraction_through_codex_exec_end_to_end() -> None:
    reply = Reply(text=json.dumps(STAGE1_REPLY), input_tokens=321, output_tokens=45)
    async with loopback_codex(ResponsesServer(default=reply)) as lb:
        install_uv_rollout(lb.home / "sessions")
        lb.cfg.phase1.backend = "codex"
        settings = lb.settings()
        extractor = CodexExtractor(lb.cfg, env=lb.env)
        conn = await open_db(settings.paths.db_path)
        try:
            await Indexer(conn, list(settings.paths.sessions_dirs), lb.home / "x").scan_all()
            stats = await Phase1(conn, lb.cfg, extractor).run(until_idle=True)
            rows = list(
                await conn.execute_fetchall(
                    "SELECT thread_id, rollout_summary, rollout_slug, raw_memory, backend "
                    "FROM stage1_outputs"
                )
            )
            usage = list(
                await conn.execute_fetchall(
                    "SELECT phase, backend, input_tokens, output_tokens, thread_id "
                    "FROM usage_ledger"
                )
            )
        finally:
            await conn.close()
        requests = list(lb.server.requests)
    assert stats.succeeded == 1, stats
    assert [tuple(r) for r in rows] == [
        (
            UV_ROLLOUT,
            STAGE1_REPLY["rollout_summary"],
            STAGE1_REPLY["rollout_slug"],
            STAGE1_REPLY["raw_memory"],
            "codex",
        )
    ]
    assert [tuple(u) for u in usage] == [("phase1", "codex", 321, 45, UV_ROLLOUT)]
    assert len(requests) == 1
    body = requests[0].json
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["schema"] == STAGE1_SCHEMA
    prompt = "\n".join(user_texts(requests[0]))
    assert "I prefer uv over pip. key=[REDACTED_SECRET]" in prompt  # the rendered rollout
    assert SECRET.encode() not in requests[0].body
    # The user's config has memories on; the child ran with them off: nothing injected.
    assert b"MEMORY_SUMMARY BEGINS" not in requests[0].body


@needs_codex
async def test_the_childs_own_session_is_never_a_phase1_input() -> None:
    """The extraction child runs --ephemeral: it leaves no rollout to index, even for a user
    who allows ``exec`` sessions. A plain ``codex exec`` in the same home (the control) does
    leave one, and that one is claimable under the same rules."""
    reply = Reply(text=json.dumps(STAGE1_REPLY))
    async with loopback_codex(ResponsesServer(default=reply)) as lb:
        lb.cfg.phase1.allowed_sources = ["cli", "vscode", "exec"]
        extractor = CodexExtractor(lb.cfg, env=lb.env)
        await extractor.extract(TINY_REQUEST)
        child_thread = lb.server.requests[0].json["client_metadata"]["thread_id"]
        control = await asyncio.create_subprocess_exec(
            CODEX,  # type: ignore[arg-type]
            "exec",
            "--skip-git-repo-check",
            "-C",
            str(lb.base),
            "hello",
            env=lb.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert await asyncio.wait_for(control.wait(), 120) == 0
        # The control may make more than one request (a side thread of its own), in either
        # order: every thread id it used counts as the control's.
        control_threads = {
            r.json["client_metadata"].get(key)
            for r in lb.server.requests[1:]
            for key in ("thread_id", "session_id")
        } - {None}
        conn = await open_db(lb.base / "state" / "memoryd.sqlite")
        try:
            await Indexer(conn, [lb.home / "sessions"], lb.home / "archived_sessions").scan_all()
            indexed = {r[0] for r in await conn.execute_fetchall("SELECT id FROM threads")}
            rules = jobs.Eligibility(
                allowed_sources=tuple(lb.cfg.phase1.allowed_sources),
                max_age_days=30,
                min_idle_hours=0,
            )
            candidates = await jobs.scan_candidates(
                conn, rules, now_ms=int(1000 * (1 + time.time())), limit=10
            )
        finally:
            await conn.close()
    assert child_thread not in control_threads
    assert indexed and indexed <= control_threads  # the control's rollout, and only that
    assert {c.thread_id for c in candidates} == indexed


def _shell_call_then_done(command: str) -> Any:
    """A scripted model: one exec_command call running ``command``, then a final message."""

    def respond(req: ReceivedRequest) -> Reply:
        items = req.json.get("input", []) if isinstance(req.json, dict) else []
        if any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items):
            return Reply(text="Consolidated.", input_tokens=200, output_tokens=20)
        call = function_call_item("exec_command", {"cmd": command}, "call_write")
        return Reply(text=None, items=[call], input_tokens=100, output_tokens=10)

    return respond


MEMORY_TEXT = "# Task Group: proj-alpha\\n\\n- The user prefers uv over pip.\\n"
SUMMARY_TEXT = "v1\\n\\n## User preferences\\n\\n- uv rather than pip\\n"


@dataclass
class Phase2Outcome:
    result: Phase2Result
    usage: list[tuple[Any, ...]]
    job: list[tuple[Any, ...]]
    root: Path


async def consolidate_with_codex(lb: Loopback, command: str) -> Phase2Outcome:
    """Phase 1 (offline) over the example rollouts, then one phase-2 run through
    Consolidator.run_once with the codex agent, whose scripted model runs ``command``."""
    lb.server.responder = _shell_call_then_done(command)
    install_examples(lb.home / "sessions")
    lb.cfg.phase2.backend = "codex"
    root = lb.home / "memories"
    conn = await open_db(lb.base / "state" / "memoryd.sqlite")
    try:
        await Indexer(conn, [lb.home / "sessions"], lb.home / "archived_sessions").scan_all()
        await Phase1(conn, lb.cfg, OfflineExtractor()).run(until_idle=True)
        agent = CodexConsolidator(lb.cfg, env=lb.env)
        result = await Consolidator(
            conn, lb.cfg, agent, root=root, codex_home=lb.home, worker_id="t"
        ).run_once()
        usage = await conn.execute_fetchall(
            "SELECT phase, backend, input_tokens, output_tokens FROM usage_ledger "
            "WHERE phase = 'phase2'"
        )
        job = await conn.execute_fetchall(
            "SELECT status, last_error FROM jobs WHERE kind = ?", (jobs.GLOBAL,)
        )
    finally:
        await conn.close()
    return Phase2Outcome(result, [tuple(u) for u in usage], [tuple(j) for j in job], root)


@needs_codex
async def test_phase2_consolidation_through_codex_exec_end_to_end() -> None:
    async with loopback_codex(ResponsesServer()) as lb:
        outside = lb.base / "outside.txt"
        done = await consolidate_with_codex(
            lb,
            "head -3 phase2_workspace_diff.md; "
            f"printf '{MEMORY_TEXT}' > MEMORY.md && printf '{SUMMARY_TEXT}' > memory_summary.md; "
            f"echo escaped > {outside}; echo escaped > .git/escaped; ls",
        )
        requests = list(lb.server.requests)
        root = done.root
        outputs = [
            i["output"]
            for r in requests
            for i in r.json.get("input", [])
            if isinstance(i, dict) and i.get("type") == "function_call_output"
        ]
        assert done.result.outcome == "succeeded", done.result
        assert (root / "MEMORY.md").read_text() == MEMORY_TEXT.replace("\\n", "\n")
        assert (root / "memory_summary.md").read_text() == SUMMARY_TEXT.replace("\\n", "\n")
        assert diff_against_baseline(root).is_empty  # the baseline was reset to the new files
        assert not (root / "phase2_workspace_diff.md").exists()
        # The sandbox held: nothing written outside the root, nothing into its .git.
        assert not outside.exists() and not (root / ".git" / "escaped").exists()
        assert done.job == [("done", None)]
        assert done.usage == [("phase2", "codex", 300, 30)]
        prompt = "\n".join(user_texts(requests[0]))
        assert "# Running as Codex" in prompt and "Mode: INIT" in prompt
        assert outputs and "# Memory Workspace Diff" in outputs[0]


@needs_codex
async def test_the_codex_agent_reports_what_its_child_wrote_and_deleted() -> None:
    async with loopback_codex(ResponsesServer()) as lb:
        lb.server.responder = _shell_call_then_done(
            f"printf '{MEMORY_TEXT}' > MEMORY.md && rm old.md && cat kept.md"
        )
        root = lb.base / "memories"
        root.mkdir()
        (root / "old.md").write_text("stale\n")
        (root / "kept.md").write_text("kept\n")
        ensure_baseline(root)
        agent = CodexConsolidator(lb.cfg, env=lb.env)
        result = await agent.consolidate(ConsolidationInput(root=str(root), mode="init"))
    memory = MEMORY_TEXT.replace("\\n", "\n").encode()
    assert (result.written, result.deleted) == (["MEMORY.md"], ["old.md"])
    assert result.written_ids == {"MEMORY.md": blob_id(memory)}
    assert result.usage == Usage(input_tokens=300, output_tokens=30)
    assert (result.backend, result.model) == ("codex", "codex-configured")


@needs_codex
async def test_phase2_rejects_what_a_codex_child_wrote_when_it_is_invalid() -> None:
    """The child exits 0 but its summary lacks the ``v1`` line: phase 2's own validation
    fails the run, the baseline stays (the diff is still pending) and the tokens are booked."""
    async with loopback_codex(ResponsesServer()) as lb:
        done = await consolidate_with_codex(
            lb, "printf '# M\\n' > MEMORY.md && printf 'no version line\\n' > memory_summary.md"
        )
        assert done.result.outcome == "failed"
        assert done.result.reason == (
            "failed_invalid_artifacts: memory_summary.md does not start with the line v1"
        )
        assert done.job == [("error", done.result.reason)]
        assert done.usage == [("phase2", "codex", 300, 30)]
        assert not diff_against_baseline(done.root).is_empty


@needs_codex
async def test_an_unusable_codex_reply_is_an_output_error_that_keeps_its_usage() -> None:
    reply = Reply(text="Sorry, I will not answer in JSON.", input_tokens=50, output_tokens=7)
    async with loopback_codex(ResponsesServer(default=reply)) as lb:
        extractor = CodexExtractor(lb.cfg, env=lb.env)
        with pytest.raises(OutputError) as err:
            await extractor.extract(TINY_REQUEST)
    assert "Sorry, I will not answer" in str(err.value)
    assert err.value.usage == Usage(input_tokens=50, output_tokens=7)  # type: ignore[attr-defined]


@pytest.mark.acceptance  # starts other processes
@needs_codex
async def test_a_hung_codex_child_is_killed_at_its_timeout() -> None:
    async with loopback_codex(ResponsesServer(default=Hang(headers_first=True))) as lb:
        lb.cfg.backends.codex.timeout_seconds = 8
        extractor = CodexExtractor(lb.cfg, env=lb.env)
        task = asyncio.create_task(extractor.extract(TINY_REQUEST))
        await poll(lambda: bool(extractor.runner.children))
        (pgid,) = extractor.runner.children
        with pytest.raises(BackendError) as err:
            await task
        requests = len(lb.server.requests)
    assert requests >= 1, "the child never reached the model: the test did not hang it there"
    assert err.value.transient
    assert str(err.value) == (
        "codex exec did not finish within 8s (backends.codex.timeout_seconds); "
        "its process group was killed"
    )
    assert_all_gone([pgid])


@pytest.mark.acceptance  # starts other processes
@needs_codex
async def test_shutdown_mid_consolidation_kills_the_codex_child() -> None:
    """Cancellation (the daemon stopping) while the phase-2 child waits on the model: the
    child's whole group is gone by the time the cancellation reaches the caller."""
    async with loopback_codex(ResponsesServer(default=Hang(headers_first=True))) as lb:
        root = lb.base / "memories"
        root.mkdir()
        agent = CodexConsolidator(lb.cfg, env=lb.env)
        task = asyncio.create_task(
            agent.consolidate(ConsolidationInput(root=str(root), mode="init"))
        )
        await lb.server.wait_for_requests(1, within=120)
        (pgid,) = agent.runner.children
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert_all_gone([pgid])
    assert agent.runner.children == set()


@needs_codex
async def test_a_codex_child_that_fails_reports_its_own_error() -> None:
    async with loopback_codex(ResponsesServer(default=Reply(text="{}"))) as lb:
        lb.cfg.backends.codex.config_overrides = ['model_provider="no-such-provider"']
        extractor = CodexExtractor(lb.cfg, env=lb.env)
        with pytest.raises(BackendError) as err:
            await extractor.extract(TINY_REQUEST)
        assert lb.server.requests == []
    assert re.match(r"codex exec exited with status [1-9]\d*: .*no-such-provider", str(err.value))
    assert not err.value.transient


@needs_codex
@pytest.mark.parametrize(("sandbox", "shell"), [("read-only", False), ("workspace-write", True)])
async def test_memoryd_overrides_pass_codex_strict_config(sandbox: str, shell: bool) -> None:
    """Every ``-c`` key memoryd sets exists in this Codex version (a misspelt one would be
    silently ignored without --strict-config), and the tools the child offers the model are
    the ones meant: a shell only for phase 2, web search never."""
    async with loopback_codex(ResponsesServer(default=Reply(text="ok"))) as lb:
        runner = CodexRunner(
            binary=find_codex(CODEX) or Path("codex"),  # type: ignore[arg-type]
            env=lb.env,
            timeout_seconds=120,
            timeout_key="t",
        )
        argv = child_args(
            runner.binary, cwd=lb.base, sandbox=sandbox, shell=shell, extra=["--strict-config"]
        )
        done = await runner.run(argv, "hello", cwd=lb.base)
        tools = {t.get("name") or t.get("type") for t in lb.server.requests[0].json["tools"]}
    assert done.returncode == 0, done.failure()
    assert done.events.last_message == "ok"
    assert ("exec_command" in tools) is shell
    assert not tools & {"web_search", "multi_agent_v1", "create_goal"}


@needs_codex
async def test_run_once_with_the_codex_backend_end_to_end_from_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``run --once`` builds both codex backends from config alone (environment inherited)."""
    reply = Reply(text=json.dumps(STAGE1_REPLY))
    async with loopback_codex(ResponsesServer()) as lb:
        lb.server.responder = lambda req: (
            reply
            if "json_schema" in json.dumps((req.json or {}).get("text", {}))
            else _shell_call_then_done(
                f"printf '{MEMORY_TEXT}' > MEMORY.md && printf '{SUMMARY_TEXT}' > memory_summary.md"
            )(req)
        )
        install_uv_rollout(lb.home / "sessions")
        for k, v in lb.env.items():
            monkeypatch.setenv(k, v)
        lb.cfg.phase1.backend = "codex"
        lb.cfg.phase2.backend = "codex"
        summary = await run_once(lb.settings(), progress=False)
        db = await aiosqlite.connect(lb.base / "state" / "memoryd.sqlite")
        try:
            backends = {
                tuple(r)
                for r in await db.execute_fetchall("SELECT phase, backend FROM usage_ledger")
            }
        finally:
            await db.close()
    assert summary.phase1 is not None and summary.phase1.succeeded == 1
    assert summary.phase2 is not None and summary.phase2.outcome == "succeeded"
    assert backends == {("phase1", "codex"), ("phase2", "codex")}
