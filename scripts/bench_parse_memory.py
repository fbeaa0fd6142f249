"""How long phase 2 takes to read a raw memory holding a line that only almost is a section
heading: "References" and a long run of spaces before other text. Before the review of round
13g the heading pattern let three runs of spaces meet, and such a line took time cubic in its
spaces (about a minute for 2,000). Times ``parse_memory_text`` on an ordinary raw memory (the
baseline, measured in the same run) and on the same memory with that line added, best of
``--repeat`` each, and prints both and their ratio.

Usage::

    .venv/bin/python scripts/bench_parse_memory.py [--spaces 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

from memoryd.consolidate.offline.sources import parse_memory_text

RAW = "\n".join(
    [
        "---",
        "description: wire the webhook",
        "task: wire the webhook",
        "---",
        "",
        "### Task 1: wire the webhook",
        "",
        "Reusable knowledge:",
        *(f"- Run the tests with `make check` (note {n})." for n in range(200)),
        "",
        "References:",
        '- [1] user request: "wire the webhook"',
        "",
    ]
)


def _best(text: str, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        parse_memory_text(text)
        runs.append(time.perf_counter() - t0)
    return min(runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--spaces", type=int, default=2000, help="spaces after the heading word")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs each, best kept")
    args = ap.parse_args(argv)
    hostile = RAW.replace(
        "References:", f"References{' ' * args.spaces}(see the PR) below\n\nReferences:"
    )
    base, slow = _best(RAW, args.repeat), _best(hostile, args.repeat)
    print(
        f"raw memory of {len(RAW.splitlines())} lines: {base * 1000:.2f} ms (best of {args.repeat})"
    )
    print(
        f"with a near-heading line of {args.spaces} spaces: {slow * 1000:.2f} ms "
        f"({slow / base:.2f}×)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
