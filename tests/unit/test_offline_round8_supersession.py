"""Round 8z of issue 13, supersession: a tool moved from one version to another replaces the
old version, and a replacement marks only the statements that present the replaced tool as
current; each class in wording no corpus has (a Blender add-on, a Zig library, a yarn app)."""

from __future__ import annotations

from pathlib import Path

from support.items import assistant, result, run, user
from support.offline_memory import consolidate, session

from memoryd.consolidate.offline.replaced import Replacement, superseded_by
from memoryd.extract.offline.changes import replacements

CWD = "/home/ada/src/tidepool"


def _section(memory: str, heading: str) -> list[str]:
    lines = memory.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0].splitlines()
    return [ln for ln in lines if ln.startswith("- ")]


def test_a_move_from_one_version_of_a_tool_to_another_keeps_the_versions() -> None:
    # the name alone is the same on both sides: without its version the change says nothing
    [line] = replacements(["We bumped the library from Zig 0.11 to Zig 0.13 on Friday."])
    assert line.startswith("Replaced: `Zig 0.11` is replaced by `Zig 0.13`")


def test_a_fact_about_the_old_version_is_superseded_by_the_move(tmp_path: Path) -> None:
    old = session(
        1,
        CWD,
        0,
        [
            user("which blender does this add-on need?"),
            run("c1", "grep -n blender __init__.py"),
            result("c1", 0, '3:    "blender": (3, 6, 0),\n'),
            assistant(
                "`bl_info` in `__init__.py` pins the add-on to Blender 3.6; it must be loaded "
                "in that version."
            ),
        ],
    )
    new = session(
        2,
        CWD,
        6,
        [
            user("I opened it in the new blender and it converted things, is it fine?"),
            run("c1", "git diff __init__.py"),
            result("c1", 0, '-    "blender": (3, 6, 0),\n+    "blender": (4, 1, 0),\n'),
            assistant(
                "Yes. Blender upgraded the add-on from Blender 3.6 to Blender 4.1: `bl_info` "
                "now says (4, 1, 0)."
            ),
        ],
    )
    memory, summary = consolidate(tmp_path, [old, new])
    [stale] = [ln for ln in _section(memory, "## Superseded (no longer current)") if "3.6" in ln]
    assert "pins the add-on to Blender 3.6" in stale
    assert "superseded: `Blender 3.6` was replaced by `Blender 4.1`" in stale
    current = _section(memory, "## Reusable knowledge")
    assert not any("pins the add-on" in ln for ln in current)
    assert "pins the add-on" not in summary


def test_a_rule_against_something_else_stays_when_a_tool_it_names_is_replaced(
    tmp_path: Path,
) -> None:
    # the rule forbids installing as root; yarn is only where it applies too: yarn's
    # replacement leaves it true, while the command that runs yarn is out of date
    old = session(
        1,
        CWD,
        0,
        [
            user("please never run the installers as root, that goes for yarn as well"),
            run("c1", "yarn test"),
            result("c1", 0, "12 passed\n"),
            assistant("Run the tests with `yarn test`: 12 pass."),
        ],
    )
    new = session(
        2,
        CWD,
        6,
        [
            user("the tests, again please"),
            run("c1", "bun test"),
            result("c1", 0, "12 passed\n"),
            assistant("`yarn` was replaced by `bun` here: run the tests with `bun test`."),
        ],
    )
    memory, _ = consolidate(tmp_path, [old, new])
    [rule] = [ln for ln in memory.splitlines() if "as root" in ln and ln.startswith("- ")]
    assert rule in _section(memory, "## User preferences")
    assert "superseded" not in rule
    stale = _section(memory, "## Superseded (no longer current)")
    assert any("`yarn test`" in ln and "replaced by `bun`" in ln for ln in stale)


def test_a_rule_that_turns_the_tool_down_is_not_made_out_of_date_by_its_replacement() -> None:
    gone = [Replacement("yarn", "bun", "2026-03-01", "`yarn` was replaced by `bun`")]
    # "a no for yarn": the rule turns yarn down, it does not present it as current
    no = "curl-pipe-bash installers are a no for yarn too"
    assert superseded_by(no, "2026-01-01", gone) is None
    # a rule that takes yarn, and a rule that forbids one way and takes yarn for another,
    # present it as current: out of date with it
    assert superseded_by("always pin yarn with --immutable", "2026-01-01", gone) is not None
    assert superseded_by("never edit the lockfile; use yarn up", "2026-01-01", gone) is not None
