"""A rule restated in other words in another project is one general rule (issue 13, round
12j): cores compared without their reasons and asides, shared words weighted by their rarity
among the user's rules, and a join refused when a slot holds another value. The wording here
is in no quality corpus, so that passing says the mechanism generalises, not that it learnt a
phrase."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.items import user
from support.offline_memory import consolidate, read_source, session

from memoryd.consolidate.offline.meaning import same_meaning
from memoryd.consolidate.offline.model import general_rule_keys, rule_aliases
from memoryd.consolidate.offline.mood import directs
from memoryd.consolidate.offline.restated import (
    MIN_COVER,
    clauses,
    core,
    cover,
    opposed,
    other_value,
    rarity,
    runners_of_tests,
)
from memoryd.consolidate.offline.sources import Source

# Rules each project also holds, so that rarity is measured among several of the user's rules.
_OTHERS = {
    "/w/tern": [
        "run the linter before pushing",
        "the staging database is reset every night",
    ],
    "/w/plover": [
        "keep the README's install section short",
        "never commit generated protobuf files",
    ],
}


def _said(rule: str) -> str:
    return f'the user said "{rule}" -> in similar future tasks, {rule}'


def _sources(a: str, b: str) -> list[Source]:
    return [
        read_source(n, cwd, [_said(r) for r in [rule, *_OTHERS[cwd]]])
        for n, (cwd, rule) in enumerate([("/w/tern", a), ("/w/plover", b)], start=1)
    ]


def _joined(a: str, b: str) -> bool:
    sources = _sources(a, b)
    aliases = rule_aliases(sources)
    general = general_rule_keys(sources, aliases)
    keys = {k for k in aliases if aliases[k] in general}
    assert len(set(aliases.values())) >= 5  # the other rules stay apart
    return len(keys) == 2 and len(general) == 1


# Two restatements of one rule: their cores share two rare words, their reasons, conditions
# and asides share nothing.
TRANSLATED = (
    "user-facing strings must always go through the translation helper, our Polish customers "
    "read them",
    "if you write a string a visitor sees, wrap it in the translation helper so the Lisbon "
    "office can translate it",
)


def test_a_rule_restated_with_other_reasons_in_two_projects_is_one_general_rule() -> None:
    a, b = TRANSLATED
    assert not same_meaning(a, b, set())  # the words alone leave them apart
    assert _joined(a, b)


def test_a_core_is_the_rule_without_its_reason_concession_or_example() -> None:
    assert clauses("wrap it in the helper so the Lisbon office can translate it") == [
        "wrap it in the helper"
    ]
    assert clauses("timestamps in UTC, even though the shop is in Oslo") == ["timestamps in UTC"]
    assert clauses("tag each release, like v2.3.1, before the upload") == [
        "tag each release",
        "before the upload",
    ]
    # the alternative a pair turns down is not a clause of its own
    assert clauses("answers in Dutch, not English") == ["answers in Dutch"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # the same frame, another value at its end
        (
            "open pull requests against qa, the nightly build deploys it",
            "open pull requests against trunk, nobody reviews the other branches",
        ),
        # another number
        (
            "wrap prose lines in the docs at 100 columns, the reviewers read diffs side by side",
            "wrap prose lines in the docs at 72 columns so the terminal diff stays readable",
        ),
        # one style and another for the same thing
        (
            "indent the templates with tabs, the linter in this repo demands it",
            "indent the templates with two spaces, the formatter does it for us",
        ),
        # another name in code
        (
            "the fixtures load through `make seed-demo`, the demo data lives there",
            "the fixtures load through `make seed-small`, the laptop has little disk",
        ),
    ],
)
def test_look_alike_rules_with_another_value_stay_two_project_rules(a: str, b: str) -> None:
    assert other_value(core(a), core(b))  # what keeps them apart, however much they share
    assert not _joined(a, b)


def test_a_rule_and_its_negation_are_not_joined() -> None:
    a = "rebase feature branches onto trunk before review, the history reads straight"
    b = "never rebase feature branches once someone reviews them, their comments get lost"
    everyone = [a, b, *(r for rules in _OTHERS.values() for r in rules)]
    idf = rarity(core(r) for r in everyone)
    # they share enough rare words to be joined, were it not that one turns down the other
    assert cover(core(a), core(b), idf) >= MIN_COVER
    assert opposed(core(a), core(b))
    assert not _joined(a, b)


def _root_with(tmp_path: Path, a: str, b: str) -> tuple[str, str]:
    rows = [
        session(1, "/w/tern", 0, [user(f"{a}. Now add the export button.")]),
        session(2, "/w/plover", 3, [user(f"{b}. Next, fix the footer spacing.")]),
    ]
    return consolidate(tmp_path, rows)


def test_a_joined_rule_is_written_once_for_every_project(tmp_path: Path) -> None:
    a, b = TRANSLATED
    memory, summary = _root_with(tmp_path, a, b)
    general = memory.split("# General rules (for every project)", 1)[1].split("<!--")[0]
    # one line in MEMORY.md, in its general section, naming both projects (so scoped to none)
    said = [ln for ln in memory.splitlines() if "translation helper" in ln]
    assert len(said) == 1 and said[0] in general
    assert said[0].endswith("(stated in plover, tern; 2 sessions)")
    # and one in the summary's general part
    prefs = summary.split("## User preferences", 1)[1].split("\n## ", 1)[0]
    said = [ln for ln in summary.splitlines() if "translation helper" in ln]
    assert len(said) == 1 and said[0] in prefs
    assert said[0].endswith("(stated in plover, tern)")


def test_a_program_that_runs_the_tests_is_read_as_the_tests() -> None:
    runners = runners_of_tests(
        [
            "Run the tests with `uv run nose2 -v`",
            "Run the tests with `docker compose run app bin/kahlan --ff`",
            "Run the tests with `cargo test --workspace`",  # the subcommand says it
            "Check it with `bin/phpstan analyse`",  # not the tests
        ]
    )
    assert runners == {"nose2", "kahlan"}
    a = "the whole test run has to be green before you push anything"
    b = "do a kahlan run before every push, the CI minutes are paid by the hour"
    sources = _sources(a, b)
    sources[1].tasks[0].knowledge.append(
        "Run the tests with `docker compose run app bin/kahlan --ff`"
    )
    aliases = rule_aliases(sources)
    general = general_rule_keys(sources, aliases)
    assert len(general) == 1
    # without the how-to line, "kahlan" is just a word the other rule lacks
    assert not _joined(a, b)


def test_a_norm_said_of_anyone_is_a_rule_and_a_complaint_is_not() -> None:
    norm = "the generated schema is not something anyone touches by hand"
    assert not directs(norm) and core(norm).directs
    assert not core("the nightly export does not finish anymore since the upgrade").directs
    a = "never hand-edit the generated schema, regenerate it with the script"
    assert _joined(a, norm)


def test_a_path_or_a_call_is_what_a_rule_is_about_not_words_to_share() -> None:
    # two different rules that share "add context": one names a path whose "lib" is no
    # library, the other a call the core cuts to a word ("no panic()")
    a = "outgoing requests use pkg/lib/httpwrap.go, never the bare client: it adds context"
    b = "in library code: no panic(), add context"
    assert "pkg/lib/httpwrap.go" in core(a).ideas
    assert "dependency" not in core(a).ideas  # the idea "library" stands for
    assert not _joined(a, b)
    # a branch prefix is a path too, and two rules that name it still share it
    assert "ds/" in core("start every branch name with ds/ so mine stand out").ideas
