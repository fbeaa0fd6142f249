"""User language: acknowledgements, complaints, preferences."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from memoryd.backends.offline.limits import TITLE_CHARS
from memoryd.textutil import clip, one_line

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE_SPLIT = re.compile(r",\s*|\s+-\s+")
_WORDS = re.compile(r"[a-z0-9']+")

_POSITIVE_WORDS = frozenset(
    "thanks thank thx ty tysm great perfect awesome nice excellent cool good lgtm works worked "
    "working fixed trick correct exactly brilliant wonderful fantastic lovely amazing "
    "appreciated helpful".split()
)
_NEUTRAL_WORDS = frozenset(
    "ok okay k yes yep yeah sure continue go ahead proceed on do it please keep going carry "
    "sounds fine alright right".split()
)
_FILLER_WORDS = frozenset(
    "you so much a lot again very really that this it now the is was me to looks look all "
    "well job did done and just".split()
)
_NEGATIVE = re.compile(
    r"\b(?:that|it|this|which)\s*(?:'s\s+)?(?:still\s+)?(?:doesn't|does not|didn't|did not|won't"
    r"|isn't|is not)\s+(?:work|working|help|compile|build|run|pass|fix|right|correct)\b"
    r"|\b(?:still|again)\s+(?:fails?|failing|broken|crash(?:es|ing)?|errors?|erroring"
    r"|doesn't work|not working|the same)\b"
    r"|\bnot working\b|\b(?:is|are|was)\s+(?:still\s+)?broken\b"
    r"|^(?:no|nope|wrong)[.!]*$"
    r"|\b(?:that's|that is|this is|it's|you're|you are)\s+(?:wrong|incorrect"
    r"|not (?:right|correct|it|what i (?:asked|wanted|meant)))"
    r"|\bnot what i (?:asked|wanted|meant)\b"
    r"|\byou (?:broke|deleted|removed|forgot|missed|ignored)\b"
    r"|^(?:undo|revert)\s+(?:that|it|this|your|those|these)\b",
    re.I,
)
_PREFERENCE = re.compile(
    r"\bprefer(?:s|red|ably)?\b|\balways\b|\bnever\b|\binstead\s+of\b|\brather\s+than\b"
    r"|\bnext\s+time\b|\bfrom\s+now\s+on\b|\bgoing\s+forward\b|\bin\s+(?:the\s+)?future\b"
    r"|\bi\s+(?:really\s+)?(?:like|love|hate|dislike)\b"
    r"|\bplease\s+(?:use|avoid|keep|stick|stop|always|never)\b|\bstop\s+using\b"
    r"|\bstick\s+(?:to|with)\b|\bno\s+more\b",
    re.I,
)
_DONT = re.compile(
    r"(?:^|[\s,;:(])(?:don't|dont|do not)\s+(?!know\b|understand\b|think\b|see\b|have\b"
    r"|need\b|care\b|mind\b|get\b|want\b|remember\b|like\b|believe\b)\w+",
    re.I,
)
_DONT_STATEMENT = re.compile(r"\b(?:i|we|they|it|this|that|you)\s+(?:don't|dont|do not)\b", re.I)
_BEHAVIOUR_NOT_RULE = re.compile(
    r"\b(?:it|this|that|which|they|there|he|she)\s+(?:always|never)\b", re.I
)
_LEADING_WHEN = re.compile(
    r"^(?:(?:and|but|also|so|then|ok(?:ay)?|please|thanks|thank you)[,\s]+)*"
    r"(?:next\s+time|from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future)?[,\s]*",
    re.I,
)


def _normalize_quotes(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def _words(text: str) -> list[str]:
    return _WORDS.findall(_normalize_quotes(text).lower())


def _clause_kind(clause: str) -> str:
    """'positive', 'neutral' or 'other' for one comma-separated clause."""
    words = _words(clause)
    if not words or len(words) > 8:
        return "other" if words else "neutral"
    if any(w not in _POSITIVE_WORDS | _NEUTRAL_WORDS | _FILLER_WORDS for w in words):
        return "other"
    if any(w in _POSITIVE_WORDS for w in words):
        return "positive"
    if any(w in _NEUTRAL_WORDS for w in words):
        return "neutral"
    return "other"


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def is_preference(sentence: str) -> bool:
    s = _normalize_quotes(sentence)
    if _PREFERENCE.search(s):
        stripped = _BEHAVIOUR_NOT_RULE.sub("", s)
        return _PREFERENCE.search(stripped) is not None
    return _DONT.search(s) is not None and _DONT_STATEMENT.search(s) is None


def strip_tail(text: str) -> str:
    return text.strip().rstrip(".!?;:,").strip()


PREFER_XY = re.compile(
    r"\bprefer(?:s|red|ably)?\s+(?:to\s+use\s+|using\s+)?(?P<x>.+?)\s+"
    r"(?:over|to|instead\s+of|rather\s+than|than)\s+(?P<y>.+)",
    re.I,
)
USE_XY = re.compile(
    r"\buse\s+(?P<x>.+?)\s+(?:instead\s+of|rather\s+than|over|not)\s+(?P<y>.+)", re.I
)
_XY_INSTEAD = re.compile(r"^(?P<x>.+?)\s+(?:instead\s+of|rather\s+than)\s+(?P<y>.+)", re.I)
_NEGATED = re.compile(
    r"\b(?:never|don't|dont|do\s+not|avoid|stop|no\s+more)\s+(?:ever\s+)?(?P<x>.+)", re.I
)
_ALWAYS = re.compile(r"\balways\s+(?P<x>.+)", re.I)
_PREFER_X = re.compile(r"\bprefer(?:s|red|ably)?\s+(?P<x>.+)", re.I)
_PLEASE_USE = re.compile(r"\bplease\s+(?P<x>(?:use|keep|stick)\b.+)", re.I)
_LIKE = re.compile(r"\bi\s+(?:really\s+)?(?P<v>like|love|hate|dislike)\s+(?P<x>.+)", re.I)


def _use_x_over_y(m: re.Match[str]) -> str:
    x, y = strip_tail(m.group("x")), strip_tail(m.group("y"))
    x = re.sub(r"^(?:always|to)\s+", "", x, flags=re.I)
    return f"use {clip(x, 80)} rather than {clip(y, 80)}"


def _like(m: re.Match[str]) -> str:
    verb, x = m.group("v").lower(), clip(strip_tail(m.group("x")), 120)
    return f"avoid {x}" if verb in ("hate", "dislike") else f"keep doing this: {x}"


def _negated(m: re.Match[str]) -> str:
    verb = m.group(0).split()[0].lower()
    x = clip(strip_tail(m.group("x")), 120)
    return f"avoid {x}" if verb in ("avoid", "stop") else f"do not {x}"


def _x_group(template: str) -> Callable[[re.Match[str]], str]:
    return lambda m: template.format(clip(strip_tail(m.group("x")), 120))


# The shapes of a preference sentence, most specific first: the first pattern that matches
# says what a future run should do.
_IMPLICATIONS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (PREFER_XY, _use_x_over_y),
    (USE_XY, _use_x_over_y),
    (_LIKE, _like),
    (_NEGATED, _negated),
    (_ALWAYS, _x_group("always {}")),
    (_PLEASE_USE, _x_group("{}")),
    (_PREFER_X, _x_group("prefer {}")),
)


def preference_implication(sentence: str) -> str:
    """What a future run should do, read off the shape of a preference sentence."""
    s = _normalize_quotes(sentence)
    for pattern, implication in _IMPLICATIONS:
        m = pattern.search(s)
        if m:
            return implication(m)
    body = strip_tail(_LEADING_WHEN.sub("", s))
    m = _XY_INSTEAD.search(body)
    if m:
        return f"{clip(strip_tail(m.group('x')), 80)} rather than {clip(m.group('y'), 80)}"
    return f"follow this instruction: {clip(body, 120)}"


@dataclass(frozen=True)
class MessageReading:
    positive: bool
    negative: bool
    follow_up: bool  # adds to the current task instead of opening a new one
    preferences: tuple[str, ...]
    title: str


def read_message(text: str) -> MessageReading:
    sentences = split_sentences(text)
    preferences = tuple(s for s in sentences if is_preference(s))
    clauses = [c for s in sentences for c in _CLAUSE_SPLIT.split(s) if c.strip()]
    positive = False
    i = 0
    while i < len(clauses):
        kind = _clause_kind(clauses[i])
        if kind == "other":
            break
        positive = positive or kind == "positive"
        i += 1
    negative = False
    if i < len(clauses):
        first = re.sub(r"^\s*(?:but|however|and|though)\b[,\s]*", "", clauses[i], flags=re.I)
        negative = _NEGATIVE.search(_normalize_quotes(first)) is not None
    if negative:
        positive = False
    substantive = [
        s
        for s in sentences
        if s not in preferences
        and any(_clause_kind(c) == "other" for c in _CLAUSE_SPLIT.split(s) if c.strip())
    ]
    follow_up = negative or not substantive
    title_src = substantive[0] if substantive else (sentences[0] if sentences else text)
    # Drop a leading acknowledgement ("Thanks, now add tests" → "now add tests").
    parts = [c for c in _CLAUSE_SPLIT.split(title_src) if c.strip()]
    while len(parts) > 1 and _clause_kind(parts[0]) != "other":
        parts.pop(0)
    title = clip(strip_tail(", ".join(parts)) or one_line(text), TITLE_CHARS)
    return MessageReading(
        positive=positive,
        negative=negative,
        follow_up=follow_up,
        preferences=preferences,
        title=title,
    )
