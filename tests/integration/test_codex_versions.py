"""Rollouts from every Codex version (issue 12, "Also fix"): the shapes older and newer CLIs
write that the indexer must read like the 0.169 ones.

* Codex 0.40 ``exec -i IMAGE`` sends the image as its own first user turn: the preview is the
  first user message with text, not ``[Image]``.
* The same content with another key order or spacing gets the same preview; a rollout that
  really has no user message is stored with the reason it is not extracted.
* The shipped config says that terminal sessions are ``vscode`` from Codex 0.160 on.
* A rollout Codex compressed to ``.jsonl.zst`` is the same input, and its provenance moves.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import pytest
import zstandard
from indexer_support import EXPECTED, F_ALPHA, fixture_lines, make_indexer, row_by_path, write
from support.pipeline import example_home

from memoryd.daemon.runonce import run_once
from memoryd.store import jobs
from memoryd.store.jobs import NO_USER_MESSAGE
from memoryd.workspace.baseline import diff_against_baseline

REPO = Path(__file__).resolve().parents[2]
OLD_ID = "0199a0b1-0000-7000-8000-000000000040"


def line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def v040_rollout(*user_events: dict[str, Any]) -> list[bytes]:
    """A rollout in Codex 0.40's shape: a small session_meta and ``user_message`` events."""
    meta = {
        "timestamp": "2025-09-25T10:00:00.000Z",
        "type": "session_meta",
        "payload": {
            "id": OLD_ID,
            "timestamp": "2025-09-25T10:00:00.000Z",
            "cwd": "/home/dev/proj-old",
            "originator": "codex_cli_rs",
            "cli_version": "0.40.0",
            "instructions": None,
            "source": "cli",
        },
    }
    out = [line(meta)]
    for i, ev in enumerate(user_events):
        out.append(
            line(
                {
                    "timestamp": f"2025-09-25T10:00:0{i + 1}.000Z",
                    "type": "event_msg",
                    "payload": {"type": "user_message", "kind": "plain", **ev},
                }
            )
        )
    return out


IMAGE_TURN = {"message": "", "images": ["data:image/png;base64,iVBORw0KGgo="]}
TEXT_TURN = {"message": "What is wrong with the layout in this screenshot?"}


def old_path(codex_home: Path) -> Path:
    day = codex_home / "sessions" / "2025" / "09" / "25"
    return day / f"rollout-2025-09-25T10-00-00-{OLD_ID}.jsonl"


async def test_image_first_turn_does_not_hide_the_prompt(
    db: aiosqlite.Connection, codex_home: Path
) -> None:
    path = write(old_path(codex_home), v040_rollout(IMAGE_TURN, TEXT_TURN))
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, path)
    assert row["preview"] == TEXT_TURN["message"]
    assert row["index_error"] is None


async def test_image_only_so_far_is_replaced_when_the_text_arrives(
    db: aiosqlite.Connection, codex_home: Path
) -> None:
    """Indexed while only the image turn is written, then again once the prompt is appended
    (read on from where the first scan stopped)."""
    lines = v040_rollout(IMAGE_TURN, TEXT_TURN)
    path = write(old_path(codex_home), lines[:2])
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()
    assert (await row_by_path(db, path))["preview"] == "[Image]"  # Codex's own fallback
    with path.open("ab") as f:
        f.write(lines[2])
    stats = await indexer.scan_all()
    assert stats.bytes_read == len(lines[2])
    assert (await row_by_path(db, path))["preview"] == TEXT_TURN["message"]


def _rev(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _rev(v[k]) for k in reversed(list(v))}
    if isinstance(v, list):
        return [_rev(x) for x in v]
    return v


def reshaped(raw: bytes) -> bytes:
    """The same JSON with every object's keys reversed and Python's default spacing."""
    return json.dumps(_rev(json.loads(raw)), ensure_ascii=False).encode() + b"\n"


def payload_reshaped(raw: bytes) -> bytes:
    """Codex's compact envelope kept as it is, the payload's keys reversed and spaced."""
    obj = json.loads(raw)
    payload = json.dumps(_rev(obj.pop("payload")), ensure_ascii=False)
    head = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)[:-1]
    return f'{head},"payload":{payload}}}'.encode() + b"\n"


@pytest.mark.parametrize("path_taken", ["block", "line_by_line"])
async def test_other_key_order_and_spacing_give_the_same_preview(
    db: aiosqlite.Connection, codex_home: Path, path_taken: str
) -> None:
    if path_taken == "block":
        lines = [reshaped(x) for x in fixture_lines(F_ALPHA)]
    else:  # one bad line sends the block down the per-line path, which sees the envelope
        lines = [payload_reshaped(x) for x in fixture_lines(F_ALPHA)]
        lines.insert(3, b"not json\n")
    path = write(codex_home / "sessions" / "2026" / "11" / "22" / F_ALPHA, lines)
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, path)
    assert row["preview"] == EXPECTED[F_ALPHA]["preview"]
    assert row["index_error"] is None
    assert row["cwd"] == EXPECTED[F_ALPHA]["cwd"]


async def test_a_rollout_without_a_user_message_says_why_it_is_not_extracted(
    db: aiosqlite.Connection, codex_home: Path
) -> None:
    path = write(old_path(codex_home), v040_rollout())
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, path)
    assert (row["preview"], row["index_error"]) == ("", NO_USER_MESSAGE)
    candidate, why = await jobs.thread_candidate(db, OLD_ID)
    assert candidate is None and why == f"thread {OLD_ID} has no user message to learn from"
    # Once the user writes, the reason goes and the thread can be extracted.
    with path.open("ab") as f:
        f.write(v040_rollout(TEXT_TURN)[1])
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, path)
    assert (row["preview"], row["index_error"]) == (TEXT_TURN["message"], None)


def test_the_shipped_config_says_terminal_sessions_are_vscode() -> None:
    text = (REPO / "config" / "memoryd.toml").read_text()
    [source_line] = [ln for ln in text.splitlines() if ln.startswith("allowed_sources")]
    assert tomllib.loads(source_line.split("#")[0])["allowed_sources"] == ["cli", "vscode"]
    comment = source_line.split("#", 1)[1]
    assert '"vscode" since Codex 0.160' in comment and '["cli"] alone loses' in comment


@pytest.mark.parametrize("mtime", ["kept", "new"])
def test_a_compressed_rollout_is_not_a_new_input_and_provenance_follows(
    tmp_path: Path, mtime: str
) -> None:
    """Codex 0.140+ may compress an idle rollout to ``.jsonl.zst`` and delete the original:
    no extraction, no consolidation for it, and every stored path moves to the new file."""
    _, rollouts, settings = example_home(tmp_path)
    first = anyio.run(run_once, settings)
    assert first.phase2 is not None and first.phase2.outcome == "succeeded"
    root = settings.paths.memory_root
    before = {p.name: p.read_bytes() for p in (root / "rollout_summaries").iterdir()}
    updated = "SELECT updated_at FROM threads ORDER BY id"
    db = sqlite3.connect(settings.paths.db_path)
    try:
        times = db.execute(updated).fetchall()
    finally:
        db.close()

    plain = rollouts[0]
    packed = plain.with_name(plain.name + ".zst")
    packed.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    if mtime == "kept":
        st = plain.stat()
        os.utime(packed, ns=(st.st_atime_ns, st.st_mtime_ns))
    plain.unlink()

    second = anyio.run(run_once, settings)
    assert second.phase1 is not None and second.phase1.claimed == 0  # not extracted again
    assert second.phase2 is not None and second.phase2.outcome == "noop"
    assert diff_against_baseline(root).is_empty
    after = {p.name: p.read_bytes() for p in (root / "rollout_summaries").iterdir()}
    assert after.keys() == before.keys()  # same memories, same file names
    moved = [n for n in after if after[n] != before[n]]
    assert len(moved) == 1
    assert after[moved[0]] == before[moved[0]].replace(
        f"rollout_path: {plain}\n".encode(), f"rollout_path: {packed}\n".encode()
    )
    assert f"rollout_path: {packed}\n" in (root / "raw_memories.md").read_text()
    db = sqlite3.connect(settings.paths.db_path)
    try:
        paths = {r[0] for r in db.execute("SELECT rollout_path FROM stage1_outputs")}
        # Its last activity is the same: a new mtime does not make it a newer version
        # (which phase 1 would extract again once idle).
        assert db.execute(updated).fetchall() == times
    finally:
        db.close()
    assert str(packed) in paths and str(plain) not in paths
