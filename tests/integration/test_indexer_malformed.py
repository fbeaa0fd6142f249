"""Bad input gets a clear, stored answer and loses nothing (SPEC §8).

Every case puts one malformed file into a tree that also holds the three real rollouts, runs
a full scan, and checks both the exact stored outcome for the bad file (a correct row, or the
reason a user would read in threads.index_error, threads.last_skip_reason or
index_problems.reason) and that every good file is still indexed exactly right.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import sys
import tempfile
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import pytest
import zstandard
from indexer_support import (
    ALPHA_USER_LINE,
    EXPECTED,
    F_ALPHA,
    F_COMPACT,
    F_TOOLS,
    TOOLS_SECOND_PROMPT,
    TOOLS_USER_LINES,
    all_rows,
    appended_meta,
    assert_fixture_row,
    assert_good_rows,
    copy_fixture,
    dumps,
    edit_meta,
    fixture_lines,
    make_indexer,
    mtime_ms,
    problems,
    rollout_name,
    row_by_path,
    write,
)

from memoryd.rollouts import indexer as indexer_mod
from memoryd.rollouts.indexer import VANISHED, FileInfo, FileReader, ScanStats
from memoryd.store.db import open_db
from memoryd.store.jobs import NO_USER_MESSAGE

BAD = "01a2013d-497f-71f0-81b9-0000000000b0"  # thread id of the malformed rollout
NAME_TIME_MS = int(datetime(2026, 11, 22, 3, 12, 3, tzinfo=UTC).timestamp()) * 1000
ALPHA = EXPECTED[F_ALPHA]
LIMIT = 16 * 1024 * 1024  # the parser's default max_line_bytes


@pytest.fixture
def good(copy_fixtures: list[Path]) -> list[Path]:
    return copy_fixtures


async def scan(db: aiosqlite.Connection, codex_home: Path) -> ScanStats:
    return await make_indexer(db, codex_home).scan_all()


async def check_good(db: aiosqlite.Connection, good: list[Path], extra_rows: int) -> None:
    """The good files are indexed exactly, and the bad case added ``extra_rows`` rows."""
    await assert_good_rows(db, good)
    assert len(await all_rows(db)) == len(good) + extra_rows


def bad_lines() -> list[bytes]:
    """A real rollout (alpha) under the thread id BAD."""
    return fixture_lines(F_ALPHA, BAD)


def bad_path(day: Path, suffix: str = "") -> Path:
    return day / (rollout_name(BAD) + suffix)


def no_meta_row(path: Path, **over: Any) -> dict[str, Any]:
    """The row of a rollout that gave nothing but its file name."""
    return {
        "id": BAD,
        "rollout_path": str(path),
        "source": "vscode",
        "thread_source": None,
        "cwd": "",
        "cli_version": "",
        "model_provider": None,
        "created_at": NAME_TIME_MS,
        "updated_at": mtime_ms(path),
        "preview": "",
        "archived": 0,
        "memory_mode_at_start": None,
        "memory_mode": "enabled",
        "has_session_meta": 0,
        **over,
    }


def subset(row: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in like}


# ------------------------------------------------------------------------------------------
# empty, blank, binary


async def test_empty_file(db: aiosqlite.Connection, codex_home: Path, good: list[Path]) -> None:
    p = write(bad_path(good[0].parent), [])
    stats = await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = no_meta_row(p, index_error="empty session file", lines_parsed=0, lines_skipped=0)
    assert subset(row, exp) == exp
    assert stats.problems == 0
    await check_good(db, good, 1)


async def test_only_blank_lines(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    p = write(bad_path(good[0].parent), [b"\n", b"   \n", b"\t\n", b"\r\n"])
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = no_meta_row(
        p,
        index_error="empty session file (only blank lines)",
        lines_parsed=0,
        lines_skipped=4,
        last_skip_reason=None,
    )
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


def garbage(n_lines: int, line_len: int, seed: int = 7) -> bytes:
    """Random binary lines: no whitespace inside, never starting with '{'."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n_lines):
        b = bytes(c for c in rnd.randbytes(line_len * 2) if c not in b" \t\n\r\x0b\x0c")
        b = b[:line_len]
        out.append(b"\x00" + b[1:] if b[:1] == b"{" else b)
    return b"\n".join(out) + b"\n"


async def test_binary_garbage_with_newlines(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    p = bad_path(good[0].parent)
    p.write_bytes(garbage(64, 1000))
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = no_meta_row(
        p,
        index_error="no usable lines (64 skipped; last: line 64: not a JSON object)",
        lines_parsed=0,
        lines_skipped=64,
        last_skip_reason="line 64: not a JSON object",
    )
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_binary_file_without_newline(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """A binary blob (say an image saved under a rollout name) has no newline at all: it is
    not an unfinished first line that a writer will complete, and the reason says so."""
    p = bad_path(good[0].parent)
    blob = b"\x89PNG\r\x1a" + bytes(random.Random(3).randbytes(5000)).replace(b"\n", b"\x00")
    p.write_bytes(blob)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = no_meta_row(
        p,
        index_error=f"not a rollout: {len(blob)} bytes without a newline that do not start "
        "a JSON object",
        lines_parsed=0,
        lines_skipped=0,
        parsed_offset=0,
    )
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


# ------------------------------------------------------------------------------------------
# invalid UTF-8


async def test_invalid_utf8_in_a_response_item_line(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    lines = bad_lines()
    line = lines[10]  # the assistant's reply
    assert b'"role":"assistant"' in line
    pos = line.index(b"Mock reply") + 4
    lines[10] = line[:pos] + b"\xff\xfe" + line[pos:]
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {
        "id": BAD,
        "source": "exec",
        "cwd": ALPHA["cwd"],
        "preview": ALPHA["preview"],
        "lines_parsed": 13,
        "lines_skipped": 1,
        "last_skip_reason": f"line 11: invalid UTF-8 at byte {pos}",
        "index_error": None,
        "parsed_offset": os.path.getsize(p),
    }
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_invalid_utf8_in_the_first_prompt(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """The corrupt prompt line is skipped (and the byte named where it is in the line);
    the preview is the next real user message."""
    lines = fixture_lines(F_TOOLS, BAD)
    i = TOOLS_USER_LINES[0]
    line = lines[i]
    pos = line.index(b"Show me") + 5
    lines[i] = line[:pos] + b"\xc3\x28" + line[pos:]
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {
        "preview": TOOLS_SECOND_PROMPT,
        "lines_parsed": 30,
        "lines_skipped": 1,
        "last_skip_reason": f"line {i + 1}: invalid UTF-8 at byte {pos}",
        "index_error": None,
    }
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_invalid_utf8_in_session_meta(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """A session_meta line that is not UTF-8 is skipped like any other bad line; the thread
    falls back to its file name (as with no session_meta) and the reason is kept."""
    lines = bad_lines()
    pos = lines[0].index(b"You are a coding agent") + 8
    lines[0] = lines[0][:pos] + b"\xff" + lines[0][pos:]
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = no_meta_row(
        p,
        cwd=ALPHA["cwd"],  # from turn_context, as Codex falls back
        preview=ALPHA["preview"],
        lines_parsed=13,
        lines_skipped=1,
        last_skip_reason=f"line 1: invalid UTF-8 at byte {pos}",
        index_error=None,
    )
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


# ------------------------------------------------------------------------------------------
# oversized lines


def huge_line(size: int) -> bytes:
    """A real function_call_output line whose output is ``size`` bytes of text."""
    line = fixture_lines(F_TOOLS)[14]
    obj = json.loads(line)
    assert obj["payload"]["type"] == "function_call_output"
    obj["payload"]["output"] = "x" * size
    return dumps(obj)


@pytest.fixture(scope="module")
def fifty_mb_rollout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """alpha (id BAD) with a 50 MB line after the prompt and a memory-mode change after it."""
    lines = bad_lines()
    big = huge_line(50 * 1024 * 1024)
    lines.insert(ALPHA_USER_LINE + 1, big)  # becomes line 10 (1-based)
    lines.append(appended_meta(lines[0], "disabled"))
    p = write(tmp_path_factory.mktemp("big") / rollout_name(BAD), lines)
    return p, len(big) - 1


async def test_fifty_mb_line_is_skipped_and_the_rest_indexes(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path], fifty_mb_rollout: tuple[Path, int]
) -> None:
    src, big_len = fifty_mb_rollout
    p = Path(shutil.copy(src, bad_path(good[0].parent)))
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {
        "id": BAD,
        "cwd": ALPHA["cwd"],
        "preview": ALPHA["preview"],
        "memory_mode": "disabled",  # from the line after the huge one
        "lines_parsed": 15,
        "lines_skipped": 1,
        "last_skip_reason": f"line 10: {big_len} bytes, longer than the {LIMIT}-byte limit",
        "index_error": None,
        "parsed_offset": os.path.getsize(p),
    }
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


def test_fifty_mb_line_is_read_in_chunks(fifty_mb_rollout: tuple[Path, int]) -> None:
    """Peak memory while reading the 50 MB line stays far below the line's size."""
    p, big_len = fifty_mb_rollout
    st = os.stat(p)
    info = FileInfo(str(p), st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, False)
    reader = FileReader(LIMIT)
    tracemalloc.start()
    try:
        result = reader.process(info, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result is not None and result.meta is not None
    assert result.meta.lines_skipped == 1 and result.meta.memory_mode == "disabled"
    assert reader.bytes_read == st.st_size
    assert peak < 48 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {big_len} byte line"


async def test_huge_torn_line_is_not_consumed(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """An oversized line still being written (no newline yet) is left for the next scan."""
    lines = bad_lines()
    big = huge_line(LIMIT + 10)
    p = write(bad_path(good[0].parent), [*lines, big[:-1]])
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()
    row = await row_by_path(db, p)
    full = sum(len(x) for x in lines)
    assert (row["parsed_offset"], row["lines_parsed"], row["lines_skipped"]) == (full, 14, 0)
    with p.open("ab") as f:
        f.write(b"\n" + appended_meta(lines[0], "disabled"))
    await indexer.scan_all()
    row = await row_by_path(db, p)
    assert (row["lines_parsed"], row["lines_skipped"], row["memory_mode"]) == (15, 1, "disabled")
    assert (
        row["last_skip_reason"] == f"line 15: {len(big) - 1} bytes, longer than the "
        f"{LIMIT}-byte limit"
    )
    await check_good(db, good, 1)


# ------------------------------------------------------------------------------------------
# torn lines


async def test_torn_prompt_line_is_completed_later(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    lines = bad_lines()[: ALPHA_USER_LINE + 1]
    prompt = lines[-1]
    cut = len(prompt) // 2
    p = write(bad_path(good[0].parent), [*lines[:-1], prompt[:cut]])
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()
    row = await row_by_path(db, p)
    complete = sum(len(x) for x in lines[:-1])
    assert (row["preview"], row["lines_parsed"], row["parsed_offset"]) == ("", 8, complete)
    # Not extracted yet, and the row says why (no user message so far).
    assert (row["index_error"], row["lines_skipped"]) == (NO_USER_MESSAGE, 0)

    stats = await indexer.scan_all()  # unchanged: nothing read
    assert stats.bytes_read == 0

    with p.open("ab") as f:
        f.write(prompt[cut:])
    stats = await indexer.scan_all()
    assert stats.bytes_read == len(prompt)  # from the end of the last complete line
    row = await row_by_path(db, p)
    assert (row["preview"], row["lines_parsed"], row["parsed_offset"]) == (
        ALPHA["preview"],
        9,
        os.path.getsize(p),
    )
    assert row["index_error"] is None
    await check_good(db, good, 1)


async def test_torn_memory_mode_line_is_completed_later(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    lines = bad_lines()
    toggle = appended_meta(lines[0], "disabled")
    p = write(bad_path(good[0].parent), [*lines, toggle[:100]])
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()
    row = await row_by_path(db, p)
    assert (row["memory_mode"], row["lines_parsed"], row["index_error"]) == ("enabled", 14, None)
    with p.open("ab") as f:
        f.write(toggle[100:])
    await indexer.scan_all()
    row = await row_by_path(db, p)
    assert (row["memory_mode"], row["lines_parsed"], row["lines_skipped"]) == ("disabled", 15, 0)
    await check_good(db, good, 1)


async def test_torn_first_line_is_completed_later(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    lines = bad_lines()
    first = lines[0]
    p = write(bad_path(good[0].parent), [first[:5000]])
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()
    row = await row_by_path(db, p)
    exp = no_meta_row(
        p, index_error="first line incomplete (5000 bytes, no newline yet)", parsed_offset=0
    )
    assert subset(row, exp) == exp
    with p.open("ab") as f:
        f.write(b"".join([first[5000:], *lines[1:]]))
    await indexer.scan_all()
    row = await row_by_path(db, p)
    exp = {
        "id": BAD,
        "source": "exec",
        "cwd": ALPHA["cwd"],
        "created_at": ALPHA["created_at"],
        "preview": ALPHA["preview"],
        "lines_parsed": 14,
        "has_session_meta": 1,
        "index_error": None,
    }
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


# ------------------------------------------------------------------------------------------
# lines that are not what they should be


async def test_unknown_line_types_are_skipped(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    lines = bad_lines()
    future = (
        b'{"timestamp":"2026-11-22T03:12:03.526Z","ordinal":99,"type":"future_kind",'
        b'"payload":{"x":1}}\n'
    )
    spaced = b'{"type": "other_kind", "payload": {}}\n'
    untyped = b'{"timestamp":"2026-11-22T03:12:03.527Z","payload":{}}\n'
    lines[6:6] = [future, spaced, untyped]
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {
        "preview": ALPHA["preview"],
        "cwd": ALPHA["cwd"],
        "lines_parsed": 14,
        "lines_skipped": 3,
        "last_skip_reason": "line 9: no line type",
        "index_error": None,
    }
    assert subset(row, exp) == exp
    # the reason names the unknown type when there is one
    lines2 = bad_lines()
    lines2[6:6] = [future]
    write(p, lines2)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    assert row["last_skip_reason"] == "line 7: unknown line type 'future_kind'"
    assert (row["lines_parsed"], row["lines_skipped"]) == (14, 1)
    await check_good(db, good, 1)


async def test_non_json_lines_in_the_middle(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    lines = bad_lines()
    lines.insert(5, b"Traceback (most recent call last): this is not JSON\n")
    lines.insert(7, b"[1, 2, 3]\n")
    lines.insert(9, b'{"timestamp":"2026-11-22T03:12:03.530Z", oops}\n')
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {
        "preview": ALPHA["preview"],
        "cwd": ALPHA["cwd"],
        "lines_parsed": 14,
        "lines_skipped": 3,
        "index_error": None,
    }
    assert subset(row, exp) == exp
    assert (
        row["last_skip_reason"] == "line 10: not valid JSON: JSON is malformed: "
        "object keys must be strings (byte 41)"
    )
    lines2 = bad_lines()
    lines2.insert(5, b"Traceback (most recent call last): this is not JSON\n")
    write(p, lines2)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    assert (row["last_skip_reason"], row["lines_skipped"]) == ("line 6: not a JSON object", 1)
    await check_good(db, good, 1)


async def test_no_session_meta(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """id and created time come from the file name, source is Codex's default 'vscode', and
    cwd falls back to turn_context as in Codex."""
    p = write(bad_path(good[0].parent), bad_lines()[1:])
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = no_meta_row(
        p,
        cwd=ALPHA["cwd"],
        preview=ALPHA["preview"],
        lines_parsed=13,
        lines_skipped=0,
        index_error=None,
        git_sha=None,
    )
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_bad_session_meta_field_keeps_the_rest(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """A wrongly typed field (here ``git`` as a string) does not lose the whole line."""
    lines = bad_lines()
    lines[0] = edit_meta(lines[0], git="main", cli_version=169)
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {
        "id": BAD,
        "source": "exec",
        "cwd": ALPHA["cwd"],
        "created_at": ALPHA["created_at"],
        "git_branch": None,
        "git_sha": None,
        "cli_version": "",
        "has_session_meta": 1,
        "lines_skipped": 0,
        "index_error": None,
    }
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_two_session_metas_fork_keeps_the_first(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """A forked rollout embeds its parent's history, parent session_meta included: that
    second meta has another id and must not change this thread's metadata."""
    lines = bad_lines()
    lines[0] = edit_meta(lines[0], forked_from_id=EXPECTED[F_TOOLS]["id"])
    parent = fixture_lines(F_TOOLS)
    parent_meta = edit_meta(
        parent[0],
        memory_mode="disabled",
        git={"commit_hash": "a" * 40, "branch": "parent", "repository_url": "x"},
    )
    lines[1:1] = [parent_meta, *parent[1:9]]  # parent meta + the parent's first turn
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {
        "id": BAD,
        "cwd": ALPHA["cwd"],
        "created_at": ALPHA["created_at"],
        "source": "exec",
        "memory_mode": "enabled",
        "memory_mode_at_start": None,
        "git_sha": None,
        "git_branch": None,
        "lines_parsed": 23,
        "index_error": None,
        # the parent's prompt comes first in the file: it is this thread's first message too
        "preview": EXPECTED[F_TOOLS]["preview"],
    }
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_file_name_without_uuid(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    day = good[0].parent
    with_meta = write(day / "rollout-2026-11-22T03-12-03.jsonl", bad_lines())
    without_meta = write(day / "rollout-notes.jsonl", bad_lines()[1:])
    await scan(db, codex_home)
    row = await row_by_path(db, with_meta)
    exp = {
        "id": BAD,
        "source": "exec",
        "created_at": ALPHA["created_at"],
        "cwd": ALPHA["cwd"],
        "preview": ALPHA["preview"],
        "index_error": None,
    }
    assert subset(row, exp) == exp
    assert await problems(db) == {
        str(without_meta): "no thread id: no session_meta id and no UUID in the file name"
    }
    await check_good(db, good, 1)


# ------------------------------------------------------------------------------------------
# zstd


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


async def test_zst_rollout_indexes_like_the_plain_one(
    db: aiosqlite.Connection, codex_home: Path, sessions_day: Path, tmp_path: Path
) -> None:
    good = [copy_fixture(F_TOOLS, sessions_day), copy_fixture(F_COMPACT, sessions_day)]
    plain = (Path(indexer_mod.__file__).parent.parent / "examples" / F_ALPHA).read_bytes()
    p = sessions_day / (F_ALPHA + ".zst")
    p.write_bytes(zst(plain))
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()
    row = await row_by_path(db, p)
    size = os.path.getsize(p)
    # exactly the plain file's row, except for the (compressed) file size and offset
    plain_copy = tmp_path / "plain" / F_ALPHA  # outside the tree
    plain_copy.parent.mkdir()
    plain_copy.write_bytes(plain)
    os.utime(plain_copy, ns=(os.stat(p).st_mtime_ns,) * 2)
    expected = dict(
        row,
        file_size=ALPHA["size"],
        parsed_offset=ALPHA["size"],
        rollout_path=str(plain_copy),
        file_inode=os.stat(plain_copy).st_ino,
    )
    assert_fixture_row(expected, plain_copy)
    assert (row["file_size"], row["parsed_offset"]) == (size, size)
    await check_good(db, good, 1)
    stats = await indexer.scan_all()
    assert (stats.bytes_read, stats.files_unchanged) == (0, 3)


async def test_zst_with_several_frames(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    lines = bad_lines()
    p = bad_path(good[0].parent, ".zst")
    p.write_bytes(zst(b"".join(lines[:5])) + zst(b"".join(lines[5:])))
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {"id": BAD, "preview": ALPHA["preview"], "lines_parsed": 14, "index_error": None}
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_corrupt_zst(db: aiosqlite.Connection, codex_home: Path, good: list[Path]) -> None:
    p = bad_path(good[0].parent, ".zst")
    p.write_bytes(b"this was never compressed\n" * 20)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = no_meta_row(
        p,
        index_error="cannot decompress zstd rollout: zstd decompress error: "
        "Unknown frame descriptor",
        lines_parsed=0,
    )
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_truncated_zst(db: aiosqlite.Connection, codex_home: Path, good: list[Path]) -> None:
    """A .zst cut short (a copy interrupted, a full disk) is reported, not silently read as
    a shorter rollout."""
    data = zst(b"".join(bad_lines()))
    p = bad_path(good[0].parent, ".zst")
    p.write_bytes(data[: len(data) - 7])
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    assert (
        row["index_error"] == "cannot decompress zstd rollout: the file ends inside a "
        "zstd frame (truncated)"
    )
    assert row["id"] == BAD
    await check_good(db, good, 1)


# ------------------------------------------------------------------------------------------
# files that go away, cannot be read, or are not files


async def test_file_deleted_between_listing_and_reading_file_reader(tmp_path: Path) -> None:
    p = write(tmp_path / rollout_name(BAD), bad_lines())
    st = os.stat(p)
    info = FileInfo(str(p), st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, False)
    p.unlink()
    result = FileReader(LIMIT).process(info, None)
    assert result is not None
    assert (result.kind, result.problem) == ("problem", "vanished before it could be read")


async def test_file_deleted_between_listing_and_reading(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    known_bad = write(bad_path(good[0].parent), bad_lines())
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()
    with known_bad.open("ab") as f:  # changed, so the next scan must read it
        f.write(appended_meta(bad_lines()[0], "disabled"))
    new_id = "01a2013d-497f-71f0-81b9-0000000000b1"
    new = write(good[0].parent / rollout_name(new_id), fixture_lines(F_ALPHA, new_id))
    real_discover = indexer_mod.discover

    def discover_then_delete(roots: Any) -> Any:
        out = real_discover(roots)
        known_bad.unlink()
        new.unlink()
        return out

    monkeypatch.setattr(indexer_mod, "discover", discover_then_delete)
    stats = await indexer.scan_all()
    assert sorted(stats.problem_paths) == sorted([str(known_bad), str(new)])
    assert await problems(db) == {
        str(known_bad): "vanished before it could be read",
        str(new): "vanished before it could be read",
    }
    row = await row_by_path(db, known_bad)
    assert (row["index_error"], row["memory_mode"]) == (VANISHED, "enabled")
    await check_good(db, good, 1)
    monkeypatch.undo()
    stats = await indexer.scan_all()  # nothing left to report about files that are gone
    assert (stats.problems, stats.vanished) == (0, 0)
    assert await problems(db) == {}
    await check_good(db, good, 1)


async def test_file_deleted_before_index_paths(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    p = write(bad_path(good[0].parent), bad_lines())
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()
    p.unlink()
    never = good[0].parent / rollout_name("01a2013d-497f-71f0-81b9-0000000000b2")
    stats = await indexer.index_paths([p, never, *good])
    assert (stats.vanished, stats.problems, stats.bytes_read) == (1, 0, 0)
    assert (await row_by_path(db, p))["index_error"] == VANISHED
    await check_good(db, good, 1)


ROOT = os.geteuid() == 0

_CHILD = r"""
import asyncio, json, os, sys
from pathlib import Path
from memoryd.rollouts.indexer import Indexer
from memoryd.store.db import open_db

async def scan(home, db_path):
    conn = await open_db(Path(db_path))
    try:
        indexer = Indexer(conn, [Path(home) / "sessions"], Path(home) / "archived_sessions")
        return await indexer.scan_all()
    finally:
        await conn.close()

warm_home, warm_db, home, db_path = sys.argv[1:5]
# Python and the venv live under /root (mode 0700), so nobody can exec them: run one pass as
# root first so every module is loaded, then drop to nobody for the pass under test.
asyncio.run(scan(warm_home, warm_db))
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
stats = asyncio.run(scan(home, db_path))
print(json.dumps({"euid": os.geteuid(), "problems": stats.problems, "read": stats.files_read}))
"""


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp dir others can traverse (pytest's tmp_path lives under a 0700 directory)."""
    d = Path(tempfile.mkdtemp(prefix="memoryd-test-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d)


async def test_unreadable_file(shared_tmp: Path) -> None:
    home = shared_tmp / "codex"
    day = home / "sessions" / "2026" / "11" / "22"
    good = [copy_fixture(n, day) for n in (F_ALPHA, F_TOOLS, F_COMPACT)]
    p = write(bad_path(day), bad_lines())
    for d in (shared_tmp, home, home / "sessions", day.parent.parent, day.parent, day):
        d.chmod(0o755)
    for g in good:
        g.chmod(0o644)
    p.chmod(0)
    state = shared_tmp / "state"
    state.mkdir()
    db_path = state / "memoryd.sqlite"
    if ROOT:
        os.chown(state, 65534, 65534)
        warm = shared_tmp / "warm"
        copy_fixture(F_ALPHA, warm / "sessions")
        proc = await anyio.run_process(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(warm),
                str(warm / "db.sqlite"),
                str(home),
                str(db_path),
            ],
            check=False,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        report = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        assert report == {"euid": 65534, "problems": 0, "read": 4}
        db = await open_db(db_path)
    else:
        db = await open_db(db_path)
        await make_indexer(db, home).scan_all()
    try:
        row = await row_by_path(db, p)
        exp = no_meta_row(p, index_error="cannot read: Permission denied", lines_parsed=0)
        assert subset(row, exp) == exp
        await check_good(db, good, 1)
        # Once it can be read, the next scan indexes it (a chmod does not change the mtime).
        p.chmod(0o644)
        await make_indexer(db, home).scan_all()
        row = await row_by_path(db, p)
        assert (row["index_error"], row["preview"], row["source"]) == (
            None,
            ALPHA["preview"],
            "exec",
        )
        await check_good(db, good, 1)
    finally:
        await db.close()


async def test_symlink_loops(db: aiosqlite.Connection, codex_home: Path, good: list[Path]) -> None:
    day = good[0].parent
    (day / "loop").symlink_to("../..", target_is_directory=True)  # -> sessions/2026
    (codex_home / "sessions" / "self").symlink_to(".", target_is_directory=True)
    a = day / rollout_name("01a2013d-497f-71f0-81b9-0000000000a1")
    b = day / rollout_name("01a2013d-497f-71f0-81b9-0000000000a2")
    a.symlink_to(b.name)
    b.symlink_to(a.name)
    dangling = day / rollout_name("01a2013d-497f-71f0-81b9-0000000000a3")
    dangling.symlink_to("nowhere.jsonl")
    with anyio.fail_after(20):
        stats = await scan(db, codex_home)
    loop = "cannot stat: Too many levels of symbolic links"
    assert await problems(db) == {str(a): loop, str(b): loop, str(dangling): "broken symbolic link"}
    assert stats.files_seen == 3
    await check_good(db, good, 0)


async def test_fifo_and_directory_named_like_rollouts(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    day = good[0].parent
    fifo = day / rollout_name("01a2013d-497f-71f0-81b9-0000000000f1")
    os.mkfifo(fifo)
    folder = day / rollout_name("01a2013d-497f-71f0-81b9-0000000000f2")
    folder.mkdir()
    inner = write(folder / rollout_name(BAD), bad_lines())  # a real rollout inside it
    indexer = make_indexer(db, codex_home)
    try:
        with anyio.fail_after(20):
            await indexer.scan_all()
            assert await problems(db) == {str(fifo): "not a regular file"}
            row = await row_by_path(db, inner)
            assert (row["id"], row["preview"]) == (BAD, ALPHA["preview"])
            await check_good(db, good, 1)
            stats = await indexer.index_paths([fifo, folder, inner])
            assert (stats.problem_paths, stats.files_read) == ([str(fifo)], 0)
            assert await problems(db) == {str(fifo): "not a regular file"}
    finally:
        if stat.S_ISFIFO(os.lstat(fifo).st_mode):  # unblock a reader, should one be stuck
            fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
            os.close(fd)


async def test_malformed_tree_rescan_reads_only_what_may_have_changed(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """Bad files whose content was judged are not read again until they change."""
    day = good[0].parent

    def name(n: int) -> Path:
        return day / rollout_name(f"01a2013d-497f-71f0-81b9-0000000001{n:02d}")

    write(name(1), [])
    write(name(2), [b"\n\n"])
    name(3).write_bytes(garbage(10, 100))
    name(4).write_bytes(b"\x89PNG" + b"\x00" * 100)
    write(name(5), [bad_lines()[0][:3000]])
    name(6).with_name(name(6).name + ".zst").write_bytes(b"not zstd at all")
    stats = await scan(db, codex_home)
    assert stats.files_read == 9
    errors = {r["rollout_path"]: r["index_error"] for r in await all_rows(db)}
    assert sum(e is not None for e in errors.values()) == 6
    stats = await scan(db, codex_home)
    assert (stats.bytes_read, stats.files_read, stats.files_unchanged) == (0, 0, 9)


# ------------------------------------------------------------------------------------------
# fields that are present but not what Codex would ever write


async def test_session_meta_id_must_be_a_uuid(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """Codex's thread ids are UUIDs (and later become file names): another string is not
    taken as the id, and a later meta with such an id is not this thread's."""
    lines = bad_lines()
    first = lines[0]
    lines[0] = edit_meta(first, id="../../../etc/passwd")
    lines.append(appended_meta(first, "disabled", id="not-a-uuid"))
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    exp = {
        "id": BAD,
        "source": "exec",
        "cwd": ALPHA["cwd"],
        "created_at": ALPHA["created_at"],
        "memory_mode": "enabled",
        "has_session_meta": 1,
        "index_error": None,
    }
    assert subset(row, exp) == exp
    await check_good(db, good, 1)


async def test_session_meta_id_in_another_spelling_is_the_same_thread(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    lines = bad_lines()
    first = lines[0]
    lines[0] = edit_meta(first, id=BAD.upper())
    lines.append(appended_meta(first, "disabled"))  # the canonical spelling
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    assert (row["id"], row["memory_mode"]) == (BAD, "disabled")
    await check_good(db, good, 1)


async def test_unknown_memory_mode_values_are_ignored(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """Only 'enabled' and 'disabled' come from a rollout; 'polluted' is memoryd's own verdict
    and cannot be written into a rollout."""
    lines = bad_lines()
    first = lines[0]
    lines[0] = edit_meta(first, memory_mode="banana")
    lines.append(appended_meta(first, "polluted"))
    lines.append(appended_meta(first, "DISABLED"))
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    assert (row["memory_mode_at_start"], row["memory_mode"]) == (None, "enabled")
    await check_good(db, good, 1)


async def test_two_json_objects_on_one_line(
    db: aiosqlite.Connection, codex_home: Path, good: list[Path]
) -> None:
    """``{...},{...}`` on one line is one (bad) line: what it hides is not applied, and the
    lines after it keep their numbers."""
    lines = bad_lines()
    hidden = appended_meta(lines[0], "disabled")
    lines.insert(12, lines[11].rstrip(b"\n") + b"," + hidden)
    p = write(bad_path(good[0].parent), lines)
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    assert row["memory_mode"] == "enabled"
    assert row["lines_parsed"] + row["lines_skipped"] == 15
    with p.open("ab") as f:
        f.write(b"not json\n")
    await scan(db, codex_home)
    row = await row_by_path(db, p)
    assert row["last_skip_reason"] == "line 16: not a JSON object"
    assert row["lines_parsed"] + row["lines_skipped"] == 16
    await check_good(db, good, 1)


@pytest.mark.parametrize("chunk", [7, 1000, 4096, 30_000, 30_001, 1 << 20])
def test_chunk_boundaries_do_not_change_the_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Oversized lines and torn tails are handled the same wherever the reads split them."""
    limit = 30_000
    lines = bad_lines()
    lines.insert(9, huge_line(50_000))
    envelope = len(huge_line(0)) - 1
    lines.insert(11, huge_line(limit - envelope))  # exactly at the limit: kept
    lines.append(appended_meta(lines[0], "disabled"))
    torn = huge_line(40_000)[:-1]
    p = write(tmp_path / rollout_name(BAD), [*lines, torn])
    complete = sum(len(x) for x in lines)
    monkeypatch.setattr(indexer_mod, "CHUNK_BYTES", chunk)
    st = os.stat(p)
    info = FileInfo(str(p), st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, False)
    reader = FileReader(limit)
    r = reader.process(info, None)
    assert r is not None and r.meta is not None
    assert reader.bytes_read == st.st_size
    assert (r.parsed_offset, r.index_error) == (complete, None)
    m = r.meta
    assert (m.lines_parsed, m.lines_skipped, m.memory_mode, m.preview) == (
        16,
        1,
        "disabled",
        ALPHA["preview"],
    )
    assert (
        m.last_skip_reason == f"line 10: {len(lines[9]) - 1} bytes, longer than the "
        f"{limit}-byte limit"
    )
