"""What the offline consolidator reads out of consolidated statements (issue 13): changes no
sentence announced (a value, a program, a variable's name), commands that are gone, and rules
that mean the same in other words. The wording here is in no quality corpus, so that passing
says the mechanism generalises, not that it learnt a phrase."""

from __future__ import annotations

from support.offline_memory import read_source

from memoryd.consolidate.offline.meaning import program, same_meaning, same_tool_rule, stance
from memoryd.consolidate.offline.model import (
    Entry,
    build_groups,
    collect_entries,
    general_rule_keys,
    project_bullet,
    rule_aliases,
)
from memoryd.consolidate.offline.replaced import Replacement, replacement, superseded_by
from memoryd.consolidate.offline.scope import universal, where_stated
from memoryd.consolidate.offline.supersession import (
    changed_attributes,
    changed_values,
    gone_command,
    gone_commands,
    renamed_settings,
    said_key,
    turned_down,
)

D1, D2, D3 = "2026-10-01T09:00:00Z", "2026-10-08T09:00:00Z", "2026-10-15T09:00:00Z"


def said(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    return list(pairs)


def test_program_skips_assignments_and_sudo() -> None:
    assert program("`RUST_LOG=debug sudo cargo run --release`") == "cargo"
    assert program("env -i make check") == "make"


def test_a_value_given_again_differently_supersedes_the_older_statement() -> None:
    old = "The metrics exporter listens on port 9187 inside the compose network"
    new = "The metrics exporter listens on port 9250 inside the compose network"
    facts = said((D1, old), (D2, new))
    found = changed_values(facts, facts)
    assert [(r.old, r.new, r.day) for r in found] == [("9187", "9250", D2)]
    assert superseded_by(old, D1, found) is not None
    assert superseded_by(new, D2, found) is None
    # a line that names the new value is current, even if it also names the old one
    assert superseded_by("moved from 9187 to 9250", D1, found) is None


def test_a_value_still_said_later_is_a_second_value_not_a_change() -> None:
    a = "The fixture archive for the parser tests is testdata/v2/sample.tar"
    b = "The fixture archive for the parser tests is testdata/v3/sample.tar"
    later = "Both testdata/v2/sample.tar and testdata/v3/sample.tar are read by the parser tests"
    facts = said((D1, a), (D2, b))
    assert changed_values(facts, [*facts, (D3, later)]) == []


def test_another_program_doing_the_same_job_supersedes_the_old_command() -> None:
    old = "Serve the docs with `mkdocs serve`"
    new = "Serve the docs with `zensical serve`"
    facts = said((D1, old), (D2, new))
    found = changed_values(facts, facts)
    # the program is what went (round 8): its other commands and rules are out of date too
    assert [(r.old, r.new) for r in found] == [("mkdocs", "zensical")]
    assert superseded_by(old, D1, found) is not None


def test_commands_of_one_program_or_other_jobs_are_all_current() -> None:
    facts = said(
        (D1, "Run the tests with `cargo test -p wire`"),
        (D2, "Run the tests with `cargo test -p codec`"),
        (D1, "Fetch the fonts with `npx fontsource fetch`"),
        (D2, "Fetch the fonts with `bun install`"),  # another subcommand: another job
        (D1, "Lint it with `ruff check src`"),
        (D3, "Lint it with `pylint check src`"),
    )
    texts = [*facts, (D3, "`ruff check src` failed: E501; fixed by editing `src/x.py`")]
    assert changed_values(facts, texts) == []


def test_a_distinctive_value_under_a_new_name_is_a_renamed_variable() -> None:
    old = "The mail tests need ORBIT_SMTP_HOST=mail.internal:2525"
    new = "The mail tests need ORBIT_RELAY_ADDR=mail.internal:2525 since the 3.0 upgrade"
    facts = said((D1, old), (D2, new))
    found = renamed_settings(facts, facts)
    assert [(r.old, r.new) for r in found] == [("ORBIT_SMTP_HOST", "ORBIT_RELAY_ADDR")]
    assert superseded_by("Export ORBIT_SMTP_HOST before the mail tests", D1, found) is not None
    # a plain value ("1", "true") says nothing about a rename
    flags = said((D1, "Set ORBIT_DEBUG=1 to log SQL"), (D2, "Set ORBIT_TRACE=1 for spans"))
    assert renamed_settings(flags, flags) == []
    # the old name still in use later: two variables, not a rename
    both = [*facts, (D3, "ORBIT_SMTP_HOST is still read by the CLI")]
    assert renamed_settings(facts, both) == []


def test_a_remembered_command_that_now_fails_as_gone_is_superseded() -> None:
    start = "Start the worker with `poetry run worker --queue low`"
    fail = (
        '`poetry run worker --queue low` failed: "Command not found: worker"; '
        "unresolved at the end of the task"
    )
    assert gone_command(fail) == "poetry run worker --queue low"
    texts = said((D1, start), (D2, fail))
    found = gone_commands([(D2, fail)], texts)
    assert found == [Replacement("poetry run worker --queue low", "", D2, fail)]
    assert superseded_by(start, D1, found) is not None


def test_a_failure_that_is_not_about_a_gone_command_supersedes_nothing() -> None:
    start = "Start the worker with `poetry run worker`"
    broken = '`poetry run worker` failed: "KeyError: QUEUE_URL"; unresolved at the end of the task'
    fixed = (
        '`poetry run worker` failed: "Command not found: worker"; fixed by `poetry install`, '
        "after which it passed"
    )
    missing_file = (
        '`poetry run worker` failed: "FileNotFoundError: [Errno 2] No such file or directory: '
        "'queues.toml'\"; unresolved at the end of the task"
    )
    assert gone_command(missing_file) is None  # the command is there; a file it reads is not
    texts = said((D1, start), (D2, broken), (D2, fixed))
    assert gone_commands([(D2, broken), (D2, fixed)], texts) == []
    # never remembered before: a tool missing on this machine, not a replacement
    fresh = '`just docs` failed: "just: command not found"; unresolved at the end of the task'
    assert gone_command(fresh) == "just docs"
    assert gone_commands([(D2, fresh)], [(D2, fresh)]) == []


def test_a_statement_of_the_removal_itself_is_not_out_of_date() -> None:
    gone = [Replacement("Procfile", "", D2, "the Procfile is gone")]
    assert superseded_by("Processes are declared in the Procfile", D1, gone) is not None
    assert superseded_by("The old Procfile was removed in favour of fly.toml", D1, gone) is None


def test_a_tool_taken_the_same_way_in_other_words_is_one_rule() -> None:
    tools = {"ruff", "mypy"}
    assert stance("format with ruff, never with black") == {
        "format": True,
        "ruff": True,
        "black": False,
    }
    assert same_tool_rule(
        "format Python with ruff, never with black",
        "always use ruff for formatting instead of black",
        tools,
    )
    # the wrapper is not the tool: `uv run mypy` is mypy
    assert same_tool_rule(
        "type-check with `uv run mypy --strict` before pushing",
        "mypy in strict mode before every push",
        tools,
    )
    # the same tool the other way round is another rule
    assert not same_tool_rule("let ruff fix the imports", "never let ruff touch vendor/", tools)
    # the same tool about something else is another rule
    assert not same_tool_rule("mypy before pushing", "mypy: ignore the generated stubs", tools)
    # a tool neither rule names in code nor the sessions ran is just a word
    assert not same_tool_rule("prefer tabs", "prefer tabs over spaces in the Makefile", set())


def test_a_rule_said_for_every_project_is_general() -> None:
    for said_so in (
        "squash before merging, in every one of my projects",
        "across all our repositories, tag releases as vX.Y.Z",
        "whatever the codebase, no TODO without an issue number",
    ):
        assert universal(said_so), said_so
    assert not universal("every request goes through the retry wrapper")
    assert where_stated(["api"]) == "stated for every project"
    assert where_stated(["api", "cli"]) == "stated in api, cli"


def test_rules_in_other_words_in_two_projects_are_one_general_rule() -> None:
    sources = [
        read_source(
            1,
            "/w/api",
            ['the user said "Format Python with ruff, never black." -> format Python with ruff'],
            ["`uv run ruff format .` works"],
        ),
        read_source(
            2,
            "/w/cli",
            ['the user said "always use ruff for formatting instead of black"'],
        ),
        read_source(3, "/w/cli", ['the user said "keep the changelog in docs/CHANGES.md"']),
    ]
    aliases = rule_aliases(sources)
    general = general_rule_keys(sources, aliases)
    assert len(set(aliases.values())) == 2
    assert len(general) == 1


def test_a_replacement_misread_as_a_function_word_is_a_removal() -> None:
    r = replacement('Replaced: `tox` is replaced by `and` ("dropped tox and moved to nox")', D2)
    assert r is not None and (r.old, r.new) == ("tox", "")
    r = replacement('Replaced: `tox` is replaced by `nox` ("tox is now nox")', D2)
    assert r is not None and (r.old, r.new) == ("tox", "nox")


def test_a_value_of_the_same_attribute_and_subject_in_a_longer_statement_is_replaced() -> None:
    old = "The billing worker polls the queue every 30 seconds and writes to ledger.db"
    new = "The billing worker now polls the queue every 45 seconds"
    facts = said((D1, old), (D2, new))
    found = changed_attributes(facts, facts)
    assert [(r.old, r.new) for r in found] == [("30", "45")]
    assert superseded_by(old, D1, found) is not None


def test_the_same_attribute_of_another_thing_is_not_a_replacement() -> None:
    # two ports in one project: each in its own clause, about its own thing
    old = "Integration tests expect Redis on port 6380, and Grafana is on port 3000"
    new = "The docs preview is served on port 8300"
    facts = said((D1, old), (D2, new))
    assert changed_attributes(facts, facts) == []
    # the old value still said later: both hold
    again = said(
        (D1, "The exporter listens on port 9100"), (D2, "The exporter listens on port 9200")
    )
    assert changed_attributes(again, [*again, (D3, "port 9100 is the node exporter")]) == []


def test_a_fact_and_the_replacements_read_from_it_are_one_entry() -> None:
    said_it = "The nightly job no longer reads ARCHIVE_BUCKET"
    src = read_source(
        1,
        "/w/api",
        [],
        [
            said_it,
            f'Replaced: `ARCHIVE_BUCKET` is gone ("{said_it}")',
            "The nightly job writes to s3://exports/nightly",
        ],
    )
    (group,) = build_groups([src])
    entries = collect_entries(list(enumerate(group.tasks, 1)), "knowledge")
    assert [e.text for e in entries] == [
        f'Replaced: `ARCHIVE_BUCKET` is gone ("{said_it}")',
        "The nightly job writes to s3://exports/nightly",
    ]
    assert said_key(entries[0].text) == said_key(said_it)


def test_rules_in_other_words_are_the_same_rule_and_opposites_are_not() -> None:
    tools = {"pnpm", "npm"}
    same = [
        ("Always run the linter before committing", "lint before every commit"),
        ("Use tabs for indentation", "indent with tabs, not spaces"),
        ("Use pnpm rather than npm", "never npm, pnpm only"),
        ("keep timestamps in UTC", "store all times as UTC"),
        ("Don't add new dependencies without asking", "ask me before adding any new package"),
    ]
    for a, b in same:
        assert same_meaning(a, b, tools), (a, b)
    different = [
        ("use spaces, not tabs", "use tabs, not spaces"),
        ("Use pnpm rather than npm", "use npm, not pnpm"),
        # "hand" is not "handler" less a suffix; "DB" alone says little
        ("handlers take the DB session from get_session()", "never edit internal/db by hand"),
        ("keep answers short", "keep commit messages short"),
    ]
    for a, b in different:
        assert not same_meaning(a, b, tools), (a, b)
    assert stance("never npm, pnpm only") == {"npm": False, "pnpm": True}


def test_a_later_rule_that_turns_a_tool_down_supersedes_the_older_rule() -> None:
    rules = said(
        (D1, "run yapf on every file you touch"),
        (D2, "format with ruff from now on, not yapf"),
    )
    found = turned_down(rules, {"ruff", "yapf"})
    assert [(r.old, r.new) for r in found] == [("yapf", "ruff")]
    assert superseded_by("run yapf on every file you touch", D1, found) is not None
    # the words that announced the change are not out of date by it
    assert superseded_by("format with ruff from now on, not yapf", D1, found) is None
    # both rules turning it down, or an unrelated later rule: nothing changed
    assert turned_down(said((D1, "never yapf"), (D2, "ruff, not yapf")), {"ruff", "yapf"}) == []
    assert turned_down(said((D1, "run yapf"), (D2, "never push to main")), {"yapf"}) == []
    # a later rule about how to use the tool, taking no other one, does not replace it
    limits = said((D1, "run pytest with -x"), (D2, "don't run pytest in parallel"))
    assert turned_down(limits, {"pytest"}) == []


def test_a_long_rule_keeps_its_reason_in_the_summary_line() -> None:
    rule = (
        "every migration gets a matching downgrade and a data backfill script under "
        "migrations/backfill, reviewed together in the same pull request, because the "
        "on-call rollback runbook replays downgrades in order"
    )
    assert 160 < len(rule) < 280
    e = Entry(key="k", text=rule, implication=rule)
    assert e.rule_text().endswith("replays downgrades in order")


def test_a_rule_rewritten_without_the_users_code_keeps_their_words() -> None:
    e = Entry(
        key="k", text="x", implication="commit with no verify skipped", quote="no --no-verify"
    )
    assert "--no-verify" in e.rule_text()
    same = Entry(key="k", text="x", implication="pin Python to 3.12", quote="Python 3.12")
    assert same.rule_text() == "pin Python to 3.12"


def test_one_rule_in_other_words_maps_its_words_to_ideas() -> None:
    tools: set[str] = set()
    # a gem and a library are each a dependency; "check with me" is asking
    assert same_meaning(
        "avoid new gems without asking me", "check with me before adding any new library", tools
    )
    # "their own" and "a dedicated" commit split the same way; feature work is a change
    assert same_meaning(
        "keep vendored code out of unrelated changes — vendor updates get their own commit",
        "vendor bumps go in a dedicated commit, never mixed with feature work",
        tools,
    )
    # the same ideas about another thing are another rule
    assert not same_meaning(
        "avoid new gems without asking me", "check with me before adding any new endpoint", tools
    )


def test_rules_naming_different_things_in_code_are_not_one_rule() -> None:
    # they share "source", "comment" and "note", but one is about TODOs, one about emoji
    assert not same_meaning(
        "avoid TODO notes in source comments", "keep emoji out of source comments and notes", set()
    )
    assert same_meaning(
        "avoid TODO notes in source comments", "no TODO notes left in source comments", set()
    )
    # a name only one rule gives, when the shorter rule says nothing else, does not split them
    assert same_meaning(
        "render times in the viewer's zone only for display",
        "keep times in UTC, render them in the viewer's zone only for display",
        set(),
    )


def test_rules_sharing_their_ideas_the_other_way_round_are_not_one_rule() -> None:
    tools: set[str] = set()
    # one turns the staging step down, the other asks for it
    assert not same_meaning(
        "skip the canary stage — release new builds straight to all hosts now",
        "release new builds to the canary stage first",
        tools,
    )
    # "avoid X without asking" asks for asking, as "ask before X" does
    assert same_meaning(
        "avoid new gems without asking me", "ask me before adding any new library", tools
    )


def test_a_rule_said_to_hold_everywhere_is_general() -> None:
    assert universal("same rule everywhere: no force pushes to main")
    sources = [
        read_source(1, "/w/shop", ['the user said "no new npm packages without asking me first"']),
        read_source(2, "/w/etl", ['the user said "check with me before pulling in a new wheel"']),
        read_source(3, "/w/etl", ['the user said "keep the changelog in docs/CHANGES.md"']),
    ]
    aliases = rule_aliases(sources)
    assert len(set(aliases.values())) == 2
    assert len(general_rule_keys(sources, aliases)) == 1


def test_a_command_gone_and_done_by_another_is_superseded_wherever_it_is_wrapped() -> None:
    remembered = "`COVERAGE=1 ./mill app.itest` works"
    fail = (
        "`./mill app.itest` failed: \"Cannot resolve app.itest. Target 'itest' not found\"; "
        "`./mill app.integration` works instead"
    )
    assert gone_command(fail) == "./mill app.itest"
    found = gone_commands([(D2, fail)], said((D1, remembered), (D2, fail)))
    assert found == [Replacement("./mill app.itest", "./mill app.integration", D2, fail)]
    # the remembered command with a variable set before it is the same, now gone, command
    assert superseded_by(remembered, D1, found) is not None
    # a fix after which the same command passed says it is not gone
    again = (
        "`./mill app.itest` failed: \"Target 'itest' not found\"; fixed by `./mill clean`, "
        "after which it passed"
    )
    assert gone_command(again) is None


def test_a_bullet_names_its_project_once() -> None:
    assert project_bullet("ledger", "ledger: no ORM in the hot path") == (
        "- ledger: no ORM in the hot path"
    )
    assert project_bullet("ledger", "no ORM in the hot path") == "- ledger: no ORM in the hot path"
    assert project_bullet("ledger", "ledgers are append-only") == (
        "- ledger: ledgers are append-only"
    )
