"""Score a memory folder against a corpus' ground truth.

A memory file is cut into units: a heading, a list item (with its indented continuation
lines), a table row or a paragraph line. Each unit carries the headings it sits under. A fact
is stated when one unit has all of its match groups; a project's fact must also be scoped to
its project — the project's name in the unit or in a heading above it — and a general rule
must not be scoped to exactly one project (a rule stated in two projects should be general).
A bare list of terms states nothing, so it never counts as stating a fact (a distractor in it
is still kept, though).

Nothing here knows how memoryd phrases things: only the key tokens of each fact, and one list
of generic negation and replacement cues used to decide whether an old value is still
presented as current (or a rejected action as something to do).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quality.model import DISTRACTOR_KINDS, FACT_KINDS, Corpus, Distractor, Fact, Match

SUMMARY = "memory_summary.md"
MEMORY = "MEMORY.md"
INJECTED_HEAD = 5000  # Codex injects the summary's first 5,000 and last 5,000 bytes
INJECTED_TAIL = 5000

# Words that say a statement is negated, undone, replaced or no longer works. Generic English,
# not memoryd's.
CUES = re.compile(
    r"(?<!\w)(?:no longer|not|never|don't|dont|do not|doesn't|isn't|instead of|rather than|"
    r"replaced|replaces|replace|superseded|supersedes|deprecated|removed|gone|obsolete|"
    r"formerly|previously|used to|renamed|dropped|avoid|undo|undid|undone|revert|reverted|"
    r"rejected|failed|fails|failing)(?!\w)",
    re.I,
)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


@dataclass(frozen=True)
class Unit:
    text: str
    context: tuple[str, ...]  # the headings above it, outermost first
    start: int  # byte offsets in the file
    end: int


def units(text: str) -> list[Unit]:
    out: list[Unit] = []
    headings: list[tuple[int, str]] = []
    pos = 0
    cur: list[Any] | None = None  # [text, context, start, end] of an open list item

    def close() -> None:
        nonlocal cur
        if cur is not None:
            out.append(Unit(cur[0], cur[1], cur[2], cur[3]))
            cur = None

    for raw in text.splitlines(keepends=True):
        start, pos = pos, pos + len(raw.encode())
        line = raw.rstrip("\n")
        if not line.strip():
            close()
            continue
        ctx = tuple(h for _, h in headings)
        m = _HEADING.match(line)
        if m:
            close()
            level = len(m.group(1))
            headings = [h for h in headings if h[0] < level] + [(level, m.group(2).strip())]
            out.append(Unit(line, ctx, start, pos))
        elif _BULLET.match(line):
            close()
            cur = [line.strip(), ctx, start, pos]
        elif cur is not None and line[:1].isspace():
            cur[0] += " " + line.strip()
            cur[3] = pos
        else:
            close()
            out.append(Unit(line.strip(), ctx, start, pos))
    close()
    return out


_LABEL = re.compile(r"^[\w /.-]{1,40}:\s")


def is_term_list(text: str) -> bool:
    """A bare list of terms ("webapp, main, testing, pytest, uv add") names things without
    stating anything about them: it does not count as stating a fact. Four or more
    comma-separated parts (after an optional "label:"), none longer than three words, none an
    assignment (``VAR=value`` states something)."""
    body = _LABEL.sub("", _BULLET.sub("", text), count=1)
    parts = [p.strip() for p in body.split(",")]
    words = [len(p.split()) for p in parts]
    return (
        len(parts) >= 4
        and max(words) <= 3
        and sum(words) / len(parts) <= 2.5
        and not any("=" in p for p in parts)
    )


def _hits(match: Match, text: str) -> bool:
    return all(p.search(text) for p in match.patterns())


def _names(project: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(project)}(?![\w-])", text, re.I) is not None


class Scorer:
    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.projects = [p.name for p in corpus.projects]

    def scope(self, u: Unit) -> set[str]:
        """The projects a unit is about: those it names, and the one a heading above it is
        about. A heading that names several projects ("Memory for a, b, c") is not a
        project's section and scopes nothing."""
        named = {p for p in self.projects if _names(p, u.text)}
        for heading in u.context:
            in_heading = [p for p in self.projects if _names(p, heading)]
            if len(in_heading) == 1:
                named.add(in_heading[0])
        return named

    def _scoped(self, fact: Fact, u: Unit) -> bool:
        if fact.kind == "general_rule":
            return len(self.scope(u)) != 1
        if fact.project is None:
            return True
        return fact.project in self.scope(u)

    def stated(self, fact: Fact, us: Sequence[Unit]) -> list[Unit]:
        return [
            u
            for u in us
            if _hits(fact.match, u.text) and self._scoped(fact, u) and not is_term_list(u.text)
        ]

    def linked(self, fact: Fact, us: Sequence[Unit]) -> bool:
        assert fact.link is not None
        return any(_hits(fact.link, u.text) for u in self.stated(fact, us))

    def presented_as_current(self, old: Fact, new: Fact, us: Sequence[Unit]) -> list[Unit]:
        return [
            u
            for u in self.stated(old, us)
            if not _hits(new.match, u.text) and not CUES.search(u.text)
        ]

    @staticmethod
    def kept(d: Distractor, us: Sequence[Unit]) -> list[Unit]:
        return [
            u for u in us if _hits(d.match, u.text) and not (d.negatable and CUES.search(u.text))
        ]


@dataclass
class FileScore:
    name: str
    size: int
    recall: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (stated, of)
    linked: tuple[int, int] = (0, 0)
    superseded_current: list[str] = field(default_factory=list)
    distractors: list[str] = field(default_factory=list)
    fact_bytes: int = 0
    injected_recall: tuple[int, int] = (0, 0)
    head_recall: tuple[int, int] = (0, 0)  # stated within the first 5,000 bytes
    missing: list[str] = field(default_factory=list)

    @property
    def total(self) -> tuple[int, int]:
        return (sum(a for a, _ in self.recall.values()), sum(b for _, b in self.recall.values()))


def score_file(
    scorer: Scorer,
    name: str,
    text: str,
    facts: Iterable[Fact],
    superseded: Iterable[tuple[Fact, Fact]],
    distractors: Iterable[Distractor],
) -> FileScore:
    data = text.encode()
    us = units(text)
    fs = FileScore(name, len(data))
    by_kind: dict[str, list[bool]] = {k: [] for k in FACT_KINDS}
    linked: list[bool] = []
    fact_units: set[int] = set()
    injected: list[bool] = []
    head: list[bool] = []
    size = len(data)
    for f in facts:
        hit = scorer.stated(f, us)
        by_kind[f.kind].append(bool(hit))
        if not hit:
            fs.missing.append(f.id)
        fact_units.update(id(u) for u in hit)
        injected.append(any(u.end <= INJECTED_HEAD or u.start >= size - INJECTED_TAIL for u in hit))
        head.append(any(u.end <= INJECTED_HEAD for u in hit))
        if f.link is not None:
            linked.append(scorer.linked(f, us))
    fs.recall = {k: (sum(v), len(v)) for k, v in by_kind.items() if v}
    fs.linked = (sum(linked), len(linked))
    fs.injected_recall = (sum(injected), len(injected))
    fs.head_recall = (sum(head), len(head))
    fs.fact_bytes = sum(u.end - u.start for u in us if id(u) in fact_units)
    for old, new in superseded:
        if scorer.presented_as_current(old, new, us):
            fs.superseded_current.append(old.id)
    for d in distractors:
        if scorer.kept(d, us):
            fs.distractors.append(d.id)
    return fs


@dataclass
class StepScore:
    step: str
    files: dict[str, FileScore]
    forgotten: list[str] = field(default_factory=list)  # facts that should be gone
    forgotten_present: dict[str, list[str]] = field(default_factory=dict)
    secret_anywhere: list[str] = field(default_factory=list)  # files holding a secret


def active_facts(
    corpus: Corpus, step: str
) -> tuple[list[Fact], list[tuple[Fact, Fact]], list[Fact]]:
    """(facts to recall, (old, new) pairs whose old value must not be current, the forgotten
    session's own facts) for a step: ``first`` (the initial sessions), ``later`` (after the
    superseding sessions) or ``forget`` (after forgetting ``corpus.forget``: its facts must be
    gone, and they no longer count as facts to recall)."""
    later = {s.key for s in corpus.sessions if s.later}
    by_id = {f.id: f for f in corpus.facts}
    gone = [f for f in corpus.facts if set(f.sources) <= {corpus.forget}]
    if step == "first":
        return [f for f in corpus.facts if not set(f.sources) & later], [], gone
    facts = [f for f in corpus.facts if f.superseded_by is None]
    pairs = [(f, by_id[f.superseded_by]) for f in corpus.facts if f.superseded_by is not None]
    if step == "later":
        return facts, pairs, gone
    return [f for f in facts if f not in gone], pairs, gone


def score_root(corpus: Corpus, root: Path, step: str) -> StepScore:
    scorer = Scorer(corpus)
    facts, pairs, gone = active_facts(corpus, step)
    later = {s.key for s in corpus.sessions if s.later}
    distractors = [d for d in corpus.distractors if step != "first" or not set(d.sources) & later]
    files: dict[str, FileScore] = {}
    result = StepScore(step, files, forgotten=[f.id for f in gone])
    for name in (SUMMARY, MEMORY):
        path = root / name
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        files[name] = score_file(scorer, name, text, facts, pairs, distractors)
        us = units(text)
        result.forgotten_present[name] = [f.id for f in gone if scorer.stated(f, us)]
    secrets = [d for d in corpus.distractors if d.kind == "secret"]
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            if p.is_file() and ".git" not in p.relative_to(root).parts:
                text = p.read_text(encoding="utf-8", errors="replace")
                if any(_hits(d.match, text) for d in secrets):
                    result.secret_anywhere.append(str(p.relative_to(root)))
    return result


def as_json(s: StepScore) -> dict[str, Any]:
    return {
        "step": s.step,
        "files": {
            name: {
                "bytes": f.size,
                "recall": {k: {"stated": a, "of": b} for k, (a, b) in f.recall.items()},
                "recall_total": {"stated": f.total[0], "of": f.total[1]},
                "failure_fix_linked": {"linked": f.linked[0], "of": f.linked[1]},
                "superseded_presented_as_current": f.superseded_current,
                "distractors_kept": f.distractors,
                "fact_bytes": f.fact_bytes,
                "injected_recall": {"stated": f.injected_recall[0], "of": f.injected_recall[1]},
                "first_5000_bytes_recall": {"stated": f.head_recall[0], "of": f.head_recall[1]},
                "missing": f.missing,
            }
            for name, f in s.files.items()
        },
        "forgotten_facts": s.forgotten,
        "forgotten_still_present": s.forgotten_present,
        "secret_in_files": s.secret_anywhere,
    }


def kinds_in(corpus: Corpus) -> list[str]:
    return [k for k in FACT_KINDS if any(f.kind == k for f in corpus.facts)]


def distractor_kinds(corpus: Corpus, ids: Sequence[str]) -> dict[str, int]:
    kind = {d.id: d.kind for d in corpus.distractors}
    return {k: sum(1 for i in ids if kind[i] == k) for k in DISTRACTOR_KINDS}
