"""Rules said as statements of how things are done (issue 13, round 12x on corpus R): announced
by a lead-in or counted before they come, said of any thing of a kind, held under a condition on
any such case, told as this place's habit, a habit to go on with, a wish against a repeat; and a
rule that reacts to an incident keeps the incident, a condition that names the rule's "it" stays.
What is no rule stays out: a fact told about the code, a report, small talk. Every sentence is in
wording no corpus has (a bakery's ordering app, a radio firmware, a payroll service)."""

from __future__ import annotations

import pytest

from memoryd.extract.offline import is_preference, preference_implication, read_message
from memoryd.extract.offline.implication import with_context
from memoryd.extract.offline.sentences import split_sentences


def test_a_lead_in_that_announces_rules_makes_what_follows_a_rule() -> None:
    # who the rules come from, a kind of rule named, another place they hold in too
    for sentence, implication in (
        (
            "A couple of things from the firmware lead: tab width eight, and the debug UART "
            "runs at 921600 baud.",
            "tab width eight, and the debug UART runs at 921600 baud",
        ),
        (
            "Plus from me: secrets stay in the vault, the defaults live in settings.example.",
            "secrets stay in the vault, the defaults live in settings.example",
        ),
        (
            "Same as in the payroll service: config values come from the environment.",
            "config values come from the environment",
        ),
        ("Their conventions: kebab-case file names.", "kebab-case file names"),
    ):
        assert is_preference(sentence), sentence
        assert preference_implication(sentence) == implication


def test_a_count_before_them_makes_the_next_sentences_rules() -> None:
    reading = read_message(
        "Two complaints first. There's a FIXME in oven.py with no name on it, I can't ask "
        "anyone about a FIXME nobody owns. And the baker had no idea what shipped: every "
        "release gets a note in RELEASES.md. Then look at the checkout page."
    )
    assert reading.preferences == (
        "There's a FIXME in oven.py with no name on it, I can't ask anyone about a FIXME "
        "nobody owns.",
        "And the baker had no idea what shipped: every release gets a note in RELEASES.md.",
    )
    assert "checkout" in reading.title


@pytest.mark.parametrize(
    "sentence",
    [
        # a quantifier over a kind and a present tense
        "Any change to the schema goes through a migration file.",
        "Each order the bakery can see gets a row in the audit table.",
        "Whatever the exporter writes stays out of the repo.",
        "Nobody hand-edits the generated protobuf code.",
        "Vendored headers are not something anyone patches in place.",
        # a condition on any case of a kind, and what then holds
        "If a flaky test shows up in CI, it goes into the quarantine list.",
        "If it's a migration, it has a down step.",
        "Whenever you're about to tag a release, the changelog goes first.",
        "Before deleting any fixture, ask: the nightly job has no backup once it runs.",
        # this place's habit
        "Releases here get tagged from the trunk.",
        "Logging is structured JSON in this service.",
        # a habit to go on with, a style named as the subject
        "The radio team writes register names in capitals, their linter checks it, keep "
        "writing them that way.",
        "The baker wants the menu updated, and their style has no trailing commas in JSON, so "
        "remove the ones you add.",
        # a wish against a repeat, the agent bound to the user's own refusal
        "I don't want to see one in the wiki again.",
        "I will not be the one who breaks payroll twice, so neither will you.",
        # a condition on the agent's answer recurs with every task
        "When you report back, list the flags you passed, the baker bills by the run.",
        # what any such thing is: an indefinite that a relative clause narrows
        "A library nobody on the team knows is a discussion first, so ask.",
        # a warning told as what a loss came from; a prohibition under a condition
        "A bulk import that skips the preview is how the bakery lost its spring menu.",
        "Once a tag is public, the release stays as it is, no retagging to fix it up.",
    ],
)
def test_a_rule_said_as_a_statement_is_a_rule(sentence: str) -> None:
    assert is_preference(sentence), sentence


def test_the_rule_keeps_the_lead_in_or_the_condition_that_names_its_object() -> None:
    # the lead-in before a colon is the rule, what follows it the reason
    assert (
        preference_implication("Before renaming any table, ask me: other teams read it.")
        == "before renaming any table, ask me"
    )
    # "it" is what the condition named: the condition stays
    assert preference_implication(
        "And if you think we need another queue, talk to me before creating it;"
    ) == ("if you think we need another queue, talk to me before creating it")
    assert preference_implication("If it's a migration, it has a down step.") == (
        "if it's a migration, it has a down step"
    )
    # an initialism keeps its capitals
    assert preference_implication("PRs here get rebased, never merged.").startswith("PRs")


def test_a_rule_that_reacts_to_an_incident_is_quoted_with_it() -> None:
    text = (
        "Last spring someone pasted the SMTP key into the wiki. "
        "I don't want to see one in the wiki again."
    )
    sentences = split_sentences(text)
    assert with_context(sentences, sentences[1]) == text
    # a rule that names its own object needs no incident before it
    other = "Last spring someone pasted a key into the wiki. Keys stay in the vault."
    assert with_context(split_sentences(other), split_sentences(other)[1]) == (
        "Keys stay in the vault."
    )
    # "one file" counts a noun the rule names itself
    counted = (
        "No, it ran everything again, seven long minutes of waiting. "
        "It is annoying when you rebuild the world for one file."
    )
    assert with_context(split_sentences(counted), split_sentences(counted)[1]) == (
        "It is annoying when you rebuild the world for one file."
    )
    # "fixing it", "while it runs": the rule names its object itself
    own = (
        "The scale stopped reporting after I flashed it. "
        "If you add a comment while fixing it, write it in English."
    )
    assert with_context(split_sentences(own), split_sentences(own)[1]) == (
        "If you add a comment while fixing it, write it in English."
    )


@pytest.mark.parametrize(
    "sentence",
    [
        # a fact told about the code, a report, a request for now, small talk
        "The oven controller talks to the board over I2C.",
        "Each week the bakery sells out of rye.",
        "Nobody knows why the build is slow.",
        "Any idea why the scale reads zero?",
        "If you have a minute, look at the payroll logs.",
        "Notes from the meeting: the demo went well, the baker liked it.",
        "Same as before: the build is broken.",
        "Explain how to run the linter in this repo.",
        "The checkout page is broken here.",
        "Back from the conference, great talks on radios.",
        "That is how we lost the data.",
        "When you get back, check the oven logs.",
        "A file I opened is broken.",
        "A user who signed up yesterday is a tester.",
        "The shop wants a price list of the winter breads.",
        "If it fails, no worries, just tell me.",
    ],
)
def test_a_fact_a_report_or_small_talk_is_no_rule(sentence: str) -> None:
    assert not is_preference(sentence), sentence
