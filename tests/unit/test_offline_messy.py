"""How the offline extractor reads knowledge that arrives in messy ways (issue 13, corpus D):
a wrapped tool's failure, a fix that is a chain, a versioned build of the tool or a config
edit, a user stopping a command and naming the right one, a refused proposal, a tool that is
gone, a value of one run in an aside."""

from __future__ import annotations

from support.items import (
    assistant,
    env_context,
    extract,
    failures_of,
    knowledge_of,
    patch,
    patch_ok,
    request,
    result,
    run,
    section,
    task_block,
    user,
)

from memoryd.extract.offline import is_preference, preference_implication, read_message
from memoryd.extract.offline.changes import replacements
from memoryd.extract.offline.facts import statements
from memoryd.extract.offline.shell import error_excerpt


def test_a_wrapped_tools_own_error_line_is_quoted_not_the_wrappers() -> None:
    make = (
        "go test ./... -race\n"
        "internal/store/store_test.go:18:14: undefined: mocks.NewMockQuerier\n"
        "FAIL\tgithub.com/acme/hive/internal/store [build failed]\n"
        "make: *** [Makefile:14: test] Error 1\n"
    )
    assert error_excerpt(make) == (
        "internal/store/store_test.go:18:14: undefined: mocks.NewMockQuerier"
    )
    turbo = (
        "@app/web:test: FAIL src/tasks.test.ts\n"
        "@app/web:test:     @prisma/client did not initialize yet. Please run "
        '"prisma generate" and try to import it again.\n'
        "@app/web:test: ERROR: command finished with error: command (/w/apps/web) pnpm run "
        "test exited (1)\n"
        " ERROR  run failed: command  exited (1)\n"
    )
    assert error_excerpt(turbo) == (
        '@prisma/client did not initialize yet. Please run "prisma generate" and try to '
        "import it again."
    )


async def test_a_versioned_build_of_the_tool_fixes_it_and_asking_the_version_does_not() -> None:
    items = [
        user("Add a clang-format check."),
        run("c1", "clang-format --dry-run --Werror src/a.cpp"),
        result("c1", 1, "YAML:14:1: error: unknown key 'InsertNewlineAtEOF'\n"),
        run("c2", "clang-format --version"),
        result("c2", 0, "Ubuntu clang-format version 14.0.6\n"),
        run("c3", "clang-format-18 --dry-run --Werror src/a.cpp"),
        result("c3", 0, ""),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "unknown key 'InsertNewlineAtEOF'" in lesson
    assert "`clang-format-18 --dry-run --Werror src/a.cpp` worked instead" in lesson
    assert "--version" not in lesson


async def test_a_chain_that_reruns_the_failed_command_closes_it() -> None:
    items = [
        user("Run the unit tests."),
        run("c1", "ctest --test-dir build --no-tests=error"),
        result("c1", 8, "Test project /w/build\nNo tests were found!!!\n"),
        run("c2", "cmake --preset dev -DLIB_BUILD_TESTS=ON"),
        result("c2", 0, "-- Build files have been written to: /w/build\n"),
        run("c3", "cmake --build build && ctest --test-dir build"),
        result("c3", 0, "100% tests passed, 0 tests failed out of 57\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert '"No tests were found!!!"' in lesson
    assert "fixed by `cmake --preset dev -DLIB_BUILD_TESTS=ON`" in lesson


async def test_a_config_edit_that_fixed_it_is_told_by_the_setting_it_added() -> None:
    items = [
        user("Bring up the dev database."),
        run("c1", "docker compose up -d db"),
        result("c1", 1, "Error: Bind for 0.0.0.0:5432 failed: port is already allocated\n"),
        patch("p1", ".env", added=("HIVE_PG_PORT=5433",)),
        patch_ok("p1"),
        run("c2", "docker compose up -d db"),
        result("c2", 0, "Container hive-db-1  Started\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "port is already allocated" in lesson
    assert "fixed by editing `.env` (`HIVE_PG_PORT=5433`), after which it passed" in lesson
    # a credential the edit set is never quoted
    items[3] = patch("p1", ".env", added=("DB_PASSWORD=hunter2",))
    lesson = (await failures_of(items)).splitlines()[0]
    assert "hunter2" not in lesson and "fixed by editing `.env`, after which it passed" in lesson


async def test_a_user_stopping_a_command_and_naming_another_links_the_two() -> None:
    items = [
        user("The tests went red after the rebase."),
        run("c1", "cargo test"),
        result("c1", 130, "thread 'db::tests' panicked at src/db.rs:41:10:\n^C\n"),
        user("Stop, not cargo test. Tests here run under cargo nextest run."),
        run("c2", "cargo nextest run"),
        result("c2", 0, "Summary [4.2s] 212 tests run: 212 passed\n"),
    ]
    out = await extract(request(items))
    assert "## Task 2" not in out.raw_memory  # the correction is no new task
    lesson = section(task_block(out.raw_memory, 1), "Failures and how to do differently")
    assert (
        "`cargo test` failed (the user interrupted it); the user corrected it "
        '("Stop, not cargo test. Tests here run under cargo nextest run."): '
        "`cargo nextest run` worked instead"
    ) in lesson
    assert not is_preference("Stop, not cargo test.")
    assert read_message("whoa, not npm — this is a pnpm workspace.").negative


async def test_a_refused_proposal_is_a_dont_and_not_knowledge() -> None:
    items = [
        env_context("/w/lumen"),
        user("The push is rejected, sort it out."),
        run("c1", "git push"),
        result("c1", 1, " ! [rejected]  hdr -> hdr (non-fast-forward)\n"),
        assistant("Simplest is `git push --force` over the remote branch. Shall I?"),
        user("No. Never force-push here; rebase onto trunk."),
        run("c2", "git fetch origin && git rebase origin/trunk"),
        result("c2", 0, "Successfully rebased.\n"),
    ]
    failures = await failures_of(items)
    assert (
        "The user rejected the proposal to run `git push --force` "
        '("No. Never force-push here"): don\'t repeat it'
    ) in failures
    assert "pushed back" not in failures  # the refusal is told once, as the "don't"
    assert "Simplest is" not in await knowledge_of(items)


async def test_a_rejected_edit_is_named_by_what_it_added() -> None:
    items = [
        user("clippy complains about fetch_page."),
        patch("p1", "src/sync.rs", added=("#[allow(clippy::too_many_arguments)]",)),
        patch_ok("p1"),
        assistant("Done, that silences it."),
        user("No. We fix clippy lints here, group the arguments into a struct."),
    ]
    assert (
        "The user rejected the edit to `src/sync.rs` that added "
        "`#[allow(clippy::too_many_arguments)]`"
    ) in await failures_of(items)


def test_rules_in_messier_phrasings() -> None:
    for sentence, implication in (
        ("no ts-ignore please, fix the actual type", "avoid ts-ignore; fix the actual type"),
        (
            "and whatever you do, tests never talk to the real network",
            "tests never talk to the real network",
        ),
        (
            "At the end, give me the commands you ran as one copy-pasteable block.",
            "give me the commands you ran as one copy-pasteable block",
        ),
        ("the geocoder test hits a live endpoint — tests mustn't reach the network", None),
    ):
        assert is_preference(sentence), sentence
        if implication is not None:
            assert preference_implication(sentence) == implication
    for sentence in ("the integration tests never seem to run.", "Builds always take ages."):
        assert not is_preference(sentence), sentence


def test_replacements_in_messier_phrasings() -> None:
    def said(text: str) -> list[str]:
        return [r.split(" (")[0] for r in replacements([text])]

    assert said("We replaced eslint and prettier with biome yesterday.") == [
        "Replaced: `eslint` is replaced by `biome`",
        "Replaced: `prettier` is replaced by `biome`",
    ]
    assert said("fyi we moved lumen off conan to vcpkg manifest mode") == [
        "Replaced: `conan` is replaced by `vcpkg`"
    ]
    assert said("we switched releases over to release-plz, cargo release isn't used anymore") == [
        "Replaced: `cargo release` is gone",
        "Switched to: `release-plz`",
    ]
    assert said("so a changed query fails to compile until you run prepare") == []


def test_a_value_of_one_run_in_an_aside_is_dropped_not_the_statement() -> None:
    assert statements(
        [
            "`make proto` no longer exists (a41c9e2 dropped it): the Go code is now generated "
            "with `buf generate`."
        ]
    ) == ["`make proto` no longer exists: the Go code is now generated with `buf generate`"]


async def test_a_command_gone_names_what_ran_in_its_place() -> None:
    items = [
        user("proto changed again, regenerate please"),
        run("c1", "make proto"),
        result("c1", 2, "make: *** No rule to make target 'proto'.  Stop.\n"),
        run("c2", "git log -1 --format=%s -- Makefile"),
        result("c2", 0, "Drop protoc targets: code generation moved to buf\n"),
        run("c3", "buf generate"),
        result("c3", 0, ""),
    ]
    assert (
        "Replaced: `make proto` is gone (make: *** No rule to make target 'proto'. Stop.); "
        "`buf generate` ran in its place"
    ) in await knowledge_of(items)


def test_rules_said_of_a_kind_of_thing_without_a_trigger_word() -> None:
    for sentence in (
        # where a kind of thing must not go
        "Secrets stay out of log lines and error messages.",
        # every/each binds a singular noun, with a scope after it
        "Every migration in billing needs to be reversible, we roll back often.",
        # a kind described with a universal scope
        "Log timestamps are UTC in every service.",
        # an allocation in the clause after a dash
        "Keep the changelog untouched in refactors — version bumps get their own PR.",
        # an imperative whose object is a bare plural, then how to handle it
        "Ship schema changes behind a feature flag.",
        "Open merge requests as drafts until the pipeline is green.",
        # a verb ending in -ply is a verb, not an -ly adverb
        "Apply formatting only via the pre-commit hook.",
    ):
        assert is_preference(sentence), sentence
    for sentence in (
        "Fix the flaky tests first.",  # one thing at hand, not a kind
        "Locally the build takes ages only on Mondays.",  # an -ly adverb opens a report
        "The dashboards are slow in every browser?",
        # how things went, with the scope in an aside
        "Checks are green (`make ci` runs the linters in every module).",
        "Builds are slow in every branch.",
    ):
        assert not is_preference(sentence), sentence


async def test_a_fix_is_told_without_the_look_before_it_and_without_its_run_id() -> None:
    items = [
        user("The deploy job is stuck."),
        run("c1", "./scripts/deploy.sh staging"),
        result("c1", 1, "Error: job lease held by allocation\n"),
        # looking at recent runs changes nothing: not part of the fix
        run("c2", "nomad alloc list -job deploy"),
        result("c2", 0, "ID        Status\nb71e2c9d  failed\n"),
        run("c3", "nomad alloc stop 0b5e8c2a-91d4-4f3e-a6c7-2d9e4f1b7a30"),
        result("c3", 0, "Allocation stopped\n"),
        run("c4", "./scripts/deploy.sh staging"),
        result("c4", 0, "Deployment completed successfully\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "fixed by `nomad alloc stop <id>`, after which it passed" in lesson
    assert "alloc list" not in lesson and "0b5e8c2a" not in lesson


def test_an_error_excerpt_is_the_line_that_says_what_went_wrong() -> None:
    # a bare error name says less than the line with its message
    assert (
        error_excerpt(
            "Building wheel\n\n  WheelBuildFailure\n\n  Error: libffi headers not found.\n"
        )
        == "Error: libffi headers not found."
    )
    # where a Ruby error was raised is not part of its message
    assert (
        error_excerpt(
            "/w/app/lib/tasks/sync.rake:12:in `block in <top>': "
            "Queue is paused (Sidekiq::PausedError)\n"
        )
        == "Queue is paused (Sidekiq::PausedError)"
    )


def test_a_conjunction_before_a_gone_tool_is_not_the_tool() -> None:
    assert replacements(["The images are distroless now, so curl no longer works in them."]) == [
        'Replaced: `curl` is gone ("The images are distroless now, so curl no longer works in '
        'them")'
    ]
    assert replacements(["We bumped the runtime and tox no longer works."]) == [
        'Replaced: `tox` is gone ("We bumped the runtime and tox no longer works")'
    ]


def test_a_request_scoped_to_now_or_to_one_coming_event_is_no_rule() -> None:
    for sentence in (
        "Tonight I need the export to use semicolons rather than commas.",
        "Skip the slow hook just this once.",
        "Release notes please, before we cut 2.3.",
    ):
        assert not is_preference(sentence), sentence
    # the same shapes without the time are standing rules
    assert is_preference("Use semicolons rather than commas in the exports.")
    assert is_preference("Update the release notes before tagging.")
    assert is_preference("Regenerate the client before you push.")
