"""The offline consolidation agent on real memory folders.

Inputs come from the real pipeline: the bundled Codex rollouts (plus, for the cross-session
cases, a copy of one of them as another session in another project) indexed and extracted by
``run_once`` with the offline backend, which leaves ``raw_memories.md`` and
``rollout_summaries/`` in the memory root exactly as phase 2 does before calling the agent.
Workspace diffs are produced with git (pygit2) the way phase 2 writes them.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pygit2
import pytest
from support.clocks import ms, pinned_clock

from memoryd import clock
from memoryd.config import Config, Settings, resolve_paths
from memoryd.consolidate.base import (
    AgentError,
    ConsolidationAgent,
    ConsolidationInput,
    ConsolidationResult,
)
from memoryd.consolidate.offline import (
    NOTES_END,
    SUMMARY_BUDGET,
    OfflineConsolidator,
    consolidate_root,
    parse_memory_text,
    parse_workspace_diff,
    preference_parts,
    reverse_apply,
    view_memory,
    view_summary,
)
from memoryd.consolidate.offline.ledger import Hide
from memoryd.daemon.runonce import run_once
from memoryd.demo import IDLE_BACKDATE_SECONDS, example_rollouts, install_examples
from memoryd.layout import DIFF_FILE, MEMORY_FILE, SUMMARY_FILE
from memoryd.redact import REDACTED
from memoryd.workspace.diff import FileChange, WorkspaceDiff

ALPHA_ID = "01a2013d-497f-71f0-81b9-4c6d2314a10b"
BETA_ID = "01a2013d-497f-71f0-81b9-4c6d2314b0b0"
TOOLS_ID = "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0"
COMPACT_ID = "01a2013e-ff1a-7c20-8973-b369527e3057"
SIG = pygit2.Signature("memoryd test", "test@example.invalid", 0, 0)


# --------------------------------------------------------------------------------------------
# Building real folders


# The instant the pipeline runs at: the demo dates its rollouts IDLE_BACKDATE_SECONDS before
# "now", and what the memory files say of those dates must not depend on the day the test runs.
PIPELINE_NOW = "2026-12-01T12:00:00+00:00"


def _pipeline(base: Path, *, with_beta: bool) -> Path:
    with pinned_clock(ms(PIPELINE_NOW)):
        return _run_pipeline(base, with_beta=with_beta)


def _run_pipeline(base: Path, *, with_beta: bool) -> Path:
    env = {
        "HOME": str(base),
        "CODEX_HOME": str(base / "codex"),
        "MEMORYD_STATE_DIR": str(base / "state"),
        "MEMORYD_SOCKET": str(base / "state" / "memoryd.sock"),
    }
    cfg = Config()
    settings = Settings(config=cfg, source="<test>", paths=resolve_paths(cfg, env))
    sessions = settings.paths.sessions_dirs[0]
    install_examples(sessions)
    if with_beta:
        # The proj-alpha session again, as another thread in another project: the same
        # "I prefer uv over pip" stated in two sessions.
        name, data = next(e for e in example_rollouts() if ALPHA_ID in e[0])
        data = data.replace(ALPHA_ID.encode(), BETA_ID.encode())
        data = data.replace(b"proj-alpha", b"proj-beta")
        data = data.replace(b'"source":"exec"', b'"source":"cli"', 1)
        path = sessions / "2026" / "11" / "22" / name.replace(ALPHA_ID, BETA_ID)
        path.write_bytes(data)
        t = clock.now_ms() / 1000 - IDLE_BACKDATE_SECONDS
        os.utime(path, (t, t))
    anyio.run(functools.partial(run_once, settings, progress=False))
    root = settings.paths.memory_root
    # Start from the phase-2 inputs only, whatever else a pass may have left.
    for name in (MEMORY_FILE, SUMMARY_FILE, DIFF_FILE):
        (root / name).unlink(missing_ok=True)
    shutil.rmtree(root / ".git", ignore_errors=True)
    assert (root / "raw_memories.md").is_file()
    return root


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pipeline(tmp_path_factory.mktemp("demo"), with_beta=False)


@pytest.fixture(scope="module")
def beta_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pipeline(tmp_path_factory.mktemp("beta"), with_beta=True)


@pytest.fixture
def root(demo_inputs: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "memories"
    shutil.copytree(demo_inputs, dst, symlinks=True)
    return dst


@pytest.fixture
def beta_root(beta_inputs: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "memories"
    shutil.copytree(beta_inputs, dst, symlinks=True)
    return dst


async def run(root: Path, diff: bool = False) -> ConsolidationResult:
    agent: ConsolidationAgent = OfflineConsolidator()
    mode = "incremental" if (root / MEMORY_FILE).exists() else "init"
    return await agent.consolidate(
        ConsolidationInput(
            root=str(root),
            mode=mode,
            diff_file=DIFF_FILE if diff and (root / DIFF_FILE).exists() else None,
        )
    )


def memory(root: Path) -> str:
    return (root / MEMORY_FILE).read_text()


def summary(root: Path) -> str:
    return (root / SUMMARY_FILE).read_text()


def section(text: str, heading: str) -> str:
    """The body of a ``## `` section (up to the next ``## ``/``# `` heading)."""
    lines = text.split("\n")
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if re.match(r"^#{1,2} ", lines[i])), len(lines))
    return "\n".join(lines[start:end])


def group_block(text: str, title: str) -> str:
    lines = text.split("\n")
    start = lines.index(f"# Task Group: {title}")
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("# ") or lines[i].startswith("<!-- memoryd:state")
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def notes_region(text: str) -> list[str]:
    lines = text.split("\n")
    begin = next(i for i, ln in enumerate(lines) if ln.startswith("<!-- memoryd:user-notes-begin"))
    end = lines.index(NOTES_END)
    return lines[begin + 1 : end]


# The workspace as phase 2 keeps it: a git baseline, reset after each successful run, and the
# diff file written before the agent runs.


def rebaseline(root: Path) -> None:
    (root / DIFF_FILE).unlink(missing_ok=True)
    shutil.rmtree(root / ".git", ignore_errors=True)
    repo = pygit2.init_repository(str(root))
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    repo.create_commit("HEAD", SIG, SIG, "baseline", tree, [])


def write_diff(root: Path) -> str:
    (root / DIFF_FILE).unlink(missing_ok=True)
    repo = pygit2.Repository(str(root))
    repo.index.read()
    repo.index.add_all()
    head = repo.head.peel(pygit2.Tree)
    diff = head.diff_to_index(repo.index)
    status = []
    for patch in diff:
        d = patch.delta
        letter = {
            pygit2.enums.DeltaStatus.ADDED: "A",
            pygit2.enums.DeltaStatus.DELETED: "D",
        }.get(d.status, "M")
        status.append(f"- {letter} {d.new_file.path if letter != 'D' else d.old_file.path}")
    text = (
        "# Memory Workspace Diff\n\nGenerated by memoryd before phase-2 consolidation. "
        "Read this file first and do not edit it.\n\n## Status\n"
        + ("\n".join(status) if status else "- none")
        + "\n\n## Diff\n\n```diff\n"
        + (diff.patch or "")
        + "```\n"
    )
    (root / DIFF_FILE).write_text(text)
    return text


def drop_thread(root: Path, thread_id: str) -> None:
    """What phase 2's sync does when a thread is no longer selected: its summary file goes
    and its raw_memories.md section too."""
    for f in (root / "rollout_summaries").glob("*.md"):
        if f"thread_id: {thread_id}\n" in f.read_text():
            f.unlink()
    raw = (root / "raw_memories.md").read_text()
    parts = re.split(r"(?m)^(?=## Thread `)", raw)
    kept = [p for p in parts if not p.startswith(f"## Thread `{thread_id}`")]
    (root / "raw_memories.md").write_text("".join(kept))


@pytest.fixture(autouse=True)
def _no_git_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    yield


# --------------------------------------------------------------------------------------------
# Content


async def test_consolidates_the_demo_folder(root: Path) -> None:
    result = await run(root)
    assert result.backend == "offline" and result.model == "offline-v1"
    assert result.turns == 1
    assert result.usage.input_tokens == 0 and result.usage.output_tokens == 0
    assert result.written == [MEMORY_FILE, SUMMARY_FILE]
    assert result.deleted == []
    for name in result.written:
        data = (root / name).read_bytes()
        assert result.written_ids[name] == str(pygit2.hash(data))
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o600

    mem = memory(root)
    summaries = sorted(p.name for p in (root / "rollout_summaries").glob("*.md"))
    assert len(summaries) == 3
    for title, needle, outcome in (
        ("proj-alpha", "explain_run_pytest_suite_repo", "uncertain"),
        ("proj-tools", "tool_ls_la_cat_readme_md_show", "success"),
        ("proj-compact", "usage_250000_load_giant_log_file", "success"),
    ):
        block = group_block(mem, title)
        assert "\nscope: " in block
        assert "\napplies_to: cwd=/home/dev/code/" in block
        stem = next(s for s in summaries if needle in s)
        assert f"- rollout_summaries/{stem} (cwd=" in block
        assert "### rollout_summary_files" in block and "### keywords" in block
        assert f"outcome={outcome}" in block
    alpha = group_block(mem, "proj-alpha")
    assert (
        "## Task 1: Explain how to run the pytest suite in this repo (outcome: uncertain)" in alpha
    )
    assert f"thread_id={ALPHA_ID}" in alpha
    assert "updated_at=2026-" in alpha and "rollout_path=" in alpha
    assert "- proj-alpha: testing, uv, pip" in alpha
    # Each bullet names its project: grepping for the project finds the facts.
    assert (
        '- proj-alpha: the user said "I prefer uv over pip." -> in similar future tasks, use uv '
        "rather than pip [Task 1]" in section(alpha, "## User preferences")
    )
    tools = group_block(mem, "proj-tools")
    assert "- proj-tools: the user said " in section(tools, "## User preferences")
    assert "use ripgrep rather than grep [Task 1]" in section(tools, "## User preferences")
    compact = group_block(mem, "proj-compact")
    # One session, two tasks, in the order the user asked them.
    assert compact.index("## Task 1: [[usage:250000]] Load the giant log file") < compact.index(
        "## Task 2: Continue after the big log"
    )
    assert "**" not in mem

    text = summary(root)
    assert text.split("\n")[0] == "v1"
    assert len(text.encode()) < 5_000 and len(text.encode()) <= SUMMARY_BUDGET
    order = [
        text.index(h)
        for h in (
            "## User Profile",
            "## User preferences",
            "## General Tips",
            "## What's in Memory",
        )
    ]
    assert order == sorted(order)
    assert "## User notes" not in text  # only when there are notes
    # A rule stated in one project is in that project's digest, once, naming the project.
    index = text.split("## What's in Memory", 1)[1]
    assert text.count("uv rather than pip") == 1 and text.count("ripgrep rather than grep") == 1
    # The user's words are not repeated when the rule already says all of them.
    assert "- proj-alpha: use uv rather than pip\n" in index
    assert "- proj-tools: use ripgrep rather than grep\n" in index
    for project in ("proj-alpha", "proj-tools", "proj-compact"):
        assert f"### {project}: how to work here (cwd=/home/dev/code/" in index
        # a pointer line only for a project with no line of its own: the grep tip says
        # where each project's group is
        digest = index.split(f"### {project}: how to work here", 1)[1].split("\n### ", 1)[0]
        own = [ln for ln in digest.splitlines() if ln.startswith(f"- {project}: ")]
        pointer = f"- {project}: more in MEMORY.md under `# Task Group: {project}`"
        assert own and (len(own) == 1 or not any(ln.startswith(pointer) for ln in own)), own
    for line in index.strip().splitlines():
        assert line.startswith(("### ", "- proj-")) or not line.strip(), line
    profile = section(text, "## User Profile")
    assert "3 Codex sessions" in profile and "proj-alpha" in profile


async def test_the_read_path_recipe_works(beta_root: Path) -> None:
    """Each project digest in the summary names the project whose task group in MEMORY.md
    (`# Task Group: <project>`, as the grep tip says) has tasks that name rollout summary files
    that exist; every word the grep tip names hits MEMORY.md."""
    await run(beta_root)
    mem = memory(beta_root)
    text = summary(beta_root)
    assert "`# Task Group: <project>` lists its tasks" in section(text, "## General Tips")
    digests = re.findall(r"(?m)^### (\S+): how to work here \(cwd=", text)
    pointers = [(p, p) for p in digests]
    assert sorted(p for p, _ in pointers) == [
        "proj-alpha",
        "proj-beta",
        "proj-compact",
        "proj-tools",
    ]
    for project, title in pointers:
        assert project == title
        block = group_block(mem, title)
        refs = re.findall(r"rollout_summaries/(\S+\.md)", block)
        assert refs and all((beta_root / "rollout_summaries" / r).is_file() for r in refs)
    tip = section(text, "## General Tips")
    assert "Grep MEMORY.md for a project" in tip
    # the projects to grep for are those the profile names; the tools the tip names hit too
    profile = section(text, "## User Profile")
    words = re.search(r"for a project or a tool \((.+?)\)", tip)
    for project, _ in pointers:
        assert project in profile and f"\n# Task Group: {project}\n" in mem, project
    for word in words.group(1).split(", ") if words else []:
        assert re.search(rf"(?m)^- .*{re.escape(word)}", mem), word


async def test_a_preference_stated_in_two_projects_becomes_one_general_rule(
    beta_root: Path,
) -> None:
    await run(beta_root)
    text = summary(beta_root)
    assert text.count("uv rather than pip") == 1
    prefs = section(text, "## User preferences")
    line = next(ln for ln in prefs.split("\n") if "uv rather than pip" in ln)
    assert line == "- use uv rather than pip (stated in proj-alpha, proj-beta)"
    # In MEMORY.md too: one general entry, not two project-tagged ones.
    mem = memory(beta_root)
    assert mem.count("uv rather than pip") == 1
    general = mem.split("# General rules (for every project)", 1)[1]
    assert "use uv rather than pip" in general.split("<!--")[0]
    assert "(stated in proj-alpha, proj-beta; 2 sessions)" in general
    assert "uv rather than pip" not in group_block(mem, "proj-alpha")


# --------------------------------------------------------------------------------------------
# Deletions honoured


async def test_removed_input_disappears(beta_root: Path) -> None:
    await run(beta_root)
    assert "proj-tools" in memory(beta_root)
    drop_thread(beta_root, TOOLS_ID)
    drop_thread(beta_root, BETA_ID)
    result = await run(beta_root)
    assert result.written == [MEMORY_FILE, SUMMARY_FILE]
    mem, text = memory(beta_root), summary(beta_root)
    for gone in ("proj-tools", "ripgrep", TOOLS_ID, "proj-beta", BETA_ID):
        assert gone not in mem and gone not in text, gone
    # Still supported by the proj-alpha session: kept, now as proj-alpha's own rule.
    line = next(ln for ln in text.split("\n") if "uv rather than pip" in ln)
    assert line.startswith("- proj-alpha: use uv rather than pip")
    assert "# General rules" not in mem
    assert "# Task Group: proj-compact" in mem


async def test_everything_removed_leaves_valid_empty_files(root: Path) -> None:
    await run(root)
    for tid in (ALPHA_ID, TOOLS_ID, COMPACT_ID):
        drop_thread(root, tid)
    await run(root)
    mem, text = memory(root), summary(root)
    assert "# Memory is empty" in mem and "# Task Group:" not in mem
    assert text.startswith("v1\n\n## User Profile\n")
    assert "memory is empty" in text.lower()
    for h in ("## User preferences", "## General Tips", "## What's in Memory"):
        assert h in text


async def test_empty_root(tmp_path: Path) -> None:
    result = await run(tmp_path)
    assert result.written == [MEMORY_FILE, SUMMARY_FILE]
    assert summary(tmp_path).split("\n")[0] == "v1"
    assert "# Memory is empty" in memory(tmp_path)
    (tmp_path / "raw_memories.md").write_text("# Raw Memories\n\nNo raw memories yet.\n")
    assert (await run(tmp_path)).written == []


# --------------------------------------------------------------------------------------------
# User edits


async def test_lines_the_user_adds_are_kept(root: Path) -> None:
    await run(root)
    rebaseline(root)
    mem = memory(root)
    with (root / MEMORY_FILE).open("a") as f:  # appended after everything
        f.write("remember: the staging db is read-only on Fridays\n")
    mem = memory(root).replace(
        "### keywords\n\n- proj-alpha: testing, uv, pip\n",
        "### keywords\n\n- proj-alpha: testing, uv, pip\n- also: run `make lint` first\n",
    )
    (root / MEMORY_FILE).write_text(mem)
    text = summary(root).replace(
        "## General Tips\n\n", "## General Tips\n\n- Answer in British English.\n"
    )
    (root / SUMMARY_FILE).write_text(text)
    write_diff(root)

    await run(root, diff=True)
    notes = notes_region(memory(root))
    assert "remember: the staging db is read-only on Fridays" in notes
    assert "- also: run `make lint` first" in notes
    heading = notes[notes.index("- also: run `make lint` first") - 2]
    assert heading.startswith("## Added under: # Task Group: proj-alpha > ## Task 1:")
    assert heading.endswith("> ### keywords")
    # Moved, not duplicated.
    assert memory(root).count("run `make lint` first") == 1
    assert memory(root).count("read-only on Fridays") == 1
    user_notes = section(summary(root), "## User notes")
    assert "- Answer in British English." in user_notes
    assert summary(root).count("British English") == 1
    assert section(summary(root), "## General Tips").count("British") == 0

    # Next runs: kept verbatim, whether or not the diff mentions them again.
    rebaseline(root)
    drop_thread(root, COMPACT_ID)
    write_diff(root)
    await run(root, diff=True)
    assert "remember: the staging db is read-only on Fridays" in notes_region(memory(root))
    assert "- Answer in British English." in section(summary(root), "## User notes")
    assert "proj-compact" not in memory(root)


async def test_lines_inside_the_notes_region_are_carried_verbatim(root: Path) -> None:
    await run(root)
    rebaseline(root)
    mine = ["# Task Group: not a real group", "", "* my *own* markdown", "```", "code", "```"]
    mem = memory(root).replace(NOTES_END, "\n".join(mine) + "\n" + NOTES_END)
    (root / MEMORY_FILE).write_text(mem)
    write_diff(root)
    result = await run(root, diff=True)
    assert notes_region(memory(root)) == mine
    assert "not a real group" not in summary(root)
    # The notes are not part of what memoryd wrote: the file is left exactly as the user saved it.
    assert result.written == []


async def test_a_deleted_line_stays_deleted_while_its_input_is_unchanged(root: Path) -> None:
    await run(root)
    rebaseline(root)
    mem = memory(root)
    pref = next(ln for ln in mem.split("\n") if "use ripgrep rather than grep [Task 1]" in ln)
    (root / MEMORY_FILE).write_text(mem.replace(pref + "\n", ""))
    write_diff(root)
    await run(root, diff=True)
    mem = memory(root)
    assert "ripgrep rather than grep" not in mem
    assert "ripgrep rather than grep" not in summary(root)  # the summary follows MEMORY.md
    assert "# Task Group: proj-tools" in mem  # only that line went
    assert re.search(r"(?m)^hide M:[0-9a-f]{16} [0-9a-f]{12} [0-9a-f]{16}$", mem)
    assert not [ln for ln in notes_region(mem) if ln.strip()]

    # Another input changes: a rebuild, and the hidden line stays hidden.
    rebaseline(root)
    drop_thread(root, COMPACT_ID)
    write_diff(root)
    await run(root, diff=True)
    assert "ripgrep rather than grep" not in memory(root)
    assert "proj-compact" not in memory(root)

    # The input behind it changes (re-extracted): the preference comes back.
    rebaseline(root)
    f = next(p for p in (root / "rollout_summaries").glob("*.md") if "tool_ls" in p.name)
    f.write_text(f.read_text() + "\nRe-extracted.\n")
    write_diff(root)
    await run(root, diff=True)
    assert "use ripgrep rather than grep [Task 1]" in memory(root)
    assert not re.search(r"(?m)^hide ", memory(root))


async def test_deleting_a_task_group_hides_it_everywhere(root: Path) -> None:
    await run(root)
    rebaseline(root)
    mem = memory(root)
    block = group_block(mem, "proj-compact")
    (root / MEMORY_FILE).write_text(mem.replace(block, ""))
    write_diff(root)
    await run(root, diff=True)
    mem, text = memory(root), summary(root)
    assert "proj-compact" not in mem
    assert "proj-compact" not in text
    assert "# Task Group: proj-alpha" in mem
    # A second run without edits keeps it hidden and changes nothing.
    rebaseline(root)
    write_diff(root)
    assert (await run(root, diff=True)).written == []


async def test_re_adding_a_hidden_line_brings_it_back(root: Path) -> None:
    await run(root)
    rebaseline(root)
    mem = memory(root)
    pref = next(ln for ln in mem.split("\n") if "use uv rather than pip [Task 1]" in ln)
    (root / MEMORY_FILE).write_text(mem.replace(pref + "\n", ""))
    write_diff(root)
    await run(root, diff=True)
    assert pref not in memory(root)
    rebaseline(root)
    hidden = memory(root)
    # The block lost its only preference, so its section went too: the user puts both back.
    assert "## User preferences" not in group_block(hidden, "proj-alpha")
    (root / MEMORY_FILE).write_text(
        hidden.replace(
            "- proj-alpha: testing, uv, pip\n",
            "- proj-alpha: testing, uv, pip\n\n## User preferences\n\n" + pref + "\n",
        )
    )
    write_diff(root)
    await run(root, diff=True)
    mem = memory(root)
    assert pref in section(group_block(mem, "proj-alpha"), "## User preferences")
    assert pref not in "\n".join(notes_region(mem))
    assert not re.search(r"(?m)^hide ", mem)


async def test_deleting_a_summary_line_hides_it_there(root: Path) -> None:
    await run(root)
    rebaseline(root)
    text = summary(root)
    line = next(ln for ln in text.split("\n") if ln.startswith("- proj-tools: use ripgrep"))
    (root / SUMMARY_FILE).write_text(text.replace(line + "\n", ""))
    write_diff(root)
    await run(root, diff=True)
    assert line not in summary(root)
    assert "use ripgrep rather than grep" in memory(root)  # hidden in the summary only
    assert re.search(r"(?m)^hide S:", memory(root))


async def test_moving_a_line_within_its_section_is_not_an_edit(beta_root: Path) -> None:
    await run(beta_root)
    rebaseline(beta_root)
    text = summary(beta_root)
    # two project digests swapped: each line stays under its headings
    blocks = text.split("\n### ")
    alpha = next(b for b in blocks if b.startswith("proj-alpha: "))
    beta = next(b for b in blocks if b.startswith("proj-beta: "))
    assert alpha.rstrip().endswith(")") and "\n- proj-alpha: " in alpha
    swapped = text.replace(alpha, "\0").replace(beta, alpha).replace("\0", beta)
    assert swapped != text
    (beta_root / SUMMARY_FILE).write_text(swapped)
    write_diff(beta_root)
    await run(beta_root, diff=True)
    assert summary(beta_root) == text
    assert not re.search(r"(?m)^hide ", memory(beta_root))
    assert "## User notes" not in summary(beta_root)


async def test_an_edit_without_a_usable_diff_keeps_the_user_lines(root: Path) -> None:
    await run(root)
    rebaseline(root)
    with (root / MEMORY_FILE).open("a") as f:
        f.write("keep me\n")
    # No diff file at all.
    await run(root)
    assert "keep me" in notes_region(memory(root))
    # A truncated diff.
    rebaseline(root)
    with (root / MEMORY_FILE).open("a") as f:
        f.write("keep me too\n")
    text = write_diff(root)
    cut = text[: text.index("+keep me too")] + "```\n"
    (root / DIFF_FILE).write_text(cut)
    await run(root, diff=True)
    notes = notes_region(memory(root))
    assert "keep me" in notes and "keep me too" in notes


async def test_our_own_lines_from_a_failed_run_are_not_user_edits(beta_root: Path) -> None:
    await run(beta_root)
    rebaseline(beta_root)
    # Run N changes the files, but the run fails afterwards: the baseline stays behind.
    drop_thread(beta_root, BETA_ID)
    write_diff(beta_root)
    await run(beta_root, diff=True)
    # Run N+1 sees run N's writes in its diff; they are memoryd's, not the user's.
    write_diff(beta_root)
    result = await run(beta_root, diff=True)
    assert result.written == []
    assert not [ln for ln in notes_region(memory(beta_root)) if ln.strip()]
    assert "## User notes" not in summary(beta_root)


async def test_a_user_version_saved_during_a_run_is_consolidated(root: Path) -> None:
    """Phase 2 keeps a file the user saved while the agent ran as MEMORY.user-edit-<run>.md and
    keeps the pre-run content in the baseline (SPEC §4)."""
    await run(root)
    rebaseline(root)
    pre_run = memory(root)
    pref = next(ln for ln in pre_run.split("\n") if "use ripgrep rather than grep" in ln)
    user_version = pre_run.replace(pref + "\n", "") + "note from mid-run\n"
    (root / "MEMORY.user-edit-run7.md").write_text(user_version)
    drop_thread(root, COMPACT_ID)
    result = await run(root)  # this run's agent output is now MEMORY.md
    assert result.written
    # Next run: the baseline still holds the pre-run MEMORY.md.
    write_diff(root)
    assert "A MEMORY.user-edit-run7.md" in (root / DIFF_FILE).read_text()
    await run(root, diff=True)
    mem = memory(root)
    assert "note from mid-run" in notes_region(mem)
    assert "ripgrep rather than grep" not in mem
    assert "proj-compact" not in mem
    assert (root / "MEMORY.user-edit-run7.md").read_text() == user_version  # never deleted


async def test_a_file_written_by_someone_else_is_rebuilt(root: Path) -> None:
    (root / MEMORY_FILE).write_text("# Task Group: from another writer\n\n- stale\n")
    (root / SUMMARY_FILE).write_text("an old summary without v1\n")
    rebaseline(root)
    write_diff(root)
    await run(root, diff=True)
    assert "another writer" not in memory(root)
    assert summary(root).startswith("v1\n")


async def test_a_memory_file_the_user_created_is_kept_as_notes(root: Path) -> None:
    rebaseline(root)
    (root / MEMORY_FILE).write_text("# My memories\n\n- deploys go through `make ship`\n")
    write_diff(root)
    await run(root, diff=True)
    notes = notes_region(memory(root))
    assert "# My memories" in notes and "- deploys go through `make ship`" in notes
    assert "# Task Group: proj-alpha" in memory(root)


async def test_deleting_memory_md_resets_it(root: Path) -> None:
    await run(root)
    rebaseline(root)
    mem = memory(root).replace(NOTES_END, "a note\n" + NOTES_END)
    (root / MEMORY_FILE).write_text(mem)
    rebaseline(root)
    (root / MEMORY_FILE).unlink()
    write_diff(root)
    await run(root, diff=True)
    assert "a note" not in memory(root)
    assert "# Task Group: proj-alpha" in memory(root)


async def test_summary_notes_over_budget_move_to_memory(root: Path) -> None:
    await run(root)
    rebaseline(root)
    extra = [f"- user fact number {i}: " + "x" * 60 for i in range(40)]
    text = summary(root).replace("## General Tips\n", "\n".join(extra) + "\n\n## General Tips\n")
    (root / SUMMARY_FILE).write_text(text)
    write_diff(root)
    await run(root, diff=True)
    text, mem = summary(root), memory(root)
    assert len(text.encode()) <= SUMMARY_BUDGET
    kept = [ln for ln in section(text, "## User notes").split("\n") if ln.strip()]
    assert kept and kept == extra[: len(kept)]
    notes = notes_region(mem)
    assert "## Moved from memory_summary.md (over its size budget)" in notes
    for line in extra:
        assert (line in kept) != (line in notes), line


# --------------------------------------------------------------------------------------------
# Ad-hoc notes, secrets, links


async def test_ad_hoc_notes_are_consolidated(root: Path, tmp_path: Path) -> None:
    notes_dir = root / "extensions" / "ad_hoc" / "notes"
    notes_dir.mkdir(parents=True)
    (notes_dir / "2026-11-22T10-00-00-shell.md").write_text(
        "The user works in the fish shell.\nUse `set -x` not `export`.\n"
    )
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    (notes_dir / "2026-11-22T11-00-00-token.md").write_text(f"ci token is {token}\n")
    outside = tmp_path / "outside.md"
    outside.write_text("linked note")
    (notes_dir / "2026-11-22T12-00-00-link.md").symlink_to(outside)
    await run(root)
    mem, text = memory(root), summary(root)
    adhoc = section(mem, "## Ad-hoc notes")
    assert (
        "- The user works in the fish shell. Use `set -x` not `export`. [ad-hoc note: "
        "extensions/ad_hoc/notes/2026-11-22T10-00-00-shell.md]" in adhoc
    )
    assert "linked note" not in mem
    assert token not in mem and token not in text and REDACTED in mem
    prefs = section(text, "## User preferences")
    assert "- The user works in the fish shell." in prefs and "[ad-hoc note]" in prefs
    # A note removed by its owner disappears; the files it left are not notes.
    (notes_dir / "2026-11-22T10-00-00-shell.md").unlink()
    await run(root)
    assert "fish shell" not in memory(root) and "fish shell" not in summary(root)


async def test_a_symlinked_memory_file_is_replaced_not_followed(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.md"
    target.write_text("not a memory file\n")
    (root / MEMORY_FILE).symlink_to(target)
    await run(root)
    assert not (root / MEMORY_FILE).is_symlink()
    assert target.read_text() == "not a memory file\n"


async def test_invalid_root(tmp_path: Path) -> None:
    with pytest.raises(AgentError) as err:
        await run(tmp_path / "missing")
    assert err.value.reason == "invalid_root"


# --------------------------------------------------------------------------------------------
# Determinism and size


async def test_deterministic_and_idempotent(beta_root: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy"
    shutil.copytree(beta_root, other, symlinks=True)
    await run(beta_root)
    await run(other)
    for name in (MEMORY_FILE, SUMMARY_FILE):
        assert (beta_root / name).read_bytes() == (other / name).read_bytes()
    before = {n: (beta_root / n).stat().st_mtime_ns for n in (MEMORY_FILE, SUMMARY_FILE)}
    assert (await run(beta_root)).written == []
    assert {n: (beta_root / n).stat().st_mtime_ns for n in (MEMORY_FILE, SUMMARY_FILE)} == before


@pytest.mark.acceptance  # starts other processes
def test_same_bytes_across_processes_and_hash_seeds(beta_root: Path) -> None:
    code = (
        "import sys, pathlib; from memoryd.consolidate.offline import consolidate_root; "
        "o = consolidate_root(pathlib.Path(sys.argv[1]), None); "
        "sys.stdout.write(o.memory + '\\x00' + o.summary)"
    )
    outs = set()
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", code, str(beta_root)],
            env=env,
            capture_output=True,
            check=True,
        )
        outs.add(proc.stdout)
    assert len(outs) == 1
    here = consolidate_root(beta_root, None)
    assert outs.pop().decode() == here.memory + "\x00" + here.summary


def _synthetic_inputs(root: Path, n: int) -> None:
    (root / "rollout_summaries").mkdir(parents=True)
    parts = [
        "# Raw Memories\n\nMerged stage-1 raw memories (stable ascending thread-id order):\n\n"
    ]
    for i in range(n):
        tid = f"00000000-0000-4000-8000-{i:012d}"
        stem = f"2026-10-{1 + i % 28:02d}T00-00-00-ab{i:02d}-task_{i}"
        cwd = f"/home/u/code/project-{i % 40:02d}"
        day = f"2026-10-{1 + i % 28:02d}T12:00:00+00:00"
        raw = (
            "---\n"
            f"description: synthetic task {i} with a fairly long description of what happened\n"
            f"task: Fix the flaky build number {i}\n"
            f"task_group: project-{i % 40:02d} / build-{i % 7}\n"
            "task_outcome: success\n"
            f"cwd: {cwd}\n"
            f"keywords: project-{i % 40:02d}, build, flaky-{i}, pytest, tox, coverage-{i}\n"
            "---\n\n"
            f"### Task 1: Fix the flaky build number {i}\n\n"
            f"task: Fix the flaky build number {i}\n"
            f"task_group: project-{i % 40:02d} / build-{i % 7}\n"
            "task_outcome: success\n\n"
            "Preference signals:\n"
            f'- the user said "always run the tests with -x for suite {i % 30}" -> in similar '
            f"future tasks, always run the tests with -x for suite {i % 30}\n\n"
            "Reusable knowledge:\n"
            f"- `tox -e py{i}` runs successfully in this project\n\n"
            "Failures and how to do differently:\n"
            f'- `pytest` failed (exit 1): "ImportError {i}"; fixed by installing dev deps\n\n'
            "References:\n- [1] user request\n"
        )
        (root / "rollout_summaries" / f"{stem}.md").write_text(
            f"thread_id: {tid}\nupdated_at: {day}\nrollout_path: /x/{i}.jsonl\ncwd: {cwd}\n\n"
            f"# Fix the flaky build number {i}\n"
        )
        parts.append(
            f"## Thread `{tid}`\nupdated_at: {day}\ncwd: {cwd}\nrollout_path: /x/{i}.jsonl\n"
            f"rollout_summary_file: {stem}.md\n\n{raw}\n"
        )
    (root / "raw_memories.md").write_text("".join(parts))


async def test_summary_stays_under_budget_with_many_inputs(tmp_path: Path) -> None:
    _synthetic_inputs(tmp_path, 300)
    await run(tmp_path)
    text = summary(tmp_path)
    assert len(text.encode()) <= SUMMARY_BUDGET
    assert text.split("\n")[0] == "v1"
    for h in ("## User Profile", "## User preferences", "## General Tips", "## What's in Memory"):
        assert h in text
    assert not text.endswith("\n\n")
    mem = memory(tmp_path)
    assert mem.count("\n# Task Group: ") == 40  # one per project, whatever the families
    # A rule stated in several projects is one general rule, ranked first.
    prefs = section(text, "## User preferences").strip().split("\n")
    assert re.match(
        r"- always run the tests with -x for suite \d+ .*\(stated in (project-|\d+ projects)",
        prefs[0],
    )
    # What did not fit is the least durable: every project still has its digest heading or
    # its lines were all outranked, never a line cut in half.
    assert all(ln.startswith(("- ", "### ", "## ", "v1")) or not ln for ln in text.split("\n"))


async def test_user_notes_and_ad_hoc_notes_still_fit(tmp_path: Path) -> None:
    _synthetic_inputs(tmp_path, 60)
    notes_dir = tmp_path / "extensions" / "ad_hoc" / "notes"
    notes_dir.mkdir(parents=True)
    for i in range(8):
        (notes_dir / f"2026-11-2{i}T00-00-00-n{i}.md").write_text("long note " * 100)
    await run(tmp_path)
    rebaseline(tmp_path)
    text = summary(tmp_path).replace(
        "## General Tips", "## User notes\n\n" + "- y" * 600 + "\n\n## General Tips"
    )
    (tmp_path / SUMMARY_FILE).write_text(text)
    await run(tmp_path)
    assert len(summary(tmp_path).encode()) <= SUMMARY_BUDGET


# --------------------------------------------------------------------------------------------
# Parsing


def test_model_written_raw_memory_is_understood() -> None:
    parsed = parse_memory_text(
        "---\n"
        "description: Set up CI caching for the monorepo\n"
        "task: set up ci cache\n"
        "task_group: monorepo CI\n"
        "task_outcome: partial\n"
        "cwd: /work/mono\n"
        "keywords:\n  - github actions\n  - cache\n"
        "---\n\n"
        "## Task 1 — Cache pnpm store\n\n"
        "task_outcome: success\n\n"
        "**Preference signals:**\n"
        '* when editing workflows, the user asked / corrected: "keep jobs under 10 min" -> '
        "split long jobs\n"
        "  and cache aggressively\n\n"
        "### Reusable knowledge\n1. `actions/cache@v4` keyed on the lockfile hash works\n"
        "- None.\n\n"
        "Failures and how to do differently:\n- None observed.\n\n"
        "## Task 2: Speed up tests\n"
        "task_group: monorepo tests\n"
        "task_outcome: Failed because of timeouts\n"
    )
    assert parsed.keywords == ["github actions", "cache"]
    one, two = parsed.tasks
    assert one.title == "Cache pnpm store" and one.outcome == "success"
    assert one.group == "monorepo CI"
    assert one.prefs == [
        'when editing workflows, the user asked / corrected: "keep jobs under 10 min" -> '
        "split long jobs and cache aggressively"
    ]
    assert one.knowledge == ["`actions/cache@v4` keyed on the lockfile hash works"]
    assert one.failures == []
    assert two.group == "monorepo tests" and two.outcome == "fail"


def test_preference_keys_merge_the_same_guidance() -> None:
    a = preference_parts(
        'the user said "I prefer uv over pip." -> in similar future tasks, use uv rather than pip'
    )
    b = preference_parts('the user said "uv, not pip!" -> use uv rather than pip. [Task 3]')
    assert a[0] == b[0] == "use uv rather than pip"
    assert a[2] == "I prefer uv over pip."
    assert preference_parts("Always answer in French")[1] == "Always answer in French"


def test_workspace_diff_parsing_and_reverse_apply() -> None:
    new = ["a", "b", "x", "d", "e"]
    text = (
        "# Memory Workspace Diff\n\n## Status\n- M MEMORY.md\n- A notes.md\n\n## Diff\n\n```diff\n"
        "diff --git a/MEMORY.md b/MEMORY.md\nindex 1234567..89abcde 100644\n--- a/MEMORY.md\n"
        "+++ b/MEMORY.md\n"
        "@@ -1,5 +1,5 @@\n a\n b\n-c\n+x\n d\n e\n"
        "\\ No newline at end of file\n"
        "diff --git a/notes.md b/notes.md\nnew file mode 100644\n--- /dev/null\n+++ b/notes.md\n"
        "@@ -0,0 +1 @@\n+--- looks like a header\n"
        "diff --git a/gone.md b/gone.md\ndeleted file mode 100644\n--- a/gone.md\n+++ /dev/null\n"
        "@@ -1,2 +0,0 @@\n-one\n-\n"
        "```\n"
    )
    files = parse_workspace_diff(text)
    assert set(files) == {"MEMORY.md", "notes.md", "gone.md"}
    hunks = files["MEMORY.md"]
    assert hunks is not None
    assert reverse_apply(new, hunks) == ["a", "b", "c", "d", "e"]
    assert reverse_apply(["a", "b", "y", "d", "e"], hunks) is None  # no longer applies
    notes = files["notes.md"]
    assert notes is not None and notes[0].lines == [("+", "--- looks like a header")]
    gone = files["gone.md"]
    assert gone is not None and reverse_apply([], gone) == ["one", ""]
    truncated = text.replace("@@ -1,5 +1,5 @@\n a\n b\n-c\n+x\n d\n e\n", "@@ -1,5 +1,5 @@\n a\n")
    assert parse_workspace_diff(truncated)["MEMORY.md"] is None
    assert parse_workspace_diff("no fence here") == {}


def test_the_diff_file_memoryd_renders_reads_back_file_by_file() -> None:
    """What phase 2 writes (workspace/diff.py) parses back into hunks that undo each change;
    a file with nothing to show has no hunks, a binary one and the one a truncation cut
    (even inside a hunk header) have none that can be used, and the others keep theirs."""
    old = b"# Memory\n\n" + b"".join(b"- line %d\n" % i for i in range(30))
    new = old.replace(b"- line 3\n", b"- line three\n").replace(b"- line 25\n", b"")
    changes = (
        FileChange("MEMORY.md", "M", 0o100644, 0o100644, old, new),
        FileChange("bin.dat", "A", None, 0o100644, None, b"\x00\x01"),
        FileChange("empty.md", "A", None, 0o100644, None, b""),
        FileChange("run.sh", "M", 0o100644, 0o100755, b"x\n", b"x\n"),
        FileChange("zz.md", "M", 0o100644, 0o100644, old, new),
    )
    text = WorkspaceDiff("0" * 40, changes).render()
    files = parse_workspace_diff(text)
    assert list(files) == ["MEMORY.md", "bin.dat", "empty.md", "run.sh", "zz.md"]
    hunks = files["MEMORY.md"]
    assert hunks is not None and len(hunks) == 2
    assert reverse_apply(new.decode().splitlines(), hunks) == old.decode().splitlines()
    assert files["bin.dat"] is None
    assert files["empty.md"] == [] and files["run.sh"] == []
    assert files["zz.md"] is not None
    # Cut inside the last file's second hunk header: its first hunk alone would undo only
    # half the change, so none of its hunks count.
    fence = text.index("```diff\n") + len("```diff\n")
    cut = text.rindex("@@ -") + len("@@ -2") - fence  # bytes of diff kept (all ASCII)
    cut_text = WorkspaceDiff("0" * 40, changes).render(cut)
    assert f"@@ -2\n\n[workspace diff truncated at {cut} bytes; " in cut_text
    cut_files = parse_workspace_diff(cut_text)
    assert cut_files["zz.md"] is None
    cut_memory = cut_files["MEMORY.md"]
    assert cut_memory is not None and len(cut_memory) == 2
    assert parse_workspace_diff(text[:fence] + "```\n") == {}


def test_views_exclude_notes_and_state_from_the_digest() -> None:
    base = (
        "# User notes\n\n<!-- memoryd:user-notes-begin: x -->\n<!-- memoryd:user-notes-end -->\n"
        "\n# Task Group: g\n\n<!-- memoryd:state\nmemory 0123456789abcdef\nsummary 00\n"
        "hide M:0123456789abcdef 0123456789ab\n"
        "hide S:0123456789abcdef 0123456789ab fedcba9876543210\n-->\n"
    )
    v = view_memory(base)
    assert v.state is not None and v.state.memory_digest == "0123456789abcdef"
    # a record from before item identities (three fields) is read as one without
    assert v.state.hidden == {
        "M:0123456789abcdef": Hide("0123456789ab"),
        "S:0123456789abcdef": Hide("0123456789ab", "fedcba9876543210"),
    }
    with_notes = base.replace("-->\n<!--", "-->\nmine\n\n<!--", 1)
    assert view_memory(with_notes).notes == ["mine"]
    assert view_memory(with_notes).digest == v.digest
    assert view_memory(base + "appended\n").digest != v.digest
    s = "v1\n\n## User Profile\n\n## User notes\n\nmine\n\n## General Tips\n"
    assert view_summary(s).notes == ["mine"]
    assert view_summary(s).digest == view_summary(s.replace("mine", "yours")).digest


async def test_user_edits_through_the_real_workspace(root: Path) -> None:
    """The same flow with memoryd.workspace.baseline writing the baseline and the diff file."""
    from memoryd.workspace.baseline import (
        diff_against_baseline,
        ensure_baseline,
        reset_baseline,
        write_diff_file,
    )

    ensure_baseline(root)
    write_diff_file(root, diff_against_baseline(root))
    await run(root, diff=True)
    (root / DIFF_FILE).unlink()
    reset_baseline(root)

    mem = memory(root)
    pref = next(ln for ln in mem.split("\n") if "use ripgrep rather than grep [Task 1]" in ln)
    mem = mem.replace(pref + "\n", "").replace(
        "- proj-alpha: testing, uv, pip\n", "- proj-alpha: testing, uv, pip\n- my own line\n"
    )
    (root / MEMORY_FILE).write_text(mem + "appended at the end\n")
    write_diff_file(root, diff_against_baseline(root))
    await run(root, diff=True)
    mem = memory(root)
    notes = notes_region(mem)
    assert "- my own line" in notes and "appended at the end" in notes
    assert "ripgrep rather than grep" not in mem
    assert "ripgrep rather than grep" not in summary(root)
    (root / DIFF_FILE).unlink()
    reset_baseline(root)
    # A later run with another change keeps both decisions.
    drop_thread(root, COMPACT_ID)
    write_diff_file(root, diff_against_baseline(root))
    await run(root, diff=True)
    mem = memory(root)
    assert "- my own line" in notes_region(mem)
    assert "ripgrep rather than grep" not in mem
    assert "proj-compact" not in mem


async def test_a_free_form_input_still_gets_a_task(tmp_path: Path) -> None:
    (tmp_path / "rollout_summaries").mkdir()
    (tmp_path / "rollout_summaries" / "2026-11-01T00-00-00-abcd-notes.md").write_text(
        "thread_id: t-1\nupdated_at: 2026-11-01T00:00:00+00:00\nrollout_path: /r.jsonl\n"
        "cwd: /work/site\n\nThe user migrated the blog to Hugo.\n"
    )
    (tmp_path / "raw_memories.md").write_text(
        "# Raw Memories\n\nMerged stage-1 raw memories (stable ascending thread-id order):\n\n"
        "## Thread `t-1`\nupdated_at: 2026-11-01T00:00:00+00:00\ncwd: /work/site\n"
        "rollout_path: /r.jsonl\nrollout_summary_file: 2026-11-01T00-00-00-abcd-notes.md\n\n"
        "Migrated the blog to Hugo; the theme lives in themes/paper.\n"
        "- `hugo server -D` previews drafts\n\n"
    )
    await run(tmp_path)
    block = group_block(memory(tmp_path), "site")
    assert "## Task 1: Migrated the blog to Hugo; the theme lives in themes/paper." in block
    assert "rollout_summaries/2026-11-01T00-00-00-abcd-notes.md (cwd=/work/site" in block
    assert "- site: `hugo server -D` previews drafts [Task 1]" in block
    assert "- site: " in summary(tmp_path)
