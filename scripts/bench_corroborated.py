"""What rule candidates cost offline consolidation (issue 13, round 13g in docs/quality.md).

Times ``consolidate_root`` on a memory root (one a ``bench_quality.py --keep`` run left, e.g.
``<kept>/state/memories``) as it is and on a copy whose raw memories have their rule-candidate
sections taken out (the baseline, measured in the same run: consolidation as it was before
candidates existed), interleaved, best of ``--repeat`` each, and prints both and their ratio,
with how many candidates the root holds.

Usage::

    .venv/bin/python scripts/bench_quality.py --corpus s --meaning on --keep
    .venv/bin/python scripts/bench_corroborated.py /tmp/memoryd-quality-s-on-…/state/memories
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path

from memoryd.consolidate.offline import consolidate_root
from memoryd.consolidate.offline.sources import read_sources
from memoryd.extract.offline.render import CANDIDATES_HEADING
from memoryd.layout import RAW_MEMORIES_FILE, ROLLOUT_SUMMARIES_DIR

# a candidate section: its heading and its bullets, up to the blank line after them
_SECTION = re.compile(rf"^{re.escape(CANDIDATES_HEADING)}\n(?:- .*\n)*\n?", re.M)


def _once(root: Path) -> float:
    t0 = time.perf_counter()
    consolidate_root(root, None)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("root", type=Path, help="a memory root (holding raw_memories.md)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs each, best kept")
    args = ap.parse_args(argv)
    if not (args.root / RAW_MEMORIES_FILE).is_file():
        print(f"bench_corroborated: no {RAW_MEMORIES_FILE} in {args.root}: pass a memory root")
        return 2
    raw = (args.root / RAW_MEMORIES_FILE).read_text("utf-8")
    n = sum(len(t.candidates) for s in read_sources(args.root) for t in s.tasks)
    with tempfile.TemporaryDirectory(prefix="memoryd-bench-corroborated-") as tmp:
        with_c, without = Path(tmp, "with"), Path(tmp, "without")
        for dest in (with_c, without):
            shutil.copytree(args.root / ROLLOUT_SUMMARIES_DIR, dest / ROLLOUT_SUMMARIES_DIR)
        (with_c / RAW_MEMORIES_FILE).write_text(raw, "utf-8")
        (without / RAW_MEMORIES_FILE).write_text(_SECTION.sub("", raw), "utf-8")
        # interleaved, so a load that comes and goes on a shared machine hits both alike
        runs = [(_once(without), _once(with_c)) for _ in range(args.repeat)]
        base, cand = min(b for b, _ in runs), min(c for _, c in runs)
    print(f"{n} rule candidates in {args.root}")
    print(f"consolidation without candidates: {base * 1000:.1f} ms (best of {args.repeat})")
    print(f"consolidation with candidates:    {cand * 1000:.1f} ms ({cand / base:.2f}×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
