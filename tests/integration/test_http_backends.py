"""The HTTP backends inside the real phase-2 run and across phases, once per protocol: the loop
guard stops a scripted model and the run is recorded as failed with the guard's reason, and a
backend's ``max_concurrency`` bounds the requests its server sees from both phases at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pygit2
import pytest
from support.phase2_env import env as env  # the real DB with phase-1 outputs, and a codex home
from support.protocols import PROTOCOLS, Proto, model_turns
from support.responses_server import Behaviour, ReceivedRequest, Reply, function_call_item

from memoryd.config import Phase1Config, Phase2Config
from memoryd.consolidate.base import ConsolidationInput
from memoryd.consolidate.factory import make_consolidator
from memoryd.extract.base import ExtractionRequest
from memoryd.extract.factory import make_extractor
from memoryd.phase2 import Consolidator

KEY_ENV = "MEMORYD_TEST_KEY"
GOOD = '{"rollout_summary": "s", "rollout_slug": null, "raw_memory": "m"}'


@pytest.fixture(params=PROTOCOLS, ids=repr)
def proto(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Proto:
    monkeypatch.setenv(KEY_ENV, "dummy")
    result: Proto = request.param
    return result


def calls(n: int, *steps: tuple[str, dict[str, Any]]) -> Reply:
    items = [function_call_item(name, args, f"t{n}_{i}") for i, (name, args) in enumerate(steps)]
    return Reply(text=None, items=items, input_tokens=10, output_tokens=2)


def same_read_forever(req: ReceivedRequest) -> Behaviour:
    args = {"path": "raw_memories.md", "offset": None, "limit": None}
    return calls(model_turns(req), ("read_file", args))


def new_page_every_turn(req: ReceivedRequest) -> Behaviour:
    n = model_turns(req)
    return calls(n, ("read_file", {"path": "raw_memories.md", "offset": 1, "limit": n + 1}))


def new_note_every_turn(req: ReceivedRequest) -> Behaviour:
    n = model_turns(req)
    return calls(n, ("write_file", {"path": "notes.md", "content": f"note {n}\n"}))


GUARD = Phase2Config(model="m", max_turns=6, loop_repeat_limit=3, first_change_turns=4)


@pytest.mark.parametrize(
    ("model", "reason", "requests"),
    [
        (same_read_forever, "loop_guard", GUARD.loop_repeat_limit),
        (new_page_every_turn, "no_progress", GUARD.first_change_turns),
        (new_note_every_turn, "turn_limit", GUARD.max_turns),
    ],
    ids=["loop_guard", "no_progress", "turn_limit"],
)
async def test_the_guard_stops_the_model_and_the_run_records_why(
    env: tuple[aiosqlite.Connection, Path, Path],
    proto: Proto,
    model: Callable[[ReceivedRequest], Behaviour],
    reason: str,
    requests: int,
) -> None:
    conn, home, root = env
    async with proto.server(responder=model) as server:
        cfg = proto.config(server.url, key_env=KEY_ENV, phase2=Phase2Config(**_fields(GUARD)))
        agent = make_consolidator(cfg)  # the limits come from the [phase2] keys
        try:
            c = Consolidator(conn, cfg, agent, root=root, codex_home=home, worker_id="t")
            result = await c.run_once()
        finally:
            await agent.aclose()
    assert len(server.requests) == requests  # stopped within the limit, not after
    assert result.outcome == "failed"
    assert result.reason is not None and result.reason.startswith(f"{reason}: ")
    rows = list(await conn.execute_fetchall("SELECT outcome, reason FROM phase2_runs"))
    assert rows == [("failed", result.reason)]
    assert not (root / "MEMORY.md").exists()


def _fields(p: Phase2Config) -> dict[str, Any]:
    return {f: getattr(p, f) for f in p.__struct_fields__}


async def test_max_concurrency_bounds_the_requests_of_both_phases(
    proto: Proto, tmp_path: Path
) -> None:
    """Six extractions and a consolidation at once, with ``max_concurrency = 2``: the server
    never has more than two requests open, and it does have two (the limit is not one)."""
    open_now = peak = 0

    async def responder(req: ReceivedRequest) -> Behaviour:
        nonlocal open_now, peak
        open_now += 1
        peak = max(peak, open_now)
        try:
            await asyncio.sleep(0.05)  # the model's latency, so that requests overlap
        finally:
            open_now -= 1
        # Stage-1 calls carry no tools; the agent's do: it lists the folder, then is done.
        if "tools" not in req.json:
            return Reply(text=GOOD)
        if model_turns(req) == 0:
            return Reply(text=None, items=[function_call_item("list_files", {}, "t0_0")])
        return Reply(text="nothing to do")

    root = tmp_path / "memories"
    root.mkdir()
    async with proto.server(responder=responder) as server:
        cfg = proto.config(
            server.url,
            key_env=KEY_ENV,
            max_concurrency=2,
            phase1=Phase1Config(model="m"),
            phase2=Phase2Config(model="m"),
        )
        extractor, agent = make_extractor(cfg), make_consolidator(cfg)
        request = ExtractionRequest(
            thread_id="t", rollout_path="/r", cwd="/", rollout_contents="[]"
        )
        try:
            results = await asyncio.gather(
                *(extractor.extract(request) for _ in range(6)),
                agent.consolidate(ConsolidationInput(root=str(root), mode="init")),
            )
        finally:
            await extractor.aclose()
            await agent.aclose()
    assert len(server.requests) == 8 and len(results) == 7
    assert peak == 2


def many_new_files_every_turn(req: ReceivedRequest) -> Behaviour:
    n = model_turns(req)
    steps = [("write_file", {"path": f"spam/{n}-{i}.md", "content": "x" * 1000}) for i in range(10)]
    return calls(n, *steps)


async def test_a_model_flooding_the_root_is_stopped_with_write_limit_and_the_baseline_kept(
    env: tuple[aiosqlite.Connection, Path, Path], proto: Proto
) -> None:
    """A model that creates files without end: the file tools refuse past
    ``agent_max_files_created``, the model is shown why, the run fails with ``write_limit``
    stored, and the baseline is the one from before the run."""
    conn, home, root = env
    bounded = Phase2Config(model="m", max_turns=50, agent_max_files_created=25)
    async with proto.server(responder=many_new_files_every_turn) as server:
        cfg = proto.config(server.url, key_env=KEY_ENV, phase2=bounded)
        agent = make_consolidator(cfg)
        try:
            c = Consolidator(conn, cfg, agent, root=root, codex_home=home, worker_id="t")
            result = await c.run_once()
        finally:
            await agent.aclose()
    assert result.outcome == "failed"
    assert result.reason is not None and result.reason.startswith("write_limit: ")
    assert len(server.requests) == 3  # stopped in the turn that crossed the bound
    assert len(list((root / "spam").iterdir())) == 25
    rows = list(await conn.execute_fetchall("SELECT outcome, reason FROM phase2_runs"))
    assert rows == [("failed", result.reason)]
    repo = pygit2.Repository(str(root / ".git"))
    head = repo.head.peel(pygit2.Commit)
    assert not any(e.name == "spam" for e in head.tree)  # the baseline did not take them in
    job = list(await conn.execute_fetchall("SELECT status FROM jobs WHERE job_key = 'global'"))
    assert job == [("error",)]  # retried after phase2.retry_delay_seconds
