"""Round 13d: the summary's lessons state the same failure and fix in fewer bytes
(memoryd/consolidate/offline/dense.py), in wording of its own: a kiln, a loom, a beehive."""

from __future__ import annotations

from memoryd.consolidate.offline.dense import fit_line, lesson_line, telling_part
from memoryd.consolidate.offline.meaning import FIX
from memoryd.consolidate.offline.memory_md import VisibleGroup, _entry_bullets
from memoryd.consolidate.offline.model import Entry, Group
from memoryd.consolidate.offline.summary_md import build_summary_model


def test_a_clipped_error_loses_the_sentence_the_clip_cut_short() -> None:
    quote = "Kiln controller refused the schedule. Check the thermocouple wiring and try ag…"
    assert telling_part(quote, "kilnctl fire --program bisque") == (
        "Kiln controller refused the schedule."
    )


def test_a_cut_sentence_that_names_a_value_stays() -> None:
    # what the clip left names a setting a session would act on
    setting = "Glaze batch could not be mixed. Set GLAZE_DIR to the folder of the recip…"
    assert telling_part(setting, "glaze mix") == setting
    # and a name the tool quoted
    named = "Warp plan is not valid. | Pattern 'herringbone-12' has no treadling for ro…"
    assert telling_part(named, "loom plan") == named


def test_a_bracket_the_clip_left_open_goes_with_what_introduced_it() -> None:
    quote = "loom: warp count does not match the pattern header: { heddles: each end, reed: sing…"
    assert telling_part(quote, "loom weave --pattern tweed") == (
        "warp count does not match the pattern header"
    )


def test_the_time_the_programs_own_name_and_a_leading_error_word_go() -> None:
    quote = "07:14:02.118 hivectl: error: queen cell missing in frame 4 of hive B"
    assert telling_part(quote, "hivectl inspect --hive B") == (
        "queen cell missing in frame 4 of hive B"
    )
    # a name the command does not run is part of the message
    other = "smoker: error: fuel level below the safe mark for hive B"
    assert telling_part(other, "hivectl inspect --hive B") == (
        "smoker: error: fuel level below the safe mark for hive B"
    )


def test_output_lines_after_the_telling_one_that_only_point_into_code_go() -> None:
    quote = (
        "pattern row 3 has 5 stitches, chart has 4 | Backtrace (most recent first): | raised "
        "at chart/Load.h…"
    )
    assert telling_part(quote, "knit check row3.pat") == "pattern row 3 has 5 stitches, chart has 4"


def test_an_error_too_short_to_lose_a_part_is_left_whole() -> None:
    assert telling_part("Error: kiln is cold", "kilnctl fire") == "Error: kiln is cold"
    quote = "no cone. Check that the kiln sitter holds a cone of the right num…"
    assert telling_part(quote, "kilnctl fire") == quote  # "no cone." alone is under the floor


def test_a_lesson_keeps_its_symptom_and_fix_in_fewer_bytes() -> None:
    text = (
        '`kilnctl fire --program glaze` failed: "12:00:01 kilnctl: error: element 2 open '
        'circuit. Replace the element or call the servi…"; fixed by `kilnctl reset --element 2`'
    )
    line = lesson_line(text)
    assert line == (
        '`kilnctl fire --program glaze` failed: "element 2 open circuit."; fixed by '
        "`kilnctl reset --element 2`"
    )
    assert len(line) < len(text)


def test_a_rerun_clipped_to_a_stub_of_the_failed_command_is_left_out() -> None:
    stub = (
        '`hive sync --apiary north` failed: "frame map stale"; fixed by `hive rescan`, after '
        "which `hive sync --apiary north --fr…` passed"
    )
    assert lesson_line(stub) == (
        '`hive sync --apiary north` failed: "frame map stale"; fixed by `hive rescan`'
    )
    # a rerun with a whole argument more says how it passed
    whole = stub.replace("--fr…", "--frames 10")
    assert lesson_line(whole) == whole


def test_a_line_clipped_inside_a_rerun_that_restates_the_failed_command_drops_it() -> None:
    text = (
        '`loom weave --pattern tweed` failed: "warp broke"; fixed by editing `tension.toml`, '
        "after which `loom weave --pattern tweed` passed"
    )
    # clipped inside the rerun, which so far only repeats the failed command: the clause goes
    assert fit_line(text, 110) == (
        '`loom weave --pattern tweed` failed: "warp broke"; fixed by editing `tension.toml`'
    )
    # a rerun that names another step before the clip is clipped as any line
    other = text.replace("after which `loom", "after which `loom oil --all && loom")
    assert fit_line(other, 125).endswith("after which `loom oil --all && loom weav…")


def test_a_command_that_worked_after_a_step_is_said_as_that_step() -> None:
    text = (
        '`hive sync --apiary north` failed: "frames locked by another keeper"; `hive unlock '
        "--all && hive sync --apiary north` works instead"
    )
    assert lesson_line(text) == (
        '`hive sync --apiary north` failed: "frames locked by another keeper"; it works after '
        "`hive unlock --all`"
    )
    # a step before another command: that command is what worked
    other = text.replace("&& hive sync --apiary north`", "&& hive pull --apiary north`")
    assert lesson_line(other) == other


def test_the_summary_says_the_lesson_densely_and_memory_md_keeps_it_whole() -> None:
    lesson = (
        '`kilnctl fire --program glaze` failed: "09:12:44 kilnctl: error: element 2 open circuit. '
        'Replace the element or call the servi…"; `kilnctl reset --element 2 && kilnctl fire '
        "--program glaze` works instead"
    )
    e = Entry(lesson, lesson, [3], {"s1"}, ["kiln"], "2026-11-20", kind=FIX)
    group = Group("kiln", "/srv/kiln")
    model = build_summary_model([], [VisibleGroup(group, [], [], [], [e])], [], [], [], [])
    assert [ln.text for ln in model.digests[0].lines] == [
        '- kiln: `kilnctl fire --program glaze` failed: "element 2 open circuit."; it works '
        "after `kilnctl reset --element 2`"
    ]
    # MEMORY.md is the grep-able detail: its bullet keeps the lesson as phase 1 wrote it
    [bullet] = _entry_bullets([e], frozenset(), "kiln", "/srv/kiln")
    assert bullet.text.startswith(f"- kiln: {lesson} ")


def test_a_loggers_level_in_brackets_goes() -> None:
    quote = "[warn] frame 7 is held by the north keeper"
    assert telling_part(quote, "hive sync") == "frame 7 is held by the north keeper"
    # brackets that say something else stay
    assert telling_part("[north] frame 7 is held by a keeper", "hive sync") == (
        "[north] frame 7 is held by a keeper"
    )
