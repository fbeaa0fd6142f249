"""A note the user writes into the memory folder is input of its own (SPEC §4 "Trigger": user
edits inside the memory root make the workspace dirty): ``memoryd run --once`` consolidates it
on the next pass even while there are no memories yet, and a folder with neither memories nor
edits still costs no model call. The phase-2 model is the loopback Responses server."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from support.daemon import KEY_ENV, daemon_env
from support.fault_world import SUMMARY_TEXT, tool_outputs, turns_so_far
from support.responses_server import (
    Behaviour,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)

from memoryd.layout import DIFF_FILE

pytestmark = pytest.mark.acceptance  # starts other processes

NOTE = "Always run the tests with uv run pytest, never a bare pytest."
EDIT = "- Deploys go through make release, never by hand."


def noting_model(req: ReceivedRequest) -> Behaviour:
    """Reads the workspace diff, writes the user's lines it adds into MEMORY.md (and a valid
    summary), then answers: what reaches MEMORY.md came to the model through the diff."""
    n = turns_so_far(req)
    if n == 0:
        args = {"path": DIFF_FILE, "offset": None, "limit": None}
        return Reply(text=None, items=[function_call_item("read_file", args, "t0_0")])
    if n == 1:
        added = [
            line[1:]
            for line in tool_outputs(req)[0].splitlines()
            if line.startswith("+") and line[1:] in (NOTE, EDIT)
        ]
        memory = "# Task Group: notes\n\n" + "".join(f"{a}\n" for a in added)
        calls = [
            ("write_file", {"path": "MEMORY.md", "content": memory}),
            ("write_file", {"path": "memory_summary.md", "content": SUMMARY_TEXT}),
        ]
        items = [function_call_item(c, a, f"t1_{i}") for i, (c, a) in enumerate(calls)]
        return Reply(text=None, items=items)
    return Reply(text="Consolidated the notes.")


async def run_once(tmp_path: Path, url: str) -> None:
    cfg = tmp_path / "memoryd.toml"
    cfg.write_text(
        f'[phase2]\nbackend = "openai"\n'
        f'[backends.openai]\nbase_url = "{url}"\napi_key_env = "{KEY_ENV}"\n'
    )
    argv = [sys.executable, "-m", "memoryd", "--config", str(cfg), "run", "--once"]
    with anyio.fail_after(120):
        r = await anyio.run_process(argv, env=daemon_env(tmp_path), check=False)
    assert r.returncode == 0, (r.stdout.decode(), r.stderr.decode())


async def test_a_note_is_consolidated_without_any_memory_and_no_edit_costs_no_call(
    tmp_path: Path,
) -> None:
    (tmp_path / "codex" / "sessions").mkdir(parents=True)  # no sessions: no memory ever
    root = tmp_path / "state" / "memories"
    async with ResponsesServer(responder=noting_model) as srv:
        await run_once(tmp_path, srv.url)  # the folder and its baseline are made
        assert srv.requests == []
        await run_once(tmp_path, srv.url)  # nothing written since: still no call
        assert srv.requests == []

        notes = root / "extensions" / "ad_hoc" / "notes"
        notes.mkdir()
        (notes / "2026-12-07T01-00-00-use-uv.md").write_text(f"{NOTE}\n")
        await run_once(tmp_path, srv.url)
        assert len(srv.requests) == 3  # read the diff, write, answer
        assert (root / "MEMORY.md").read_text() == f"# Task Group: notes\n\n{NOTE}\n"
        assert (root / "memory_summary.md").read_text() == SUMMARY_TEXT
        assert not (root / DIFF_FILE).exists()

        await run_once(tmp_path, srv.url)  # the note is in the new baseline: consolidated once
        assert len(srv.requests) == 3

        # A line the user adds to MEMORY.md is an edit too.
        with (root / "MEMORY.md").open("a") as f:
            f.write(f"{EDIT}\n")
        await run_once(tmp_path, srv.url)
        assert len(srv.requests) == 6
    assert (root / "MEMORY.md").read_text() == f"# Task Group: notes\n\n{EDIT}\n"
