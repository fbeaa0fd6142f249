"""Whether a statement only makes sense in the moment it was said: a reply to the question
before it, the user's state told in the second person, what a program printed just then, a
state that will pass ("still running"), a pronoun for what was asked about, a line number, or
a choice for the work at hand kept as the user's rule. Phase 1 keeps such sentences where they
hold an anchor (a code span, a port); MEMORY.md keeps them with their task, and the summary,
whose every byte Codex reads on each prompt, ranks them after every self-contained statement.

Each test reads the shape of the sentence (who its subject is, what its verb does, what it
points at), never the words of a particular session."""

from __future__ import annotations

import re

from memoryd.consolidate.offline.mood import HORTATIVE, marked

# A reply opens with its verdict on what was asked: "Yes, and …", "Almost: …", "Kim is right:
# …"; what follows it may be a statement of its own, or lean on the verdict.
_REPLY = re.compile(
    r"^(?:(?:yes|yeah|yep|yup|no|nope|nah|true|right|correct|exactly|indeed|almost|close"
    r"|not\s+quite|partly|sort\s+of|kind\s+of)\b|(?-i:[A-Z][a-z]+)\s+(?:is|was)\s+(?:right"
    r"|correct))\s*[,:;!—–-]\s*",
    re.I,
)
# What follows a verdict and leans on it: "Yes, and note …", "Right, but …".
_LEANS_ON_REPLY = re.compile(r"^(?:and|but|so|also|plus|though|although)\b", re.I)
# The user's current state in the second person, as the subject, with what it causes now:
# "Your copy is `v2.py`, so it isn't found", "you're on the old branch, so it can't see it".
# "Your local cluster is `kind-dev`" alone is a fact about the user's setup, and a rule about
# the user's things ("your commits must be signed") carries a mark that directs (`mood.marked`).
_SECOND_PERSON = re.compile(
    r"^(?:your\s+(?:[\w.-]+\s+){0,2}?(?:is|are|was|were|has|had)|yours\s+(?:is|are|was|has)"
    r"|you(?:'re|\s+are|'ve|\s+have))\b"
    r".*?(?:,\s*|\s+)(?:so|which\s+is\s+why|that's\s+why|that\s+is\s+why)\s+(?:it|this|that|they)"
    r"\s+(?:isn't|aren't|doesn't|don't|can't|cannot|won't|fails?|breaks?|is\s+not|does\s+not)\b",
    re.I,
)
# What a program printed just now, as the subject: "The error line: `…`", "the log says …",
# "this traceback shows …". A statement about where such output goes or what it means in
# general ("the error page is served from …", "a 403 means …") has another verb.
_OUTPUT_NOUN = (
    r"(?:error|errors|output|log|logs|message|traceback|trace|warning|prompt|repl|terminal"
    r"|console|compiler|linter|response|stderr|stdout|exception)"
)
_PRINTED = re.compile(
    rf"^(?:the|this|that|its|his|her|their|my|our)\s+(?:\w+\s+)?{_OUTPUT_NOUN}"
    rf"(?:\s+(?:line|text|message|output))?\s*(?::|\b(?:says?|said|shows?|showed|prints?"
    rf"|printed|reads|complains?|complained|tells?|told|points?\s+at|mentions?)\b)",
    re.I,
)
# A state that will pass, told as it is now: "… is still holding the port", "… is already
# running", "… 's still in use" ("… were already using it" tells how things were).
_PASSING_STATE = re.compile(
    r"(?:\b(?:is|are)|'s|'re)\s+(?:still|already|currently|right\s+now)\s+(?:\w+ing\b"
    r"|in\s+use\b|open\b|up\b|there\b)",
    re.I,
)
# "Both export `x`", "Neither takes a flag": a pronoun for things named in the question, its
# verb right after it ("Both files export …" names its subject).
_PRONOUN_SUBJECT = re.compile(
    r"^(?:both|either|neither|each)\s+(?!of\b)[a-z]+s?\s+(?:`|the\b|a\b|an\b|it\b|them\b)"
    # "Both are cheap: …", "Neither is needed": the pronoun is the whole subject
    r"|^(?:both|either|neither)\s+(?:are|is|were|was|would\s+be|will\s+be)\b",
    re.I,
)
# "`x` is one; …", "… is it.": the predicate is a pronoun for what was asked about.
_PRONOUN_PREDICATE = re.compile(
    r"^[^;:.]{1,80}?\b(?:is|are)\s+(?:one|it|that|this|them)\s*(?:[;:,.]|$)", re.I
)
# "Please don't do that, it would …", "no, never run this": a refusal whose whole object
# is a pronoun pointing at what was just offered; in another session it points at nothing.
_POINTED_REFUSAL = re.compile(
    r"^(?:(?:no|nope|please|ok|okay|sorry|hmm+)\b[,!.]?\s+){0,2}"
    r"(?:don't|dont|do\s+not|never|please\s+don't)\s+(?:\w+\s+)?(?:that|this|it|those|these)"
    r"(?:\s+(?:again|one|either|now|yet))?\s*(?:[,.;:!—–-]|$)",
    re.I,
)
_CODE = re.compile(r"`[^`\n]+`")
# A place in one version of a file ("`src/app/x.py:27`"): the line moves with the next edit.
_FILE_LINE = re.compile(r"(?:[\w.-]+/)+[\w-]+\.[A-Za-z]{1,5}:\d+\b")


def momentary(statement: str, rule: bool = False) -> bool:
    """Whether ``statement`` (a line's text without its project) only makes sense in the
    moment it was said. ``rule``: it was kept as the user's rule, where a choice for the
    work at hand ("let's …") with nothing that directs is what is momentary."""
    s = statement.strip().lstrip("-*• ").strip()
    if rule:
        # "let's always …" still directs; "let's use …" only chooses; "don't do that" refuses
        # the offer at hand, whatever it marks
        if _POINTED_REFUSAL.match(s):
            return True
        return HORTATIVE.match(s) is not None and not marked(s)
    if (m := _REPLY.match(s)) and _LEANS_ON_REPLY.match(s[m.end() :]):
        return True
    if _PRINTED.match(s) or _PRONOUN_SUBJECT.match(s):
        return True
    if _SECOND_PERSON.match(s) and not marked(s):
        return True
    if _PASSING_STATE.search(s) and not marked(s):
        return True
    # a code span is one value, whatever punctuation it holds
    return bool(_PRONOUN_PREDICATE.match(_CODE.sub("`x`", s)) or _FILE_LINE.search(s))
