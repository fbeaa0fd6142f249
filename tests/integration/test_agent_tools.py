"""The consolidation agent's sandboxed file tools: every way out of the memory root is refused
(and nothing outside it changes), and the normal operations work, with private modes."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from support.trees import plant_deep_tree, remove_deep_tree

from memoryd.consolidate.tools import (
    MAX_CONTENT_BYTES,
    MAX_READ_BYTES,
    TOOL_DEFINITIONS,
    MemoryRootTools,
    ToolError,
    WriteLimits,
)
from memoryd.layout import DIFF_FILE

OUTSIDE_TOKEN = "outside-only-token-7d1f"


class World:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "memories"
        self.outside = tmp / "outside"
        self.root.mkdir()
        self.outside.mkdir()
        (self.outside / "secret.txt").write_text(f"{OUTSIDE_TOKEN}\n")
        (self.root / "MEMORY.md").write_text("# Task Group: app\n\n## Task 1: build\n- a\n")
        (self.root / "raw_memories.md").write_text("# Raw Memories\n\nNo raw memories yet.\n")
        (self.root / "rollout_summaries").mkdir()
        (self.root / "rollout_summaries" / "s1.md").write_text("thread_id: t1\n\nFixed CI.\n")
        (self.root / DIFF_FILE).write_text("# Memory Workspace Diff\n")
        git = self.root / ".git"
        git.mkdir()
        (git / "config").write_text("[core]\n\tbare = false\n")
        (git / "HEAD").write_text("ref: refs/heads/main\n")
        (self.root / "escape.md").symlink_to(self.outside / "secret.txt")
        (self.root / "outdir").symlink_to(self.outside, target_is_directory=True)
        (self.root / "relescape.md").symlink_to("../outside/secret.txt")
        (self.root / "gitlink").symlink_to(".git", target_is_directory=True)
        (self.root / "alias.md").symlink_to("MEMORY.md")
        self.tools = MemoryRootTools(self.root)
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        """Everything outside the memory root's agent area: the sibling directory, the root's
        .git and the diff file (paths, bytes, modes), plus the temp dir's top level."""
        out: dict[str, Any] = {"top": sorted(p.name for p in self.tmp.iterdir())}
        for base in (self.outside, self.root / ".git"):
            for p in sorted(base.rglob("*")):
                st = p.lstat()
                data = p.read_bytes() if p.is_file() else None
                out[str(p)] = (stat.S_IMODE(st.st_mode), data)
        out["diff"] = (self.root / DIFF_FILE).read_bytes()
        return out

    def unchanged(self) -> None:
        assert self.snapshot() == self.before


@pytest.fixture
def w(tmp_path: Path) -> World:
    return World(tmp_path)


def call(w: World, name: str, **args: Any) -> str:
    return w.tools.call(name, json.dumps(args))


# --- refusals --------------------------------------------------------------------------------

ESCAPES = [
    "../../etc/passwd",
    "../outside/secret.txt",
    "/etc/passwd",
    str(Path("/tmp") / "x.md"),
    "sub/../../x",
    "rollout_summaries/../../outside/secret.txt",
    "escape.md",
    "relescape.md",
    "outdir/secret.txt",
    "outdir/new.md",
    ".git/config",
    ".GIT/config",
    "./.git/HEAD",
    "gitlink/config",
    "a\0b.md",
]


@pytest.mark.parametrize("path", ESCAPES)
@pytest.mark.parametrize(
    ("tool", "extra"),
    [
        ("read_file", {}),
        ("write_file", {"content": "pwned\n"}),
        ("edit_file", {"old": "a", "new": "pwned"}),
        ("delete_file", {}),
    ],
)
def test_every_escape_is_refused_and_nothing_outside_changes(
    w: World, tool: str, extra: dict[str, Any], path: str
) -> None:
    out = call(w, tool, path=path, **extra)
    assert out.startswith("error: refused:"), out
    assert OUTSIDE_TOKEN not in out and "bare = false" not in out
    w.unchanged()
    assert w.tools.written == [] and w.tools.deleted == [] and w.tools.changes == 0
    assert not (w.tmp / "x").exists() and not Path("/tmp/x.md").exists()


@pytest.mark.parametrize("path", ["..", "../outside", "/", "/etc", "outdir", ".git", "gitlink"])
@pytest.mark.parametrize("tool", ["list_files", "search"])
def test_listing_and_searching_outside_is_refused(w: World, tool: str, path: str) -> None:
    args: dict[str, Any] = {"path": path}
    if tool == "search":
        args["pattern"] = "e"
    out = call(w, tool, **args)
    assert out.startswith("error: refused:"), out
    assert OUTSIDE_TOKEN not in out
    w.unchanged()


def test_the_methods_raise_tool_errors(w: World) -> None:
    with pytest.raises(ToolError, match="absolute"):
        w.tools.read_file("/etc/passwd")
    with pytest.raises(ToolError, match=r"'\.\.'"):
        w.tools.write_file("../x.md", "x")
    with pytest.raises(ToolError, match="outside the memory root"):
        w.tools.write_file("escape.md", "x")
    with pytest.raises(ToolError, match=r"\.git"):
        w.tools.delete_file(".git/HEAD")
    w.unchanged()


def test_diff_file_is_readable_but_read_only(w: World) -> None:
    assert call(w, "read_file", path=DIFF_FILE).startswith("# Memory Workspace Diff")
    for tool, extra in [
        ("write_file", {"content": "x"}),
        ("edit_file", {"old": "Memory", "new": "x"}),
        ("delete_file", {}),
    ]:
        out = call(w, tool, path=DIFF_FILE, **extra)
        assert out.startswith("error: refused:") and DIFF_FILE in out, out
    (w.root / "diff-alias.md").symlink_to(DIFF_FILE)
    assert call(w, "write_file", path="diff-alias.md", content="x").startswith("error: refused")
    w.unchanged()


def test_whole_tree_walks_stay_inside(w: World) -> None:
    listing = call(w, "list_files")
    assert "MEMORY.md" in listing and "rollout_summaries/s1.md" in listing
    assert ".git" not in listing and "secret.txt" not in listing
    assert "escape.md  (symlink)" in listing and "outdir  (symlink)" in listing
    assert call(w, "search", pattern=OUTSIDE_TOKEN).startswith("no matches")
    assert call(w, "search", pattern="bare").startswith("no matches")  # .git/config
    w.unchanged()


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        MemoryRootTools(tmp_path / "missing")


# --- normal operations -----------------------------------------------------------------------


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_write_creates_private_files_and_directories(w: World) -> None:
    out = call(w, "write_file", path="skills/deploy/SKILL.md", content="---\nname: deploy\n---\n")
    assert out == "wrote skills/deploy/SKILL.md (21 bytes)"
    skill = w.root / "skills" / "deploy" / "SKILL.md"
    assert skill.read_text() == "---\nname: deploy\n---\n"
    assert mode(skill) == 0o600
    assert mode(w.root / "skills") == 0o700 and mode(w.root / "skills" / "deploy") == 0o700
    assert w.tools.written == ["skills/deploy/SKILL.md"] and w.tools.changes == 1
    assert [p.name for p in skill.parent.iterdir()] == ["SKILL.md"]  # no temporary left
    w.unchanged()


def test_rewriting_an_existing_file_makes_it_private(w: World) -> None:
    target = w.root / "memory_summary.md"
    target.write_text("old\n")
    target.chmod(0o644)
    call(w, "write_file", path="memory_summary.md", content="v1\n## User Profile\n")
    assert target.read_text() == "v1\n## User Profile\n" and mode(target) == 0o600


def test_identical_write_changes_nothing(w: World) -> None:
    before = (w.root / "MEMORY.md").stat().st_mtime_ns
    out = call(w, "write_file", path="MEMORY.md", content=(w.root / "MEMORY.md").read_text())
    assert "nothing changed" in out
    assert w.tools.written == [] and w.tools.changes == 0
    assert (w.root / "MEMORY.md").stat().st_mtime_ns == before


def test_no_write_or_edit_goes_through_an_inner_symlink(w: World) -> None:
    """A planted link is never written through, even when it points inside the root: a file
    link, and a directory link at a middle component."""
    (w.root / "skills").mkdir()
    (w.root / "inner").symlink_to("skills", target_is_directory=True)
    before = (w.root / "MEMORY.md").read_bytes()
    for tool, extra, path in [
        ("write_file", {"content": "new\n"}, "alias.md"),
        ("edit_file", {"old": "- a", "new": "- b"}, "alias.md"),
        ("write_file", {"content": "new\n"}, "inner/x/SKILL.md"),
    ]:
        out = call(w, tool, path=path, **extra)
        assert out.startswith("error: refused:") and "symbolic link" in out, out
    assert (w.root / "alias.md").is_symlink()
    assert (w.root / "MEMORY.md").read_bytes() == before
    assert list((w.root / "skills").iterdir()) == []
    assert w.tools.written == [] and w.tools.changes == 0


def test_secrets_are_redacted_on_write_and_edit(w: World) -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
    out = call(w, "write_file", path="notes.md", content=f"key: {key}\n")
    assert "[REDACTED_SECRET]" in out
    assert key not in (w.root / "notes.md").read_text()
    out = call(w, "edit_file", path="MEMORY.md", old="- a\n", new=f"- token {key}\n")
    assert "[REDACTED_SECRET]" in out and key not in (w.root / "MEMORY.md").read_text()


def test_content_limits(w: World) -> None:
    assert "NUL" in call(w, "write_file", path="a.md", content="a\0b")
    big = "x" * (MAX_CONTENT_BYTES + 1)
    assert "at most" in call(w, "write_file", path="a.md", content=big)
    assert call(w, "write_file", path="a.md", content="x" * MAX_CONTENT_BYTES).startswith("wrote")
    assert "NUL" in call(w, "edit_file", path="MEMORY.md", old="- a", new="\0")
    assert not (w.root / "b.md").exists()


def test_write_refuses_directories_and_file_parents(w: World) -> None:
    assert "directory" in call(w, "write_file", path="rollout_summaries", content="x")
    assert "not a directory" in call(w, "write_file", path="MEMORY.md/x.md", content="x")
    assert "empty" in call(w, "write_file", path=".", content="x")
    (w.root / "here").symlink_to(".", target_is_directory=True)
    assert "memory root itself" in call(w, "write_file", path="here", content="x")
    assert "memory root itself" in call(w, "delete_file", path="here/")
    assert "empty" in call(w, "write_file", path="", content="x")


def test_edit_needs_one_exact_match(w: World) -> None:
    (w.root / "m.md").write_text("- a\n- a\n- b\n")
    assert "occurs 2 times" in call(w, "edit_file", path="m.md", old="- a", new="- c")
    assert "not found" in call(w, "edit_file", path="m.md", old="- z", new="- c")
    assert "same" in call(w, "edit_file", path="m.md", old="- b", new="- b")
    assert "empty" in call(w, "edit_file", path="m.md", old="", new="x")
    assert "does not exist" in call(w, "edit_file", path="nope.md", old="a", new="b")
    assert w.tools.changes == 0
    assert call(w, "edit_file", path="m.md", old="- a\n- b", new="- c") == "edited m.md (8 bytes)"
    assert (w.root / "m.md").read_text() == "- a\n- c\n" and mode(w.root / "m.md") == 0o600
    assert w.tools.written == ["m.md"]


def test_delete_prunes_empty_directories_and_tracks_paths(w: World) -> None:
    call(w, "write_file", path="skills/x/SKILL.md", content="s\n")
    call(w, "write_file", path="skills/x/scripts/run.py", content="print()\n")
    assert call(w, "delete_file", path="skills/x/scripts/run.py").startswith("deleted")
    assert not (w.root / "skills" / "x" / "scripts").exists()
    assert (w.root / "skills" / "x").is_dir()
    assert call(w, "delete_file", path="skills/x/SKILL.md") == "deleted skills/x/SKILL.md"
    assert not (w.root / "skills").exists() and w.root.is_dir()
    assert call(w, "delete_file", path="rollout_summaries/s1.md").startswith("deleted")
    assert w.tools.written == []
    assert w.tools.deleted == [
        "rollout_summaries/s1.md",
        "skills/x/SKILL.md",
        "skills/x/scripts/run.py",
    ]
    call(w, "write_file", path="rollout_summaries/s1.md", content="back\n")
    assert w.tools.written == ["rollout_summaries/s1.md"]
    assert "rollout_summaries/s1.md" not in w.tools.deleted
    assert "directory" in call(w, "delete_file", path="rollout_summaries")
    assert "does not exist" in call(w, "delete_file", path="gone.md")
    w.unchanged()


def test_delete_of_an_inner_symlink_removes_the_link(w: World) -> None:
    assert call(w, "delete_file", path="alias.md") == "deleted alias.md"
    assert not os.path.lexists(w.root / "alias.md")
    assert (w.root / "MEMORY.md").exists()
    assert w.tools.deleted == ["alias.md"]


def test_read_pages_and_caps(w: World) -> None:
    (w.root / "long.md").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    assert call(w, "read_file", path="long.md") == (w.root / "long.md").read_text()
    page = call(w, "read_file", path="long.md", offset=3, limit=2)
    assert page == "line 3\nline 4\n[read_file: lines 3-4 of 10 shown; continue with offset=5]"
    assert call(w, "read_file", path="long.md", offset=10, limit=None) == "line 10\n"
    assert "past the end" in call(w, "read_file", path="long.md", offset=11)
    assert "from 1" in call(w, "read_file", path="long.md", offset=0)
    huge = "y" * (MAX_READ_BYTES + 10) + "\nnext\n"
    (w.root / "huge.md").write_text(huge)
    out = call(w, "read_file", path="huge.md")
    assert out.startswith("y" * MAX_READ_BYTES)
    assert "line 1 was cut" in out and "offset=2" in out
    many = "".join("z" * 99 + "\n" for _ in range(1000))  # 100 KB in 100-byte lines
    (w.root / "many.md").write_text(many)
    out = call(w, "read_file", path="many.md")
    assert len(out.encode()) < MAX_READ_BYTES + 200 and "offset=656" in out
    (w.root / "empty.md").write_text("")
    assert "empty" in call(w, "read_file", path="empty.md")
    assert "list_files" in call(w, "read_file", path="rollout_summaries")
    assert "does not exist" in call(w, "read_file", path="nope.md")


def test_read_through_an_inner_symlink(w: World) -> None:
    assert call(w, "read_file", path="alias.md").startswith("# Task Group: app")


def test_search_plain_and_regex(w: World) -> None:
    (w.root / "rollout_summaries" / "s2.md").write_text("Fixed ci AGAIN\nnothing\n")
    out = call(w, "search", pattern="fixed CI")
    assert out.splitlines() == [
        "rollout_summaries/s1.md:3: Fixed CI.",
        "rollout_summaries/s2.md:1: Fixed ci AGAIN",
    ]
    assert call(w, "search", pattern=r"^fixed ci\.$", regex=True) == (
        "rollout_summaries/s1.md:3: Fixed CI."
    )
    assert call(w, "search", pattern="## Task", path="MEMORY.md") == "MEMORY.md:3: ## Task 1: build"
    assert call(w, "search", pattern="fixed", path="rollout_summaries/s2.md").startswith(
        "rollout_summaries/s2.md:1:"
    )
    assert "invalid regex" in call(w, "search", pattern="(", regex=True)
    assert "empty" in call(w, "search", pattern="")
    (w.root / "lots.md").write_text("hit\n" * 250)
    out = call(w, "search", pattern="hit", path="lots.md")
    assert out.count("\n") == 100 and "100 of 250" in out
    (w.root / "bin.md").write_bytes(b"hit\0\n")
    assert "bin.md" not in call(w, "search", pattern="hit")


def test_list_files_details(w: World) -> None:
    (w.root / "emptydir").mkdir()
    out = call(w, "list_files", path="rollout_summaries")
    assert out == "rollout_summaries/s1.md  (25 bytes)"
    assert "emptydir/  (empty directory)" in call(w, "list_files", path=None)
    assert call(w, "list_files", path="MEMORY.md").startswith("MEMORY.md  (")
    assert "does not exist" in call(w, "list_files", path="nope")


# --- dispatch and definitions ----------------------------------------------------------------


def test_dispatch_errors_are_strings(w: World) -> None:
    assert w.tools.call("shell", "{}").startswith("error: there is no tool named 'shell'")
    assert w.tools.call("read_file", "{not json").startswith("error: the arguments are not valid")
    assert w.tools.call("read_file", "[1]") == "error: the arguments must be a JSON object"
    assert "must be a string" in w.tools.call("read_file", json.dumps({"path": 3}))
    assert "is required" in w.tools.call("write_file", json.dumps({"path": "a.md"}))
    assert "integer" in w.tools.call("read_file", json.dumps({"path": "MEMORY.md", "offset": "1"}))
    assert "true, false" in call(w, "search", pattern="a", regex="yes")


def test_tool_definitions_are_strict_function_tools() -> None:
    names = [t["name"] for t in TOOL_DEFINITIONS]
    assert names == [
        "list_files",
        "read_file",
        "search",
        "write_file",
        "edit_file",
        "delete_file",
    ]
    for t in TOOL_DEFINITIONS:
        assert t["type"] == "function" and t["strict"] is True and t["description"]
        params = t["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert sorted(params["required"]) == sorted(params["properties"])
    json.dumps(TOOL_DEFINITIONS)  # serialisable as the request's "tools"


def test_arguments_that_do_not_fit_the_schema_get_a_clear_error(w: World) -> None:
    # Decoded against the tool's argument struct: the model is told which argument is wrong
    # and what it must be, in the schema's words, and nothing runs.
    assert w.tools.call("read_file", json.dumps({"path": 3})) == (
        "error: argument 'path' is required and must be a string"
    )
    assert w.tools.call("edit_file", json.dumps({"path": "MEMORY.md", "old": "a"})) == (
        "error: argument 'new' is required and must be a string"
    )
    assert w.tools.call("read_file", json.dumps({"path": "MEMORY.md", "limit": 2.5})) == (
        "error: argument 'limit' must be an integer or null"
    )
    assert w.tools.call("read_file", json.dumps({"path": "MEMORY.md", "offset": True})) == (
        "error: argument 'offset' must be an integer or null"
    )
    assert w.tools.call("list_files", json.dumps({"path": ["a"]})) == (
        "error: argument 'path' must be a string or null"
    )
    assert w.tools.call("search", json.dumps({"pattern": "a", "regex": "yes"})) == (
        "error: argument 'regex' must be true, false or null"
    )
    assert w.tools.call("delete_file", "null") == "error: the arguments must be a JSON object"
    torn = w.tools.call("write_file", '{"path": "a.md", "content": "x"')
    assert torn.startswith("error: the arguments are not valid JSON (") and "truncated" in torn
    w.unchanged()


def test_optional_arguments_may_be_left_out_and_unknown_ones_are_ignored(w: World) -> None:
    # A lax (non-strict) server omits nulls or adds keys: the call still runs.
    assert "MEMORY.md" in w.tools.call("list_files", "")
    assert w.tools.call("read_file", json.dumps({"path": "MEMORY.md", "extra": 1})) == (
        w.tools.read_file("MEMORY.md")
    )
    assert w.tools.call("search", json.dumps({"pattern": "# "})).startswith("MEMORY.md:1:")


def test_tool_schemas_come_from_the_argument_structs() -> None:
    from msgspec.structs import fields

    from memoryd.consolidate.tools import TOOL_ARGS

    assert [t["name"] for t in TOOL_DEFINITIONS] == list(TOOL_ARGS)
    for t in TOOL_DEFINITIONS:
        args = TOOL_ARGS[t["name"]]
        assert t["description"] == args.description
        props = t["parameters"]["properties"]
        assert list(props) == [f.name for f in fields(args)]
        for f in fields(args):
            # An argument with a default is optional: nullable in the strict schema.
            nullable = isinstance(props[f.name]["type"], list)
            assert nullable == (f.default is None), (t["name"], f.name)
            # Strict function tools accept only this subset: no title, default, anyOf or $ref.
            assert set(props[f.name]) == {"type", "description"} and props[f.name]["description"]


def test_written_ids_name_the_blob_each_write_left(tmp_path: Path) -> None:
    from memoryd.consolidate.tools import MemoryRootTools
    from memoryd.workspace.baseline import blob_id

    tools = MemoryRootTools(tmp_path)
    tools.write_file("MEMORY.md", "# one\n")
    tools.write_file("MEMORY.md", "# two\n")
    tools.write_file("skills/x/SKILL.md", "do x\n")
    tools.delete_file("skills/x/SKILL.md")
    assert tools.written_ids == {"MEMORY.md": blob_id(b"# two\n")}
    assert blob_id((tmp_path / "MEMORY.md").read_bytes()) == tools.written_ids["MEMORY.md"]


def test_the_baseline_staging_dirs_are_as_off_limits_as_git(tmp_path: Path) -> None:
    from memoryd.consolidate.tools import MemoryRootTools, ToolError

    (tmp_path / ".git.memoryd-new").mkdir()
    tools = MemoryRootTools(tmp_path)
    for call in (
        lambda: tools.write_file(".git.memoryd-new/HEAD", "x"),
        lambda: tools.read_file(".git.memoryd-old/config"),
    ):
        with pytest.raises(ToolError):
            call()
    assert list((tmp_path / ".git.memoryd-new").iterdir()) == []


# --- write bounds ----------------------------------------------------------------------------


def test_paths_past_the_depth_and_length_bounds_are_refused(tmp_path: Path) -> None:
    tools = MemoryRootTools(tmp_path, WriteLimits(path_depth=4, path_chars=40))
    deep = "/".join(["d"] * 5) + "/f.md"
    out = tools.call("write_file", json.dumps({"path": deep, "content": "x"}))
    assert out == (
        f"error: refused: {deep!r} is 6 levels deep; memory files stay within 4 levels of the root"
    )
    long = "n" * 41
    out = tools.call("write_file", json.dumps({"path": long, "content": "x"}))
    assert out == "error: refused: the path is 41 characters long; at most 40 are allowed"
    assert list(tmp_path.iterdir()) == [] and tools.limit_hit is None
    ok = "/".join(["d"] * 3) + "/f.md"
    assert tools.call("write_file", json.dumps({"path": ok, "content": "x"})).startswith("wrote")


def test_the_run_bounds_refuse_and_mark_the_run_stopped(tmp_path: Path) -> None:
    tools = MemoryRootTools(tmp_path, WriteLimits(files_created=3, bytes_written=10_000))
    for i in range(3):
        assert tools.call(
            "write_file", json.dumps({"path": f"f{i}.md", "content": "x"})
        ).startswith("wrote")
    out = tools.call("write_file", json.dumps({"path": "f3.md", "content": "x"}))
    assert out == (
        "error: refused: this run already created 3 files, the most it may; the run stops here "
        "(write_limit)"
    )
    assert tools.limit_hit is not None and not (tmp_path / "f3.md").exists()
    # Rewriting an existing file creates nothing, but its bytes count.
    assert tools.call(
        "write_file", json.dumps({"path": "f0.md", "content": "y" * 9000})
    ).startswith("wrote")
    out = tools.call("write_file", json.dumps({"path": "f1.md", "content": "z" * 2000}))
    assert "would pass the run's limit of 10000" in out
    assert (tmp_path / "f1.md").read_text() == "x"
    assert tools.bytes_written == 3 + 9000


def test_the_per_file_bound_comes_from_the_limits(tmp_path: Path) -> None:
    tools = MemoryRootTools(tmp_path, WriteLimits(file_bytes=5000))
    out = tools.call("write_file", json.dumps({"path": "a.md", "content": "x" * 5001}))
    assert "at most 5000 bytes" in out and not (tmp_path / "a.md").exists()
    assert tools.limit_hit is None  # a per-file refusal lets the model try again


def test_walks_survive_a_tree_deeper_than_the_recursion_limit(tmp_path: Path) -> None:
    """A user (or an old agent) planted thousands of nested folders: listing and searching
    still answer (Python 3.11's os.walk raised RecursionError)."""
    plant_deep_tree(tmp_path, sys.getrecursionlimit() + 100)
    try:
        tools = MemoryRootTools(tmp_path)
        assert "leaf.md" in tools.call("list_files", "{}")
        args = {"pattern": "needle", "path": None, "regex": None}
        assert "needle" in tools.call("search", json.dumps(args))
    finally:
        remove_deep_tree(tmp_path)
