"""What the user says back to the agent in their own words.

A recap of what the agent explained ("so basically X", "ok so: X") is a lesson the user
confirms, in generic present tense; one the agent then corrects is kept in the corrected form,
and one asked as a question counts once the agent confirms or corrects it. A refusal of an
offer of several options belongs to the option it names ("no, don't X"), and the option the
user then asks for ("just do Y") was taken."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from memoryd.extract.offline.language import (
    meaning_of,
    proposal_sentence,
    proposes,
    restates_words,
    shared_meaning,
)
from memoryd.extract.offline.limits import MAX_PREFS
from memoryd.extract.offline.sentences import (
    QUESTION,
    normalize_quotes,
    split_sentences,
    strip_tail,
    words_of,
)
from memoryd.textutil import clip

# A conclusion opening the sentence: "so" after at most a few acknowledgements, optionally
# "basically", "in short", …; "so that", "so far", "so what" and "so can you" are no recap.
_CONCLUSION = re.compile(
    r"^(?:(?:ok(?:ay)?|yes|yeah|yep|right|alright|ah+|oh+|hmm+|i\s+see|got\s+it)\W+){0,3}"
    r"so\b(?!\s+(?:that|far|what|why|how|where|which|who|can|could|should|will|would|do|does"
    r"|did|is|are|was|were|much|many|sorry)\b)"
    r"(?:\s+(?:basically|in\s+short|in\s+other\s+words|to\s+sum\s+up|summing\s+up))?"
    r"\s*[,:]?\s*",
    re.I,
)
# What happened (a past tense, a verb in -ed after its subject), what holds now, or what the
# user plans next: a report or a plan, not a lesson that holds from now on.
_NOT_GENERIC = re.compile(
    r"\b(?:was|were|did|didn't|had|hadn't|got|went|ran|tried|saw|said|thought|yesterday"
    r"|earlier|still|again|today|tonight|right\s+now|this\s+time)\b"
    r"|\b(?:i|we|you|it|they|he|she)\s+(?:just\s+|already\s+)?[a-z]+ed\b"
    # the next step planned: "so we need to bump it", "so I'll rerun the seeds"
    r"|^(?:i|we)(?:'ll|'d|\s+will|\s+would|\s+need\s+to|\s+have\s+to|\s+got\s+to|\s+gotta"
    r"|\s+should|\s+can)\b",
    re.I,
)
# A request: "so can you …" is caught above; "please", "let's", or a verb on a thing at hand
# ("so run the tests", "so fix it").
_ASKS = re.compile(
    r"\b(?:can|could|would|will)\s+you\b|\b(?:please|pls|let's)\b"
    r"|^(?!(?:in|for|on|at|with|when|if|after|before|to|by|from|as|only|no|not)\b)[a-z]+\s+"
    r"(?:the|a|an|it|this|that|them|me|us|my|our|these|those)\b",
    re.I,
)


_AT_HAND = re.compile(r"^(?:it|it's|its|this|that|these|those|there|here|which)\b", re.I)


def recap_of(sentence: str) -> str:
    """What a sentence that opens with a conclusion sums up, if it reads as a lesson (a
    statement of at least five words, neither a report nor a request), else ""."""
    s = normalize_quotes(sentence.strip())
    m = _CONCLUSION.match(s)
    if m is None:
        return ""
    body = strip_tail(s[m.end() :])
    if len(words_of(body)) < 5 or _NOT_GENERIC.search(body) or _ASKS.search(body):
        return ""
    if _AT_HAND.match(body):
        return ""  # "so it writes the file twice": what the thing at hand does
    return body


# The agent's answer to a recap: a correction opens with a hedge ("Almost:", "Not quite"),
# a confirmation with an agreement ("Right", "Exactly").
_CORRECTS = re.compile(
    r"^(?:almost|not\s+quite|close|nearly|mostly|partly|(?:one|a)\s+(?:small\s+)?correction"
    r"|small\s+correction)\b[\s,:;.!—–-]*",
    re.I,
)
_CONFIRMS = re.compile(
    r"^(?:yes|yep|yeah|right|exactly|correct|precisely|spot\s+on|that's\s+(?:right|it|correct)"
    r"|you\s+got\s+it)\b",
    re.I,
)
# A name a correction can swap: it holds "_", "$", ".", "/", a digit or an inner capital.
_NAME = re.compile(r"[A-Za-z_$][\w$./-]*[\w$]")


def _is_name(token: str) -> bool:
    return bool(re.search(r"[_$./\d]", token)) or token[1:] != token[1:].lower()


def correction(answer: str) -> str:
    """The sentence an answer corrects a recap with ("Almost: it is X." → "it is X."), or ""
    when it opens with no hedge."""
    text = normalize_quotes(answer.strip())
    m = _CORRECTS.match(text)
    said = split_sentences(text[m.end() : m.end() + _FIX_CHARS]) if m else []
    return said[0] if said else ""


_FIX_CHARS = 600  # the correcting sentence is the answer's first


def corrected(recap: str, fix: str) -> str:
    """The recap as a correction (``correction``) puts it: each name the correction brings
    replaces the recap's name most like it ("the QM_X var" — "it is QUUX_X" → "the QUUX_X
    var"); the correction itself when it brings no name; "" without a correction."""
    if not fix:
        return ""
    olds = [t for t in dict.fromkeys(_NAME.findall(recap)) if _is_name(t) and t not in fix]
    out = recap
    for new in dict.fromkeys(_NAME.findall(fix)):
        if not _is_name(new) or new in recap or not olds:
            continue
        old = max(olds, key=lambda t: SequenceMatcher(None, t, new).ratio())
        if SequenceMatcher(None, old, new).ratio() >= 0.5:
            out = re.sub(rf"(?<![\w$]){re.escape(old)}(?![\w$])", new, out)
            olds.remove(old)
    return out if out != recap else strip_tail(fix)


def settled(recaps: list[tuple[str, str]], answer: str) -> list[tuple[str, str, str]]:
    """(quote, new quote, rule) for each pending recap the answer settles: a corrected one in
    its corrected form, the quote too (the wrong value is not kept), a question the answer
    confirms as it was asked; statements the answer leaves alone stand as recorded."""
    out: list[tuple[str, str, str]] = []
    fix = correction(answer) if recaps else ""
    for quote, rule in recaps:
        if fixed := corrected(rule, fix):
            out.append((quote, corrected(quote, fix) or quote, clip(fixed, 160)))
        elif QUESTION.search(quote) and _CONFIRMS.match(normalize_quotes(answer.strip())):
            out.append((quote, quote, rule))
    return out


def recaps_in(
    sentences: list[str], heard: list[str], taken: tuple[str, ...]
) -> list[tuple[str, str]]:
    """(quote, rule) for each sentence of a user message that recaps what the agent explained
    before it (``heard``: three meaning words in common), other than those the rules took."""
    found = [(s, rule) for s in sentences if s not in taken and (rule := recap_of(s))]
    found = found[:MAX_PREFS]  # a message sums up a few lessons, not hundreds
    if not found or not heard:
        return []
    explained = meaning_of(" ".join(heard))  # once: what was heard may be long
    return [(s, clip(rule, 160)) for s, rule in found if restates_words(s, explained)]


# A span of code in an offer: the action an option names.
_SPAN = re.compile(r"`([^`\n]{2,80})`")


# A negation and what it governs, to the end of its clause: "don't turn off X" in "no, don't
# turn off X, that hides it"; "we keep X" in "we keep X, we don't Y" is what stays.
_NEGATED = re.compile(r"\b(?:don't|dont|do\s+not|never|not|no)\s+(?P<x>[^,;.!?]+)", re.I)


def negated(refusal: str) -> str:
    """The words a refusal turns down: what each negation in it governs."""
    return " ".join(m.group("x") for m in _NEGATED.finditer(normalize_quotes(refusal)))


def options(proposal: str, quote: str, reply: str) -> tuple[str, str]:
    """(the option refused, the option taken) when a proposal of several options is refused
    by naming one ("no, don't X") and the reply then asks for another ("just do Y"): each is
    the option of the proposal that shares the most meaning with what the refusal negates, or
    with what the reply asks after it; ("", "") when there is one option, the refusal names
    the sentence that offers, or it negates nothing an option names."""
    offered = proposal_sentence(proposal)
    # an option names an action: code to run, or an offer ("I could …")
    sentences = [
        x for x in split_sentences(proposal) if x != offered and (_SPAN.search(x) or proposes(x))
    ]
    if len(sentences) < 2 or shared_meaning(quote, offered):
        return "", ""  # one option, or the refusal names the offer itself

    def best(clause: str, other: str) -> str:
        scored = [(shared_meaning(clause, x), -i, x) for i, x in enumerate(sentences) if x != other]
        top = max(scored, default=(0, 0, ""))
        return top[2] if top[0] else ""

    refused = best(negated(quote), "")
    rest = reply[len(quote) :] if reply.startswith(quote) else ""
    taken = best(rest, refused) if refused and rest.strip() else ""
    return refused, taken
