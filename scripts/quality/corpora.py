"""The corpora by name."""

from __future__ import annotations

from quality.model import Corpus

NAMES = ("a",)


def get(name: str) -> Corpus:
    if name == "a":
        from quality.corpus_a import CORPUS

        return CORPUS
    raise KeyError(f"no corpus {name!r}: choose one of {', '.join(NAMES)}")
