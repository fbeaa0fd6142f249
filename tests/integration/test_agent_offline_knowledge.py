"""What the offline consolidator makes of several sessions (issue 13): one task group per
project, every line naming its project, a rule from two projects made general, older facts
superseded by a later session, and a summary ordered by what a new session needs.

The inputs are real: small rollout fragments through the offline extractor, written into the
memory root by the same artifact code phase 2 uses."""

from __future__ import annotations

from pathlib import Path

from support.items import assistant, patch, patch_ok, result, run, user
from support.offline_memory import consolidate, entry_lines, session

from memoryd.consolidate.offline.layout import HEAD_BYTES, SUMMARY_BUDGET
from memoryd.store.phase2 import ArtifactRow

SHOP = "/home/u/code/shop"
BILLING = "/home/u/code/billing"


def shop_tests(tid: int, day: int) -> ArtifactRow:
    return session(
        tid,
        SHOP,
        day,
        [
            user("Run the tests. Use rg, not grep, when you search here."),
            run("c1", "uv run pytest -q"),
            result("c1", 2, "E   ModuleNotFoundError: No module named 'httpx'\n"),
            run("c2", "uv add httpx"),
            result("c2", 0, "+ httpx==0.27.0\n"),
            run("c3", "uv run pytest -q"),
            result("c3", 0, "40 passed\n"),
            assistant("The shop API is served on port 8040 and reads SHOP_DB_URL at startup."),
        ],
    )


async def test_one_group_per_project_and_every_bullet_names_its_project(tmp_path: Path) -> None:
    rows = [
        shop_tests(1, 0),
        session(
            2,
            SHOP,
            1,
            [
                user("Fix the typo in the footer. Also, what's the cache TTL?"),
                patch("p1", "web/footer.html"),
                patch_ok("p1"),
            ],
        ),
    ]
    memory, summary = consolidate(tmp_path, rows)
    assert memory.count("# Task Group: ") == 1
    assert "# Task Group: shop\n" in memory
    facts = entry_lines(memory)
    assert len(facts) >= 3 and all(ln.startswith("- shop: ") for ln in facts), facts
    digest = summary.split("### shop: how to work here", 1)[1]
    lines = [ln for ln in digest.splitlines() if ln.startswith("- ")]
    assert lines and all(ln.startswith("- shop: ") for ln in lines)
    # The linked lesson, the stated fact and the rule, each in one line.
    assert any("No module named 'httpx'" in ln and "fixed by `uv add httpx`" in ln for ln in lines)
    assert any("port 8040" in ln and "SHOP_DB_URL" in ln for ln in lines)
    assert any("use rg" in ln.lower() and "grep" in ln for ln in lines)


async def test_a_rule_stated_in_two_projects_is_one_general_rule(tmp_path: Path) -> None:
    rows = [
        shop_tests(1, 0),
        session(
            2,
            BILLING,
            2,
            [user("Add the invoice export. And use rg rather than grep for searching, please.")],
        ),
    ]
    memory, summary = consolidate(tmp_path, rows)
    prefs = summary.split("## User preferences", 1)[1].split("## ", 1)[0]
    general = [ln for ln in prefs.splitlines() if "rg" in ln]
    assert len(general) == 1
    assert general[0].endswith("(stated in shop, billing)") or general[0].endswith(
        "(stated in billing, shop)"
    )
    assert summary.count("grep") == 1
    assert general[0].startswith("- use rg rather than grep for searching (stated in ")
    assert "# General rules (for every project)" in memory
    # Not again as a project's own rule.
    assert not [ln for ln in entry_lines(memory) if "grep" in ln]


async def test_a_later_session_supersedes_an_older_fact(tmp_path: Path) -> None:
    old = session(
        1,
        SHOP,
        0,
        [
            user("Start the dev server."),
            run("c1", "make dev"),
            result("c1", None, "Listening on http://127.0.0.1:8000\n"),
        ],
    )
    new = session(
        2,
        SHOP,
        5,
        [
            user("The Makefile is gone, we replaced make dev with `just serve`. Start it."),
            run("c1", "just serve"),
            result("c1", None, "Listening on http://127.0.0.1:8000\n"),
        ],
    )
    memory, summary = consolidate(tmp_path, [old])
    assert "`make dev` serves on" in summary and "superseded" not in memory
    memory, summary = consolidate(tmp_path, [old, new])
    stale = [ln for ln in memory.splitlines() if "make dev` serves on" in ln]
    assert stale and all(
        "— superseded: `make dev` was replaced by `just serve`" in ln for ln in stale
    )
    assert "## Superseded (no longer current)" in memory
    # The summary tells only what is current, and what replaced what.
    assert "`make dev` serves on" not in summary
    assert "- shop: `make dev` was replaced by `just serve`" in summary


async def test_the_summary_is_ordered_by_value_and_fits_its_budget(tmp_path: Path) -> None:
    rows = [shop_tests(i, i) for i in range(1, 4)]
    rows += [
        session(
            10 + i,
            f"/home/u/code/svc{i}",
            i,
            [
                user(f"Fix the build of svc{i}. Keep commit messages short, not chatty."),
                run("c1", "cargo build"),
                result("c1", 101, f"error: linking with `cc` failed: cannot find -lssl{i}\n"),
                run("c2", f"sudo apt-get install -y libssl{i}-dev"),
                result("c2", 0, "ok\n"),
                run("c3", "cargo build"),
                result("c3", 0, "Finished\n"),
                assistant(
                    f"The svc{i} service reads SVC{i}_CONFIG and listens on port {9000 + i}. "
                    + " ".join(f"Note {k}: the file src/mod{k}.rs is generated." for k in range(8))
                ),
            ],
        )
        for i in range(40)
    ]
    _, summary = consolidate(tmp_path, rows)
    data = summary.encode()
    assert 6_000 <= len(data) <= SUMMARY_BUDGET == 10_000
    sections = ["## User Profile", "## User preferences", "## General Tips", "## What's in Memory"]
    assert [summary.index(s) for s in sections] == sorted(summary.index(s) for s in sections)
    # The rule stated everywhere comes first, as one general rule.
    prefs = summary.split("## User preferences", 1)[1].split("## ", 1)[0].strip().splitlines()
    assert prefs[0].startswith("- keep commit messages short, not chatty")
    # Within a project, a stated rule and a linked lesson come before how-to-run lines.
    digest = summary.split("### shop: how to work here", 1)[1].split("###", 1)[0]
    lines = [ln for ln in digest.splitlines() if ln.startswith("- shop: ")]
    assert "use rg" in lines[0].lower() and "grep" in lines[0]
    assert "fixed by `uv add httpx`" in lines[1]
    # Every project's short digest comes before the rest of any project's lines.
    digests = [
        i
        for i, ln in enumerate(summary.splitlines())
        if ln.endswith(")") and ": how to work here (cwd=" in ln
    ]
    more = [i for i, ln in enumerate(summary.splitlines()) if ln == "### More, by project"]
    assert len(digests) == 41 and (not more or max(digests) < min(more))
    assert not summary.endswith("\n\n") and all(
        ln.startswith(("- ", "### ", "## ", "v1")) or not ln for ln in summary.splitlines()
    )


async def test_each_project_digest_comes_before_the_rest_of_any_project(tmp_path: Path) -> None:
    def facts(ks: range) -> str:
        return " ".join(f"The worker{k} queue is configured in conf/worker{k}.toml." for k in ks)

    rows = [  # 12 facts about shop (at most 8 statements come from one session)
        session(1, SHOP, 0, [user("Document the workers."), assistant(facts(range(6)))]),
        session(3, SHOP, 0, [user("Document the others."), assistant(facts(range(6, 12)))]),
        session(2, BILLING, 1, [user("Use rg, not grep, when you search here.")]),
    ]
    _, summary = consolidate(tmp_path, rows)
    lines = summary.splitlines()
    at = {ln: i for i, ln in enumerate(lines)}
    shop = at[f"### shop: how to work here (cwd={SHOP})"]
    billing = at[f"### billing: how to work here (cwd={BILLING})"]
    more = at["### More, by project"]
    assert max(shop, billing) < more
    end = next(i for i in range(shop + 1, len(lines)) if lines[i].startswith("### "))
    shop_lines = [ln for ln in lines[shop:end] if ln.startswith("- shop: The worker")]
    assert len(shop_lines) == 8  # a short digest
    assert sum(ln.startswith("- shop: The worker") for ln in lines[more:]) == 4


async def test_a_setting_a_later_session_gives_another_value_is_superseded(tmp_path: Path) -> None:
    old = session(
        1,
        SHOP,
        0,
        [user("Start the API."), assistant("The API reads SHOP_PORT=8040 from .env.")],
    )
    new = session(
        2,
        SHOP,
        4,
        [user("Start the API again."), assistant("The API reads SHOP_PORT=8041 from .env now.")],
    )
    memory, summary = consolidate(tmp_path, [old, new])
    stale = [ln for ln in memory.splitlines() if "SHOP_PORT=8040" in ln]
    assert stale and all(
        "— superseded: `SHOP_PORT=8040` was replaced by `SHOP_PORT=8041`" in ln for ln in stale
    )
    assert "SHOP_PORT=8040" not in summary and "SHOP_PORT=8041" in summary


async def test_a_moved_port_supersedes_a_line_that_states_it_without_the_setting(
    tmp_path: Path,
) -> None:
    """Found on corpus C: the UI's URL was stated in words, the port moved in .env later."""
    old = session(
        1,
        SHOP,
        0,
        [
            user("The admin UI does not load."),
            run("c1", "grep ADMIN_PORT .env"),
            result("c1", 0, "SHOP_ADMIN_PORT=8081\n"),
            assistant("The admin UI is http://localhost:8081 (.env sets the port)."),
        ],
    )
    new = session(
        2,
        SHOP,
        4,
        [
            user("The admin UI link gives a 404."),
            run("c1", "grep ADMIN_PORT .env"),
            result("c1", 0, "SHOP_ADMIN_PORT=8090\n"),
            assistant("The admin UI moved: it is http://localhost:8090 now."),
        ],
    )
    memory, summary = consolidate(tmp_path, [old, new])
    stale = [ln for ln in memory.splitlines() if "8081" in ln and ln.startswith("- ")]
    assert stale and all("— superseded:" in ln for ln in stale), stale
    assert "8081" not in summary and "localhost:8090" in summary


async def test_a_variable_no_longer_read_is_gone_not_given_the_value_no(tmp_path: Path) -> None:
    old = session(
        1,
        SHOP,
        0,
        [user("The worker won't start."), assistant("The worker needs SHOP_QUEUE_URL (redis).")],
    )
    new = session(
        2,
        SHOP,
        4,
        [
            user("Worker again."),
            assistant("SHOP_QUEUE_URL is no longer read; the worker takes SHOP_BROKER_URL."),
        ],
    )
    memory, summary = consolidate(tmp_path, [old, new])
    assert "SHOP_QUEUE_URL=no" not in memory
    needs = [ln for ln in memory.splitlines() if "The worker needs SHOP_QUEUE_URL" in ln]
    assert needs and all("— superseded: `SHOP_QUEUE_URL` is gone" in ln for ln in needs), needs
    assert "The worker needs SHOP_QUEUE_URL" not in summary


async def test_what_replaced_a_gone_command_is_not_itself_superseded(tmp_path: Path) -> None:
    old = session(
        1,
        SHOP,
        0,
        [user("Lint it."), run("c1", "make lint"), result("c1", 0, "ok\n")],
    )
    new = session(
        2,
        SHOP,
        4,
        [
            user("Lint my branch."),
            run("c1", "make lint"),
            result("c1", 2, "make: *** No rule to make target 'lint'.  Stop.\n"),
            run("c2", "pre-commit run --all-files"),
            result("c2", 0, "ruff....Passed\n"),
            assistant("`make lint` no longer exists (we moved the linters to pre-commit)."),
        ],
    )
    memory, _ = consolidate(tmp_path, [old, new])
    switched = [ln for ln in memory.splitlines() if "Switched to: `pre-commit`" in ln]
    assert switched and not any("superseded" in ln for ln in switched), switched


async def test_killing_a_stale_process_is_not_a_failures_fix(tmp_path: Path) -> None:
    row = session(
        1,
        SHOP,
        0,
        [
            user("The dev server won't start."),
            run("c1", "make serve"),
            result("c1", 1, "OSError: [Errno 48] Address already in use\n"),
            run("c2", "kill 51877"),
            result("c2", 0, ""),
            run("c3", "make serve"),
            result("c3", 0, "Serving on http://127.0.0.1:8000\n"),
        ],
    )
    memory, summary = consolidate(tmp_path, [row])
    assert "51877" not in memory and "51877" not in summary


async def test_a_tool_rule_in_other_words_in_two_projects_is_one_general_rule(
    tmp_path: Path,
) -> None:
    """Found on corpus C: the rejected tool sits behind a gerund in one wording, and the
    other rule follows a question in the same message."""
    rows = [
        session(
            1,
            SHOP,
            0,
            [user("Why is the export empty?! fyi for poking at json use jq, not python -c.")],
        ),
        session(
            2,
            BILLING,
            2,
            [user("Read the invoice API. Parse it with jq instead of piping it into python.")],
        ),
    ]
    memory, summary = consolidate(tmp_path, rows)
    prefs = summary.split("## User preferences", 1)[1].split("## ", 1)[0]
    general = [ln for ln in prefs.splitlines() if "jq" in ln]
    assert len(general) == 1 and "(stated in " in general[0], prefs
    assert not [ln for ln in entry_lines(memory) if "jq" in ln]


async def test_a_removal_rule_naming_the_same_code_in_other_words_is_one_general_rule(
    tmp_path: Path,
) -> None:
    rows = [
        session(
            1,
            SHOP,
            0,
            [user("Fix the cart total. Also strip any console.log() you add before you commit.")],
        ),
        session(
            2,
            BILLING,
            2,
            [user("Add the refund endpoint. When you're done, no consoleLog debug calls left.")],
        ),
        session(3, BILLING, 3, [user("Tidy the models. No print() in library code.")]),
    ]
    memory, summary = consolidate(tmp_path, rows)
    prefs = summary.split("## User preferences", 1)[1].split("## ", 1)[0]
    general = [ln for ln in prefs.splitlines() if "(stated in " in ln]
    assert len(general) == 1 and "console" in general[0].lower(), prefs
    # a removal rule about other code stays its project's own
    assert [ln for ln in entry_lines(memory) if "print()" in ln]


async def test_a_fix_with_a_large_number_in_it_is_still_the_fix(tmp_path: Path) -> None:
    row = session(
        1,
        SHOP,
        0,
        [
            user("The indexer dies on the big repo."),
            run("c1", "make index"),
            result("c1", 1, "OSError: [Errno 24] Too many open files\n"),
            run("c2", "ulimit -n 65536"),
            result("c2", 0, ""),
            run("c3", "make index"),
            result("c3", 0, "indexed 120000 files\n"),
        ],
    )
    memory, _ = consolidate(tmp_path, [row])
    lessons = [ln for ln in entry_lines(memory) if "Too many open files" in ln]
    assert any("ulimit -n 65536" in ln for ln in lessons), lessons


async def test_the_summary_does_not_repeat_a_command_a_lesson_gives_as_its_fix(
    tmp_path: Path,
) -> None:
    memory, summary = consolidate(tmp_path, [shop_tests(1, 0)])
    digest = [ln for ln in summary.splitlines() if ln.startswith("- shop: ")]
    with_fix = [ln for ln in digest if "`uv add httpx`" in ln]
    assert len(with_fix) == 1 and "fixed by `uv add httpx`" in with_fix[0], digest
    # the lesson shows the tests passing with `uv run pytest -q` once fixed: how to run them
    # is left to MEMORY.md
    assert not any(ln.startswith("- shop: Run the tests with") for ln in digest), digest
    assert "- shop: Run the tests with `uv run pytest -q` [Task 1]" in entry_lines(memory)
    # MEMORY.md keeps every line
    assert "- shop: Install dependencies with `uv add httpx` [Task 1]" in entry_lines(memory)


async def test_a_later_session_that_moves_a_port_and_loses_a_target_supersedes_both(
    tmp_path: Path,
) -> None:
    rows = [
        shop_tests(1, 0),  # "The shop API is served on port 8040 and reads SHOP_DB_URL …"
        session(
            2,
            SHOP,
            1,
            [
                user("Start the shop with make serve."),
                run("c1", "make serve"),
                result("c1", 0, "serving on :8040\n"),
            ],
        ),
        session(
            3,
            SHOP,
            4,
            [
                user("Bring the shop up again."),
                run("c1", "make serve"),
                result("c1", 2, "make: *** No rule to make target 'serve'.  Stop.\n"),
                assistant("The shop API now listens on port 8055; that target is not there."),
            ],
        ),
    ]
    memory, summary = consolidate(tmp_path, rows)
    stale = memory.split("## Superseded (no longer current)", 1)[1].split("\n#", 1)[0]
    assert "port 8040" in stale and "`8040` was replaced by `8055`" in stale
    assert "Start it with `make serve`" in stale and "`make serve` is gone" in stale
    current = memory.replace(stale, "")
    assert "8040" not in current
    # the task whose title names the gone target says so in its heading
    assert "## Task 2: Start the shop with make serve [superseded: `make serve` is gone]" in (
        current
    )
    assert "8040" not in summary and "port 8055" in summary
    assert "Start it with `make serve`" not in summary


async def test_every_project_digest_ends_within_the_first_5000_bytes(tmp_path: Path) -> None:
    def facts(name: str) -> str:
        return " ".join(
            f"The {name} importer for feed{k} reads its mapping from conf/{name}/feed{k}.yaml."
            for k in range(10)
        )

    names = ["atlas", "borealis", "cobalt", "dune", "ember", "fjord"]
    rows = [
        session(20 + n * 2 + half, f"/home/u/code/{name}", n, [user("Document it."), assistant(f)])
        for n, name in enumerate(names)
        for half, f in enumerate([facts(name)[: len(facts(name)) // 2], facts(name)])
    ]
    _, summary = consolidate(tmp_path, rows)
    data = summary.encode()
    assert len(data) <= SUMMARY_BUDGET
    head = data[:HEAD_BYTES].decode(errors="ignore")
    for name in names:
        # each project's heading and its best lines are in what Codex reads first
        digest = head.split(f"### {name}: how to work here", 1)[1].split("###", 1)[0]
        assert (
            sum(ln.startswith(f"- {name}: The {name} importer") for ln in digest.splitlines()) >= 3
        )
