"""How many of the labelled bank's sentences phase 1 would keep as rule candidates (issue 13,
round 13g in docs/quality.md): a measure across the bank's 17 hand-written voices, not a corpus.

Each user sentence of the bank (``quality.bank``; the two agent voices left out: a candidate is
the user's) goes through the filter ``meaning.admissible`` (not a question, 5–60 words, no value
of one run, no secret, not a request about the thing at hand), then the shipped head's P(rule).
Printed per threshold: how many ``rule`` sentences reach it, how many ``other`` (hard negatives
apart), ``fact`` and ``fix``; at the shipped ``RULE_THRESHOLD`` these are the rules the model
proposes itself, between ``CANDIDATE_THRESHOLD`` and it the candidates. Reads no corpus.

Usage::

    .venv/bin/python scripts/probe_candidates.py
    .venv/bin/python scripts/probe_candidates.py --show 0.5   # the sentences kept at 0.5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality import bank  # noqa: E402

from memoryd.extract.offline.encoder import MiniLM  # noqa: E402
from memoryd.extract.offline.meaning import (  # noqa: E402
    CANDIDATE_THRESHOLD,
    RULE_THRESHOLD,
    Scorer,
    admissible,
    shipped_head,
)
from memoryd.textutil import one_line  # noqa: E402

AGENT_VOICES = ("agent_conclusions", "agent_narration")
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, RULE_THRESHOLD)


def _kind(e: bank.Entry) -> str:
    return "hard" if e.hard else e.label


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--show", type=float, metavar="P", help="list the sentences kept at P(rule) ≥ P"
    )
    args = ap.parse_args(argv)
    users = [e for e in bank.entries() if e.voice not in AGENT_VOICES]
    kept = [e for e in users if admissible(one_line(e.text))]
    scorer = Scorer(MiniLM(), shipped_head())
    p_rule = [s["rule"] for s in scorer.scores([one_line(e.text) for e in kept])]
    kinds = ("rule", "other", "hard", "fact", "fix")
    total = {k: sum(_kind(e) == k for e in users) for k in kinds}
    passed = {k: sum(_kind(e) == k for e in kept) for k in kinds}
    print(f"bank {bank.VERSION}: {len(users)} user sentences, {len(kept)} through the filter")
    print("| P(rule) ≥ | " + " | ".join(kinds) + " |")
    print("| --- |" + " --- |" * len(kinds))
    print("| (all) | " + " | ".join(f"{total[k]}" for k in kinds) + " |")
    print("| (filter) | " + " | ".join(f"{passed[k]}" for k in kinds) + " |")
    for t in sorted({*THRESHOLDS, CANDIDATE_THRESHOLD}):
        n = {
            k: sum(_kind(e) == k and p >= t for e, p in zip(kept, p_rule, strict=True))
            for k in kinds
        }
        mark = " (shipped rule)" if t == RULE_THRESHOLD else ""
        mark += " (candidate)" if t == CANDIDATE_THRESHOLD else ""
        print(f"| {t:.2f}{mark} | " + " | ".join(f"{n[k]}" for k in kinds) + " |")
    if args.show is not None:
        for e, p in sorted(zip(kept, p_rule, strict=True), key=lambda x: -x[1]):
            if p >= args.show:
                print(f"{p:.3f} {_kind(e):5} {e.voice:18} {e.text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
