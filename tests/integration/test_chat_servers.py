"""What real local model servers do, and what the ``chat`` backend does about it, where the
real llama-server of test_real_server.py does not reproduce it (llama-cpp-python's 500 for a
json_schema, its streams without usage or finish reason, servers without streamed tool calls,
models that call no tool): against the loopback Chat Completions server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from support.chat_server import DONE, ChatServer, chunk, usage_chunk
from support.protocols import CHAT, model_turns
from support.responses_server import (
    Behaviour,
    Events,
    Garbage,
    ReceivedRequest,
    Reply,
    Status,
    function_call_item,
)
from test_phase2 import env as env  # the real DB with phase-1 outputs, and a codex home

from memoryd.config import ChatBackendConfig, Config, Phase1Config, Phase2Config
from memoryd.consolidate.base import ConsolidationInput
from memoryd.consolidate.chat import ChatConsolidator
from memoryd.consolidate.loop import AgentRunError
from memoryd.demo import install_examples
from memoryd.extract.base import ExtractionRequest, Stage1Output
from memoryd.extract.chat import PROMPT_OVERHEAD_TOKENS, ChatExtractor, context_from
from memoryd.extract.openai import UnusableReplyError
from memoryd.extract.output import hollow_field
from memoryd.phase1 import Phase1
from memoryd.phase2 import Consolidator
from memoryd.phase2.validate import validate_artifacts
from memoryd.rollouts.indexer import Indexer
from memoryd.store.db import open_db
from memoryd.workspace.baseline import diff_against_baseline

GOOD = {"rollout_summary": "Pinned the clock.", "rollout_slug": "pin-clock", "raw_memory": "m\n"}
GOOD_TEXT = json.dumps(GOOD)
# llama-cpp-python's answer to response_format json_schema (an HTTP 500, not a 400).
SCHEMA_500 = "Internal Server Error: response_format json_schema is not supported by this model"


def config(url: str, **p1: Any) -> Config:
    return CHAT.config(url, key_env="", phase1=Phase1Config(model="m", transient_retries=2, **p1))


def request() -> ExtractionRequest:
    return ExtractionRequest(
        thread_id="t-1", rollout_path="/r.jsonl", cwd="/work/app", rollout_contents="[]"
    )


# --- stage 1 ---------------------------------------------------------------------------------


async def test_a_500_that_names_response_format_falls_back_at_once_without_retries() -> None:
    async with ChatServer(Status(500, SCHEMA_500), Reply(text=GOOD_TEXT)) as server:
        async with ChatExtractor(config(server.url)) as extractor:
            result = await extractor.extract(request())
    formats = [r.json["response_format"] for r in server.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_object"]  # no retried 500s
    assert formats[1]["schema"]["required"] == ["rollout_summary", "rollout_slug", "raw_memory"]
    assert result.output.rollout_slug == "pin-clock" and extractor.json_mode


async def test_a_500_about_something_else_is_still_retried_as_transient() -> None:
    script = (Status(500, "out of memory"), Reply(text=GOOD_TEXT))
    async with ChatServer(*script) as server:
        async with ChatExtractor(config(server.url), sleep=_no_sleep) as extractor:
            await extractor.extract(request())
    assert [r.json["response_format"]["type"] for r in server.requests] == ["json_schema"] * 2


async def _no_sleep(_: float) -> None:
    return None


async def test_every_stage1_call_carries_max_tokens_from_the_config() -> None:
    async with ChatServer(Reply(text=GOOD_TEXT)) as server:
        async with ChatExtractor(config(server.url, max_output_tokens=300)) as extractor:
            await extractor.extract(request())
    body = server.requests[0].json
    assert body["max_tokens"] == 300
    # The texts are bounded so that a schema-enforcing server makes the model close its object
    # within those tokens.
    props = body["response_format"]["json_schema"]["schema"]["properties"]
    assert (props["raw_memory"]["maxLength"], props["rollout_summary"]["maxLength"]) == (225, 37)


async def test_a_stream_without_a_finish_reason_is_a_cut_off_not_a_reply() -> None:
    """llama-cpp-python ends a running stream this way when a second request arrives."""
    events = [chunk(delta={"content": GOOD_TEXT}), usage_chunk(9, 4), DONE]
    async with ChatServer(Events(events)) as server:
        async with ChatExtractor(config(server.url)) as extractor:
            with pytest.raises(UnusableReplyError) as info:
                await extractor.extract(request())
    assert "cut off before it finished (the stream ended without a finish reason" in str(info.value)
    assert info.value.usage.output_tokens == 4  # still booked


async def test_a_stream_without_usage_is_booked_with_an_estimate() -> None:
    events = [chunk(delta={"content": GOOD_TEXT}), chunk(finish_reason="stop"), DONE]
    async with ChatServer(Events(events)) as server:
        async with ChatExtractor(config(server.url)) as extractor:
            result = await extractor.extract(request())
    sent = len(server.requests[0].body)
    assert result.usage.estimated
    assert result.usage.output_tokens == -(-len(GOOD_TEXT) // 4)
    assert abs(result.usage.input_tokens - sent / 4) < sent / 40  # the body, 4 bytes a token


CONTEXT = 512 + PROMPT_OVERHEAD_TOKENS + 300


def props(n_ctx: int) -> Garbage:
    """llama-server's ``/props`` reply."""
    body = json.dumps({"default_generation_settings": {"n_ctx": n_ctx}, "total_slots": 1})
    return Garbage(body=body.encode(), status=200, content_type="application/json")


async def examples_db(tmp_path: Path) -> tuple[aiosqlite.Connection, list[Path]]:
    home = tmp_path / "codex"
    installed = install_examples(home / "sessions")
    conn = await open_db(tmp_path / "state" / "memoryd.sqlite")
    await Indexer(conn, [home / "sessions"], home / "archived_sessions").scan_all()
    return conn, installed


async def test_chunks_are_sized_from_the_context_the_server_reports(tmp_path: Path) -> None:
    """A context that leaves 300 tokens for the rollout (the examples render to 1.5-3 kB, one
    chunk each under the default phase1.max_input_tokens)."""

    def responder(req: ReceivedRequest) -> Behaviour:
        return props(CONTEXT) if req.method == "GET" else Reply(text=GOOD_TEXT)

    conn, installed = await examples_db(tmp_path)
    try:
        async with ChatServer(responder=responder) as server:
            cfg = config(server.url, max_output_tokens=512, concurrency=1)
            async with ChatExtractor(cfg) as extractor:
                stats = await Phase1(conn, cfg, extractor).run(until_idle=True)
    finally:
        await conn.close()
    assert stats.succeeded == len(installed)
    gets = [r.path for r in server.requests if r.method == "GET"]
    posts = [r for r in server.requests if r.method == "POST"]
    assert gets == ["/v1/props"]  # asked once, where llama-server answers
    assert len(posts) > len(installed)  # rollouts split to fit the small context


async def test_a_configured_context_is_used_without_asking_the_server() -> None:
    async with ChatServer() as server:
        cfg = config(server.url, max_output_tokens=1000)
        cfg.backends.chat = ChatBackendConfig(base_url=server.url, context_tokens=32_768)
        async with ChatExtractor(cfg) as extractor:
            assert await extractor.input_token_limit() == 32_768 - 1000 - PROMPT_OVERHEAD_TOKENS
    assert server.requests == []


def test_context_is_read_from_llama_cpp_props_and_vllm_models() -> None:
    assert context_from({"n_ctx": 2048}, "m") == 2048
    assert context_from({"default_generation_settings": {"n_ctx": 8192}}, "m") == 8192
    models = {"data": [{"id": "a", "max_model_len": 4096}, {"id": "m", "max_model_len": 16384}]}
    assert context_from(models, "m") == 16384
    assert context_from({"data": [{"id": "x"}]}, "m") is None


TEMPLATE_ECHO = {
    "rollout_summary": "<one line: summary of rollout>",
    "rollout_slug": "",
    "raw_memory": "---\ndescription: <one line: what this memory is about>\ntask: <one line>\n---",
}


def test_template_echoes_and_punctuation_are_hollow_and_real_text_is_not() -> None:
    echo = Stage1Output(**{k: v for k, v in TEMPLATE_ECHO.items() if k != "rollout_slug"})
    assert hollow_field(echo) == "raw_memory"
    assert hollow_field(Stage1Output(rollout_summary="Fixed CI.", raw_memory=", ")) == "raw_memory"
    real = Stage1Output(rollout_summary="Fixed CI.", raw_memory="task: use uv, not pip")
    assert hollow_field(real) is None


async def test_a_template_echo_is_stored_as_no_output(tmp_path: Path) -> None:
    conn, installed = await examples_db(tmp_path)
    try:
        async with ChatServer(default=Reply(text=json.dumps(TEMPLATE_ECHO))) as server:
            cfg = config(server.url)
            async with ChatExtractor(cfg) as extractor:
                stats = await Phase1(conn, cfg, extractor).run(until_idle=True)
        stored = list(await conn.execute_fetchall("SELECT COUNT(*) FROM stage1_outputs"))
    finally:
        await conn.close()
    assert (stats.succeeded, stats.no_output) == (0, len(installed))
    assert stored[0][0] == 0


# --- phase 2 ---------------------------------------------------------------------------------


def agent_config(url: str, **p2: Any) -> Config:
    return CHAT.config(url, key_env="", phase2=Phase2Config(model="m", **p2))


def consolidator(conn: aiosqlite.Connection, home: Path, cfg: Config) -> Consolidator:
    return Consolidator(
        conn,
        cfg,
        ChatConsolidator.from_config(cfg),
        root=home / "memories",
        codex_home=home,
        worker_id="test",
    )


async def test_a_model_that_calls_no_tool_stops_the_run_with_no_tool_calls(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env
    async with ChatServer(default=Reply(text="Here is a summary of your memories.")) as server:
        result = await consolidator(conn, home, agent_config(server.url)).run_once()
    assert len(server.requests) == 1  # ended at once, not retried or cut off
    assert result.outcome == "failed" and (result.reason or "").startswith("no_tool_calls: ")
    assert "does the server pass tools to it?" in (result.reason or "")
    rows = list(await conn.execute_fetchall("SELECT outcome, reason FROM phase2_runs"))
    assert rows[0][0] == "failed" and rows[0][1].startswith("no_tool_calls")
    assert not (root / "MEMORY.md").exists()
    assert "raw_memories.md" in diff_against_baseline(root).added  # the baseline is untouched


async def test_with_offline_fallback_a_model_that_calls_no_tool_still_gives_a_folder(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    conn, home, root = env
    cfg = agent_config("http://127.0.0.1:9/v1", offline_fallback=True)
    async with ChatServer(default=Reply(text="I cannot use tools.")) as server:
        cfg.backends.chat = ChatBackendConfig(base_url=server.url)
        result = await consolidator(conn, home, cfg).run_once()
    assert result.outcome == "succeeded"
    assert result.reason == "no_tool_calls: consolidated offline (phase2.offline_fallback)"
    assert validate_artifacts(root) is None
    rows = list(await conn.execute_fetchall("SELECT outcome, reason FROM phase2_runs"))
    assert rows == [("succeeded", result.reason)]


async def test_no_model_call_when_there_is_nothing_to_consolidate(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    conn = await open_db(tmp_path / "state" / "memoryd.sqlite")
    try:
        async with ChatServer(default=Reply(text="done")) as server:
            result = await consolidator(conn, home, agent_config(server.url)).run_once()
    finally:
        await conn.close()
    assert result.outcome == "noop" and server.requests == []
    # There was a diff (the seeded folder), so without the check the agent would have run.
    assert not diff_against_baseline(home / "memories").is_empty


async def test_every_agent_turn_carries_max_tokens_and_can_be_asked_for_unstreamed(
    tmp_path: Path,
) -> None:
    """``stream_tools = false``: the turns are plain ``chat.completion`` replies, tool calls
    included, for servers that cannot stream them."""

    def completion(message: dict[str, Any], finish: str) -> Garbage:
        body = {
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 7},
        }
        return Garbage(body=json.dumps(body).encode(), content_type="application/json")

    def responder(req: ReceivedRequest) -> Behaviour:
        if model_turns(req) == 0:
            args = json.dumps({"path": "notes.md", "content": "uv over pip\n"})
            call = {
                "id": "t0_0",
                "type": "function",
                "function": {"name": "write_file", "arguments": args},
            }
            return completion(
                {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
            )
        return completion({"role": "assistant", "content": "done"}, "stop")

    root = tmp_path / "memories"
    root.mkdir()
    cfg = agent_config("http://127.0.0.1:9/v1", max_output_tokens=700)
    async with ChatServer(responder=responder) as server:
        cfg.backends.chat = ChatBackendConfig(base_url=server.url, stream_tools=False)
        async with ChatConsolidator.from_config(cfg) as agent:
            result = await agent.consolidate(ConsolidationInput(root=str(root), mode="init"))
    assert (root / "notes.md").read_text() == "uv over pip\n"
    assert result.turns == 2 and result.usage.input_tokens == 60 and not result.usage.estimated
    for req in server.requests:
        assert req.json["stream"] is False and "stream_options" not in req.json
        assert req.json["max_tokens"] == 700


async def test_an_agent_turn_without_a_finish_reason_is_a_cut_off(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    root.mkdir()
    call = function_call_item("list_files", {}, "t0_0")
    events = [
        chunk(
            delta={
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "t0_0",
                        "function": {"name": call["name"], "arguments": "{}"},
                    }
                ]
            }
        ),
        DONE,
    ]
    stopped = await agent_stopped_by(root, events)
    assert stopped.reason == "backend"
    assert "cut off (the stream ended without a finish reason)" in str(stopped)


async def agent_stopped_by(root: Path, events: list[Any]) -> AgentRunError:
    """How the chat agent's run stops when its first turn streams ``events``."""
    async with ChatServer(Events(events)) as server:
        async with ChatConsolidator.from_config(agent_config(server.url)) as agent:
            with pytest.raises(AgentRunError) as info:
                await agent.consolidate(ConsolidationInput(root=str(root), mode="init"))
    return info.value


async def test_a_first_reply_cut_off_before_any_tool_call_is_no_tool_calls(tmp_path: Path) -> None:
    """A model that never saw the tools (the server dropped them) writes prose until
    ``max_tokens``: that is no tool call, not a backend failure to retry."""
    root = tmp_path / "memories"
    root.mkdir()
    events = [chunk(delta={"content": "Sure! Here is"}), chunk(finish_reason="length"), DONE]
    stopped = await agent_stopped_by(root, events)
    assert stopped.reason == "no_tool_calls"
    assert "wrote until cut off (finish_reason: length) without calling a tool" in str(stopped)
