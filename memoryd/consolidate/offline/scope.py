"""Where a rule holds: said for every project ("in all my repos", "not just this one", "like we
did on my blog"), a pointer to the project it was first said in, and how a general rule says
where it comes from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from memoryd.textutil import content_words

# A rule the user scoped to all their work: "whatever the repo", "in every project of mine",
# "across all our repositories".
UNIVERSAL = re.compile(
    r"\b(?:every|all|any|each)\s+(?:(?:one\s+)?(?:of\s+)?(?:my|our|the|your)\s+)?"
    r"(?:repo|repositor|project|codebase|workspace)\w*"
    r"|\bwhatever\s+(?:the\s+)?(?:repo|repositor|project|codebase)\w*"
    r"|\bacross\s+(?:all\s+)?(?:my\s+|our\s+)?(?:repo|repositor|project|codebase)\w*"
    # "here and everywhere else", "same deal as everywhere": said of all work, not one repo
    r"|\beverywhere\b"
    # "…, this one included", "this repo included": the place the rule is said in, added
    r"|\b(?:this|that|the\s+current)\s+(?:one|repo|repositor|project|codebase|client)\w*"
    r"\s+included\b"
    # a freelancer's projects are their clients': "all my clients", "every client of ours"
    r"|\b(?:every|all|each)\s+(?:of\s+)?(?:my|our)\s+clients?\b"
    # "not just this project", "not only here": beyond the one it was said in
    r"|\bnot\s+(?:just|only)\s+(?:for\s+|in\s+)?(?:here\b|this\b(?:\s+(?:one|repo|repositor|project|codebase)\w*)?)"
    # "like I told you in the other project", "same as in the api repo": a rule said again in
    # one project with a pointer to another holds beyond the one it was said in
    r"|\b(?:an)?other\s+(?:repo|repositor|project|codebase)\w*"
    r"|\b(?:same|like|as)\s+(?:\w+\s+){0,2}in\s+(?:the\s+|my\s+|our\s+)?[\w.-]+\s+"
    r"(?:repo|repositor|project|codebase)\w*"
    # "same deal as in ferrule": a bare name after "as in" (no article) names another place
    r"|\bsame\s+(?:\w+\s+){0,2}as\s+in\s+(?!(?:the|this|that|these|those|my|our|your|a|an|here)\b)"
    r"[\w.-]+"
    # "like we did on my blog": done the same way in another piece of the user's work
    r"|\blike\s+(?:we|i)\s+(?:did|do)\s+(?:in|on|for|with)\s+(?:my|our)\s+[\w.-]+",
    re.I,
)


# "…, same rule as in the api repo.": the pointer that made a rule general names the project
# it points to; on a general rule's line it would scope the rule to that one project.
_POINTER_TO = re.compile(
    r"[\s,;.—–-]*\b(?:the\s+)?same\s+(?:\w+\s+){0,2}as\s+in\s+(?:the\s+)?[\w.-]+"
    r"(?:\s+(?:repo|repositor|project|codebase)\w*)?\s*[.!]?",
    re.I,
)


def unpointed(text: str, projects: Iterable[str] = ()) -> str:
    """A general rule without the pointer to the project it was first said in: "same rule as
    in the api repo", or a clause of at most four words that ends on the name of one of the
    user's ``projects`` and closes the rule ("no sudo, like in ledgerly"), or of at most five
    that opens it ("that UTC rule from ironbark, timestamps stored and sent in UTC")."""
    out = _POINTER_TO.sub("", text).strip()
    for name in projects:
        words = rf"(?:[\w'’]+\s+){{0,3}}{re.escape(name)}"
        clause = rf"(?:^|\s*[,;:]\s*|\s+[—–-]+\s+){words}\s*[.!]?$"
        out = re.sub(clause, "", out, flags=re.I).strip()
        lead = rf"^(?:[\w'’]+\s+){{0,4}}{re.escape(name)}\s*(?:[,;:]|\s[—–-]+)\s+(?=\S)"
        out = re.sub(lead, "", out, flags=re.I).strip()
    return out or text


def universal(text: str) -> bool:
    """Whether a rule says it holds in every project, wherever it was said."""
    return UNIVERSAL.search(text) is not None


def scope_only(rule: str) -> bool:
    """Whether a rule says only where something holds ("noted, for every project, not just
    this one"): cut from the sentence after a rule, it scopes that rule and says nothing
    itself. Besides the scope it holds no meaning word but a participle that takes the rule
    before on ("noted", "understood"); "prefer tabs, not just here" says what to prefer."""
    if not universal(rule):
        return False
    rest = content_words(UNIVERSAL.sub(" ", rule))
    return all(len(w) > 4 and w.endswith("ed") for w in rest)


def where_stated(projects: Sequence[str]) -> str:
    """Where a general rule comes from: the projects that stated it, or, for a rule stated in
    one project for all of them, no project name (it is not that project's rule)."""
    if len(projects) > 1:
        return f"stated in {', '.join(projects)}"
    return "stated for every project"
