"""Hostile text in a message: a long run of spaces, tabs or no-break spaces between words.

The rule readers are regular expressions of the shape ``(?P<x>.+?)\\s+(?:over|instead of)``:
on a run of N spaces they try the run again from each of its characters, time quadratic in
N (a message of 20,000 spaces took about a minute to read). Every sentence the readers see
comes from ``split_sentences``, which reads a run of spaces as one: what a sentence says is
the same, and the readers' time is linear. The time itself is measured by
``scripts/bench_hostile_text.py``; these tests pin what is read."""

from __future__ import annotations

import pytest
from support.items import extract, request, result, run, section, task_block, user

from memoryd.extract.offline import read_message
from memoryd.extract.offline.sentences import split_sentences, spoken_sentences

RUNS = [" " * 20_000, "\t" * 20_000, "\u00a0" * 20_000, " \t " * 7_000]


@pytest.mark.parametrize("run", RUNS, ids=["spaces", "tabs", "nbsp", "mixed"])
def test_a_run_of_spaces_in_a_sentence_is_read_as_one_space(run: str) -> None:
    text = f"Use uv{run}rather than pip.  Run the{run}tests first."
    assert split_sentences(text) == ["Use uv rather than pip.", "Run the tests first."]
    assert spoken_sentences(text) == ["Use uv rather than pip.", "Run the tests first."]


def test_a_newline_still_ends_a_sentence_and_single_spaces_are_kept() -> None:
    text = "keep it short\n\n   \n   use ruff, not black"
    assert split_sentences(text) == ["keep it short", "use ruff, not black"]


@pytest.mark.parametrize("run", RUNS, ids=["spaces", "tabs", "nbsp", "mixed"])
def test_a_rule_padded_with_a_long_run_reads_as_the_rule_written_plainly(run: str) -> None:
    padded = read_message(f"From now on prefer uv{run}over pip for every install.")
    plain = read_message("From now on prefer uv over pip for every install.")
    assert padded.preferences == plain.preferences
    assert plain.preferences == ("From now on prefer uv over pip for every install.",)
    assert padded.title == plain.title


async def test_a_padded_rule_reaches_the_memory_as_the_plain_rule_does() -> None:
    # (under the 20,000 characters of a message that are read at all)
    rule = "Always use uv{}instead of pip, and add requests to the project."
    padded = await extract(request([user(rule.format(" " * 15_000))]))
    plain = await extract(request([user(rule.format(" "))]))
    prefs = section(task_block(padded.rollout_summary, 1), "Preference signals")
    assert '"Always use uv instead of pip, and add requests to the project."' in prefs
    assert "use uv rather than pip" in prefs
    assert padded.raw_memory == plain.raw_memory
    assert padded.rollout_summary == plain.rollout_summary


@pytest.mark.parametrize(
    ("output", "gone"),
    [
        ("a" * 15_000 + "\nbash: protoc-gen: command not found", "`make protoc-gen`"),
        (
            "b" * 15_000 + " sh: 1: scripts/gen.sh: No such file or directory",
            "`make scripts/gen.sh`",
        ),
    ],
    ids=["program", "script"],
)
async def test_a_missing_program_after_a_long_word_in_a_tool_output_is_still_found(
    output: str, gone: str
) -> None:
    # a long word in a tool's output (a minified bundle, a base64 blob) before the error
    cmd = "make " + gone.strip("`").split()[1]
    out = await extract(request([user("regenerate it"), run("c1", cmd), result("c1", 127, output)]))
    assert f"Replaced: {gone} is gone" in out.raw_memory
