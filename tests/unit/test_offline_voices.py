"""Rules said indirectly, in a voice the tuning corpora did not have (issue 13, round 4 on
corpus E): a teammate's habit relayed, a complaint that asks for the opposite, a request marked
to be remembered, a form asked for without a verb, a procedure under a recurring condition, a
rule in a coordinate clause, a lead-in before a colon; and what is no rule: a halt, a report
with an adverb, a request on the thing at hand. Every sentence here is in wording no corpus
has (other domains: a bakery's ordering app, embedded firmware, a Haskell service, docs)."""

from __future__ import annotations

import pytest
from support.items import assistant, extract, failures_of, knowledge_of, request, result, run, user

from memoryd.consolidate.offline.meaning import same_meaning
from memoryd.consolidate.offline.scope import universal
from memoryd.extract.offline import is_preference, preference_implication, read_message
from memoryd.extract.offline.changes import replacements
from memoryd.extract.offline.facts import statements, user_statements
from memoryd.extract.offline.language import is_rejection
from memoryd.extract.offline.sentences import body_of


@pytest.mark.parametrize(
    "sentence",
    [
        # a relayed habit: someone says how the team works
        "Our lead says we tag firmware builds with the board revision, so follow that.",
        "Yusuf told me that in this repo we squash the fixups.",
        # a negated team habit, also with the object put first
        "A published crate version we do not yank, ever.",
        "We don't hand-edit the cabal freeze file.",
    ],
)
def test_a_team_habit_relayed_or_negated_is_a_rule(sentence: str) -> None:
    assert is_preference(sentence), sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "We merged the flash layout yesterday.",
        "We have a problem with the oven scheduler.",
        "Yusuf says the board reboots twice on power-up.",
        "We can't reach the staging broker from here.",
    ],
)
def test_a_report_in_the_first_person_plural_is_no_rule(sentence: str) -> None:
    assert not is_preference(sentence), sentence


def test_a_complaint_about_what_the_agent_does_asks_for_the_opposite() -> None:
    s = "It's so frustrating when you reformat the whole header file for a one-line fix."
    assert is_preference(s)
    assert preference_implication(s) == ("do not reformat the whole header file for a one-line fix")
    t = "I really hate it when you rename my variables without asking."
    assert preference_implication(t) == "do not rename my variables without asking"
    # displeasure about the world is no request to the agent
    assert not is_preference("It is annoying that the oven API times out at noon.")


def test_a_request_marked_to_be_remembered_is_a_rule_without_the_marker() -> None:
    s = "Only the flash target I name, nothing more, keep that in mind."
    assert is_preference(s)
    assert preference_implication(s) == "only the flash target I name, nothing more"
    # the marker alone says nothing a later reader can act on
    assert not is_preference("Please remember that.")


def test_a_form_asked_for_without_a_verb_is_a_rule() -> None:
    assert is_preference("And the branch names in kebab-case, like fix-oven-timer.")
    assert is_preference("Release titles in plain English please.")
    assert not is_preference("I wrote the parser in Haskell style.")


def test_an_instruction_under_a_recurring_condition_is_a_standing_procedure() -> None:
    s = "One more thing: before you touch the linker script, show me which sections move."
    assert is_preference(s)
    assert "show me which sections move" in preference_implication(s)
    # a condition that happens once is a request for now
    assert not is_preference("When you are done, show me the diff.")


def test_a_rule_in_a_coordinate_clause_is_found_and_stated_alone() -> None:
    s = "The CI box has no network, so no curl in the build scripts please, it hangs there."
    assert is_preference(s)
    assert preference_implication(s).startswith("avoid curl in the build scripts")
    t = "I sometimes paste logs in Turkish, but the changelog entries stay in English please."
    assert is_preference(t)
    assert preference_implication(t).startswith("the changelog entries stay in English")


def test_a_polite_time_before_an_imperative_is_the_rule_not_its_scene() -> None:
    assert is_preference("After each schema change please regenerate the client stubs.")


def test_a_lead_in_before_a_colon_and_the_speaker_are_not_the_rule() -> None:
    assert body_of("Small favour: keep the docs build warnings at zero") == (
        "keep the docs build warnings at zero"
    )
    assert body_of("Ines said: the staging keys never go in the repo") == (
        "the staging keys never go in the repo"
    )
    # a lead-in that scopes the rule stays with it
    assert body_of("In the firmware repo: no dynamic allocation") == (
        "In the firmware repo: no dynamic allocation"
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "Hold on, please stop, undo that.",  # a halt of this turn
        "Rebase only hides it.",  # a subject, an adverb and a verb: a report
        "Build only that target afterwards please.",
        "No no, please not that way, the bakery team reviews there.",
    ],
)
def test_a_halt_a_report_or_a_request_for_now_is_no_rule(sentence: str) -> None:
    assert not is_preference(sentence), sentence


def test_a_pointer_to_another_project_makes_a_rule_general() -> None:
    assert universal("as I said in the other repo: one commit per board change")
    assert universal("same as in the firmware project: no heap in interrupt handlers")
    assert not universal("the firmware project pins its toolchain")


def test_a_restriction_with_its_reason_after_it_is_a_rule() -> None:
    s = "Only the board I flashed, not the whole rack, a full cycle takes an hour."
    assert is_preference(s)
    assert preference_implication(s) == "only the board I flashed, not the whole rack"


def test_a_recurring_time_stays_in_what_the_rule_asks() -> None:
    s = "Before every release please bump the firmware version, the updater checks it."
    assert preference_implication(s).startswith("before every release please bump")


def test_two_rules_about_two_different_tools_are_not_merged() -> None:
    tools = {"cabal", "stack"}
    a = "run cabal fmt before a commit, the CI checks formatting"
    b = "formatting is done with `stack fmt` now, the CI checks it too"
    assert not same_meaning(a, b, tools)


def test_a_teammate_who_removed_a_tool_and_a_named_thing_gone_are_replacements() -> None:
    out = replacements(
        ["Ines removed stylelint from the kiosk repo, lint is biome only now."],
        ["The config was renamed and the old `oven-v2` profile is gone from this machine."],
    )
    assert 'Replaced: `stylelint` is gone ("Ines removed stylelint' in out[0]
    # the thing gone is the code span, not the noun after it
    assert out[1].startswith("Replaced: `oven-v2` is gone")
    # a sentence opening with a capitalised verb narrates an edit, it names no teammate
    assert replacements(["Removed the duplicated retry branch."]) == []


def test_a_request_that_only_points_back_continues_the_task_at_hand() -> None:
    said = (
        "Hmm, I checked with the firmware lead. She says: a released image we never patch "
        "in place; the fix goes in a new image. Could you do it that way please?"
    )
    assert read_message(said).follow_up
    # a request with content of its own opens a task
    assert not read_message("Could you flash the new image on board 3 please?").follow_up


def test_advice_under_a_condition_of_the_environment_is_kept_with_what_it_refers_to() -> None:
    said = (
        "Soak tests are tagged `soak` in setup.cfg. On the build box run them with "
        "`--soak-hours 1`; the rest finish in seconds."
    )
    assert statements([said]) == [
        "Soak tests are tagged `soak` in setup.cfg; on the build box run them with `--soak-hours 1`"
    ]
    # an instruction without a condition of the environment is the answer's, not a fact
    assert statements(["Then run `make flash` yourself with the board attached."]) == []


def test_how_a_thing_is_done_with_its_instrument_is_a_statement() -> None:
    said = "The kiosk now boots locally through `just kiosk-dev`, no VM needed."
    assert statements([said]) == [said.rstrip(".")]


def test_an_acronym_is_no_tool_two_rules_share() -> None:
    # "ci" is among the programs when a session touched `.github/workflows/ci.yml`
    tools = {"cabal", "stack", "ci"}
    a = "before every push please run cabal fmt, the CI here is strict"
    b = "formatting is done with `stack fmt` now, it also runs in the CI"
    assert not same_meaning(a, b, tools)


async def test_a_server_run_until_its_timeout_closes_the_failure_a_step_before_it_fixed() -> None:
    items = [
        user("The kiosk preview does not come up on a fresh checkout."),
        run("c1", "bun run preview"),
        result("c1", 1, "error: Cannot find module '@kiosk/ui' from '/w/src/app.ts'\n"),
        run("c2", "bun --version"),
        result("c2", 0, "1.1.38\n"),
        run("c3", "bun install --frozen-lockfile"),
        result("c3", 0, "412 packages installed [2.31s]\n"),
        run("c4", "PORT=4010 timeout 15 bun run preview"),
        result("c4", 124, "Preview server listening on http://localhost:4010\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "Cannot find module '@kiosk/ui'" in lesson
    assert "fixed by `bun install --frozen-lockfile`" in lesson
    assert "--version" not in lesson


async def test_a_step_after_which_the_same_error_came_back_is_no_fix_and_no_how_to() -> None:
    items = [
        user("Regenerate the API docs."),
        run("c1", "sphinx-build -W docs docs/_build"),
        result("c1", 2, "Extension error: Could not import extension sphinxcontrib.mermaid\n"),
        run("c2", "pip install --upgrade sphinx"),
        result("c2", 0, "Requirement already satisfied: sphinx in ./.venv\n"),
        run("c3", "sphinx-build -W docs docs/_build"),
        result("c3", 2, "Extension error: Could not import extension sphinxcontrib.mermaid\n"),
        run("c4", "pip install sphinxcontrib-mermaid"),
        result("c4", 0, "Successfully installed sphinxcontrib-mermaid-0.9.2\n"),
        run("c5", "sphinx-build -W docs docs/_build"),
        result("c5", 0, "build succeeded.\n"),
    ]
    lessons = await failures_of(items)
    assert "fixed by `pip install sphinxcontrib-mermaid`, after which it passed" in lessons
    assert "--upgrade sphinx" not in lessons
    assert "--upgrade sphinx" not in await knowledge_of(items)


@pytest.mark.parametrize(
    ("sentence", "implication"),
    [
        (
            "Could you always bump the chart version along with the image tag?",
            "always bump the chart version along with the image tag",
        ),
        (
            "You keep opening a new terminal for every probe, it clutters my screen.",
            "stop opening a new terminal for every probe",
        ),
    ],
)
def test_a_standing_request_asked_as_a_question_or_a_habit_objected_to(
    sentence: str, implication: str
) -> None:
    assert is_preference(sentence)
    assert preference_implication(sentence).startswith(implication)


@pytest.mark.parametrize(
    "sentence",
    [
        "Force pushes are not allowed on the release branches.",
        "The house rule is: one feature flag per pull request.",
        "It's safer to pin the emulator image by digest.",
        "I'd rather you left the generated bindings alone.",
        "Please refrain from adding global state to the scheduler.",
        "Ana says the signing keys must stay in the vault.",
    ],
)
def test_words_whose_meaning_is_a_norm_make_a_rule(sentence: str) -> None:
    assert is_preference(sentence), sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "Could you run the emulator tests again?",  # a question about now
        "Ana says the vault was down this morning.",  # a relayed report
        "It's better now, the flakes are gone.",  # "better" without "to"
    ],
)
def test_a_question_for_now_or_a_relayed_report_is_no_rule(sentence: str) -> None:
    assert not is_preference(sentence), sentence


def test_a_relayed_rule_is_stated_without_the_story_around_it() -> None:
    s = (
        "I was going to push straight to main but Tomas says we always open a merge "
        "request for the firmware, even for typos."
    )
    assert preference_implication(s).startswith("we always open a merge request")
    # a reason relayed after the rule is not the rule
    t = "But the golden files please dont regenerate blindly, Tomas told me the diff hides bugs."
    assert preference_implication(t).startswith("the golden files please dont regenerate")


async def test_a_command_and_its_variant_fixed_by_the_same_steps_give_one_lesson() -> None:
    items = [
        user("The label printer service will not boot after the pull."),
        run("c1", "./gradlew bootRun"),
        result("c1", 1, "FAILURE: Build failed with an exception.\n* What went wrong: bootRun\n"),
        run("c2", "./gradlew clean bootRun"),
        result("c2", 1, "Liquibase: Validation Failed: 1 changesets check sum\n"),
        run("c3", "git checkout 4be1f2a -- db/changelog/003-labels.xml"),
        result("c3", 0, "Updated 1 path from 9a0b1c2\n"),
        run("c4", "./gradlew bootRun"),
        result("c4", 0, "Started LabelApplication in 4.2 seconds\n"),
    ]
    lessons = [ln for ln in (await failures_of(items)).splitlines() if "fixed by" in ln]
    assert len(lessons) == 1
    assert "check sum" in lessons[0]


def test_a_complaint_about_a_generic_you_is_no_rule() -> None:
    assert not is_preference("It's so annoying when you have to wait for the night bus.")


@pytest.mark.parametrize(
    ("sentence", "implication"),
    [
        ("Keep migrations reversible.", "keep migrations reversible"),
        (
            "Changelog entries are mandatory for anything users see.",
            "changelog entries are mandatory for anything users see",
        ),
        (
            "Docstrings in the Google format, like the rest.",
            "docstrings in the Google format, like the rest",
        ),
        ("Error messages in Polish please.", "error messages in Polish"),
        (
            "I want all timestamps in UTC in the exports.",
            "i want all timestamps in UTC in the exports",
        ),
        (
            "Make it a habit to rebase before opening a review.",
            "make it a habit to rebase before opening a review",
        ),
        (
            "Ping me before you merge anything into release.",
            "ping me before you merge anything into release",
        ),
        ("Avoid global fixtures in the e2e suite.", "avoid global fixtures in the e2e suite"),
        (
            "We review every schema change in pairs here.",
            "we review every schema change in pairs here",
        ),
        ("Our team ships behind feature flags.", "our team ships behind feature flags"),
        (
            "Let's stick with the async client for new code.",
            "let's stick with the async client for new code",
        ),
        ("Could you not add type ignores", "do not add type ignores"),
        (
            "Fixtures live next to the tests that use them, not in a shared folder.",
            "fixtures live next to the tests that use them, not in a shared folder",
        ),
        ("No more than two reviewers per change.", "no more than two reviewers per change"),
    ],
)
def test_more_voices_of_a_standing_rule(sentence: str, implication: str) -> None:
    assert is_preference(sentence), sentence
    assert preference_implication(sentence) == implication


@pytest.mark.parametrize(
    "sentence",
    [
        "Fix all the warnings in the scheduler.",
        "Keep the terminal open while it deploys.",
        "Add fixtures for the new importer.",
        "Check every module in src for the old logger.",
        "Make tests pass.",
        "We shipped the importer on Friday.",
    ],
)
def test_a_task_at_hand_is_no_standing_rule(sentence: str) -> None:
    assert not is_preference(sentence), sentence


@pytest.mark.parametrize(
    "said",
    [
        "Set `KILN_PROFILE=ci` before running the glaze tests.",
        "To rebuild one board image: `nix build .#board-b`.",
        "The snapshot tests only pass with LANG=C set.",
        "The firmware needs Zephyr 3 or later (see west.yml).",
    ],
)
def test_how_to_and_a_setting_or_named_version_are_kept_from_a_conclusion(said: str) -> None:
    assert statements([said]) == [said.rstrip(".")]


def test_a_tool_ditched_for_another_or_a_thing_that_no_longer_exists_is_replaced() -> None:
    out = replacements(
        ["We ditched yarn for pnpm after the audit.", "The `seed.sh` script doesn't exist anymore."]
    )
    assert out[0].startswith("Replaced: `yarn` is replaced by `pnpm`")
    assert out[1].startswith("Replaced: `seed.sh` is gone")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("avoid emojis in release notes", "release notes stay emoji-free please"),
        ("reply tersely", "keep your replies short"),
        (
            "snapshot files are regenerated by the runner, never edited by hand",
            "do not hand-edit the snapshots, regenerate them",
        ),
    ],
)
def test_one_rule_in_other_words_is_merged(a: str, b: str) -> None:
    assert same_meaning(a, b, set())


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("use pnpm for installs", "do not use pnpm for installs"),
        ("reply tersely", "explain every step in detail"),
        ("never edit generated code by hand", "never edit applied migrations"),
        ("keep replies short", "keep commits small"),
    ],
)
def test_other_rules_sharing_words_are_not_merged(a: str, b: str) -> None:
    assert not same_meaning(a, b, {"pnpm"})


def test_the_trouble_a_user_brings_is_not_knowledge_a_condition_of_failure_is() -> None:
    said = [
        "The upload in kiln/storage.py says 403 since this morning.",
        "The glaze preview in src/preview.ts does not load anymore.",
        "The kiln API fails without KILN_TOKEN set.",
    ]
    assert user_statements(said) == ["The kiln API fails without KILN_TOKEN set"]


async def test_a_failure_that_passed_after_the_user_acted_is_linked_to_what_they_said() -> None:
    items = [
        user("Pull the latest fixtures from the lab share."),
        run("c1", "rsync -a lab:/share/fixtures/ fixtures/"),
        result("c1", 255, "ssh: connect to host lab port 22: Connection timed out\n"),
        user("Ah, the lab is only reachable over the VPN. I connected it, try again."),
        run("c2", "rsync -a lab:/share/fixtures/ fixtures/"),
        result("c2", 0, ""),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "Connection timed out" in lesson
    assert "it passed after the user said" in lesson
    assert "only reachable over the VPN" in lesson


async def test_listing_what_runs_is_a_look_not_a_fix_step() -> None:
    items = [
        user("Bring the stack up."),
        run("c1", "podman compose up -d"),
        result(
            "c1", 1, "Error: rootlessport listen tcp 0.0.0.0:6379: bind: address already in use\n"
        ),
        run("c2", "podman ps --format '{{.Names}}'"),
        result("c2", 0, "stale-redis\n"),
        run("c3", "podman stop stale-redis"),
        result("c3", 0, "stale-redis\n"),
        run("c4", "podman compose up -d"),
        result("c4", 0, "Started\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "fixed by `podman stop stale-redis`, after which it passed" in lesson


@pytest.mark.parametrize(
    "answer",
    [
        "Nah, leave the fixture as it is.",
        "I'd rather not, the reviewers hate that.",
        "Let's not do that, it hides the race.",
        "Better not, the release branch is protected.",
        "Hmm, no, that is risky.",
        "Please don't, it breaks the importer.",
    ],
)
def test_a_refusal_in_any_register_rejects(answer: str) -> None:
    assert is_rejection(answer)
    assert read_message(answer).negative


async def test_a_proposal_said_as_a_statement_is_what_a_refusal_refuses() -> None:
    items = [
        user("The importer test is flaky in CI."),
        run("c1", "tox -e py312 -- tests/test_importer.py"),
        result("c1", 1, "FAILED tests/test_importer.py::test_batch - AssertionError\n"),
        assistant(
            "It is a race on the temp dir. The quickest fix is to mark test_batch with "
            "pytest.mark.skip for now."
        ),
        user("Better not, we never skip tests to get green. Find the race."),
    ]
    out = await extract(request(items))
    text = out.rollout_summary
    assert "The user rejected the proposal to" in text
    assert "pytest.mark.skip" in text
    assert "The user rejected `tox" not in text
