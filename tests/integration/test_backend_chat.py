"""What only the ``chat`` backend does, against the loopback Chat Completions server: the
json_schema → json_object fallback, keyless local servers, servers' own error and tool-call
shapes. The contract it shares with ``openai`` is in test_backend_openai.py and
test_agent_openai.py, which run against both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.chat_server import DONE, ChatServer, chunk, usage_chunk
from support.protocols import CHAT, model_turns, tool_outputs
from support.responses_server import Events, ReceivedRequest, Reply, Status, function_call_item

from memoryd.config import Config, Phase1Config, Phase2Config, parse_config
from memoryd.consolidate.chat import ChatConsolidator
from memoryd.consolidate.factory import make_consolidator
from memoryd.consolidate.openai import OpenAIConsolidator
from memoryd.extract.base import ExtractionRequest, OutputError
from memoryd.extract.chat import ChatExtractor
from memoryd.extract.factory import make_extractor
from memoryd.extract.openai import OpenAIExtractor
from memoryd.llm.types import BackendError, Usage

GOOD = {"rollout_summary": "Pinned the clock.", "rollout_slug": "pin-clock", "raw_memory": "m\n"}
GOOD_TEXT = json.dumps(GOOD)
SCHEMA_REJECTED = "response_format type must be one of 'text' or 'json_object', got json_schema"


def request() -> ExtractionRequest:
    return ExtractionRequest(
        thread_id="t-1", rollout_path="/r.jsonl", cwd="/work/app", rollout_contents="[]"
    )


def config(url: str, *, key_env: str = "") -> Config:
    return CHAT.config(url, key_env=key_env, phase1=Phase1Config(model="qwen", transient_retries=0))


def formats(server: ChatServer) -> list[str]:
    return [r.json["response_format"]["type"] for r in server.requests]


@pytest.mark.parametrize("status", [400, 422])
async def test_a_server_that_rejects_json_schema_gets_json_object_from_then_on(
    status: int,
) -> None:
    fenced = f"Here it is:\n```json\n{GOOD_TEXT}\n```"
    script = (Status(status, SCHEMA_REJECTED), Reply(text=fenced), Reply(text=GOOD_TEXT))
    async with ChatServer(*script) as server, ChatExtractor(config(server.url)) as extractor:
        first = await extractor.extract(request())
        second = await extractor.extract(request())
    assert formats(server) == ["json_schema", "json_object", "json_object"]
    assert extractor.json_mode
    assert first.output.rollout_slug == second.output.rollout_slug == "pin-clock"


async def test_a_server_that_ignores_json_schema_is_read_leniently_then_asked_for_json() -> None:
    script = (
        Reply(text=f"Sure!\n```json\n{GOOD_TEXT}\n```\nAnything else?"),
        Reply(text=GOOD_TEXT),
    )
    async with ChatServer(*script) as server, ChatExtractor(config(server.url)) as extractor:
        assert (await extractor.extract(request())).output.raw_memory == "m\n"
        assert (await extractor.extract(request())).output.raw_memory == "m\n"
    assert formats(server) == ["json_schema", "json_object"]


async def test_other_client_errors_do_not_switch_the_format() -> None:
    script = (Status(400, "Invalid value for 'temperature'"), Reply(text=GOOD_TEXT))
    async with ChatServer(*script) as server, ChatExtractor(config(server.url)) as extractor:
        with pytest.raises(BackendError, match="HTTP 400"):
            await extractor.extract(request())
        await extractor.extract(request())
    assert formats(server) == ["json_schema", "json_schema"]
    assert not extractor.json_mode


async def test_json_object_mode_still_rejected_is_a_clear_error() -> None:
    script = (Status(400, SCHEMA_REJECTED), Status(400, "response_format is not supported"))
    async with ChatServer(*script) as server, ChatExtractor(config(server.url)) as extractor:
        with pytest.raises(BackendError) as info:
            await extractor.extract(request())
    assert "HTTP 400" in str(info.value) and "response_format is not supported" in str(info.value)
    assert formats(server) == ["json_schema", "json_object"]


async def test_a_local_server_needs_no_key_and_gets_no_authorization_header() -> None:
    async with ChatServer(Reply(text=GOOD_TEXT)) as server:
        async with ChatExtractor(config(server.url, key_env="")) as extractor:
            await extractor.extract(request())
    assert "authorization" not in server.requests[0].headers


async def test_a_key_env_that_is_named_but_unset_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MEMORYD_TEST_CHAT_KEY", raising=False)
    async with ChatServer(Reply(text=GOOD_TEXT)) as server:
        async with ChatExtractor(config(server.url, key_env="MEMORYD_TEST_CHAT_KEY")) as ex:
            with pytest.raises(BackendError, match=r"MEMORYD_TEST_CHAT_KEY .* is not set"):
                await ex.extract(request())
    assert server.requests == []


async def test_a_flat_error_object_mid_stream_is_an_error() -> None:
    """vLLM's shape: ``{"object": "error", "message": ..., "type": ..., "code": 400}``."""
    flat = {"object": "error", "message": "max_tokens is too large", "type": "BadRequestError"}
    async with ChatServer(Events([flat])) as server, ChatExtractor(config(server.url)) as ex:
        with pytest.raises(BackendError) as info:
            await ex.extract(request())
    assert not info.value.transient and "max_tokens is too large" in str(info.value)


async def test_usage_is_read_from_whichever_chunk_carries_it() -> None:
    events = [
        chunk(delta={"content": GOOD_TEXT}),
        {**chunk(finish_reason="stop"), "usage": {"prompt_tokens": 7, "completion_tokens": 3}},
        DONE,
    ]
    async with ChatServer(Events(events)) as server, ChatExtractor(config(server.url)) as ex:
        result = await ex.extract(request())
    assert result.usage == Usage(input_tokens=7, output_tokens=3)


async def test_content_filter_with_no_text_is_a_refusal() -> None:
    events = [chunk(finish_reason="content_filter"), usage_chunk(5, 0), DONE]
    async with ChatServer(Events(events)) as server, ChatExtractor(config(server.url)) as ex:
        with pytest.raises(OutputError, match="model refused: finish_reason: content_filter"):
            await ex.extract(request())


# --- the agent -------------------------------------------------------------------------------


def agent_config(url: str) -> Config:
    return CHAT.config(url, key_env="", phase2=Phase2Config(model="qwen"))


def tree(tmp_path: Path) -> Path:
    root = tmp_path / "memories"
    root.mkdir()
    (root / "raw_memories.md").write_text("# Raw Memories\n\nuv over pip\n")
    return root


async def test_interleaved_tool_call_deltas_without_ids_are_joined_by_index(
    tmp_path: Path,
) -> None:
    """Two calls whose argument pieces arrive interleaved, from a server that sends no call ids
    (their results still reach the model, matched to made-up ids)."""
    from memoryd.consolidate.base import ConsolidationInput

    a = json.dumps({"path": "MEMORY.md", "content": "# Memory\n"})
    b = json.dumps({"path": "notes.md", "content": "uv\n"})

    def call(index: int, **fn: str) -> dict[str, Any]:
        return chunk(delta={"tool_calls": [{"index": index, "function": fn}]})

    first = Events(
        [
            call(0, name="write_file", arguments=a[:10]),
            call(1, name="write_file", arguments=b[:7]),
            call(0, arguments=a[10:]),
            call(1, arguments=b[7:]),
            chunk(finish_reason="tool_calls"),
            usage_chunk(20, 4),
            DONE,
        ]
    )
    root = tree(tmp_path)
    async with ChatServer(first, Reply(text="done")) as server:
        async with ChatConsolidator(agent_config(server.url)) as agent:
            result = await agent.consolidate(ConsolidationInput(root=str(root), mode="init"))
    assert result.written == ["MEMORY.md", "notes.md"]
    assert (root / "notes.md").read_text() == "uv\n"
    replayed = server.requests[1].json["messages"][2]
    assert [c["id"] for c in replayed["tool_calls"]] == ["call_0", "call_1"]
    assert tool_outputs(server.requests[1]) == {
        "call_0": "wrote MEMORY.md (9 bytes)",
        "call_1": "wrote notes.md (3 bytes)",
    }


async def test_tool_calls_without_an_index_are_told_apart_by_their_ids(tmp_path: Path) -> None:
    """A server that sends each call whole, in its own chunk, with an id but no index."""
    from memoryd.consolidate.base import ConsolidationInput

    def whole(call_id: str, path: str) -> dict[str, Any]:
        args = json.dumps({"path": path, "content": "x\n"})
        fn = {"name": "write_file", "arguments": args}
        return chunk(delta={"tool_calls": [{"id": call_id, "type": "function", "function": fn}]})

    first = Events(
        [whole("a", "one.md"), whole("b", "two.md"), chunk(finish_reason="tool_calls"), DONE]
    )
    root = tree(tmp_path)
    async with ChatServer(first, Reply(text="done")) as server:
        async with ChatConsolidator(agent_config(server.url)) as agent:
            result = await agent.consolidate(ConsolidationInput(root=str(root), mode="init"))
    assert result.written == ["one.md", "two.md"]
    assert set(tool_outputs(server.requests[1])) == {"a", "b"}


async def test_text_and_calls_of_a_reply_are_replayed_as_one_assistant_message(
    tmp_path: Path,
) -> None:
    from memoryd.consolidate.base import ConsolidationInput

    def responder(req: ReceivedRequest) -> Reply:
        if model_turns(req) == 0:
            call = function_call_item("list_files", {"path": None}, "t0_0")
            return Reply(text="Looking first.", items=[call])
        return Reply(text="done")

    root = tree(tmp_path)
    async with ChatServer(responder=responder) as server:
        async with ChatConsolidator(agent_config(server.url)) as agent:
            await agent.consolidate(ConsolidationInput(root=str(root), mode="init"))
    assistant = server.requests[1].json["messages"][2]
    assert assistant == {
        "role": "assistant",
        "content": "Looking first.",
        "tool_calls": [
            {
                "id": "t0_0",
                "type": "function",
                "function": {"name": "list_files", "arguments": '{"path": null}'},
            }
        ],
    }
    assert server.requests[1].json["messages"][3]["role"] == "tool"


# --- selection per phase ---------------------------------------------------------------------


async def test_each_phase_uses_its_own_backend_model_and_connection() -> None:
    cfg = parse_config(
        {
            "phase1": {"backend": "chat", "model": "qwen2.5-coder:7b"},
            "phase2": {"backend": "openai", "model": "gpt-x"},
            "backends": {
                "chat": {"base_url": "http://127.0.0.1:8080/v1", "timeout_seconds": 7},
                "openai": {"base_url": "http://127.0.0.1:9/v1", "max_concurrency": 3},
            },
        },
        "cfg.toml",
    )
    extractor, agent = make_extractor(cfg), make_consolidator(cfg)
    try:
        assert isinstance(extractor, ChatExtractor) and isinstance(agent, OpenAIConsolidator)
        assert (extractor.model, extractor.url) == (
            "qwen2.5-coder:7b",
            "http://127.0.0.1:8080/v1/chat/completions",
        )
        assert extractor.timeout_seconds == 7
        assert agent.model == "gpt-x"
    finally:
        await extractor.aclose()
        await agent.aclose()
    swapped = parse_config(
        {
            "phase1": {"backend": "openai", "model": "gpt-mini"},
            "phase2": {"backend": "chat", "model": "llama3.1:8b", "max_turns": 12},
        },
        "cfg.toml",
    )
    extractor, agent = make_extractor(swapped), make_consolidator(swapped)
    try:
        assert isinstance(extractor, OpenAIExtractor) and extractor.model == "gpt-mini"
        assert isinstance(agent, ChatConsolidator) and agent.model == "llama3.1:8b"
        assert agent.limits.max_turns == 12
    finally:
        await extractor.aclose()
        await agent.aclose()
