"""The corpora by name."""

from __future__ import annotations

from quality.model import Corpus

NAMES = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r")


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
    raise KeyError(f"no corpus {name!r}: choose one of {', '.join(NAMES)}")
