"""A stopgap the user allows only for now (issue 13, round 13): the command that runs it
worked, but it is neither how to run the project nor the fix of the failure it got past.
Wording no corpus has (a choir's rota app)."""

from __future__ import annotations

from support.items import failures_of, knowledge_of, result, run, user

from memoryd.extract.offline.judge import stopgap_commands
from memoryd.extract.offline.timeline import analyse

ITEMS = [
    user(
        "run the rota tests and build the release. the clock test is flaky and Priya is on "
        "it: for now skip it with `cargo test -- --skip rota::swap` so we can ship"
    ),
    run("c1", "cargo test"),
    result("c1", 101, "thread 'rota::swap' panicked at 'flaky clock'\nerror: test failed\n"),
    run("c2", "cargo test -- --skip rota::swap"),
    result("c2", 0, "test result: ok. 41 passed; 0 failed; 1 filtered out\n"),
    run("c3", "cargo build --release"),
    result("c3", 0, "Finished release [optimized] target(s)\n"),
]


def test_the_commands_running_what_the_user_allowed_for_now_are_stopgaps() -> None:
    (task,) = analyse(ITEMS, "/home/ruth/rota", None).tasks
    stopgaps = stopgap_commands(task)
    assert [c.text for c in task.commands if c.seq in stopgaps] == [
        "cargo test -- --skip rota::swap"
    ]


async def test_a_stopgap_is_neither_how_to_run_nor_a_fix() -> None:
    knowledge = await knowledge_of(ITEMS)
    assert "--skip rota::swap" not in knowledge
    assert "`cargo build --release`" in knowledge  # what else ran is still how to build
    failures = await failures_of(ITEMS)
    assert "`cargo test` failed" in failures
    assert "--skip rota::swap" not in failures


def test_for_now_that_scopes_the_work_is_no_stopgap() -> None:
    # "--dry-run is enough for now": the flag is the work asked for, no failure got past
    items = [
        user("sync the rota to the parish calendar, --dry-run is enough for now"),
        run("c1", "rota sync --dry-run"),
        result("c1", 1, "error: calendar token expired\n"),
        run("c2", "rota auth refresh"),
        result("c2", 0, "token refreshed\n"),
        run("c3", "rota sync --dry-run"),
        result("c3", 0, "would add 12 events\n"),
    ]
    (task,) = analyse(items, "/home/ruth/rota", None).tasks
    assert stopgap_commands(task) == set()
