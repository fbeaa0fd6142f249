"""Rule candidates corroborated across projects (docs/quality.md, "Round 13g"): a user sentence
phase 1 only weakly read as a rule is kept in the raw memory as a candidate; consolidation makes
it a rule when a session of another project restates it, and shows it nowhere otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from support.offline_memory import DAY, T0, consolidate

from memoryd.consolidate.offline.meaning import same_idea, same_meaning
from memoryd.consolidate.offline.sources import parse_memory_text
from memoryd.extract.offline.render import CANDIDATES_HEADING
from memoryd.store.phase2 import ArtifactRow

# One house rule said in two projects in other words: once with a mark that it stands (a
# quantifier over cases), once as a plain statement.
STUBS = "every test double sits in a stubs folder beside the module it replaces"
STUBS_AGAIN = "test doubles belong in the stubs folder, right next to their module"
# Two orders for the task at hand, alike in their words.
TIMEOUT = "add a timeout field to the payment form"
TIMEOUT_AGAIN = "add the timeout field to the invoice form"
# A sentence nobody restates.
ALONE = "the design channel likes to see screenshots before anything merges"


def _said(rule: str) -> str:
    return f'the user said "{rule}" -> in similar future tasks, {rule}'


def _raw(title: str, prefs: Sequence[str] = (), candidates: Sequence[str] = ()) -> str:
    lines = [
        "---",
        f"description: {title}",
        f"task: {title}",
        "task_group: work",
        "task_outcome: success",
        "---",
        "",
        f"### Task 1: {title}",
        "",
        f"task: {title}",
        "task_group: work",
        "task_outcome: success",
        "",
        "Preference signals:",
        *([f"- {_said(p)}" for p in prefs] or ["- None stated."]),
        "",
        "Reusable knowledge:",
        "- Run the tests with `make check`.",
        "",
        "References:",
        f'- [1] user request: "{title}"',
        "",
    ]
    if candidates:
        lines += [CANDIDATES_HEADING, *[f"- {_said(c)}" for c in candidates], ""]
    return "\n".join(lines)


def _row(n: int, cwd: str, raw: str) -> ArtifactRow:
    return ArtifactRow(
        thread_id=f"00000000-0000-4000-8000-{n:012d}",
        source_updated_at=T0 + n * DAY,
        rollout_path=f"/r/{n}.jsonl",
        cwd=cwd,
        git_branch="main",
        rollout_summary=f"# session {n}\n\nA session in {cwd}.\n",
        raw_memory=raw,
        rollout_slug=f"session-{n}",
    )


def _general(memory: str) -> str:
    return memory.split("# General rules (for every project)", 1)[-1].split("<!--")[0]


def test_a_candidate_section_is_read_apart_from_the_rules() -> None:
    parsed = parse_memory_text(_raw("add the importer", [ALONE], [STUBS]))
    (task,) = parsed.tasks
    assert task.candidates == [_said(STUBS)]
    assert task.prefs == [_said(ALONE)]


def test_candidates_before_the_first_task_heading_are_the_first_tasks() -> None:
    """Like the rules and knowledge above the first "### Task" heading: kept, not dropped."""
    head = f"{CANDIDATES_HEADING}\n- {_said(STUBS)}\n\n"
    parsed = parse_memory_text(_raw("add the importer").replace("### Task 1", head + "### Task 1"))
    (task,) = parsed.tasks
    assert task.candidates == [_said(STUBS)]


def test_a_memory_of_candidates_alone_is_read() -> None:
    parsed = parse_memory_text(f"{CANDIDATES_HEADING}\n- {_said(STUBS)}\n")
    (task,) = parsed.tasks
    assert task.candidates == [_said(STUBS)]


def test_candidates_restated_in_two_projects_become_one_general_rule(tmp_path: Path) -> None:
    rows = [
        _row(1, "/w/kestrel", _raw("wire the webhook", candidates=[STUBS])),
        _row(2, "/w/bramble", _raw("split the parser", candidates=[STUBS_AGAIN])),
    ]
    memory, summary = consolidate(tmp_path, rows)
    said = [ln for ln in memory.splitlines() if "stubs folder" in ln]
    assert len(said) == 1 and said[0] in _general(memory)
    assert "stated in bramble, kestrel" in said[0]
    prefs = summary.split("## User preferences", 1)[1].split("\n## ", 1)[0]
    assert "stubs folder" in prefs


def test_a_candidate_that_restates_another_projects_rule_joins_it(tmp_path: Path) -> None:
    rows = [
        _row(1, "/w/kestrel", _raw("wire the webhook", prefs=[STUBS_AGAIN])),
        _row(2, "/w/bramble", _raw("split the parser", candidates=[STUBS])),
    ]
    memory, _ = consolidate(tmp_path, rows)
    said = [ln for ln in memory.splitlines() if "stubs folder" in ln]
    assert len(said) == 1 and said[0] in _general(memory)
    assert "stated in bramble, kestrel" in said[0]


def test_a_candidate_nobody_restates_is_in_no_memory_file(tmp_path: Path) -> None:
    rows = [
        _row(1, "/w/kestrel", _raw("wire the webhook", candidates=[ALONE, STUBS])),
        _row(2, "/w/bramble", _raw("split the parser")),
    ]
    memory, summary = consolidate(tmp_path, rows)
    for text in (memory, summary):
        assert "screenshots" not in text and "stubs folder" not in text


def test_a_candidate_restated_in_its_own_project_only_stays_a_candidate(tmp_path: Path) -> None:
    rows = [
        _row(1, "/w/kestrel", _raw("wire the webhook", candidates=[STUBS])),
        _row(2, "/w/kestrel", _raw("split the parser", candidates=[STUBS_AGAIN])),
    ]
    memory, summary = consolidate(tmp_path, rows)
    assert "stubs folder" not in memory and "stubs folder" not in summary


def test_a_candidate_that_names_its_own_project_is_said_of_it(tmp_path: Path) -> None:
    rows = [
        _row(1, "/w/kestrel", _raw("wire the webhook", candidates=[f"in kestrel, {STUBS}"])),
        _row(2, "/w/bramble", _raw("split the parser", prefs=[STUBS_AGAIN])),
    ]
    memory, _ = consolidate(tmp_path, rows)
    said = [ln for ln in memory.splitlines() if "stubs folder" in ln]
    # bramble's own rule stays its project's; kestrel's candidate is not carried anywhere
    assert said and all("kestrel" not in ln for ln in said)
    assert "stubs folder" not in _general(memory)


def test_two_bare_instructions_alike_are_requests_not_a_rule(tmp_path: Path) -> None:
    # the same words in two projects, but each an order for the work at hand, with no mark
    # that it stands: what two tasks asked, not what the user always wants
    rows = [
        _row(1, "/w/kestrel", _raw("wire the webhook", candidates=[TIMEOUT])),
        _row(2, "/w/bramble", _raw("split the parser", candidates=[TIMEOUT_AGAIN])),
    ]
    memory, summary = consolidate(tmp_path, rows)
    assert "timeout field" not in memory and "timeout field" not in summary
    # the rules' own words would join them
    assert same_meaning(TIMEOUT, TIMEOUT_AGAIN, set())


def test_forgetting_the_session_that_corroborated_a_candidate_drops_it(tmp_path: Path) -> None:
    both = [
        _row(1, "/w/kestrel", _raw("wire the webhook", candidates=[STUBS])),
        _row(2, "/w/bramble", _raw("split the parser", candidates=[STUBS_AGAIN])),
    ]
    memory, _ = consolidate(tmp_path / "both", both)
    assert "stubs folder" in memory
    memory, summary = consolidate(tmp_path / "one", both[:1])
    assert "stubs folder" not in memory and "stubs folder" not in summary


def test_rules_that_share_only_what_one_turns_down_are_not_one_idea() -> None:
    # "…, not curl one-liners" is what the first rule refuses; "one line" of the second is
    # not it
    assert not same_idea(
        "httpie for poking the API, not curl one-liners",
        "API responses are logged one line per request",
    )
