"""Round 11u of issue 13: what the user says in their own words. A standing instruction
phrased as a condition or a request with a generic object, a user's recap of what the agent
explained (kept as corrected when the agent corrects it), and a refusal that names one of two
offered options. Every sentence is in wording no corpus has (a beekeeping log, a tide-table
app, a print shop's queue, a choir's rota)."""

from __future__ import annotations

from typing import Any

import pytest
from support.items import assistant, failures_of, patch, patch_ok, result, run, user

from memoryd.consolidate.offline.meaning import rule_key, same_meaning
from memoryd.extract.offline import is_preference, preference_implication, read_message
from memoryd.extract.offline.lessons import rejected_lines
from memoryd.extract.offline.recap import corrected, correction, negated, recap_of
from memoryd.extract.offline.tasks import Preference
from memoryd.extract.offline.timeline import analyse
from memoryd.textutil import content_words

HIVES = "/home/oona/src/hivelog"


def _preferences(items: list[dict[str, Any]]) -> list[Preference]:
    return [p for t in analyse(items, HIVES, None).tasks for p in t.preferences]


# --- 1. a standing instruction: a condition on the agent's work, or a generic object ---


@pytest.mark.parametrize(
    ("sentence", "kept"),
    [
        # a condition on any of a kind of the agent's work, then what to do
        (
            "when you rename a column, mention the migration it needs in the same reply",
            "when you rename a column, mention the migration",
        ),
        (
            "if you touch a tide table please regenerate the fixtures afterwards",
            "if you touch a tide table please regenerate the fixtures",
        ),
        # work in progress on a kind (a bare plural) is a condition too
        (
            "if you're adding hive columns, note the unit in the header",
            "if you're adding hive columns, note the unit",
        ),
        # a request in question form whose object names no one thing, and a manner
        (
            "could you describe things with a small diagram at the top?",
            "describe things with a small diagram",
        ),
        ("can you walk me through stuff step by step?", "walk me through stuff step by step"),
        # one of the agent's steps put before another of its own: an order of work
        (
            "would you list the risky lines first, before rewriting anything?",
            "list the risky lines first, before rewriting",
        ),
        ("Please show me the plan before you touch the queue code.", "show me the plan before"),
    ],
)
def test_a_standing_instruction_without_a_trigger_word_is_a_rule(sentence: str, kept: str) -> None:
    assert is_preference(sentence), sentence
    assert kept in preference_implication(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        # a request about the thing at hand stays a task
        "can you fix this rota test?",
        "could you rename the column in the hive table?",
        "can you tidy things up?",
        "can you commit everything with one message?",
        # a question stays a question
        "can you explain what this stack trace means?",
        "could you describe the diff before I merge it?",
        # a condition about the agent's time, or one event, is no standing condition
        "if you have a minute, look at the print queue",
        "when you get a chance, rerun the tide import",
        "when you are done, show me the queue",
        "if you're free, look at the rota",
    ],
)
def test_a_request_about_the_thing_at_hand_or_its_time_stays_a_task(sentence: str) -> None:
    # the same verbs on a generic object, or under a condition on the agent's work, are rules
    assert is_preference("can you fix things like this with a failing test first?")
    assert is_preference("when you rename a test, update the rota docs too")
    assert not is_preference(sentence), sentence


def test_the_request_stays_the_task_title_when_its_rule_is_kept() -> None:
    reading = read_message(
        "The swarm alert is late again. could you explain why first, before patching it?"
    )
    assert reading.preferences == ("could you explain why first, before patching it?",)
    assert reading.title.startswith("The swarm alert is late again")


# --- 2. the user's recap of what the agent explained ---


def test_a_conclusion_in_generic_present_tense_reads_as_a_lesson() -> None:
    assert recap_of("ok so basically: every hive row needs an inspection date, never a blank") == (
        "every hive row needs an inspection date, never a blank"
    )
    assert recap_of("so in this app a tide height is stored in centimetres, not metres") == (
        "in this app a tide height is stored in centimetres, not metres"
    )
    # a report, a request and a purpose are no recap
    assert recap_of("so I reloaded the queue and it crashed twice") == ""
    assert recap_of("so rerun the choir import for me") == ""
    assert recap_of("so that the queue drains faster, bump the workers") == ""
    assert recap_of("so it still shows the old rota") == ""
    assert recap_of("so this writes the rota twice on every save") == ""  # the thing at hand
    assert recap_of("so we need to bump the tide table version") == ""  # a plan


def _explained(answer: str, recap: str, *after: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        user("why does the hive weight graph jump at midnight?"),
        run("c1", "grep -n resample src/weights.py"),
        result("c1", 0, "41:    df = df.resample('1D').mean()\n"),
        assistant(answer),
        user(recap),
        *after,
    ]


_WHY = (
    "The scale logs in UTC, and `resample('1D')` cuts the day at UTC midnight, so the daily "
    "mean mixes two local days. Weight readings should be resampled in local time: convert "
    "the index with `tz_convert('Europe/Helsinki')` before resampling."
)


def test_a_recap_of_the_explanation_becomes_a_rule_in_the_users_words() -> None:
    prefs = _preferences(
        _explained(
            _WHY,
            "so basically weight readings get converted to local time before any resample",
            assistant("Exactly, that keeps each day's mean inside one local day."),
        )
    )
    rules = [p.implication for p in prefs]
    assert "weight readings get converted to local time before any resample" in rules


def test_a_recap_that_repeats_nothing_the_agent_explained_is_no_lesson() -> None:
    prefs = _preferences(
        _explained(_WHY, "so basically the bee club meets on thursdays in the old barn")
    )
    assert prefs == []
    # the same shape, saying back what was explained, is one
    prefs = _preferences(_explained(_WHY, "so basically readings are resampled in local time"))
    assert [p.implication for p in prefs] == ["readings are resampled in local time"]


def test_a_recap_the_agent_corrects_is_kept_in_the_corrected_form() -> None:
    prefs = _preferences(
        _explained(
            _WHY,
            "so basically the index is converted with tz_convert('Europe/Oslo') before resampling",
            assistant(
                "Close: it's `tz_convert('Europe/Helsinki')`, the apiary's zone. Oslo would "
                "shift the cut by an hour."
            ),
        )
    )
    said = [f"{p.quote} {p.implication}" for p in prefs]
    assert any("Europe/Helsinki" in r for r in said), said
    assert not any("Europe/Oslo" in r for r in said), said  # neither the rule nor its quote


def test_a_recap_asked_as_a_question_counts_once_the_agent_confirms_it() -> None:
    asked = "so basically readings get converted to local time before the resample?"
    confirmed = _preferences(_explained(_WHY, asked, assistant("Right, before every resample.")))
    assert [p.implication for p in confirmed] == [
        "readings get converted to local time before the resample"
    ]
    # unanswered, a question stays a question
    assert _preferences(_explained(_WHY, asked)) == []


def test_a_correction_swaps_the_name_it_brings_for_the_one_most_like_it() -> None:
    fix = correction("Almost: it reads PRINTQ_WORKERS. PQ_WORKERS is unused.")
    assert fix == "it reads PRINTQ_WORKERS."
    assert corrected("the queue reads PQ_WORKERS at start", fix) == (
        "the queue reads PRINTQ_WORKERS at start"
    )
    # a correction without a name is kept in the agent's words
    fix = correction("Not quite. It is rebuilt on every save.")
    assert corrected("the rota is rebuilt nightly", fix) == "It is rebuilt on every save"
    # an answer that opens with no hedge corrects nothing
    assert correction("Yes, at two in the morning.") == ""
    assert corrected("the rota is rebuilt nightly", "") == ""


# --- 3. a refusal that names one of two offered options ---


_OFFER = (
    "The queue stalls because a job holds the printer lock while it renders. One way is to "
    "render outside the lock with `render_then_lock()`, so only the send is serialised. For "
    "the stuck jobs, I could run `purge_queue --all` to clear them. Should I do both?"
)


async def test_a_refusal_names_the_option_it_refuses_and_the_other_is_taken() -> None:
    text = await failures_of(
        [
            user("the print queue stalls every afternoon, why?"),
            assistant(_OFFER),
            user("no, don't purge the queue, those are paid orders. just render outside the lock"),
            patch("p1", ["src/queue.py"], ["    render_then_lock(job)"]),
            patch_ok("p1"),
        ]
    )
    line = next(ln for ln in text.splitlines() if "rejected the proposal" in ln)
    refused, _, taken = line.partition("don't repeat it")
    assert "purge_queue --all" in refused
    assert "render_then_lock()" not in refused
    assert "render_then_lock()" in taken
    # "no thanks" names neither option: the line names the offer, as before
    tasks = analyse(
        [
            user("the print queue stalls every afternoon, why?"),
            assistant(_OFFER),
            user("no thanks"),
        ],
        HIVES,
        None,
    ).tasks
    (line,) = rejected_lines(tasks[0])
    assert "took the other option" not in line
    assert "purge_queue --all" in line and "render_then_lock()" in line  # the offer's code
    # what the refusal keeps ("we keep X") is not what it refuses
    assert negated("no, we keep --strict on and we fix the lints, we don't mute them") == (
        "mute them"
    )


# --- 4. an offer of a habit said as a statement, and what keeps the new rules apart ---


def test_an_offer_of_a_habit_said_as_a_statement_and_accepted_is_a_rule() -> None:
    prefs = _preferences(
        [
            user("what's a swarm cell? please keep it short"),
            assistant(
                "A queen cell built along the frame's bottom edge. I'll add a photo link each "
                "time I name a cell type, if that helps."
            ),
            user("yes please, the photos help a lot"),
        ]
    )
    assert "add a photo link each time I name a cell type" in [p.implication for p in prefs]


def test_rules_that_share_only_a_question_word_stay_apart() -> None:
    # "explain what broke first" and "when you explain an error, quote its line" share
    # "explain" and "what"; a question word names no idea of a rule
    assert not same_meaning(
        "explain what broke first, before changing the rota",
        "when you explain a traceback please quote what the last frame says first",
        set(),
    )
    assert same_meaning(
        "explain what broke first, before changing the rota",
        "explain what went wrong first, before you change the rota",
        set(),
    )


def test_a_dotted_folder_is_not_the_program_it_echoes() -> None:
    # ".tern" is a folder; "tern" the program the sessions ran
    assert not same_meaning(
        ".tern is a cache the editor rebuilds, I don't commit it",
        "the app is on tern 5 now and the old tern 4 editor shouldn't open it",
        {"tern"},
    )


def test_stuff_is_a_filler_as_things_is() -> None:
    assert "stuff" not in content_words("print stuff in plain words")
    assert rule_key("explain stuff in plain words") == rule_key("explain things in plain words")
