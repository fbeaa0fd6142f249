"""Rules said indirectly: a team's habit relayed ("Kenji says we never …"), a complaint about
what the agent did ("it's annoying when you …"), a request marked to be remembered, a form
asked for without a verb ("the subject in X style"), a procedure under a recurring condition
("before you X, show me …") and a rule in a coordinate clause ("…, so no sudo please").

Each is read from grammar (who speaks, the verb's person, tense and negation, a clause's
place), not from the words of any one sentence."""

from __future__ import annotations

import re

from memoryd.extract.offline.sentences import (
    QUESTION,
    body_of,
    imperative,
    lead_stripped,
    strip_tail,
    words_of,
)

# Verbs that say what a team has, knows or did, not what it does as a habit.
_STATE_VERBS = frozenset(
    "am are is was were be been have has had having got get gets did do does done can could "
    "will would shall should may might must need needs know knew think thought see saw want "
    "wanted tried try mean meant just also still already really only all both"
    " hope guess believe feel found".split()
)
# Someone who relays a rule: a name, a pronoun or a role, and a verb of saying.
_SAYS = re.compile(
    r"(?:\b[A-Z][a-z]+|(?i:\bhe|\bshe|\bthey|\bmy\s+\w+|\bour\s+\w+|\bthe\s+\w+\s+team))\s+"
    r"(?i:says?|said|told\s+(?:me|us)|tells\s+(?:me|us)|wants|insists|reminded\s+(?:me|us))\b"
)
# "we format with …", "we do not change it, ever", "we never push …": a first-person-plural
# present tense says how the team works.
_WE_HABIT = re.compile(
    r"\bwe\s+(?P<adv>(?:always|usually|normally|generally|never)\s+)?"
    r"(?P<neg>(?:do\s+not|don't|dont)\s+(?:ever\s+)?)?(?P<verb>[a-z]+)\b",
    re.I,
)


# "here", "in this repo", "on this team": the place whose habit a "we" sentence tells.
_HERE = re.compile(
    r"\b(?:here|in\s+this\s+(?:repo|repository|project|codebase|team|company)"
    r"|on\s+this\s+(?:team|project))\b",
    re.I,
)


def habit(s: str) -> bool:
    """A team habit: a "we" in the present tense that is negated, marked as usual, or relayed
    from someone who said it ("Marco says in this repo we format with …"). "we merged main",
    "we have a problem" and "we can't log in" report, they are no habit."""
    for m in _WE_HABIT.finditer(s):
        verb = m.group("verb").lower()
        if verb in _STATE_VERBS or verb.endswith("ed") or verb.endswith("n't"):
            continue
        if m.group("adv") or m.group("neg") or _SAYS.search(s[: m.start()]):
            return True
        if _HERE.search(s[m.end() :]):  # "we use conventional commits here"
            return True
    return False


# A complaint about what the agent does: an adjective of displeasure and a "when you …".
_COMPLAINT = re.compile(
    r"^(?:(?:it|that|this)(?:'s|\s+is|\s+gets)|its)\s+(?:really\s+|so\s+|very\s+|quite\s+"
    r"|a\s+bit\s+|kind\s+of\s+|super\s+)?(?:annoying|frustrating|irritating|tiring|painful"
    r"|a\s+pain|bad|awful|terrible|confusing|unhelpful|not\s+helpful|wasteful|a\s+waste"
    r"(?:\s+of\s+time)?|too\s+much|hard\s+for\s+me|not\s+ok(?:ay)?|not\s+nice)\s+"
    # "when you have to wait for the bus": a generic "you", not the agent
    r"(?:when|if|that)\s+you\s+(?!(?:have|has|need|get|got|are|were|'re)\b)(?P<x>.+)"
    r"|^i\s+(?:really\s+)?(?:hate|dislike|don't\s+like|do\s+not\s+like|can't\s+stand)\s+"
    r"(?:it\s+)?(?:when|if)\s+you\s+(?P<y>.+)",
    re.I,
)


# "you keep re-running the whole suite": a habit of the agent the user objects to.
_YOU_KEEP = re.compile(r"^you\s+(?:always\s+)?keep\s+(?P<z>\w+ing\b.+)", re.I)
# "can you not use emojis": a request not to do something is standing by its nature.
_ASK_NOT = re.compile(r"^(?:can|could|would|will)\s+you\s+(?:please\s+)?not\s+(?P<n>.+)", re.I)


def complaint(s: str) -> str:
    """What a complaint asks for instead ("it's annoying when you reformat the whole file" →
    "do not reformat the whole file"; "you keep pinging me" → "stop pinging me"), or ""."""
    body = body_of(s)
    m = _COMPLAINT.match(body)
    if m is not None:
        return f"do not {strip_tail(m.group('x') or m.group('y') or '')}"
    k = _YOU_KEEP.match(body)
    if k is not None:
        return f"stop {strip_tail(k.group('z'))}"
    n = _ASK_NOT.match(body)
    return f"do not {strip_tail(n.group('n').rstrip('?'))}" if n is not None else ""


# "pls remember this", "keep that in mind": the user marks what they said as standing.
# (a run of separators is taken from its start only: tried from each of its characters, a
# long run of spaces cost time quadratic in its length)
_REMEMBER = re.compile(
    r"(?<![,;\s])[,;\s]*\b(?:(?:please|pls)\s+)?(?:remember|note|keep\s+in\s+mind)\s+"
    r"(?:this|that|it)\b"
    r"|(?<![,;\s])[,;\s]*\bkeep\s+(?:this|that|it)\s+in\s+mind\b",
    re.I,
)


def remembered(s: str) -> bool:
    return _REMEMBER.search(s) is not None and len(words_of(_REMEMBER.sub("", s))) >= 3


def without_marker(s: str) -> str:
    return _REMEMBER.sub("", s).strip(" ,;")


# "the subject in conventional commits style", "branch names in kebab-case": a thing and the
# form it takes, without a verb: a request about form.
_FORM = re.compile(
    r"^(?:the\s+|a\s+|an\s+|our\s+|my\s+|all\s+)?(?P<np>(?:[\w-]+\s+){0,2}[\w-]+)\s+in\s+"
    r"(?:[\w`.()-]+\s+){0,3}[\w-]*(?:style|format|case|notation|convention|mood|tense|voice"
    r"|english|german|french|spanish|italian|portuguese|dutch|polish|japanese|chinese"
    r"|vietnamese|markdown|lowercase|uppercase)\b",
    re.I,
)
_NOT_NOUN = frozenset(
    "i you we he she they it is are was were be have has had do does did can could will would "
    "should must run use make put write wrote written keep".split()
)


def form_request(s: str) -> bool:
    m = _FORM.match(body_of(s))
    return m is not None and not set(words_of(m.group("np"))) & _NOT_NOUN


# "before you change my files, show me the plan": an instruction under a recurring condition
# on the agent's own work is a standing procedure, whatever its verb; "when you are done,
# show me" is one event.
_CONDITION = re.compile(
    r"^(?:before|whenever|every\s+time|each\s+time|any\s+time)\s+you\s+(?P<c>[^,;]{1,60}),\s*"
    r"(?P<rest>.+)",
    re.I,
)


# "define the terms when you use them", "when it's git work, show me the command": the
# condition after the instruction, or a kind of work named before it, recurs as well.
_CONDITION_AFTER = re.compile(
    r"^(?P<rest>.+?)(?<!\s)\s+(?:when|whenever)\s+you\s+(?P<c>[^,;]{1,60})(?:[,;].*)?$", re.I
)
_KIND_OF_WORK = re.compile(
    r"^when\s+(?:it(?:'s|\s+is)|it\s+comes\s+to)\s+(?P<c>[^,;]{1,40}?),\s*(?P<rest>.+)", re.I
)


# a condition about any of a kind ("when you use them", "when you add a test"), not one thing
_ANY_OF_A_KIND = re.compile(r"\b(?:them|those|any|an?|new)\b", re.I)


# "when you explain an error, quote …", "if you add a route, …": a plain "when"/"if" before
# the agent's own work on any of a kind recurs as "whenever" does; "if you have a minute" or
# "when you get a chance" is about the agent's time, not its work.
_WHEN_ANY = re.compile(
    r"^(?:when|if)\s+you(?:'re|\s+are)?\s+(?P<c>[^,;]{1,60}?)(?:,\s*|\s+(?=please\b))"
    r"(?P<rest>.+)",
    re.I,
)
# "write tests", "touch migrations": a verb on a bare plural is work on any of a kind too
_ON_A_KIND = re.compile(
    r"^[a-z]+\s+(?!(?:the|this|that|these|those|my|our|your|its|it|him|her)\b)"
    r"(?:[\w-]+\s+){0,2}?[\w-]+s\b",
    re.I,
)
_STATE_CONDITION = re.compile(
    r"^(?:(?:still\s+)?(?:have|has|had|get|got|are|were|'re|can|could|need|want|like|feel|see"
    r"|find\s+(?:a|the)\s+(?:minute|moment|time)|mind|manage))\b",
    re.I,
)


def when_any(s: str) -> bool:
    """Whether a sentence opens with "when/if you <work on any of a kind>": the condition is
    part of the rule ("when you add a route, …")."""
    m = _WHEN_ANY.match(lead_stripped(s))
    return (
        m is not None
        and bool(_ANY_OF_A_KIND.search(m.group("c")) or _ON_A_KIND.match(m.group("c")))
        and _STATE_CONDITION.match(m.group("c")) is None
    )


def conditioned_instruction(s: str) -> bool:
    body = lead_stripped(s)
    m = _CONDITION.match(body) or _KIND_OF_WORK.match(body) or _CONDITION_AFTER.match(body)
    if m is None and when_any(s):
        m = _WHEN_ANY.match(body)
    if m is None or re.search(r"\b(?:done|finished|ready|back)\b", m.group("c"), re.I):
        return False
    if m.re is _CONDITION_AFTER and not _ANY_OF_A_KIND.search(m.group("c")):
        return False  # "tell me when you find it": one event
    return imperative(m.group("rest"))


# A rule in a coordinate clause ("I have no root here, so no sudo please", "…, but the
# comments stay in English please").
_COORDINATE = re.compile(r",\s*(?=(?:so|but|and)\s)|;\s*")


def coordinate_clauses(s: str) -> list[str]:
    """The clauses after the first one of a sentence joined by "so"/"but"/"and" or ";"."""
    return [c.strip() for c in _COORDINATE.split(s)[1:] if c.strip()]


# "the comments stay in English please": a polite request that a thing keep a state.
_POLITE_STATE = re.compile(
    r"^(?:the\s+|our\s+|my\s+|all\s+|every\s+)?(?:[\w-]+\s+){0,3}"
    r"(?:stays?|remains?|goes|go|belongs?|keeps?)\s+(?:in|out|away|with|under|inside)\b"
    r".*\b(?:please|pls)\b",
    re.I,
)


def polite_state(s: str) -> bool:
    return not QUESTION.search(s) and _POLITE_STATE.match(body_of(s)) is not None


# "Could you always run the linter first?": a request in question form that says it recurs.
_ASKED = re.compile(
    r"^(?:can|could|would|will)\s+you\s+(?:please\s+|pls\s+)?(?P<x>.+?)[\s?.!]*$", re.I
)
_RECURRING = re.compile(
    r"\b(?:always|never|from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future|every\s+time"
    r"|each\s+time|whenever|by\s+default|from\s+here\s+on|next\s+time)\b",
    re.I,
)


def recurs(s: str) -> bool:
    """Whether a sentence says that what it asks recurs ("always", "from now on", …)."""
    return _RECURRING.search(s) is not None


# "explain stuff with a recap", "word things more simply": a verb whose object is an
# indefinite noun that names no one thing, then how it is to be done ("everything" and
# "anything" are most often all of the work at hand: "commit everything in one go").
_GENERIC_MANNER = re.compile(
    r"^[\w-]+\s+(?:(?:me|us|through|over|on|about|out)\s+){0,2}"
    r"(?:stuff|things)\b\s*,?\s*"
    r"(?:with|in|as|like|using|without|more|less|first|before|after|at|by|slowly|simply"
    r"|briefly|step\s+by\s+step)\b"
    # "errors in general": a kind said to be any of it
    r"|^[\w-]+\s+(?:[\w-]+\s+){0,2}[\w-]+s\s+(?:in\s+general|generally)\b",
    re.I,
)
# "explain it first, before fixing it", "show me the plan before you change anything": one
# of the agent's steps put before another of its own is an order of work, not one request.
ORDER_OF_WORK = re.compile(
    r"\bbefore\s+(?:you\s+(?!(?:are|were|'re|have|had|go|leave)\b)[a-z]+|(?!(?:long|that|then"
    r"|now|anything|everything)\b)[a-z]+ing)\b",
    re.I,
)


def standing_request(x: str) -> bool:
    """Whether what a request asks is standing by its shape: a generic object and a manner,
    or an order of the agent's own work."""
    return _GENERIC_MANNER.match(x) is not None or ORDER_OF_WORK.search(x) is not None


def standing_question(s: str) -> str:
    """What a request in question form asks for good ("could you always squash first?" →
    "always squash first"; "can you explain things with an example?"), or "" for a question
    about now."""
    m = _ASKED.match(body_of(s))
    if m is None or not (recurs(s) or standing_request(m.group("x"))):
        return ""
    return strip_tail(m.group("x"))


# "force pushes are not allowed on main", "the house rule is: …", "it's safer to pin it",
# "I'd rather you didn't touch the schema", "refrain from …": words whose meaning is a norm.
_NORM = re.compile(
    r"\b(?:is|are)\s+(?:not\s+allowed|forbidden|prohibited|not\s+permitted|banned"
    r"|off[-\s]limits|a\s+no-?go)\b|\bnot\s+allowed\s+to\b|\brefrain\s+from\b"
    r"|^(?:the\s+|our\s+|a\s+)?(?:house\s+|team\s+)?(?:rule|convention|policy|guideline)s?"
    r"\s*(?:here\s+|in\s+\S+\s+)?(?:(?:is|are)\s*:?|:)\s"
    r"|^(?:it's|it\s+is|its)\s+(?:always\s+)?(?:better|best|safer|wiser|preferable)\s+to\s+\w+"
    r"|^i(?:'d|\s+would)\s+(?:much\s+)?rather\s+\w+"
    r"|\b(?:is|are)\s+(?:mandatory|compulsory|obligatory|a\s+must|non-negotiable)\b"
    r"|\bmake\s+(?:it\s+)?a\s+habit\b|\bas\s+a\s+(?:general\s+)?rule\b"
    # "I want all dates in ISO 8601": a wish about every thing of a kind
    r"|^i\s+(?:want|need|expect|'d\s+like|would\s+like)\s+(?:all|every|each)\s+\w+"
    # "let's keep the API backwards compatible": a first-person-plural standing choice
    r"|^let's\s+(?:always\s+|never\s+)?(?:keep|stick|stay|avoid|use|prefer)\b"
    # "keep commits small": a kind of thing (a bare plural) kept in a state
    r"|^(?:keep|leave)\s+(?!(?:the|a|an|this|that|these|those|my|our|your|it|them)\b)"
    r"(?:[\w-]+\s+){0,2}[\w-]+s\s+\w+"
    # "our team uses trunk-based development": what a team does as a habit ("the shop wants a
    # report" is what it wants now)
    r"|^(?:our|the)\s+(?:team|company|org|group|shop)\s+(?:always\s+|never\s+)?"
    r"(?!(?:wants|needs|asks|has|is|was|says|likes|hopes)\b)[a-z]+s\b",
    re.I,
)
# "Ana says the keys must stay in the vault": a relayed sentence with a modal is a norm.
_RELAYED_MODAL = re.compile(
    r"\b(?:must|should|shall|has\s+to|have\s+to|needs?\s+to|never|always|may\s+not"
    r"|can't|cannot)\b",
    re.I,
)


def norm_words(s: str) -> bool:
    # the lead-in before a colon may be the norm itself ("the house rule is: …")
    if any(_NORM.search(x) is not None for x in (body_of(s), s.strip())):
        return True
    m = _SAYS.search(s)
    return m is not None and _RELAYED_MODAL.search(s[m.end() :]) is not None


def relayed_part(s: str) -> str:
    """What a relayed rule says, without who said it and the sentence around it ("I wanted to
    run X but Priya says we always start with Y" → "we always start with Y"), or ""."""
    found = list(_SAYS.finditer(s))
    if not found:
        return ""
    rest = re.sub(r"^\s*(?:that\b|:)?\s*", "", s[found[-1].end() :])
    return rest if len(words_of(rest)) >= 3 else ""


# "same as everywhere else", "same deal as in the api", "likewise for the other repo": a
# short sentence that only points to where else the sentence before it holds. It states no
# rule of its own; it makes the one before a standing rule (said again, or said to hold
# beyond this place), so the two are one rule.
_SCOPE_POINTER = re.compile(
    r"^(?:and\s+|but\s+)?(?:(?:the\s+)?same|likewise|ditto)\b(?:\s+(?:deal|thing|story|rule|here))?"
    r"\s+(?:as|like|for|in|with)\b",
    re.I,
)


def scope_pointer(s: str) -> bool:
    """Whether a sentence only says that the one before it holds elsewhere too."""
    body = strip_tail(s.strip())
    return _SCOPE_POINTER.match(body) is not None and len(words_of(body)) <= 8
