"""Helpers shared by the indexer tests: facts about the real fixtures, synthetic rollouts
derived from them, and readers for the rows the indexer stores."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from memoryd.rollouts.indexer import Indexer

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "memoryd" / "examples"

F_ALPHA = "rollout-2026-11-22T03-12-03-01a2013d-497f-71f0-81b9-4c6d2314a10b.jsonl"
F_TOOLS = "rollout-2026-11-22T03-13-54-01a2013e-fb76-7c33-8cf6-bf19bdb58fd0.jsonl"
F_COMPACT = "rollout-2026-11-22T03-13-55-01a2013e-ff1a-7c20-8973-b369527e3057.jsonl"

# Facts read from the fixture files (session_meta payload and the first UserMessage item).
EXPECTED: dict[str, dict[str, Any]] = {
    F_ALPHA: {
        "id": "01a2013d-497f-71f0-81b9-4c6d2314a10b",
        "cwd": "/home/dev/code/run-ont1j3pn/proj-alpha",
        "created_at": 1795317123460,  # 2026-11-22T03:12:03.460Z
        "preview": "Explain how to run the pytest suite in this repo; I prefer uv over pip.",
        "lines": 14,
        "size": 35856,
    },
    F_TOOLS: {
        "id": "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0",
        "cwd": "/home/dev/code/samples-13uz/proj-tools",
        "created_at": 1795317234553,  # 2026-11-22T03:13:54.553Z
        "preview": "[[tool:ls -la && cat README.md]] Show me the files here",
        "lines": 31,
        "size": 46708,
    },
    F_COMPACT: {
        "id": "01a2013e-ff1a-7c20-8973-b369527e3057",
        "cwd": "/home/dev/code/samples-13uz/proj-compact",
        "created_at": 1795317235486,  # 2026-11-22T03:13:55.486Z
        "preview": "[[usage:250000]] Load the giant log file",
        "lines": 33,
        "size": 58729,
    },
}

ALPHA_USER_LINE = 8  # 0-based index of the UserMessage item_completed line in F_ALPHA
TOOLS_USER_LINES = (8, 25)  # the two UserMessage lines in F_TOOLS
TOOLS_SECOND_PROMPT = "Thanks. Next time always use ripgrep instead of grep."


def make_indexer(db: aiosqlite.Connection, codex_home: Path, **kw: Any) -> Indexer:
    return Indexer(db, [codex_home / "sessions"], codex_home / "archived_sessions", **kw)


def fixture_lines(name: str = F_ALPHA, new_id: str | None = None) -> list[bytes]:
    """The lines (with newlines) of a real rollout; with ``new_id`` its thread id is replaced
    everywhere, giving a distinct but otherwise real rollout."""
    data = (FIXTURES / name).read_bytes()
    if new_id is not None:
        data = data.replace(EXPECTED[name]["id"].encode(), new_id.encode())
    return data.splitlines(keepends=True)


def edit(line: bytes, fn: Callable[[dict[str, Any]], None]) -> bytes:
    """Decode a line, let ``fn`` change it, encode it back in Codex's compact form."""
    obj = json.loads(line)
    fn(obj)
    return dumps(obj)


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def edit_meta(line: bytes, **changes: Any) -> bytes:
    """Change fields of a session_meta payload (a value of ``...`` deletes the field)."""

    def fn(obj: dict[str, Any]) -> None:
        assert obj["type"] == "session_meta"
        for k, v in changes.items():
            if v is ...:
                obj["payload"].pop(k, None)
            else:
                obj["payload"][k] = v

    return edit(line, fn)


def set_user_text(line: bytes, text: str) -> bytes:
    def fn(obj: dict[str, Any]) -> None:
        item = obj["payload"]["item"]
        assert item["type"] == "UserMessage"
        item["content"][0]["text"] = text

    return edit(line, fn)


def appended_meta(first_line: bytes, memory_mode: str, **changes: Any) -> bytes:
    """What Codex appends when the user toggles memories for a thread: the thread's
    session_meta again, without ``git``, with ``memory_mode`` set."""
    return edit_meta(first_line, memory_mode=memory_mode, git=..., **changes)


def rollout_name(new_id: str, time: str = "2026-11-22T03-12-03") -> str:
    return f"rollout-{time}-{new_id}.jsonl"


def write(path: Path, lines: Iterable[bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return path


def copy_fixture(name: str, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dst = dest_dir / name
    shutil.copy(FIXTURES / name, dst)
    return dst


def mtime_ms(path: Path) -> int:
    return os.stat(path).st_mtime_ns // 1_000_000


async def fetch_all(db: aiosqlite.Connection, sql: str, *args: object) -> list[dict[str, Any]]:
    async with db.execute(sql, args) as cur:
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]


async def row_by_path(db: aiosqlite.Connection, path: Path | str) -> dict[str, Any]:
    rows = await fetch_all(db, "SELECT * FROM threads WHERE rollout_path = ?", str(path))
    assert len(rows) == 1, f"expected one row for {path}, got {rows}"
    return rows[0]


async def row_by_id(db: aiosqlite.Connection, tid: str) -> dict[str, Any]:
    rows = await fetch_all(db, "SELECT * FROM threads WHERE id = ?", tid)
    assert len(rows) == 1, f"expected one row for {tid}, got {rows}"
    return rows[0]


async def all_rows(db: aiosqlite.Connection) -> list[dict[str, Any]]:
    return await fetch_all(db, "SELECT * FROM threads ORDER BY rollout_path")


async def problems(db: aiosqlite.Connection) -> dict[str, str]:
    rows = await fetch_all(db, "SELECT path, reason FROM index_problems")
    return {r["path"]: r["reason"] for r in rows}


def assert_fixture_row(row: dict[str, Any], path: Path, *, archived: int = 0) -> None:
    """The exact row a real fixture rollout must produce."""
    exp = EXPECTED[path.name]
    st = os.stat(path)
    assert row == {
        **row,
        "id": exp["id"],
        "rollout_path": str(path),
        "source": "exec",
        "thread_source": "user",
        "cwd": exp["cwd"],
        "git_branch": None,
        "git_sha": None,
        "git_origin_url": None,
        "cli_version": "0.169.0",
        "model_provider": "mock",
        "created_at": exp["created_at"],
        "updated_at": st.st_mtime_ns // 1_000_000,
        "preview": exp["preview"],
        "archived": archived,
        "memory_mode_at_start": None,
        "memory_mode": "enabled",
        "file_size": exp["size"],
        "file_mtime_ns": st.st_mtime_ns,
        "file_inode": st.st_ino,
        "parsed_offset": exp["size"],
        "lines_parsed": exp["lines"],
        "lines_skipped": 0,
        "last_skip_reason": None,
        "has_session_meta": 1,
        "index_error": None,
    }


async def assert_good_rows(db: aiosqlite.Connection, paths: Iterable[Path]) -> None:
    """Every good fixture copy in the tree is indexed exactly right."""
    for p in paths:
        assert_fixture_row(await row_by_path(db, p), p)
