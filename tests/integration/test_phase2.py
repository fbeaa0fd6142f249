"""Phase 2 end to end: real rollouts, a real state DB, real git in the memory root.

The consolidation agent is either the real offline one or a scripted one (the model's side
of the contract: it writes files in the root and reports what it wrote), so the run itself --
lock, selection, sync, diff, validation, mid-run edits, baseline reset -- is the real code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import anyio
import pytest
from support.phase2_env import env as env  # the real DB with phase-1 outputs

from memoryd import clock
from memoryd.config import Config
from memoryd.consolidate.base import ConsolidationInput, ConsolidationResult
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.demo import install_examples
from memoryd.fsutil import atomic_write
from memoryd.phase2 import Consolidator
from memoryd.store import jobs
from memoryd.workspace.baseline import blob_id, diff_against_baseline

UV_THREAD = "01a2013d-497f-71f0-81b9-4c6d2314a10b"  # "I prefer uv over pip", proj-alpha


class ScriptedAgent:
    """A stand-in model: runs ``script(root, request)`` to edit files, then reports them."""

    name = "scripted"
    model = "scripted-v1"

    def __init__(self, script: Callable[[Path, ConsolidationInput], AsyncIterator[None]]) -> None:
        self.script = script
        self.requests: list[ConsolidationInput] = []
        self.diffs: list[str | None] = []

    async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult:
        root = Path(request.root)
        self.requests.append(request)
        diff = root / "phase2_workspace_diff.md"
        self.diffs.append(diff.read_text() if diff.exists() else None)
        written: dict[str, str] = {}
        async for _ in self.script(root, request):
            pass
        for rel in ("MEMORY.md", "memory_summary.md"):
            if (root / rel).exists() and rel in getattr(self, "wrote", ()):
                written[rel] = self.wrote[rel]
        return ConsolidationResult(
            backend=self.name,
            model=self.model,
            written=sorted(written),
            written_ids=written,
            turns=1,
        )

    wrote: dict[str, str]

    def write(self, root: Path, rel: str, text: str) -> None:
        atomic_write(root / rel, text)
        self.wrote = {**getattr(self, "wrote", {}), rel: blob_id(text.encode())}

    async def aclose(self) -> None:
        return None


async def valid_files(agent: ScriptedAgent, root: Path) -> AsyncIterator[None]:
    agent.write(root, "MEMORY.md", "# Memory\n\nscripted\n")
    agent.write(root, "memory_summary.md", "v1\n\n## User Profile\n\nscripted\n")
    yield


def consolidator(conn: aiosqlite.Connection, home: Path, agent: object) -> Consolidator:
    return Consolidator(
        conn,
        Config(),
        agent,
        root=home / "memories",
        codex_home=home,  # type: ignore[arg-type]
        worker_id="test",
    )


async def global_job(conn: aiosqlite.Connection) -> tuple:  # type: ignore[type-arg]
    rows = list(
        await conn.execute_fetchall(
            "SELECT status, last_error, retry_at, input_watermark, last_success_watermark "
            "FROM jobs WHERE kind = ?",
            (jobs.GLOBAL,),
        )
    )
    return tuple(rows[0])


async def test_offline_run_gives_a_valid_folder_and_a_clean_baseline(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env
    result = await consolidator(conn, home, OfflineConsolidator()).run_once()
    assert result.outcome == "succeeded" and result.added == 3
    assert (root / "memory_summary.md").read_text().splitlines()[0] == "v1"
    summary = (root / "memory_summary.md").read_text()
    assert "use uv rather than pip" in summary and "ripgrep" in summary
    assert len(summary.encode()) <= 5000
    assert "proj-alpha" in (root / "MEMORY.md").read_text()
    assert len(list((root / "rollout_summaries").glob("*.md"))) == 3
    assert (root / "extensions" / "ad_hoc" / "instructions.md").is_file()
    assert not (root / "phase2_workspace_diff.md").exists()
    assert diff_against_baseline(root).is_empty
    status, err, _, wm, done_wm = await global_job(conn)
    assert (status, err) == ("done", None) and done_wm >= wm
    marked = list(
        await conn.execute_fetchall(
            "SELECT count(*) FROM stage1_outputs WHERE selected_for_phase2 = 1"
        )
    )
    assert marked == [(3,)]
    # Nothing changed: the next run records success without running any agent.
    calls: list[int] = []

    async def never(root: Path, req: ConsolidationInput) -> AsyncIterator[None]:
        calls.append(1)
        yield

    again = await consolidator(conn, home, ScriptedAgent(never)).run_once()
    assert again.outcome == "noop" and calls == []


async def test_a_hand_edit_is_exactly_the_next_diff_and_is_kept(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env
    assert (await consolidator(conn, home, OfflineConsolidator()).run_once()).outcome == (
        "succeeded"
    )
    memory = root / "MEMORY.md"
    memory.write_text(memory.read_text() + "\nAlways run tests with -x first.\n")
    seen: list[str | None] = []

    class Spy(OfflineConsolidator):
        async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult:
            seen.append((Path(request.root) / "phase2_workspace_diff.md").read_text())
            return await super().consolidate(request)

    result = await consolidator(conn, home, Spy()).run_once()
    assert result.outcome == "succeeded" and result.changed_paths == ["MEMORY.md"]
    (diff,) = seen
    assert "## Status\n- M MEMORY.md\n" in diff
    assert "\n+\n+Always run tests with -x first.\n```" in diff
    assert diff.count("\n+") - diff.count("\n+++") == 2  # exactly the lines the user added
    assert "Always run tests with -x first." in memory.read_text()
    assert diff_against_baseline(root).is_empty


async def test_a_forgotten_thread_leaves_the_folder(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env
    await consolidator(conn, home, OfflineConsolidator()).run_once()
    assert "uv" in (root / "memory_summary.md").read_text()
    async with jobs.immediate(conn) as c:  # what `memoryd forget` will do (issue 5)
        await c.execute("DELETE FROM stage1_outputs WHERE thread_id = ?", (UV_THREAD,))
        await jobs.enqueue_global(c, 1)
    result = await consolidator(conn, home, OfflineConsolidator()).run_once()
    assert result.outcome == "succeeded" and result.removed == 1
    assert not any("pytest_suite" in p.name for p in (root / "rollout_summaries").iterdir())
    assert "uv rather than pip" not in (root / "memory_summary.md").read_text()
    assert "proj-alpha" not in (root / "MEMORY.md").read_text()


async def test_invalid_artifacts_fail_and_leave_the_baseline_alone(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env

    async def no_summary(root: Path, req: ConsolidationInput) -> AsyncIterator[None]:
        agent.write(root, "MEMORY.md", "# Memory\n")
        yield

    agent = ScriptedAgent(no_summary)
    result = await consolidator(conn, home, agent).run_once()
    assert result.outcome == "failed"
    assert result.reason == "failed_invalid_artifacts: memory_summary.md is missing"
    status, err, retry_at, *_ = await global_job(conn)
    assert status == "error" and err == result.reason and retry_at is not None
    diff_file = (root / "phase2_workspace_diff.md").read_text()
    assert "- A rollout_summaries/" in diff_file  # still there for the next attempt

    async def bad_first_line(root: Path, req: ConsolidationInput) -> AsyncIterator[None]:
        agent2.write(root, "memory_summary.md", "# Summary\nv1\n")
        yield

    agent2 = ScriptedAgent(bad_first_line)
    await conn.execute("UPDATE jobs SET retry_at = NULL WHERE kind = ?", (jobs.GLOBAL,))
    result = await consolidator(conn, home, agent2).run_once()
    assert result.reason == (
        "failed_invalid_artifacts: memory_summary.md does not start with the line v1"
    )
    # The next attempt sees the same workspace diff as the first (plus what the agents wrote).
    assert agent2.diffs[0] is not None and "- A rollout_summaries/" in agent2.diffs[0]


def note_name(offset_s: int, slug: str) -> str:
    """An ad-hoc note's file name, timestamped ``offset_s`` after memoryd's "now"."""
    when = datetime.fromtimestamp(clock.now_s() + offset_s, UTC)
    return f"{when:%Y-%m-%dT%H-%M-%S}-{slug}.md"


async def test_an_edit_made_while_the_agent_runs_reaches_the_next_run(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env
    await consolidator(conn, home, OfflineConsolidator()).run_once()
    notes = root / "extensions" / "ad_hoc" / "notes"
    notes.mkdir(parents=True)
    # Notes dated now: older ones are pruned by the retention rule, which would make what this
    # test sees depend on the day it runs.
    first, mid_run = note_name(0, "first"), note_name(1, "mid-run")
    (notes / first).write_text("first note\n")  # makes the workspace dirty
    started, go = anyio.Event(), anyio.Event()

    agent_wrote, user_saved = anyio.Event(), anyio.Event()

    async def slow(root: Path, req: ConsolidationInput) -> AsyncIterator[None]:
        started.set()
        await go.wait()
        agent.write(root, "MEMORY.md", "# Memory\n\nby the agent\n")
        agent.write(root, "memory_summary.md", "v1\n\nby the agent\n")
        agent_wrote.set()
        await user_saved.wait()  # the user's save lands before the agent reports back
        yield

    agent = ScriptedAgent(slow)
    summary_before = (root / "memory_summary.md").read_text()
    async with anyio.create_task_group() as tg:
        result_box: list[object] = []

        async def run() -> None:
            result_box.append(await consolidator(conn, home, agent).run_once())

        tg.start_soon(run)
        await started.wait()
        # The user saves two files mid-run: one the agent will not touch, one it rewrites
        # before the user's save lands (so the user's save must be kept beside it).
        (notes / mid_run).write_text("written during the run\n")
        go.set()
        await agent_wrote.wait()
        (root / "memory_summary.md").write_text(summary_before + "\nmy own line\n")
        user_saved.set()
    (result,) = result_box
    assert result.outcome == "succeeded"  # type: ignore[attr-defined]
    saved = sorted(p.name for p in root.glob("memory_summary.user-edit-*.md"))
    assert len(saved) == 1 and "my own line" in (root / saved[0]).read_text()
    # The next run's diff holds both user edits: nothing was folded silently into the baseline.
    pending = diff_against_baseline(root)
    assert f"extensions/ad_hoc/notes/{mid_run}" in pending.added
    assert saved[0] in pending.added
    assert "memory_summary.md" in pending.modified


async def test_a_lost_lock_never_resets_the_baseline(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env

    async def steal(root: Path, req: ConsolidationInput) -> AsyncIterator[None]:
        await conn.execute(
            "UPDATE jobs SET ownership_token = 'someone-else' WHERE kind = ?", (jobs.GLOBAL,)
        )
        agent.write(root, "MEMORY.md", "# Memory\n")
        agent.write(root, "memory_summary.md", "v1\n")
        yield

    agent = ScriptedAgent(steal)
    result = await consolidator(conn, home, agent).run_once()
    assert result.outcome == "failed" and result.reason == "lease_lost"
    pending = diff_against_baseline(root)
    assert "MEMORY.md" in pending.added and "memory_summary.md" in pending.added


@pytest.mark.acceptance  # starts other processes
async def test_sigkill_during_the_agent_leaves_the_baseline_and_the_next_run_completes(
    tmp_path: Path,
) -> None:
    import os
    import signal
    import sqlite3
    import subprocess
    import sys

    from support.responses_server import Hang, ResponsesServer

    home = tmp_path / "codex"
    install_examples(home / "sessions")
    root = tmp_path / "state" / "memories"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "h"),
        "CODEX_HOME": str(home),
        "MEMORYD_STATE_DIR": str(tmp_path / "state"),
        "MEMORYD_TEST_KEY": "dummy",
    }

    def run_once(cfg: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "memoryd", "--config", str(cfg), "run", "--once"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(Path(__file__).resolve().parents[2]),
        )

    async with ResponsesServer(default=Hang()) as srv:
        cfg = tmp_path / "openai.toml"
        cfg.write_text(
            '[phase2]\nbackend = "openai"\n'
            f'[backends.openai]\nbase_url = "{srv.url}"\napi_key_env = "MEMORYD_TEST_KEY"\n'
            "timeout_seconds = 300\n"
        )
        first = run_once(cfg)
        try:
            await srv.wait_for_requests(1, within=60)  # the agent's first model call
            first.send_signal(signal.SIGKILL)
        finally:
            if first.poll() is None:
                first.kill()
            await anyio.to_thread.run_sync(lambda: first.communicate(timeout=30))
    assert first.returncode == -signal.SIGKILL

    # The baseline is untouched: everything phase 2 synced is still pending, and the diff file
    # the killed run wrote is exactly the diff the next run will see.
    left = (root / "phase2_workspace_diff.md").read_text()
    pending = diff_against_baseline(root)
    assert "raw_memories.md" in pending.added and not (root / "MEMORY.md").exists()
    assert pending.render() == left
    db = sqlite3.connect(tmp_path / "state" / "memoryd.sqlite")
    try:
        status, lease = db.execute(
            "SELECT status, lease_until FROM jobs WHERE kind = 'memory_consolidate_global'"
        ).fetchone()
        assert status == "running"
        db.execute(  # the one-hour lease runs out (fast-forwarded)
            "UPDATE jobs SET lease_until = ? WHERE kind = 'memory_consolidate_global'",
            (lease - 3601,),
        )
        db.commit()
    finally:
        db.close()

    offline = tmp_path / "offline.toml"
    offline.write_text("")
    second = run_once(offline)
    out, err = await anyio.to_thread.run_sync(lambda: second.communicate(timeout=120))
    assert second.returncode == 0, err
    assert "phase 2: consolidated" in out
    assert (root / "memory_summary.md").read_text().startswith("v1\n")
    assert not (root / "phase2_workspace_diff.md").exists()
    assert diff_against_baseline(root).is_empty


@pytest.mark.parametrize("writes_summary", [True, False])
async def test_the_openai_agent_through_a_whole_run(
    env: tuple[aiosqlite.Connection, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    writes_summary: bool,
) -> None:
    """A scripted model behind the loopback server: one that writes both files succeeds and
    resets the baseline; one that never writes memory_summary.md fails validation and leaves
    the baseline alone."""
    import msgspec
    from support.responses_server import Reply, ResponsesServer, function_call_item

    from memoryd.consolidate.openai import OpenAIConsolidator

    conn, home, root = env
    monkeypatch.setenv("MEMORYD_TEST_KEY", "dummy")
    calls = [
        function_call_item(
            "read_file", {"path": "raw_memories.md", "offset": None, "limit": None}, "c1"
        ),
        function_call_item(
            "write_file", {"path": "MEMORY.md", "content": "# Memory\n\nuv\n"}, "c2"
        ),
    ]
    if writes_summary:
        calls.append(
            function_call_item(
                "write_file",
                {"path": "memory_summary.md", "content": "v1\n\n## User Profile\n"},
                "c3",
            )
        )
    script = [Reply(text=None, items=[c], input_tokens=100, output_tokens=10) for c in calls]
    script.append(Reply(text="Done.", input_tokens=100, output_tokens=3))
    async with ResponsesServer(*script) as srv:
        data = msgspec.to_builtins(Config())
        data["phase2"]["backend"] = "openai"
        data["backends"]["openai"].update(base_url=srv.url, api_key_env="MEMORYD_TEST_KEY")
        cfg = msgspec.convert(data, Config)
        agent = OpenAIConsolidator.from_config(cfg)
        try:
            c = Consolidator(conn, cfg, agent, root=root, codex_home=home, worker_id="t")
            result = await c.run_once()
        finally:
            await agent.aclose()
        assert len(srv.requests) == len(script)
    if writes_summary:
        assert result.outcome == "succeeded"
        assert diff_against_baseline(root).is_empty
        ledger = list(
            await conn.execute_fetchall(
                "SELECT phase, input_tokens FROM usage_ledger WHERE phase = 'phase2'"
            )
        )
        assert ledger == [("phase2", 100 * len(script))]
    else:
        assert result.outcome == "failed"
        assert result.reason == "failed_invalid_artifacts: memory_summary.md is missing"
        pending = diff_against_baseline(root)
        assert "MEMORY.md" in pending.added and "raw_memories.md" in pending.added


async def test_a_rollback_after_a_model_run_books_no_tokens(
    env: tuple[aiosqlite.Connection, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rollback runs no model: the daemon's consolidator that just booked a model run's
    tokens must not book them again under the rollback's run."""
    import msgspec
    from support.responses_server import Reply, ResponsesServer, function_call_item

    from memoryd.consolidate.openai import OpenAIConsolidator

    conn, home, root = env
    monkeypatch.setenv("MEMORYD_TEST_KEY", "dummy")
    writes = [
        ("MEMORY.md", "# Memory\n\nuv\n"),
        ("memory_summary.md", "v1\n\n## User Profile\n"),
    ]
    script = [
        Reply(
            text=None,
            items=[function_call_item("write_file", {"path": p, "content": c}, f"c{i}")],
            input_tokens=100,
            output_tokens=10,
        )
        for i, (p, c) in enumerate(writes)
    ]
    script.append(Reply(text="Done.", input_tokens=100, output_tokens=3))
    async with ResponsesServer(*script) as srv:
        data = msgspec.to_builtins(Config())
        data["phase2"]["backend"] = "openai"
        data["backends"]["openai"].update(base_url=srv.url, api_key_env="MEMORYD_TEST_KEY")
        cfg = msgspec.convert(data, Config)
        agent = OpenAIConsolidator.from_config(cfg)
        try:
            c = Consolidator(
                conn,
                cfg,
                agent,
                root=root,
                codex_home=home,
                worker_id="t",
                history_dir=home / "history",
            )
            first = await c.run_once()
            assert first.outcome == "succeeded" and first.run_id
            rolled = await c.rollback(first.run_id)
        finally:
            await agent.aclose()
    assert rolled.outcome == "succeeded" and rolled.run_id != first.run_id
    ledger = list(
        await conn.execute_fetchall(
            "SELECT run_id, input_tokens FROM usage_ledger WHERE phase = 'phase2'"
        )
    )
    assert ledger == [(first.run_id, 300)]
