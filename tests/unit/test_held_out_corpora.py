"""``scripts/quality/corpora.py`` is the one place that says which quality corpora are tuned on
and which are held out; the probes default to the tuning ones, train on them only, and refuse
a held-out corpus with one line unless told ``--held-out`` (the integrator's measurement)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import bench_meaning  # noqa: E402
import probe_meaning  # noqa: E402
from quality import corpora  # noqa: E402

REFUSAL = (
    "corpus m is held out (I, J, L, M, N, O, P, Q, U are measured, never tuned or trained on): "
    "pass --held-out for the integrator's measurement"
)


def test_tuning_and_held_out_split_every_corpus_in_two() -> None:
    assert not set(corpora.TUNING) & set(corpora.HELD_OUT)
    assert sorted(corpora.TUNING + corpora.HELD_OUT) == list(corpora.NAMES)
    assert corpora.HELD_OUT == ("i", "j", "l", "m", "n", "o", "p", "q", "u")
    assert "r" in corpora.TUNING  # held out for its first measurement, tuned on since round 12
    assert "t" in corpora.TUNING  # held out for its first measurement, tuned on since round 14


def test_the_probe_leaves_out_only_tuning_corpora_by_default() -> None:
    assert probe_meaning.tested_corpora([], [], held_out=False) == list(corpora.TUNING)
    assert probe_meaning.tested_corpora([], ["c"], held_out=False) == [
        n for n in corpora.TUNING if n != "c"
    ]


def test_the_probe_measures_the_held_out_corpora_only_when_told() -> None:
    assert probe_meaning.tested_corpora([], [], held_out=True) == list(corpora.HELD_OUT)
    assert probe_meaning.tested_corpora(["m", "a"], [], held_out=True) == ["a", "m"]
    with pytest.raises(corpora.HeldOut, match="held out"):
        probe_meaning.tested_corpora(["a", "m"], [], held_out=False)


@pytest.mark.parametrize("tested", ["a", "g", "m", "q"])
def test_the_probe_never_trains_on_a_held_out_corpus(tested: str) -> None:
    train = probe_meaning.training_corpora(tested, ["c"])
    assert not set(train) & set(corpora.HELD_OUT)
    assert set(train) == set(corpora.TUNING) - {tested, "c"}


def test_bench_meaning_offers_only_the_tuning_corpora(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_meaning.main(["--corpus", "m"])
    assert "invalid choice: 'm'" in capsys.readouterr().err


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    # a real process: bench_minilm pins the BLAS threads in os.environ when imported
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("script", ["probe_meaning.py", "bench_minilm.py"])
def test_a_probe_refuses_a_held_out_corpus_with_one_line(script: str) -> None:
    p = _script(script, "--corpus", "a", "--corpus", "m")
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr == f"{script.removesuffix('.py')}: {REFUSAL}\n"


@pytest.mark.parametrize("script", ["probe_meaning.py", "bench_minilm.py"])
def test_a_probe_names_the_corpora_when_one_is_unknown(script: str) -> None:
    p = _script(script, "--corpus", "z")
    assert p.returncode == 2
    assert p.stderr == (
        f"{script.removesuffix('.py')}: no corpus z: choose from {', '.join(corpora.NAMES)}\n"
    )
