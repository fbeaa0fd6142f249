"""Secrets never leave and never stay (SPEC §6): a corpus of planted secrets through a full
daemon run with the openai backends, then a search of everything memoryd sent or kept.

The corpus (tests/support/secret_corpus.py) plants 38 secrets of the SPEC §6 shapes and Codex's
four patterns into the three real rollouts: in user messages, tool-call command lines,
environment dumps, file contents, an assistant message, the first user message (the preview
the indexer stores) and the git remote URL of the session metadata. ``memoryd serve`` runs as a
subprocess against the loopback Responses server, whose models are adversarial: the phase-1
model echoes its whole input back and repeats every planted text verbatim (as if it had seen
them), and answers one thread with an unusable reply full of them (its error text is stored
and logged); the phase-2 model copies raw_memories.md into MEMORY.md and writes every planted
text into MEMORY.md and memory_summary.md too.

Afterwards no planted value may appear in any request the server received (phase 2's requests
minus the model's own tool calls echoed back to it), in any row of any DB table or anywhere in
the DB files, in any file of the memory root, in any git object of the memory root or of the
state dir's run history (read through pygit2, so compressed and packed objects count), in the
log files or in the daemon's output. Git SHAs, UUIDs, a hash and code that merely names keys
are not secrets and must come through."""

from __future__ import annotations

import json
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from support.daemon import KEY_ENV, serving, work_done
from support.fault_world import consolidating_model
from support.responses_server import Behaviour, ReceivedRequest, Reply, ResponsesServer
from support.secret_corpus import (
    NON_SECRETS,
    SECRETS,
    db_dump,
    git_objects,
    leaks,
    plain_files,
    plant,
    what_memoryd_sent,
)

from memoryd.demo import install_examples
from memoryd.redact import REDACTED, find_secrets, redact

PLANTED_TEXT = "\n".join(p.text for p in SECRETS)
WAIT_S = 120.0


def test_the_corpus_is_big_and_spread_enough() -> None:
    assert len(SECRETS) >= 30
    assert len({p.value for p in SECRETS}) == len(SECRETS)
    assert {"user", "tool_call", "env_dump", "file", "assistant"} <= {p.where for p in SECRETS}


@pytest.mark.parametrize("planted", SECRETS, ids=[p.shape for p in SECRETS])
def test_each_planted_text_is_redacted_plain_and_inside_json(planted: object) -> None:
    from support.secret_corpus import Planted

    assert isinstance(planted, Planted)
    for text in (planted.text, json.dumps(planted.text)):
        out = redact(text)
        assert planted.value not in out and REDACTED in out, out
        assert find_secrets(out) == []


def test_non_secrets_come_through_untouched() -> None:
    for value in NON_SECRETS:
        assert redact(value) == value and find_secrets(value) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('client_secret = "PyQwBIXf3Bya9zG8"', f'client_secret = "{REDACTED}"'),
        ("db_password: 'abcdefgh12'", f"db_password: '{REDACTED}'"),
        ('refresh_token="0a1b2c3d4e5f6a7b"', f'refresh_token="{REDACTED}"'),
        ('cfg = \\"oauth_client_secret = \\"abcdefghijk\\"', None),
        ("reset_token = None", "reset_token = None"),
        ("_token = get_token()", "_token = get_token()"),
        ('csrf_token: "abc"', 'csrf_token: "abc"'),
        ('api_token="$API_TOKEN"', 'api_token="$API_TOKEN"'),
    ],
)
def test_snake_case_secret_names_with_quoted_values(text: str, expected: str | None) -> None:
    out = redact(text)
    if expected is None:
        assert "abcdefghijk" not in out and REDACTED in out
    else:
        assert out == expected


# --- the full run -----------------------------------------------------------------------------


def stage1_model(req: ReceivedRequest, unusable_for: str) -> Behaviour:
    """Echo the input, repeat every planted text; one thread gets an unusable reply."""
    prompt = json.dumps(req.json["input"])
    if unusable_for in prompt:
        return Reply(text=f"I cannot produce JSON for this. Raw notes:\n{PLANTED_TEXT}")
    reply = {
        "rollout_summary": f"# Session\n{PLANTED_TEXT}\n",
        "rollout_slug": f"deploy {SECRETS[0].value}",
        "raw_memory": f"echo of the input:\n{prompt}\nrepeated:\n{PLANTED_TEXT}\n",
    }
    return Reply(text=json.dumps(reply))


@pytest.fixture
def base() -> Iterator[Path]:
    # Short: the control socket lives under it (108-byte limit).
    path = Path(tempfile.mkdtemp(prefix="mdleak-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def test_no_planted_secret_leaves_or_stays_after_a_full_daemon_run(base: Path) -> None:
    rollouts = install_examples(base / "codex" / "sessions")
    for i, path in enumerate(rollouts):
        plant(path, first=i == 0)
    unusable_for = rollouts[2].name
    state = base / "state"
    root = state / "memories"
    memory = consolidating_model(
        memory=lambda raw: f"# Memory\n\n{raw}\n\n## Notes\n{PLANTED_TEXT}\n",
        summary=lambda raw: f"v1\n\n## User Profile\n\n{PLANTED_TEXT}\n",
    )

    def model(req: ReceivedRequest) -> Behaviour:
        if "tools" in req.json:
            return memory(req)
        return stage1_model(req, unusable_for)

    async with ResponsesServer(responder=model) as srv:
        config = (
            '[phase1]\nbackend = "openai"\n[phase2]\nbackend = "openai"\nmin_interval_seconds = 0\n'
            f'[backends.openai]\nbase_url = "{srv.url}"\napi_key_env = "{KEY_ENV}"\n'
            'timeout_seconds = 10\n[log]\nlevel = "debug"\n'
        )
        with serving(base, config) as daemon:
            proc = daemon.procs[0]
            deadline = time.monotonic() + WAIT_S
            while not work_done(base, threads=3):
                assert proc.poll() is None, daemon.stderr()
                assert time.monotonic() < deadline, "the daemon did not finish in time"
                await anyio.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            code = await anyio.to_thread.run_sync(lambda: proc.wait(timeout=60))
        requests = list(srv.requests)
    assert code == 0, daemon.stderr()

    # The run did what it should: three phase-1 calls, one of them unusable, and phase 2.
    phase1 = [r for r in requests if "tools" not in r.json]
    phase2 = [r for r in requests if "tools" in r.json]
    assert len(phase1) == 3 and len(phase2) >= 3
    dump = db_dump(state / "memoryd.sqlite")
    assert "I cannot produce JSON" in dump["jobs"]  # the unusable reply's stored reason

    problems = leaks([(f"request {i}", what_memoryd_sent(r)) for i, r in enumerate(requests)])
    problems += leaks([(f"table {t}", text) for t, text in dump.items()])
    problems += leaks(plain_files(state))  # DB, WAL, logs, run history (raw)
    problems += leaks(git_objects(state))  # run history objects, decompressed
    problems += leaks(plain_files(root))  # memory files and .git (raw)
    problems += leaks(git_objects(root))  # the baseline's objects, decompressed
    problems += leaks(plain_files(base / "run") if (base / "run").exists() else iter(()))
    problems += leaks([("stdout", daemon.output_path("stdout").read_bytes())])
    problems += leaks([("stderr", daemon.output_path("stderr").read_bytes())])
    assert problems == [], "\n".join(problems)

    # Redaction happened (not merely nothing planted arrived), and was not over-eager.
    sent = "".join(what_memoryd_sent(r) for r in phase1)
    assert sent.count(REDACTED) >= len(SECRETS)
    assert REDACTED in (root / "MEMORY.md").read_text()
    raw_memories = (root / "raw_memories.md").read_text()
    for value in NON_SECRETS:
        assert value in sent, value
        assert value in raw_memories, value
    (git_sha,) = {r for r in dump["threads"].splitlines() if NON_SECRETS[0] in r}
    assert "git.example.com" in git_sha  # the remote kept, its password gone
