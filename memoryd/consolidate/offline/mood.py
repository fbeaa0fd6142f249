"""Whether a rule tells what to do: a user's sentence kept as a rule may direct (an instruction,
a prohibition, an obligation, a habit of "we" or "I") or only say how things are, choose for
the work at hand ("let's use X") or ask. The summary ranks the second kind with the knowledge,
under the lessons an outcome confirmed."""

from __future__ import annotations

import re

from memoryd.extract.offline.sentences import QUESTION, imperative

# "let's use X", "let us keep it": a choice for the work at hand, said to the one doing it.
HORTATIVE = re.compile(r"^(?:\W*\w+\W+){0,2}?let(?:'s|’s|\s+us)\b", re.I)
# Deontic and habitual marks, in any clause: a prohibition opening it, an obligation, a
# quantifier over cases, a preference between two ways, a first-person habit, a request.
_DIRECTS = re.compile(
    r"^(?:don't|dont|do\s+not|never|no|nothing|none|avoid|stop|always|only)\b"
    r"|\b(?:we|i)\s+(?:don't|dont|do\s+not|never|always|only|usually|keep|fix|add|use|run)\b"
    r"|\b(?:should|must|ought|have\s+to|has\s+to|needs?\s+to|make\s+sure|whenever|every|each"
    r"|always|never|only|prefer|rather\s+than|instead\s+of|please)\b"
    # a norm said of a thing: "comments stay in English", "changes go into a new migration"
    r"|\b(?:stays?|go(?:es)?)\s+(?:in|into|out|through|as)\b",
    re.I,
)
_CLAUSE = re.compile(r"\s*(?:[,;:—–()]|\s-\s|\b(?:and|but|then|so)\b)\s*", re.I)
_LEAD = re.compile(r"^(?:(?:so|ok(?:ay)?|and|hmm+|yes|yeah|right|basically|btw)\b[,:\s]*)+", re.I)


def directs(rule: str) -> bool:
    """Whether a rule tells what to do in some clause of it (not a question, not a choice
    for now, not only a statement of how things are)."""
    if QUESTION.search(rule) or rule.rstrip().endswith("?"):
        return False
    for clause in _CLAUSE.split(rule):
        c = _LEAD.sub("", clause.strip()).strip()
        if not c or HORTATIVE.match(c):
            continue
        if _DIRECTS.search(c) or imperative(c):
            return True
    return False


def marked(text: str) -> bool:
    """Whether some clause of ``text`` carries a mark that directs beyond an imperative (a
    prohibition, an obligation, a quantifier over cases, a habit): "let's always pin it"
    still directs, "let's use the blue one" only chooses."""
    return any(_DIRECTS.search(_LEAD.sub("", c.strip()).strip()) for c in _CLAUSE.split(text))
