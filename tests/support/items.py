"""Codex response items for extractor tests (the shapes ``render_rollout`` hands a stage-1
backend: user and assistant messages, ``exec_command`` calls with unified-exec outputs,
``apply_patch`` calls), the request around them, and readers of the offline extractor's
sections."""

from __future__ import annotations

import json
import re
from typing import Any

from memoryd.extract.base import ExtractionRequest, Stage1Output
from memoryd.extract.offline import OfflineExtractor


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def env_context(cwd: str) -> dict[str, Any]:
    return user(
        f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <shell>bash</shell>\n</environment_context>"
    )


def assistant(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def run(call_id: str, cmd: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "function_call",
        "name": "exec_command",
        "arguments": json.dumps({"cmd": cmd, "yield_time_ms": 5000, **extra}),
        "call_id": call_id,
    }


def result(call_id: str, code: int | None, output: str) -> dict[str, Any]:
    status = (
        f"Process exited with code {code}"
        if code is not None
        else "Process running with session ID 7"
    )
    return {
        "type": "function_call_output",
        "call_id": call_id,
        "output": f"Chunk ID: 9f2c1a\nWall time: 0.2 seconds\n{status}\n"
        f"Original token count: 40\nOutput:\n{output}",
    }


def patch(
    call_id: str,
    *files: str,
    op: str = "Update",
    added: tuple[str, ...] = ("new",),
    removed: tuple[str, ...] = ("old",),
) -> dict[str, Any]:
    plus = "".join(f"+{line}\n" for line in added)
    minus = "".join(f"-{line}\n" for line in removed)
    body = "".join(f"*** {op} File: {f}\n@@\n{minus}{plus}" for f in files)
    return {
        "type": "custom_tool_call",
        "name": "apply_patch",
        "call_id": call_id,
        "input": f"*** Begin Patch\n{body}*** End Patch\n",
    }


def patch_ok(call_id: str) -> dict[str, Any]:
    return {
        "type": "custom_tool_call_output",
        "call_id": call_id,
        "output": json.dumps(
            {"output": "Success. Updated the following files:\nM x\n", "metadata": {"exit_code": 0}}
        ),
    }


def request(
    items: list[dict[str, Any]],
    *,
    cwd: str = "/home/u/proj",
    branch: str | None = "main",
    chunk: tuple[int, int] = (0, 1),
) -> ExtractionRequest:
    return ExtractionRequest(
        thread_id="01a2013d-497f-71f0-81b9-4c6d2314a10b",
        rollout_path="/home/u/.codex/sessions/2026/11/22/rollout-x.jsonl",
        cwd=cwd,
        git_branch=branch,
        rollout_contents=json.dumps(items),
        chunk_index=chunk[0],
        chunk_count=chunk[1],
    )


async def extract(req: ExtractionRequest) -> Stage1Output:
    res = await OfflineExtractor().extract(req)
    assert res.backend == "offline"
    assert res.model == "offline-v1"
    assert res.usage.input_tokens == 0 and res.usage.output_tokens == 0
    return res.output


def task_block(text: str, n: int) -> str:
    """The ``## Task n`` (summary) or ``### Task n`` (raw memory) section of ``text``."""
    m = re.search(rf"^#{{2,3}} Task {n}: .*?(?=^#{{2,3}} |\Z)", text, re.M | re.S)
    assert m, f"no task {n} in:\n{text}"
    return m.group(0)


def section(block: str, heading: str) -> str:
    m = re.search(rf"^{re.escape(heading)}:\n(.*?)(?:\n\n|\Z)", block, re.M | re.S)
    assert m, f"no {heading!r} in:\n{block}"
    return m.group(1)


async def knowledge_of(items: list[dict[str, Any]], task: int = 1) -> str:
    """The "Reusable knowledge" of a task of the offline raw memory of ``items``."""
    out = await extract(request(items))
    return section(task_block(out.raw_memory, task), "Reusable knowledge")


async def failures_of(items: list[dict[str, Any]], task: int = 1) -> str:
    """The "Failures and how to do differently" of a task of the offline raw memory."""
    out = await extract(request(items))
    return section(task_block(out.raw_memory, task), "Failures and how to do differently")


def front_matter(raw: str) -> dict[str, str]:
    assert raw.startswith("---\n")
    head = raw.split("\n---\n", 1)[0].removeprefix("---\n")
    return dict(line.split(": ", 1) for line in head.splitlines())
