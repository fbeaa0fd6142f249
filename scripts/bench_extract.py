#!/usr/bin/env python3
"""Time of the offline extractor on one large rollout, against reading it in the same run.

A synthetic session of T requests, each with C commands that print L lines of settings and
numbers (a busy build log) and a few answers that name settings, ports and long numbers: the
shape that makes phase 1 compare every sentence with what the session's commands printed.
Printed: the time to read the rollout's items (``parse_items``, the baseline: every byte is
looked at once), the time of the whole offline extraction (``extract_output``) and their
ratio, best of N runs each.

    python scripts/bench_extract.py                 # T=30, C=12, L=700 (about 10 MB)
    python scripts/bench_extract.py -t 10 -c 8 -l 200
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.items import assistant, request, result, run, user  # noqa: E402

from memoryd.extract.offline import extract_output, parse_items  # noqa: E402


def session(t: int, c: int, lines: int) -> list[dict[str, object]]:
    rng = random.Random(7)
    items: list[dict[str, object]] = []
    for i in range(t):
        items.append(user(f"Request {i}: fix the build of SERVICE_{i} and say which port it uses"))
        for k in range(c):
            out = [
                f"step {n} value={rng.randint(10**5, 10**7)} KEY_{n % 50}={rng.randint(1, 99999)}"
                for n in range(lines)
            ]
            items.append(run(f"c{i}_{k}", f"make build-{k} PORT={8000 + k}"))
            items.append(result(f"c{i}_{k}", 1 if k % 3 == 0 else 0, "\n".join(out)))
        for a in range(6):
            items.append(
                assistant(
                    f"SERVICE_{i} reads KEY_{a}={rng.randint(1, 99999)} and listens on port "
                    f"{8000 + a}; the value {rng.randint(10**5, 10**7)} comes from "
                    f"`config/app_{a}.toml`. It uses DB_URL_{a} too."
                )
            )
    return items


def best(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-t", type=int, default=30, help="requests (default 30)")
    ap.add_argument("-c", type=int, default=12, help="commands per request (default 12)")
    ap.add_argument("-l", type=int, default=700, help="lines each command prints (default 700)")
    ap.add_argument("-n", type=int, default=3, help="runs of each, best kept (default 3)")
    args = ap.parse_args()
    req = request(session(args.t, args.c, args.l))
    read = best(lambda: parse_items(req.rollout_contents), args.n)
    whole = best(lambda: extract_output(req), args.n)
    print(f"rollout: {len(req.rollout_contents) / 1e6:.1f} MB, {args.t} requests")
    print(f"read the items (baseline): {read:.3f} s")
    print(f"offline extraction:        {whole:.3f} s   ratio {whole / read:.1f}x the read")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
