"""Round 15 of issue 13: the environment a project needs ranks among its lessons. A fact that
says where a service listens (a local address, a port) or names an environment variable that
configures the project is what a new session needs before it runs anything; it ranked under
every lesson, so a project with many lessons lost it at the summary's cut. It now ranks as a
lesson said in one session fewer does: after a lesson said as often (an outcome confirmed that
one), above every other fact. In wording of its own: an aquarium's feeder service."""

from __future__ import annotations

from pathlib import Path

from support.items import assistant, result, run, user
from support.offline_memory import consolidate, session

from memoryd.consolidate.offline.meaning import FACT, FIX, RULE
from memoryd.consolidate.offline.model import Entry
from memoryd.consolidate.offline.rank import environment_fact, score

REEF = "/home/ines/src/reeffeed"


def test_an_address_a_port_or_an_environment_variable_is_the_environment() -> None:
    assert environment_fact("The feeder API listens on http://localhost:7311")
    assert environment_fact("The broker is published on host port 18830")
    assert environment_fact("Port 8443 is the dosing pump's admin page")
    assert environment_fact("Grafana answers on 127.0.0.1 only")
    assert environment_fact("The simulator binds :9230 by default")
    assert environment_fact("`FEEDER_TOKEN_FILE` points at the secret the daemon reads")
    # prose, a path, a time, a file's line, a word in capitals: no environment
    assert not environment_fact("The tank schedule lives in `tanks/schedule.yaml`")
    assert not environment_fact("The feeder runs at 07:30:00 every day")
    assert not environment_fact("The bug is in `src/feed.rs:1234`")
    assert not environment_fact("Read the README before the FAQ")


def _entry(text: str, kind: str, *threads: str) -> Entry:
    return Entry(key=text, text=text, threads=set(threads), kind=kind)


def test_an_environment_fact_ranks_among_the_lessons_and_a_prose_fact_under_them() -> None:
    lesson = _entry(
        '`cargo run` failed: "could not find `libudev`"; fixed by `apt install libudev-dev`',
        FIX,
        "s1",
    )
    env = _entry("The feeder API listens on http://localhost:7311", FACT, "s2")
    prose = _entry("The tank schedule lives in `tanks/schedule.yaml`", FACT, "s3")
    rule = _entry("never feed the reef tank twice in one hour", RULE, "s4")
    # as a lesson said in one session fewer: after one said as often, above other facts
    assert score(lesson) > score(env) > score(prose)
    assert score(_entry(env.text, FACT, "s2", "s5")) == score(lesson)
    assert score(_entry(env.text, FACT, "s2", "s5", "s6")) > score(lesson)
    assert score(rule) > score(_entry(env.text, FACT, "s2", "s5", "s6", "s7"))


def _lesson_session(n: int) -> list[dict[str, object]]:
    return [
        user(f"the tank{n} probe build is broken, fix it"),
        run("c1", f"cargo build -p probe{n}"),
        result("c1", 101, f"error: failed to run custom build command for `probe{n}-sys`\n"),
        run("c2", f"apt-get install -y libprobe{n}-dev"),
        result("c2", 0, "done\n"),
        run("c3", f"cargo build -p probe{n}"),
        result("c3", 0, "Finished dev\n"),
    ]


def test_a_project_with_many_lessons_keeps_its_environment_in_the_summary(
    tmp_path: Path,
) -> None:
    rows = [session(n, REEF, n, _lesson_session(n)) for n in range(1, 11)]
    # the environment and a fact of prose, each told in two sessions
    rows += [
        session(
            20 + k,
            REEF,
            11 + k,
            [
                user("where does the feeder talk to?"),
                assistant(
                    "The feeder API listens on http://localhost:7311, and the daemon reads its "
                    "token from `FEEDER_TOKEN_FILE`. The tank schedule lives in "
                    "`tanks/schedule.yaml`."
                ),
            ],
        )
        for k in range(2)
    ]
    memory, summary = consolidate(tmp_path, rows, budget=2_000)
    assert "localhost:7311" in memory and "tanks/schedule.yaml" in memory
    lessons = [ln for ln in summary.splitlines() if "apt-get install -y libprobe" in ln]
    # room for only some of the ten lessons: the environment is kept among them, the
    # project's prose fact is not
    assert 0 < len(lessons) < 10
    assert "localhost:7311" in summary and "FEEDER_TOKEN_FILE" in summary
    assert "tanks/schedule.yaml" not in summary
