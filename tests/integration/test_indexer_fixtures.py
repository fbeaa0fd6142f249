"""The real Codex 0.169 rollouts, and small variants derived from them, index to exactly
the rows Codex itself would derive (reference/codex-memories.md §2.5)."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from indexer_support import (
    ALPHA_USER_LINE,
    EXPECTED,
    F_ALPHA,
    F_COMPACT,
    F_TOOLS,
    all_rows,
    appended_meta,
    assert_fixture_row,
    assert_good_rows,
    dumps,
    edit_meta,
    fixture_lines,
    make_indexer,
    problems,
    rollout_name,
    row_by_id,
    row_by_path,
    write,
)

NEW_ID = "01a2013d-497f-71f0-81b9-00000000a001"


async def test_real_rollouts_index_to_exact_rows(
    db: aiosqlite.Connection, codex_home: Path, copy_fixtures: list[Path]
) -> None:
    stats = await make_indexer(db, codex_home).scan_all()
    assert (stats.files_seen, stats.files_read, stats.problems) == (3, 3, 0)
    assert stats.bytes_read == sum(EXPECTED[p.name]["size"] for p in copy_fixtures)
    rows = await all_rows(db)
    assert [r["id"] for r in rows] == [EXPECTED[p.name]["id"] for p in copy_fixtures]
    for p in copy_fixtures:
        assert_fixture_row(await row_by_path(db, p), p)
    assert await problems(db) == {}


async def test_created_at_is_the_meta_time_and_agrees_with_the_file_name(
    db: aiosqlite.Connection, codex_home: Path, copy_fixtures: list[Path]
) -> None:
    await make_indexer(db, codex_home).scan_all()
    for p in copy_fixtures:
        row = await row_by_path(db, p)
        # session_meta.payload.timestamp, e.g. 2026-11-22T03:12:03.460Z
        meta_time = datetime.fromtimestamp(row["created_at"] / 1000, UTC)
        # the file name's YYYY-MM-DDThh-mm-ss (the fixtures were written with TZ=UTC)
        name_time = datetime.strptime(p.name[8:27], "%Y-%m-%dT%H-%M-%S").replace(tzinfo=UTC)
        assert meta_time.replace(microsecond=0) == name_time
        assert row["created_at"] % 1000 != 0  # milliseconds kept, not the name's seconds


async def test_updated_at_is_the_file_mtime_in_ms(
    db: aiosqlite.Connection, codex_home: Path, copy_fixtures: list[Path]
) -> None:
    p = copy_fixtures[0]
    os.utime(p, ns=(1_795_400_000_123_456_789, 1_795_400_000_123_456_789))
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, p)
    assert row["updated_at"] == 1_795_400_000_123
    assert row["file_mtime_ns"] == 1_795_400_000_123_456_789


async def test_rollouts_under_archived_sessions_are_archived(
    db: aiosqlite.Connection, codex_home: Path, fixture_rollouts: list[Path]
) -> None:
    live_dir = codex_home / "sessions" / "2026" / "11" / "22"
    arch_dir = codex_home / "archived_sessions" / "2026" / "11" / "22"
    live_dir.mkdir(parents=True)
    arch_dir.mkdir(parents=True)
    live = [Path(shutil.copy(fixture_rollouts[0], live_dir))]
    arch = [Path(shutil.copy(f, arch_dir)) for f in fixture_rollouts[1:]]
    await make_indexer(db, codex_home).scan_all()
    assert_fixture_row(await row_by_path(db, live[0]), live[0], archived=0)
    for p in arch:
        assert_fixture_row(await row_by_path(db, p), p, archived=1)
    assert len(await all_rows(db)) == 3


async def test_same_rollout_live_and_archived_keeps_the_live_one(
    db: aiosqlite.Connection, codex_home: Path, copy_fixtures: list[Path]
) -> None:
    """A copy of a live rollout under archived_sessions/ is one thread, not two: the live
    file keeps the row, the copy is reported, and the outcome does not depend on scan order."""
    arch_dir = codex_home / "archived_sessions" / "2026" / "11" / "22"
    arch_dir.mkdir(parents=True)
    dup = Path(shutil.copy(copy_fixtures[0], arch_dir))
    os.utime(dup, ns=(os.stat(copy_fixtures[0]).st_mtime_ns,) * 2)
    indexer = make_indexer(db, codex_home)
    for _ in range(2):
        await indexer.scan_all()
        assert len(await all_rows(db)) == 3
        await assert_good_rows(db, copy_fixtures)
        tid = EXPECTED[F_ALPHA]["id"]
        assert await problems(db) == {str(dup): f"same thread id {tid} as {copy_fixtures[0]}"}


async def test_old_style_user_message_event_gives_the_preview(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path
) -> None:
    """Before 0.169, the prompt was an event_msg user_message whose text may carry the
    ``## My request for Codex:`` marker; everything up to and including it is dropped."""
    lines = fixture_lines(F_ALPHA, NEW_ID)
    old = dumps(
        {
            "timestamp": "2026-11-22T03:12:03.531Z",
            "type": "event_msg",
            "payload": {
                "type": "user_message",
                "message": "<user_instructions>\nbe brief\n</user_instructions>\n\n"
                "## My request for Codex:\n  Refactor parse.py to use msgspec\n",
                "kind": "plain",
                "images": [],
            },
        }
    )
    later = dumps(
        {
            "timestamp": "2026-11-22T03:14:00.000Z",
            "type": "event_msg",
            "payload": {"type": "user_message", "message": "a later prompt", "images": []},
        }
    )
    lines[ALPHA_USER_LINE] = old  # the 0.169 item_completed UserMessage line is replaced
    p = write(sessions_day / rollout_name(NEW_ID), [*lines, later])
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, p)
    assert row["preview"] == "Refactor parse.py to use msgspec"
    assert (row["lines_parsed"], row["lines_skipped"], row["index_error"]) == (15, 0, None)


async def test_image_only_user_message_previews_as_image(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path
) -> None:
    lines = fixture_lines(F_ALPHA, NEW_ID)
    lines[ALPHA_USER_LINE] = dumps(
        {
            "timestamp": "2026-11-22T03:12:03.531Z",
            "type": "event_msg",
            "payload": {"type": "user_message", "message": "", "images": ["data:image/png;..."]},
        }
    )
    p = write(sessions_day / rollout_name(NEW_ID), lines)
    await make_indexer(db, codex_home).scan_all()
    assert (await row_by_path(db, p))["preview"] == "[Image]"


async def test_generate_memories_false_marker_is_memory_mode_at_start_only(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path
) -> None:
    lines = fixture_lines(F_ALPHA, NEW_ID)
    lines[0] = edit_meta(lines[0], memory_mode="disabled")
    p = write(sessions_day / rollout_name(NEW_ID), lines)
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, p)
    assert (row["memory_mode_at_start"], row["memory_mode"]) == ("disabled", "enabled")


async def test_appended_memory_mode_last_one_wins(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path
) -> None:
    lines = fixture_lines(F_ALPHA, NEW_ID)
    lines[0] = edit_meta(lines[0], memory_mode="disabled")  # generate_memories = false
    p = write(sessions_day / rollout_name(NEW_ID), lines)
    indexer = make_indexer(db, codex_home)
    await indexer.scan_all()

    with p.open("ab") as f:
        f.write(appended_meta(lines[0], "disabled"))
    await indexer.scan_all()
    row = await row_by_path(db, p)
    assert (row["memory_mode_at_start"], row["memory_mode"]) == ("disabled", "disabled")

    with p.open("ab") as f:
        f.write(appended_meta(lines[0], "enabled"))
    await indexer.scan_all()
    row = await row_by_path(db, p)
    assert (row["memory_mode_at_start"], row["memory_mode"]) == ("disabled", "enabled")
    assert row["lines_parsed"] == 16
    assert row["preview"] == EXPECTED[F_ALPHA]["preview"]

    # Several toggles in one read: still the last one.
    with p.open("ab") as f:
        f.write(
            appended_meta(lines[0], "disabled")
            + appended_meta(lines[0], "enabled")
            + appended_meta(lines[0], "disabled")
        )
    await indexer.scan_all()
    assert (await row_by_path(db, p))["memory_mode"] == "disabled"

    # A fresh index of the whole file agrees with the incremental one.
    await db.execute("DELETE FROM threads")
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, p)
    assert (row["memory_mode_at_start"], row["memory_mode"]) == ("disabled", "disabled")


GIT = {
    "commit_hash": "3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39",
    "branch": "feature/index",
    "repository_url": "git@github.com:example/proj-alpha.git",
}


async def test_git_fields_come_from_session_meta(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path
) -> None:
    lines = fixture_lines(F_ALPHA, NEW_ID)
    lines[0] = edit_meta(lines[0], git=GIT)
    p = write(sessions_day / rollout_name(NEW_ID), lines)
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, p)
    assert (row["git_sha"], row["git_branch"], row["git_origin_url"]) == (
        GIT["commit_hash"],
        GIT["branch"],
        GIT["repository_url"],
    )


async def test_git_fields_first_non_null_wins(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path
) -> None:
    lines = fixture_lines(F_ALPHA, NEW_ID)
    lines[0] = edit_meta(lines[0], git={"commit_hash": GIT["commit_hash"]})
    later = edit_meta(lines[0], git={"commit_hash": "0" * 40, "branch": "main"})
    p = write(sessions_day / rollout_name(NEW_ID), [*lines, later])
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_path(db, p)
    assert (row["git_sha"], row["git_branch"], row["git_origin_url"]) == (
        GIT["commit_hash"],
        "main",
        None,
    )


@pytest.mark.parametrize(
    ("source", "stored"),
    [
        ("cli", "cli"),
        ("vscode", "vscode"),
        ("mcp", "mcp"),
        ({"custom": "atlas"}, '{"custom":"atlas"}'),
        ({"internal": "memory_consolidation"}, '{"internal":"memory_consolidation"}'),
        (
            {"subagent": {"thread_spawn": {"parent_thread_id": "p", "depth": 1}}},
            '{"subagent":{"thread_spawn":{"parent_thread_id":"p","depth":1}}}',
        ),
    ],
)
async def test_source_is_stored_as_codex_stores_it(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path, source: Any, stored: str
) -> None:
    lines = fixture_lines(F_ALPHA, NEW_ID)
    lines[0] = edit_meta(lines[0], source=source)
    p = write(sessions_day / rollout_name(NEW_ID), lines)
    await make_indexer(db, codex_home).scan_all()
    assert (await row_by_path(db, p))["source"] == stored


async def test_synthetic_variant_keeps_every_other_field(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path
) -> None:
    """The derived rollouts used in these tests differ from the real one only where edited."""
    p = write(sessions_day / rollout_name(NEW_ID), fixture_lines(F_ALPHA, NEW_ID))
    await make_indexer(db, codex_home).scan_all()
    row = await row_by_id(db, NEW_ID)
    assert row["rollout_path"] == str(p)
    for key in ("cwd", "created_at", "preview"):
        assert row[key] == EXPECTED[F_ALPHA][key]
    assert (row["source"], row["cli_version"], row["lines_parsed"]) == ("exec", "0.169.0", 14)


@pytest.mark.parametrize("name", [F_ALPHA, F_TOOLS, F_COMPACT])
async def test_each_fixture_alone(
    db: aiosqlite.Connection, sessions_day: Path, codex_home: Path, name: str
) -> None:
    p = write(sessions_day / name, fixture_lines(name))
    stats = await make_indexer(db, codex_home).scan_all()
    assert stats.bytes_read == EXPECTED[name]["size"]
    assert_fixture_row(await row_by_path(db, p), p)
