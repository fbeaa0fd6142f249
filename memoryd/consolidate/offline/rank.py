"""How a project's entry ranks as a line of the summary: its durability, lowered for a rule
that does not direct and for a lesson whose fix is an edit the line does not show, raised
among the lessons for a fact about the environment the project needs (an address, a port, an
environment variable), and whether it only makes sense in the moment it was said
(``moment.momentary``), which puts it after every line that stands on its own."""

from __future__ import annotations

import re

from memoryd.consolidate.offline.meaning import DURABILITY, FACT, FIX, RULE
from memoryd.consolidate.offline.model import Entry
from memoryd.consolidate.offline.moment import momentary
from memoryd.consolidate.offline.mood import directs


def bound_to_moment(e: Entry, said: str) -> bool:
    """Whether an entry's line (``said``: its text as the summary words it) only makes sense
    in the moment it was said: a rule that only chooses for the work at hand, a fact told as
    a reply leaning on its verdict, the user's state or what a program printed just then
    (``moment.momentary``)."""
    if e.kind == RULE:
        return momentary(e.implication or e.text, rule=True)
    return e.kind == FACT and momentary(said)


# A lesson whose fix is an edit it does not show: "…; fixed by editing `src/x.py`".
_FAILED_SPAN = re.compile(r"(`[^`\n]+`) failed")
_EDIT_UNSHOWN = re.compile(
    r"; fixed by editing `[^`\n]+`(?:, `[^`\n]+`)*(?:, after which (?:it|`[^`\n]+`) passed)?$"
)


# A fact about the environment a project needs: where a service listens (a local address, a
# port) or a setting named as an environment variable is (capitals with an underscore).
_ENVIRONMENT = re.compile(
    r"\b(?:localhost|127\.0\.0\.1|0\.0\.0\.0)\b|(?i:\bport\s+\d{2,5}\b)"
    # a port after a host or service name, or alone (not a line of a file: "x.rs:1234")
    r"|(?:^|(?<=[\s(`'\"=]))(?:[a-z][\w-]*)?:\d{4,5}\b"
    r"|\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b"
)


def environment_fact(text: str) -> bool:
    """Whether a fact says what the project's environment is: an address or port a service
    listens on, or an environment variable that configures it."""
    return _ENVIRONMENT.search(text) is not None


def score(e: Entry, others: str = "") -> int:
    """An entry's rank as a summary line (its durability, unless lowered); ``others``: what
    the project's other lines (not its how-tos) say."""
    if e.kind == RULE and not directs(e.implication or e.text):
        # a question, a choice for now or a statement kept as a rule is not what to do:
        # it ranks under the rules that direct and the lessons an outcome confirmed
        return DURABILITY[FIX] * 4
    failed = _FAILED_SPAN.match(e.text)
    if e.kind == FIX and failed and failed.group(1) in others and _EDIT_UNSHOWN.search(e.text):
        # the fix was a change to the project's own files that the line does not show, of a
        # command another line gives: the work of that session, which a new session cannot
        # repeat; it ranks with the facts
        return DURABILITY[FACT] * 4 + min(len(e.threads), 4)
    if e.kind == FACT and environment_fact(e.text):
        # what a new session needs before it runs anything (the how-to-work-here digest says
        # the environment it needs): it ranks among the lessons, not under them all, as one
        # said in a session fewer (an outcome confirmed a lesson, nothing confirmed this)
        return DURABILITY[FIX] * 4 + min(len(e.threads), 4) - 1
    return e.durability
