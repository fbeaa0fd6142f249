"""Round 8 of issue 13 (H and K as tuning corpora): rules a user accepts from the agent's
proposal, lessons the user says back, exact values read as settings. Wording of no corpus."""

from __future__ import annotations

from memoryd.extract.offline.facts import _statement, statements
from memoryd.extract.offline.judge import Printed
from memoryd.extract.offline.language import accepted_proposal, restates

_PROPOSAL = (
    "The kiln log shows the same drift twice. I propose `kilnctl calibrate --cold`: it zeroes "
    "the sensor before each firing. Anything else would hide the drift."
)


def test_a_proposal_accepted_for_every_case_is_a_rule_in_its_words() -> None:
    got = accepted_proposal(_PROPOSAL, "okay go ahead, and for every firing in the studio the same")
    assert got is not None
    assert got[1] == "use `kilnctl calibrate --cold`"


def test_a_proposal_accepted_for_now_only_is_no_rule() -> None:
    assert accepted_proposal(_PROPOSAL, "okay go ahead") is None


def test_a_refused_proposal_is_no_rule() -> None:
    assert accepted_proposal(_PROPOSAL, "no, that is wrong for every kiln") is None


_LESSON = (
    "The loom controller reads its tension table at boot, so a changed table needs a power "
    "cycle; `loomd` has a `[tension]` block: `warp=0x2F`."
)


def test_a_restatement_shares_meaning_words_with_the_answer() -> None:
    assert restates("so the tension table is only read at boot and I power cycle it?", _LESSON)
    assert not restates("thanks, what about the shuttle?", _LESSON)


def test_an_anchored_sentence_said_back_needs_no_verb_of_state() -> None:
    sentence = "`loomd` has a `[tension]` block: `warp=0x2F`."
    assert _statement(sentence) is None
    assert _statement(sentence, loose=True) is not None
    assert any("[tension]" in s for s in statements([_LESSON], conclusions=[_LESSON]))
    assert not any("[tension]" in s for s in statements([_LESSON]))


def test_a_hex_value_anchors_a_statement() -> None:
    assert _statement("Gauge boards use 0x3A or 0x3B depending on the jumper") is not None


def test_a_long_number_printed_as_a_setting_is_not_transient() -> None:
    sentence = "Frames come at 230400, so use `link.open(230400)` on the pier bridge."
    assert _statement(sentence) is None
    assert _statement(sentence, seen=Printed.of("baud_rate = 230400\n")) is not None


def test_a_conclusion_that_tells_an_event_is_no_statement() -> None:
    sentence = "Greta added `pier_utils` to deps.yml; after `pier sync` the gauges load: OK=7"
    assert _statement(sentence, loose=True) is None


def test_a_verdict_before_a_colon_leaves_the_statement_after_it() -> None:
    got = _statement("They never clash: the gauge daemon listens on port 7311 on the pier host.")
    assert got is not None and got.startswith("The gauge daemon listens on port 7311")
    got = _statement(
        "I tried it on the bench: the relay board runs on port 7312 (from `relay.toml`)."
    )
    assert got is not None and got.startswith("The relay board runs on port 7312")


def test_an_instruction_under_a_recurring_condition_after_it_is_a_rule() -> None:
    from memoryd.extract.offline.language import read_message

    assert read_message("please spell out the units when you quote them, I mix them up").preferences
    assert read_message(
        "when it's kiln work, just give me the dial setting and I set it myself"
    ).preferences
    assert not read_message("ping me when you find it").preferences
    assert not read_message("commit it when you are done").preferences


def _message(role: str, text: str) -> dict[str, object]:
    kind = "input_text" if role == "user" else "output_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def test_the_accepted_proposal_is_the_rule_of_a_reply_that_only_scopes_it() -> None:
    from memoryd.extract.offline.timeline import analyse

    items = [
        _message("user", "the glaze test tiles crack in the kiln, what do I change?"),
        _message("assistant", _PROPOSAL),
        _message("user", "okay do like you say, and for every firing in the studio the same"),
    ]
    rules = [p.implication for t in analyse(items, "/studio", None).tasks for p in t.preferences]
    assert "use `kilnctl calibrate --cold`" in rules


def test_a_reply_that_states_the_rule_itself_keeps_its_own_words() -> None:
    answer = "Your kiln logs start with `fz-`, so I propose `fz-glaze-run`."
    assert accepted_proposal(answer, "yes, fz- and then the glaze, for every log") is None


def test_a_pointer_to_the_users_other_work_makes_a_convention_a_rule() -> None:
    from memoryd.extract.offline.language import read_message

    assert read_message(
        "and glazing by hand is a no here too, like in my pottery project"
    ).preferences
    assert read_message("tag the firing log with fz- in front like my other logs").preferences
    assert not read_message("it looks like my kiln is broken").preferences
    assert not read_message("the crack is like my other tile, odd").preferences


def test_a_proposal_that_points_ahead_keeps_the_command_after_its_colon() -> None:
    answer = (
        "The gauge reads low. I propose to always start it like this on the pier:\n"
        "`gaugectl up --zero`"
    )
    got = accepted_proposal(answer, "okay, do like you say, and the same for every gauge")
    assert got is not None and got[1].endswith("`gaugectl up --zero`")


def test_a_pointer_that_names_nothing_is_no_rule() -> None:
    from memoryd.extract.offline.language import read_message

    assert not read_message("make a log for the firing, like my other ones").preferences


def test_a_rule_done_like_in_another_piece_of_work_holds_everywhere() -> None:
    from memoryd.consolidate.offline.scope import universal

    assert universal("log every firing before glazing, like we did on my pottery site")
    assert not universal("log every firing before glazing, like the manual says")


def test_a_question_without_its_mark_is_no_rule() -> None:
    from memoryd.extract.offline.rules import is_preference

    assert not is_preference("what is $glaze, I never made that file")
    assert is_preference("never touch the glaze file by hand")
