"""The corpora by name, and the one list of which are tuned on and which are held out.

The held-out corpora were each written after the tuning ones, without reading their sessions:
they are the integrator's measurement, so nothing is tuned or trained on them, and the probes
run on them only when told ``--held-out`` (``check``)."""

from __future__ import annotations

from collections.abc import Sequence

from quality.model import Corpus

# R was held out for its first measurement (session 8) and is tuned on since round 12, which
# takes on rules restated across projects; the meaning head predates it (trained on A-H, K).
# S is tuned on since round 13 and T since round 14, each after one held-out measurement.
TUNING = ("a", "b", "c", "d", "e", "f", "g", "h", "k", "r", "s", "t")
HELD_OUT = ("i", "j", "l", "m", "n", "o", "p", "q", "u")
NAMES = tuple(sorted(TUNING + HELD_OUT))


class HeldOut(ValueError):
    """A held-out corpus (or an unknown one) named where it may not be used."""


def held_out_note() -> str:
    return f"{', '.join(n.upper() for n in HELD_OUT)} are measured, never tuned or trained on"


def check(names: Sequence[str], held_out: bool = False) -> list[str]:
    """The named corpora in ``NAMES`` order; an unknown one is refused, and a held-out one
    unless ``held_out`` (the integrator's explicit ``--held-out``)."""
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        raise HeldOut(f"no corpus {', '.join(unknown)}: choose from {', '.join(NAMES)}")
    held = sorted(set(names) & set(HELD_OUT))
    if held and not held_out:
        raise HeldOut(
            f"corpus {', '.join(held)} is held out ({held_out_note()}): "
            "pass --held-out for the integrator's measurement"
        )
    return [n for n in NAMES if n in names]


def get(name: str) -> Corpus:
    if name == "a":
        from quality.corpus_a import CORPUS

        return CORPUS
    if name == "b":
        from quality.corpus_b import CORPUS as B

        return B
    if name == "c":
        from quality.corpus_c import CORPUS as C

        return C
    if name == "d":
        from quality.corpus_d import CORPUS as D

        return D
    if name == "e":
        from quality.corpus_e import CORPUS as E

        return E
    if name == "f":
        from quality.corpus_f import CORPUS as F

        return F
    if name == "g":
        from quality.corpus_g import CORPUS as G

        return G
    if name == "h":
        from quality.corpus_h import CORPUS as H

        return H
    if name == "i":
        from quality.corpus_i import CORPUS as I_

        return I_
    if name == "j":
        from quality.corpus_j import CORPUS as J

        return J
    if name == "k":
        from quality.corpus_k import CORPUS as K

        return K
    if name == "l":
        from quality.corpus_l import CORPUS as L

        return L
    if name == "m":
        from quality.corpus_m import CORPUS as M_

        return M_
    if name == "n":
        from quality.corpus_n import CORPUS as N

        return N
    if name == "o":
        from quality.corpus_o import CORPUS as O

        return O
    if name == "p":
        from quality.corpus_p import CORPUS as P

        return P
    if name == "q":
        from quality.corpus_q import CORPUS as Q

        return Q
    if name == "r":
        from quality.corpus_r import CORPUS as R

        return R
    if name == "s":
        from quality.corpus_s import CORPUS as S

        return S
    if name == "t":
        from quality.corpus_t import CORPUS as T

        return T
    if name == "u":
        from quality.corpus_u import CORPUS as U

        return U
    raise KeyError(f"no corpus {name!r}: choose one of {', '.join(NAMES)}")
