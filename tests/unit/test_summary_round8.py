"""Round 8 of the summary's selection (memoryd/consolidate/offline/summary_md.py, dense.py), in
wording of its own: an apiary's logbook, a ferry timetable, a pottery kiln."""

from __future__ import annotations

from memoryd.consolidate.offline.dense import (
    code_spans,
    lesson_line,
    standalone,
    stated_values,
    unclipped,
    untrimmed,
    values,
)
from memoryd.consolidate.offline.meaning import rule_key, same_meaning
from memoryd.consolidate.offline.model import general_rule_keys, rule_aliases
from memoryd.consolidate.offline.scope import scope_only, unpointed
from memoryd.consolidate.offline.sources import Source, TaskIn
from memoryd.consolidate.offline.summary_md import Line, _by_session, _by_value
from memoryd.textutil import content_words


def test_values_are_code_spans_code_tokens_and_names_in_capitals() -> None:
    text = "The logbook reads HIVE_SCALE_PORT (default 4810) from `conf/hives.toml`, see --dry-run"
    assert values(text) == {"HIVE_SCALE_PORT", "4810", "conf/hives.toml", "--dry-run"}
    assert values("Well, that is the usual way beekeepers do it") == set()


def test_a_line_counts_at_most_three_values() -> None:
    many = "`a1` `b2` `c3` `d4` `e5`"
    assert stated_values(many) == 3
    assert stated_values("`ferry.toml` sets `DEPARTURE_TZ`") == 2


def test_of_two_facts_as_durable_and_as_recent_the_one_naming_values_ranks_first() -> None:
    # Without the values, the tie went to the alphabet: the prose line ("Anyway, …") came
    # first and the line that names the setting and its file was the one cut at the cap.
    prose = Line(
        "- apiary: Anyway, the logbook is what keepers look at most days",
        frozenset(),
        17,
        "2026-03-02",
    )
    valued = Line(
        "- apiary: The scale is polled every `SCALE_POLL_S=90` seconds (`apiary.ini`)",
        frozenset(),
        17,
        "2026-03-02",
    )
    assert sorted([prose, valued], key=_by_value) == [valued, prose]


def test_durability_still_comes_before_values() -> None:
    rule = Line("- kiln: always let it cool overnight", frozenset(), 25, "2026-01-01")
    fact = Line("- kiln: `KILN_MAX_C=1280` is set in `kiln.env`", frozenset(), 17, "2026-05-01")
    assert sorted([fact, rule], key=_by_value) == [rule, fact]


def test_a_lesson_drops_output_trimming_and_a_rerun_that_is_the_failed_command() -> None:
    text = (
        '`ferryctl check --route north 2>&1 | tail -5` failed: "route north: no berth"; fixed '
        "by editing `routes/north.yaml`, after which `ferryctl check --route north | head -3` "
        "passed"
    )
    assert lesson_line(text) == (
        '`ferryctl check --route north` failed: "route north: no berth"; fixed by editing '
        "`routes/north.yaml`"
    )


def test_a_rerun_under_another_command_still_says_which() -> None:
    text = (
        '`glaze mix 2>&1 | tail -2` failed: "no cone 6"; fixed by editing `glazes.csv`, after '
        "which `glaze mix --cone 6 | tail -1` passed"
    )
    assert lesson_line(text) == (
        '`glaze mix` failed: "no cone 6"; fixed by editing `glazes.csv`, after which '
        "`glaze mix --cone 6` passed"
    )


def test_trimming_in_the_middle_of_a_chain_goes_and_a_lone_pipe_stays() -> None:
    assert untrimmed("`hive sync | tail -2 && hive report`") == "`hive sync && hive report`"
    assert untrimmed("`hive list | sort`") == "`hive list | sort`"
    assert untrimmed("`hive dump | tail -n 20 > out.txt`") == "`hive dump | tail -n 20 > out.txt`"


def test_every_sessions_best_fact_comes_before_any_sessions_second() -> None:
    # one session's explanation gave two lines about the kiln's controller; the other session's
    # one fact ranked under both and was the one cut at the cap
    first = Line(
        "- kiln: `ctl.yaml` sets `RAMP_C_PER_H=150` and `HOLD_MIN=20`",
        frozenset({"s1"}),
        17,
        "2026-05-02",
    )
    second = Line(
        "- kiln: the ramp in `ctl.yaml` is read at start", frozenset({"s1"}), 17, "2026-05-02"
    )
    other = Line("- kiln: the door sensor is pin 7", frozenset({"s2"}), 17, "2026-04-01")
    ranked = sorted([first, second, other], key=_by_value)
    assert ranked == [first, second, other]  # by values alone
    assert _by_session(ranked) == [first, other, second]


def test_a_line_several_sessions_said_counts_as_the_first_of_the_one_that_said_least() -> None:
    a = Line("- kiln: `KILN_PORT=/dev/ttyUSB0`", frozenset({"s1"}), 17)
    a2 = Line("- kiln: `glaze.csv` lists the glazes", frozenset({"s1"}), 17)
    both = Line("- kiln: cones are fired with `firing.toml`", frozenset({"s1", "s2"}), 17)
    assert _by_session([a, a2, both]) == [a, both, a2]
    # durability still comes first: a rule from s1 stays above s2's fact
    rule = Line("- kiln: never open it above 200 C", frozenset({"s1"}), 25)
    assert _by_session([rule, a, both]) == [rule, a, both]


def test_how_to_run_ranks_with_the_facts_not_under_them() -> None:
    run = Line("- ferry: Build it with `make timetable`", frozenset({"s1"}), 13, "2026-02-01")
    prose = Line(
        "- ferry: the timetable is what most people look at", frozenset({"s1"}), 17, "2026-02-09"
    )
    assert sorted([prose, run], key=_by_value) == [run, prose]
    lesson = Line('- ferry: `make` failed: "x"; fixed by `make clean`', frozenset(), 21)
    assert sorted([run, lesson], key=_by_value) == [lesson, run]


def test_a_contraction_is_not_two_meaning_words_that_any_two_negative_rules_share() -> None:
    # "don't" cut at its apostrophe gave "don" and "t": two words every negative rule shares,
    # so two short refusals about different things were one rule ("stated in" both projects)
    assert content_words("we don't tip the ferry, it's late") == {"tip", "ferry", "late"}
    assert not same_meaning("don't tip the ferry", "don't glaze lids", set())
    assert not same_meaning(
        "the hives don't swarm anymore since spring", "we don't sell wax anymore", set()
    )
    # the same refusal in other words still is one rule
    assert same_meaning("don't tip the ferry", "never tip the ferry", set())


def _source(cwd: str, thread: str, *prefs: str) -> Source:
    return Source(
        thread_id=thread,
        summary_file=f"{thread}.md",
        cwd=cwd,
        rollout_path="",
        updated_at="2026-06-01T10:00:00+00:00",
        git_branch="main",
        keywords=[],
        tasks=[TaskIn(title="t", prefs=list(prefs))],
        fingerprint=thread,
    )


def test_a_rule_that_names_another_project_of_the_users_holds_there_too() -> None:
    # said once, in the ferry project, pointing at the apiary by its directory's name: one
    # general rule, though the apiary's own sessions never said it in words memoryd kept
    pointed = 'the user said "no cron edits by hand, like in hivelog." -> no cron edits by hand'
    srcs = [
        _source("/home/u/ferrywatch", "s1", pointed),
        _source("/home/u/hivelog", "s2"),
        # a rule naming its own project stays that project's
        _source("/home/u/kilnctl", "s3", "kilnctl: fire cone 6 only"),
    ]
    aliases = rule_aliases(srcs)
    keys = general_rule_keys(srcs, aliases)
    assert keys == {rule_key("no cron edits by hand")}


def test_a_general_rule_is_said_without_the_project_it_points_to() -> None:
    projects = ["ferrywatch", "hivelog"]
    assert unpointed("no cron edits by hand, like in hivelog.", projects) == "no cron edits by hand"
    assert unpointed("no cron edits by hand; same as hivelog", projects) == "no cron edits by hand"
    # a project named inside the rule itself is what the rule is about, not a pointer
    assert unpointed("deploy hivelog before ferrywatch", projects) == (
        "deploy hivelog before ferrywatch"
    )


def test_a_short_lead_in_that_leans_back_is_dropped_and_the_statement_kept() -> None:
    # "For this apiary:" leaned on the line before and the whole statement was left out
    assert standalone("For this apiary: the scale posts to `hive.local:8123`") == (
        "the scale posts to `hive.local:8123`"
    )
    assert standalone("The scale posts to `hive.local:8123`") == (
        "The scale posts to `hive.local:8123`"
    )
    # a statement that leans back in its own words still goes
    assert standalone("Without it, the ferry leaves at 9") == ""
    assert standalone("After that: without it, the ferry leaves at 9") == ""
    # a long head before the colon is the statement, not a lead-in
    assert standalone("With that in mind the glaze for the big kiln: cone 6") == ""


def test_a_fix_clipped_short_is_given_whole_from_the_projects_other_lines() -> None:
    lesson = (
        '`hive sync` failed: "no scale"; `hive sync --scale north-field --calibrate-every 30…` '
        "works instead"
    )
    how_to = "Sync it with `hive sync --scale north-field --calibrate-every 300`"
    whole = code_spans([lesson, how_to])
    assert unclipped(lesson, whole) == (
        '`hive sync` failed: "no scale"; `hive sync --scale north-field --calibrate-every 300` '
        "works instead"
    )
    # two commands that begin alike: which one was meant is unknown, the clip stays
    other = "`hive sync --scale north-field --calibrate-every 30s`"
    assert unclipped(lesson, code_spans([how_to, other])) == lesson
    # a stem too short to say which command it was stays clipped
    assert unclipped("`hive…` failed", {"hive sync"}) == "`hive…` failed"


def test_a_scope_said_after_a_rule_makes_that_rule_general_and_is_not_a_rule_itself() -> None:
    # "no crontab edits by hand. acknowledged, not just for this repo": phase 1 keeps two
    # rules; the second only says where the first holds
    first = 'the user said "no crontab edits by hand." -> no crontab edits by hand'
    scope = (
        'the user said "acknowledged, not just for this repo" -> '
        "acknowledged, not just for this repo"
    )
    srcs = [_source("/home/u/ferrywatch", "s1", first, scope), _source("/home/u/kilnctl", "s2")]
    keys = general_rule_keys(srcs, rule_aliases(srcs))
    assert keys == {rule_key("no crontab edits by hand")}
    assert scope_only("acknowledged, not just for this repo")
    # a rule of its own with a scope is that rule, general, and scopes nothing before it
    assert not scope_only("prefer tabs, not just in this repo")
    own = 'the user said "prefer tabs, not just in this repo" -> prefer tabs, not just in this repo'
    srcs = [_source("/home/u/ferrywatch", "s1", first, own), _source("/home/u/kilnctl", "s2")]
    keys = general_rule_keys(srcs, rule_aliases(srcs))
    assert keys == {rule_key("prefer tabs, not just in this repo")}
