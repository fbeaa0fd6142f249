"""The meaning model: a second opinion behind the rules, by a sentence encoder and a trained head.

The rules stay the gate and the writers of memory lines. Per rollout, the model may add a few
lines the rules did not take (docs/quality.md, "Round 9"):

* a user sentence it reads as a standing rule or preference, written as the rules write one
  (quoted with its scene, its implication read off its shape) — never a question, a sentence
  with a redacted secret or a value of one run (a pid, a lock id, a hash, a temp path);
* a sentence of the agent's answers that the fact recogniser's cleaning keeps as a
  statement with an exact anchor (an env var, a port, a version, a path, a code span,
  ``X=1``) but whose verb test it failed, when the model reads it as a fact.

Highest scores first, at most ``CAP`` per rollout, each above its class's threshold.

The head (``meaning_head.json``, package data) is a class-weighted logistic regression on the
encoder's embeddings, classes ``rule`` / ``fact`` / ``fix`` / ``other``, trained by
``scripts/train_meaning.py`` on the tuning corpora only; it records what it was trained on.
Scores are rounded to 1e-4 before any comparison so that float noise cannot flip a line, and
sentences are encoded in fixed batches: the same rollout always gives the same bytes.
"""

from __future__ import annotations

import ctypes
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from memoryd.extract.offline.encoder import INSTALL, MiniLM, ModelMissing, missing
from memoryd.extract.offline.facts import _anchored, _statement
from memoryd.extract.offline.implication import preference_implication, with_context
from memoryd.extract.offline.judge import Printed
from memoryd.extract.offline.rules import is_preference
from memoryd.extract.offline.sentences import run_on_clauses, split_sentences, strip_tail
from memoryd.extract.offline.tasks import Preference, Task
from memoryd.textutil import TRANSIENT, clip, norm_words, one_line

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["CAP", "Head", "Meaning", "ModelMissing", "message_sentences", "missing"]

log = structlog.get_logger("memoryd.extract.meaning")

HEAD_FILE = "meaning_head.json"
CLASSES = ("rule", "fact", "fix", "other")
# Chosen on the tuning corpora only (scripts/bench_quality.py --meaning both, round 9 in
# docs/quality.md): the most lines per rollout; the least chance of being a rule a user
# sentence needs (0.70 crowded a fact out of H's summary, 0.80 lost one of its two gains);
# the least chance of being durable an anchored conclusion needs (0.85 put an old command
# back in K's MEMORY.md as current, and gained one fact there).
CAP = 3
RULE_THRESHOLD = 0.75
FACT_THRESHOLD = 0.90
# A user sentence below the rule threshold but above this is a rule *candidate*: weak evidence
# alone, kept out of every memory file until a session of another project restates it
# (consolidation's ``corroborated``). At most ``CANDIDATE_CAP`` per rollout, highest first.
# Chosen on the labelled bank across its 17 voices, not on a corpus (docs/quality.md,
# "Round 13g", scripts/probe_candidates.py): between 0.4 and 0.75 lie 56 of the bank's 116
# admissible rules against 11 of 68 other sentences and 18 of 85 hard negatives; 0.5 kept
# 36 rules, 0.3 let in twice the hard negatives. Corroboration is the filter that follows.
CANDIDATE_THRESHOLD = 0.4
CANDIDATE_CAP = 3
_MIN_WORDS = 5
_MAX_WORDS = 60

_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
_MARKER = re.compile(r"^(?:[-*•+]|\d{1,2}[.)])\s+")
# "commit it", "and push that": a request about the thing at hand, not a standing rule.
_ACT_ON_THIS = re.compile(
    r"(?:^|\band\s+|[,;:]\s*)(?:please\s+)?[a-z]+\s+(?:it|this|that|them)\b(?!\s*(?:is|are|was)\b)",
    re.I,
)
# A placeholder the redactor left: the sentence held a secret.
_REDACTED = re.compile(r"REDACTED|\*{4,}|<redacted", re.I)


def strip_marker(s: str) -> str:
    """A sentence without its list marker ("- ", "2. ")."""
    return _MARKER.sub("", s.strip()).strip()


def message_sentences(text: str, clauses: bool = False) -> list[str]:
    """The prose sentences of a message: fenced code dropped, list markers stripped;
    ``clauses``: a run-on sentence of the user's cut into its clauses (``run_on_clauses``)."""
    out = []
    for s in split_sentences(_FENCE.sub(" ", text)):
        s = strip_marker(s)
        if re.search(r"\w", s):
            out += run_on_clauses(s) if clauses else [s]
    return out


# -- the head


@dataclass(frozen=True)
class Head:
    """``weights``: one row per embedding dimension and a bias row last, one column per class."""

    classes: tuple[str, ...]
    weights: list[list[float]]
    trained_on: tuple[str, ...]
    labeller: str
    meta: dict[str, Any]

    @classmethod
    def from_json(cls, text: str) -> Head:
        data = json.loads(text)
        return cls(
            classes=tuple(data["classes"]),
            weights=data["weights"],
            trained_on=tuple(data["trained_on"]),
            labeller=str(data["labeller"]),
            meta=dict(data.get("meta", {})),
        )

    def to_json(self) -> str:
        data = {
            "classes": list(self.classes),
            "trained_on": list(self.trained_on),
            "labeller": self.labeller,
            "meta": self.meta,
            "weights": self.weights,
        }
        return json.dumps(data, separators=(",", ":")) + "\n"

    def probabilities(self, emb: NDArray[np.float32]) -> NDArray[np.float32]:
        import numpy as np

        w = np.array(self.weights, dtype=np.float32)
        x = np.hstack([emb, np.ones((len(emb), 1), dtype=np.float32)])
        return softmax(x @ w)


def shipped_head() -> Head:
    return Head.from_json(
        resources.files("memoryd.extract.offline").joinpath(HEAD_FILE).read_text("utf-8")
    )


def softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    import numpy as np

    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: NDArray[np.float32] = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def fit_head(
    emb: NDArray[np.float32], labels: Sequence[str], steps: int = 400, l2: float = 1e-3
) -> list[list[float]]:
    """A multinomial logistic regression on the embeddings (a column per class of
    ``CLASSES``, a bias row last), each class weighted by the inverse of its share, fitted by
    full-batch gradient descent from zero: no randomness, the same data gives the same
    weights."""
    import numpy as np

    x = np.hstack([emb, np.ones((len(emb), 1), dtype=np.float32)])
    y = np.array([CLASSES.index(c) for c in labels])
    onehot = np.eye(len(CLASSES), dtype=np.float32)[y]
    counts = onehot.sum(axis=0)
    weight = (len(y) / (len(CLASSES) * np.maximum(counts, 1.0)))[y][:, None]
    w = np.zeros((x.shape[1], len(CLASSES)), dtype=np.float32)
    for _ in range(steps):
        p = softmax(x @ w)
        grad = x.T @ ((p - onehot) * weight) / len(y) + l2 * w
        w -= np.float32(2.0) * grad.astype(np.float32)
    # six significant digits: a small file, and the same text for the same weights
    return [[float(f"{v:.6g}") for v in row] for row in w.tolist()]


# -- the judge, loaded lazily and shared by the extraction threads


class Meaning:
    """The encoder and the head, loaded on first use and dropped when no extraction uses
    them (``using``): ~100 MB that an idle daemon should not hold. ``required``: a model
    that fails to load fails the extraction (``offline.meaning = "on"``); otherwise the rules
    carry on alone."""

    def __init__(
        self, head: Head | None = None, required: bool = False, model: Path | None = None
    ) -> None:
        self._head = head
        self._model = model  # the weights' folder; None: the installed package's
        self._encoder: MiniLM | None = None
        self._users = 0
        self._lock = threading.Lock()
        self.required = required
        self.broken: str | None = None  # why the model could not be loaded
        self.loads = 0  # how often the encoder was loaded (a test reads it)

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    def _load(self) -> Scorer | None:
        if self.broken is None and self._encoder is None:
            try:
                self._encoder = MiniLM(self._model)
                self._head = self._head or shipped_head()
                self.loads += 1
            except (ImportError, OSError, ValueError, KeyError) as e:
                self.broken = f"{type(e).__name__}: {e}"
                # once per extractor: the rules carry on alone (or, when required, every
                # extraction fails with this reason)
                log.warning("meaning_model_unavailable", reason=self.broken)
        if self.broken is not None:
            if self.required:
                raise ModelMissing(f"the meaning model cannot be loaded: {self.broken}")
            return None
        assert self._encoder is not None and self._head is not None
        return Scorer(self._encoder, self._head)

    @contextmanager
    def using(self) -> Iterator[Scorer | None]:
        """The scorer while the block runs (None: the model cannot load, the rules alone)."""
        with self._lock:
            scorer = self._load()
            used = scorer is not None
            self._users += used
        try:
            yield scorer
        finally:
            scorer = None  # this frame's reference too, or the drop frees nothing
            with self._lock:
                self._users -= used
                if self._users == 0 and self._encoder is not None:
                    self._encoder = None
                    _return_heap()


def _return_heap() -> None:
    """Hand the freed model's memory back to the system. glibc keeps most of what the encoder
    freed in its heap (an idle daemon measured 93 MiB after dropping the model against 28 before
    it ever loaded; 49 after a trim, numpy's and the tokenizer's code and tables), so the drop
    would save little without this. Elsewhere (musl, macOS) there is no such call: a no-op."""
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def from_setting(mode: str) -> Meaning | None:
    """The meaning model ``offline.meaning`` asks for: ``auto`` when installed, ``on`` or an
    error naming the install command, ``off`` never."""
    if mode == "off":
        return None
    lacking = missing()
    if lacking is None:
        return Meaning(required=mode == "on")
    if mode == "on":
        raise ModelMissing(
            f'"on" needs the meaning model, but {lacking} is not installed: run `{INSTALL}`'
        )
    return None


def status(mode: str) -> tuple[bool, str]:
    """Whether phase 1 uses the meaning model under ``offline.meaning = mode``, and why, in a
    line for doctor and ``memoryd config``."""
    lacking = missing()
    if mode == "off":
        return False, 'not used (offline.meaning = "off"): rules only'
    if lacking is not None:
        if mode == "on":
            return False, f'offline.meaning = "on" but {lacking} is not installed: run `{INSTALL}`'
        return False, f"not installed ({lacking} missing): rules only; to use it run `{INSTALL}`"
    head = shipped_head()
    return True, (
        f'in use (offline.meaning = "{mode}"): all-MiniLM-L6-v2 and a head trained on corpora '
        f"{', '.join(head.trained_on)}; at most {CAP} lines per rollout"
    )


@dataclass(frozen=True)
class Scorer:
    encoder: MiniLM
    head: Head

    def scores(self, sentences: Sequence[str]) -> list[dict[str, float]]:
        """Each sentence's probability per class, rounded to 1e-4."""
        if not sentences:
            return []
        probs = self.head.probabilities(self.encoder.encode(sentences))
        return [
            {c: round(float(p), 4) for c, p in zip(self.head.classes, row, strict=True)}
            for row in probs
        ]


# -- the hook: what the model adds to one rollout


@dataclass(frozen=True)
class _Candidate:
    task: int
    kind: str  # "rule" or "fact"
    sentence: str
    line: str  # the knowledge line of a fact; the quote's context of a rule


def _words(s: str) -> int:
    return len(s.split())


def admissible(sentence: str) -> bool:
    """Whether a user sentence may be proposed as a rule (or a rule candidate) at all: not a
    question, 5–60 words, no value of one run and no secret (never kept), not a request about
    the thing at hand."""
    if sentence.rstrip("*_` ").endswith("?"):
        return False
    if not _MIN_WORDS <= _words(sentence) <= _MAX_WORDS:
        return False
    if TRANSIENT.search(sentence) or _REDACTED.search(sentence):
        return False
    return not _ACT_ON_THIS.search(sentence)


def _user_candidates(i: int, task: Task, taken: set[str]) -> Iterator[_Candidate]:
    quotes = " ".join(norm_words(p.quote) for p in task.preferences)
    for text in task.user_texts:
        sentences = message_sentences(text, clauses=True)
        for s in sentences:
            s1 = one_line(s)
            key = norm_words(s1)
            if not key or key in quotes or key in taken or not admissible(s1):
                continue
            yield _Candidate(i, "rule", s1, with_context(sentences, s))


def _fact_candidates(i: int, task: Task, printed: Printed, taken: set[str]) -> Iterator[_Candidate]:
    # the conclusions: the answer that ends the task, and answers the user said back
    for text in dict.fromkeys([*task.restated, task.final_answer]):
        for s in message_sentences(text):
            if s.startswith(">") or not _anchored(s):
                continue  # a quoted line of output is evidence, not a statement
            # the fact recogniser's own cleaning, without its verb test (loose)
            st = _statement(s, printed, loose=True)
            if st is None or norm_words(st) in taken or _REDACTED.search(st):
                continue
            yield _Candidate(i, "fact", one_line(s), st)


def _score(kind: str, probs: dict[str, float]) -> float:
    """A user sentence's chance of being a rule; an anchored sentence of the agent's, of
    being durable at all (a fact, or the fix of a failure: the rules write it as a fact)."""
    return probs["rule"] if kind == "rule" else round(1.0 - probs["other"], 4)


def _implication(sentence: str) -> str:
    """What a proposed rule asks: its shape's reading when the rules know the shape, else the
    sentence itself (a clause the shapes would pick out of a sentence they did not judge a
    rule, "so I see which files go in", says less than the whole)."""
    if is_preference(sentence):
        return preference_implication(sentence)
    body = strip_tail(sentence)
    return clip(body[:1].lower() + body[1:], 160)


def second_opinion(
    scorer: Scorer,
    tasks: Sequence[Task],
    knowledge: Sequence[list[str]],
    printed: Printed,
    cap: int = CAP,
    thresholds: tuple[float, float] = (RULE_THRESHOLD, FACT_THRESHOLD),
    candidate_threshold: float = CANDIDATE_THRESHOLD,
) -> list[str]:
    """Add the model's lines to ``tasks`` (preferences) and ``knowledge`` (per task, in
    place); return what was added, highest score first. ``thresholds``: a rule's and a
    fact's least score. User sentences left out that score at least ``candidate_threshold``
    as a rule become the tasks' rule ``candidates``."""
    taken = {norm_words(k) for ks in knowledge for k in ks}
    found: list[_Candidate] = []
    for i, task in enumerate(tasks):
        found += _user_candidates(i, task, taken)
        found += _fact_candidates(i, task, printed, taken)
    unique: dict[tuple[str, str], _Candidate] = {}
    for c in found:
        unique.setdefault((c.kind, norm_words(c.line)), c)
    candidates = list(unique.values())
    scores = [
        _score(c.kind, sc)
        for c, sc in zip(candidates, scorer.scores([c.sentence for c in candidates]), strict=True)
    ]
    threshold = {"rule": thresholds[0], "fact": thresholds[1]}
    added: list[str] = []
    for c in _best(candidates, scores, lambda c, sc: sc >= threshold[c.kind])[:cap]:
        if c.kind == "rule":
            tasks[c.task].preferences.append(_preference(c))
        else:
            knowledge[c.task].append(c.line)
        added.append(c.line)
    # the user sentences the cap or the threshold left out that still read somewhat like a
    # rule: candidates, which only another project's restatement makes rules
    weak = _best(
        candidates,
        scores,
        lambda c, sc: c.kind == "rule" and sc >= candidate_threshold and c.line not in added,
    )
    for c in weak[:CANDIDATE_CAP]:
        tasks[c.task].candidates.append(_preference(c))
    return added


def _best(
    candidates: Sequence[_Candidate],
    scores: Sequence[float],
    keep: Callable[[_Candidate, float], bool],
) -> list[_Candidate]:
    """The candidates ``keep`` accepts, highest score first (ties in their order)."""
    kept = [(c, sc) for c, sc in zip(candidates, scores, strict=True) if keep(c, sc)]
    return [c for c, _ in sorted(kept, key=lambda t: -t[1])]


def _preference(c: _Candidate) -> Preference:
    return Preference(c.line, _implication(c.sentence))
