"""Rules said as statements of how things are done: announced by a lead-in ("a couple of
things from the firmware lead: …"), said of any thing of a kind ("any change to X goes through
Y"), held under a condition on any such case ("if a Y shows up, it …"), told as this place's
habit ("releases here get …"), a habit the agent is told to go on with ("…, keep writing them
that way"), or a wish against a repeat of what went wrong ("I don't want one in the wiki
again").

A statement of how something is describes it; each shape here is what makes one a rule: who
announces it, a quantifier over a kind, a condition that recurs, the place it holds in, an
aspect that continues. Each is read from grammar, not from the words of any one sentence."""

from __future__ import annotations

import re

from memoryd.extract.offline.sentences import (
    QUESTION,
    body_of,
    imperative,
    lead_stripped,
    words_of,
)

# A lead-in before a colon that announces rules: it names who they come from ("from me",
# "from the firmware lead", "mine"), a kind of rule ("three ground rules", "our
# conventions") or another place they hold in too ("same as at X", "like in the X repo").
_FROM_SOMEONE = re.compile(
    r"\bfrom\s+(?:me|us|(?:the|their|our|my|his|her)\s+(?:[\w-]+\s+){0,2}[\w-]+)$"
    r"|^(?:plus\s+|and\s+|also\s+)?(?:mine|theirs|ours)$",
    re.I,
)
_RULE_NOUN = re.compile(
    r"\b(?:rules?|conventions?|complaints?|standards?|polic(?:y|ies)|guidelines?)\b",
    re.I,
)
_ELSEWHERE = re.compile(
    r"^(?:and\s+|plus\s+)?(?:(?:the\s+)?same\b(?:\s+[\w-]+){0,3}\s+(?:as|like)"
    r"|like\s+(?:on|in|at|for|with)|as\s+(?:with|on|in|at|for))\s+"
    # "same as before", "like last time": another time, not another place
    r"(?!(?:before|earlier|yesterday|last|this|that|it|now|usual)\b)\S",
    re.I,
)
# A lead-in before a colon (no code, path or bracket in it) and what follows it.
_LEAD_IN = r"^(?P<lead>[^:`=/()\[\]]{2,90}?):\s+"
_COLON = re.compile(_LEAD_IN + r"(?P<rest>\S.*)$")
_LEAD = re.compile(_LEAD_IN + r"\S")


def lead_in(s: str) -> str:
    """The lead-in before a sentence's first colon ("before renaming any table, ask: …"),
    or "" when there is none."""
    m = _LEAD.match(s.strip())
    return m.group("lead") if m else ""


# what says the announced part reports rather than rules: a past or a state of now
_PAST = re.compile(
    r"\b(?:was|were|did|had|came|went|got|made|took|left|lost|broke|wrote|saw|put|ran)\b"
    # "-ed" after a form of be/get is a passive of now ("releases get tagged")
    r"|(?<!\bis\s)(?<!\bare\s)(?<!\bbe\s)(?<!\bget\s)(?<!\bgets\s)(?<!\bbeen\s)"
    r"(?<!-)\b(?:[a-z]+-)?[a-z]{3,}ed\b",
    re.I,
)


def _announces(lead: str) -> bool:
    lead = lead.strip().rstrip(",")
    return len(words_of(lead)) <= 14 and (
        _FROM_SOMEONE.search(lead) is not None
        or _RULE_NOUN.search(lead) is not None
        or _ELSEWHERE.match(lead) is not None
    )


def announced(s: str) -> str:
    """What follows a lead-in that announces rules ("A couple of things from the firmware
    lead: tab width eight, …" → "tab width eight, …"), or "" when there is no such lead-in."""
    m = _COLON.match(s.strip())
    if m is None or QUESTION.search(s) or not _announces(m.group("lead")):
        return ""
    rest = m.group("rest").strip()
    first = re.split(r"[,;]\s", rest, maxsplit=1)[0]
    if _PAST.search(first) or _STATE_REPORT.search(first):
        return ""  # "notes from the meeting: the demo went well" tells what happened
    return rest if len(words_of(rest)) >= 2 else ""


# "Three complaints first.", "Two rules:": a short sentence that counts the rules to come.
_COUNTS = {"two": 2, "three": 3, "four": 4, "couple": 2, "few": 3, "some": 3, "several": 3}
_COUNTED = re.compile(
    r"^(?:and\s+|also\s+)?(?:a\s+)?(?P<n>two|three|four|couple|few|some|several)\s+(?:of\s+)?"
    r"(?:[\w-]+\s+)?(?P<noun>rules?|complaints?|conventions?|notes?|things)"
    r"(?:\s+(?:first|up\s+front|before\s+\w+|from\s+\w+(?:\s+\w+)?))?[.:!]*$",
    re.I,
)


def counted_preface(s: str) -> int:
    """How many rules a sentence announces for the sentences after it ("Three complaints
    first." → 3), or 0; "things" count only with a colon of their own (``announced``)."""
    m = _COUNTED.match(s.strip())
    if m is None or m.group("noun").lower() == "things":
        return 0
    return _COUNTS[m.group("n").lower()]


# "any change to the schema goes through a migration", "each order the shop sees gets a row",
# "whatever the exporter writes stays out of the repo", "nobody patches vendored code": a
# quantifier over a kind and a present tense is how every such thing is handled.
_UNIVERSAL = re.compile(
    r"^(?:(?:any|every|each)\s+(?!(?:time|day|week|morning|one|of)\b)|whatever\s+|whichever\s+)"
    r"(?P<np>(?:[\w.'-]+\s+){0,6}?)(?P<v>[a-z-]+s|is|are|can't|cannot|must|should)\b",
    re.I,
)
_NOBODY = re.compile(r"^(?:nobody|no\s+one|no-one)\s+(?P<v>[a-z-]+s)\b", re.I)
# verbs that say what someone knows or how a thing is, not what is done with it
_STATE = frozenset(
    "knows cares understands remembers seems looks likes wants needs uses reads sees has is "
    "does says thinks believes means works happens matters".split()
)
# "vendored headers are not something anyone patches": a norm put as what nobody does
_NOT_DONE = re.compile(
    r"\b(?:is|are)\s+not\s+(?:something|a\s+thing)\s+(?:that\s+)?(?:anybody|anyone|one|you"
    r"|we|people)\s+[a-z-]+s?\b",
    re.I,
)
_STATE_REPORT = re.compile(
    r"\b(?:is|are)\s+(?:still\s+|now\s+)?(?:broken|failing|red|green|down|flaky|slow|empty"
    r"|missing|gone|wrong|fine|ok|okay)\b",
    re.I,
)


def universal_norm(s: str) -> bool:
    body = body_of(s)
    if QUESTION.search(s) or _STATE_REPORT.search(body):
        return False
    if _NOT_DONE.search(body):
        return True
    m = _UNIVERSAL.match(body)
    if m is not None:
        return _PAST.search(m.group("np")) is None and m.group("v").lower() not in ("was",)
    n = _NOBODY.match(body)
    return n is not None and n.group("v").lower() not in _STATE


# "if a .env shows up, it does not get committed", "if it's a TODO, it has an issue number",
# "whenever you're about to tag, the changelog goes first", "before renaming any table, ask": a
# condition on any case of a kind (an indefinite, "any", "whenever") and what then holds.
_CONDITIONED = re.compile(
    # a short aside may come first ("and fyi, if …")
    r"^(?:[\w'-]+(?:\s+[\w'-]+){0,2},\s*)?(?P<w>if|when|whenever|every\s+time|each\s+time|before|after)\s+(?P<c>[^,;:]{2,80}),\s*"
    r"(?P<rest>[^?]+)$",
    re.I,
)
_INDEFINITE = re.compile(r"\b(?:an?|any|new|every|each)\b|^\w+ing\s+\w+s\b", re.I)
# "if you have a minute", "when you get a chance": a condition on the agent's time
_TIME_OF_AGENT = re.compile(
    r"^you(?:'re|\s+are)?\s+(?:have|has|get|got|find|feel|can|could|need|want|like|mind)\b",
    re.I,
)
_THEN_HOLDS = re.compile(
    r"\b(?:has\s+to|have\s+to|must|should|needs\s+to|does\s+not|doesn't|do\s+not|don't"
    r"|never|always|goes|go|gets|get|stays?|has|have|comes?)\b",
    re.I,
)


# "when you reply", "when you sum up": the agent's answer ends every task, so a
# condition on it recurs whatever its object
_ANSWERING = re.compile(
    r"^you\s+(?:report(?:\s+back)?|reply|answer|respond|summari[sz]e|write\s+(?:back|up))\b",
    re.I,
)


def generic_condition(s: str) -> bool:
    m = _CONDITIONED.match(lead_stripped(s))
    if m is None or _PAST.search(m.group("c")) or _TIME_OF_AGENT.match(m.group("c")):
        return False
    recurring = m.group("w").lower() not in ("if", "when", "before", "after")
    recurring = recurring or _ANSWERING.match(m.group("c")) is not None
    if not (recurring or _INDEFINITE.search(m.group("c"))):
        return False
    rest = m.group("rest")
    first = re.split(r"[,;:]\s", rest, maxsplit=1)[0]
    return imperative(first) or _THEN_HOLDS.search(first) is not None


# "releases here get tagged from trunk", "logging is JSON in this service": a kind of thing (no
# article, no possessive) and a present tense, said to hold here: this place's habit.
_HERE_HABIT = re.compile(
    r"^(?!(?:the|a|an|our|my|your|these|those|its|their|this|that|it|there|everything"
    r"|nothing|something|i|we|you|he|she|they)\b)"
    # a noun phrase, not a verb's object ("explain how to run X in this repo")
    r"(?:(?!(?:how|to|what|where|why|which)\b)[\w-]+\s+){0,2}?[\w-]+\s+(?:here\s+)?"
    r"(?:is|are|gets?|goes|go|stays?|uses|runs)\b[^,;]*?"
    r"(?:\bhere\b|\bin\s+this\s+[\w-]+)",
    re.I,
)
_HERE_FIRST = re.compile(
    r"^(?:[\w-]+\s+){0,2}?[\w-]+s\s+here\s+(?:are|get|go|stay|use|run|need|must|should"
    r"|have|live|never|always)\b",
    re.I,
)


def place_habit(s: str) -> bool:
    body = body_of(s)
    clause = re.split(r"[,;]\s", body, maxsplit=1)[0]
    if QUESTION.search(s) or _PAST.search(clause) or _STATE_REPORT.search(clause):
        return False
    return _HERE_HABIT.match(clause) is not None or _HERE_FIRST.match(clause) is not None


# "…, their linter checks it, keep writing them that way": the agent is told to go on doing
# what the sentence describes; the aspect makes it a habit, and the sentence says what it is.
_GO_ON = re.compile(
    r"(?:^|[,;]\s*)keep\s+[a-z]+ing\s+(?:them|it|those|these|that|the\s+\w+)\b", re.I
)
# "their style has no trailing commas", "the team's convention is …": a style named as the subject
_STYLE_SUBJECT = re.compile(
    r"^(?:their|our|the|his|her|my|[\w-]+'s)\s+(?:[\w-]+\s+)?(?:style|conventions?|standards?"
    r"|style\s+guide)\s+(?:has|is|says|uses|wants|needs|requires|forbids|bans)\b",
    re.I,
)


def go_on(s: str) -> bool:
    return not QUESTION.search(s) and _GO_ON.search(body_of(s)) is not None


def style_subject(s: str) -> bool:
    return _STYLE_SUBJECT.match(body_of(s)) is not None


# "I don't want one in the wiki again", "and neither should you": a wish against a repeat
# of what went wrong, or the agent bound to the user's own refusal, is a standing "don't".
_NO_REPEAT = re.compile(
    r"^i\s+(?:don't|do\s+not|never)\s+want\s+(?:to\s+\w+\s+)?[^,;]*\bagain\b"
    r"|\b(?:so|and)\s+neither\s+(?:will|do|should|may|can|must)\s+you\b",
    re.I,
)


# "a deploy that skips the smoke test is how we lost a weekend": what a loss came from, told
# as a warning, is a rule against doing it that way.
_CAUTIONARY = re.compile(
    r"^(?!(?:it|this|that|there)\b)[^,;]{3,90}?\s+(?:is|was)\s+(?:exactly\s+)?how\s+"
    r"(?:[\w'-]+\s+){1,4}?(?:lost|broke|wiped|deleted|corrupted|leaked|killed|nuked"
    r"|trashed|took\s+down|ended\s+up\s+(?:with|losing))\b",
    re.I,
)


# "a library nobody here knows is a discussion first": an indefinite that a relative
# clause narrows, and what any such thing is, is a definition of how it is handled
_GENERIC_INDEFINITE = re.compile(
    r"^an?\s+(?:[\w-]+\s+){0,2}?[\w-]+\s+(?:that|which|who|i|we|you|nobody|no\s+one)\s+"
    r"[^,;]{2,50}?\s+is\s+(?:always\s+|never\s+)?(?:an?|the)\s+[\w-]+",
    re.I,
)


def generic_indefinite(s: str) -> bool:
    body = body_of(s)
    return (
        not QUESTION.search(s)
        and _GENERIC_INDEFINITE.match(body) is not None
        and _STATE_REPORT.search(body) is None
        and _PAST.search(body.split(" is ", 1)[0]) is None
    )


def cautionary(s: str) -> bool:
    return not QUESTION.search(s) and _CAUTIONARY.match(body_of(s)) is not None


def no_repeat(s: str) -> bool:
    return _NO_REPEAT.search(body_of(s)) is not None


# A rule that reacts to an incident told just before it refers to it by a pronoun ("someone
# pasted a key in the wiki. I don't want one there again"): quoted with the incident, which
# names it.
# An indefinite "one" ("see one again", "the next one") or "it" after a preposition ("any
# change to it"); "fix it", "make it English" mostly take their object from the rule itself.
POINTS_BACK = re.compile(
    # a pronoun "one" stands alone ("one file" counts a noun)
    r"\bone\b(?=\s*(?:[,.;:!?]|$)|\s+(?:in|on|at|to|again|anymore|here|there|into|from)\b)"
    r"|\b(?:to|of|on|in|with|from|about|into)\s+(?:it|them)\b",
    re.I,
)


def reacts_to(before: str, rule: str) -> bool:
    """Whether ``rule`` refers back by a pronoun to an incident ``before`` tells (a past)."""
    return (
        bool(before)
        and POINTS_BACK.search(rule) is not None
        and _PAST.search(before) is not None
        and not QUESTION.search(before)
        and 4 <= len(words_of(before)) <= 30
    )


# "…, like in my other project", "like we did on my blog", "with a prefix like my other
# branches": a pointer to the user's other work says that what is asked is how they always
# do it (not "looks like my test", "I'd like my …").
_AS_ELSEWHERE = re.compile(
    r"(?<!looks\s)(?<!seems\s)(?<!sounds\s)(?<!feels\s)(?<!'d\s)(?<!would\s)"
    r"\blike\s+(?:(?:in|on|for|with)\s+|(?:we|i)\s+(?:did|do)\s+(?:in|on|for|with)\s+)?"
    # "like my other ones" names nothing: the convention is not said
    r"(?:my|our)\s+(?!(?:other\s+)?ones?\b)(?:other\s+)?[\w.-]+",
    re.I,
)


def as_elsewhere(s: str) -> bool:
    m = _AS_ELSEWHERE.search(s)
    if m is None:
        return False
    # "like in my esp32 project" names another place; "like my other branches" other things
    # of the same kind, which only an instruction follows
    place = re.search(r"\b(?:in|on|for|with)\s+(?:my|our)\b", m.group(0), re.I)
    return place is not None or (" other " in f" {m.group(0).lower()} " and imperative(s))
