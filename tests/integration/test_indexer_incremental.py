"""Re-scans read only what changed: nothing for an unchanged tree, exactly the appended bytes
for a grown rollout, everything for a file that shrank or was replaced."""

from __future__ import annotations

import itertools
import os
import shutil
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
    fixture_lines,
    make_indexer,
    mtime_ms,
    problems,
    rollout_name,
    row_by_id,
    row_by_path,
    set_user_text,
    write,
)

from memoryd.rollouts.indexer import HEAD_BYTES, VANISHED, Indexer

ALPHA = EXPECTED[F_ALPHA]
NEW_ID = "01a2013d-497f-71f0-81b9-00000000c001"


@pytest.fixture
async def indexed(
    db: aiosqlite.Connection, codex_home: Path, copy_fixtures: list[Path]
) -> tuple[Indexer, list[Path]]:
    """The three real rollouts, indexed once."""
    indexer = make_indexer(db, codex_home)
    stats = await indexer.scan_all()
    assert stats.files_read == 3
    return indexer, copy_fixtures


def by_name(paths: list[Path], name: str) -> Path:
    return next(p for p in paths if p.name == name)


def token_count_line() -> bytes:
    line = fixture_lines(F_ALPHA)[12]
    assert b'"type":"token_count"' in line
    return line


def without_bookkeeping(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "indexed_at"}


async def test_unchanged_tree_reads_no_file_contents(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    before = await all_rows(db)
    for _ in range(2):
        stats = await indexer.scan_all()
        assert (stats.bytes_read, stats.files_read, stats.files_unchanged) == (0, 0, 3)
        assert (stats.rows_written, stats.problems, stats.vanished) == (0, 0, 0)
    assert await all_rows(db) == before
    # a fresh indexer (a restarted daemon) trusts the stored bookkeeping just the same
    stats = await make_indexer(db, paths[0].parents[4]).scan_all()
    assert (stats.bytes_read, stats.files_unchanged) == (0, 3)


async def test_append_reads_exactly_the_appended_bytes(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    p = by_name(paths, F_ALPHA)
    first = fixture_lines(F_ALPHA)[0]
    for lines_added, extra in [
        (1, token_count_line()),
        (3, token_count_line() * 2 + appended_meta(first, "disabled")),
    ]:
        before = await row_by_path(db, p)
        with p.open("ab") as f:
            f.write(extra)
        stats = await indexer.scan_all()
        assert (stats.bytes_read, stats.files_read, stats.files_unchanged) == (len(extra), 1, 2)
        row = await row_by_path(db, p)
        size = os.path.getsize(p)
        assert (row["file_size"], row["parsed_offset"]) == (size, size)
        assert row["lines_parsed"] == before["lines_parsed"] + lines_added
        assert row["updated_at"] == mtime_ms(p)
        assert row["file_inode"] == before["file_inode"]
    assert (await row_by_path(db, p))["memory_mode"] == "disabled"
    await assert_good_rows(db, [q for q in paths if q != p])


async def test_incremental_row_equals_a_full_index(
    db: aiosqlite.Connection, codex_home: Path, sessions_day: Path, tmp_path: Path
) -> None:
    """However the bytes arrive (torn lines, several appends), the row ends up the same as
    one parse of the finished file."""
    lines = fixture_lines(F_ALPHA, NEW_ID)
    data = b"".join([*lines, appended_meta(lines[0], "disabled"), token_count_line()])
    p = sessions_day / rollout_name(NEW_ID)
    indexer = make_indexer(db, codex_home)
    cuts = [0, 7000, 21900, 22000, len(lines[0]) + 10, 30000, 35856, 35900, len(data)]
    for a, b in itertools.pairwise(cuts):
        with p.open("ab") as f:
            f.write(data[a:b])
        await indexer.scan_all()
    incremental = await row_by_path(db, p)

    from memoryd.store.db import open_db

    other = await open_db(tmp_path / "fresh.sqlite")
    try:
        await make_indexer(other, codex_home).scan_all()
        full = await row_by_path(other, p)
    finally:
        await other.close()
    assert without_bookkeeping(incremental) == without_bookkeeping(full)
    assert (full["preview"], full["memory_mode"], full["lines_parsed"]) == (
        ALPHA["preview"],
        "disabled",
        16,
    )


async def test_shrunk_file_is_parsed_from_the_start(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    p = by_name(paths, F_ALPHA)
    inode = os.stat(p).st_ino
    lines = fixture_lines(F_ALPHA)[: ALPHA_USER_LINE + 1]
    lines[ALPHA_USER_LINE] = set_user_text(lines[ALPHA_USER_LINE], "a rewritten prompt")
    data = b"".join(lines)
    with p.open("r+b") as f:  # rewritten in place: same inode, shorter
        f.write(data)
        f.truncate()
    assert os.stat(p).st_ino == inode
    stats = await indexer.scan_all()
    assert (stats.bytes_read, stats.files_read) == (len(data), 1)
    row = await row_by_path(db, p)
    assert (row["preview"], row["lines_parsed"], row["parsed_offset"]) == (
        "a rewritten prompt",
        9,
        len(data),
    )
    await assert_good_rows(db, [q for q in paths if q != p])


async def test_rewritten_file_naming_another_thread_replaces_the_row(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    p = by_name(paths, F_ALPHA)
    data = b"".join(fixture_lines(F_ALPHA, NEW_ID)[:10])
    with p.open("r+b") as f:
        f.write(data)
        f.truncate()
    await indexer.scan_all()
    row = await row_by_path(db, p)
    assert (row["id"], row["lines_parsed"]) == (NEW_ID, 10)
    assert [r["id"] for r in await all_rows(db)].count(ALPHA["id"]) == 0
    assert len(await all_rows(db)) == 3


async def test_replaced_by_rename_is_parsed_from_the_start(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    """A new inode at the same path is a new file, even if it is larger than the old one."""
    indexer, paths = indexed
    p = by_name(paths, F_ALPHA)
    old = await row_by_path(db, p)
    lines = fixture_lines(F_ALPHA)
    lines[ALPHA_USER_LINE] = set_user_text(lines[ALPHA_USER_LINE], "a replaced prompt")
    lines.append(token_count_line())
    tmp = write(p.with_name(".replace.tmp"), lines)
    os.replace(tmp, p)
    size = os.path.getsize(p)
    assert size > old["file_size"]
    stats = await indexer.scan_all()
    assert (stats.bytes_read, stats.files_read) == (size, 1)
    row = await row_by_path(db, p)
    assert row["file_inode"] != old["file_inode"]
    assert (row["preview"], row["lines_parsed"], row["parsed_offset"]) == (
        "a replaced prompt",
        15,
        size,
    )
    await assert_good_rows(db, [q for q in paths if q != p])


async def test_touched_file_is_not_reparsed_but_updated_at_follows(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    p = by_name(paths, F_TOOLS)
    before = await row_by_path(db, p)
    new_ns = before["file_mtime_ns"] + 3_600 * 10**9 + 123_456_789
    os.utime(p, ns=(new_ns, new_ns))
    stats = await indexer.scan_all()
    assert stats.bytes_read <= HEAD_BYTES  # the first line's head, to confirm it is the same
    assert (stats.files_read, stats.rows_written) == (1, 1)
    row = await row_by_path(db, p)
    assert (row["file_mtime_ns"], row["updated_at"]) == (new_ns, new_ns // 1_000_000)
    assert without_bookkeeping(row) == without_bookkeeping(
        dict(before, file_mtime_ns=new_ns, updated_at=new_ns // 1_000_000)
    )
    stats = await indexer.scan_all()
    assert stats.bytes_read == 0


async def test_same_size_new_first_line_is_reparsed(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    p = by_name(paths, F_ALPHA)
    data = p.read_bytes()
    assert data.count(b"proj-alpha") > 0
    new = data.replace(b"proj-alpha", b"proj-omega")  # same length
    with p.open("r+b") as f:
        f.write(new)
    st = os.stat(p)
    os.utime(p, ns=(st.st_mtime_ns + 10**9, st.st_mtime_ns + 10**9))
    stats = await indexer.scan_all()
    assert stats.bytes_read == HEAD_BYTES + len(new)
    row = await row_by_path(db, p)
    assert row["cwd"] == ALPHA["cwd"].replace("proj-alpha", "proj-omega")
    assert row["lines_parsed"] == ALPHA["lines"]


async def test_moved_to_archived_keeps_one_row(
    db: aiosqlite.Connection, codex_home: Path, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    p = by_name(paths, F_COMPACT)
    dest = codex_home / "archived_sessions" / "2026" / "11" / "22" / p.name
    dest.parent.mkdir(parents=True)
    os.rename(p, dest)
    stats = await indexer.scan_all()
    assert (stats.problems, stats.vanished) == (0, 0)
    assert_fixture_row(await row_by_id(db, EXPECTED[F_COMPACT]["id"]), dest, archived=1)
    assert len(await all_rows(db)) == 3
    assert await problems(db) == {}
    await assert_good_rows(db, [q for q in paths if q != p])
    stats = await indexer.scan_all()
    assert (stats.bytes_read, stats.files_unchanged) == (0, 3)


async def test_moved_to_archived_seen_through_index_paths(
    db: aiosqlite.Connection, codex_home: Path, indexed: tuple[Indexer, list[Path]]
) -> None:
    """The watcher reports the old and the new path, in either order."""
    indexer, paths = indexed
    p = by_name(paths, F_COMPACT)
    dest = codex_home / "archived_sessions" / "2026" / "11" / "22" / p.name
    dest.parent.mkdir(parents=True)
    os.rename(p, dest)
    await indexer.index_paths([p])
    await indexer.index_paths([dest])
    assert_fixture_row(await row_by_id(db, EXPECTED[F_COMPACT]["id"]), dest, archived=1)
    os.rename(dest, p)  # and back again, both paths in one call
    await indexer.index_paths([dest, p])
    assert_fixture_row(await row_by_id(db, EXPECTED[F_COMPACT]["id"]), p, archived=0)
    assert len(await all_rows(db)) == 3
    assert await problems(db) == {}


async def test_vanished_file_is_flagged_on_the_next_full_scan(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    p = by_name(paths, F_TOOLS)
    saved = p.read_bytes()
    p.unlink()
    stats = await indexer.scan_all()
    assert stats.vanished == 1
    row = await row_by_path(db, p)
    assert row["index_error"] == "rollout file no longer exists" == VANISHED
    assert row["preview"] == EXPECTED[F_TOOLS]["preview"]  # what was known is kept
    await assert_good_rows(db, [q for q in paths if q != p])
    stats = await indexer.scan_all()
    assert (stats.vanished, stats.bytes_read) == (0, 0)
    # it comes back: indexed again, error cleared
    p.write_bytes(saved)
    await indexer.scan_all()
    assert_fixture_row(await row_by_path(db, p), p)


async def test_index_paths_reads_only_the_given_files(
    db: aiosqlite.Connection, codex_home: Path, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    a, b = by_name(paths, F_ALPHA), by_name(paths, F_TOOLS)
    extra_a, extra_b = token_count_line(), token_count_line() * 3
    with a.open("ab") as f:
        f.write(extra_a)
    with b.open("ab") as f:
        f.write(extra_b)
    new = write(a.parent / rollout_name(NEW_ID), fixture_lines(F_ALPHA, NEW_ID))
    stats = await indexer.index_paths([a, new, codex_home / "sessions" / "notes.txt"])
    assert stats.bytes_read == len(extra_a) + os.path.getsize(new)
    assert (stats.files_seen, stats.files_read) == (2, 2)
    assert (await row_by_path(db, a))["file_size"] == os.path.getsize(a)
    assert (await row_by_path(db, b))["file_size"] == EXPECTED[F_TOOLS]["size"]  # not yet
    assert (await row_by_path(db, new))["preview"] == ALPHA["preview"]
    stats = await indexer.index_paths([a, new])
    assert (stats.bytes_read, stats.files_unchanged) == (0, 2)
    stats = await indexer.scan_all()
    assert (stats.bytes_read, stats.files_read) == (len(extra_b), 1)
    assert (await row_by_path(db, b))["lines_parsed"] == EXPECTED[F_TOOLS]["lines"] + 3
    assert await indexer.index_paths([]) == type(stats)()


async def test_polluted_is_never_overwritten(
    db: aiosqlite.Connection, indexed: tuple[Indexer, list[Path]]
) -> None:
    indexer, paths = indexed
    p = by_name(paths, F_ALPHA)
    await db.execute(
        "UPDATE threads SET memory_mode = 'polluted' WHERE rollout_path = ?", (str(p),)
    )
    first = fixture_lines(F_ALPHA)[0]

    async def mode() -> str:
        return str((await row_by_path(db, p))["memory_mode"])

    with p.open("ab") as f:  # appended toggles
        f.write(appended_meta(first, "enabled") + appended_meta(first, "disabled"))
    await indexer.scan_all()
    assert await mode() == "polluted"
    st = os.stat(p)  # touched
    os.utime(p, ns=(st.st_mtime_ns + 10**9,) * 2)
    await indexer.scan_all()
    assert await mode() == "polluted"
    tmp = write(p.with_name(".tmp"), [*fixture_lines(F_ALPHA), appended_meta(first, "enabled")])
    os.replace(tmp, p)  # replaced: a full re-parse
    stats = await indexer.scan_all()
    assert stats.files_read == 1
    assert await mode() == "polluted"
    row = await row_by_path(db, p)
    assert (row["lines_parsed"], row["index_error"]) == (ALPHA["lines"] + 1, None)
    # a new indexer (daemon restart) neither
    await make_indexer(db, p.parents[4]).scan_all()
    assert await mode() == "polluted"


async def test_relative_sessions_dir_and_index_paths_agree(
    db: aiosqlite.Connection,
    codex_home: Path,
    copy_fixtures: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Paths are stored one way, however the directories were configured, so a watcher's
    absolute path finds the row a scan wrote."""
    monkeypatch.chdir(codex_home / "sessions")
    indexer = Indexer(db, [Path("../sessions")], Path("../archived_sessions"))
    await indexer.scan_all()
    await assert_good_rows(db, copy_fixtures)
    p = copy_fixtures[0]
    extra = token_count_line()
    with p.open("ab") as f:
        f.write(extra)
    stats = await indexer.index_paths([p])
    assert (stats.bytes_read, stats.problems) == (len(extra), 0)
    stats = await indexer.scan_all()
    assert (stats.bytes_read, stats.problems, stats.files_unchanged) == (0, 0, 3)
    assert len(await all_rows(db)) == 3


async def test_copy_then_delete_keeps_one_row(
    db: aiosqlite.Connection, codex_home: Path, indexed: tuple[Indexer, list[Path]]
) -> None:
    """Archiving by copy then delete (another inode, another path) still ends with one row."""
    indexer, paths = indexed
    p = by_name(paths, F_TOOLS)
    dest = codex_home / "archived_sessions" / p.name
    dest.parent.mkdir(parents=True)
    shutil.copy2(p, dest)
    await indexer.scan_all()  # both exist: the live one keeps the row
    assert (await row_by_id(db, EXPECTED[F_TOOLS]["id"]))["rollout_path"] == str(p)
    p.unlink()
    await indexer.scan_all()
    assert_fixture_row(await row_by_id(db, EXPECTED[F_TOOLS]["id"]), dest, archived=1)
    assert await problems(db) == {}
    assert len(await all_rows(db)) == 3
