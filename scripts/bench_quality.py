#!/usr/bin/env python3
"""Benchmark what memoryd's memory keeps: planted facts in realistic Codex sessions, scored in
``memory_summary.md`` and ``MEMORY.md`` (issue 13).

Twenty-one corpora of Codex 0.169 rollouts (``scripts/quality/``): A written by hand, B generated
from templates with a seeded RNG, C written as terminal transcripts, D assembled from episodes
of messy work (corrections, edits as fixes, wrapped commands, refusals, tools gone), E written
as one developer's work diary in a non-native voice, F assembled from each project's own files
(README, Makefile, package.json, CI config) that a terse engineer's agent reads, with pasted
chat and review comments, G dictated by voice (misheard words, pasted checklists, corrections)
to an agent that finds the knowledge with rg, git log -p/blame and --help, H written as
question-and-answer exchanges of a non-native developer who asks and then accepts the agent's
proposals (knowledge from gh issues, CI logs, compose logs and config files), I written as a
team lead's structured briefs (headings, tables, pasted ADRs, policies, how to report back)
with knowledge from the agent's own narrated trial and error (errors, --help,
justfile/Makefile/.tool-versions/CODEOWNERS, docker compose), J written by an on-call
engineer in incident mode and in calm postmortems (pasted alerts, kubectl/helm/journalctl/
systemctl output, runbooks, CI files, crontab, systemd units), K written as a junior developer
who is learning (asks what errors mean and why, then sums up the agent's lessons in their own
words, sometimes wrongly and corrected; preferences about how to be taught; knowledge from
compiler notes and hints, man/--help/docs pages and failed first attempts), L written as pasted
documents under a one-line ask (tickets, PR descriptions, security and ops emails, wiki and
CONTRIBUTING excerpts, Slack exports; knowledge from --version output, lock files and CI
config), M written as autonomous agent runs (one goal, unattended tool use ending in
structured reports, rare one-line corrections), N written in a developer's fast lowercase chat
shorthand (several one-line messages per turn; knowledge from gh code review and Makefile/
justfile targets), O written as a data analyst's polite requests and questions (knowledge in
query results, dbt and Airflow logs, EXPLAIN plans and environment errors), P written as an
open-source maintainer's triage of issues and contributors' PRs (house style quoted from
CONTRIBUTING/STYLE sections, edits of the agent's patch explained, contributors' proposals
declined; knowledge from cargo, nox, pnpm and go output, changelog tooling, release scripts and
git log/blame), Q written as a senior developer's corrections after the agent acted (rules as
reactions, "again?", references to earlier sessions; knowledge from the agent's exploration and
the failures it causes), R written as a freelancer's house rules carried across five clients'
repos (each rule restated in other words and shapes in two or three of them, next to look-alike
rules of one client each; knowledge from wp-env, composer, yarn, Maven, the Shopify and Angular
CLIs), S written as a platform engineer's numbered to-do lists and terse follow-ups across four
services of one company (team rules quoted from a handbook section and restated per service,
look-alike rules per service; knowledge from bun, nomad, caddy, meson, systemctl, journalctl,
pulumi and go output), T written as a research software engineer's long hedged run-on
paragraphs about four research codes on a university HPC cluster, mixing topics, with rules
buried mid-paragraph and her supervisor's and the cluster admins' words forwarded (knowledge
from sbatch/squeue/sacct, Lmod, conda/mamba solver errors, snakemake dry runs, CMake and
gfortran errors, pixi and spack), U written as a hardware startup's tech lead who explains
why (rules as the story behind them, rhetorical questions she answers, team conventions and
consequences, corrections of the agent's assumptions) across Zephyr firmware, a Bazel monorepo,
a Haskell service and Azure Bicep (knowledge from west, devicetree and Kconfig errors, the
linker, nrfjprog, mcumgr, bazel analysis errors, stack and GHC errors, hpack, az and bicep),
each with other projects and other wording. A–H, K, R, S and T are tuned on (R since round 12,
S since round 13 and T since round 14, each after one held-out measurement); I, J, L to Q and
U are held out: each was written after the tuning corpora it followed, without reading their
sessions, and never run before it was committed. For each corpus, in a fresh temp
``CODEX_HOME`` and state dir, with the default (offline) backends and the real CLI as a
subprocess:

1. write the initial sessions, dated from one "now" so that all are idle and within the age
   window, and run ``memoryd run --once``; score (step ``first``);
2. add the later sessions, which supersede some facts, and run again; score (step ``later``);
3. ``memoryd forget --thread`` one session, run again; score (step ``forget``): that
   session's own facts must be gone.

Printed per fact kind: recall in the summary and in MEMORY.md, failure→fix stated as one linked
statement, superseded facts still presented as current, distractors kept, the summary's size
and the share of its bytes in lines that state a fact, and the issue's target beside each.

    python scripts/bench_quality.py                 # every corpus
    python scripts/bench_quality.py --corpus a --json
    python scripts/bench_quality.py --corpus b --keep   # keep the temp homes to look at
    python scripts/bench_quality.py --corpus c --summary-budget 6000   # the summary's cap lowered
    python scripts/bench_quality.py --corpus h --meaning both   # the meaning model off and on
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality import corpora  # noqa: E402
from quality.model import Corpus  # noqa: E402
from quality.render import write_session  # noqa: E402
from quality.score import (  # noqa: E402
    MEMORY,
    SUMMARY,
    StepScore,
    as_json,
    distractor_kinds,
    kinds_in,
    score_root,
)

DAY_MS = 86_400_000
TARGETS = {
    "summary_recall": 0.90,
    "memory_recall": 0.95,
    "linked_summary": 0.80,
    "summary_min": 6000,
    "summary_max": 10000,
}


class BenchError(Exception):
    pass


def _write_meaning(base: Path, meaning: str | None) -> None:
    """``offline.meaning`` in the run's own config file (the temp home's, so no user config
    is read either way); None leaves the default."""
    if meaning is None:
        return
    path = base / "config" / "memoryd" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[offline]\nmeaning = "{meaning}"\n', encoding="utf-8")


def _env(base: Path, summary_budget: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORYD_", "XDG_"))}
    if summary_budget is not None:
        # a stress run: the summary's cap lowered, to see what it keeps when not all fits
        env["MEMORYD_SUMMARY_BUDGET"] = str(summary_budget)
    env.update(
        HOME=str(base),
        CODEX_HOME=str(base / "codex"),
        MEMORYD_STATE_DIR=str(base / "state"),
        MEMORYD_SOCKET=str(base / "state" / "memoryd.sock"),
        XDG_CONFIG_HOME=str(base / "config"),  # no user config: the defaults (offline)
        TZ="UTC",
    )
    return env


def memoryd(env: dict[str, str], *args: str) -> str:
    cmd = [sys.executable, "-m", "memoryd", *args]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        # the CLI's own one-line reason (or a traceback's last line) is what names the problem
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        why = lines[-1].strip() if lines else "no message on stderr"
        raise BenchError(f"`memoryd {' '.join(args)}` exited {p.returncode}: {why}")
    return p.stdout


def _run_once(env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(memoryd(env, "run", "--once", "--json"))
    return out


def run_corpus(
    corpus: Corpus,
    base: Path,
    now_ms: int,
    summary_budget: int | None = None,
    meaning: str | None = None,
) -> dict[str, Any]:
    env = _env(base, summary_budget)
    _write_meaning(base, meaning)
    sessions_dir = base / "codex" / "sessions"
    root = base / "codex" / "memories"
    ids: dict[str, str] = {}

    def write(later: bool) -> None:
        for s in corpus.sessions:
            if s.later == later:
                start = now_ms - int(s.days_ago * DAY_MS)
                ids[s.key], _ = write_session(
                    sessions_dir, corpus.name, s, corpus.project(s.project), start
                )

    steps: dict[str, StepScore] = {}
    runs: dict[str, dict[str, Any]] = {}
    write(later=False)
    runs["first"] = _run_once(env)
    steps["first"] = score_root(corpus, root, "first")
    write(later=True)
    runs["later"] = _run_once(env)
    steps["later"] = score_root(corpus, root, "later")
    memoryd(env, "forget", "--thread", ids[corpus.forget], "--json")
    runs["forget"] = _run_once(env)
    steps["forget"] = score_root(corpus, root, "forget")
    return {"steps": steps, "runs": runs, "home": str(base)}


def _pct(a: int, b: int) -> str:
    return f"{a / b:6.1%}" if b else "     -"


def _runs(run: dict[str, Any]) -> dict[str, Any]:
    """What ``run --once --json`` reported that the figures depend on."""
    p1 = run.get("phase1") or {}
    p2 = run.get("phase2") or {}
    return {
        "memories": p1.get("succeeded", 0),
        "empty": p1.get("no_output", 0),
        "failed": p1.get("failed", 0),
        "errors": p1.get("errors", []),
        "phase2": p2.get("outcome", "not run"),
    }


def _phase1_line(run: dict[str, Any]) -> str:
    r = _runs(run)
    line = (
        f"phase 1: {r['memories']} memories, {r['empty']} empty, {r['failed']} failed; "
        f"phase 2: {r['phase2']}"
    )
    return line + (f" (first error: {r['errors'][0]})" if r["errors"] else "")


def report(corpus: Corpus, result: dict[str, Any]) -> str:
    steps: dict[str, StepScore] = result["steps"]
    later = steps["later"]
    s, m = later.files[SUMMARY], later.files[MEMORY]
    n_sessions = len(corpus.sessions)
    lines = [
        f"== corpus {corpus.name} ({corpus.how}): {n_sessions} sessions, "
        f"{len(corpus.projects)} projects, {len(corpus.facts)} facts, "
        f"{len(corpus.distractors)} distractors",
        *(
            f"   run {i} ({step}): {_phase1_line(result['runs'][step])}"
            for i, step in enumerate(("first", "later", "forget"), 1)
        ),
        "",
        "after the later sessions (all fact kinds):",
        f"  {'kind':<14}{'n':>4}  {'summary':>8}  {'MEMORY.md':>9}",
    ]
    for kind in kinds_in(corpus):
        if kind not in s.recall:
            continue
        a, n = s.recall[kind]
        b, _ = m.recall[kind]
        lines.append(f"  {kind:<14}{n:>4}  {_pct(a, n):>8}  {_pct(b, n):>9}")
    (a, n), (b, _) = s.total, m.total
    lines.append(
        f"  {'all durable':<14}{n:>4}  {_pct(a, n):>8}  {_pct(b, n):>9}"
        f"   target >= {TARGETS['summary_recall']:.0%} / >= {TARGETS['memory_recall']:.0%}"
    )
    lines.append(
        f"  failure→fix linked in one statement: summary {s.linked[0]}/{s.linked[1]} "
        f"({_pct(*s.linked).strip()}), MEMORY.md {m.linked[0]}/{m.linked[1]} "
        f"({_pct(*m.linked).strip()})   target summary >= {TARGETS['linked_summary']:.0%}"
    )
    n_old = sum(1 for f in corpus.facts if f.superseded_by)
    lines.append(
        f"  superseded facts presented as current: summary {len(s.superseded_current)}/{n_old}, "
        f"MEMORY.md {len(m.superseded_current)}/{n_old}   target 0"
    )
    for name, f in ((SUMMARY, s), (MEMORY, m)):
        kinds = distractor_kinds(corpus, f.distractors)
        detail = ", ".join(f"{k} {v}" for k, v in kinds.items())
        lines.append(
            f"  distractors kept in {name}: {len(f.distractors)}/{len(corpus.distractors)} "
            f"({detail})   target 0"
        )
    share = s.fact_bytes / s.size if s.size else 0.0
    lines.append(
        f"  memory_summary.md: {s.size:,} bytes (target {TARGETS['summary_min']:,}-"
        f"{TARGETS['summary_max']:,}); {share:.1%} of its bytes in lines that state a fact; "
        f"recall within the injected first/last 5,000 bytes "
        f"{_pct(*s.injected_recall).strip()}, within the first 5,000 "
        f"{_pct(*s.head_recall).strip()}"
    )
    if later.secret_anywhere:
        lines.append(
            f"  the planted secret is in: {', '.join(later.secret_anywhere)}   target none"
        )
    first = steps["first"]
    fs, fm = first.files[SUMMARY], first.files[MEMORY]
    lines += [
        "",
        f"after the first run: recall summary {_pct(*fs.total).strip()} "
        f"({fs.total[0]}/{fs.total[1]}), MEMORY.md {_pct(*fm.total).strip()}; "
        f"summary {fs.size:,} bytes; distractors kept {len(fs.distractors)} (summary) / "
        f"{len(fm.distractors)} (MEMORY.md)",
    ]
    fg = steps["forget"]
    n_gone = len(fg.forgotten)
    before = {name: len(f) for name, f in later.forgotten_present.items()}
    after = {name: len(f) for name, f in fg.forgotten_present.items()}
    lines.append(
        f"after forgetting session {corpus.forget}: its {n_gone} own facts were stated "
        f"{before[SUMMARY]} in the summary / {before[MEMORY]} in MEMORY.md before, "
        f"{after[SUMMARY]} / {after[MEMORY]} after   target 0 after"
    )
    gs, gm = fg.files[SUMMARY], fg.files[MEMORY]
    lines.append(
        f"  other facts after the forget: summary {_pct(*gs.total).strip()}, "
        f"MEMORY.md {_pct(*gm.total).strip()}"
    )
    missing = s.missing
    if missing:
        lines.append(f"  not in the summary: {', '.join(missing)}")
    return "\n".join(lines)


def _pair(a: tuple[int, int], b: tuple[int, int]) -> str:
    return f"{_pct(*a).strip()} → {_pct(*b).strip()}"


def compare(corpus: Corpus, off: dict[str, Any], on: dict[str, Any]) -> str:
    """The figures of one corpus with the meaning model off and on, side by side (the same
    run, the same "now")."""
    a, b = off["steps"]["later"], on["steps"]["later"]
    lines = [
        f"== corpus {corpus.name}: meaning off → on (after the later sessions)",
        f"  {'kind':<14}{'n':>4}  {'summary':>17}  {'MEMORY.md':>17}",
    ]
    for kind in kinds_in(corpus):
        if kind not in a.files[SUMMARY].recall:
            continue
        n = a.files[SUMMARY].recall[kind][1]
        sa, sb = a.files[SUMMARY].recall[kind], b.files[SUMMARY].recall[kind]
        ma, mb = a.files[MEMORY].recall[kind], b.files[MEMORY].recall[kind]
        lines.append(f"  {kind:<14}{n:>4}  {_pair(sa, sb):>17}  {_pair(ma, mb):>17}")
    sa, sb, ma, mb = a.files[SUMMARY], b.files[SUMMARY], a.files[MEMORY], b.files[MEMORY]
    lines += [
        f"  {'all durable':<14}{sa.total[1]:>4}  {_pair(sa.total, sb.total):>17}  "
        f"{_pair(ma.total, mb.total):>17}",
        f"  linked in the summary {sa.linked[0]} → {sb.linked[0]} of {sa.linked[1]}; "
        f"superseded as current (summary / MEMORY.md) {len(sa.superseded_current)} / "
        f"{len(ma.superseded_current)} → {len(sb.superseded_current)} / "
        f"{len(mb.superseded_current)}; distractors kept {len(sa.distractors)} / "
        f"{len(ma.distractors)} → {len(sb.distractors)} / {len(mb.distractors)}",
        f"  memory_summary.md {sa.size:,} → {sb.size:,} bytes; facts' share of its bytes "
        f"{sa.fact_bytes / max(sa.size, 1):.1%} → {sb.fact_bytes / max(sb.size, 1):.1%} "
        f"(MEMORY.md {ma.fact_bytes / max(ma.size, 1):.1%} → "
        f"{mb.fact_bytes / max(mb.size, 1):.1%}); recall within its first 5,000 bytes "
        f"{_pair(sa.head_recall, sb.head_recall)}; after the forget: summary "
        f"{_pct(*off['steps']['forget'].files[SUMMARY].total).strip()}"
        f" → {_pct(*on['steps']['forget'].files[SUMMARY].total).strip()}",
    ]
    gained = sorted(set(sa.missing) - set(sb.missing))
    lost = sorted(set(sb.missing) - set(sa.missing))
    m_gained = sorted(set(ma.missing) - set(mb.missing))
    m_lost = sorted(set(mb.missing) - set(ma.missing))
    for what, ids in (
        ("summary gained", gained),
        ("summary lost", lost),
        ("MEMORY.md gained", m_gained),
        ("MEMORY.md lost", m_lost),
    ):
        if ids:
            lines.append(f"  {what}: {', '.join(ids)}")
    new_d = sorted(set(sb.distractors) | set(mb.distractors))
    if new_d:
        lines.append(f"  distractors kept with the model on: {', '.join(new_d)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpus",
        choices=(*corpora.NAMES, "both", "all"),
        default="all",
        help="one corpus; 'both' is a and b (as before c existed), 'all' every corpus",
    )
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--keep", action="store_true", help="keep the temp homes")
    ap.add_argument(
        "--summary-budget",
        type=int,
        metavar="BYTES",
        help="cap memory_summary.md lower than its 10,000 bytes (a stress run: what it keeps "
        "when more is known than fits)",
    )
    ap.add_argument(
        "--meaning",
        choices=("default", "on", "off", "both"),
        default="default",
        help="the offline extractor's meaning model (offline.meaning): on, off, or both, "
        "which runs each corpus twice and prints the two side by side (off is the baseline)",
    )
    ap.add_argument(
        "--now-ms",
        type=int,
        metavar="MS",
        help='the one "now" every session date derives from (default: the current time); '
        "pinned, two runs write the same memory files, to compare code changes byte for byte",
    )
    args = ap.parse_args(argv)
    names = {"both": ["a", "b"], "all": list(corpora.NAMES)}.get(args.corpus, [args.corpus])
    # the one "now" every session date derives from
    now_ms = args.now_ms if args.now_ms is not None else int(time.time() * 1000)
    modes: list[str | None] = {
        "default": [None],
        "on": ["on"],
        "off": ["off"],
        "both": ["off", "on"],
    }[args.meaning]
    out: dict[str, Any] = {}
    for name in names:
        corpus = corpora.get(name)
        results: dict[str | None, dict[str, Any]] = {}
        for mode in modes:
            base = Path(tempfile.mkdtemp(prefix=f"memoryd-quality-{name}-{mode or 'default'}-"))
            try:
                t0 = time.perf_counter()
                result = run_corpus(corpus, base, now_ms, args.summary_budget, mode)
                result["seconds"] = time.perf_counter() - t0
            except BenchError as e:
                print(f"bench_quality: corpus {name}: {e}", file=sys.stderr)
                return 1
            finally:
                if not args.keep:
                    shutil.rmtree(base, ignore_errors=True)
            results[mode] = result
        for mode, result in results.items():
            if args.json:
                key = name if mode is None else f"{name}:{mode}"
                out[key] = {
                    "how": corpus.how,
                    "meaning": mode or "default",
                    "summary_budget": args.summary_budget,
                    "sessions": len(corpus.sessions),
                    "facts": len(corpus.facts),
                    "distractors": len(corpus.distractors),
                    "seconds": round(result["seconds"], 2),
                    "steps": {k: as_json(v) for k, v in result["steps"].items()},
                    "runs": {k: _runs(v) for k, v in result["runs"].items()},
                    "home": result["home"] if args.keep else None,
                }
            elif len(results) == 1:
                print(report(corpus, result))
                if mode is not None:
                    print(f"  (offline.meaning = {mode})")
                if args.summary_budget is not None:
                    print(f"  (memory_summary.md capped at {args.summary_budget:,} bytes)")
                kept = "; kept " + result["home"] if args.keep else ""
                print(f"  ({result['seconds']:.1f} s{kept})\n")
        if not args.json and len(results) == 2:
            print(compare(corpus, results["off"], results["on"]))
            secs = [f"{results[m]['seconds']:.1f} s" for m in ("off", "on")]
            homes = f"; kept {results['off']['home']}, {results['on']['home']}" if args.keep else ""
            print(f"  ({' / '.join(secs)}{homes})\n")
    if args.json:
        print(json.dumps({"targets": TARGETS, "corpora": out}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
