"""Round 7b of issue 13 (corpus G as a tuning corpus), the lesson and consolidation side: each
class of miss G showed, in wording no corpus has (a bakery's ordering app, firmware, a
Haskell service, a static site)."""

from __future__ import annotations

from typing import Any

from support.items import (
    assistant,
    failures_of,
    knowledge_of,
    patch,
    patch_ok,
    result,
    run,
    user,
)

from memoryd.consolidate.offline.dense import restates
from memoryd.consolidate.offline.memory_md import VisibleGroup
from memoryd.consolidate.offline.model import Group
from memoryd.consolidate.offline.replaced import Replacement, superseded_by
from memoryd.consolidate.offline.summary_md import (
    Digest,
    Line,
    SummaryModel,
    _heads,
    _without_repeats,
    relative,
)
from memoryd.extract.offline.shell import clip_command, written_files


async def test_the_output_line_the_agents_diagnosis_cites_is_the_error() -> None:
    # the first error-looking line is a runner's verdict; the agent's conclusion names the
    # cause from a line further down, which looks like no error at all
    items = [
        user("flash the sensor board please"),
        run("c1", "make flash"),
        result(
            "c1",
            2,
            "FAILED  flash target rp2040\n"
            "openocd: probe picoprobe busy, held by another session on /dev/ttyACM0\n",
        ),
        run("c2", "openocd-release --all"),
        result("c2", 0, "released 1 probe\n"),
        run("c3", "make flash"),
        result("c3", 0, "wrote 412 KiB, verified\n"),
        assistant(
            "The flash failed because the picoprobe was busy, held by another session; "
            "`openocd-release --all` freed it and the flash verified."
        ),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "picoprobe busy, held by another session" in lesson
    assert "fixed by `openocd-release --all`" in lesson


async def test_a_command_the_agent_names_in_code_is_no_citation_of_the_output() -> None:
    # the tool prints the command to run; the agent names that command in code: the line
    # cited is the one with the cause, not the printed command
    items = [
        user("run the bakery app's tests"),
        run("c1", "cabal test"),
        result(
            "c1",
            1,
            "SchemaDriftDetected: the orders table is behind the model\n"
            "    cabal run migrate -- --target test\n",
        ),
        run("c2", "cabal run migrate -- --target test"),
        result("c2", 0, "applied 2 migrations\n"),
        run("c3", "cabal test"),
        result("c3", 0, "41 tests passed\n"),
        assistant(
            "SchemaDriftDetected: the test database lagged the model; "
            "`cabal run migrate -- --target test` brought it level."
        ),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert '"SchemaDriftDetected: the orders table is behind the model"' in lesson


async def test_an_error_picked_by_its_looks_stays_when_another_line_is_cited_no_more() -> None:
    # the runner's log line and the assertion say the same; the agent's words cite both
    # alike, so the assertion, picked by its looks, stays the error
    items = [
        user("check the loaf counter"),
        run("c1", "pytest -q tests/test_counter.py"),
        result(
            "c1",
            1,
            "counter: expected count 12 got 11\nE   AssertionError: expected count 12, got 11\n",
        ),
        run("c2", "python tools/recalibrate.py --tray 3"),
        result("c2", 0, "tray 3 recalibrated\n"),
        run("c3", "pytest -q tests/test_counter.py"),
        result("c3", 0, "1 passed\n"),
        assistant("The count was expected 12 but got 11 until tray 3 was recalibrated."),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert '"AssertionError: expected count 12, got 11"' in lesson


async def test_a_command_that_writes_a_setting_into_a_file_is_a_fix_step() -> None:
    # printing a line into a file changes the project, though the program only prints
    items = [
        user("build the firmware image"),
        run("c1", "west build -b nrf52840dk"),
        result("c1", 1, "CMake Error: ZEPHYR_SDK_INSTALL_DIR is not set\n"),
        run("c2", "printf 'ZEPHYR_SDK_INSTALL_DIR=/opt/zephyr-sdk\\n' >> .west-env"),
        result("c2", 0, ""),
        run("c3", "west build -b nrf52840dk"),
        result("c3", 0, "[212/212] Linking C executable zephyr/zephyr.elf\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "ZEPHYR_SDK_INSTALL_DIR is not set" in lesson
    assert "fixed by `printf 'ZEPHYR_SDK_INSTALL_DIR=/opt/zephyr-sdk\\n' >> .west-env`" in lesson


def test_only_redirects_into_a_project_file_are_writes() -> None:
    assert written_files("echo 'port=7311' > oven.conf") == ["oven.conf"]
    assert written_files("stack test 2>&1 | tee test.log") == ["test.log"]
    assert written_files("ls src > /dev/null 2>&1") == []
    assert written_files("cat oven.conf > /tmp/scratch.conf") == []
    assert written_files("grep port oven.conf") == []


def test_a_long_chain_keeps_its_last_step_whole() -> None:
    chain = (
        "rm -rf dist && npm ci --prefer-offline --no-audit --ignore-scripts "
        "--workspace storefront && eleventy --serve"
    )
    clipped = clip_command(chain, 70)
    assert len(clipped) <= 70
    assert clipped.startswith("rm -rf dist && npm ci")
    assert clipped.endswith("… && eleventy --serve")
    # a short command, or one whose last step is itself long, is clipped as before
    assert clip_command("make flash", 70) == "make flash"
    assert clip_command("a && " + "b" * 60, 40).endswith("…")


def test_a_command_in_code_is_one_value_a_path_word_does_not_hold() -> None:
    # "test" in a path of a better line does not state how to run the tests
    how_to = "bakery: Run the tests with `make test`"
    lesson = 'bakery: `cabal build` failed: "diff a/test/golden.txt b/test/golden.txt"; fixed'
    assert not restates(how_to, [lesson])
    assert restates(how_to, ["bakery: `make test` runs the tests"])


def test_a_thing_gone_is_named_by_a_path_that_ends_in_it() -> None:
    gone = Replacement("sam-e70", "", "2026-03-02", "sam-e70 is gone from boards/")
    how_to = "Flash it with `west flash --board-root boards/sam-e70 --runner jlink`"
    assert gone.covers(how_to)
    # a lesson's fix keeps the step it teaches (only a word, not a path's end, is the thing)
    assert not gone.covers(how_to, paths=False)
    # a path that goes on past the name, or a longer name, is something else
    assert not gone.covers("Flash it with `west flash --board-root boards/sam-e70/rev2`")
    assert not gone.covers("Flash it with `west flash --board-root boards/sam-e70b`")
    assert superseded_by(how_to, "2026-02-01", [gone]) is gone


def _digest(project: str, texts: list[str]) -> Digest:
    group = Group(project, f"/srv/{project}")
    d = Digest(VisibleGroup(group, [], [], [], []))
    d.lines = [Line(t, frozenset({project}), 100 - i) for i, t in enumerate(texts)]
    return d


def test_a_digest_holds_its_best_lines_then_what_fits_its_share_of_the_head() -> None:
    # a long line after the first three does not keep the short facts after it out of what
    # Codex reads first; it goes to the rest of the file
    long1, long2 = "- kiln: " + "a" * 1500, "- kiln: " + "b" * 3500
    rules = ["- kiln: no firing unattended", "- kiln: log every cone change"]
    facts = ["- kiln: glaze temp is 1240", "- kiln: vents on GPIO4"]
    kiln = _digest("kiln", [*rules, long1, long2, *facts])
    till = _digest("till", ["- till: receipts print via CUPS queue `till-rcpt`"])
    model = SummaryModel([], [], [], [kiln, till], [], [], [], [])
    kept = {id(ln) for d in model.digests for ln in d.lines}
    heads = _heads(model, kept, 0)
    assert [ln.text for ln in heads[0]] == [*rules, long1, *facts]
    assert [ln.text for ln in heads[1]] == ["- till: receipts print via CUPS queue `till-rcpt`"]


def test_paths_inside_the_project_are_said_from_its_directory() -> None:
    line = 'failed: "no manifest at /srv/kiln/public/m.json"; see /srv/kiln2/x and /srv/kiln'
    assert relative(line, "/srv/kiln") == (
        'failed: "no manifest at public/m.json"; see /srv/kiln2/x and /srv/kiln'
    )
    assert relative(line, "/") == line


async def test_a_rerun_with_fewer_setup_steps_and_the_same_last_step_closes_the_failure() -> None:
    # the full chain failed in its last step; after a code edit the agent reruns only the
    # build and that step: the edit is the fix, not "the shorter chain works instead"
    items = [
        user("the storefront's cart test leaks timers, check"),
        run("c1", "npm ci && npm run build && npm test -- cart"),
        result("c1", 1, "cart.spec.ts: open handle: setInterval in useCartPoll\n"),
        patch("p1", "src/useCartPoll.ts", added=("return () => clearInterval(id)",)),
        patch_ok("p1"),
        run("c2", "npm run build && npm test -- cart"),
        result("c2", 0, "cart.spec.ts: 12 passed\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "fixed by editing `src/useCartPoll.ts`" in lesson
    assert "instead" not in lesson


def test_the_users_words_are_shown_once_in_a_digest() -> None:
    said = "no proofing over 30 minutes and keep the oven log in UTC please"
    first = Line(f'- bakery: no proofing over 30 minutes — "{said}"', frozenset(), 400)
    second = Line(f'- bakery: keep the oven log in UTC — "{said}"', frozenset(), 400)
    again = Line("- bakery: keep the oven log in UTC please", frozenset(), 400)
    other = Line("- bakery: keep the till log in UTC", frozenset(), 400)
    kept = _without_repeats([first, second, again, other])
    # the second rule drops the quote the first shows; the rule said in that quote goes
    assert [ln.text for ln in kept] == [
        first.text,
        "- bakery: keep the oven log in UTC",
        "- bakery: keep the till log in UTC",
    ]


def _retune(request: str, added: str, removed: str, after: str) -> list[dict[str, Any]]:
    return [
        user(request),
        {
            "type": "custom_tool_call",
            "name": "apply_patch",
            "call_id": "p1",
            "input": "*** Begin Patch\n*** Update File: firmware/board.toml\n@@\n"
            f"-{removed}\n+{added}\n*** End Patch\n",
        },
        patch_ok("p1"),
        run("c1", "west build -b kiln_ctrl"),
        result("c1", 0, "[88/88] Linking zephyr.elf\n"),
        assistant(after),
    ]


async def test_a_setting_a_confirmed_edit_changed_replaces_the_old_value() -> None:
    # the user asks for the value by its spoken name; the edit changes it; the build passes
    items = _retune(
        "the kiln's max temp goes to thirteen hundred now, set it",
        "max_temp = 1300",
        "max_temp = 1240",
        "Done, the build is green.",
    )
    knowledge = await knowledge_of(items)
    assert "Replaced: `max_temp = 1240` is replaced by `max_temp = 1300`" in knowledge


async def test_an_edit_of_copy_or_of_an_unnamed_setting_replaces_nothing() -> None:
    # a sentence in a string is copy; a value nobody named is a side effect of the edit
    copy = _retune("fix the title typo", 'title = "Welcome home"', 'title = "Wellcome home"', "ok")
    assert "Replaced:" not in await knowledge_of(copy)
    unnamed = _retune("speed up the fan loop", "poll_ms = 50", "poll_ms = 200", "Faster now.")
    assert "Replaced:" not in await knowledge_of(unnamed)
