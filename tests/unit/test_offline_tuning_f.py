"""Round 6 of issue 13 (corpus F as a tuning corpus): the classes of miss F showed, each in
wording no corpus has (a bakery's ordering app, firmware, a Haskell service, docs)."""

from __future__ import annotations

from support.items import failures_of, result, run, user

from memoryd.consolidate.offline.meaning import same_meaning
from memoryd.consolidate.offline.scope import universal, unpointed
from memoryd.extract.offline import is_preference, preference_implication, read_message
from memoryd.extract.offline.changes import replacements
from memoryd.extract.offline.facts import statements
from memoryd.extract.offline.norms import scope_pointer
from memoryd.extract.offline.shell import error_excerpt


def test_a_sentence_that_only_points_elsewhere_makes_the_one_before_a_rule() -> None:
    reading = read_message(
        "the oven API speaks celsius only, conversions happen in the client. "
        "same story as in crumbcake"
    )
    assert reading.preferences == (
        "the oven API speaks celsius only, conversions happen in the client. "
        "same story as in crumbcake",
    )
    # the pointer is no request of its own: the title is the sentence it points back to
    assert "crumbcake" not in reading.title


def test_a_pointer_joins_a_rule_before_it_instead_of_standing_alone() -> None:
    reading = read_message("never flash the bootloader over USB. likewise for the sensor board")
    assert reading.preferences == (
        "never flash the bootloader over USB. likewise for the sensor board",
    )


def test_a_pointer_alone_or_a_long_sentence_starting_with_same_is_no_pointer() -> None:
    assert scope_pointer("same thing as in the cabal file")
    assert not scope_pointer("same result when I run the firmware test twice on the bench rig")
    assert read_message("ditto for the docs").preferences == ()


def test_a_bare_name_after_same_as_in_points_to_another_project() -> None:
    assert universal("heap allocation in ISRs is off the table, same rule as in thermocore")
    # an article before the name points to a thing, not a project
    assert not universal("lay the form out the same as in the mockup")


def test_where_a_rule_holds_is_not_what_it_asks() -> None:
    # two different rules share only their pointer to the same project: not one rule
    a = "receipts print in the shop's locale. same deal as in breadboard"
    b = "plain cabal build is banned on CI, same deal as in breadboard"
    assert not same_meaning(a, b, {"breadboard", "cabal"})


def test_a_general_rule_is_stated_without_the_project_it_pointed_to() -> None:
    text = "docs pages get one H1 each, same rule as in the handbook repo."
    assert unpointed(text) == "docs pages get one H1 each"
    assert unpointed("same as everywhere else") == "same as everywhere else"


def test_a_two_word_aside_before_a_fuller_request_is_not_the_title() -> None:
    assert read_message("afk, lunch. regenerate the proto stubs when you can").title == (
        "regenerate the proto stubs when you can"
    )
    # a terse request alone stays the title
    assert read_message("bump it.").title == "bump it"


def test_an_instruction_for_a_phase_of_any_work_is_a_rule() -> None:
    assert is_preference("rebuild only the touched crate while profiling, the full tree at night")
    assert is_preference("keep the logs verbose while you're bisecting")
    # "while" with no activity is a time for this one request
    assert not is_preference("restart the kiln service while nothing is baking")


def test_a_bare_port_after_on_anchors_a_fact() -> None:
    assert statements(["the preview server binds on :4173 when started from the docs folder"])


def test_two_clauses_joined_by_a_semicolon_are_one_fact() -> None:
    text = "- the docs preview binds on :4173; `/_health` is polled by the uptime checker"
    assert statements([text]) == [
        "The docs preview binds on :4173; `/_health` is polled by the uptime checker"
    ]


def test_how_a_thing_always_behaves_with_only_is_a_fact() -> None:
    text = "The nightly job rebuilds only the touched packages (`--changed-since origin/main`)."
    assert statements([text]) == [
        "The nightly job rebuilds only the touched packages (`--changed-since origin/main`)"
    ]


async def test_a_check_failing_in_one_command_and_passing_in_another_links_the_fix() -> None:
    # the push is blocked by a hook; the agent regenerates and runs the hooks alone, and
    # never pushes again: the hook's verdict, not the same command, says what fixed it
    items = [
        user("ship the new locale strings"),
        run("c1", "git push origin i18n-refresh"),
        result(
            "c1",
            1,
            "i18n-keys.............................Failed\n"
            "- hook id: i18n-keys\nmissing key checkout.total in fr.json\n",
        ),
        run("c2", "npx i18n-extract --write"),
        result("c2", 0, "wrote 3 locale files\n"),
        run("c3", "lefthook run pre-push"),
        result("c3", 0, "i18n-keys.............................Passed\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "missing key checkout.total" in lesson
    assert "fixed by `npx i18n-extract --write`" in lesson
    assert "`lefthook run pre-push` passed" in lesson


def test_a_passive_replacement_keeps_old_and_new_apart_and_a_list_marker_is_no_tool() -> None:
    assert replacements(["- make is replaced by just in the firmware repo"]) == [
        'Replaced: `make` is replaced by `just` ("make is replaced by just in the firmware repo")'
    ]
    assert replacements(["* the kiln daemon is gone"]) == [
        'Replaced: `kiln` is gone ("the kiln daemon is gone")'
    ]


def test_a_stopgap_for_now_is_no_switch_of_tool() -> None:
    assert replacements(["the registry is flaky, we use mirrorcache for now"]) == []
    assert replacements(["the bakery app uses bun now"]) == [
        'Switched to: `bun` ("the bakery app uses bun now")'
    ]


def test_a_log_line_of_critical_or_fatal_severity_is_the_error() -> None:
    body = (
        "INFO     loading scenario kiln-default\n"
        "CRITICAL Unable to reach the bench controller on /dev/ttyUSB0\n"
    )
    assert error_excerpt(body) == "CRITICAL Unable to reach the bench controller on /dev/ttyUSB0"
    assert error_excerpt('ts=1 level=info msg=up\nts=2 level=fatal msg="no oven config"') == (
        'ts=2 level=fatal msg="no oven config"'
    )


def test_an_error_header_ending_in_a_colon_takes_the_message_after_it() -> None:
    body = (
        "[12:00:01] compiling recipes\n"
        "[12:00:02] Build halted with error:\n"
        "  oven.yaml: key 'temp' missing\n"
    )
    assert error_excerpt(body) == (
        "[12:00:02] Build halted with error: oven.yaml: key 'temp' missing"
    )


def test_an_assertion_message_says_more_than_a_test_verdict_line() -> None:
    body = "test crust_ratio ... FAILED\n\nassertion `left == right` failed: ratio drifted\n"
    assert error_excerpt(body) == "assertion `left == right` failed: ratio drifted"


def test_a_verb_on_a_pronoun_continues_the_task_at_hand() -> None:
    assert read_message("merge them").follow_up
    assert read_message("approve it please").follow_up
    assert not read_message("write docs for it").follow_up


def test_a_contrast_with_the_refused_thing_first_is_a_rule() -> None:
    s = "not cabal install for the tools, `ghcup install` — it keeps the versions in one place"
    assert is_preference(s)
    assert preference_implication(s) == "use `ghcup install`, not cabal install for the tools"
    for s in ("not sure, maybe the oven cache", "not now, after lunch"):
        assert not is_preference(s), s


def test_a_restriction_on_a_kind_of_thing_is_a_rule() -> None:
    assert is_preference("only release branches get signed tags, the rest stay untagged")
    # a count of things at hand is a report
    assert not is_preference("only two firmware tests fail on the bench")
