"""Run-on paragraphs and hedged wishes (issue 13, round 14, tuned on corpus T).

A user who writes one long comma-spliced paragraph buries a rule in its middle: the rule is a
clause, not the paragraph, and the rest of the paragraph (a greeting, the task, an aside about
her week) must not become part of it. A rule hedged for politeness ("I think it'd be best if",
"ideally") asks as firmly as "should" when what it wishes holds of a kind of thing or
habitually; a wish about an event of this task is a request for now. A subordinate clause
about one coming event of someone else's opens no instruction, and what the user did instead
of something is a report. Wording no corpus has (a brewery's fermentation monitor)."""

from __future__ import annotations

from memoryd.extract.offline.implication import preference_implication
from memoryd.extract.offline.language import read_message
from memoryd.extract.offline.rules import hedged_wish, is_preference
from memoryd.extract.offline.sentences import imperative, run_on, run_on_clauses, spoken_sentences

PARAGRAPH = (
    "Morning, so the fermenter dashboard has been blank since Friday and the brewers are "
    "annoyed because they read gravity off it every shift, could you find out why the "
    "collector stopped, and just so you know the head brewer wants the production database "
    "touched by the collector service only, so anything you try by hand goes against the "
    "staging copy and not the real one, the logs are probably enough anyway."
)


def test_a_run_on_paragraph_is_cut_into_its_clauses() -> None:
    assert run_on(PARAGRAPH)
    clauses = run_on_clauses(PARAGRAPH)
    assert len(clauses) >= 3
    assert " ".join(clauses).replace(",", "") == PARAGRAPH.replace(",", "").replace("  ", " ")
    rule = [c for c in clauses if "collector service only" in c]
    assert rule and not rule[0].startswith("Morning")
    assert "dashboard has been blank" not in rule[0]


def test_a_short_sentence_or_one_without_commas_is_left_whole() -> None:
    short = "Morning, could you look at the collector, it stopped on Friday."
    assert not run_on(short) and run_on_clauses(short) == [short]
    long_without_commas = " ".join(["the collector writes gravity readings"] * 10)
    assert run_on_clauses(long_without_commas) == [long_without_commas]


def test_a_subordinate_clause_stays_with_its_main_clause() -> None:
    s = (
        "The gravity readings stopped arriving on Friday night after the router was replaced "
        "by the landlord, which nobody told us about, and while you're in the collector code, "
        "the readings should be stored in plato and not in specific gravity, because the "
        "brewers think in plato."
    )
    clauses = run_on_clauses(s)
    # "which …" and "because …" follow their main clause; "while …" leads the next one
    assert any(c.endswith("which nobody told us about") for c in clauses), clauses
    main = next(c for c in clauses if "stored in plato" in c)
    assert main.startswith("and while you're in the collector code")
    assert main.endswith("because the brewers think in plato.")


def test_the_rule_buried_in_a_paragraph_is_read_as_a_rule_and_the_rest_is_not() -> None:
    reading = read_message(PARAGRAPH)
    assert len(reading.preferences) == 1, reading.preferences
    assert "collector service only" in reading.preferences[0]
    assert "Morning" not in reading.preferences[0]
    greeting = next(s for s in spoken_sentences(PARAGRAPH) if "Morning" in s)
    assert greeting not in reading.preferences


def test_a_hedged_wish_about_a_kind_of_thing_or_a_habit_is_a_rule() -> None:
    for s, wish in (
        (
            "and I think it'd be best if every batch record carried the yeast lot number",
            "every batch record carried the yeast lot number",
        ),
        (
            "ideally the collector retries with a backoff instead of crashing",
            "the collector retries with a backoff instead of crashing",
        ),
        (
            "it would be good if the exported CSVs were in UTC, the brewers travel",
            "the exported CSVs were in UTC, the brewers travel",
        ),
    ):
        assert hedged_wish(s) == wish, s
        assert is_preference(s), s
    assert preference_implication(
        "I think it'd be best if every batch record carried the yeast lot number"
    ) == ("ideally every batch record carried the yeast lot number")


def test_a_hedged_wish_about_this_task_or_a_thing_pointed_at_is_no_rule() -> None:
    for s in (
        "I think it'd be best if the dashboard got restarted after the fix",
        "ideally that is done before the brewers arrive",
        "I think it'd be best if those were plain text files",
        "it would be nice if the tests passed",
        "it would be great if the chart was green again",
        "I think it'd be best if we sorted this out today",
    ):
        assert hedged_wish(s) == "", s
        assert not is_preference(s), s


def test_a_subordinate_clause_about_one_coming_event_is_no_instruction() -> None:
    """Unpunctuated, "before you change anything show me the diff" is an instruction under a
    condition on any case; "before the head brewer tastes it I want the chart fixed" waits
    for one event of someone else's and asks for this task only."""
    assert imperative("before you touch the collector show me the plan")
    assert is_preference("before you touch the collector show me the plan first")
    assert imperative("before deploying run the smoke test")
    assert imperative("after a PR gets fixup commits squash them with autosquash")
    assert not imperative("before the head brewer tastes it I want the chart fixed")
    assert not is_preference("so before the head brewer tastes it I want the chart fixed")
    assert not imperative("after the keg is empty swap the sensor")
    # a flag spelled like a subordinator is no subordinator: it reads as any other flag would
    # (a determiner after it, as "the" is here, is what the one-event check looks for)
    assert imperative("--since the epoch drops records") == imperative(
        "--output the epoch drops records"
    )


def test_what_the_user_did_instead_of_something_is_a_report_not_a_rule() -> None:
    assert not is_preference(
        "So I tried reading the gravity from the spare sensor instead of the main one and "
        "it reads zero"
    )
    assert not is_preference("We ran the export by hand rather than through cron and it worked")
    # a rule recalled by a verb of saying stays a rule
    assert is_preference("I told you to use the staging copy instead of the production one")
    assert is_preference("We agreed on UTC rather than local time in every export")


def test_hedges_nested_without_end_are_no_rule_and_do_not_recurse_without_bound() -> None:
    """Each "it'd be best to" inside another sends ``hedged_wish`` through ``whole_rule``
    once more: a few hundred of them (a hostile message of some 6,000 characters) raised
    RecursionError."""
    nested = "it'd be best to " * 400 + "keep every batch record small"
    assert hedged_wish(nested) == ""
    assert not is_preference(nested)
    # a hedge or two inside another is still read through
    twice = "it'd be best to " * 2 + "always keep every batch record under a megabyte"
    assert hedged_wish(twice) == "it'd be best to always keep every batch record under a megabyte"
