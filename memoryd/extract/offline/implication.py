"""What a standing rule asks a future run to do, read off its shape, and the rule quoted with
the sentence that sets its scene."""

from __future__ import annotations

import re
from collections.abc import Callable

from memoryd.extract.offline.declared import generic_condition, reacts_to
from memoryd.extract.offline.norms import (
    complaint,
    relayed_part,
    remembered,
    standing_question,
    when_any,
    without_marker,
)
from memoryd.extract.offline.rules import (
    CLAUSE_VERB,
    contrast_match,
    hedged_wish,
    inverted_contrast,
    is_preference,
    prohibition,
    rule_clause_of,
    rule_lead,
    whole_rule,
)
from memoryd.extract.offline.sentences import (
    LEADING_WHEN,
    body_of,
    clause_kind,
    imperative,
    lead_stripped,
    normalize_quotes,
    recurring_lead,
    strip_tail,
    words_of,
)
from memoryd.textutil import clip


def with_context(sentences: list[str], sentence: str) -> str:
    """A rule quoted with the short sentence before it when that one sets its scene ("Commit
    it. Messages should explain the why")."""
    i = sentences.index(sentence) if sentence in sentences else 0
    before = sentences[i - 1] if i > 0 else ""
    if reacts_to(before, sentence) and not is_preference(before):
        # "someone pasted a key in the wiki. I don't want one there again", without the
        # incident's lead-in
        return f"{lead_stripped(before)} {sentence}"
    if imperative(sentence):
        return sentence  # an instruction carries its own scene
    if before and len(words_of(before)) <= 5 and not is_preference(before):
        if clause_kind(before) == "other":
            return f"{before} {sentence}"
    return sentence


PREFER_XY = re.compile(
    r"\bprefer(?:s|red|ably)?\s+(?:to\s+use\s+|using\s+)?(?P<x>.+?)\s+"
    r"(?:over|to|instead\s+of|rather\s+than|than)\s+(?P<y>.+)",
    re.I,
)
USE_XY = re.compile(
    r"\buse\s+(?P<x>.+?)\s+(?:instead\s+of|rather\s+than|over|not)\s+(?P<y>.+)", re.I
)
# (``(?<!\s)``: the spaces before the words start where a run of spaces does, so a long run is
# not tried again from each of its characters, which took time quadratic in its length)
_XY_INSTEAD = re.compile(r"^(?P<x>.+?)(?<!\s)\s+(?:instead\s+of|rather\s+than)\s+(?P<y>.+)", re.I)
_NEGATED = re.compile(
    r"\b(?:never|don't|dont|do\s+not|avoid|stop(?=\s+\w+ing\b)|no\s+more(?!\s+than))\s+"
    r"(?:ever\s+)?(?P<x>.+)",
    re.I,
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
# says what a future run should do. The X-over-Y shapes may sit anywhere in the sentence; the
# others only when they open it, so "run the linter first, never skip it" is kept whole.
_IMPLICATIONS: tuple[tuple[re.Pattern[str], bool, Callable[[re.Match[str]], str]], ...] = (
    (PREFER_XY, False, _use_x_over_y),
    (USE_XY, False, _use_x_over_y),
    (_LIKE, True, _like),
    (_NEGATED, True, _negated),
    (_ALWAYS, True, _x_group("always {}")),
    (_PLEASE_USE, True, _x_group("{}")),
    (_PREFER_X, True, _x_group("prefer {}")),
)


# "no ts-ignore please, fix the actual type": what to avoid, and what to do instead.
_NO_X = re.compile(r"^no\s+(?P<x>[^,;—–]+?)(?:\s+please)?(?:\s*[,;—–]\s*(?P<rest>.+))?$", re.I)


# a condition clause opening the rule, and a pronoun the rule then uses for what it names
_CONDITION_LEAD = re.compile(r"^(?:if|when|whenever|once|before|after)\s+[^,;:]+,", re.I)
_IT = re.compile(r"\b(?:it|them)\b", re.I)


def preference_implication(sentence: str) -> str:
    """What a future run should do, read off the shape of a preference sentence."""
    s = normalize_quotes(sentence)
    if x := complaint(s):
        return clip(x, 130)  # a complaint asks for the opposite of what it names
    if x := standing_question(s):
        return clip(x, 160)
    if x := hedged_wish(s):
        return clip(f"ideally {strip_tail(x)}", 160)  # without who hedged it, and how
    s = without_marker(s) if remembered(s) else s
    if (lead := rule_lead(s)) and not whole_rule(s[len(lead) + 1 :]):
        s = lead  # "before renaming any table, ask: …": the reason after the colon asks nothing
    relayed = relayed_part(s)
    if relayed and whole_rule(relayed) and not whole_rule(s[: s.rfind(relayed)]):
        s = relayed  # the rule is what the teammate said, not the story around it
    if not whole_rule(s) and (clause := rule_clause_of(s)):
        s = clause
    body = strip_tail(body_of(s))
    if m := inverted_contrast(s):
        x = re.sub(r"^(?:use|prefer)\s+", "", strip_tail(m.group("x")), flags=re.I)
        return f"use {clip(x, 80)}, not {clip(strip_tail(m.group('y')), 80)}"
    m = contrast_match(s)
    if m:
        x = re.sub(r"^(?:use|prefer)\s+", "", strip_tail(m.group("x")), flags=re.I)
        y = clip(strip_tail(m.group("y")), 80)
        finite = CLAUSE_VERB.search(x) is not None  # "secrets belong in the vault, not …"
        if len(words_of(x)) > 1 and (
            imperative(x) or finite or re.match(r"(?:only|just)\s", x, re.I)
        ):
            return f"{clip(x[:1].lower() + x[1:], 80)}, not {y}"
        return f"use {clip(x, 80)}, not {y}"
    for pattern, anchored, implication in _IMPLICATIONS:
        m = pattern.match(body_of(s)) if anchored else pattern.search(s)
        if m:
            return implication(m)
    m = _NO_X.match(body)
    if m and prohibition(s):
        rest = f"; {clip(m.group('rest'), 100)}" if m.group("rest") else ""
        return f"avoid {clip(strip_tail(m.group('x')), 100)}{rest}"
    m = _XY_INSTEAD.search(body)
    if m:
        return f"{clip(strip_tail(m.group('x')), 80)} rather than {clip(m.group('y'), 80)}"
    # "before every commit", "when you add a route": when the rule applies is part of it, and
    # so is a condition that names what the rule then calls "it" ("if you think we need
    # another queue, talk to me before creating it")
    if recurring_lead(s) or when_any(s):
        body = strip_tail(LEADING_WHEN.sub("", s.strip()))
    elif _CONDITION_LEAD.match(lead_stripped(s)) and (generic_condition(s) or _IT.search(body)):
        body = strip_tail(lead_stripped(s))
    # An instruction without a known shape is its own implication, kept whole.
    # an initialism keeps its capitals ("APIs here …")
    first = body[:1] if body[1:2].isupper() else body[:1].lower()
    return clip(first + body[1:], 160) if body else ""
