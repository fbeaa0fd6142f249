"""The two paths around redaction (issue 14): memory files imported by the legacy migration,
and a user's own edit to a memory file, which the consolidation agent meets in
``phase2_workspace_diff.md`` and through its read, search and edit tools. Everything entering
the memory root, and everything sent to a model, passes the redactor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
from support.daemon import KEY_ENV, WAIT, Serve, daemon_env, read_log, short_dir, write_config
from support.fault_world import MEMORY_TEXT, SUMMARY_TEXT, turns_so_far
from support.protocols import tool_outputs
from support.responses_server import (
    Behaviour,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)
from support.rollouts import write_idle_rollouts
from support.secret_corpus import SECRETS, git_objects, leaks, plain_files, what_memoryd_sent

from memoryd.consolidate.tools import MemoryRootTools
from memoryd.layout import DIFF_FILE
from memoryd.redact import REDACTED
from memoryd.workspace.baseline import diff_against_baseline, ensure_baseline, write_diff_file

PLANTED = "\n".join(p.text for p in SECRETS)
USER_NOTE = "## My own notes\n\n" + PLANTED + "\n"


def _run_once(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memoryd", "run", "--once"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WAIT * 6,
        stdin=subprocess.DEVNULL,
    )


def test_legacy_memory_files_are_redacted_on_the_way_in() -> None:
    with short_dir() as base:
        env = daemon_env(base)
        legacy = base / "codex" / "memories" / "user" / "memory"
        legacy.mkdir(parents=True)
        (legacy / "MEMORY.md").write_text("# Task Group: old\n\n" + PLANTED + "\n")
        (legacy / "notes.md").write_text("plain notes, nothing secret\n")
        write_idle_rollouts(base / "codex" / "sessions", 1)
        done = _run_once(env, base)
        assert done.returncode == 0, done.stderr
        # Codex's folder was taken over: memoryd's own root holds the import, and the old
        # folder (the legacy one inside it) is kept aside untouched.
        root = base / "state" / "memories"
        assert (root / "notes.md").read_text() == "plain notes, nothing secret\n"
        (aside,) = (base / "codex").glob("memories.before-memoryd-*")
        legacy = aside / "user" / "memory"
        # Nothing planted entered the root, its baseline or the run history...
        memory_files = [(n, b) for n, b in plain_files(root) if "/user/memory/" not in n]
        problems = leaks(memory_files) + leaks(git_objects(root))
        problems += leaks(plain_files(base / "state")) + leaks(git_objects(base / "state"))
        assert problems == [], "\n".join(problems)
        # ... the legacy folder (the user's own) is left as it was, and the redaction logged.
        assert PLANTED in (legacy / "MEMORY.md").read_text()
        log = read_log(base / "state" / "logs" / "memoryd.log")
        (event,) = [r for r in log if r.get("event") == "legacy_memory_redacted"]
        assert event["path"].endswith("MEMORY.md") and "netrc_password" in event["secrets"]


def test_a_users_edit_reaches_the_agent_redacted(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    root.mkdir()
    (root / "MEMORY.md").write_text("# Task Group: x\n\nkeep this line\n")
    ensure_baseline(root)
    (root / "MEMORY.md").write_text("# Task Group: x\n\nkeep this line\n" + USER_NOTE)

    diff_text = write_diff_file(root, diff_against_baseline(root)).read_text()
    tools = MemoryRootTools(root)
    read = tools.read_file("MEMORY.md")
    found = tools.search("password")
    for name, text in (("diff", diff_text), ("read", read), ("search", found)):
        assert leaks([(name, text)]) == [], name
    assert REDACTED in diff_text and "+keep this line" not in diff_text  # only the new lines
    assert REDACTED in read and "keep this line" in read
    assert REDACTED in found

    # An edit copies `old` from what read_file showed, redaction markers included.
    shown = next(line for line in read.splitlines() if "DB_PASSWORD=" in line)
    tools.edit_file("MEMORY.md", shown, "The DB password is in the team vault.")
    after = (root / "MEMORY.md").read_text()
    assert "The DB password is in the team vault." in after and "keep this line" in after
    assert leaks([("edited", after)]) == []


async def test_what_the_agent_sends_after_a_users_edit_holds_no_secret() -> None:
    """Through ``run --once`` and a loopback model that reads the diff file and MEMORY.md and
    searches for a password: none of the user's planted secrets is in any request."""

    def agent(req: ReceivedRequest) -> Behaviour:
        n = turns_so_far(req)
        if n == 0:
            calls = [
                ("read_file", {"path": DIFF_FILE, "offset": None, "limit": None}),
                ("read_file", {"path": "MEMORY.md", "offset": None, "limit": None}),
                ("search", {"pattern": "password", "path": ".", "regex": False}),
            ]
            items = [function_call_item(c, a, f"t0_{i}") for i, (c, a) in enumerate(calls)]
            return Reply(text=None, items=items)
        if n == 1:
            calls = [
                ("write_file", {"path": "MEMORY.md", "content": MEMORY_TEXT}),
                ("write_file", {"path": "memory_summary.md", "content": SUMMARY_TEXT}),
            ]
            items = [function_call_item(c, a, f"t1_{i}") for i, (c, a) in enumerate(calls)]
            return Reply(text=None, items=items)
        return Reply(text="Consolidated.")

    with short_dir() as base:
        env = daemon_env(base)
        async with ResponsesServer(responder=agent) as srv:
            write_config(
                Serve(base, env),
                '[phase2]\nbackend = "openai"\nmin_interval_seconds = 0\n'
                f'[backends.openai]\nbase_url = "{srv.url}"\napi_key_env = "{KEY_ENV}"\n'
                "timeout_seconds = 10\n",
            )
            write_idle_rollouts(base / "codex" / "sessions", 1)
            first = await anyio.to_thread.run_sync(_run_once, env, base)
            assert first.returncode == 0, first.stderr
            assert "phase 2: consolidated" in first.stdout, first.stdout
            memory = base / "codex" / "memories" / "MEMORY.md"
            memory.write_text(memory.read_text() + USER_NOTE)  # the user's own edit
            write_idle_rollouts(base / "codex" / "sessions", 1)  # new input: phase 2 runs
            seen = len(srv.requests)
            second = await anyio.to_thread.run_sync(_run_once, env, base)
            assert second.returncode == 0, second.stderr
            requests = list(srv.requests)[seen:]
    assert requests, "phase 2 did not call the model"
    sent = [(f"request {i}", what_memoryd_sent(r)) for i, r in enumerate(requests)]
    assert leaks(sent) == [], "\n".join(leaks(sent))
    outputs = [o for r in requests for o in tool_outputs(r).values()]
    assert any(REDACTED in o and "DB_PASSWORD" in o for o in outputs), json.dumps(outputs)[:2000]
