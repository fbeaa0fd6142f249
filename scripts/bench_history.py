#!/usr/bin/env python3
"""Benchmark the run history's cost per consolidation against the baseline reset it follows.

Builds a memory root of N files (``rollout_summaries/*.md`` of ~2 KB and a ~300 KB
``MEMORY.md``) in a temp dir, then measures, in one run:

* the first history commit (every object is new to the history) against building the
  root's baseline (``ensure_baseline``), which reads and hashes the same files;
* a later history commit after ~5 files changed, against the ``reset_baseline`` that phase 2
  runs just before it (the history commit should be a small fraction of it);
* for reference, the first commit written the naive way, one fsynced loose object each
  through libgit2, which is what the history's single pack replaces;
* a run another host published that this host missed, recorded from its files
  (``record_files``, as a host catching up does for each missed tree) after ~5 files
  changed, against the baseline reset and the history commit of a run of its own;
* ``list_runs`` and ``run_diff`` for that later run;
* the purge after a ``memoryd forget`` (``history.purge``: rewrite the runs that consolidated
  the thread, repack, delete the old packs) of a history of R more runs that all selected it,
  against the baseline reset of the consolidation it follows.

    python scripts/bench_history.py           # 1,000 files, 20 runs to purge
    python scripts/bench_history.py -n 3000 -r 100
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pygit2
import structlog

from memoryd.workspace import history
from memoryd.workspace.baseline import baseline_files, ensure_baseline, reset_baseline

T = TypeVar("T")


def facts(run_id: str, selection: list[tuple[str, int]] | None = None) -> history.RunFacts:
    at = int(time.time() * 1000)
    return history.RunFacts(run_id, "consolidation", at, 1, 0, 0, selection or [])


def timed(fn: Callable[..., T], *args: object) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def loose_copy(root: Path, baseline: str, directory: Path) -> None:
    """The naive history write: libgit2 writes each object loose, fsynced."""
    pygit2.settings.enable_fsync_gitdir(True)
    dest = pygit2.init_repository(str(directory), bare=True)
    source = pygit2.Repository(str(root / ".git"))
    stack = [source[baseline].peel(pygit2.Tree)]
    while stack:
        tree = stack.pop()
        dest.odb.write(pygit2.enums.ObjectType.TREE, tree.read_raw())
        for entry in tree:
            obj = source[entry.id]
            if isinstance(obj, pygit2.Tree):
                stack.append(obj)
            else:
                dest.odb.write(pygit2.enums.ObjectType.BLOB, obj.read_raw())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--files", type=int, default=1000)
    parser.add_argument("-r", "--runs", type=int, default=20, help="runs for the purge")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    base = Path(tempfile.mkdtemp(prefix="memoryd-bench-history-"))
    root = base / "root"
    summaries = root / "rollout_summaries"
    summaries.mkdir(parents=True)
    for i in range(args.files):
        (summaries / f"s{i:05d}.md").write_bytes(os.urandom(1024).hex().encode())
    (root / "MEMORY.md").write_text("- a remembered fact\n" * 15_000)
    (root / "memory_summary.md").write_text("v1\n")

    t_base, baseline = timed(ensure_baseline, root)
    t_first, _ = timed(history.record, history.history_dir(base), root, baseline, facts("r1"))
    t_loose, _ = timed(loose_copy, root, baseline, base / "loose")

    for i in range(5):
        (summaries / f"s{i:05d}.md").write_text(f"changed {i}\n")
    (root / "MEMORY.md").write_text("- a changed fact\n" * 15_000)
    t_reset, baseline = timed(reset_baseline, root)
    t_next, _ = timed(history.record, history.history_dir(base), root, baseline, facts("r2"))
    t_list, _ = timed(history.list_runs, base)
    t_diff, _ = timed(history.run_diff, base, "r2")

    published = baseline_files(root)
    for i in range(5, 10):
        published[f"rollout_summaries/s{i:05d}.md"] = f"changed elsewhere {i}\n".encode()
    published["MEMORY.md"] = b"- a fact from another host\n" * 15_000
    t_missed, _ = timed(history.record_files, history.history_dir(base), published, facts("m1"))

    # R runs that each consolidated the thread to forget (its rollout summary changes every
    # run, as an active session's would) beside one that stays.
    gone = summaries / "gone.md"
    for i in range(args.runs):
        gone.write_text(f"thread_id: t-gone\n\nrun {i}: " + "x" * 2000 + "\n")
        (root / "MEMORY.md").write_text(f"- fact of run {i}\n" * 15_000)
        baseline = reset_baseline(root)
        history.record(
            history.history_dir(base), root, baseline,
            facts(f"p{i}", [("t-gone", i), ("t-kept", i)]),
        )  # fmt: skip
    gone.unlink()
    t_reset2, baseline = timed(reset_baseline, root)
    history.record(history.history_dir(base), root, baseline, facts("after", [("t-kept", 0)]))
    t_purge, rewritten = timed(history.purge, history.history_dir(base), ["t-gone"])

    print(f"files: {args.files}")
    print(
        f"first commit:  {t_first:7.3f} s  vs baseline build {t_base:.3f} s  "
        f"(ratio {t_first / t_base:.2f})"
    )
    print(f"  naive loose objects: {t_loose:7.3f} s  (pack is {t_loose / t_first:.1f}x faster)")
    print(
        f"later commit:  {t_next:7.3f} s  vs baseline reset {t_reset:.3f} s  "
        f"(ratio {t_next / t_reset:.2f})"
    )
    print(
        f"missed run:    {t_missed:7.3f} s  from its files, vs baseline reset {t_reset:.3f} s "
        f"(ratio {t_missed / t_reset:.2f}); a run's own commit: {t_next:.3f} s"
    )
    print(f"list_runs:     {t_list:7.4f} s")
    print(f"run_diff:      {t_diff:7.3f} s")
    print(
        f"purge:         {t_purge:7.3f} s  for {rewritten} of {args.runs + 4} runs rewritten, "
        f"vs baseline reset {t_reset2:.3f} s (ratio {t_purge / t_reset2:.2f})"
    )


if __name__ == "__main__":
    main()
