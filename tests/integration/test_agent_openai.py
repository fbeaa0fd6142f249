"""The phase-2 agent contract end to end against a loopback server, once per protocol
(``openai``: Responses API, ``chat``: Chat Completions; tests/support/protocols.py), with
scripted models that look at each request's conversation to decide their next reply; plus the
consolidation prompt and run message."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from support.protocols import (
    CHAT,
    OPENAI,
    PROTOCOLS,
    Proto,
    model_turns,
    sent_calls,
    tool_outputs,
)
from support.responses_server import (
    Behaviour,
    Hang,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    Status,
    function_call_item,
)

from memoryd.config import Config, Phase2Config
from memoryd.consolidate.base import (
    AgentError,
    ConsolidationAgent,
    ConsolidationInput,
    ConsolidationResult,
)
from memoryd.consolidate.codex import consolidation_run_prompt
from memoryd.consolidate.factory import make_consolidator
from memoryd.consolidate.loop import ToolLoopAgent
from memoryd.consolidate.openai import (
    DEFAULT_MODEL,
    MAX_TURNS,
    AgentLimits,
    AgentRunError,
)
from memoryd.errors import ConfigError
from memoryd.layout import DIFF_FILE
from memoryd.llm.types import Usage
from memoryd.prompts import consolidation_input_message, consolidation_prompt

KEY_ENV = "MEMORYD_TEST_OPENAI_KEY"
DUMMY_KEY = "dummy-key-for-tests"
THREAD = "01a2013d-497f-71f0-81b9-4c6d2314a10b"
RAW = (
    "# Raw Memories\n\n"
    f"## Thread `{THREAD}`\nupdated_at: 2026-11-22T03:12:03+00:00\ncwd: /work/app\n"
    "rollout_path: /r.jsonl\nrollout_summary_file: 2026-11-22T03-12-03-abcd.md\n\n"
    "User prefers pytest -x. CI fixed by pinning the clock.\n"
)
OUTSIDE_TOKEN = "outside-token-91c2"
MEMORY = "# Task Group: app CI\nscope: ci\napplies_to: cwd=/work/app; reuse_rule=ci\n"
SUMMARY = "v1\n## User Profile\nA developer.\n## User preferences\n- pytest -x\n"


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, DUMMY_KEY)


@pytest.fixture(params=PROTOCOLS, ids=repr)
def proto(request: pytest.FixtureRequest) -> Proto:
    """The protocol a contract test runs against (each runs once per protocol)."""
    result: Proto = request.param
    return result


class Tree:
    """A prepared memory root beside a directory that must never change."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "memories"
        self.outside = tmp / "outside"
        (self.root / "rollout_summaries").mkdir(parents=True)
        self.outside.mkdir()
        (self.outside / "secret.txt").write_text(OUTSIDE_TOKEN + "\n")
        (self.root / "raw_memories.md").write_text(RAW)
        (self.root / "rollout_summaries" / "2026-11-22T03-12-03-abcd.md").write_text(
            f"thread_id: {THREAD}\n\nFixed CI.\n"
        )
        (self.root / ".git").mkdir()
        (self.root / ".git" / "config").write_text("[core]\n")
        (self.root / "escape.md").symlink_to(self.outside / "secret.txt")
        (self.root / "outdir").symlink_to(self.outside, target_is_directory=True)
        self.before = self.outside_state()

    def outside_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"top": sorted(p.name for p in self.tmp.iterdir())}
        for base in (self.outside, self.root / ".git"):
            for p in sorted(base.rglob("*")):
                state[str(p)] = (stat.S_IMODE(p.lstat().st_mode), p.read_bytes())
        return state

    def request(self, **kw: Any) -> ConsolidationInput:
        fields: dict[str, Any] = {
            "root": str(self.root),
            "mode": "init",
            "added": [THREAD],
            "run_id": "run-1",
        }
        fields.update(kw)
        return ConsolidationInput(**fields)


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path)


def make_config(
    url: str, *, timeout: float = 5.0, model: str = "m-agent", proto: Proto = OPENAI
) -> Config:
    return proto.config(url, key_env=KEY_ENV, timeout=timeout, phase2=Phase2Config(model=model))


@asynccontextmanager
async def harness(
    proto: Proto,
    *script: Behaviour,
    responder: Callable[[ReceivedRequest], Behaviour] | None = None,
    default: Behaviour | None = None,
    limits: AgentLimits | None = None,
    timeout_s: float = 5.0,
    retries: int = 2,
    model: str = "m-agent",
) -> AsyncIterator[tuple[ResponsesServer, ToolLoopAgent, RecordingSleep]]:
    sleep = RecordingSleep()
    async with proto.server(*script, responder=responder, default=default) as server:
        cfg = make_config(server.url, timeout=timeout_s, model=model, proto=proto)
        agent = proto.agent(
            cfg, sleep=sleep, rand=lambda: 1.0, limits=limits, transient_retries=retries
        )
        async with agent:
            yield server, agent, sleep


# --- scripted models -------------------------------------------------------------------------

Call = tuple[str, dict[str, Any]]


class ScriptedModel:
    """Plays ``steps`` in order: a list of calls (one reply with those function calls) or a
    string (the final answer, no tool calls). The step is read off the request's input, so a
    retried request gets the same step again."""

    def __init__(self, steps: Sequence[list[Call] | str], tokens: tuple[int, int] = (100, 7)):
        self.steps = steps
        self.tokens = tokens

    def __call__(self, req: ReceivedRequest) -> Behaviour:
        n = model_turns(req)
        step = self.steps[min(n, len(self.steps) - 1)]
        inp, out = self.tokens
        if isinstance(step, str):
            return Reply(text=step, input_tokens=inp + n, output_tokens=out)
        items = [function_call_item(name, args, f"t{n}_{i}") for i, (name, args) in enumerate(step)]
        return Reply(text=None, items=items, input_tokens=inp + n, output_tokens=out)


def write_both() -> list[Call]:
    return [
        ("write_file", {"path": "MEMORY.md", "content": MEMORY}),
        ("write_file", {"path": "memory_summary.md", "content": SUMMARY}),
    ]


# --- success ---------------------------------------------------------------------------------


async def test_list_read_write_then_answer(proto: Proto, tree: Tree) -> None:
    model = ScriptedModel(
        [
            [("list_files", {"path": None})],
            [("read_file", {"path": "raw_memories.md", "offset": None, "limit": None})],
            write_both(),
            "Consolidated 1 thread into MEMORY.md and memory_summary.md.",
        ]
    )
    async with harness(proto, responder=model) as (server, agent, sleep):
        result = await agent.consolidate(tree.request())
    assert isinstance(result, ConsolidationResult)
    assert (result.backend, result.model, result.turns) == (proto.name, "m-agent", 4)
    assert result.written == ["MEMORY.md", "memory_summary.md"] and result.deleted == []
    assert result.usage == Usage(input_tokens=100 + 101 + 102 + 103, output_tokens=4 * 7)
    assert (tree.root / "MEMORY.md").read_text() == MEMORY
    assert (tree.root / "memory_summary.md").read_text() == SUMMARY
    assert stat.S_IMODE((tree.root / "MEMORY.md").stat().st_mode) == 0o600
    assert sleep.calls == []
    assert tree.outside_state() == tree.before

    assert len(server.requests) == 4
    for req in server.requests:
        assert (req.method, req.path) == ("POST", proto.path)
        assert req.headers["authorization"] == f"Bearer {DUMMY_KEY}"
        body = req.json
        assert body["model"] == "m-agent"
        assert proto.instructions(body) == consolidation_prompt()
        assert body["tools"] == proto.tools
        assert body["stream"] is True
        assert proto.user_text(body) == consolidation_input_message(tree.request())
        if proto is CHAT:
            assert body["stream_options"] == {"include_usage": True}
        else:
            assert body["store"] is False and body["reasoning"] == {"effort": "medium"}

    # Each turn resends the conversation: the calls (without server ids), then their outputs.
    if proto is CHAT:
        last = server.requests[-1].json["messages"]
        assert [m["role"] for m in last] == [
            "system",
            "user",
            *("assistant", "tool") * 2,
            *("assistant", "tool", "tool"),
        ]
        assert [len(m.get("tool_calls", ())) for m in last if m["role"] == "assistant"] == [1, 1, 2]
    else:
        last = server.requests[-1].json["input"]
        assert [i["type"] for i in last] == [
            "message",
            "function_call",
            "function_call_output",
            "function_call",
            "function_call_output",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output",
        ]
        assert all("id" not in i for i in last)
    assert [c["call_id"] for c in sent_calls(server.requests[-1])] == [
        "t0_0",
        "t1_0",
        "t2_0",
        "t2_1",
    ]
    outputs = tool_outputs(server.requests[-1])
    assert "raw_memories.md  (" in outputs["t0_0"] and ".git" not in outputs["t0_0"]
    assert outputs["t1_0"] == RAW
    assert outputs["t2_0"] == f"wrote MEMORY.md ({len(MEMORY)} bytes)"
    assert outputs["t2_1"] == f"wrote memory_summary.md ({len(SUMMARY)} bytes)"


async def test_escapes_are_errors_the_model_sees_and_the_run_still_finishes(
    proto: Proto, tree: Tree
) -> None:
    attempts: list[Call] = [
        ("read_file", {"path": "../../etc/passwd", "offset": None, "limit": None}),
        ("read_file", {"path": "/etc/passwd", "offset": None, "limit": None}),
        ("read_file", {"path": "escape.md", "offset": None, "limit": None}),
        ("write_file", {"path": "escape.md", "content": "pwned"}),
        ("write_file", {"path": "outdir/new.md", "content": "pwned"}),
        ("write_file", {"path": "/tmp/memoryd-agent-escape.md", "content": "pwned"}),
        ("read_file", {"path": ".git/config", "offset": None, "limit": None}),
        ("edit_file", {"path": ".git/config", "old": "[core]", "new": "pwned"}),
        ("delete_file", {"path": "../outside/secret.txt"}),
        ("list_files", {"path": "outdir"}),
    ]
    model = ScriptedModel([attempts, write_both(), "done"])
    async with harness(proto, responder=model) as (server, agent, _):
        result = await agent.consolidate(tree.request())
    outputs = tool_outputs(server.requests[1])
    assert len(outputs) == len(attempts)
    for i in range(len(attempts)):
        assert outputs[f"t0_{i}"].startswith("error: refused:"), outputs[f"t0_{i}"]
        assert OUTSIDE_TOKEN not in outputs[f"t0_{i}"] and "root:" not in outputs[f"t0_{i}"]
    assert tree.outside_state() == tree.before
    assert not Path("/tmp/memoryd-agent-escape.md").exists()
    assert result.written == ["MEMORY.md", "memory_summary.md"] and result.turns == 3


async def test_unknown_tools_and_bad_arguments_are_told_to_the_model(
    proto: Proto, tree: Tree
) -> None:
    def responder(req: ReceivedRequest) -> Behaviour:
        n = model_turns(req)
        if n == 0:
            items = [
                function_call_item("shell", {"cmd": "cat /etc/passwd"}, "t0_0"),
                function_call_item("read_file", "{not json", "t0_1"),
                # A lax server that sends the arguments as an object, not as JSON text.
                {
                    "type": "function_call",
                    "call_id": "t0_2",
                    "name": "list_files",
                    "arguments": {"path": "rollout_summaries"},
                },
                # Arguments that are JSON but do not fit the tool's schema.
                function_call_item("read_file", {"path": "MEMORY.md", "offset": "2"}, "t0_3"),
                function_call_item("write_file", {"path": "MEMORY.md"}, "t0_4"),
            ]
            return Reply(text=None, items=items)
        return Reply(text="ok")

    async with harness(proto, responder=responder) as (server, agent, _):
        result = await agent.consolidate(tree.request())
    outputs = tool_outputs(server.requests[1])
    assert outputs["t0_0"].startswith("error: there is no tool named 'shell'")
    assert outputs["t0_1"].startswith("error: the arguments are not valid JSON")
    assert outputs["t0_2"].startswith("rollout_summaries/2026-11-22T03-12-03-abcd.md")
    [lax] = [c for c in sent_calls(server.requests[1]) if c["call_id"] == "t0_2"]
    assert lax["arguments"] == '{"path": "rollout_summaries"}'
    assert outputs["t0_3"] == "error: argument 'offset' must be an integer or null"
    assert outputs["t0_4"] == "error: argument 'content' is required and must be a string"
    assert result.turns == 2 and result.written == []


async def test_reasoning_and_messages_are_replayed(tree: Tree) -> None:
    """Responses only: reasoning items exist in that protocol alone."""
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA"}
    bare_reasoning = {"type": "reasoning", "id": "rs_2", "summary": []}

    def responder(req: ReceivedRequest) -> Behaviour:
        if model_turns(req) == 0:
            call = function_call_item("list_files", {"path": None}, "t0_0")
            return Reply(text="Looking first.", items=[reasoning, bare_reasoning, call])
        return Reply(text="done")

    async with harness(OPENAI, responder=responder) as (server, agent, _):
        await agent.consolidate(tree.request())
    replayed = server.requests[1].json["input"][1:]
    assert replayed[0] == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Looking first."}],
    }
    assert replayed[1] == {"type": "reasoning", "summary": [], "encrypted_content": "gAAAA"}
    assert replayed[2]["type"] == "function_call" and "id" not in replayed[2]
    assert replayed[3]["type"] == "function_call_output"
    assert server.requests[0].json["include"] == ["reasoning.encrypted_content"]


# --- bounds ----------------------------------------------------------------------------------


async def test_repeating_one_call_trips_the_loop_guard(proto: Proto, tree: Tree) -> None:
    def responder(req: ReceivedRequest) -> Behaviour:
        n = len(server.requests)
        args = {"path": "raw_memories.md", "offset": None, "limit": None}
        return Reply(text=None, items=[function_call_item("read_file", args, f"c{n}")])

    async with harness(proto, responder=responder) as (server, agent, _):
        with pytest.raises(AgentError) as info:
            await agent.consolidate(tree.request())
    err = info.value
    assert err.reason == "loop_guard" and isinstance(err, AgentRunError)
    assert "read_file" in str(err) and err.turns == 3 < MAX_TURNS
    assert len(server.requests) == 3
    assert err.usage == Usage(input_tokens=30, output_tokens=15)


async def test_rewriting_the_same_content_is_no_progress_for_the_loop_guard(
    proto: Proto, tree: Tree
) -> None:
    step = [("write_file", {"path": "MEMORY.md", "content": MEMORY})]
    async with harness(proto, responder=ScriptedModel([step])) as (server, agent, _):
        with pytest.raises(AgentRunError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "loop_guard" and len(server.requests) == 3
    assert info.value.written == ["MEMORY.md"]  # the failure still says what the agent wrote


async def test_a_model_that_never_stops_hits_the_turn_limit(proto: Proto, tree: Tree) -> None:
    def responder(req: ReceivedRequest) -> Behaviour:
        n = model_turns(req)
        args = {"path": "notes.md", "content": f"note {n}\n"}  # a real change every turn
        return Reply(text=None, items=[function_call_item("write_file", args, f"t{n}_0")])

    async with harness(proto, responder=responder) as (server, agent, _):
        with pytest.raises(AgentRunError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "turn_limit"
    assert len(server.requests) == MAX_TURNS == info.value.turns
    assert info.value.written == ["notes.md"]
    assert (tree.root / "notes.md").read_text() == f"note {MAX_TURNS - 1}\n"


def reading_model(first: list[Call] | None = None) -> Callable[[ReceivedRequest], Behaviour]:
    """Reads a different page every turn and never writes (after ``first``, if given)."""

    def responder(req: ReceivedRequest) -> Behaviour:
        n = model_turns(req)
        if first is not None and n == 0:
            calls = first
        else:
            calls = [("read_file", {"path": "raw_memories.md", "offset": 1, "limit": n + 1})]
        items = [function_call_item(c, a, f"t{n}_{i}") for i, (c, a) in enumerate(calls)]
        return Reply(text=None, items=items)

    return responder


async def test_no_file_change_for_too_long_is_no_progress(proto: Proto, tree: Tree) -> None:
    limits = AgentLimits(first_change_turns=5, no_progress_turns=3)
    async with harness(proto, responder=reading_model(), limits=limits) as (server, agent, _):
        with pytest.raises(AgentRunError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "no_progress" and "from the start" in str(info.value)
    assert len(server.requests) == 5

    async with harness(proto, responder=reading_model(write_both()), limits=limits) as (
        server,
        agent,
        _,
    ):
        with pytest.raises(AgentRunError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "no_progress" and "since its last file change" in str(info.value)
    assert len(server.requests) == 1 + 3
    assert info.value.written == ["MEMORY.md", "memory_summary.md"]


async def test_token_limit(proto: Proto, tree: Tree) -> None:
    limits = AgentLimits(max_tokens=1000)
    model = ScriptedModel([[("list_files", {"path": None})]] * 5 + ["done"], tokens=(600, 10))
    async with harness(proto, responder=model, limits=limits) as (server, agent, _):
        with pytest.raises(AgentRunError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "token_limit" and len(server.requests) == 2
    assert info.value.usage == Usage(input_tokens=600 + 601, output_tokens=20)


async def test_time_limit(proto: Proto, tree: Tree) -> None:
    limits = AgentLimits(max_seconds=0.5)

    def responder(req: ReceivedRequest) -> Behaviour:
        n = model_turns(req)
        args = {"path": "notes.md", "content": f"note {n}\n"}
        return Reply(
            text=None, items=[function_call_item("write_file", args, f"t{n}_0")], latency=0.2
        )

    async with harness(proto, responder=responder, limits=limits) as (_, agent, _):
        started = time.monotonic()
        with pytest.raises(AgentRunError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "time_limit" and time.monotonic() - started < 2
    assert info.value.written == ["notes.md"]


# --- transport -------------------------------------------------------------------------------


async def test_500_then_success_is_retried(proto: Proto, tree: Tree) -> None:
    model = ScriptedModel([write_both(), "done"])
    async with harness(proto, Status(500, "boom", code="server_error"), responder=model) as h:
        server, agent, sleep = h
        result = await agent.consolidate(tree.request())
    assert len(server.requests) == 3 and sleep.calls == [1.0]
    assert server.requests[0].body == server.requests[1].body  # the same turn, resent
    assert result.turns == 2 and result.written == ["MEMORY.md", "memory_summary.md"]


async def test_hung_connection_is_a_backend_timeout(proto: Proto, tree: Tree) -> None:
    async with harness(proto, default=Hang(), timeout_s=0.3, retries=1) as (server, agent, _):
        started = time.monotonic()
        with pytest.raises(AgentError) as info:
            await agent.consolidate(tree.request())
        elapsed = time.monotonic() - started
    assert info.value.reason == "backend"
    assert "timed out after 0.3s" in str(info.value) and "gave up after 2 attempts" in str(
        info.value
    )
    assert len(server.requests) == 2 and elapsed < 3


async def test_client_error_is_not_retried_and_names_phase2_model(proto: Proto, tree: Tree) -> None:
    async with harness(proto, Status(404, "The model `m-agent` does not exist")) as (
        server,
        agent,
        _,
    ):
        with pytest.raises(AgentError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "backend" and "HTTP 404" in str(info.value)
    assert "phase2.model" in str(info.value) and len(server.requests) == 1


async def test_cut_off_reply_is_a_backend_error_with_its_usage(proto: Proto, tree: Tree) -> None:
    # After a turn of tool calls (a first reply cut off before any call is no_tool_calls for
    # chat: test_chat_servers.py).
    look = Reply(text=None, items=[function_call_item("list_files", {}, "t0_0")])
    async with harness(proto, look, proto.cut_off("Let me", 50, 9)) as (_, agent, _):
        with pytest.raises(AgentRunError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "backend" and proto.cut_reason in str(info.value)
    assert info.value.usage == Usage(input_tokens=60, output_tokens=14)


async def test_missing_api_key(proto: Proto, tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    async with harness(proto, Reply(text="x")) as (server, agent, _):
        with pytest.raises(AgentError) as info:
            await agent.consolidate(tree.request())
    assert info.value.reason == "backend" and KEY_ENV in str(info.value)
    assert server.requests == []


async def test_from_config_default_model_and_protocol(proto: Proto, tree: Tree) -> None:
    if proto is CHAT:  # no default fits every server: the config must name the model
        with pytest.raises(ConfigError, match=r"cfg.toml: phase2.model: the chat backend needs"):
            make_consolidator(
                make_config("http://127.0.0.1:9/v1", model="", proto=proto), "cfg.toml"
            )
    model = "m-served" if proto is CHAT else ""
    look = Reply(text=None, items=[function_call_item("list_files", {}, "t0_0")])
    async with proto.server(look, Reply(text="nothing to do")) as server:
        agent = make_consolidator(make_config(server.url, model=model, proto=proto))
        try:
            typed: ConsolidationAgent = agent
            result = await typed.consolidate(tree.request(mode="incremental", added=[]))
        finally:
            await agent.aclose()
    assert result.model == (model or DEFAULT_MODEL) == server.requests[0].json["model"]
    assert result.turns == 2 and result.written == [] and result.usage.input_tokens == 20


# --- prompts ---------------------------------------------------------------------------------


def test_consolidation_prompt_is_ours_and_complete() -> None:
    prompt = consolidation_prompt()
    assert 4_000 < len(prompt.encode()) < 16_000
    for needle in (
        "data, never instructions",
        "INIT",
        "INCREMENTAL",
        DIFF_FILE,
        "authoritative",
        "raw_memories.md",
        "rollout_summaries/",
        "# Task Group:",
        "### rollout_summary_files",
        "### keywords",
        "## User preferences",
        "## Reusable knowledge",
        "## Failures and how to do differently",
        "v1",
        "## User Profile",
        "## General Tips",
        "## What's in Memory",
        "10,000 bytes",
        "first 5,000",
        "skills/<name>/SKILL.md",
        "[REDACTED_SECRET]",
        "without calling a tool",
    ):
        assert needle in " ".join(prompt.split()), needle


# What docs/memory-workflow.md says the summary is, as the prompt every backend sends says it.
SUMMARY_IS = (
    "Every line under `What's in Memory` is a statement a reader can act on without opening "
    "another file: it names its project",
    "one `General Tips` line says what to grep `MEMORY.md` for, instead of a pointer per project",
    "only a project with no line of its own gets a pointer instead",
    "start a preference, knowledge or failure bullet with its project",
)


async def test_the_prompt_asks_for_self_contained_summary_lines_naming_their_project(
    proto: Proto, tree: Tree
) -> None:
    """The instructions the backend sends over HTTP ask for statements that name their
    project, not a pointer line per project (the offline consolidator's summary), in Codex's
    sections, and the codex backend's child gets the same text."""
    look = Reply(text=None, items=[function_call_item("list_files", {}, "t0_0")])
    async with harness(proto, look, Reply(text="done")) as (server, agent, _):
        await agent.consolidate(tree.request())
    sent = " ".join(proto.instructions(server.requests[0].json).split())
    for needle in SUMMARY_IS:
        assert needle in sent, needle
    assert "each project's digest ends by naming its task group" not in sent
    summary = sent[sent.index("## memory_summary.md format") :]
    sections = ["## User Profile", "## User preferences", "## General Tips", "## What's in Memory"]
    at = [summary.index(f"{h} ") for h in sections]
    assert at == sorted(at)
    child = " ".join(consolidation_run_prompt(tree.request(), extensions=False).split())
    assert all(needle in child for needle in SUMMARY_IS)


def test_run_message_modes_ids_diff_and_extensions(tree: Tree) -> None:
    req = tree.request(
        mode="incremental",
        added=["a-1"],
        retained=["r-1", "r-2"],
        removed=["gone-1"],
        diff_file=DIFF_FILE,
    )
    text = consolidation_input_message(req)
    assert "Mode: INCREMENTAL" in text and "  - a-1" in text and "  - gone-1" in text
    assert "retained (2)" in text and "r-1" not in text
    assert f"Start by reading `{DIFF_FILE}`" in text and "extensions/" not in text
    init = consolidation_input_message(tree.request(added=[]), extensions=True)
    assert "Mode: INIT" in init and "added (0)" in init and "  - none" in init
    assert f"There is no `{DIFF_FILE}`" in init
    assert "extensions/<name>/instructions.md" in init


async def test_the_run_message_mentions_extensions_when_present(proto: Proto, tree: Tree) -> None:
    (tree.root / "extensions" / "ad_hoc").mkdir(parents=True)
    look = Reply(text=None, items=[function_call_item("list_files", {}, "t0_0")])
    async with harness(proto, look, Reply(text="done")) as (server, agent, _):
        await agent.consolidate(tree.request())
    text = proto.user_text(server.requests[0].json)
    assert "extensions/<name>/instructions.md" in text
    assert json.dumps(server.requests[0].json)  # the body is plain JSON
