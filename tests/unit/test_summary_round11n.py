"""Round 11n of issue 13: lines that state nothing durable. A sentence that only makes sense in
the moment it was said (a reply leaning on its verdict, the user's state in the second person,
what a program printed just then, a state that will pass, a pronoun for what was asked about,
a line number; a rule that only chooses for the work at hand) ranks in the
summary after every statement that stands on its own; a lesson fixed by an edit it does not
show, of a command another line gives, ranks with the facts; the grep tip names no tool a line
says is gone. In wording of its own: a tram dispatcher, a bakery's order app, a weather
station, an oven controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from support.items import assistant, result, run, user
from support.offline_memory import consolidate, session

from memoryd.consolidate.offline.meaning import FACT, FIX
from memoryd.consolidate.offline.model import Entry
from memoryd.consolidate.offline.moment import momentary
from memoryd.consolidate.offline.rank import score
from memoryd.consolidate.offline.summary_md import (
    Digest,
    Line,
    SummaryModel,
    _by_session,
    _by_value,
)

TRAM = "/home/oda/src/tramdesk"


# --- what only makes sense in the moment ---


def test_a_reply_that_leans_on_its_verdict_is_momentary() -> None:
    assert momentary("Yes, and keep in mind the retry loop is written that way on purpose")
    assert momentary("Right, but only for the north depot")


def test_the_users_state_in_the_second_person_is_momentary_and_a_rule_about_it_is_not() -> None:
    assert momentary("Your checkout is on `release/2`, so it can't find the hook")
    assert momentary("You're on the old branch, that is why it doesn't see the fix")
    # the user's setup told in the second person is a fact about it
    assert not momentary("Your local queue is the compose service `mq`, which the app uses")
    # a rule about the user's things directs: it holds tomorrow too
    assert not momentary("Your commits must carry a `Signed-off-by` line")
    # the second person inside a durable statement is no report of the user's state
    assert not momentary("Sensors answer on 0x40 or 0x41; yours is 0x40, set in `station.ini`")


def test_what_a_program_printed_just_then_is_momentary() -> None:
    assert momentary("The stack trace says `OrderBook` is nil")
    assert momentary("The compiler line: `E0308 mismatched types`")
    assert momentary("This log shows the dispatcher restarting twice")
    # the error as a thing of the project, with another verb, is a fact
    assert not momentary("The error page is served from `public/500.html`")
    assert not momentary("If the error says `EADDRINUSE`, stop the old `tramd` first")


def test_a_state_that_will_pass_is_momentary_and_a_standing_one_is_not() -> None:
    assert momentary("A stale `tramd` from this morning is still holding 7070")
    assert momentary("The oven sensor is already in use by the other script")
    assert not momentary("The station still uses `BAUD=9600` for the anemometer")
    assert not momentary("The depot is the `north` profile, which the CLI was already using")
    assert not momentary("The dispatcher listens on port 7070")


def test_a_pronoun_for_what_was_asked_about_is_momentary() -> None:
    assert momentary("Both read `DISPATCH_URL`, the CLI passes `--zone`")
    assert momentary("`(map :stop)` is one; it works on lazy seqs too")
    # a subject that names its things, and a number after "is one", state something
    assert not momentary("Both tram depots export `ROUTES_DIR` to the dispatcher")
    assert not momentary("The default is one worker per core")


def test_a_place_in_one_version_of_a_file_is_momentary() -> None:
    assert momentary("One spot: `src/tram/dispatch.py:88` sorts the stops by name")
    assert not momentary("Stops are sorted in `src/tram/dispatch.py`")


def test_a_rule_that_only_chooses_for_the_work_at_hand_is_momentary() -> None:
    assert momentary("let's go with SPI for the display", rule=True)
    # a "let's" that still directs ("always") is a rule
    assert not momentary("let's always pin the firmware version", rule=True)
    assert not momentary("never flash the station without the battery in", rule=True)


def test_a_momentary_line_ranks_after_every_line_that_stands_on_its_own() -> None:
    moment = Line(
        "- tram: An old `tramd` is still holding 7070", frozenset({"s1"}), 17, moment=True
    )
    howto = Line("- tram: Build it with `make`", frozenset({"s2"}), 13)
    fact = Line("- tram: `TRAM_ZONE` is read from `dispatch.toml`", frozenset({"s1"}), 17)
    assert sorted([moment, howto, fact], key=_by_value) == [fact, howto, moment]
    assert _by_session([moment, fact, howto]) == [fact, howto, moment]
    # across projects too: another project's fourth line comes before this one's first
    other = [Line(f"- bakery: fact {i} with `X{i}`", frozenset({"s3"}), 17) for i in range(4)]
    model = SummaryModel(
        [],
        [],
        [],
        [Digest(cast(Any, None), [moment]), Digest(cast(Any, None), other)],
        [],
        [],
        [],
        [],
    )
    assert model.ranked()[-1] is moment


def test_the_summary_gives_the_self_contained_fact_before_the_moment_bound_one(
    tmp_path: Path,
) -> None:
    rows = [
        session(
            1,
            TRAM,
            0,
            [
                user("why does tramd not start? it worked yesterday"),
                run("c1", "ss -ltnp | grep 7070"),
                result("c1", 0, 'LISTEN 0 128 *:7070 users:(("tramd",pid=4242))\n'),
                assistant(
                    "The dispatcher reads `TRAM_ZONE` from `dispatch.toml`. An old `tramd` "
                    "from this morning is still holding 7070."
                ),
            ],
        )
    ]
    _, summary = consolidate(tmp_path, rows)
    fact = summary.find("`TRAM_ZONE` from `dispatch.toml`")
    moment = summary.find("still holding 7070")
    assert fact != -1 and moment != -1
    # of two lines as durable and naming as many values, the alphabet put "An old …" first
    assert fact < moment


def _lesson(text: str, *threads: str) -> Entry:
    return Entry(key=text, text=text, threads=set(threads), kind=FIX)


def test_a_lesson_fixed_by_an_edit_it_does_not_show_ranks_with_the_facts() -> None:
    edit = _lesson(
        '`make oven` failed: "thermo_read undeclared"; fixed by editing `src/oven.c`, after '
        "which it passed",
        "s1",
    )
    fact = Entry(key="f", text="Build the firmware with `make oven`", threads={"s1"}, kind=FACT)
    # another line gives the command: what the lesson adds is that session's own edit
    others = "Build the firmware with `make oven`"
    assert score(edit, others) == fact.durability
    # the only line that gives the command keeps its rank
    assert score(edit, "") == edit.durability > fact.durability
    # an edit the line shows, or a command that fixed it, is a lesson to repeat
    shown = _lesson(
        '`make oven` failed: "no PROBE_PIN"; fixed by editing `board.h` (`#define PROBE_PIN 4`)'
    )
    assert score(shown, others) == shown.durability
    by_command = _lesson('`make oven` failed: "thermo.h missing"; fixed by `apt install libthermo`')
    assert score(by_command, others) == by_command.durability


def test_the_grep_tip_names_no_tool_a_line_says_is_gone(tmp_path: Path) -> None:
    rows = [
        session(
            1,
            "/home/oda/src/oven",
            0,
            [
                user("ovenctl is gone, bakectl does everything now. is oven 1 idle?"),
                run("c1", "bakectl status"),
                result("c1", 0, "oven 1: idle\n"),
                assistant("`bakectl status` reports oven 1 idle."),
            ],
        )
    ]
    _, summary = consolidate(tmp_path, rows)
    assert "`ovenctl` is gone" in summary
    tip = next(ln for ln in summary.splitlines() if ln.startswith("- Grep MEMORY.md"))
    assert "ovenctl" not in tip  # it named the line's first code span, the gone tool
