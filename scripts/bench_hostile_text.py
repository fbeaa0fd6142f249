#!/usr/bin/env python3
"""Time of the offline extractor and consolidator on hostile text, against ordinary prose of
the same length measured in the same run.

Every message or tool output is read up to ``ANALYSE_CHARS`` (20,000) characters, and the rule
readers are regular expressions: a shape of text that makes one of them backtrack (a long run
of spaces between two words, say) costs time quadratic in its length, and one pasted message
could hold a phase-1 worker for minutes. Phase 1: each shape is put where a user would put it
(a user message, the agent's answer, a tool's output, a command). Phase 2: the shape is put
inside the rules and facts of the stage-1 outputs the consolidator reads (a model's output may
hold anything), ``--phase2-chars`` long. Each at two lengths, N and 4N:

* ``x prose``: the time against ordinary prose of that length in the same place (the baseline);
* ``growth``: time at 4N over time at N: about 4 where the time is linear in the length,
  about 16 where it is quadratic (a time that did not grow reads below 4).

    python scripts/bench_hostile_text.py
    python scripts/bench_hostile_text.py --chars 2000 --shapes spaces,tabs --places user
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import tempfile  # noqa: E402

from support.items import assistant, request, result, run, user  # noqa: E402
from support.offline_memory import consolidate, session  # noqa: E402

from memoryd.extract.offline import extract_output  # noqa: E402
from memoryd.store.phase2 import ArtifactRow  # noqa: E402

PROSE = (
    "Please run the migrations before the integration tests, and use uv rather than pip for "
    "anything you install; the API base URL is read from WEBAPP_API_URL. "
)

SHAPES: dict[str, Callable[[int], str]] = {
    "prose": lambda n: (PROSE * (n // len(PROSE) + 1))[:n],
    # (each shape is at most n characters: a message is read up to its first 20,000)
    "spaces": lambda n: "use uv" + " " * (n - 13) + "please.",
    "tabs": lambda n: "use uv" + "\t" * (n - 13) + "please.",
    "nbsp": lambda n: "use uv" + "\u00a0" * (n - 13) + "please.",
    "spaced words": lambda n: "prefer uv" + (" " * 50 + "over") * (n // 54),
    "space lines": lambda n: "use uv\n" + (" " * 99 + "\n") * (n // 100 - 1),
    "commas": lambda n: "use uv, " + "x, " * (n // 3 - 3),
    "words": lambda n: " ".join(["word"] * (n // 5)),
    "dots": lambda n: "a. " * (n // 3),
    "open parens": lambda n: "(" * (n // 2) + "use uv",
    "backticks": lambda n: "`" * n,
    "dashes": lambda n: "x - " * (n // 4),
    "one word": lambda n: "a" * n,
    "instead of": lambda n: "use x instead of " * (n // 17),
    "json": lambda n: ("[" + ",".join(f'{{"k": "v{i}", "n": {i}}}' for i in range(n)))[:n],
}

PLACES: dict[str, Callable[[str], list[dict[str, object]]]] = {
    "user": lambda t: [user(t)],
    "assistant": lambda t: [user("fix the build"), assistant(t)],
    "tool output": lambda t: [user("fix the build"), run("c1", "pytest -q"), result("c1", 1, t)],
    "command": lambda t: [
        user("fix the build"),
        run("c1", "pytest " + t[:2000]),
        result("c1", 1, "E   ImportError: x"),
    ],
}


def seconds(items: list[dict[str, object]], repeat: int) -> float:
    req = request(items)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        extract_output(req)
        best = min(best, time.perf_counter() - t0)
    return best


# Stage-1 outputs for phase 2: three projects, each with rules, a fix and a fact.
_SESSIONS = [
    ("/home/u/alpha", "Always use uv instead of pip here. Run the tests with `make check`."),
    (
        "/home/u/beta",
        "Never push to main directly, open a draft PR instead; prefer ruff over black.",
    ),
    ("/home/u/gamma", "Keep commit messages short and in the imperative; use uv rather than pip."),
]


def _rows() -> list[ArtifactRow]:
    return [
        session(i + 1, cwd, i, [user(text), run("c1", "make check"), result("c1", 0, "ok")])
        for i, (cwd, text) in enumerate(_SESSIONS)
    ]


_RULE_AT = "-> in similar future tasks, "


def _padded(row: ArtifactRow, shape: str) -> ArtifactRow:
    """``row`` with ``shape`` inside each of its bullets: after the first word of a rule's
    statement, else at the space nearest the bullet's middle."""
    inside = " " + shape.replace("\n", " ") + " "

    def pad_line(ln: str) -> str:
        if not ln.startswith("- "):
            return ln
        at = ln.find(_RULE_AT)
        at = ln.find(" ", at + len(_RULE_AT)) if at >= 0 else ln.find(" ", len(ln) // 2)
        return ln if at < 0 else ln[:at] + inside + ln[at + 1 :]

    def pad(text: str) -> str:
        return "\n".join(pad_line(ln) for ln in text.split("\n"))

    return replace(row, rollout_summary=pad(row.rollout_summary), raw_memory=pad(row.raw_memory))


def consolidation_seconds(rows: list[ArtifactRow], shape: str, repeat: int) -> float:
    padded = [_padded(r, shape) for r in rows]
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="memoryd-bench-hostile-") as tmp:
            t0 = time.perf_counter()
            consolidate(Path(tmp), padded)
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chars", type=int, default=5000, help="N (default 5,000; 4N is 20,000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of (default 3)")
    ap.add_argument("--shapes", default="", help="comma-separated (default: all)")
    ap.add_argument("--places", default="", help="comma-separated (default: all)")
    ap.add_argument(
        "--phase2-chars", type=int, default=1000, help="N in phase 2 (default 1,000; per bullet)"
    )
    ap.add_argument("--phase", choices=("1", "2", "both"), default="both")
    args = ap.parse_args()
    shapes = [s for s in SHAPES if not args.shapes or s in args.shapes.split(",")]
    places = [p for p in PLACES if not args.places or p in args.places.split(",")]
    n, big = args.chars, 4 * args.chars
    worst = 0.0
    if args.phase != "2":
        print(f"phase 1: N = {n:,} characters, 4N = {big:,}; best of {args.repeat}")
        print(f"{'place':12} {'shape':13} {'N s':>8} {'4N s':>8} {'x prose':>8} {'growth':>7}")
    for place in places if args.phase != "2" else ():
        base = seconds(PLACES[place](SHAPES["prose"](big)), args.repeat)
        for shape in shapes:
            small = seconds(PLACES[place](SHAPES[shape](n)), args.repeat)
            large = seconds(PLACES[place](SHAPES[shape](big)), args.repeat)
            worst = max(worst, large / base)
            print(
                f"{place:12} {shape:13} {small:8.3f} {large:8.3f} {large / base:7.2f}x "
                f"{large / small:6.1f}x",
                flush=True,
            )
    if args.phase != "1":
        rows = _rows()
        n, big = args.phase2_chars, 4 * args.phase2_chars
        print(f"phase 2: N = {n:,} characters in every bullet, 4N = {big:,}; best of {args.repeat}")
        print(f"{'place':12} {'shape':13} {'N s':>8} {'4N s':>8} {'x prose':>8} {'growth':>7}")
        base = consolidation_seconds(rows, SHAPES["prose"](big), args.repeat)
        for shape in shapes:
            small = consolidation_seconds(rows, SHAPES[shape](n), args.repeat)
            large = consolidation_seconds(rows, SHAPES[shape](big), args.repeat)
            worst = max(worst, large / base)
            print(
                f"{'stage-1 out':12} {shape:13} {small:8.3f} {large:8.3f} {large / base:7.2f}x "
                f"{large / small:6.1f}x",
                flush=True,
            )
    print(f"worst shape at 4N: {worst:.2f}x ordinary prose of the same length and place")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
