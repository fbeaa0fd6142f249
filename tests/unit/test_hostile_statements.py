"""Hostile statements in the stage-1 outputs the offline consolidator reads.

A model's stage-1 output may hold anything: a rule padded with thousands of spaces, a
"statement" of thousands of characters in one word or one comma-spliced list. The readers'
cost grew with such a statement faster than its length (two rules padded with 4,000 spaces
took one consolidation 277 s; a 2,000-character word 4 s in ``rule_key``; a list of a
thousand comma-separated clauses compared every clause of one rule with every clause of
another). A statement is now read with its runs of spaces as one, clipped at
``STATEMENT_CHARS``, its core read from its first ``MAX_CLAUSES`` clauses, and a pair's first
tool found from the start of its word: what an ordinary statement says is read as before. The
time is measured by ``scripts/bench_hostile_text.py --phase 2``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from support.items import result, run, user
from support.offline_memory import consolidate, session

from memoryd.consolidate.offline.meaning import rule_key
from memoryd.consolidate.offline.restated import MAX_CLAUSES, core
from memoryd.consolidate.offline.sources import STATEMENT_CHARS, parse_memory_text
from memoryd.store.phase2 import ArtifactRow

MEMORY = """---
task: tidy the build
---

## Task 1: tidy the build
Outcome: success

### Preference signals
- the user said "use uv{pad}rather than pip" -> in similar future tasks, use uv{pad}rather than pip

### Reusable knowledge
- {long}
- The CI runs `make ci`
  and its second line
"""


def test_a_statement_is_read_with_its_runs_of_spaces_as_one() -> None:
    for pad in (" " * 20_000, "\t" * 500, "\u00a0 " * 300):
        (task,) = parse_memory_text(MEMORY.format(pad=pad, long=f"Port{pad}8080")).tasks
        assert task.prefs == [
            'the user said "use uv rather than pip" -> in similar future tasks, use uv rather '
            "than pip"
        ]
        assert task.knowledge == ["Port 8080", "The CI runs `make ci` and its second line"]


def test_a_statement_longer_than_the_limit_is_clipped_as_it_is_read() -> None:
    long = "x, " * 5_000
    (task,) = parse_memory_text(MEMORY.format(pad=" ", long=long)).tasks
    fact, ci = task.knowledge
    assert len(fact) == STATEMENT_CHARS and fact.endswith("…")
    assert fact.startswith("x, x, x,")
    assert ci == "The CI runs `make ci` and its second line"
    # a statement that goes on over thousands of lines as well
    (task,) = parse_memory_text(MEMORY.format(pad=" ", long="y\n  y" * 3_000)).tasks
    assert len(task.knowledge[0]) == STATEMENT_CHARS and task.knowledge[0].startswith("y yy yy")
    # an ordinary statement is read whole
    (task,) = parse_memory_text(MEMORY.format(pad=" ", long="y " * 200)).tasks
    assert task.knowledge[0] == ("y " * 200).strip()


def test_a_rules_core_is_read_from_its_first_clauses() -> None:
    many = ", ".join(f"step{i} runs first" for i in range(3 * MAX_CLAUSES))
    assert len(core(many).parts) == MAX_CLAUSES
    few = "run ruff first, then mypy, then the tests"
    assert len(core(few).parts) == 3


def test_a_pair_with_a_very_long_first_word_is_still_read_as_a_pair() -> None:
    word = "a" * 5_000
    assert rule_key(f"use {word} rather than pip") == f"pair:{word}>pip"
    assert rule_key("use uv rather than pip") == "pair:uv>pip"


def _padded(row: ArtifactRow, pad: str) -> ArtifactRow:
    def text(s: str) -> str:
        return s.replace("use uv rather than pip", f"use uv{pad}rather than pip")

    return replace(row, rollout_summary=text(row.rollout_summary), raw_memory=text(row.raw_memory))


def test_a_padded_stage1_output_consolidates_as_the_plain_one(tmp_path: Path) -> None:
    rows = [
        session(
            i,
            cwd,
            i,
            [
                user("Always use uv rather than pip, and run the checks."),
                run("c1", "make check"),
                result("c1", 0, "ok"),
            ],
        )
        for i, cwd in enumerate(("/home/u/alpha", "/home/u/beta"), start=1)
    ]
    assert all("use uv rather than pip" in r.raw_memory for r in rows)
    plain = consolidate(tmp_path / "plain", rows)
    padded = consolidate(tmp_path / "padded", [_padded(r, " " * 3_000) for r in rows])
    assert padded == plain
    _, summary = plain
    assert "use uv rather than pip" in summary  # one rule, said in both projects
