"""The offline stage-1 backend: real signal from real and synthetic rollouts, deterministic
and bounded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.items import (
    assistant,
    env_context,
    extract,
    front_matter,
    patch,
    patch_ok,
    request,
    result,
    run,
    section,
    task_block,
    user,
)

from memoryd.extract.base import ExtractionRequest, Extractor
from memoryd.extract.offline import (
    MAX_FIELD_CHARS,
    QUOTE_CHARS,
    OfflineExtractor,
    command_key,
    command_paths,
    is_preference,
    parse_items,
    parse_output,
    preference_implication,
    read_message,
)
from memoryd.rollouts.render import DEFAULT_MAX_TOKENS, render_rollout

FIXTURES = Path(__file__).resolve().parents[2] / "memoryd" / "examples"
PLAIN = "rollout-2026-11-22T03-12-03-01a2013d-497f-71f0-81b9-4c6d2314a10b.jsonl"
TOOL = "rollout-2026-11-22T03-13-54-01a2013e-fb76-7c33-8cf6-bf19bdb58fd0.jsonl"
COMPACT = "rollout-2026-11-22T03-13-55-01a2013e-ff1a-7c20-8973-b369527e3057.jsonl"


# --------------------------------------------------------------------------------------------
# Inputs


def fixture_request(
    name: str, *, max_tokens: int = DEFAULT_MAX_TOKENS, chunked: bool = True, chunk: int = 0
) -> ExtractionRequest:
    """The request phase 1 builds for a bundled rollout: its stage-1 input as rendered by
    ``render_rollout`` (Codex's item filter, redacted, within budget), cwd from session_meta."""
    path = FIXTURES / name
    meta = json.loads(path.read_text(encoding="utf-8").splitlines()[0])["payload"]
    rendered = render_rollout(path, max_tokens=max_tokens, chunked=chunked)
    return ExtractionRequest(
        thread_id=meta["id"],
        rollout_path=str(path),
        cwd=meta["cwd"],
        rollout_contents=rendered.chunks[chunk],
        chunk_index=chunk,
        chunk_count=len(rendered.chunks),
    )


# --------------------------------------------------------------------------------------------
# The three real rollouts


async def test_fixture_plain_chat_prompt_preference_and_cwd() -> None:
    out = await extract(fixture_request(PLAIN))
    prompt = "Explain how to run the pytest suite in this repo; I prefer uv over pip."
    cwd = "/home/dev/code/run-ont1j3pn/proj-alpha"

    raw_task = task_block(out.raw_memory, 1)
    assert f"task: {prompt}\n" in raw_task
    prefs = section(raw_task, "Preference signals")
    assert "prefer uv over pip" in prefs
    assert "use uv rather than pip" in prefs
    assert section(task_block(out.rollout_summary, 1), "Preference signals") == prefs

    fm = front_matter(out.raw_memory)
    assert fm["cwd"] == cwd
    assert fm["task_group"] == "proj-alpha / testing"
    assert fm["task_outcome"] == "uncertain"  # no tool evidence, no feedback
    assert {"uv", "pip"} <= set(fm["keywords"].split(", "))
    assert f"Rollout context: cwd `{cwd}`" in out.rollout_summary
    assert "<environment_context>" not in out.rollout_summary + out.raw_memory
    assert out.rollout_slug == "explain_run_pytest_suite_repo"


async def test_fixture_tool_call_command_exit_file_and_second_turn_preference() -> None:
    out = await extract(fixture_request(TOOL))
    summary = task_block(out.rollout_summary, 1)
    assert "- Ran `ls -la && cat README.md` (exit 0)" in section(summary, "Key steps")
    assert "`README.md`" in section(summary, "References")  # files touched
    assert "Files involved" not in out.rollout_summary + out.raw_memory
    refs = section(task_block(out.raw_memory, 1), "References")
    assert "`ls -la && cat README.md` (exit 0)" in refs
    assert "hello" in refs  # the README's content, quoted from the output
    prefs = section(summary, "Preference signals")
    assert '"Next time always use ripgrep instead of grep."' in prefs
    assert "use ripgrep rather than grep" in prefs
    # "Thanks." in the second turn is feedback on the first request, not a new task.
    assert "## Task 2" not in out.rollout_summary
    assert 'Outcome: success (the user confirmed: "Thanks.")' in summary
    assert "None observed." in section(summary, "Failures and how to do differently")
    assert front_matter(out.raw_memory)["cwd"] == "/home/dev/code/samples-13uz/proj-tools"


async def test_fixture_compaction_keeps_both_tasks() -> None:
    out = await extract(fixture_request(COMPACT))
    t1, t2 = task_block(out.raw_memory, 1), task_block(out.raw_memory, 2)
    assert "Load the giant log file" in t1.splitlines()[0]
    assert "task: [[usage:250000]] Load the giant log file\n" in t1
    assert t2.startswith("### Task 2: Continue after the big log\n")
    assert "task_outcome: success" in t1  # the user moved on without complaint
    assert "task_outcome: uncertain" in t2
    assert "## Task 1: " in out.rollout_summary and "## Task 2: " in out.rollout_summary
    assert "(+1 more request)" in out.rollout_summary.splitlines()[0]
    fm = front_matter(out.raw_memory)
    assert fm["task_outcome"] == "uncertain"
    assert fm["task_group"] == "proj-compact / logs"


@pytest.mark.parametrize("name", [PLAIN, TOOL, COMPACT])
async def test_fixture_outputs_have_codex_shapes(name: str) -> None:
    out = await extract(fixture_request(name))
    summary_lines = out.rollout_summary.splitlines()
    assert summary_lines[0].startswith("# ") and summary_lines[1] == ""
    assert summary_lines[2].startswith("Rollout context: ")
    for heading in (
        "Outcome: ",
        "Preference signals:",
        "Key steps:",
        "Failures and how to do differently:",
        "Reusable knowledge:",
        "References:",
    ):
        assert f"\n{heading}" in out.rollout_summary
    fm = front_matter(out.raw_memory)
    assert list(fm) == ["description", "task", "task_group", "task_outcome", "cwd", "keywords"]
    assert fm["task_outcome"] in ("success", "partial", "uncertain", "fail")
    block = task_block(out.raw_memory, 1)
    for line in ("task: ", "task_group: ", "task_outcome: "):
        assert f"\n{line}" in block
    heads = re.findall(r"^([A-Z][a-z ]+(?: and how to do differently)?):$", block, re.M)
    assert heads == [
        "Preference signals",
        "Reusable knowledge",
        "Failures and how to do differently",
        "References",
    ]
    assert out.rollout_slug and re.fullmatch(r"[a-z0-9_]{1,60}", out.rollout_slug)
    assert re.search(r"^- \[1\] user request: ", block, re.M)


# --------------------------------------------------------------------------------------------
# Synthetic rollouts


async def test_failing_command_then_fix_records_error_resolution_and_outcome() -> None:
    items = [
        env_context("/home/u/proj"),
        user("Run the tests and fix what fails."),
        run("c1", "pytest -q"),
        result(
            "c1",
            1,
            'Traceback (most recent call last):\n  File "t.py", line 1\n'
            "ModuleNotFoundError: No module named 'requests'\n",
        ),
        run("c2", "uv run pytest -q"),
        result("c2", 0, "12 passed in 0.4s\n"),
        assistant("All 12 tests pass with `uv run pytest -q`."),
        user("Thanks, that works!"),
    ]
    out = await extract(request(items))
    block = task_block(out.rollout_summary, 1)
    assert block.splitlines()[0] == "## Task 1: Run the tests and fix what fails"
    assert "Outcome: success (the user confirmed: " in block
    failures = section(block, "Failures and how to do differently")
    # One linked statement: what failed, with its error, and what worked instead.
    assert (
        "- `pytest -q` failed: \"ModuleNotFoundError: No module named 'requests'\"; "
        "`uv run pytest -q` works instead\n"
    ) in failures + "\n"
    knowledge = section(block, "Reusable knowledge")
    assert "Run the tests with `uv run pytest -q`" in knowledge
    assert "works where" not in knowledge  # the failure's lesson already says it
    assert "Project root" not in knowledge  # the consolidator knows the cwd
    steps = section(block, "Key steps")
    assert steps.index("`pytest -q` (exit 1)") < steps.index("`uv run pytest -q` (exit 0)")
    fm = front_matter(out.raw_memory)
    assert fm["task_outcome"] == "success"
    assert fm["task_group"] == "proj / testing"
    assert "ModuleNotFoundError" in fm["keywords"].split(", ")


async def test_fix_by_editing_then_rerunning_the_same_command() -> None:
    items = [
        user("The build is broken, please fix it"),
        run("c1", "make build"),
        result(
            "c1", 2, "src/app.c:10:5: error: expected ';' before 'return'\nmake: *** [all] Error 1"
        ),
        patch("p1", "src/app.c"),
        patch_ok("p1"),
        run("c2", "make build"),
        result("c2", 0, "ok\n"),
    ]
    out = await extract(request(items))
    block = task_block(out.rollout_summary, 1)
    failures = section(block, "Failures and how to do differently")
    assert (
        "`make build` failed: \"src/app.c:10:5: error: expected ';' before 'return'\"; "
        "fixed by editing `src/app.c`, after which it passed"
    ) in failures
    assert "`src/app.c` (update)" in section(block, "Key steps")
    # Last task, recovered but never confirmed by the user.
    assert block.count("Outcome: partial (failures were worked around") == 1
    assert "`src/app.c`" in section(block, "References")


async def test_last_command_failing_is_a_failed_task() -> None:
    items = [
        user("Deploy the site"),
        run("c1", "npm run deploy"),
        result("c1", 127, "sh: 1: netlify: not found\n"),
    ]
    out = await extract(request(items))
    block = task_block(out.raw_memory, 1)
    assert "task_outcome: fail" in block
    failures = section(block, "Failures and how to do differently")
    assert "`npm run deploy` failed (exit 127)" in failures
    assert "unresolved at the end of the task" in failures
    assert "`netlify` is not installed or not on PATH here" in section(block, "Reusable knowledge")
    assert "the last step failed: `npm run deploy` (exit 127)" in out.rollout_summary


async def test_user_complaint_is_a_correction_not_a_new_task() -> None:
    items = [
        user("Make the banner red"),
        patch("p1", "web/banner.css"),
        patch_ok("p1"),
        user("No, that's not what I asked. I meant the footer."),
        assistant("Sorry, changing the footer now."),
    ]
    out = await extract(request(items))
    assert "## Task 2" not in out.rollout_summary
    block = task_block(out.rollout_summary, 1)
    assert 'Outcome: fail (the user reported a problem: "No, that\'s not what I asked."' in block
    assert (
        "The user rejected the edit to `web/banner.css` that added `new` "
        "(\"No, that's not what I asked.\"): don't repeat it"
    ) in section(block, "Failures and how to do differently")
    assert "The user corrected:" in section(block, "Key steps")


async def test_complaint_then_successful_work_is_partial() -> None:
    items = [
        user("Fix the flaky test"),
        run("c1", "pytest tests/test_io.py"),
        result("c1", 0, "1 passed"),
        user("It still fails on CI"),
        patch("p1", "tests/test_io.py"),
        patch_ok("p1"),
        run("c2", "pytest tests/test_io.py"),
        result("c2", 0, "1 passed"),
    ]
    out = await extract(request(items))
    assert "task_outcome: partial" in task_block(out.raw_memory, 1)
    assert "`tests/test_io.py`" in out.raw_memory


async def test_new_request_after_thanks_opens_a_task_and_confirms_the_last() -> None:
    items = [
        user("Add a --verbose flag"),
        patch("p1", "cli.py"),
        patch_ok("p1"),
        user("Great, thanks. Now add a changelog entry for it."),
        patch("p2", "CHANGELOG.md"),
        patch_ok("p2"),
    ]
    out = await extract(request(items))
    t1, t2 = task_block(out.rollout_summary, 1), task_block(out.rollout_summary, 2)
    assert 'Outcome: success (the user confirmed: "Great, thanks."' in t1
    assert t2.startswith("## Task 2: Now add a changelog entry for it\n")
    assert "uncertain" in t2.split("\n")[2]
    assert "`CHANGELOG.md`" in t2 and "`CHANGELOG.md`" not in t1


async def test_no_user_request_gives_the_empty_output() -> None:
    for items in (
        [],
        [env_context("/p")],
        [env_context("/p"), assistant("hello"), run("c1", "ls"), result("c1", 0, "a")],
        [user("# AGENTS.md instructions for /p\n\n<INSTRUCTIONS>\nbe nice\n</INSTRUCTIONS>")],
        [user("<skill>\n<name>x</name>\n</skill>")],
    ):
        out = await extract(request(items))
        assert out.rollout_summary == "" and out.raw_memory == "" and out.rollout_slug == ""
        assert out.is_empty()
    out = await extract(
        ExtractionRequest(thread_id="t", rollout_path="p", cwd="", rollout_contents="")
    )
    assert out.is_empty()


async def test_a_later_chunk_with_only_tool_work_is_a_continuation() -> None:
    items = [run("c1", "cargo test"), result("c1", 101, "error[E0425]: cannot find value `x`")]
    out = await extract(request(items, chunk=(1, 3)))
    assert "## Task 1: Continuation of an earlier request (part 2 of 3)" in out.rollout_summary
    assert "part 2 of 3 of a long rollout" in out.rollout_summary
    assert "error[E0425]: cannot find value `x`" in out.rollout_summary
    assert "task_outcome: fail" in out.raw_memory
    # The first chunk of the same shape has no request at all: nothing to remember.
    assert (await extract(request(items, chunk=(0, 3)))).is_empty()


async def test_extraction_is_deterministic() -> None:
    items = [
        env_context("/home/u/proj"),
        user("Refactor utils; always use pathlib instead of os.path."),
        run("c1", "rg -n 'os.path' src"),
        result("c1", 0, "src/utils.py:3:import os.path"),
        patch("p1", "src/utils.py", "src/io.py"),
        patch_ok("p1"),
        run("c2", "ruff check src && mypy src"),
        result("c2", 1, "src/io.py:4: error: Name 'Path' is not defined"),
        run("c3", "ruff check src && mypy src"),
        result("c3", 0, "Success"),
    ]
    req = request(items)
    first = await extract(req)
    second = await OfflineExtractor().extract(req)
    assert second.output == first
    assert [await extract(req) for _ in range(3)] == [first] * 3


async def test_huge_tool_output_is_capped() -> None:
    noise = "x" * 2000 + "\n"
    huge = noise * 500 + "Error: " + "y" * 5000 + "\n" + noise * 500  # ~2 MB
    items = [
        user("Load the giant log file " + "z" * 5000),
        run("c1", "cat giant.log " + "--opt " * 200),
        result("c1", 1, huge),
    ]
    out = await extract(request(items))
    assert len(out.rollout_summary) < 10_000
    assert len(out.raw_memory) < 10_000
    for text in (out.rollout_summary, out.raw_memory):
        for line in text.splitlines():
            assert len(line) <= 1200
        assert "y" * (QUOTE_CHARS + 1) not in text
        assert "x" * 400 not in text
    assert "Error: yyy" in out.rollout_summary


async def test_many_requests_are_bounded() -> None:
    items: list[dict[str, Any]] = []
    for i in range(300):
        items += [
            user(f"Task number {i}: please rename v{i} in module m{i}.py. Never touch x{i}."),
            run(f"c{i}", f"sed -i s/v{i}/w{i}/ m{i}.py && pytest -q tests/test_m{i}.py"),
            result(f"c{i}", i % 2, "E   assert 0 == 1\nFAILED tests/test_m.py::test_x" * 50),
        ]
    out = await extract(request(items))
    assert len(out.rollout_summary) <= MAX_FIELD_CHARS
    assert len(out.raw_memory) <= MAX_FIELD_CHARS
    assert "## Task 12: " in out.rollout_summary
    assert "## Task 13: " not in out.rollout_summary
    assert "Further requests (not expanded)" in out.rollout_summary
    assert "in similar future tasks, do not touch x299" in out.raw_memory  # beyond task 12
    assert "- … and 268 more" in out.raw_memory


async def test_damaged_or_truncated_contents_are_salvaged() -> None:
    head = [user("Fix lint errors. Never reformat unrelated files.")]
    whole = json.dumps([*head, run("c1", "ruff check ."), result("c1", 1, "E501 line too long")])
    cut = whole[: len(json.dumps(head)) + 30] + "…1234 tokens truncated…" + whole[-60:]
    items = parse_items(cut)
    assert items[0] == head[0]
    out = await extract(
        ExtractionRequest(thread_id="t", rollout_path="p", cwd="/p", rollout_contents=cut)
    )
    assert "## Task 1: Fix lint errors" in out.rollout_summary
    assert "do not reformat unrelated files" in out.rollout_summary
    assert parse_items("not json at all") == []
    assert parse_items("[1, 2, null]") == []
    assert parse_items('{"type":"message","role":"user","content":"hi"}')[0]["role"] == "user"


async def test_tool_shapes_shell_local_shell_write_stdin_and_web_search() -> None:
    items = [
        user("Check the service"),
        {
            "type": "function_call",
            "name": "shell",
            "arguments": json.dumps({"command": ["bash", "-lc", "systemctl status app"]}),
            "call_id": "s1",
        },
        {
            "type": "function_call_output",
            "call_id": "s1",
            "output": json.dumps({"output": "active", "metadata": {"exit_code": 3}}),
        },
        {
            "type": "local_shell_call",
            "call_id": "l1",
            "status": "completed",
            "action": {"type": "exec", "command": ["ls", "/etc/app"], "working_directory": "/"},
        },
        {"type": "function_call_output", "call_id": "l1", "output": "Exit code: 0\nOutput:\nconf"},
        run("c1", "journalctl -u app -f"),
        result("c1", None, "starting"),
        {
            "type": "function_call",
            "name": "write_stdin",
            "arguments": json.dumps({"session_id": 7, "chars": "\u0003"}),
            "call_id": "w1",
        },
        result("w1", 130, "stopped"),
        {
            "type": "web_search_call",
            "status": "completed",
            "action": {"type": "search", "query": "app 503"},
        },
        {
            "type": "function_call",
            "name": "mcp__docs__lookup",
            "arguments": '{"q": "app"}',
            "call_id": "m1",
        },
    ]
    out = await extract(request(items))
    steps = section(task_block(out.rollout_summary, 1), "Key steps")
    assert "Ran `systemctl status app` (exit 3)" in steps
    assert "Ran `ls /etc/app` (exit 0)" in steps
    assert "Ran `journalctl -u app -f` (exit 130)" in steps  # exit arrived via write_stdin
    assert 'Searched the web for "app 503"' in steps
    assert "Called tool `mcp__docs__lookup` (q=app)" in steps
    assert "`/etc/app`" in out.rollout_summary


async def test_patches_through_every_transport_name_their_files() -> None:
    heredoc = (
        "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: docs/new.md\n+hi\n*** End Patch\nEOF"
    )
    items = [
        user("Write the docs"),
        run("c1", heredoc),
        result("c1", 0, "Success. Updated the following files:\nA docs/new.md"),
        {
            "type": "function_call",
            "name": "apply_patch",
            "arguments": json.dumps(
                {"input": "*** Begin Patch\n*** Delete File: old.md\n*** End Patch"}
            ),
            "call_id": "c2",
        },
        {"type": "function_call_output", "call_id": "c2", "output": "Success."},
        patch("c3", "/home/u/proj/README.md"),
        {
            "type": "custom_tool_call_output",
            "call_id": "c3",
            "output": "apply_patch verification failed: Failed to find expected lines",
        },
    ]
    out = await extract(request(items))
    block = task_block(out.rollout_summary, 1)
    steps = section(block, "Key steps")
    assert "Edited `docs/new.md` (add)" in steps
    assert "Edited `old.md` (delete)" in steps
    assert "Edited `README.md` (update) — failed" in steps  # made relative to the cwd
    failures = section(block, "Failures and how to do differently")
    assert "applying a patch to `README.md` failed" in failures
    assert "verification failed" in failures
    assert "Outcome: fail" in block


async def test_error_text_with_exit_zero_is_not_a_failure() -> None:
    items = [
        user("Find where we log errors"),
        run("c1", 'rg -n "Error:" src'),
        result(
            "c1", 0, 'src/log.py:9: print("Error: bad input")\nTraceback (most recent call last)'
        ),
    ]
    out = await extract(request(items))
    assert "None observed." in out.rollout_summary
    assert "task_outcome: uncertain" in out.raw_memory


async def test_error_text_without_exit_status_is_a_failure() -> None:
    items = [
        user("Try the script"),
        run("c1", "python tool.py"),
        {
            "type": "function_call_output",
            "call_id": "c1",
            "output": "Traceback (most recent call last):\n  x\nValueError: bad",
        },
    ]
    out = await extract(request(items))
    assert '`python tool.py` failed (error output): "ValueError: bad"' in out.rollout_summary


async def test_cwd_falls_back_to_the_environment_context() -> None:
    out = await extract(request([env_context("/srv/site"), user("List the files")], cwd=""))
    assert front_matter(out.raw_memory)["cwd"] == "/srv/site"
    assert "git branch `main`" in out.rollout_summary


async def test_extractor_satisfies_the_backend_protocol() -> None:
    backend: Extractor = OfflineExtractor()
    assert backend.name == "offline" and backend.model == "offline-v1"
    await backend.aclose()


# --------------------------------------------------------------------------------------------
# The rules, one by one


@pytest.mark.parametrize(
    "sentence",
    [
        "I prefer uv over pip.",
        "Next time always use ripgrep instead of grep.",
        "Never commit generated files.",
        "Don't add comments to obvious code.",
        "please do not touch the migrations",
        "Use pnpm rather than npm here.",
        "From now on, run the linter before committing.",
        "I like small commits.",
        "Please use tabs.",
        "Stop using print for logging.",
        "Prefer dataclasses to dicts",
    ],
)
def test_preferences_detected(sentence: str) -> None:
    assert is_preference(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "I don't know why this fails.",
        "It always crashes on startup.",
        "This never returns.",
        "Fix the login bug.",
        "We don't have tests for this.",
        "Explain how to run the pytest suite in this repo;",
    ],
)
def test_non_preferences_ignored(sentence: str) -> None:
    assert not is_preference(sentence)


@pytest.mark.parametrize(
    ("sentence", "implication"),
    [
        ("I prefer uv over pip.", "use uv rather than pip"),
        ("Next time always use ripgrep instead of grep.", "use ripgrep rather than grep"),
        ("Prefer using httpx to requests", "use httpx rather than requests"),
        ("Never commit generated files.", "do not commit generated files"),
        ("Don't add comments to obvious code.", "do not add comments to obvious code"),
        ("Always run the tests first!", "always run the tests first"),
        ("Avoid global state.", "avoid global state"),
        ("I hate trailing whitespace", "avoid trailing whitespace"),
        ("Please use tabs.", "use tabs"),
    ],
)
def test_preference_implications(sentence: str, implication: str) -> None:
    assert preference_implication(sentence) == implication


@pytest.mark.parametrize(
    ("text", "positive", "negative", "follow_up"),
    [
        ("Thanks.", True, False, True),
        ("Thanks. Next time always use ripgrep instead of grep.", True, False, True),
        ("great, it works now!", True, False, True),
        ("continue", False, False, True),
        ("ok, go ahead", False, False, True),
        ("Continue after the big log", False, False, False),
        ("Perfect, now add tests", True, False, False),
        ("That doesn't work.", False, True, True),
        ("Thanks, but it still fails on CI", False, True, True),
        ("No, use the other file", False, True, True),
        ("Add a README", False, False, False),
        ("I prefer uv over pip.", False, False, True),
    ],
)
def test_reading_user_messages(text: str, positive: bool, negative: bool, follow_up: bool) -> None:
    r = read_message(text)
    assert (r.positive, r.negative, r.follow_up) == (positive, negative, follow_up)


def test_titles_drop_acknowledgements_and_trailing_punctuation() -> None:
    assert read_message("Perfect, now add tests.").title == "now add tests"
    assert read_message("Explain X; I prefer uv over pip.").title == "Explain X"
    assert len(read_message("word " * 200).title) <= 120


@pytest.mark.parametrize(
    ("raw", "code", "body"),
    [
        (
            "Chunk ID: 1\nWall time: 0.1 seconds\nProcess exited with code 2\nOutput:\nboom",
            2,
            "boom",
        ),
        ("Exit code: 0\nWall time: 1 seconds\nOutput:\nok\n", 0, "ok\n"),
        (json.dumps({"output": "x", "metadata": {"exit_code": 5}}), 5, "x"),
        ({"content": "y", "success": False}, 1, "y"),
        ([{"type": "input_text", "text": "z"}], None, "z"),
        (
            "Output:\nexit code: 9 appears in the body only",
            None,
            "exit code: 9 appears in the body only",
        ),
    ],
)
def test_parse_output_shapes(raw: Any, code: int | None, body: str) -> None:
    out = parse_output(raw)
    assert (out.exit_code, out.body) == (code, body)


def test_parse_output_running_session() -> None:
    out = parse_output("Chunk ID: 1\nProcess running with session ID 42\nOutput:\nwaiting")
    assert out.exit_code is None and out.running_session == "42"


@pytest.mark.parametrize(
    ("cmd", "paths"),
    [
        ("ls -la && cat README.md", ["README.md"]),
        ("sed -n 1,80p src/app.py", ["src/app.py"]),
        ("sed -i 's/a/b/g' lib/x.rb", ["lib/x.rb"]),
        ("rg -n 'TODO' src/ | head -n 20", ["src"]),
        ("cd /home/u/proj && python -m pytest tests/test_a.py::test_b -q", ["tests/test_a.py"]),
        ("git diff -- memoryd/cli.py", ["memoryd/cli.py"]),
        ("echo hi > /tmp/out.txt 2>&1", ["/tmp/out.txt"]),
        ("cat /home/u/proj/./docs/a.md /dev/null", ["docs/a.md"]),
        ("pip install requests==2.31 && curl https://x.io/a.json", []),
        ("find . -name '*.py'", []),
        ("cat <<'EOF' > notes.md\nbody with /etc/passwd\nEOF", ["notes.md"]),
        ("ls src", ["src"]),
        ("tail -n 50 logs/app.log", ["logs/app.log"]),
        ('bash -lc "cat src/main.rs && cargo build"', ["src/main.rs"]),
        ("ruff check src && jq '.name' package.json", ["package.json"]),
    ],
)
def test_command_paths(cmd: str, paths: list[str]) -> None:
    assert command_paths(cmd, "/home/u/proj") == paths


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("pytest -q", "uv run pytest -q", True),
        ("python -m pytest", "pytest tests", True),
        ("npm test", "npm run build", False),
        ("cd app && cargo build", "cargo build --release", True),
        ("git push", "git pull", False),
        ('bash -lc "cd app && npm test"', "npm test -- --watch=false", True),
    ],
)
def test_command_key(a: str, b: str, same: bool) -> None:
    assert (command_key(a) == command_key(b)) is same


async def test_a_later_chunk_keeps_work_before_its_first_request_apart() -> None:
    items = [
        run("c1", "pytest"),
        result("c1", 0, "3 passed"),
        assistant("Tests pass now."),
        user("Thanks! Now update the changelog"),
        patch("p1", "CHANGELOG.md"),
        patch_ok("p1"),
    ]
    out = await extract(request(items, chunk=(2, 3)))
    t1, t2 = task_block(out.rollout_summary, 1), task_block(out.rollout_summary, 2)
    assert t1.startswith("## Task 1: Continuation of an earlier request (part 3 of 3)\n")
    assert 'Outcome: success (the user confirmed: "Thanks!")' in t1
    assert "Tests pass now." in t1
    assert t2.startswith("## Task 2: Now update the changelog\n")
    assert "`CHANGELOG.md`" in t2 and "`CHANGELOG.md`" not in t1


async def test_fixture_split_into_chunks_keeps_signal_in_each_part() -> None:
    # A tiny budget puts the command in part 1 and its output and the second turn in part 2.
    first = fixture_request(TOOL, max_tokens=400, chunk=0)
    second = fixture_request(TOOL, max_tokens=400, chunk=1)
    assert (first.chunk_count, second.chunk_count) == (2, 2)

    one = await extract(first)
    assert "Ran `ls -la && cat README.md` (no output recorded)" in one.rollout_summary
    assert "`README.md`" in one.rollout_summary

    two = await extract(second)
    block = task_block(two.rollout_summary, 1)
    assert block.startswith("## Task 1: Continuation of an earlier request (part 2 of 2)\n")
    assert "`(a command from an earlier part, call call_0001)` (exit 0)" in block
    assert "0 user requests, 1 command run; part 2 of 2 of a long rollout" in two.rollout_summary
    assert 'Outcome: success (the user confirmed: "Thanks.")' in block
    assert "use ripgrep rather than grep" in section(block, "Preference signals")
    assert "## Task 2" not in two.rollout_summary


async def test_fixture_middle_truncated_input_is_salvaged() -> None:
    # chunked=False is Codex's own budget rule: one array with its middle cut out.
    req = fixture_request(TOOL, max_tokens=400, chunked=False)
    assert "tokens truncated" in req.rollout_contents
    with pytest.raises(ValueError):
        json.loads(req.rollout_contents)
    out = await extract(req)
    # The head (environment context) and tail (second turn) survive the cut.
    assert front_matter(out.raw_memory)["cwd"] == "/home/dev/code/samples-13uz/proj-tools"
    assert "always use ripgrep instead of grep" in out.rollout_summary


@pytest.mark.acceptance  # starts other processes
def test_deterministic_across_processes_and_hash_seeds() -> None:
    # Set iteration order changes with PYTHONHASHSEED; the output must not.
    code = (
        "import asyncio, json, sys\n"
        "from memoryd.extract.base import ExtractionRequest\n"
        "from memoryd.extract.offline import OfflineExtractor\n"
        "req = ExtractionRequest(**json.loads(sys.stdin.read()))\n"
        "out = asyncio.run(OfflineExtractor().extract(req)).output\n"
        "print(json.dumps([out.rollout_summary, out.raw_memory, out.rollout_slug]))\n"
    )
    items = [
        user("Refactor utils; always use pathlib instead of os.path. Never touch vendor/."),
        run("c1", "rg -n os.path src && cat a.py b.md"),
        result("c1", 1, "Traceback (most recent call last):\nKeyError: 1"),
        patch("p1", "x.py", "y.py", "z.py"),
        patch_ok("p1"),
        run("c2", "rg -n os.path src && cat a.py b.md"),
        result("c2", 0, "ok"),
    ]
    req = request(items)
    payload = json.dumps({f: getattr(req, f) for f in req.__struct_fields__}, separators=(",", ":"))
    outputs = set()
    for seed in ("0", "1", "2"):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            input=payload,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            timeout=60,
        )
        outputs.add(proc.stdout)
    assert len(outputs) == 1
    summary, raw, slug = json.loads(outputs.pop())
    assert "use pathlib rather than os.path" in summary
    assert raw and slug
