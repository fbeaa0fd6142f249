"""A pinned version bumped by an edit (issue 13, round 13): a directive that pins a version
(``go 1.22`` in go.mod, ``nodejs 20.11.0`` in .tool-versions) is a setting, and a statement of
the tool with its old version, beside it or glued to it, is out of date once an edit changed
it; the same number elsewhere is not. Wording no corpus has (a tide-table service)."""

from __future__ import annotations

from pathlib import Path

from support.items import assistant, knowledge_of, patch, patch_ok, result, run, user
from support.offline_memory import consolidate, session

from memoryd.consolidate.offline.replaced import Replacement
from memoryd.extract.offline.outcomes import setting_changes, setting_line

CWD = "/home/oona/src/tidewell"


def _bump(old: str, new: str) -> list[dict[str, object]]:
    return [patch("p1", ".tool-versions", removed=(old,), added=(new,)), patch_ok("p1")]


def test_a_directive_pinning_a_version_is_a_setting() -> None:
    assert setting_line("nodejs 20.11.0") == ("nodejs", " ", "20.11.0")
    assert setting_line("go 1.22") == ("go", " ", "1.22")
    assert setting_line("ran the tests 3 times") is None  # prose, not a directive
    assert setting_changes(["nodejs 20.11.0"], ["nodejs 22.4.1"]) == [
        ("nodejs", "nodejs 20.11.0", "nodejs 22.4.1")
    ]


def test_the_old_version_beside_its_tool_is_out_of_date_and_the_number_elsewhere_is_not() -> None:
    r = Replacement("nodejs 20.11.0", "nodejs 22.4.1", "2026-05-02", "Replaced: …")
    assert r.covers("tidewell runs on nodejs 20.11.0 (pinned in .tool-versions)")
    assert r.covers("`node --version` under asdf prints nodejs20.11.0")
    assert not r.covers("nodejs 22.4.1 replaced nodejs 20.11.0 here")  # names the new one
    assert not r.covers("the tide fixture for 20.11.0 UTC is cached")  # the tool is not named
    assert not r.covers("nodejs is slow on the 20.11.0 fixture")  # not beside it


def test_a_version_a_setting_holds_is_out_of_date_wherever_the_setting_is_named() -> None:
    """Only a directive's pin must stand beside its tool: "python_requires is 3.11" names the
    setting and its old value, as "the min SDK is 26" does."""
    r = Replacement("`python_requires = 3.11`", "`python_requires = 3.12`", "2026-05-02", "…")
    assert r.covers("python_requires is 3.11, so the match statement is fine")
    assert not r.covers("python_requires is 3.12 now, it was 3.11")  # names the new one
    xml = "<maven.compiler.release>{}</maven.compiler.release>"
    r = Replacement(xml.format("1.8"), xml.format("11.0"), "2026-05-02", "…")
    assert r.covers("The maven.compiler.release is 1.8 in pom.xml.")


async def test_an_edit_that_bumps_the_pin_is_a_replacement() -> None:
    items = [
        user("the platform moved to node 22, bump us"),
        *_bump("nodejs 20.11.0", "nodejs 22.4.1"),
        run("c1", "asdf install && npm test"),
        result("c1", 0, "nodejs 22.4.1 is already installed\n\n  41 passing (2s)\n"),
        assistant("`nodejs` is pinned to 22.4.1 now and the 41 tests pass."),
    ]
    assert "Replaced: `nodejs 20.11.0` is replaced by `nodejs 22.4.1`" in await knowledge_of(items)


def test_what_the_old_pin_said_is_superseded_by_the_bump(tmp_path: Path) -> None:
    old = session(
        1,
        CWD,
        0,
        [
            user("which node does tidewell use?"),
            run("c1", "cat .tool-versions"),
            result("c1", 0, "nodejs 20.11.0\n"),
            assistant("Tidewell pins nodejs 20.11.0 in `.tool-versions`, so asdf picks it."),
        ],
    )
    new = session(
        2,
        CWD,
        9,
        [
            user("the platform moved to node 22, bump us"),
            *_bump("nodejs 20.11.0", "nodejs 22.4.1"),
            run("c1", "asdf install && npm test"),
            result("c1", 0, "nodejs 22.4.1 is already installed\n\n  41 passing (2s)\n"),
            assistant("`nodejs` is pinned to 22.4.1 now and the 41 tests pass."),
        ],
    )
    memory, summary = consolidate(tmp_path, [old, new])
    current = memory.split("## Superseded (no longer current)", 1)[0]
    assert "pins nodejs 20.11.0" not in current
    assert "pins nodejs 20.11.0" not in summary
    assert "pins nodejs 20.11.0" in memory.split("## Superseded (no longer current)", 1)[1]


async def test_a_short_directive_is_named_by_its_new_version() -> None:
    # "go" is too short to be named alone; "Go 1.23" names it with the version it now pins
    items = [
        user("the lab's runners are on Go 1.23 now, move the tide importer too"),
        {
            "type": "custom_tool_call",
            "name": "apply_patch",
            "call_id": "p1",
            "input": "*** Begin Patch\n*** Update File: go.mod\n@@\n-go 1.21\n+go 1.23\n"
            "*** End Patch\n",
        },
        patch_ok("p1"),
        run("c1", "go build ./... && go test ./..."),
        result("c1", 0, "ok  \ttidewell/importer\t0.412s\n"),
        assistant("The importer builds and its tests pass on the new toolchain."),
    ]
    assert "Replaced: `go 1.21` is replaced by `go 1.23` (set in `go.mod`)" in await knowledge_of(
        items
    )
