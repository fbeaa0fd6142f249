"""Round 8 of issue 13 (H and K as tuning corpora), the failure→fix and supersession side:
each class of miss, in wording no corpus has (a kiosk app, a firmware flasher, a billing
worker, an Elixir service)."""

from __future__ import annotations

from support.items import assistant, failures_of, knowledge_of, patch, patch_ok, result, run, user

from memoryd.consolidate.offline.replaced import superseded_by
from memoryd.consolidate.offline.supersession import changed_values
from memoryd.extract.offline.changes import replacements
from memoryd.extract.offline.shell import error_excerpt


async def test_an_error_line_that_ends_by_naming_itself_is_the_error() -> None:
    # no "error:" prefix and no exception name: the line ends with "... error", after lines
    # of progress; the lesson quotes it, not the progress
    items = [
        user("flash the kiosk firmware"),
        run("c1", "flashtool write kiosk.bin"),
        result(
            "c1",
            3,
            "stage 1/3 erase 0.4s\nstage 2/3 write 2.1s\n"
            "bootrom: vector table page alignment error\n",
        ),
        run("c2", "flashtool write --align 4096 kiosk.bin"),
        result("c2", 0, "verified 1 image\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "page alignment error" in lesson
    assert "stage 1/3" not in lesson
    # ... but a line saying there was none is no error
    assert error_excerpt("packing done\nthere was no error\n") is None


async def test_a_fix_that_differs_at_the_end_of_a_long_command_keeps_the_difference() -> None:
    # the failed and the working command share a long head; the lesson must keep the part
    # where they differ, or it teaches nothing
    head = "kioskctl emulate --profile lobby-landscape --device panel-large --locale pt-BR"
    items = [
        user("start the lobby kiosk in the emulator"),
        run("c1", f"{head} --runtime image=22,abi=x86"),
        result("c1", 4, "kioskctl: error: no runtime matches image=22,abi=x86\n"),
        run("c2", f"{head} --runtime image=27,abi=arm64"),
        result("c2", 0, "emulator up on :5580\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "image=27,abi=arm64" in lesson
    assert "no runtime matches" in lesson


def test_a_tool_swapped_in_a_remembered_command_replaces_the_tool_everywhere() -> None:
    # a later session checks the same job with another program: every statement that takes
    # the old program (a rule to use it, another command of it) is out of date
    old = "Tidy the sources with `astyle --options=.astylerc src`"
    new = "Tidy the sources with `uncrustify --options=.astylerc src`"
    facts = [("2026-01-02", old), ("2026-03-04", new)]
    signals = changed_values(facts, facts)
    assert superseded_by("tidy the firmware with astyle before a push", "2026-01-05", signals)
    assert superseded_by(old, "2026-01-02", signals)
    assert superseded_by(new, "2026-03-04", signals) is None
    # the old program still run since: both are current
    said = [*facts, ("2026-03-05", "Headers: `astyle --options=.astylerc include`")]
    assert not [r for r in changed_values(facts, said) if r.old == "astyle"]
    # another build of the same tool replaces the command, not every mention of the tool
    old = "Tidy the sources with `astyle-3.1 --options=.astylerc src`"
    new = "Tidy the sources with `astyle-3.4 --options=.astylerc src`"
    facts = [("2026-01-02", old), ("2026-03-04", new)]
    signals = changed_values(facts, facts)
    assert superseded_by(old, "2026-01-02", signals)
    assert superseded_by("astyle-3.1 is the version pinned in CI", "2026-01-02", signals) is None


def test_a_step_a_later_chain_turns_around_is_out_of_date() -> None:
    # the tests used to need a started cache; now the chain stops it before the same job
    old = "Run the checks with `podman start ledgercache && mix test --cover`"
    new = "Run the checks with `podman stop ledgercache && mix test --cover`"
    facts = [("2026-01-02", old), ("2026-03-04", new)]
    signals = changed_values(facts, facts)
    assert superseded_by(
        "the suite needs the cache: `podman start ledgercache`", "2026-01-02", signals
    )
    # a lint before the tests, not run the next time: not turned around, not gone
    old = "Run the checks with `mix credo --strict && mix test`"
    new = "Run the checks with `mix test --only ledger`"
    facts = [("2026-01-02", old), ("2026-03-04", new)]
    signals = changed_values(facts, facts)
    assert superseded_by("Lint with `mix credo --strict`", "2026-01-02", signals) is None


def test_a_change_said_with_what_changed_between_verb_and_from_is_a_replacement() -> None:
    said = "we switched the queue of the worker from beanstalkd to nats on monday"
    assert replacements([said])[0].startswith("Replaced: `beanstalkd` is replaced by `nats`")


async def test_a_failure_fixed_in_the_next_request_is_linked_to_its_fix() -> None:
    # the build fails and the request ends; the user asks what it means, and in that next
    # request the agent installs what was missing and the build passes
    items = [
        user("compile the weather station firmware"),
        run("c1", "fwbuild all"),
        result("c1", 2, "station.c:4:10: fatal error: lux_sensor.h: No such file or directory\n"),
        assistant("The build cannot find `lux_sensor.h`; want me to add the sensor library?"),
        user("hmm what does that header message mean? go ahead"),
        run("c2", "fwpkg add luxsense/lux-sensor"),
        result("c2", 0, "added luxsense/lux-sensor 2.1.0\n"),
        run("c3", "fwbuild all"),
        result("c3", 0, "linked station.elf\n"),
    ]
    lesson = (await failures_of(items, task=1)).splitlines()[0]
    assert "lux_sensor.h: No such file or directory" in lesson
    assert "fixed by `fwpkg add luxsense/lux-sensor`" in lesson
    # a next request about something else fixes nothing
    items[4:] = [
        user("never mind, list the open branches"),
        run("c2", "git branch --list"),
        result("c2", 0, "* main\n  wip/lux\n"),
    ]
    failed = await failures_of(items, task=1)
    assert "fixed by" not in failed and "works instead" not in failed
    # nor does one that needed a secret handed over (the rollout reaches extraction with it
    # redacted): the user's credentials are no step to repeat
    items = [
        user("publish the station image"),
        run("c1", "imgctl push registry.example/station:edge"),
        result("c1", 1, "unauthorized: authentication required\n"),
        user("here is my token, use it: ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        run("c2", "imgctl login -p [REDACTED_SECRET] && imgctl push registry.example/station:edge"),
        result("c2", 0, "pushed station:edge\n"),
    ]
    failed = await failures_of(items, task=1)
    assert "fixed by" not in failed and "works instead" not in failed


async def test_a_servers_refusal_after_progress_lines_is_the_error() -> None:
    items = [
        user("publish the station image"),
        run("c1", "imgctl push registry.example/station:edge"),
        result(
            "c1",
            1,
            "pushing to registry.example/station\nlayer 3f2a91: preparing\n"
            "unauthorized: authentication required\n",
        ),
    ]
    failed = await failures_of(items)
    assert 'failed (exit 1): "unauthorized: authentication required"' in failed


async def test_a_fix_that_only_adds_arguments_names_what_it_added() -> None:
    cmd = "stationctl deploy --site north-ridge --channel stable"
    items = [
        user("deploy the north ridge station"),
        run("c1", cmd),
        result("c1", 3, "stationctl: error: signing key required for channel stable\n"),
        run("c2", f"{cmd} --signing-key keys/ridge.pem"),
        result("c2", 0, "deployed\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert lesson.endswith("; with `--signing-key keys/ridge.pem` added it works instead")


async def test_a_no_that_names_the_code_the_agent_offered_refuses_the_offer() -> None:
    # the offer is a statement, not a question; the "no" names a word of its code, not of
    # the command run before it: the offer is refused (and is no knowledge), the command not
    items = [
        user("the ledger tests leave rows behind, clean them"),
        run("c1", "ledgerctl test --suite sync"),
        result("c1", 0, "31 passed\n"),
        assistant(
            "The fastest is `ledgerctl store wipe --all` and then `ledgerctl store seed`: "
            "it empties every table and reloads the fixtures."
        ),
        user("no, not wipe. other people's fixtures live there. only my rows"),
        run("c2", "ledgerctl rows purge --owner me"),
        result("c2", 0, "purged 88 rows\n"),
    ]
    failed = await failures_of(items)
    assert "The user rejected the proposal to run `ledgerctl store wipe --all`" in failed
    assert "rejected `ledgerctl test --suite sync`" not in failed
    assert "store wipe" not in await knowledge_of(items)


async def test_a_refused_offer_is_named_by_the_code_of_its_offering_sentence() -> None:
    # the code before the offer reports what was done; the offer's own code is what was refused
    items = [
        user("make the parser build"),
        run("c1", "pbuild --strict"),
        result("c1", 1, "parser.c:12: warning treated as error: unused variable 'tmp'\n"),
        assistant(
            "It builds with `pbuild --strict` up to one warning. "
            "I could add `--allow-unused` to the build flags, or delete the variable?"
        ),
        user("no, we keep strict and fix warnings. delete it"),
    ]
    failed = await failures_of(items)
    assert "The user rejected the proposal to run `--allow-unused`" in failed


async def test_a_rerun_failing_with_another_error_keeps_the_steps_before_it() -> None:
    # the first step moved the failure past its first error; the second fixed what followed:
    # both are the fix
    items = [
        user("build the tile server"),
        run("c1", "tilec build"),
        result("c1", 1, "error: toolchain 2.9 cannot satisfy core>=3.1\n"),
        run("c2", "toolsel use 3.2"),
        result("c2", 0, "active toolchain: 3.2\n"),
        run("c3", "tilec build"),
        result("c3", 1, "error: tiles/render.tc:7: unused import 'fmt'\n"),
        patch("p1", "tiles/render.tc"),
        patch_ok("p1"),
        run("c4", "tilec build"),
        result("c4", 0, "built tileserver\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "cannot satisfy core>=3.1" in lesson
    assert "fixed by `toolsel use 3.2`, then editing `tiles/render.tc`" in lesson


async def test_reading_a_tools_help_through_a_filter_is_no_fix() -> None:
    # after the failure the agent reads the help (filtered with sed), then runs the variant
    # that works: the help changed nothing, the variant is the fix
    items = [
        user("run the gauge firmware tests"),
        run("c1", "gaugetest -e board"),
        result("c1", 1, "gaugetest: error: no probe attached; pass --port or attach one\n"),
        run("c2", "gaugetest --help | sed -n '/-e, --env/p;/--host-only/p'"),
        result("c2", 0, "  -e, --env NAME\n  --host-only   run without hardware\n"),
        run("c3", "gaugetest -e host"),
        result("c3", 0, "12 tests passed\n"),
    ]
    lesson = (await failures_of(items)).splitlines()[0]
    assert "`gaugetest -e host` works instead" in lesson


def test_an_expected_line_is_quoted_with_the_actual_line_after_it() -> None:
    body = (
        "FAIL in (ingest-roundtrip) (store.clj:40)\n"
        "expected: (= 3 (count rows))\n"
        "  actual: java.net.SocketTimeoutException: read timed out after 30000 ms\n"
    )
    assert error_excerpt(body) == (
        "expected: (= 3 (count rows)), actual: java.net.SocketTimeoutException: read timed out "
        "after 30000 ms"
    )
