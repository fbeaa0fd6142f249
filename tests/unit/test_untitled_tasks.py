"""A task whose request names nothing (its only words were values of one run, which a title
never shows) is titled by what it did, not "(untitled task)": the files it edited, else its
first command's program, else where and when its session ran; in the offline extractor's
output and, for an input without any title, in the consolidated MEMORY.md groups."""

from __future__ import annotations

from typing import Any

import msgspec
from support.items import assistant, extract, patch, patch_ok, request, result, run, user

from memoryd.consolidate.offline.model import build_groups
from memoryd.consolidate.offline.sources import Source, TaskIn
from memoryd.extract.base import Stage1Output

ROLLOUT = "/home/u/.codex/sessions/2026/11/22/rollout-2026-11-22T03-12-03-01a2013d.jsonl"


async def _titled(items: list[dict[str, Any]]) -> tuple[str, Stage1Output]:
    req = msgspec.structs.replace(request(items), rollout_path=ROLLOUT)
    out = await extract(req)
    assert out == await extract(req)  # deterministic
    assert "untitled" not in out.raw_memory + out.rollout_summary
    (line,) = [ln for ln in out.raw_memory.splitlines() if ln.startswith("### Task 1: ")]
    title = line.removeprefix("### Task 1: ")
    assert f"## Task 1: {title}" in out.rollout_summary
    return title, out


async def test_a_task_that_edited_files_is_titled_by_them() -> None:
    title, _ = await _titled(
        [
            user("/tmp/tmp.k3J9x/out.log"),
            patch("p1", "src/app.py", "src/db.py", "README.md"),
            patch_ok("p1"),
            run("c1", "pytest -q"),
            result("c1", 0, "3 passed\n"),
            assistant("Done."),
        ]
    )
    assert title == "Edit src/app.py, src/db.py and 1 more"


async def test_a_task_that_only_ran_commands_is_titled_by_its_first_program() -> None:
    title, _ = await _titled(
        [
            user("48213"),
            run("c1", "cd src && ls -la"),  # a helper, no program of its own
            result("c1", 0, "app.py\n"),
            run("c2", "uv run pytest -q tests/test_api.py"),
            result("c2", 0, "3 passed\n"),
            run("c3", "cargo build"),
            result("c3", 0, ""),
            assistant("All green."),
        ]
    )
    assert title == "Run pytest"


async def test_a_task_that_did_nothing_is_titled_by_its_sessions_project_and_day() -> None:
    title, out = await _titled([user("48213 /tmp/x"), assistant("Which process do you mean?")])
    assert title == "Session in proj on 2026-11-22"
    assert out.rollout_slug  # a file name still results


async def test_a_request_that_names_something_keeps_its_own_title() -> None:
    title, _ = await _titled(
        [user("Fix the login test"), patch("p1", "src/app.py"), patch_ok("p1")]
    )
    assert title == "Fix the login test"


def _source(task: TaskIn, updated_at: str = "2026-11-20T09:00:00Z") -> Source:
    return Source(
        thread_id="t-1",
        summary_file="t-1.md",
        cwd="/home/u/shop-api",
        rollout_path="/home/u/.codex/sessions/2026/11/20/rollout-2026-11-20T09-00-00-t-1.jsonl",
        updated_at=updated_at,
        git_branch="main",
        keywords=[],
        tasks=[task],
        fingerprint="f",
    )


def test_an_input_without_any_title_groups_under_its_session_not_untitled() -> None:
    """Another backend's raw memory (or an old one) may carry no title, prompt or task field:
    MEMORY.md names the session instead, from the input's day or its rollout file's name."""
    (group,) = build_groups([_source(TaskIn(knowledge=["The API listens on port 8080."]))])
    assert [t.title for t in group.tasks] == ["Session in shop-api on 2026-11-20"]
    (group,) = build_groups([_source(TaskIn(knowledge=["x"]), updated_at="")])
    assert [t.title for t in group.tasks] == ["Session in shop-api on 2026-11-20"]
    (group,) = build_groups([_source(TaskIn(title="Add the health check"))])
    assert [t.title for t in group.tasks] == ["Add the health check"]
