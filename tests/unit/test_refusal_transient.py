"""A refused offer or rejected action (issue 13, round 13): the "don't" keeps the user's reason
without the values of that one run."""

from __future__ import annotations

from support.items import assistant, failures_of, result, run, user

from memoryd.extract.offline.changes import replacements
from memoryd.extract.offline.timeline import analyse


async def test_a_dont_keeps_the_reason_but_not_the_pid_of_the_moment() -> None:
    items = [
        user("Port 4010 is taken, the mock server won't start."),
        run("c1", "lsof -i :4010"),
        result("c1", 0, "COMMAND   PID USER\nnode    731554 ana\n"),
        assistant("`node` with PID 731554 holds the port. Shall I run `kill 731554`?"),
        user("No, 731554 is Bea's harness, start the mock on another port."),
        run("c2", "npm run mock -- --port 4011"),
        result("c2", 0, "mock listening on 4011\n"),
    ]
    failures = await failures_of(items)
    dont = next(line for line in failures.splitlines() if "rejected" in line)
    assert "731554" not in dont
    assert "Bea's harness" in dont


def test_naming_the_offer_to_refuse_it_does_not_confirm_it() -> None:
    # "no `--force`, ever" names what it refuses: read as saying the answer back, the offer
    # would become a conclusion for the sentence model to keep as knowledge
    items = [
        user("The release branch won't push."),
        run("c1", "git push origin release/2.4"),
        result("c1", 1, " ! [rejected] release/2.4 -> release/2.4 (fetch first)\n"),
        assistant(
            "Someone else pushed to release/2.4 first. Option: `git push --force` over "
            "their commit."
        ),
        user("no --force on release/2.4, ever. their commit stays, pull and rebase onto it"),
        run("c2", "git pull --rebase origin release/2.4 && git push origin release/2.4"),
        result("c2", 0, "Successfully rebased and updated refs/heads/release/2.4.\n"),
    ]
    (task,) = analyse(items, "/w/harbor", None).tasks
    assert task.refused and "git push --force" in task.refused[0][0]
    assert task.restated == []


def test_what_is_dead_again_or_has_no_name_is_not_a_replaced_tool() -> None:
    # small talk about a floor's printer is no change of the project's tools
    assert replacements(["the plotter on 2 is dead, so the review waits"], []) == []
    assert replacements(["ugh, the staging VPN is dead again this morning"], []) == []
    # a named tool or a port that is gone still is
    assert replacements(["`seed.sh` is dead, the fixtures load themselves"], []) == [
        'Replaced: `seed.sh` is gone ("`seed.sh` is dead, the fixtures load themselves")'
    ]
    assert replacements(["8443 is no longer used"], []) == [
        'Replaced: `8443` is gone ("8443 is no longer used")'
    ]
