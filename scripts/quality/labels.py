"""Sentences of a corpus's messages, labelled with the planted fact each one states.

The meaning probe (``scripts/probe_meaning.py``) asks of a single sentence: is it a durable
statement, and of which kind? Its ground truth is read off a corpus's ``Fact``s and
``Distractor``s here, with no model, so it is tested without one.

**Sentences.** Every ``User`` and ``Say`` message of every session is cut with memoryd's own
sentence splitter (``memoryd.extract.offline.sentences.split_sentences``: a stop, a semicolon
or a line break ends a sentence, not one inside parentheses or a code span), after fenced code
blocks are dropped (they are not prose, as in ``facts.statements``) and a list marker is
stripped. Tool output, patches and reasoning are not sentences: the probe is about what was
said.

**The source of a fact** (a sentence labelled with the fact's kind) is found only in the
fact's own ``sources`` sessions, from its ``Match`` groups (a group hits a sentence when one
of its alternatives occurs there, whole-token, case-insensitively), in this order:

1. ``whole``: the sentences that hit every group;
2. ``pair``: else, two neighbouring sentences of one message that together hit every group
   and each hit at least one (both are labelled: the fact is said across them);
3. ``most``: else, for a match of three or more groups, the sentences that hit all groups but
   one.

A fact with none of these has no source sentence: it lives in tool output, a command or a
patch (most failure→fix pairs: the fix is a command), and is counted in the coverage, not
labelled. A ``Distractor`` is labelled the same way with its kind (``transient``, ``secret``,
``small_talk``, ``rejected``); a sentence that is the source of a fact and of a distractor
keeps the fact. Every other sentence is ``other``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from memoryd.extract.offline.meaning import message_sentences
from memoryd.extract.offline.meaning import strip_marker as strip_marker  # the probe's
from quality.model import Corpus, Distractor, Fact, Match, Say, User

OTHER = "other"
# What a sentence can be at the probe's grain: which rule a sentence states (preference,
# general or project rule) is a matter of scope that no single sentence shows, so the three
# are one class; a superseding statement is a fact stated later.
COARSE = {
    "preference": "rule",
    "general_rule": "rule",
    "project_rule": "rule",
    "project_fact": "fact",
    "superseding": "fact",
    "failure_fix": "fix",
}
CLASSES = ("rule", "fact", "fix", OTHER)
# The labeller's version: a head trained on these labels records it
# (memoryd/extract/offline/meaning_head.json); bump it when the definition above changes.
VERSION = "labels-1"


@dataclass
class Sentence:
    corpus: str
    session: str
    project: str
    speaker: str  # "user" or "assistant"
    message: int  # index of the message in its session
    position: int  # index of the sentence in its message
    text: str
    label: str = OTHER  # a fact kind, "distractor:<kind>" or "other"
    source_of: str = ""  # the fact or distractor id
    how: str = ""  # whole / pair / most

    @property
    def durable(self) -> bool:
        return self.label in COARSE

    @property
    def coarse(self) -> str:
        return COARSE.get(self.label, OTHER)


@dataclass
class Coverage:
    """Per fact kind: how many facts there are and how many found a source sentence, and by
    which step of the definition."""

    facts: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    how: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def cut(corpus: Corpus) -> list[Sentence]:
    """Every sentence of every user and assistant message, in order."""
    out: list[Sentence] = []
    for session in corpus.sessions:
        message = 0
        for step in session.steps:
            if not isinstance(step, User | Say):
                continue
            speaker = "user" if isinstance(step, User) else "assistant"
            for i, s in enumerate(message_sentences(step.text)):
                out.append(
                    Sentence(corpus.name, session.key, session.project, speaker, message, i, s)
                )
            message += 1
    return out


def _hits(match: Match, text: str) -> frozenset[int]:
    return frozenset(i for i, p in enumerate(match.patterns()) if p.search(text))


def sources(match: Match, sentences: Sequence[Sentence]) -> tuple[list[int], str]:
    """The indexes (into ``sentences``) of the source sentences of a match, and which step of
    the definition found them ("" when none did)."""
    n = len(match.groups)
    hits = [_hits(match, s.text) for s in sentences]
    whole = [i for i, h in enumerate(hits) if len(h) == n]
    if whole:
        return whole, "whole"
    pair: list[int] = []
    for i in range(len(sentences) - 1):
        a, b = sentences[i], sentences[i + 1]
        same = (a.session, a.message) == (b.session, b.message)
        if same and hits[i] and hits[i + 1] and len(hits[i] | hits[i + 1]) == n:
            pair += [j for j in (i, i + 1) if j not in pair]
    if pair:
        return pair, "pair"
    if n >= 3:
        most = [i for i, h in enumerate(hits) if len(h) == n - 1]
        if most:
            return most, "most"
    return [], ""


def label(corpus: Corpus, sentences: list[Sentence]) -> Coverage:
    """Label ``sentences`` (of ``corpus``) in place; the facts' coverage."""
    cov = Coverage()
    truth: Iterable[Fact | Distractor] = [*corpus.facts, *corpus.distractors]
    for item in truth:
        is_fact = isinstance(item, Fact)
        kind = item.kind if is_fact else f"distractor:{item.kind}"
        pool = [i for i, s in enumerate(sentences) if s.session in item.sources]
        found, how = sources(item.match, [sentences[i] for i in pool])
        cov.facts[kind] = cov.facts.get(kind, 0) + 1
        if not found:
            cov.missing.append(item.id)
            continue
        cov.found[kind] = cov.found.get(kind, 0) + 1
        cov.how[how] = cov.how.get(how, 0) + 1
        for j in found:
            s = sentences[pool[j]]
            if s.label == OTHER or (is_fact and not s.durable):
                s.label, s.source_of, s.how = kind, item.id, how
    return cov
