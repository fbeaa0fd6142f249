"""A sentence the user takes back in the same message (issue 13, round 13): "… one day?
actually forget it, not now" asks for nothing and is no rule, and what follows the words that
take it back still counts. Wording no corpus has (a bakery's ordering app)."""

from __future__ import annotations

from memoryd.extract.offline.language import read_message, taken_back


def test_the_sentence_before_forget_it_is_taken_back_with_it() -> None:
    assert taken_back(
        ["bump the croissant count to 40", "could the oven API go async one day?", "oh forget it."]
    ) == ["bump the croissant count to 40"]
    # the words after the take-back are what the user now says
    assert taken_back(["set the oven to 210", "scratch that, 195 for rye"]) == ["195 for rye"]
    assert taken_back(["never mind, not now"]) == []
    # "ignore that warning" is an instruction about a warning, not a take-back
    assert taken_back(["ignore that warning from the linter"]) == [
        "ignore that warning from the linter"
    ]


def test_a_question_taken_back_is_neither_the_title_nor_a_rule() -> None:
    reading = read_message(
        "1. the rye loaf timer is off by ten minutes\n2. run the order tests\n\n"
        "also: could we move the app to Svelte one day? actually never mind, not now"
    )
    assert "Svelte" not in reading.title
    assert not any("never mind" in p for p in reading.preferences)


def test_taking_something_back_with_a_report_asks_for_nothing_new() -> None:
    reading = read_message("never mind, I restarted the proofing cabinet myself")
    assert reading.follow_up
    assert reading.preferences == ()
