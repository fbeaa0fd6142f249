#!/usr/bin/env python3
"""What the meaning model costs phase 1 (round 9, docs/quality.md): time per rollout and peak
RSS of the offline extraction with ``offline.meaning`` off and on, measured in the same run.

The rollouts are the tuning corpora's sessions (A–H, K), written as Codex 0.169 rollout
files and read back by ``render_rollout`` as phase 1 reads them, then extracted the way the
daemon's ``OfflineExtractor`` does (one rollout at a time in the calling thread here):

* ``off`` — the rules alone (the baseline);
* ``on, loaded per rollout`` — the model loaded for each rollout and dropped after it (what a
  daemon that sees one idle rollout at a time pays);
* ``on, kept loaded`` — the model loaded once for the whole pass (a busy phase-1 pass, where
  extractions overlap).

Each mode runs in a child process of its own, so that its peak RSS is its own; the model
load is counted in "loaded per rollout" only.

    .venv/bin/python scripts/bench_meaning.py           # every tuning corpus, best of 2
    .venv/bin/python scripts/bench_meaning.py --corpus h --rounds 3
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality import corpora  # noqa: E402
from quality.render import write_session  # noqa: E402

from memoryd.extract.base import ExtractionRequest  # noqa: E402
from memoryd.extract.offline import OfflineExtractor  # noqa: E402
from memoryd.extract.offline.meaning import Meaning  # noqa: E402
from memoryd.rollouts.render import render_rollout  # noqa: E402

MODES = ("off", "per-rollout", "kept")


def requests(names: list[str], base: Path) -> list[ExtractionRequest]:
    out: list[ExtractionRequest] = []
    for name in names:
        corpus = corpora.get(name)
        for s in corpus.sessions:
            project = corpus.project(s.project)
            tid, path = write_session(base, name, s, project, 1_790_000_000_000)
            rendered = render_rollout(path)
            for i, chunk in enumerate(rendered.chunks):
                out.append(
                    ExtractionRequest(
                        thread_id=tid,
                        rollout_path=str(path),
                        cwd=project.cwd,
                        git_branch=project.branch,
                        rollout_contents=chunk,
                        chunk_index=i,
                        chunk_count=len(rendered.chunks),
                    )
                )
    return out


def child(mode: str, names: list[str], rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="memoryd-bench-meaning-") as tmp:
        reqs = requests(names, Path(tmp))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    meaning = None if mode == "off" else Meaning()
    extractor = OfflineExtractor(meaning)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        if mode == "kept" and meaning is not None:
            with meaning.using():  # one user for the whole pass: the model stays loaded
                for r in reqs:
                    extractor._extract(r)
        else:
            for r in reqs:
                extractor._extract(r)
        best = min(best, time.perf_counter() - t0)
    return {
        "rollouts": len(reqs),
        "seconds": best,
        "ms_per_rollout": 1000 * best / len(reqs),
        "loads": float(meaning.loads if meaning else 0),
        "rss_before_mib": rss_before,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", action="append", choices=corpora.TUNING, help="default: every one")
    ap.add_argument("--rounds", type=int, default=2, help="passes per mode, best kept")
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    names = args.corpus or list(corpora.TUNING)
    if args.child:
        print(json.dumps(child(args.child, names, args.rounds)))
        return 0
    figures: dict[str, dict[str, float]] = {}
    for mode in MODES:
        cmd = [sys.executable, __file__, "--child", mode, "--rounds", str(args.rounds)]
        cmd += [a for n in names for a in ("--corpus", n)]
        p = subprocess.run(cmd, capture_output=True, text=True, check=True)
        figures[mode] = json.loads(p.stdout.strip().splitlines()[-1])
    base = figures["off"]
    print(f"{int(base['rollouts'])} rollouts of corpora {', '.join(names)}; best of {args.rounds}")
    print(f"{'mode':<26}{'ms/rollout':>11}{'ratio':>8}{'peak RSS MiB':>14}{'ratio':>8}{'loads':>7}")
    labels = {
        "off": "off (rules alone)",
        "per-rollout": "on, loaded per rollout",
        "kept": "on, kept loaded",
    }
    for mode in MODES:
        f = figures[mode]
        print(
            f"{labels[mode]:<26}{f['ms_per_rollout']:>11.1f}"
            f"{f['ms_per_rollout'] / base['ms_per_rollout']:>7.1f}x"
            f"{f['peak_rss_mib']:>14.0f}{f['peak_rss_mib'] / base['peak_rss_mib']:>7.1f}x"
            f"{int(f['loads']):>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
