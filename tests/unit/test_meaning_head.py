"""The shipped meaning head (memoryd/extract/offline/meaning_head.json) and its trainer's
refusal of the held-out corpora: the integrator's measurement on them stays one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import train_meaning  # noqa: E402
from quality import corpora  # noqa: E402

from memoryd.extract.offline.meaning import CLASSES, shipped_head  # noqa: E402


def test_the_shipped_head_was_trained_on_tuning_corpora_only() -> None:
    head = shipped_head()
    # R became a tuning corpus after the head was trained: a subset, never a held-out one
    assert set(head.trained_on) <= set(corpora.TUNING)
    assert head.trained_on == ("a", "b", "c", "d", "e", "f", "g", "h", "k")
    assert not set(head.trained_on) & set(corpora.HELD_OUT)
    assert set(corpora.HELD_OUT) >= set("ijlmnopqu")
    assert head.labeller.startswith("labels-")
    assert head.classes == CLASSES
    assert len(head.weights) == 385 and all(len(row) == len(CLASSES) for row in head.weights)


@pytest.mark.parametrize("names", [["a", "i"], ["j"], ["l", "m"]])
def test_training_on_a_held_out_corpus_is_refused(names: list[str]) -> None:
    with pytest.raises(train_meaning.Refused, match="held out"):
        train_meaning.check_names(names)


def test_the_trainer_refuses_a_held_out_corpus_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert train_meaning.main(["--corpus", "a", "--corpus", "m", "--out", "/dev/null"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "train_meaning: corpus m is held out "
        "(I, J, L, M, N, O, P, Q, U are measured, never tuned or trained on)"
    )
