"""The acceptance tier: the ``chat`` backend against llama.cpp's own ``llama-server`` running a
real small model (SmolLM2-135M-Instruct), with the config docs/backends.md documents.

``memoryd run --once`` (a subprocess) extracts the bundled example rollouts with
``phase1.backend = "chat"`` and consolidates them with the ``chat`` agent; the server is
started on 127.0.0.1 (tests/support/llama_server.py) and killed by its PID. Skipped, saying
why, only where the server binary is absent; ``.ci/run`` builds it. The behaviours a real
server shows are tested here too; the ones it does not reproduce (llama-cpp-python's quirks)
are in test_chat_servers.py against the loopback server.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.llama_server import CONTEXT_TOKENS, MODEL_NAME, LlamaServer, running

from memoryd.config import parse_config
from memoryd.consolidate.base import ConsolidationInput
from memoryd.consolidate.chat import TOOLS_DROPPED, ChatConsolidator
from memoryd.consolidate.loop import AgentRunError
from memoryd.demo import install_examples
from memoryd.doctor.backends import check_backends
from memoryd.extract.base import ExtractionRequest, Stage1Output
from memoryd.extract.chat import PROMPT_OVERHEAD_TOKENS, ChatExtractor
from memoryd.extract.openai import UnusableReplyError
from memoryd.extract.output import MAX_SLUG_CHARS, hollow_field
from memoryd.phase2.validate import validate_artifacts

REPO = Path(__file__).resolve().parent.parent
# The whole acceptance run (three rollouts, then phase 2) on two shared cores; the bound a run
# that loops, retries or waits out timeouts would break.
RUN_SECONDS = 900
MAX_OUTPUT_TOKENS = 512

CHAT_CONFIG = """\
[phase1]
backend = "chat"
model = "{model}"
max_output_tokens = {max_tokens}
concurrency = 1

[phase2]
backend = "chat"
model = "{model}"
max_output_tokens = {max_tokens}
max_turns = 6
max_seconds = 300
offline_fallback = true

[backends.chat]
base_url = "{url}"
timeout_seconds = 300
max_concurrency = 1
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-server with SmolLM2's own chat template (no tool support)."""
    with running(tmp_path_factory.mktemp("llama")) as srv:
        yield srv


@pytest.fixture(scope="module")
def tool_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama-server with a chat template that has tool support (docs/backends.md)."""
    with running(tmp_path_factory.mktemp("llama"), tools=True) as srv:
        yield srv


def chat_config(url: str, max_tokens: int = MAX_OUTPUT_TOKENS) -> str:
    return CHAT_CONFIG.format(model=MODEL_NAME, url=url, max_tokens=max_tokens)


def test_run_once_extracts_and_consolidates_the_examples(
    server: LlamaServer, tmp_path: Path
) -> None:
    home = tmp_path / "codex"
    installed = install_examples(home / "sessions")
    state = tmp_path / "state"
    cfg = tmp_path / "config.toml"
    cfg.write_text(chat_config(server.url))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "h"),
        "CODEX_HOME": str(home),
        "MEMORYD_STATE_DIR": str(state),
    }
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "memoryd", "--config", str(cfg), "run", "--once"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )
    elapsed = time.monotonic() - started
    out = proc.stdout + proc.stderr
    # A 135M model may loop until max_tokens on a rollout: that call completed (the server
    # answered, and memoryd stopped it at its own bound) and is the one failure allowed; run
    # --once then exits 1 naming it. A transport error or a timeout never is.
    cut_off = "model reply was cut off before it finished (finish_reason: length"
    failures = [ln for ln in proc.stderr.splitlines() if ln.startswith("memoryd: ")]
    assert proc.returncode == 0 or (
        proc.returncode == 1 and failures and all(cut_off in ln for ln in failures)
    ), out[-3000:]
    assert elapsed < RUN_SECONDS

    db = sqlite3.connect(state / "memoryd.sqlite")
    try:
        # Every stage-1 call completed: each job is done (succeeded or succeeded_no_output),
        # none failed with a transport error or a timeout.
        jobs = db.execute(
            "SELECT job_key, status, last_error FROM jobs WHERE kind = 'memory_stage1'"
        ).fetchall()
        assert len(jobs) == len(installed)
        done = [(s, e) for _, s, e in jobs if (s, e) == ("done", None)]
        assert done and all(
            (s, e) == ("done", None) or (e or "").startswith(cut_off) for _, s, e in jobs
        ), jobs
        # What was stored passes the stage-1 schema and the sanity check.
        outputs = db.execute(
            "SELECT raw_memory, rollout_summary, rollout_slug, backend, model FROM stage1_outputs"
        ).fetchall()
        for raw, summary, slug, backend, model in outputs:
            assert isinstance(raw, str) and raw and isinstance(summary, str) and summary
            assert slug is None or (len(slug) <= MAX_SLUG_CHARS and slug == slug.lower())
            assert (backend, model) == ("chat", MODEL_NAME)
            assert hollow_field(Stage1Output(raw_memory=raw, rollout_summary=summary)) is None
        # Usage was booked with the server's own token counts (llama-server streams usage, so
        # nothing was estimated).
        ledger = db.execute(
            "SELECT input_tokens, output_tokens, backend FROM usage_ledger WHERE phase = 'phase1'"
        ).fetchall()
        assert len(ledger) >= len(installed)
        assert all(i > 0 and o > 0 and b == "chat" for i, o, b in ledger), ledger
        assert "chat_usage_estimated" not in out
        # Phase 2 called the model through the chat agent (its tokens are booked), and the
        # folder is valid: the agent's own, or (SmolLM2's template has no tool support, so
        # the server drops the tools) the offline fallback's after no_tool_calls.
        runs = db.execute("SELECT outcome, reason FROM phase2_runs ORDER BY started_at").fetchall()
        agent = db.execute(
            "SELECT backend, model, input_tokens FROM usage_ledger WHERE phase = 'phase2'"
        ).fetchall()
    finally:
        db.close()
    assert runs and runs[-1][0] == "succeeded", runs
    assert runs[-1][1] in (None, "no_tool_calls: consolidated offline (phase2.offline_fallback)")
    assert [(b, m) for b, m, _ in agent] == [("chat", MODEL_NAME)] and agent[0][2] > 0
    assert validate_artifacts(home / "memories") is None
    report = {"seconds": round(elapsed, 1), "jobs": len(jobs), "outputs": len(outputs)}
    print(json.dumps({**report, "phase2": runs[-1][:2]}))


def request(contents: str = "[]") -> ExtractionRequest:
    return ExtractionRequest(
        thread_id="t-1", rollout_path="/r.jsonl", cwd="/work/app", rollout_contents=contents
    )


async def test_max_tokens_bounds_every_stage1_reply_and_a_cut_reply_is_unusable(
    server: LlamaServer,
) -> None:
    """A reply longer than ``max_tokens`` is cut by the server (``finish_reason: length``):
    memoryd sent the bound and reports the cut, with the tokens the server counted."""
    cfg = parse_config(
        {
            "phase1": {"backend": "chat", "model": MODEL_NAME, "max_output_tokens": 16},
            "backends": {"chat": {"base_url": server.url}},
        },
        "cfg.toml",
    )
    async with ChatExtractor(cfg) as extractor:
        with pytest.raises(UnusableReplyError, match=r"cut off .*finish_reason: length") as info:
            await extractor.extract(request())
    assert 0 < info.value.usage.output_tokens <= 16
    assert info.value.usage.input_tokens > 0 and not info.value.usage.estimated


async def test_the_chunk_size_follows_the_context_the_server_reports(server: LlamaServer) -> None:
    cfg = parse_config(
        {
            "phase1": {"backend": "chat", "model": MODEL_NAME, "max_output_tokens": 512},
            "backends": {"chat": {"base_url": server.url}},
        },
        "cfg.toml",
    )
    async with ChatExtractor(cfg) as extractor:
        limit = await extractor.input_token_limit()
    assert limit == CONTEXT_TOKENS - 512 - PROMPT_OVERHEAD_TOKENS


def test_doctor_probes_the_requests_each_phase_really_sends(tool_server: LlamaServer) -> None:
    cfg = parse_config(tomllib.loads(chat_config(tool_server.url)), "cfg.toml")
    [check, meaning] = check_backends(cfg)
    assert meaning.check == "meaning" and "not used" in meaning.message  # chat extracts
    limit = CONTEXT_TOKENS - MAX_OUTPUT_TOKENS - PROMPT_OVERHEAD_TOKENS
    assert check.status == "ok", check
    assert check.message.startswith(
        f"chat (phase1, phase2): {tool_server.url}: stage-1 request json_schema accepted, "
        f"chunks of {limit} tokens; tools request accepted (streamed), the model sees them (+"
    )


def test_doctor_says_when_the_server_drops_the_tools(server: LlamaServer) -> None:
    """SmolLM2's own chat template has no tool support: llama-server takes the request and
    leaves the tools out of the prompt, so phase 2 could never get a tool call."""
    cfg = parse_config(tomllib.loads(chat_config(server.url)), "cfg.toml")
    [check, meaning] = check_backends(cfg)
    assert meaning.check == "meaning" and "not used" in meaning.message  # chat extracts
    assert check.status == "warn"  # offline_fallback is on: phase 2 still gives a folder
    assert check.message.startswith(f"chat (phase1, phase2): {TOOLS_DROPPED} (")
    assert "--chat-template-file" in check.fix


def test_doctor_fails_when_the_call_phase1_makes_is_refused(server: LlamaServer) -> None:
    """The server is up, but the request phase 1 sends gets a 404: a fail naming the URL."""
    root = server.url.removesuffix("/v1")
    cfg = parse_config(tomllib.loads(chat_config(root + "/api")), "cfg.toml")
    [check, meaning] = check_backends(cfg)
    assert meaning.check == "meaning" and "not used" in meaning.message  # chat extracts
    assert check.status == "fail"
    expected = f"the phase1 request failed: Chat backend: HTTP 404 from {root}/api/chat/completions"
    assert expected in check.message


async def test_an_unstreamed_agent_turn_from_the_real_server_is_read_with_its_usage(
    tool_server: LlamaServer, tmp_path: Path
) -> None:
    """``stream_tools = false``: llama-server's whole ``chat.completion`` (the tools in the
    prompt, whatever the 135M model makes of them) is read as one turn, usage included. One
    turn only: the run then stops on a limit or on no_tool_calls, with the server's counts."""
    root = tmp_path / "memories"
    root.mkdir()
    (root / "raw_memories.md").write_text("# Raw Memories\n\nThe user prefers uv over pip.\n")
    cfg = parse_config(
        {
            "phase2": {"backend": "chat", "model": MODEL_NAME, "max_turns": 1},
            "backends": {"chat": {"base_url": tool_server.url, "stream_tools": False}},
        },
        "cfg.toml",
    )
    cfg.phase2.max_output_tokens = 64
    async with ChatConsolidator.from_config(cfg) as agent:
        with pytest.raises(AgentRunError) as info:
            await agent.consolidate(ConsolidationInput(root=str(root), mode="init"))
    assert info.value.reason in ("turn_limit", "no_tool_calls"), info.value
    usage = info.value.usage
    assert usage is not None and usage.input_tokens > 1000 and not usage.estimated
