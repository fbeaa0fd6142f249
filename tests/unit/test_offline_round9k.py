"""Round 9k of issue 13, K's leftovers as classes: a value of one run in a task's title, a
switch of package manager that took an unrelated program for the replaced one, one refusal
said two ways staying two rules, and chatter kept as a rule ranking over lessons; each in
wording no corpus has (a tile server, a signboard app, a ferry service, a glaze studio)."""

from __future__ import annotations

from pathlib import Path

from support.items import assistant, result, run, user
from support.offline_memory import consolidate, session

from memoryd.consolidate.offline.meaning import refusal_first, same_meaning, stance
from memoryd.consolidate.offline.model import replacement_signals
from memoryd.consolidate.offline.mood import directs
from memoryd.consolidate.offline.sources import Source, TaskIn
from memoryd.extract.offline.language import read_message
from memoryd.store.phase2 import ArtifactRow
from memoryd.textutil import without_transient

TILES = "/home/ines/src/tilecache"
SIGNBOARD = "/home/ines/src/signboard"
GLAZE = "/home/ines/src/glazebook"


# --- 1. a task title drops the values of one run, as a knowledge line does ---


def test_a_title_drops_a_value_of_one_run_and_keeps_the_words_around_it() -> None:
    assert read_message("killed 61734 myself, the tiles load again").title == (
        "killed myself, the tiles load again"
    )
    assert without_transient("cleared lock id: 9f2c1e7 on the ferry db") == (
        "cleared lock id on the ferry db"
    )
    assert without_transient("copied it to /tmp/tiles-x81/out.mbtiles, looks right") == (
        "copied it to, looks right"
    )
    assert without_transient("61734") == ""
    # a text with no such value is left as it is, its punctuation too
    assert (
        without_transient("--since drops rows :) , see .env") == "--since drops rows :) , see .env"
    )
    # a port and a short number are the project's, not one run's
    assert without_transient("the tile server listens on port 8088") == (
        "the tile server listens on port 8088"
    )


def test_a_pid_the_user_reports_killing_is_in_no_title_of_memory(tmp_path: Path) -> None:
    rows = [
        session(
            1,
            TILES,
            0,
            [
                user("why does the tile server say address already in use?"),
                run("c1", "lsof -i :8088"),
                result("c1", 0, "COMMAND   PID USER\ntileserv 61734 ines  7u IPv4 TCP *:8088\n"),
                assistant(
                    "An old `tileserv` still holds 8088 (PID 61734). Stop it with "
                    "`kill 61734` and start it again."
                ),
                user("killed 61734 myself, the tiles load again"),
                run("c2", "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8088/0/0/0.png"),
                result("c2", 0, "200"),
                assistant("The server answers: tile 0/0/0 returns 200."),
            ],
        )
    ]
    memory, summary = consolidate(tmp_path, rows)
    assert "the tiles load again" in memory  # the task is there, by its words
    assert "61734" not in memory
    assert "61734" not in summary


# --- 2. a switched package manager replaces the program it ran, not another one ---


def _source(n: int, day: str, knowledge: list[str]) -> Source:
    return Source(
        thread_id=f"t{n}",
        summary_file=f"s{n}.md",
        cwd=SIGNBOARD,
        rollout_path=f"/r/{n}.jsonl",
        updated_at=day,
        git_branch="main",
        keywords=[],
        tasks=[TaskIn(title=f"task {n}", knowledge=knowledge)],
        fingerprint=str(n),
    )


def test_a_switch_replaces_the_program_the_switching_session_names_only() -> None:
    before = _source(
        1,
        "2026-03-01T10:00:00+00:00",
        [
            "Install dependencies with `yarn install`",
            # caddy serves the files the package manager built; its subcommand is the
            # new tool's script name by chance
            "The signboard is served from `dist/` by `caddy start` on :4400",
        ],
    )
    switch = _source(
        2,
        "2026-03-06T10:00:00+00:00",
        [
            'Switched to: `bun` ("moved the signboard to bun, the yarn.lock is deleted")',
            "Now: `bun install`, `bun start`, `bun test`",
        ],
    )
    [r] = replacement_signals([before, switch])[SIGNBOARD]
    assert (r.old, r.new) == ("yarn", "bun")


def test_a_switch_that_names_no_old_program_replaces_none() -> None:
    before = _source(1, "2026-03-01T10:00:00+00:00", ["Install dependencies with `yarn install`"])
    switch = _source(
        2,
        "2026-03-06T10:00:00+00:00",
        ['Switched to: `bun` ("installs are quicker now")', "Now: `bun install`"],
    )
    assert replacement_signals([before, switch]).get(SIGNBOARD, []) == []


# --- 3. one refusal said two ways is one rule ---


def test_a_refusal_said_after_what_it_refuses_reads_as_one_said_before() -> None:
    assert refusal_first("deploying on fridays is off limits for fly too") == (
        "no deploying on fridays for fly too"
    )
    assert stance(refusal_first("force pushes are not allowed on main"))["push"] is False
    assert refusal_first("the ferry app is fast") == "the ferry app is fast"


def test_the_same_thing_refused_for_the_same_job_is_one_rule_whatever_else_is_named() -> None:
    tools = {"fly", "kamal"}
    a = "deploying on fridays is off limits for fly too, like in my ferry project"
    b = "avoid deploying on fridays; kamal rollbacks are slow on weekends"
    assert same_meaning(a, b, tools)
    # another thing refused on each side is another rule
    assert not same_meaning(
        "copying prod dumps to laptops is off limits", "avoid copying test fixtures to prod", tools
    )
    # another program refused is another rule
    assert not same_meaning(
        "never run fly deploy on fridays", "never run kamal deploy on fridays", tools
    )


# --- 4. chatter and choices kept as rules rank under what directs ---


def test_whether_a_rule_directs() -> None:
    assert directs("never glaze before the bisque firing")
    assert directs("log every firing in the kiln book")
    assert directs("changes go into a new recipe card")
    assert directs("please label the test tiles")
    assert not directs("let's go with the celadon glaze")
    assert not directs("the kiln is a tool, not a toy")
    assert not directs("which cone should the bisque go to?")


def _glaze_session(reply: str) -> list[ArtifactRow]:
    return [
        session(
            1,
            GLAZE,
            0,
            [
                user("the recipe export crashes, can you look?"),
                run("c1", "make export"),
                result("c1", 2, "export.py:4: ModuleNotFoundError: No module named 'reportlab'\n"),
                run("c2", "uv add reportlab"),
                result("c2", 0, "Resolved 9 packages\n"),
                run("c3", "make export"),
                result("c3", 0, "wrote recipes.pdf\n"),
                assistant(
                    "`reportlab` was missing; added it with `uv add reportlab`. Cone numbers too?"
                ),
                user(reply),
                run("c4", "make export"),
                result("c4", 0, "wrote recipes.pdf\n"),
                assistant("Done: cone numbers are on every card."),
            ],
        )
    ]


def test_a_choice_or_a_remark_kept_as_a_rule_ranks_under_a_lesson(tmp_path: Path) -> None:
    for i, (reply, said) in enumerate(
        [
            (
                "yes please print the cone number on every card, then I can check it later. "
                "let's use the celadon palette",
                "celadon",
            ),
            ("the kiln is a tool, not a toy", "not a toy"),
        ]
    ):
        _, summary = consolidate(tmp_path / str(i), _glaze_session(reply))
        lines = summary.splitlines()
        remark = next(n for n, ln in enumerate(lines) if said in ln)
        lesson = next(n for n, ln in enumerate(lines) if "fixed by `uv add reportlab`" in ln)
        assert lesson < remark, summary
