"""The summary's lines worded densely (memoryd/consolidate/offline/dense.py), in wording of
their own: a bakery's till, a choir's rota, a tide gauge."""

from __future__ import annotations

from memoryd.consolidate.offline.dense import (
    dont_line,
    lesson_line,
    passes_after_fix,
    restates,
    rule_line,
    self_contained,
    where_line,
)


def test_a_rule_cut_from_the_users_sentence_drops_the_lead_in_and_keeps_the_reason() -> None:
    head = "the till receipts stay in German"
    quote = "Small favour: the till receipts stay in German, the tax office reads them."
    assert rule_line(head, quote) == (
        "the till receipts stay in German, the tax office reads them."
    )


def test_a_condition_before_the_rule_stays_with_it() -> None:
    head = "ask me before you rename a hymn file"
    quote = "One more thing: when the rota is frozen, ask me before you rename a hymn file."
    assert rule_line(head, quote) == (
        "when the rota is frozen, ask me before you rename a hymn file."
    )


def test_a_rule_that_starts_a_later_sentence_keeps_the_sentence_before() -> None:
    # the sentence before names what the rule is about
    quote = "Tag it. The log lines say the gauge id."
    assert rule_line("the log lines say the gauge id", quote) == quote


def test_a_rule_after_a_report_in_a_later_sentence_drops_both() -> None:
    head = "oven logs never leave the shop, give the tests a copy instead"
    quote = (
        "Bake the rolls. and the proofer test reads live logs — oven logs never leave the "
        "shop, give the tests a copy instead."
    )
    assert rule_line(head, quote) == head + "."


def test_a_quote_that_adds_an_aside_or_nothing_is_left_out() -> None:
    head = "do not reflow the sensor tables"
    assert rule_line(head, "It annoys me when you reflow the sensor tables.") == head
    assert rule_line(head, "Do not reflow the sensor tables, please.") == head
    # a quote with more to say stays beside the rule
    quote = "Leave `tables/*.csv` alone, the calibration script parses them by column."
    assert rule_line(head, quote) == f'{head} — "{quote}"'


def test_a_lesson_says_its_fix_without_after_which_it_passed() -> None:
    text = '`make loaves` failed: "no yeast"; fixed by `make starter`, after which it passed'
    assert lesson_line(text) == '`make loaves` failed: "no yeast"; fixed by `make starter`'
    other = "`make loaves` failed; fixed by `make starter`, after which `make bake` passed"
    assert lesson_line(other) == other  # a rerun under another command says which


def test_a_rejected_action_is_a_dont_first_without_the_bookkeeping() -> None:
    cmd = 'The user rejected `rm -rf proofs/` ("no, the proofs are my only copy"): don\'t repeat it'
    assert dont_line(cmd) == (
        'don\'t run `rm -rf proofs/` (rejected: "no, the proofs are my only copy")'
    )
    prop = (
        "The user rejected the proposal to run `git reset --hard` "
        '("nope, my flour notes are uncommitted"): don\'t repeat it'
    )
    assert dont_line(prop) == (
        'don\'t run `git reset --hard` (rejected: "nope, my flour notes are uncommitted")'
    )
    said = (
        'The user rejected the proposal to "I could delete the old hymn index." '
        '("no, the old index feeds the printer"): don\'t repeat it'
    )
    assert dont_line(said) == (
        'don\'t: "I could delete the old hymn index." (rejected: "no, the old index feeds the '
        'printer")'
    )
    assert dont_line("Bake at 220 degrees") == "Bake at 220 degrees"


def test_a_rejection_whose_words_a_rule_already_says_is_that_rule() -> None:
    prop = (
        "The user rejected the proposal to run `git push --force` "
        '("No. The gauge branch is never force-pushed"): don\'t repeat it'
    )
    rules = ["the gauge branch is never force-pushed, it feeds the buoys"]
    assert dont_line(prop, rules) == ""
    # the quote says the rule and more
    longer = prop.replace("force-pushed", "force-pushed, ask Ines")
    assert dont_line(longer, ["the gauge branch is never force-pushed"]) == ""
    # a quote that adds one word says nothing more; one with a reason does
    halt = 'The user rejected `make flash` ("Stop, not make flash."): don\'t repeat it'
    assert dont_line(halt) == "don't run `make flash`"
    assert dont_line(prop, ["the buoys are calibrated weekly"]).endswith('force-pushed")')


def test_a_line_whose_words_a_better_line_holds_restates_it() -> None:
    better = ["tide: The gauge URL comes from `TIDE_URL` (.env.local sets http://127.0.0.1:7070)"]
    assert restates("tide: `TIDE_URL=http://127.0.0.1:7070` is set in `.env.local`", better)
    assert not restates("tide: `TIDE_URL=http://127.0.0.1:7071` is set in `.env.local`", better)
    assert not restates("tide: the buoy feed is read from `BUOY_URL`", better)


def test_a_general_rule_from_many_projects_says_how_many() -> None:
    assert where_line(["till", "rota"]) == "stated in till, rota"
    assert where_line(["a", "b", "c", "d"]) == "stated in 4 projects"
    assert where_line(["till"]) == "stated for every project"


def test_a_statement_that_leans_on_the_one_before_is_not_self_contained() -> None:
    assert not self_contained("Without it, the oven timer falls back to 40 minutes")
    assert not self_contained("after that the rota is mailed to the altos")
    assert self_contained("Without `OVEN_PROFILE`, the timer falls back to 40 minutes")
    assert self_contained("It builds with `make loaves`")


def test_a_rule_in_a_clipped_quote_is_said_once() -> None:
    head = "we proof the dough overnight, never on the heater, because the crumb collapses"
    quote = "I nearly did `heat 40` but Lea says we proof the dough overnight, never on the he…"
    assert rule_line(head, quote) == head


def test_a_lesson_whose_command_passed_once_fixed_shows_how_to_run_it() -> None:
    assert passes_after_fix('`make proofs` failed: "no ink"; fixed by `make ink`')
    assert not passes_after_fix(
        "`make proofs` failed; fixed by `make ink`, after which `make proofs-a4` passed"
    )
    assert not passes_after_fix("`make proofs` failed; `make proofs-a4` works instead")
    assert not passes_after_fix("Print the proofs with `make proofs`")
