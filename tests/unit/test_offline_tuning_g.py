"""Round 7a of issue 13 (corpus G as a tuning corpus, rules, preferences and facts): the
classes of miss G showed, each in wording no corpus has (a beekeeping app, a tram timetable
service, a typesetting tool, a greenhouse controller)."""

from __future__ import annotations

from support.items import assistant, extract, request, result, run, section, task_block, user

from memoryd.extract.offline import is_preference, read_message
from memoryd.extract.offline.changes import replacements
from memoryd.extract.offline.facts import statements, user_statements
from memoryd.extract.offline.language import (
    accepted_offer,
    condenses,
    restated_rules,
    says_more,
)
from memoryd.extract.offline.sentences import dictated, dictated_clauses

# -- dictated speech: clauses said in one breath, without punctuation


def test_a_long_unpunctuated_message_is_cut_at_hesitations_and_also() -> None:
    said = (
        "right so the hive sensors thing is done uh next the timetable import and also keep "
        "your replies in bullet points I skim them between meetings"
    )
    assert dictated(said)
    assert dictated_clauses(said) == [
        "right so the hive sensors thing is done",
        "next the timetable import",
        "also keep your replies in bullet points",
        "I skim them between meetings",
    ]
    # a typed sentence with punctuation, or a short one, is left whole
    assert dictated_clauses("keep replies short, I skim them.") == [
        "keep replies short, I skim them."
    ]
    assert not dictated("uh next the import please")
    # a lead-in before "I" stays with its clause: "Today I need …" is a request for today
    said = "Today I need you to render footnotes in italics instead of roman type"
    assert dictated_clauses(said) == [said]
    assert read_message(said).preferences == ()


def test_a_rule_inside_a_dictated_message_is_found_as_its_own_clause() -> None:
    reading = read_message(
        "cool the glyph cache works now um also keep your replies in bullet points "
        "I skim them between meetings"
    )
    assert reading.preferences == ("also keep your replies in bullet points",)
    # the whole message as one sentence was no rule
    assert not is_preference(
        "cool the glyph cache works now also keep your replies in bullet points "
        "I skim them between meetings"
    )


def test_a_dictated_aside_is_not_the_title_of_the_request() -> None:
    reading = read_message(
        "ugh the neighbours are drilling through the wall again alright yes deploy the "
        "timetable service"
    )
    assert "neighbours" not in reading.title
    assert reading.title == "alright yes deploy the timetable service"


def test_and_before_a_subordinator_opens_a_clause_but_before_and_after_stays() -> None:
    said = (
        "the greenhouse vents open at noon and whenever you change the vent schedule show "
        "me the old and new times"
    )
    assert dictated_clauses(said)[-1] == (
        "whenever you change the vent schedule show me the old and new times"
    )
    whole = "measure the humidity loop before and after the firmware change please for all rooms"
    assert dictated_clauses(whole) == [whole]


def test_a_prohibition_opens_a_clause_in_dictation() -> None:
    said = (
        "I lost a whole afternoon to this last month no rebase of shared branches without "
        "telling me and keep the typesetting fonts vendored"
    )
    clauses = dictated_clauses(said)
    assert clauses[-1].startswith("no rebase of shared branches")
    # "there is no …" completes the clause before it
    said = "the import runs nightly there is no manual step at all in the timetable pipeline"
    assert dictated_clauses(said) == [said]


def test_a_spelled_acronym_is_not_the_pronoun() -> None:
    said = "before any merge in this repo run the spellchecker the C I fails on typos otherwise"
    assert dictated_clauses(said) == [said]


def test_a_self_repair_after_no_is_a_correction_not_a_prohibition() -> None:
    for said in ("no wait it is the other bucket", "no scratch that the tram feed is fine"):
        reading = read_message(said)
        assert reading.preferences == ()
        assert reading.negative and reading.follow_up
    # a real prohibition still is one
    assert is_preference("no inline styles in the typesetting templates")


def test_before_it_is_one_event_of_a_thing_not_a_rule() -> None:
    assert not is_preference(
        "another thing a beekeeper asked how long a frame rests before it goes back"
    )


# -- an instruction the answer says back as a habit


def test_an_answer_that_says_an_instruction_back_makes_it_a_rule() -> None:
    said = restated_rules(
        "thanks the import works and um one thing the tram stops file if a stop is retired "
        "you keep its id you mark it inactive",
        "Noted for stops: a retired stop keeps its id and is marked inactive.",
    )
    assert said == [
        (
            "the tram stops file if a stop is retired you keep its id you mark it inactive",
            "a retired stop keeps its id and is marked inactive",
        )
    ]


def test_rules_said_back_in_one_sentence_are_one_rule_each() -> None:
    said = restated_rules(
        "never push tags without telling me and use pandoc for the conversions not latexmk",
        "Understood: I tell you before pushing tags, and I convert with pandoc rather than "
        "latexmk.",
    )
    # the agent's "I …" habit is kept as the instruction
    assert [rule for _, rule in said] == [
        "tell you before pushing tags",
        "convert with pandoc rather than latexmk",
    ]


def test_a_commitment_from_now_on_says_the_rule_back() -> None:
    said = restated_rules(
        "the release notes should be in plain english no jargon the beekeepers read them",
        "Published the notes; from now on release notes are plain English without jargon.",
    )
    assert [rule for _, rule in said] == ["release notes are plain English without jargon"]


def test_an_acknowledgement_that_reports_work_or_shares_nothing_is_no_rule() -> None:
    # a report of what was done
    assert (
        restated_rules(
            "add the frame weights to the hive export", "Sure, added frame weights to the export."
        )
        == []
    )
    # an acknowledgement whose words the user never said
    assert (
        restated_rules(
            "check the vent motor logs", "Got it: the motor stalls when the voltage drops."
        )
        == []
    )
    # no acknowledgement at all
    assert (
        restated_rules(
            "keep the vents closed at night", "The vents are closed at night by the scheduler."
        )
        == []
    )


async def test_a_rule_said_back_reaches_the_preference_signals() -> None:
    out = await extract(
        request(
            [
                user(
                    "ok the footnote bug is gone um also one thing the fonts folder if a font "
                    "is licensed per seat you do not commit it you fetch it in the build"
                ),
                assistant(
                    "Got it: fonts licensed per seat are never committed, they are fetched "
                    "during the build."
                ),
            ]
        )
    )
    prefs = section(task_block(out.raw_memory, 1), "Preference signals")
    assert "fonts licensed per seat are never committed" in prefs


# -- knowledge the assistant read in the project's files


def test_a_setting_read_in_tool_output_anchors_a_statement_without_a_verb_of_state() -> None:
    said = (
        "Tram arrivals refresh through the feed worker with FEED_POLL_SECONDS=20 (from .env.dist)."
    )
    # nothing the session printed names the setting: no verb of state, no fact
    assert statements([said]) == []
    seen = "$ rg FEED_POLL .env.dist\n.env.dist:7:FEED_POLL_SECONDS=20\n"
    assert statements([said], seen) == [
        "Tram arrivals refresh through the feed worker with FEED_POLL_SECONDS=20 (from .env.dist)"
    ]


def test_a_report_of_an_action_or_a_count_is_no_fact_even_when_seen() -> None:
    seen = "FEED_POLL_SECONDS=20\nPASS=12 WARN=0\n"
    assert statements(["Raised FEED_POLL_SECONDS to 20 in `.env.dist` for the demo."], seen) == []
    assert statements(["The timetable models build: PASS=12 in `target/run`."], seen) == []
    said = "`make seed FEED_POLL_SECONDS=20` loaded it and the view renders."
    assert statements([said], seen) == []


def test_the_commit_a_fact_came_from_is_not_part_of_it() -> None:
    said = (
        "Ilse added `skipArchived()` in 7c41e9ab for the audit: archived hives are left out "
        "of reports on purpose."
    )
    assert statements([said]) == [
        "Ilse added `skipArchived()` for the audit: archived hives are left out of reports on "
        "purpose"
    ]


def test_a_new_we_subject_opens_a_clause_in_dictation() -> None:
    said = (
        "and note the frame weights in the hive log for that the keepers like it the setup "
        "page says pip install for the sensors drop it we do not install with pip here"
    )
    assert dictated_clauses(said)[-1] == "we do not install with pip here"
    assert read_message(said).preferences == ("we do not install with pip here",)


def test_a_run_on_rule_said_back_in_short_takes_the_short_words() -> None:
    assert condenses(
        "no `npm` installs",
        "and the thing with npm from the old handbook forget that we do not install anything "
        "with npm globally in this repo use the lockfile and the toolchain",
    )
    # a short rule keeps the user's own words
    assert not condenses("two lines", "keep your replies short like two lines tops")
    # a restatement that adds meaning is no short form
    assert not condenses(
        "no `npm` installs and tags are signed",
        "and the thing with npm from the old handbook forget that we do not install anything "
        "with npm globally in this repo use the lockfile and the toolchain",
    )


async def test_a_run_on_rule_reaches_the_preferences_in_the_answers_short_words() -> None:
    out = await extract(
        request(
            [
                user(
                    "and the thing with npm from the old handbook forget that we do not install "
                    "anything with npm globally in this repo use the lockfile and the toolchain"
                ),
                assistant("Understood: no global `npm` installs; the lockfile decides."),
            ]
        )
    )
    prefs = section(task_block(out.raw_memory, 1), "Preference signals")
    assert prefs.endswith("-> in similar future tasks, no global `npm` installs")


def test_a_habit_of_not_using_a_tool_is_no_replacement() -> None:
    assert replacements(["we do not use pip for the sensor scripts, uv does it"]) == []
    # "any more" says it changed
    assert replacements(["we don't use pip anymore"]) == [
        'Replaced: `pip` is gone ("we don\'t use pip anymore")'
    ]


def test_the_agents_report_of_its_own_edit_is_no_replacement() -> None:
    said = "Added the hive log line and replaced the pip step with `uv sync` in docs/setup.md."
    assert replacements([], [said]) == []


def test_a_step_reported_with_a_command_that_succeeded_says_how_it_is_done() -> None:
    said = "Fetched the stop list and reindexed the stop table with `make tt-index`."
    assert statements([said], ran="make tt-index\n") == [
        "The stop table is reindexed with `make tt-index`"
    ]
    # a command the session never ran (or that failed) proves nothing
    assert statements([said], ran="make tt-lint\n") == []


def test_a_name_in_code_given_its_value_anchors_a_statement() -> None:
    assert statements(["frameLimit is 12 now and the hive view renders."]) == [
        "frameLimit is 12 now and the hive view renders"
    ]
    # a plain word and a number is no setting
    assert statements(["the frame is 12 now and the view renders."]) == []


# -- small talk


async def test_an_errand_for_a_named_day_that_left_nothing_is_no_task() -> None:
    items = [
        user("rebuild the stop index"),
        run("c1", "make tt-index"),
        result("c1", 0, "indexed 412 stops"),
        assistant("The stop index is rebuilt: 412 stops."),
        user("nice put the bus shelter photos on my to-do for thursday"),
        assistant("Noted on your Thursday to-do: bus shelter photos."),
    ]
    out = await extract(request(items))
    assert "thursday" not in out.rollout_summary.lower()
    assert "thursday" not in out.raw_memory.lower()
    # a request without a named day that left nothing is still a task ("explain X")
    items[4] = user("nice and what does the shelter photo script do")
    out = await extract(request(items))
    assert "## Task 2: " in out.rollout_summary


def test_never_mind_dismisses_and_asks_for_nothing() -> None:
    assert not is_preference("oh it is the cron entry then never mind I will check later")
    assert is_preference("then never push the timetable to main")


def test_an_answer_that_repeats_a_rule_in_fewer_words_adds_no_second_rule() -> None:
    # "two lines at most" says nothing "keep your replies short like two lines tops" does not
    assert restated_rules(
        "also keep your replies short like two lines tops", "Will do: two lines at most."
    ) == [("also keep your replies short like two lines tops", "two lines at most")]
    assert not says_more("two lines at most", "keep your replies short like two lines tops")
    assert says_more("I ask before any tag push", "use pandoc for conversions")


def test_an_acknowledgement_alone_makes_the_next_sentence_the_rule_said_back() -> None:
    said = restated_rules(
        "oh and the hive photos stay out of git they are huge put them in the bucket",
        "Will remember. Hive photos stay out of git and go to the bucket.",
    )
    assert [rule for _, rule in said] == ["Hive photos stay out of git and go to the bucket"]
    # a sentence after one that is no acknowledgement says nothing back
    assert (
        restated_rules(
            "oh and the hive photos stay out of git they are huge put them in the bucket",
            "Moved them. Hive photos stay out of git and go to the bucket.",
        )
        == []
    )


def test_an_announcement_is_dropped_and_also_after_a_condition_stays() -> None:
    said = "yeah the bake log looks fine um one thing never commit the generated proto files"
    assert read_message(said).preferences == ("never commit the generated proto files",)
    said = "so what I need is the oven export fixed and uh by the way we never log customer names"
    reading = read_message(said)
    assert reading.preferences == ("we never log customer names",)
    assert reading.title == "so what I need is the oven export fixed"
    said = "ok so for the bakery app um whenever you add a migration also add a rollback please"
    assert dictated_clauses(said)[-1] == ("whenever you add a migration also add a rollback please")


def test_taking_on_a_task_now_says_no_rule_back() -> None:
    asked = "run the stop import then the timetable tests please"
    for answer in (
        "Got it, running the stop import and the timetable tests now.",
        "Sure, I'll run the stop import first and then the timetable tests.",
        "Okay: the stop import runs first, then the timetable tests.",
        "Will do: starting the stop import with the timetable tests after it.",
    ):
        assert restated_rules(asked, answer) == [], answer


def test_no_after_a_verb_that_takes_it_stays_in_its_clause() -> None:
    said = "the tram feed got no response from the city server again this morning can you look"
    assert read_message(said).preferences == ()
    assert "no response" in dictated_clauses(said)[0]


def test_an_acknowledgement_after_the_rule_says_it_back() -> None:
    said = restated_rules(
        "and please squash the fixups before you merge anything into the release branch",
        "Squash fixups before every merge into the release branch, got it.",
    )
    assert [rule for _, rule in said] == [
        "Squash fixups before every merge into the release branch"
    ]


def test_an_offered_habit_the_user_accepts_is_a_rule() -> None:
    offer = "The proofs build. Should I always rebuild the glyph cache before a proof run?"
    assert accepted_offer(offer, "yes please") == (
        "Should I always rebuild the glyph cache before a proof run?",
        "always rebuild the glyph cache before a proof run",
    )
    # an offer for now, or a reply that refuses, is none
    assert accepted_offer("Should I rebuild the glyph cache?", "yes") is None
    assert accepted_offer(offer, "no, only when fonts change") is None


async def test_an_accepted_offer_reaches_the_preference_signals() -> None:
    out = await extract(
        request(
            [
                user("render the proofs"),
                assistant("Done. Should I always rebuild the glyph cache before a proof run?"),
                user("yes please"),
                assistant("Will do."),
            ]
        )
    )
    prefs = section(task_block(out.raw_memory, 1), "Preference signals")
    assert "always rebuild the glyph cache before a proof run" in prefs


def test_a_statement_the_user_takes_back_next_is_no_fact() -> None:
    said = [
        "the proof server listens on port 4000 on my laptop",
        "no wait, the proof server listens on port 4010",
    ]
    assert user_statements(said) == ["The proof server listens on port 4010"]
    assert user_statements(said[:1]) == ["The proof server listens on port 4000 on my laptop"]
    # a statement that starts with a dot keeps it
    assert statements([".tool-versions pins node 20.11.1 for the proof site"]) == [
        ".tool-versions pins node 20.11.1 for the proof site"
    ]
    assert user_statements([]) == []
