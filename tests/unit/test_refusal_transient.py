"""A refused offer or rejected action (issue 13, round 13): the "don't" keeps the user's reason
without the values of that one run."""

from __future__ import annotations

from support.items import assistant, extract, failures_of, request, result, run, user

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


async def test_turning_down_an_offer_is_no_problem_report() -> None:
    items = [
        user("The rota export is slow, speed it up."),
        run("c1", "cargo bench --bench export"),
        result("c1", 0, "export/full  time: [812.4 ms 815.0 ms 818.1 ms]\n"),
        assistant("Most of it is the PDF step. I could drop the `--embed-fonts` flag."),
        user("no, not --embed-fonts, the choir's printer needs them. cache the layout instead"),
        run("c2", "cargo bench --bench export"),
        result("c2", 0, "export/full  time: [301.2 ms 302.8 ms 304.0 ms]\n"),
    ]
    out = await extract(request(items))
    outcome = next(ln for ln in out.rollout_summary.splitlines() if ln.startswith("Outcome:"))
    assert "reported a problem" not in outcome
    assert "task_outcome: uncertain" in out.raw_memory  # both runs worked; nobody confirmed
    assert "The user rejected the proposal to run `--embed-fonts`" in out.raw_memory
