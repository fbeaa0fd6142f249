"""Round 16 of issue 13 (tuned on A–H, K, R, S, T): what a replacement read from prose names,
what a rule weighs against what, which sentence a task is about, and a log line's prefix. Each
in wording no corpus has (a release pipeline, a photo archive, a build box, a solver)."""

from __future__ import annotations

from pathlib import Path

from support.items import (
    assistant,
    extract,
    failures_of,
    knowledge_of,
    patch,
    patch_ok,
    request,
    result,
    run,
    task_block,
    user,
)
from support.offline_memory import consolidate, entry_lines, read_source, session

from memoryd.consolidate.offline.meaning import same_meaning
from memoryd.consolidate.offline.model import programs_run
from memoryd.consolidate.offline.replaced import Replacement, term_pattern
from memoryd.consolidate.offline.scope import universal, unpointed
from memoryd.consolidate.offline.supersession import turned_down
from memoryd.extract.offline.changes import replacements
from memoryd.extract.offline.language import proposes, read_message
from memoryd.extract.offline.outcomes import setting_line

CWD = "/home/ada/src/darkroom"


def test_a_word_after_a_modal_verb_is_a_verb_not_the_tool_it_spells() -> None:
    gone = Replacement("roll", "", "2026-03-02", 'Replaced: `roll` is gone ("roll is gone")')
    assert not gone.covers("The canary has to pass its smoke check before a build can roll out")
    assert not term_pattern("roll").search("nothing should roll before the freeze ends")
    # the tool itself, however it is named, still is
    assert gone.covers("Deploy with `roll web` from the repo root")
    assert gone.covers("roll reads the target from deploy.toml")
    # a command of several words is no plain word: the lookbehind is for single words only
    assert term_pattern("roll web").search("you can roll web from the repo root")


def test_a_fact_that_only_uses_the_verb_stays_current_when_the_tool_goes(
    tmp_path: Path,
) -> None:
    old = session(
        1,
        CWD,
        0,
        [
            user("how do releases go out here?"),
            run("c1", "cat RELEASING.md"),
            result("c1", 0, "Run `roll web` from the repo root.\n"),
            assistant(
                "The thumbnail service listens on port 7311, and its health check must pass "
                "before a build can roll."
            ),
        ],
    )
    new = session(
        2,
        CWD,
        5,
        [
            user("roll is gone, we release with levant now"),
            run("c1", "levant deploy web.nomad"),
            result("c1", 0, "deployment successful\n"),
        ],
    )
    memory, _ = consolidate(tmp_path, [old, new])
    assert 'Replaced: `roll` is gone ("roll is gone, we release with levant now")' in memory
    # a current fact, not one in the superseded section
    port = [ln for ln in entry_lines(memory) if "port 7311" in ln]
    assert port and all("superseded" not in ln for ln in port), memory


def test_a_label_before_a_colon_is_not_what_went() -> None:
    said = "Hosting moved in the repo: firebase.json is deleted, deploys go to Pages"
    assert replacements([said]) == [f'Replaced: `firebase.json` is gone ("{said}")']


def test_something_in_general_is_not_a_thing_that_went() -> None:
    # "a" / "any" / "every": no one thing is gone, whatever the sentence says of it
    assert replacements(["a thumbnail cache is gone after every redeploy, by design"]) == []
    assert replacements(["any tmp file is removed by the janitor at night"]) == []
    assert replacements(["the thumbnail cache is gone, exiftool writes the sidecars now"]) == [
        'Replaced: `thumbnail` is gone ("the thumbnail cache is gone, exiftool writes the '
        'sidecars now")'
    ]


def test_a_rule_that_weighs_other_things_against_a_tool_does_not_replace_it() -> None:
    tools = {"raw", "jpeg", "darktable", "album"}
    rules = [
        ("2026-03-01", "open the raw files in darktable, it keeps the sidecars"),
        # albums against darktable? no: JPEG exports weighed against raw exports
        ("2026-03-04", "keep albums in jpeg exports instead of raw exports"),
    ]
    assert turned_down(rules, tools) == []
    # the same shape with the tools themselves set against each other does replace
    taken = [
        ("2026-03-01", "edit the raw files in darktable"),
        ("2026-03-04", "edit in rawtherapee exports instead of darktable exports"),
    ]
    found = turned_down(taken, tools | {"rawtherapee"})
    assert [(r.old, r.new) for r in found] == [("darktable", "rawtherapee")]


def test_what_the_user_turned_down_is_the_offer_however_it_is_put() -> None:
    assert proposes("The disk is 99% full. Simplest would be `docker system prune -af`.")
    assert proposes("Cleanest would be to drop the queue and resubmit.")
    assert not proposes("The cleanest build is the one CI made last night.")


async def test_an_offer_put_as_the_simplest_way_and_refused_is_a_dont() -> None:
    out = await extract(
        request(
            [
                user("the disk on the build box is full again"),
                run("c1", "df -h /var/lib/docker"),
                result("c1", 0, "/dev/sda1  100G  99G  1G  99% /var/lib/docker\n"),
                assistant(
                    "The Docker data root is at 99%: images of old builds. Simplest would be "
                    "`docker system prune -af` to free the disk."
                ),
                user("No, that wipes my other images too, only clear the build cache."),
                run("c2", "docker builder prune -f"),
                result("c2", 0, "Total reclaimed space: 41GB\n"),
            ]
        )
    )
    block = task_block(out.raw_memory, 1)
    assert "rejected the proposal to run `docker system prune -af`" in block
    knowledge = block.split("Reusable knowledge:", 1)[1].split("Failures", 1)[0]
    assert "prune -af" not in knowledge


async def test_a_request_that_asks_nothing_is_titled_by_the_sentence_the_work_was_about() -> None:
    out = await extract(
        request(
            [
                user(
                    "Happy Friday! Just got back from the climbing gym, arms are dead. "
                    "Anyway: the nightly export job writes empty CSV files since Tuesday."
                ),
                run("c1", "./bin/export nightly --csv --dry-run"),
                result("c1", 0, "exporter: nightly: 0 rows written to out/nightly.csv\n"),
                assistant(
                    "The nightly export filters on a stale date; it now starts at the last run."
                ),
            ]
        )
    )
    heading = task_block(out.raw_memory, 1).splitlines()[0]
    assert "nightly export job writes empty CSV files" in heading
    assert "climbing gym" not in heading


def test_a_plain_request_keeps_its_own_sentence_as_the_title() -> None:
    reading = read_message("Please add a retry to the upload step. The CI log has the timeout.")
    assert reading.title.startswith("Please add a retry") or reading.title.startswith("add a retry")
    assert reading.title_sentences == ()


async def test_a_log_lines_host_and_pid_prefix_is_not_part_of_the_lesson() -> None:
    lesson = await failures_of(
        [
            user("run the solver on two nodes"),
            run("c1", "srun -N 2 ./solver cases/box.in"),
            result(
                "c1",
                1,
                "[gpu-node07:3318842] PMIX ERROR: NOT-FOUND in file base/ptl_base_connect.c "
                "at line 112\n",
            ),
            run("c2", "module load openmpi/5.0.3 && srun -N 2 --mpi=pmix ./solver cases/box.in"),
            result("c2", 0, "step 100 residual 1e-6\n"),
        ]
    )
    assert '"PMIX ERROR: NOT-FOUND in file base/ptl_base_connect.c at line 112"' in lesson
    assert "gpu-node07" not in lesson and "3318842" not in lesson
    assert "`module load openmpi/5.0.3 && srun -N 2 --mpi=pmix" in lesson


async def test_a_bracketed_prefix_that_is_no_run_value_stays() -> None:
    lesson = await failures_of(
        [
            user("build the docs"),
            run("c1", "make html"),
            result("c1", 2, "[sphinx] ERROR: unknown directive type 'mermaid'\n"),
            run("c2", "pip install sphinxcontrib-mermaid && make html"),
            result("c2", 0, "build succeeded.\n"),
        ]
    )
    assert "[sphinx] ERROR: unknown directive type" in lesson


async def test_a_first_sentence_that_shares_a_word_with_the_work_stays_the_title() -> None:
    out = await extract(
        request(
            [
                user(
                    "The export broke again overnight, sorry to bring it up on a Friday. "
                    "The nightly export job writes empty CSV files since Tuesday."
                ),
                run("c1", "./bin/export nightly --csv --dry-run"),
                result("c1", 0, "exporter: nightly: 0 rows written to out/nightly.csv\n"),
            ]
        )
    )
    heading = task_block(out.raw_memory, 1).splitlines()[0]
    assert "export broke again overnight" in heading


def test_where_a_rule_holds_joins_no_two_rules_that_ask_different_things() -> None:
    # both say they hold everywhere, "this one included"; what each asks has nothing in common
    # (a path's "includes/" made "includ" a tool of the sessions, as R's WordPress plugin did)
    cents = (
        "that rounding rule from ledgerly, amounts kept in integer cents: make it everywhere, "
        "all my clients, this one included"
    )
    notes = (
        "the release notes thing I do for inkpot — do it everywhere from now on, this repo "
        "included: one line in NOTES.md per change a reader would notice"
    )
    assert not same_meaning(cents, notes, {"includ", "md"})
    assert universal(cents) and universal(notes)
    assert universal("keep the money in integer cents for all my clients")
    # the same rule said twice still joins
    again = "amounts are kept in integer cents, this repo included"
    assert same_meaning("amounts kept in integer cents", again, {"includ"})


def test_a_tool_stem_that_names_nothing_joins_no_rules() -> None:
    # `write_themes` (a token scope) stems to "write" and "them": "them" is no tool
    src = read_source(
        1,
        "/home/ada/src/inkpot",
        [],
        ["The token needs the `write_themes` scope, and `npx shopify theme push` uploads"],
    )
    tools = programs_run([src])
    assert "them" not in tools and "shopify" in tools
    emoji = "commit messages without emoji, their changelog generator chokes on them"
    semis = "use semicolons at the end of every statement, their eslint config needs them"
    assert not same_meaning(emoji, semis, tools)


def test_a_general_rule_opening_with_the_project_it_came_from_is_stated_without_it() -> None:
    rule = "that rounding rule from ledgerly, amounts kept in integer cents: make it everywhere"
    assert unpointed(rule, ["ledgerly", "inkpot"]) == (
        "amounts kept in integer cents: make it everywhere"
    )
    # a longer opening is what the rule says, not a pointer: it stays
    long = "the release notes thing I do for inkpot — do it everywhere from now on"
    assert unpointed(long, ["inkpot"]) == long
    # a name that is the whole rule is kept (nothing would be left)
    assert unpointed("ledgerly", ["ledgerly"]) == "ledgerly"


def test_a_scheduler_directives_option_is_a_setting() -> None:
    assert setting_line("#SBATCH --account=geo-h2") == ("account", "=", "geo-h2")
    assert setting_line("#PBS --queue=long") == ("queue", "=", "long")
    assert setting_line("--max-old-space-size=4096") == ("max-old-space-size", "=", "4096")
    # a short option, or a comment that is prose, sets nothing
    assert setting_line("#SBATCH -N 2") is None
    assert setting_line("# see --account=geo-h2 in the wiki") is None


async def test_an_edited_directive_makes_the_old_account_out_of_date(tmp_path: Path) -> None:
    knowledge = await knowledge_of(
        [
            user("the old allocation closed, move the job scripts to the new one"),
            patch(
                "p1",
                "jobs/prod.sbatch",
                removed=("#SBATCH --account=geo-gpu",),
                added=("#SBATCH --account=geo-h2",),
            ),
            patch_ok("p1"),
            run("c1", "sbatch jobs/prod.sbatch"),
            result("c1", 0, "Submitted batch job 48311408\n"),
            assistant("The job script now charges the geo-h2 account; the batch is submitted."),
        ]
    )
    assert (
        "Replaced: `#SBATCH --account=geo-gpu` is replaced by `#SBATCH --account=geo-h2`"
        in knowledge
    )
    r = Replacement("#SBATCH --account=geo-gpu", "#SBATCH --account=geo-h2", "2026-03-02", "…")
    assert r.covers("`jobs/prod.sbatch` uses partition `gpu` and account `geo-gpu`")
    assert not r.covers("the geo-gpu partition is for short jobs")  # names no account


def test_a_path_a_setting_held_is_out_of_date_wherever_it_is_stated() -> None:
    old, new = "refdb: /srv/ref/greengenes-13.8", "refdb: /srv/ref/greengenes-13.9"
    r = Replacement(old, new, "2026-03-02", "…")
    assert r.covers("Classification reads `/srv/ref/greengenes-13.8` from config.yaml")
    assert not r.covers("moved from /srv/ref/greengenes-13.8 to /srv/ref/greengenes-13.9")
    # a value with no path in it still needs its setting named
    v = Replacement("release: 21", "release: 22", "2026-03-02", "…")
    assert not v.covers("the lab has 21 nodes")
