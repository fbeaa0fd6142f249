#!/usr/bin/env python3
"""Benchmark phase 2's workspace diff against the git command line on the same tree.

Builds a memory root shaped like a real one (N files: ``rollout_summaries/*.md`` of 1-2 KB, a ~1 MB
``raw_memories.md``, ``MEMORY.md``, ``memory_summary.md`` and a few skills) in a temp dir, commits
it as the baseline with ``memoryd.workspace.baseline.ensure_baseline``, then modifies ~5% of the
files, adds and deletes a few, and prints, from one run:

* ``diff_against_baseline`` + ``WorkspaceDiff.render`` (what phase 2 does before the agent);
* ``git status --porcelain`` + ``git diff`` on the same tree, with git's index refreshed first
  so git runs on its stat cache (its best case); the git command line is used only here.
  ``git diff`` leaves out the content of added (untracked) files, which the diff file shows,
  so git does a little less work than memoryd here;
* their ratio (target <= 1.0: no slower than the git command line), the two timed in turns;
  the render caches redacted texts by blob id, so the timed runs after the first find every
  side cached: the ratio is also given with the cache cleared before each run (cold) and
  with only the old sides cached (steady: a daemon's next run, whose baseline is the last
  run's new side);
* for scale, the time to build a baseline (ensure on a root without ``.git``) and to reset it;
* a rewrite of a file whose lines repeat (a regenerated ``MEMORY.md``, ~40 KB): diff + render
  against ``git diff --no-index`` of the same two texts, in time and in diff lines (what the
  phase-2 model reads and pays for);
* select + sync + diff as phase 2 runs them (target <= 2 s for 1,000 inputs): N stage-1
  outputs in a real state DB, already synced and baselined, 5% of them refreshed since.

Each timing is the best of ``--repeat`` runs (page cache warm, one warm-up run first).

    python scripts/bench_phase2.py            # 1,000 files
    python scripts/bench_phase2.py -n 5000
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import structlog

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from memoryd.workspace.baseline import (  # noqa: E402
    diff_against_baseline,
    ensure_baseline,
    reset_baseline,
)
from memoryd.workspace.diff import WorkspaceDiff, clear_redaction_cache  # noqa: E402
from memoryd.workspace.statcache import RACY_MARGIN_NS  # noqa: E402  (waited out below)

RAW_MEMORIES_BYTES = 1_000_000
T = TypeVar("T")
_WORDS = (
    "the user asked to fix failing tests in the indexer after a refactor of the parser and "
    "prefers small commits with messages that say why; ran pytest -q and ruff check; "
    "cwd /home/dev/project on branch main; error was a KeyError in load_config"
).split()

# The git command line, isolated from the user's and the system's configuration.
GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def _text(rng: random.Random, nbytes: int) -> str:
    lines: list[str] = []
    size = 0
    while size < nbytes:
        line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 16)))
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


def generate(root: Path, n: int, seed: int = 1) -> tuple[int, int]:
    """Write a memory root of ``n`` files. Returns (files, total bytes)."""
    rng = random.Random(seed)
    (root / "rollout_summaries").mkdir(parents=True)
    (root / "skills" / "run-tests").mkdir(parents=True)
    fixed = {
        "MEMORY.md": _text(rng, 20_000),
        "memory_summary.md": "v1\n" + _text(rng, 4_000),
        "skills/run-tests/SKILL.md": _text(rng, 2_000),
    }
    raw = ["# Raw Memories\n\n"]
    size = 0
    i = 0
    while size < RAW_MEMORIES_BYTES:
        block = f"## Thread `{i:08d}`\nupdated_at: 2026-11-22T03:12:03+00:00\n\n{_text(rng, 900)}\n"
        raw.append(block)
        size += len(block)
        i += 1
    fixed["raw_memories.md"] = "".join(raw)
    total = 0
    for rel, text in fixed.items():
        (root / rel).write_text(text)
        total += len(text.encode())
    for k in range(n - len(fixed)):
        body = _text(rng, rng.randint(1000, 2000))
        text = f"thread_id: {k:08d}\ncwd: /home/dev/project\n\n{body}"
        (root / "rollout_summaries" / f"2026-11-22T03-12-{k:05d}-abcd.md").write_text(text)
        total += len(text.encode())
    return n, total


def mutate(root: Path, seed: int = 2) -> dict[str, int]:
    """Modify ~5% of the summaries and a few places in raw_memories.md, add and delete a
    few summaries, flip one executable bit. Returns counts."""
    rng = random.Random(seed)
    summaries = sorted((root / "rollout_summaries").iterdir())
    picked = rng.sample(summaries, max(1, len(summaries) // 20))
    modified = picked[: len(picked) - 2 * (len(picked) // 5)]
    deleted = picked[len(modified) : len(modified) + len(picked) // 5]
    for p in modified:
        lines = p.read_text().splitlines(keepends=True)
        lines.insert(rng.randrange(len(lines)), _text(rng, 200))
        p.write_text("".join(lines))
    for p in deleted:
        p.unlink()
    added = len(picked) // 5
    for k in range(added):
        (root / "rollout_summaries" / f"2026-11-23T00-00-{k:05d}-new.md").write_text(
            _text(rng, 1500)
        )
    raw = root / "raw_memories.md"
    lines = raw.read_text().splitlines(keepends=True)
    for _ in range(5):
        lines.insert(rng.randrange(len(lines)), _text(rng, 900))
    raw.write_text("".join(lines))
    os.chmod(root / "skills" / "run-tests" / "SKILL.md", 0o755)
    return {"modified": len(modified) + 2, "added": added, "deleted": len(deleted)}


def _best_interleaved(fns: dict[str, Callable[[], T]], repeat: int) -> dict[str, tuple[float, T]]:
    """The fastest of ``repeat`` runs of each function (after one untimed warm-up each) and
    its result. The functions take turns, so a burst of load on the machine falls on all of
    them rather than on whichever was being timed then."""
    best = {name: float("inf") for name in fns}
    results = {name: fn() for name, fn in fns.items()}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            results[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: (best[name], results[name]) for name in fns}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env=GIT_ENV
    ).stdout


def bench_diff(root: Path, repeat: int = 5) -> dict[str, float]:
    """Time diff_against_baseline + render and ``git status --porcelain`` + ``git diff`` on
    the same (already committed and modified) root; best of ``repeat`` runs each."""

    def diff_only() -> tuple[int, int]:
        return len(diff_against_baseline(root).changes), 0

    def ours() -> tuple[int, int]:
        diff = diff_against_baseline(root)
        text = diff.render()
        return len(diff.changes), len(text.encode())

    def cold() -> tuple[int, int]:
        clear_redaction_cache()  # a first run: every side of every change is redacted
        return ours()

    def steady() -> tuple[int, int]:
        # A daemon's next run: the old sides (the baseline, last run's new sides) are cached,
        # the new sides are redacted afresh (a blob id unknown to the render is not cached).
        diff = diff_against_baseline(root)
        fresh = [dataclasses.replace(c, new_oid=None) for c in diff.changes]
        text = WorkspaceDiff(diff.baseline, tuple(fresh), diff.too_big).render()
        return len(diff.changes), len(text.encode())

    def cli() -> tuple[int, int]:
        status = _git(root, "status", "--porcelain")
        diff = _git(root, "diff")
        return len(status.splitlines()), len(diff.encode())

    # git's first run after our baseline re-hashes every file to fill its index stat cache;
    # refresh once so the timed runs see git at its fastest.
    _git(root, "update-index", "-q", "--refresh")
    timed = _best_interleaved(
        {"diff": diff_only, "ours": ours, "cold": cold, "steady": steady, "git": cli}, repeat
    )
    only_diff_s = timed["diff"][0]
    diff_s, (changes, diff_bytes) = timed["ours"]
    git_s, (git_changes, git_bytes) = timed["git"]
    diff = diff_against_baseline(root)
    return {
        "diff_render_seconds": diff_s,
        "diff_only_seconds": only_diff_s,
        "changes": changes,
        "diff_file_bytes": diff_bytes,
        "git_seconds": git_s,
        "git_changes": git_changes,
        "git_diff_bytes": git_bytes,
        "ratio": diff_s / git_s,
        "cold_seconds": timed["cold"][0],
        "cold_ratio": timed["cold"][0] / git_s,
        "steady_seconds": timed["steady"][0],
        "steady_ratio": timed["steady"][0] / git_s,
        "status_added": len(diff.added),
        "status_modified": len(diff.modified),
        "status_deleted": len(diff.deleted),
    }


def _repetitive(seed: int, groups: int = 400) -> str:
    """A MEMORY.md-like text: the same headings and bullets over and over."""
    rng = random.Random(seed)
    bullets = ["- uses uv [Task 1]", "- prefers small commits [Task 1]", "- cwd /home/dev/project"]
    out: list[str] = []
    for g in range(groups):
        out += [f"# Task Group: g{g % 5}", "", "## Task 1: tests", "", "- ran pytest -q [Task 1]"]
        out += ["- ran ruff check [Task 1]", ""]
        out += [rng.choice(bullets) for _ in range(rng.randint(1, 4))]
        out.append("")
    return "\n".join(out) + "\n"


def bench_rewrite(tmp: Path, repeat: int = 5) -> dict[str, float]:
    """Diff + render of one rewritten repetitive file against ``git diff --no-index``."""
    root = tmp / "rewrite"
    root.mkdir(mode=0o700)
    (root / "MEMORY.md").write_text(_repetitive(1))
    ensure_baseline(root)
    (root / "MEMORY.md").write_text(_repetitive(2))
    plain = tmp / "rewrite-git"
    plain.mkdir()
    (plain / "a").write_text(_repetitive(1))
    (plain / "b").write_text(_repetitive(2))

    def hunk_lines(text: str) -> int:
        return len(text[text.index("\n@@ ") + 1 :].splitlines())

    def ours() -> int:
        return hunk_lines(diff_against_baseline(root).render())

    def cli() -> int:
        p = subprocess.run(
            ["git", "diff", "--no-index", "--no-color", "a", "b"],
            cwd=plain,
            capture_output=True,
            text=True,
            env=GIT_ENV,
        )
        return hunk_lines(p.stdout)

    timed = _best_interleaved({"ours": ours, "git": cli}, repeat)
    return {
        "bytes": len(_repetitive(2).encode()),
        "ours_seconds": timed["ours"][0],
        "ours_lines": timed["ours"][1],
        "git_seconds": timed["git"][0],
        "git_lines": timed["git"][1],
    }


def bench_select_sync_diff(tmp: Path, n: int, seed: int = 3) -> dict[str, float]:
    """SPEC §4 steps 3, 4 and 6 as phase 2 runs them: ``n`` stage-1 outputs in a real state
    DB, a memory root already synced and baselined, then 5% of the outputs refreshed by
    phase 1; time select_inputs + sync_artifacts + diff (+ render) once more."""
    import anyio

    from memoryd.memroot.artifacts import sync_artifacts
    from memoryd.store import phase2 as store
    from memoryd.store.db import open_db

    rng = random.Random(seed)
    root = tmp / "synced"
    now = int(time.time())

    async def run() -> dict[str, float]:
        conn = await open_db(tmp / "state" / "memoryd.sqlite")
        try:
            threads, outputs = [], []
            for i in range(n):
                tid = f"0194f5a6-{i:04x}-7d3e-8f40-5a6b7c8d9e00"
                threads.append(
                    (
                        tid,
                        f"/r/{tid}.jsonl",
                        "cli",
                        f"/proj/p{i % 40}",
                        now * 1000,
                        now * 1000 - i,
                        "do it",
                    )
                )
                outputs.append((tid, now - i, _text(rng, 1200), _text(rng, 900), f"slug-{i}", now))
            await conn.executemany(
                "INSERT INTO threads (id, rollout_path, source, cwd, created_at, updated_at, "
                "preview) VALUES (?, ?, ?, ?, ?, ?, ?)",
                threads,
            )
            await conn.executemany(
                "INSERT INTO stage1_outputs (thread_id, source_updated_at, raw_memory, "
                "rollout_summary, rollout_slug, generated_at) VALUES (?, ?, ?, ?, ?, ?)",
                outputs,
            )
            await conn.commit()
            sel = await store.select_inputs(conn, limit=n, max_unused_days=30, now_s=now)
            sync_artifacts(root, list(sel.rows))
            time.sleep(RACY_MARGIN_NS / 1e9 + 0.1)
            ensure_baseline(root)
            for i in rng.sample(range(n), n // 20):
                await conn.execute(
                    "UPDATE stage1_outputs SET raw_memory = ?, source_updated_at = ? "
                    "WHERE thread_id = ?",
                    (_text(rng, 1200), now + 1, f"0194f5a6-{i:04x}-7d3e-8f40-5a6b7c8d9e00"),
                )
            await conn.commit()
            t0 = time.perf_counter()
            sel = await store.select_inputs(conn, limit=n, max_unused_days=30, now_s=now)
            t1 = time.perf_counter()
            synced = sync_artifacts(root, list(sel.rows))
            t2 = time.perf_counter()
            diff = diff_against_baseline(root)
            diff.render()
            t3 = time.perf_counter()
            return {
                "select": t1 - t0,
                "sync": t2 - t1,
                "diff": t3 - t2,
                "total": t3 - t0,
                "written": synced.written,
                "changed": len(diff.changes),
            }
        finally:
            await conn.close()

    return anyio.run(run)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="number of files (default 1000)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs, best kept (default 5)")
    ap.add_argument("--keep", action="store_true", help="keep the generated tree")
    args = ap.parse_args()
    # Keep memoryd's info lines (e.g. "baseline created") out of the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    tmp = Path(tempfile.mkdtemp(prefix="memoryd-bench-phase2-"))
    root = tmp / "memories"
    try:
        n, total = generate(root, args.n)
        # In real use the baseline is taken minutes after the files were written. Files
        # changed within a few seconds of being read are "racy" (the stat cache cannot
        # vouch for them) and are hashed on every diff, so let the racy window pass first.
        time.sleep(RACY_MARGIN_NS / 1e9 + 0.1)
        t0 = time.perf_counter()
        ensure_baseline(root)
        baseline_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ensure_baseline(root)
        ensure_s = time.perf_counter() - t0
        counts = mutate(root)
        r = bench_diff(root, args.repeat)

        w = 40
        print(f"files: {n:,}; bytes: {total / 1e6:,.1f} MB")
        print(
            f"changes: {r['changes']:.0f} (A {r['status_added']:.0f}, M {r['status_modified']:.0f},"
            f" D {r['status_deleted']:.0f}; made {counts}); git status lines: "
            f"{r['git_changes']:.0f}"
        )
        print(f"{'build baseline (no .git yet):':{w}}{baseline_s:8.3f} s")
        print(f"{'ensure_baseline (intact, verified):':{w}}{ensure_s:8.3f} s")
        print(f"{'diff_against_baseline alone:':{w}}{r['diff_only_seconds']:8.3f} s")
        print(
            f"{'diff_against_baseline + render:':{w}}{r['diff_render_seconds']:8.3f} s   "
            f"({r['diff_file_bytes'] / 1e3:,.1f} KB diff file)"
        )
        print(
            f"{'git status --porcelain + git diff:':{w}}{r['git_seconds']:8.3f} s   "
            f"({r['git_diff_bytes'] / 1e3:,.1f} KB diff)"
        )
        print(f"{'ratio (ours / git):':{w}}{r['ratio']:8.2f}   (target <= 1.0)")
        print(
            f"{'  redaction cache cold / steady:':{w}}{r['cold_ratio']:8.2f} / "
            f"{r['steady_ratio']:.2f}   ({r['cold_seconds']:.3f} s / {r['steady_seconds']:.3f} s;"
            " steady: old sides cached, new ones redacted)"
        )
        t0 = time.perf_counter()
        reset_baseline(root)
        reset_s = time.perf_counter() - t0
        print(f"{'reset_baseline:':{w}}{reset_s:8.3f} s")
        rw = bench_rewrite(tmp, args.repeat)
        print(
            f"{'rewrite of a repetitive file:':{w}}{rw['ours_seconds']:8.3f} s   "
            f"({rw['ours_lines']:,.0f} diff lines; {rw['bytes'] / 1e3:,.0f} KB file)"
        )
        print(
            f"{'git diff --no-index, same texts:':{w}}{rw['git_seconds']:8.3f} s   "
            f"({rw['git_lines']:,.0f} diff lines)"
        )
        print(
            f"{'rewrite ratio (ours / git):':{w}}{rw['ours_seconds'] / rw['git_seconds']:8.2f}"
            f"   lines {rw['ours_lines'] / rw['git_lines']:.2f}"
        )
        sr = bench_select_sync_diff(tmp, args.n)
        print(
            f"{'select + sync + diff (' + str(args.n) + ' inputs):':{w}}{sr['total']:8.3f} s"
            f"   (target <= 2 s): select {sr['select']:.3f} + sync {sr['sync']:.3f}"
            f" ({sr['written']:.0f} files rewritten) + diff and render {sr['diff']:.3f}"
            f" ({sr['changed']:.0f} changes)"
        )
        if args.keep:
            print(f"kept: {tmp}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
