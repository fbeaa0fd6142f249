"""Round 12m of issue 13: what the summary keeps. A general rule whose whole wording a rule
above already holds (inside its quote of the user) is said once: its room goes to the next
line. In wording of its own: a ferry timetable app and a kiln controller."""

from __future__ import annotations

from memoryd.consolidate.offline.ledger import Ledger
from memoryd.consolidate.offline.model import Entry
from memoryd.consolidate.offline.once import general_body, held_whole
from memoryd.consolidate.offline.summary_md import (
    FULL,
    build_summary_model,
    render_summary,
)

QUOTE = "ok, go ahead. and after a merge tag it like this in all my repos, signed"


def test_a_body_held_whole_by_a_line_above_is_held_and_a_partial_one_is_not() -> None:
    above = [f'- use `git tag -s` — "{QUOTE}" (stated for every project)']
    assert held_whole("after a merge tag it like this in all my repos, signed", above)
    # case and punctuation aside
    assert held_whole("After a merge: tag it like this", above)
    # most words but not all, or not in their order, is another statement
    assert not held_whole("after a release tag it like this in all my repos", above)
    assert not held_whole("tag it like this after a merge", above)
    # a word is matched whole: "repo" is not inside "repos"
    assert not held_whole("in all my repo", above)
    # two words are too common to be another line's whole wording
    assert not held_whole("tag it", above)


def test_a_general_rules_body_leaves_out_where_it_was_stated() -> None:
    assert general_body("- never bump the kiln's max temp (stated in kiln, ferry)") == (
        "never bump the kiln's max temp"
    )


def _rule(text: str, quote: str = "", *threads: str) -> Entry:
    return Entry(
        key=text,
        text=text,
        threads=set(threads or ("s1",)),
        projects=["ferry", "kiln"],
        implication=text,
        quote=quote,
        kind="rule",
        latest="2026-11-20",
    )


def test_the_summary_states_a_general_rule_once_when_another_quotes_it_whole() -> None:
    quoting = _rule("use `git tag -s`", QUOTE, "s1", "s2")
    held = _rule("after a merge tag it like this in all my repos, signed", "", "s2")
    other = _rule("keep the timetable CSVs in UTC", "", "s1")
    model = build_summary_model([], [], [other, held, quoting], [], [], [])
    # the rest keep their order
    assert [ln.text.split(" (")[0] for ln in model.general] == [
        "- keep the timetable CSVs in UTC",
        f'- use `git tag -s` — "{QUOTE}"',
    ]
    text = "\n".join(render_summary(Ledger({}, {}), model, FULL))
    assert text.count("after a merge tag it like this") == 1
    assert "keep the timetable CSVs in UTC" in text
