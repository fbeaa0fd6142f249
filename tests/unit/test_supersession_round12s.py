"""Round 12s of issue 13 (corpus R as a tuning corpus), what stays current: an edit that gives
a build file's setting another value (an XML element as in pom.xml or a .csproj, or ``key =
value``) replaces the old value, and a statement naming that setting with its old value,
however worded, is out of date, while a statement of another setting with the same number is
not; and an offer the user answers with "no <the thing offered>, <why>" is refused, not kept
as knowledge. Wording no corpus has (a .NET service, a mail relay)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    user,
)
from support.offline_memory import consolidate, session

from memoryd.consolidate.offline.replaced import Replacement
from memoryd.extract.offline.outcomes import setting_changes, setting_line

CWD = "/home/ines/src/quayside"
ELEMENT_OLD = "<TargetFramework>net6.0</TargetFramework>"
ELEMENT_NEW = "<TargetFramework>net8.0</TargetFramework>"


def _edit(file: str, removed: str, added: str) -> list[dict[str, Any]]:
    return [patch("p1", file, removed=(removed,), added=(added,)), patch_ok("p1")]


def test_an_xml_element_holding_one_value_is_a_setting() -> None:
    assert setting_line(ELEMENT_OLD) == ("TargetFramework", "<>", "net6.0")
    assert setting_line("<ns:Flag>on</ns:Flag>") == ("ns:Flag", "<>", "on")
    # an element with children, a mismatched close or markup inside is no one-value setting
    assert setting_line("<PropertyGroup>") is None
    assert setting_line("<Version>1.2</AssemblyVersion>") is None
    assert setting_line("<Note><b>x</b></Note>") is None
    assert setting_changes([ELEMENT_OLD], [ELEMENT_NEW]) == [
        ("TargetFramework", ELEMENT_OLD, ELEMENT_NEW)
    ]
    # the same key as `key = value` elsewhere is another setting: operators differ
    assert setting_changes(["TargetFramework = net6.0"], [ELEMENT_NEW]) == []


async def test_a_confirmed_edit_of_an_xml_setting_is_a_replacement() -> None:
    items = [
        user("move the service to the new runtime"),
        *_edit("Quayside.csproj", ELEMENT_OLD, ELEMENT_NEW),
        run("c1", "dotnet build"),
        result("c1", 0, "Build succeeded.\n    0 Warning(s)\n    0 Error(s)\n"),
        assistant("Done: `TargetFramework` is net8.0 now and `dotnet build` succeeds."),
    ]
    knowledge = await knowledge_of(items)
    assert f"Replaced: `{ELEMENT_OLD}` is replaced by `{ELEMENT_NEW}`" in knowledge


def test_a_statement_naming_the_setting_and_its_old_value_is_out_of_date() -> None:
    r = Replacement(ELEMENT_OLD, ELEMENT_NEW, "2026-03-02", "Replaced: …")
    # however it is worded: the key spaced or cased otherwise, the value in a sentence
    assert r.covers("The target framework is net6.0, per the csproj")
    assert r.covers("`TargetFramework` in Quayside.csproj says net6.0, so the image stays on 6")
    # a statement that gives the new value, or names the old value of something else
    assert not r.covers("The target framework moved from net6.0 to net8.0")
    assert not r.covers("The test project still builds for net6.0 (`LangVersion` 10)")
    # a short key must be named as a word: "import" does not name `port`
    port = Replacement("port = 8080", "port = 8081", "2026-03-02", "Replaced: …")
    assert port.covers("The admin UI listens on port 8080")
    assert not port.covers("The import job on 8080 is someone else's")


def test_the_old_value_stated_in_words_is_superseded_by_the_edit(tmp_path: Path) -> None:
    old = session(
        1,
        CWD,
        0,
        [
            user("which framework does this target?"),
            run("c1", "grep -n TargetFramework Quayside.csproj"),
            result("c1", 0, f"4:    {ELEMENT_OLD}\n"),
            assistant(
                "The service targets .NET 6: `TargetFramework` in Quayside.csproj is net6.0, "
                "so the base image must stay on the 6.0 runtime."
            ),
        ],
    )
    new = session(
        2,
        CWD,
        6,
        [
            user("the platform team retired the 6.0 images, move us up"),
            *_edit("Quayside.csproj", ELEMENT_OLD, ELEMENT_NEW),
            run("c1", "dotnet build"),
            result("c1", 0, "Build succeeded.\n"),
            assistant("The service now builds for `TargetFramework` net8.0; the build passes."),
        ],
    )
    memory, summary = consolidate(tmp_path, [old, new])
    current = memory.split("## Superseded (no longer current)", 1)[0]
    assert "is net6.0, so the base image" not in current
    assert "is net6.0, so the base image" not in summary
    stale = memory.split("## Superseded (no longer current)", 1)[1]
    assert "is net6.0, so the base image" in stale


async def test_no_and_the_thing_offered_refuses_the_offer_whatever_follows() -> None:
    # read alone, the reply is a new request (it asks for another way); after the offer its
    # "no" and the offer's own word refuse the offer
    items = [
        env_context("/srv/relay"),
        user("the relay queue is stuck again"),
        run("c1", "postqueue -p | tail -1"),
        result("c1", 0, "-- 5120 Kbytes in 412 Requests.\n"),
        assistant(
            "The deferred mail is from one bounced domain. Fastest way out: `postsuper -d "
            "ALL deferred`, which drops every deferred message."
        ),
        user("No deleting the deferred ones, half are invoices. Requeue them and fix the route."),
        run("c2", "postsuper -r ALL deferred && postqueue -f"),
        result("c2", 0, "postsuper: Requeued: 412 messages\n"),
    ]
    failures = await failures_of(items)
    assert (
        "The user rejected the proposal to run `postsuper -d ALL deferred` "
        '("No deleting the deferred ones, half are invoices."): don\'t repeat it'
    ) in failures
    assert "postsuper -d ALL deferred" not in await knowledge_of(items)
    # the refusal goes on with the task: the requeue is its work, not a second task's
    raw = (await extract(request(items))).raw_memory
    assert "### Task 2" not in raw and "`postsuper -r ALL deferred && postqueue -f` (exit 0)" in raw


async def test_no_to_something_the_offer_did_not_name_refuses_nothing() -> None:
    items = [
        env_context("/srv/relay"),
        user("the relay queue is stuck again"),
        run("c1", "postqueue -p | tail -1"),
        result("c1", 0, "-- 5120 Kbytes in 412 Requests.\n"),
        assistant("The deferred mail is from one bounced domain; `postqueue -f` retries it."),
        user("No rush on that. Add the bounce domain to the transport map first."),
    ]
    assert "rejected the proposal" not in await failures_of(items)
