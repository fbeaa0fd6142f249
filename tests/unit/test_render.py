"""The stage-1 input: Codex's item filter, redaction, the token budget and chunking, and
tolerance of malformed rollouts. Files are real ones in temp dirs, built from the bundled
Codex 0.169 rollouts where possible."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import zstandard

from memoryd.redact import REDACTED
from memoryd.rollouts.render import (
    KEPT_ITEM_TYPES,
    RenderedRollout,
    RolloutUnusable,
    render_rollout,
    truncate_middle,
)

F_ALPHA = "rollout-2026-11-22T03-12-03-01a2013d-497f-71f0-81b9-4c6d2314a10b.jsonl"
F_TOOLS = "rollout-2026-11-22T03-13-54-01a2013e-fb76-7c33-8cf6-bf19bdb58fd0.jsonl"
F_COMPACT = "rollout-2026-11-22T03-13-55-01a2013e-ff1a-7c20-8973-b369527e3057.jsonl"

U, A = ("message", "user"), ("message", "assistant")
EXPECTED_KINDS = {
    # env context, prompt, reply
    F_ALPHA: [U, U, A],
    # env context, prompt, (reasoning dropped), tool call, its output, reply, prompt, reply
    F_TOOLS: [U, U, ("function_call", None), ("function_call_output", None), A, U, A],
    # env context, prompt, reply, the compaction turn's reply, (compacted dropped), prompt, reply
    F_COMPACT: [U, U, A, A, U, A],
}
EXPECTED_PROMPTS = {
    F_ALPHA: ["Explain how to run the pytest suite in this repo"],
    F_TOOLS: ["[[tool:ls -la && cat README.md]] Show me the files here", "always use ripgrep"],
    F_COMPACT: ["[[usage:250000]] Load the giant log file", "Continue after the big log"],
}


def chunk_items(r: RenderedRollout) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chunk in r.chunks:
        out.extend(json.loads(chunk))
    return out


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(i["type"], i.get("role")) for i in items]


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def first_line(name: str, fixtures: Path) -> str:
    return (fixtures / name).read_text().splitlines()[0]


def envelope(kind: str, payload: Any, ordinal: int = 0) -> str:
    line = {"timestamp": "2026-11-22T03:13:54.617Z", "ordinal": ordinal, "type": kind}
    line["payload"] = payload
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


def user(*texts: str) -> dict[str, Any]:
    parts = [{"type": "input_text", "text": t} for t in texts]
    return {"type": "message", "id": "msg_1", "role": "user", "content": parts}


def message(role: str, text: str) -> dict[str, Any]:
    part_type = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": part_type, "text": text}]}


def tool_output(output: str, call_id: str = "call_1") -> dict[str, Any]:
    return {"type": "function_call_output", "id": "fco_1", "call_id": call_id, "output": output}


@pytest.fixture
def fixtures_dir(fixture_rollouts: list[Path]) -> Path:
    return fixture_rollouts[0].parent


@pytest.fixture
def write(tmp_path: Path, fixtures_dir: Path) -> Any:
    """Write a rollout whose first line is a real session_meta, then the given lines."""

    def _write(lines: list[str], *, name: str = "rollout-test.jsonl", meta: bool = True) -> Path:
        head = [first_line(F_TOOLS, fixtures_dir)] if meta else []
        path = tmp_path / name
        path.write_text("".join(line + "\n" for line in head + lines))
        return path

    return _write


def render_items(path: Path, **kw: Any) -> list[dict[str, Any]]:
    return chunk_items(render_rollout(path, **kw))


# --------------------------------------------------------------------------------------------
# the real rollouts


@pytest.mark.parametrize("name", [F_ALPHA, F_TOOLS, F_COMPACT])
def test_real_rollout_items(name: str, copy_fixtures: list[Path]) -> None:
    path = next(p for p in copy_fixtures if p.name == name)
    raw = path.read_bytes()
    r = render_rollout(path)

    items = chunk_items(r)
    assert kinds(items) == EXPECTED_KINDS[name]
    assert r.items == len(items)
    assert len(r.chunks) == 1 and not r.truncated
    assert r.chunks[0] == json.dumps(items, separators=(",", ":"), ensure_ascii=False)

    # Developer messages and reasoning are gone, and so are ids and the line-level metadata.
    assert all(i.get("role") != "developer" for i in items)
    assert "reasoning" not in {i["type"] for i in items}
    assert "<permissions instructions>" not in r.chunks[0]
    assert "id" not in keys_anywhere(items)
    assert "history_sequence" not in r.chunks[0]
    assert all("internal_chat_message_metadata_passthrough" in i for i in items)
    assert "<environment_context>" in items[0]["content"][0]["text"]
    for prompt in EXPECTED_PROMPTS[name]:
        assert prompt in r.chunks[0]

    # Kept payloads are as stored, without their id.
    stored = []
    for line in raw.decode().splitlines():
        obj = json.loads(line)
        payload = obj["payload"]
        if obj["type"] == "response_item" and payload.get("role") != "developer":
            if payload["type"] != "reasoning":
                stored.append({k: v for k, v in payload.items() if k != "id"})
    assert items == stored

    assert r.first_line == 1
    assert r.last_line == raw.count(b"\n")
    assert r.bytes_read == len(raw)
    assert r.sha256 == hashlib.sha256(raw).hexdigest()
    assert r.lines_skipped == 0


def test_tool_call_and_output_are_kept(copy_fixtures: list[Path]) -> None:
    path = next(p for p in copy_fixtures if p.name == F_TOOLS)
    items = render_items(path)
    call = next(i for i in items if i["type"] == "function_call")
    out = next(i for i in items if i["type"] == "function_call_output")
    assert call["name"] == "exec_command"
    assert json.loads(call["arguments"])["cmd"] == "ls -la && cat README.md"
    assert call["call_id"] == out["call_id"] == "call_0001"
    assert "README.md" in out["output"] and "Process exited with code 0" in out["output"]


# --------------------------------------------------------------------------------------------
# the item filter


def test_agents_md_and_skill_fragments(write: Any) -> None:
    agents = "# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\nUse uv.\n</INSTRUCTIONS>"
    path = write(
        [
            # dropped parts: exact, lower-case with surrounding space, mixed-case skill
            envelope("response_item", user(agents, "keep me 1")),
            envelope(
                "response_item",
                user("\n\t # agents.md INSTRUCTIONS for /x\nbody\n</instructions>  \n", "keep 2"),
            ),
            envelope("response_item", user("<SKILL>\n<name>pdf</name>\n</Skill>", "keep 3")),
            # a message whose only part is dropped is dropped whole
            envelope("response_item", user(agents)),
            envelope("response_item", user("  <skill>only</skill>\n")),
            # kept: markers only at one end, in the middle, in other part types and roles
            envelope("response_item", user(agents + "\nand more")),
            envelope("response_item", user("see <skill>x</skill> here")),
            envelope("response_item", user("<environment_context>x</environment_context>")),
            envelope(
                "response_item",
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                        {"type": "output_text", "text": "<skill>s</skill>"},
                    ],
                },
            ),
            envelope("response_item", message("assistant", agents)),
        ]
    )
    items = render_items(path)
    texts = [[p.get("text", p.get("image_url")) for p in i["content"]] for i in items]
    assert texts == [
        ["keep me 1"],
        ["keep 2"],
        ["keep 3"],
        [agents + "\nand more"],
        ["see <skill>x</skill> here"],
        ["<environment_context>x</environment_context>"],
        ["data:image/png;base64,AAAA", "<skill>s</skill>"],
        [agents],
    ]


def test_codex_0_40_user_instructions_wrapper_is_filtered(write: Any) -> None:
    """Codex <= 0.40 sent AGENTS.md as <user_instructions>...</user_instructions>; it must not
    reach a model backend any more than the newer # AGENTS.md instructions form."""
    agents = "<user_instructions>\n\nAlways use uv. Secret house rules.\n\n</user_instructions>"
    path = write(
        [
            envelope("response_item", user(agents)),
            envelope("response_item", user("  <USER_INSTRUCTIONS>x</user_instructions>\n", "ask")),
            envelope("response_item", user("see <user_instructions> in the docs")),
        ]
    )
    texts = [[p["text"] for p in i["content"]] for i in render_items(path)]
    assert texts == [["ask"], ["see <user_instructions> in the docs"]]
    assert "house rules" not in "".join(render_rollout(path).chunks)


def test_non_ascii_case_folding_is_not_a_marker(write: Any) -> None:
    # Codex compares markers ASCII-case-insensitively: the Kelvin sign is not a "k".
    path = write([envelope("response_item", user("<s\u212aill>x</skill>"))])
    assert len(render_items(path)) == 1


def test_roles_and_item_types(write: Any) -> None:
    lines = [
        envelope("response_item", message("developer", "be terse")),
        envelope("response_item", message("system", "system text")),
        envelope("response_item", message("assistant", "assistant text")),
    ]
    for kind in sorted(KEPT_ITEM_TYPES):
        lines.append(envelope("response_item", {"type": kind, "id": f"id_{kind}", "x": kind}))
    for kind in [
        "reasoning",
        "agent_message",
        "image_generation_call",
        "compaction",
        "context_compaction",
        "compaction_trigger",
        "ghost_snapshot",
        "brand_new_item",
    ]:
        lines.append(envelope("response_item", {"type": kind, "id": "x", "x": kind}))
    items = render_items(write(lines))
    assert kinds(items)[:2] == [("message", "system"), ("message", "assistant")]
    assert [i["type"] for i in items[2:]] == sorted(KEPT_ITEM_TYPES)
    assert [i for i in items[2:]] == [{"type": k, "x": k} for k in sorted(KEPT_ITEM_TYPES)]


def test_inter_agent_communication_becomes_agent_message(write: Any) -> None:
    base = {"author": "/root", "recipient": "/root/worker", "other_recipients": []}
    path = write(
        [
            envelope(
                "inter_agent_communication",
                {**base, "content": "Please run the tests.", "trigger_turn": True},
            ),
            envelope(
                "inter_agent_communication",
                {**base, "content": "", "encrypted_content": "gAAAAB", "trigger_turn": False},
            ),
            envelope("inter_agent_communication", {"recipient": "/x", "content": "no author"}),
        ]
    )
    r = render_rollout(path)
    assert chunk_items(r) == [
        {
            "type": "agent_message",
            "author": "/root",
            "recipient": "/root/worker",
            "content": [{"type": "input_text", "text": "Please run the tests."}],
        },
        {
            "type": "agent_message",
            "author": "/root",
            "recipient": "/root/worker",
            "content": [{"type": "encrypted_content", "encrypted_content": "gAAAAB"}],
        },
    ]
    assert r.lines_skipped == 1


def test_dropped_line_types_are_not_skips(write: Any, fixtures_dir: Path) -> None:
    lines = [
        envelope("event_msg", {"type": "user_message", "message": "hi"}),
        envelope("turn_context", {"cwd": "/x"}),
        envelope("compacted", {"message": "summary", "replacement_history": [user("old")]}),
        envelope("world_state", {"anything": 1}),
        envelope("token_usage_record", {"input_tokens": 3}),
        envelope("response_item", user("kept")),
    ]
    r = render_rollout(write(lines))
    assert kinds(chunk_items(r)) == [U]
    assert r.lines_skipped == 0


def test_unknown_fields_are_kept_as_stored(write: Any) -> None:
    payload = {
        "type": "function_call",
        "id": "fc_9",
        "name": "shell",
        "future_field": {"nested": [1, 2.5, None, True]},
        "arguments": "{}",
        "call_id": "c9",
    }
    extra_envelope = json.dumps(
        {"timestamp": "t", "type": "response_item", "payload": payload, "later": 1}
    )
    items = render_items(write([extra_envelope]))
    assert items == [{k: v for k, v in payload.items() if k != "id"}]
    assert list(items[0]) == ["type", "name", "future_field", "arguments", "call_id"]


# --------------------------------------------------------------------------------------------
# redaction


def test_codex_redaction_case(write: Any) -> None:
    output = '{"token":"sk-abcdefghijklmnopqrstuvwxyz123456"}'
    r = render_rollout(write([envelope("response_item", tool_output(output))]))
    assert "sk-abcdefghijklmnopqrstuvwxyz123456" not in r.chunks[0]
    assert REDACTED in r.chunks[0]
    (item,) = chunk_items(r)
    assert json.loads(item["output"]) == {"token": REDACTED}


PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDzG8xbZxQ7sQnJ1Vh1a1kKqfQW3vZ0l2D7dE9kzJ7nWQAAAJgq4xYxKuMW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
ENV_DUMP = (
    "HOME=/home/dev\n"
    "GITHUB_TOKEN=ghp_R8x2Lq0Vb7Nc4Mz1Ws6Ty3Ud9Ke5Hf2Jg0Ai\n"
    "DATABASE_URL=postgres://app:s3cr3t-Pa55@db.internal:5432/app\n"
    "STRIPE_SECRET=whsec_0123456789\n"
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    "PATH=/usr/bin\n"
)


def test_pem_and_env_dump_in_tool_output(write: Any) -> None:
    secrets = [
        "b3BlbnNzaC1rZXktdjEAAAAABG5v",
        "ghp_R8x2Lq0Vb7Nc4Mz1Ws6Ty3Ud9Ke5Hf2Jg0Ai",
        "s3cr3t-Pa55",
        "whsec_0123456789",
        "wJalrXUtnFEMI",
    ]
    args = json.dumps({"cmd": "cat ~/.ssh/id_ed25519; env", "env": {"API_TOKEN": "tok_abcdef12"}})
    path = write(
        [
            envelope(
                "response_item",
                {"type": "function_call", "name": "exec", "arguments": args, "call_id": "c1"},
            ),
            envelope("response_item", tool_output("$ cat ~/.ssh/id_ed25519\n" + PEM + ENV_DUMP)),
        ]
    )
    r = render_rollout(path)
    for secret in [*secrets, "tok_abcdef12"]:
        assert secret not in r.chunks[0]
    call, out = chunk_items(r)
    assert json.loads(call["arguments"])["env"] == {"API_TOKEN": REDACTED}
    assert out["output"] == (
        "$ cat ~/.ssh/id_ed25519\n"
        f"{REDACTED}\n"
        "HOME=/home/dev\n"
        f"GITHUB_TOKEN={REDACTED}\n"
        f"DATABASE_URL=postgres://app:{REDACTED}@db.internal:5432/app\n"
        f"STRIPE_SECRET={REDACTED}\n"
        f"AWS_SECRET_ACCESS_KEY={REDACTED}\n"
        "PATH=/usr/bin\n"
    )


def test_redaction_never_breaks_the_json(write: Any) -> None:
    # Serialized, these hold escapes right after a would-be value (`token=abcdefg\"x`); a
    # value pattern that ended on the escaping backslash would leave broken JSON. None of
    # the strings holds a secret (`abcdefg` is 7 characters).
    tricky = ['token=abcdefg"x', "password=abc\\", 'secret: "\\"quoted\\"', "key=\u2028\x00"]
    tricky += ['PGPASSWORD=ab"c']
    r = render_rollout(write([envelope("response_item", tool_output(t)) for t in tricky]))
    assert [i["output"] for i in chunk_items(r)] == tricky
    r = render_rollout(write([envelope("response_item", tool_output('token="abcdefgh\\"tail'))]))
    assert chunk_items(r)[0]["output"] == f'token="{REDACTED}\\"tail'


# --------------------------------------------------------------------------------------------
# truncate_middle (Codex's truncate_middle_with_token_budget)


@pytest.mark.parametrize(
    ("text", "tokens", "expected"),
    [
        ("", 10, ""),
        ("short output", 100, "short output"),
        ("12345678", 2, "12345678"),
        ("abcdef", 0, "…2 tokens truncated…"),
        ("abcdefghijklmnopqrstuvwxyz", 2, "abcd…5 tokens truncated…wxyz"),
        ("abcdefghijklmnopqrstuvwxyz", 3, "abcdef…4 tokens truncated…uvwxyz"),
        ("abcdefghi", 1, "ab…2 tokens truncated…hi"),
        # Codex's own UTF-8 test case.
        (
            "😀" * 10 + "\nsecond line with text\n",
            8,
            "😀😀😀😀…8 tokens truncated… line with text\n",
        ),
        # The head cut falls inside a 2-byte character: it moves back.
        ("aéééé", 1, "a…2 tokens truncated…é"),
        # The tail cut falls inside one: it moves forward.
        ("ééééa", 1, "é…2 tokens truncated…a"),
        # Neither end can hold a whole 4-byte character.
        ("😀😀😀", 1, "…2 tokens truncated…"),
        ("日本語のテキスト", 2, "日…4 tokens truncated…ト"),
    ],
)
def test_truncate_middle(text: str, tokens: int, expected: str) -> None:
    assert truncate_middle(text, tokens) == expected


# --------------------------------------------------------------------------------------------
# budget and chunks


def many_items(write: Any, n: int, size: int) -> Path:
    lines = []
    for k in range(n):
        lines.append(envelope("response_item", user(f"prompt {k}")))
        lines.append(envelope("response_item", tool_output(f"out {k}:" + "x" * size, f"c{k}")))
    return write(lines)


def test_within_budget_is_one_chunk(write: Any) -> None:
    path = many_items(write, 5, 100)
    r = render_rollout(path, max_tokens=1000)
    assert len(r.chunks) == 1 and not r.truncated
    assert len(r.chunks[0].encode()) <= 4000


def test_chunks_lose_nothing_from_the_middle(write: Any) -> None:
    path = many_items(write, 30, 900)
    whole = render_rollout(path, max_tokens=10**7, chunked=False)
    total = len(whole.chunks[0].encode())
    max_tokens = total // 12  # a budget of a third of the rollout
    r = render_rollout(path, max_tokens=max_tokens)
    assert len(r.chunks) >= 3
    assert not r.truncated
    for chunk in r.chunks:
        assert len(chunk.encode()) <= 4 * max_tokens
        assert isinstance(json.loads(chunk), list)
    assert chunk_items(r) == chunk_items(whole)
    assert r.items == whole.items == 60
    middle = "out 15:" + "x" * 900
    assert any(middle in c for c in r.chunks)


def test_unchunked_is_codex_truncation(write: Any) -> None:
    path = many_items(write, 30, 900)
    whole = render_rollout(path, max_tokens=10**7).chunks[0]
    r = render_rollout(path, max_tokens=2000, chunked=False)
    assert r.truncated
    assert r.chunks == [truncate_middle(whole, 2000)]
    assert r.chunks[0].startswith(whole[:4000])
    assert r.chunks[0].endswith(whole[-4000:])
    assert "tokens truncated…" in r.chunks[0]
    small = render_rollout(path, max_tokens=10**7, chunked=False)
    assert small.chunks == [whole] and not small.truncated


def test_one_oversized_item_is_cut_inside_its_strings(write: Any) -> None:
    big = "HEAD-" + "line of tool output\n" * 5000 + "-TAIL"
    path = write(
        [
            envelope("response_item", user("before")),
            envelope("response_item", tool_output(big)),
            envelope("response_item", message("assistant", "after")),
        ]
    )
    r = render_rollout(path, max_tokens=1000)
    assert r.truncated
    for chunk in r.chunks:
        assert len(chunk.encode()) <= 4000
    items = chunk_items(r)
    assert kinds(items) == [U, ("function_call_output", None), A]
    cut = items[1]["output"]
    assert cut.startswith("HEAD-line of tool output\n")
    assert cut.endswith("line of tool output\n-TAIL")
    assert "tokens truncated…" in cut
    assert items[1]["call_id"] == "call_1"


def test_escape_heavy_item_still_fits(write: Any) -> None:
    big = '"\\\n\x01' * 20000
    r = render_rollout(write([envelope("response_item", tool_output(big))]), max_tokens=500)
    assert r.truncated
    assert all(len(c.encode()) <= 2000 for c in r.chunks)
    (item,) = chunk_items(r)
    assert "tokens truncated…" in item["output"]


def test_item_of_many_small_fields_falls_back_to_text(write: Any) -> None:
    parts = [{"type": "input_text", "text": f"p{k}"} for k in range(3000)]
    payload = {"type": "function_call_output", "call_id": "c1", "output": parts}
    r = render_rollout(write([envelope("response_item", payload)]), max_tokens=256)
    assert r.truncated
    assert all(len(c.encode()) <= 1024 for c in r.chunks)
    (item,) = chunk_items(r)
    assert item["type"] == "function_call_output"
    assert item["truncated_item"].startswith('{"type":"function_call_output","call_id":"c1"')
    assert "tokens truncated…" in item["truncated_item"]


def test_budget_arguments_are_checked(write: Any) -> None:
    path = many_items(write, 1, 10)
    with pytest.raises(ValueError):
        render_rollout(path, max_tokens=0)
    with pytest.raises(ValueError):
        render_rollout(path, max_tokens=10)
    assert len(render_rollout(path, max_tokens=10, chunked=False).chunks) == 1


# --------------------------------------------------------------------------------------------
# malformed input


def test_empty_files(tmp_path: Path) -> None:
    for name, content in [("empty.jsonl", b""), ("blank.jsonl", b"\n  \n\t\n")]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(RolloutUnusable, match=r"^empty session file$") as e:
            render_rollout(path)
        assert e.value.reason == "empty session file"


def test_only_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(
        b'not json at all\n[1, 2, 3]\n{"type": "mystery", "payload": {}}\n'
        b'\x00\x01\x02\xff\xfe binary\n{"type": "response_item", "payload": 7}\n'
        b'{"type": ["response_item"], "payload": {}}\n{"type": {"a": 1}}\n'
        b'{"type": "response_item", "payload": {"type": ["message"], "role": "user"}}\n'
        b'{"type": "response_item", "payload": {"type": {"x": 1}}}\n'
        b'{"type": "response_item", "payload": {"type": "message", "role": ["user"]}}\n'
        b'{"type":"response_item","payload":{"type":"message","role":"user","content":[]}}\n'
        b'{"type":"response_item","payload":{"type":"message","role":"user","content":"x"}}\n'
    )
    with pytest.raises(RolloutUnusable, match=r"^no memory-relevant items$"):
        render_rollout(path)


def test_only_metadata_lines(write: Any) -> None:
    path = write([envelope("event_msg", {"type": "task_started"})])
    with pytest.raises(RolloutUnusable, match=r"^no memory-relevant items$"):
        render_rollout(path)


def test_unreadable(tmp_path: Path) -> None:
    with pytest.raises(RolloutUnusable, match=r"^cannot read: No such file or directory$"):
        render_rollout(tmp_path / "missing.jsonl")
    with pytest.raises(RolloutUnusable, match=r"^cannot read: Is a directory$"):
        render_rollout(tmp_path)


def test_torn_last_line_is_ignored(copy_fixtures: list[Path]) -> None:
    path = next(p for p in copy_fixtures if p.name == F_TOOLS)
    raw = path.read_bytes()
    before = render_rollout(path)
    # A complete-looking item without its newline is still being written.
    torn = envelope("response_item", user("not finished yet")).encode()
    for tail in (torn, torn[:40]):
        path.write_bytes(raw + tail)
        r = render_rollout(path)
        assert r.chunks == before.chunks
        assert (r.last_line, r.bytes_read, r.sha256) == (before.last_line, len(raw), before.sha256)
        assert r.lines_skipped == 0


def test_torn_only_line(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    path.write_bytes(envelope("response_item", user("x")).encode())
    with pytest.raises(RolloutUnusable, match="no memory-relevant items"):
        render_rollout(path)


def test_invalid_utf8_line_is_skipped_and_counted(copy_fixtures: list[Path]) -> None:
    path = next(p for p in copy_fixtures if p.name == F_ALPHA)
    lines = path.read_bytes().splitlines(keepends=True)
    bad = envelope("response_item", user("broken \udcff")).encode("utf-8", "surrogateescape")
    assert b"\xff" in bad
    lines.insert(5, bad + b"\n")
    lines.insert(6, b"\n")  # a blank line is not a skip
    lines.insert(7, b"{ truncated json\n")
    path.write_bytes(b"".join(lines))
    r = render_rollout(path)
    assert kinds(chunk_items(r)) == EXPECTED_KINDS[F_ALPHA]
    assert r.lines_skipped == 2
    assert r.last_line == len(lines)
    assert r.bytes_read == path.stat().st_size


def test_crlf_and_lone_surrogate_escapes(write: Any, tmp_path: Path) -> None:
    line = '{"type":"response_item","payload":{"type":"function_call_output","call_id":"c",'
    line += '"output":"half a pair \\ud83d here"}}'
    path = tmp_path / "crlf.jsonl"
    path.write_bytes((envelope("response_item", user("one")) + "\r\n" + line + "\r\n").encode())
    items = render_items(path)
    assert kinds(items) == [U, ("function_call_output", None)]
    assert items[1]["output"] == "half a pair \ufffd here"


def zst_copy(src: Path, dst: Path, *, frames: int = 1) -> Path:
    data = src.read_bytes()
    step = len(data) // frames + 1
    dst.write_bytes(
        b"".join(
            zstandard.ZstdCompressor().compress(data[i : i + step])
            for i in range(0, len(data), step)
        )
    )
    return dst


@pytest.mark.parametrize("frames", [1, 3])
def test_zst_equals_plain(copy_fixtures: list[Path], tmp_path: Path, frames: int) -> None:
    for plain in copy_fixtures:
        zst = zst_copy(plain, tmp_path / (plain.name + ".zst"), frames=frames)
        a, b = render_rollout(plain), render_rollout(zst)
        assert a == b
        assert b.sha256 == hashlib.sha256(plain.read_bytes()).hexdigest()


def test_zst_last_line_without_newline_counts(write: Any, tmp_path: Path) -> None:
    path = write(
        [envelope("response_item", user("first")), envelope("response_item", user("last"))]
    )
    raw = path.read_bytes().rstrip(b"\n")
    zst = tmp_path / "rollout-x.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(raw))
    r = render_rollout(zst)
    assert [i["content"][0]["text"] for i in chunk_items(r)] == ["first", "last"]
    assert r.bytes_read == len(raw)


def test_bad_zst(copy_fixtures: list[Path], tmp_path: Path) -> None:
    good = zst_copy(copy_fixtures[0], tmp_path / "a.jsonl.zst").read_bytes()
    cases = {
        "truncated.jsonl.zst": good[: len(good) // 2],
        "garbage.jsonl.zst": b"this is not zstd at all\n",
        "trailing.jsonl.zst": good + b"junk",
    }
    for name, blob in cases.items():
        path = tmp_path / name
        path.write_bytes(blob)
        with pytest.raises(RolloutUnusable, match=r"^cannot decompress zstd rollout: ") as e:
            render_rollout(path)
        assert name != "truncated.jsonl.zst" or "truncated" in e.value.reason
    empty = tmp_path / "empty.jsonl.zst"
    empty.write_bytes(zstandard.ZstdCompressor().compress(b""))
    with pytest.raises(RolloutUnusable, match=r"^empty session file$"):
        render_rollout(empty)


def test_renders_a_copy_in_a_nested_dir(fixtures_dir: Path, tmp_path: Path) -> None:
    dst = tmp_path / "sessions" / "2026" / "11" / "22" / F_COMPACT
    dst.parent.mkdir(parents=True)
    shutil.copy(fixtures_dir / F_COMPACT, dst)
    assert kinds(render_items(dst)) == EXPECTED_KINDS[F_COMPACT]
    assert kinds(render_items(str(dst))) == EXPECTED_KINDS[F_COMPACT]


@pytest.mark.parametrize("read_bytes", [1, 7, 4096])
def test_read_size_never_changes_the_result(
    copy_fixtures: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_bytes: int
) -> None:
    import memoryd.rollouts.render as render

    expected = [render_rollout(p) for p in copy_fixtures]
    zst = [zst_copy(p, tmp_path / (p.name + ".zst")) for p in copy_fixtures]
    monkeypatch.setattr(render, "READ_BYTES", read_bytes)
    assert [render_rollout(p) for p in copy_fixtures] == expected
    assert [render_rollout(p) for p in zst] == expected


def test_malformed_user_message_shapes(write: Any) -> None:
    path = write(
        [
            envelope("response_item", {"type": "message", "role": "user", "content": "text"}),
            envelope("response_item", {"type": "message", "role": "user", "content": []}),
            envelope("response_item", {"type": "message", "role": "user"}),
            envelope("response_item", {"type": "message", "role": "user", "content": [7, None]}),
        ]
    )
    assert render_items(path) == [{"type": "message", "role": "user", "content": [7, None]}]
