"""What the offline extractor keeps for a future session (issue 13): durable statements from
the assistant's conclusions, the user's words and tool output; failures linked to the command
or edit that fixed them; preferences without trigger words; replacements; and what it drops
(small talk, one-off commands, transient values, the files of one session)."""

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

from memoryd.extract.offline import is_preference, preference_implication

# --------------------------------------------------------------------------------------------
# Knowledge from the assistant's conclusions and the user's words


async def test_assistant_conclusions_become_knowledge_narration_does_not() -> None:
    items = [
        env_context("/home/u/webapp"),
        user("The integration tests can't reach the API, find out why."),
        run("c1", "rg -n API_URL src"),
        result("c1", 0, "src/api/client.ts:4:const base = process.env.WEBAPP_API_URL;\n"),
        assistant(
            "I ran the search across src. It turns out the API base URL is read from "
            "WEBAPP_API_URL and must be http://127.0.0.1:8765 in tests. I killed the stale "
            "server (pid 48213) for now. The test Postgres listens on port 55432, not 5432. "
            "Let me know if you want more."
        ),
    ]
    knowledge = await knowledge_of(items)
    assert (
        "- The API base URL is read from WEBAPP_API_URL and must be http://127.0.0.1:8765 in "
        "tests\n"
    ) in knowledge + "\n"
    assert "48213" not in knowledge  # a pid is a value of one run
    assert "- The test Postgres listens on port 55432, not 5432\n" in knowledge + "\n"
    assert "I ran" not in knowledge and "Let me" not in knowledge


async def test_each_item_of_an_assistant_list_is_a_statement_of_its_own() -> None:
    """Found on corpus C: a conclusion written as a markdown list, its last item the fact."""
    items = [
        env_context("/home/u/app"),
        user("flutter test fails after pulling."),
        run("c1", "cat .fvmrc"),
        result("c1", 0, '{"flutter": "3.22.2"}\n'),
        assistant(
            "- the generated files were missing; build_runner made them\n"
            "- the repo pins Flutter 3.22.2 in .fvmrc, so run flutter through fvm"
        ),
    ]
    knowledge = await knowledge_of(items)
    assert "- The repo pins Flutter 3.22.2 in .fvmrc, so run flutter through fvm\n" in (
        knowledge + "\n"
    )


async def test_a_user_statement_about_the_project_is_knowledge() -> None:
    items = [
        user(
            "Add an index on orders.created_at. The migrations live in db/migrations and are "
            "applied with `make migrate`. Tests must always run against `db/test.sqlite`."
        ),
        patch("p1", "db/migrations/0042_orders_created_at.sql", op="Add"),
        patch_ok("p1"),
    ]
    out = await extract(request(items))
    block = task_block(out.raw_memory, 1)
    knowledge = section(block, "Reusable knowledge")
    assert "The migrations live in db/migrations and are applied with `make migrate`" in knowledge
    # A rule is a preference, not a fact a second time.
    assert "test.sqlite" in section(block, "Preference signals")
    assert "test.sqlite" not in knowledge


async def test_facts_only_in_tool_output_are_kept_secrets_are_not() -> None:
    items = [
        user("Why does the dev server refuse connections?"),
        run("c1", "cat .env.example"),
        result(
            "c1",
            0,
            "WEBAPP_API_URL=http://127.0.0.1:8765\nSTRIPE_SECRET_KEY=sk_live_abc\nDEBUG=1\n",
        ),
        run("c2", "node --version"),
        result("c2", 0, "v20.11.1\n"),
        run("c3", "npm run dev"),
        result("c3", None, "> vite\n\n  Listening on http://127.0.0.1:5173/\n"),
    ]
    knowledge = await knowledge_of(items)
    assert "`WEBAPP_API_URL=http://127.0.0.1:8765` is set in `.env.example`" in knowledge
    assert "STRIPE" not in knowledge and "sk_live" not in knowledge
    assert "`node --version` prints `v20.11.1`" in knowledge
    assert "`npm run dev` serves on `http://127.0.0.1:5173`" in knowledge


# --------------------------------------------------------------------------------------------
# Failure -> fix


async def test_the_fix_is_the_different_command_that_changed_the_outcome() -> None:
    items = [
        user("Run the test suite."),
        run("c1", "uv run pytest -q"),
        result("c1", 2, "E   ModuleNotFoundError: No module named 'requests'\n1 error in 0.3s\n"),
        run("c2", "cat pyproject.toml"),  # looking is not fixing
        result("c2", 0, '[project]\nname = "svc"\n'),
        run("c3", "uv add requests"),
        result("c3", 0, "Resolved 12 packages in 40ms\n + requests==2.32.3\n"),
        run("c4", "uv run pytest -q"),
        result("c4", 0, "31 passed in 1.2s\n"),
    ]
    failures = await failures_of(items)
    line = next(ln for ln in failures.splitlines() if "`uv run pytest -q` failed" in ln)
    assert "No module named 'requests'" in line
    assert "fixed by `uv add requests`, after which it passed" in line
    assert "cat pyproject.toml" not in line
    assert "the same command then succeeded" not in failures


async def test_a_replacement_command_is_the_fix_when_the_failed_one_never_passes() -> None:
    items = [
        user("Install httpx for the client."),
        run("c1", "pip install httpx"),
        result("c1", 1, "error: externally-managed-environment\n"),
        run("c2", "uv pip install httpx"),
        result("c2", 0, "Installed 1 package\n"),
    ]
    failures = await failures_of(items)
    assert (
        '`pip install httpx` failed: "error: externally-managed-environment"; '
        "`uv pip install httpx` worked instead"
    ) in failures


async def test_an_edit_the_user_had_undone_is_not_the_fix() -> None:
    items = [
        user("The date parser test fails, fix it."),
        run("c1", "pytest tests/test_dates.py -q"),
        result("c1", 1, "FAILED tests/test_dates.py::test_iso - AssertionError\n"),
        patch("p1", "tests/test_dates.py"),
        patch_ok("p1"),
        user("No, don't touch the test, undo that. The bug is in the parser."),
        patch("p2", "tests/test_dates.py"),  # the undo
        patch_ok("p2"),
        patch("p3", "src/dates.py"),
        patch_ok("p3"),
        run("c2", "pytest tests/test_dates.py -q"),
        result("c2", 0, "4 passed\n"),
    ]
    failures = await failures_of(items)
    lesson = next(ln for ln in failures.splitlines() if "failed" in ln)
    assert "fixed by editing `src/dates.py`, after which it passed" in lesson
    assert "test_dates.py`, after" not in lesson and "editing `tests/" not in lesson
    assert "The user rejected the edit to `tests/test_dates.py`" in failures
    assert "don't repeat it" in failures


async def test_a_no_to_the_assistants_question_is_not_a_rejection_of_the_last_command() -> None:
    """Found on corpus C: "should I mark it skip?" — "no, don't skip it" refused the proposal,
    not the test run before it."""
    items = [
        user("The settings golden test fails after the new row."),
        run("c1", "flutter test test/settings_test.dart"),
        result("c1", 1, "Golden 'settings.png': Pixel test failed, 2.31% diff detected.\n"),
        assistant("The golden differs because of the new row. Should I mark it skip: true?"),
        user("no, don't skip it. regenerate the golden."),
        run("c2", "flutter test --update-goldens test/settings_test.dart"),
        result("c2", 0, "All tests passed!\n"),
        run("c3", "git push --force"),
        result("c3", 0, ""),
        user("No, don't force-push, undo that."),
    ]
    failures = await failures_of(items)
    assert "The user rejected `flutter test test/settings_test.dart`" not in failures
    assert "The user rejected `git push --force`" in failures  # no question asked: it is


# --------------------------------------------------------------------------------------------
# Preferences without trigger words, and no mangling


def test_preferences_without_trigger_words() -> None:
    for sentence, implication in (
        ("pnpm, not npm.", "use pnpm, not npm"),
        ("Keep answers short and skip the preamble.", "keep answers short and skip the preamble"),
        ("Answer in bullet points.", "answer in bullet points"),
        (
            "Go through the ./dev wrapper for every docker command.",
            "go through the ./dev wrapper for every docker command",
        ),
        ("Make sure to run ruff before committing.", "make sure to run ruff before committing"),
        (
            "Run the linter first, never skip it.",
            "run the linter first, never skip it",  # kept whole, not cut at "never"
        ),
    ):
        assert is_preference(sentence), sentence
        assert preference_implication(sentence) == implication


def test_descriptions_and_requests_are_not_rules() -> None:
    for sentence in (
        "The build always fails on CI when the cache is cold.",
        "pytest never finishes on my laptop.",
        "Add a test for parse_date.",
        "Explain how the cache works here.",
        "Why does it always time out?",
    ):
        assert not is_preference(sentence), sentence


def test_rules_after_a_lead_in_or_said_of_a_kind_of_thing() -> None:
    """Shapes found on corpus C, each a grammatical mechanism: a tool choice after a lead-in
    or a purpose, a prohibition after a time clause or with "nothing" as its subject, a norm
    said of a kind of thing (a bare plural or "every"), a convention named by reference."""
    for sentence, implication in (
        ("fyi for reading json use jq, not python -c.", "use jq, not python -c"),
        ("btw to search the repo use rg, not grep", "use rg, not grep"),
        ("and once you're finished, no console.log left in src", "avoid console.log left in src"),
        ("nothing gets deployed by hand, the pipeline does it", None),
        ("SQL stays in the repository layer, views only render", None),
        ("every string goes through the i18n helper", None),
        ("name the migration like the others, with a timestamp prefix", None),
    ):
        assert is_preference(sentence), sentence
        if implication is not None:
            assert preference_implication(sentence) == implication


def test_reports_and_where_things_are_stay_out_of_the_rules() -> None:
    for sentence in (
        "flutter test explodes right after pulling develop.",
        "cargo build fails right after the rebase.",
        "the docs build keeps timing out after the upgrade.",
        "The migrations live in db/migrations.",
        "The handlers go through the session middleware already.",
        "The admin UI does not load.",
    ):
        assert not is_preference(sentence), sentence


# --------------------------------------------------------------------------------------------
# Replacements


async def test_a_stated_replacement_and_a_command_gone_are_recorded() -> None:
    items = [
        user("We replaced poetry with uv last week, update the CI docs accordingly."),
        run("c1", "make test"),
        result("c1", 2, "make: *** No rule to make target 'test'.  Stop.\n"),
        patch("p1", "docs/ci.md"),
        patch_ok("p1"),
    ]
    knowledge = await knowledge_of(items)
    assert "Replaced: `poetry` is replaced by `uv`" in knowledge
    assert "Replaced: `make test` is gone (make: *** No rule to make target 'test'. Stop.)" in (
        knowledge
    )


# --------------------------------------------------------------------------------------------
# Noise


async def test_small_talk_is_not_a_task_and_one_off_commands_are_not_knowledge() -> None:
    items = [
        user("Hi! Good morning."),
        user("The worker is stuck, restart it."),
        run("c1", "pgrep -f worker"),
        result("c1", 0, "48213\n"),
        run("c2", "kill 48213"),
        result("c2", 0, ""),
        run("c3", "make worker"),
        result("c3", 0, "worker started\n"),
        user("Thanks, that's all for today!"),
    ]
    out = await extract(request(items))
    assert "## Task 2" not in out.rollout_summary
    block = task_block(out.raw_memory, 1)
    assert block.startswith("### Task 1: The worker is stuck, restart it\n")
    knowledge = section(block, "Reusable knowledge")
    assert "kill" not in knowledge and "48213" not in knowledge and "pgrep" not in knowledge
    assert "- `make worker` works\n" in knowledge + "\n"  # a project task, no known purpose


def test_replacement_phrasings() -> None:
    from memoryd.extract.offline.changes import replacements

    said = replacements(
        [
            "Heads up: `just` replaced make in this repo.",
            "The old deploy.sh no longer works.",
            "The test database listens on port 5433 now (was 5432).",
            "We switched the frontend to bun.",
        ],
        # The agent telling its own edit is no replacement; a standing statement is.
        ["I replaced the loop with a comprehension.", "Lint runs on ruff now, not flake8."],
    )
    assert said[0].startswith("Replaced: `make` is replaced by `just` (")
    assert said[1].startswith("Replaced: `deploy.sh` is gone (")
    assert said[2].startswith("Replaced: `5432` is replaced by `5433` (")
    assert said[3].startswith("Switched to: `bun` (")
    assert len(said) == 5 and "loop" not in " ".join(said)
    assert said[4].startswith("Replaced: `flake8` is replaced by `ruff` (")


async def test_the_error_line_that_says_why_is_quoted() -> None:
    items = [
        user("Push it."),
        run("c1", "git push"),
        result(
            "c1",
            1,
            "To github.com:acme/shop.git\n ! [rejected]        main -> main (non-fast-forward)\n"
            "error: failed to push some refs to 'github.com:acme/shop.git'\n",
        ),
        run("c2", "git pull --rebase"),
        result("c2", 0, "Successfully rebased and updated refs/heads/main.\n"),
        run("c3", "git push"),
        result("c3", 0, "   2b3c4d5..6f7a8b9  main -> main\n"),
    ]
    failures = await failures_of(items)
    assert (
        '`git push` failed: "! [rejected] main -> main (non-fast-forward)"; fixed by '
        "`git pull --rebase`, after which it passed"
    ) in failures


async def test_a_long_failure_still_states_its_fix_within_one_summary_line() -> None:
    cmd = "SHOP_DB_URL=postgres://localhost:5432/shop_test " + "uv run pytest " + "-k x " * 30
    items = [
        user("Run the tests."),
        run("c1", cmd),
        result("c1", 1, "E   ModuleNotFoundError: No module named 'httpx' " + "x" * 300 + "\n"),
        run("c2", "uv add httpx"),
        result("c2", 0, "+ httpx\n"),
        run("c3", cmd),
        result("c3", 0, "3 passed\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "No module named 'httpx'" in lesson and "fixed by `uv add httpx`" in lesson
    assert len(lesson) <= 320  # the summary's line length: the fix is never cut off


async def test_a_command_whose_target_no_longer_exists_is_gone() -> None:
    # named up to what is missing: any `cargo xtask …` is gone, whatever its arguments
    for cmd, gone, output in (
        ("npm run serve", "npm run serve", 'npm ERR! Missing script: "serve"\n'),
        ("cargo xtask dist", "cargo xtask", "error: no such subcommand: `xtask`\n"),
        (
            "./scripts/dev.sh",
            "./scripts/dev.sh",
            "bash: ./scripts/dev.sh: No such file or directory\n",
        ),
        ("rake db:seed", "rake db:seed", "rake aborted!\nDon't know how to build task 'db:seed'\n"),
        (
            "pnpm exec prettier --write src",
            "pnpm exec prettier",
            ' ERR_PNPM_RECURSIVE_EXEC_FIRST_FAIL  Command "prettier" not found\n',
        ),
    ):
        knowledge = await knowledge_of([user("Start it."), run("c1", cmd), result("c1", 1, output)])
        assert f"Replaced: `{gone}` is gone (" in knowledge, cmd


async def test_a_restart_chain_keeps_the_server_fact_without_the_killed_pid() -> None:
    """`kill 73519 && ./serve.sh` restarts a server once; where it then serves is reusable
    knowledge, the process id it killed is not."""
    items = [
        user("The kiosk preview is stuck on the old build, restart it"),
        run("c1", "kill 73519 && ./serve.sh --preview"),
        result("c1", None, "building...\nPreview ready on http://127.0.0.1:4410/\n"),
    ]
    knowledge = await knowledge_of(items)
    assert "`./serve.sh --preview` serves on `http://127.0.0.1:4410`" in knowledge
    assert "73519" not in knowledge
