"""User rules: whether a sentence states how future work should be done, and what it asks."""

from __future__ import annotations

import re
from collections.abc import Callable

from memoryd.extract.offline.declared import (
    announced,
    as_elsewhere,
    cautionary,
    generic_condition,
    generic_indefinite,
    go_on,
    lead_in,
    no_repeat,
    place_habit,
    style_subject,
    universal_norm,
)
from memoryd.extract.offline.norms import (
    ORDER_OF_WORK,
    complaint,
    conditioned_instruction,
    coordinate_clauses,
    form_request,
    habit,
    norm_words,
    polite_state,
    recurs,
    remembered,
    standing_question,
)
from memoryd.extract.offline.sentences import (
    LEADING_WHEN,
    QUESTION,
    SELF_REPAIR,
    STOPPING,
    body_of,
    first_word,
    imperative,
    lead_stripped,
    normalize_quotes,
    strip_tail,
    words_of,
)

_PREFERENCE = re.compile(
    # "never mind" dismisses what was said; it asks for nothing
    r"\bprefer(?:s|red|ably)?\b|\balways\b|\bnever\b(?!\s+mind\b)|\binstead\s+of\b|\brather\s+than\b"
    r"|\bnext\s+time\b|\bfrom\s+now\s+on\b|\bgoing\s+forward\b|\bin\s+(?:the\s+)?future\b"
    r"|\bi\s+(?:really\s+)?(?:like|love|hate|dislike)\b"
    r"|\bplease\s+(?:use|avoid|keep|stick|always|never)\b|\bstop\s+using\b"
    # "please stop X-ing" asks for a habit to end; "please stop, revert that" halts this turn
    r"|\bplease\s+stop\b(?!\s*[,.!]|$)"
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

_PRONOUN_OBJECT = re.compile(r"\b(?:it|that|this|them|those|these)\b", re.I)
_CONTENT_FILLER = frozenset(
    "no not don't dont do never always please just it that this them those these the a an and "
    "or but so again".split()
)


def _context_bound(s: str) -> bool:
    """A rule that only makes sense next to what it answers ("no, don't skip it")."""
    content = [w for w in words_of(s) if w not in _CONTENT_FILLER]
    return _PRONOUN_OBJECT.search(s) is not None and len(content) < 3


_WH_OPEN = re.compile(
    r"^(?:what|why|how|where|which|who)(?:'s|\s+(?:is|are|was|were|does|do|did))\b", re.I
)


def is_preference(sentence: str) -> bool:
    """Whether a user sentence states how future work should be done: a trigger word used as
    a rule (not describing what something does), a bare "X, not Y", an imperative with a mark
    of generality, a rule with a modal, a prohibition, or a request about the answers
    themselves; never a question or a remark bound to what it answers."""
    s = normalize_quotes(sentence.strip())
    if QUESTION.search(s) and not standing_question(s):
        return False
    if _WH_OPEN.match(body_of(s)):
        return False  # "what is $types, I never made that file": a question without its "?"
    if _context_bound(s) or STOPPING.match(body_of(s)):
        return False
    if _THIS_TIME.search(s):
        return False  # "today I need you to …", "skip it this once": a request for now
    return whole_rule(s) or bool(rule_clause_of(s))


# "I tried running it from my account instead of hers and it falls over": what the speaker
# did, told in the past; "instead of" compares two runs, it asks for neither. Verbs of saying
# ("I told you to use uv instead of pip") recall a rule and stay.
_DID = re.compile(
    r"^(?:i|we)\s+(?:just\s+|already\s+|also\s+|then\s+)?"
    r"(?!(?:asked|told|said|mentioned|wanted|meant|agreed|decided|used\s+to)\b)"
    r"(?:[a-z]+ed|ran|did|went|got|had|made|took|saw|found|left|kept|put|wrote|built|broke"
    r"|lost|spent|sent|came|began|brought|pulled|pushed)\b",
    re.I,
)


def whole_rule(s: str) -> bool:
    if _PREFERENCE.search(s) and not _DID.match(body_of(s)):
        stripped = _BEHAVIOUR_NOT_RULE.sub("", s)
        if _PREFERENCE.search(stripped) is not None and _rule_adverbs(stripped):
            return True
    if _DONT.search(s) is not None and _DONT_STATEMENT.search(s) is None:
        return True
    if habit(s) or complaint(s) or remembered(s) or standing_question(s) or norm_words(s):
        return True
    return any(rule(s) for rule in _RULE_SHAPES)


def rule_clause_of(s: str) -> str:
    """The coordinate clause that states a rule the sentence as a whole does not ("I have no
    root here, so no sudo please"), or ""."""
    for clause in coordinate_clauses(s):
        if not _context_bound(clause) and any(rule(clause) for rule in _CLAUSE_SHAPES):
            return clause
    return ""


# A time that scopes a sentence to the present: what it asks is for now, not a standing rule.
_THIS_TIME = re.compile(
    r"\b(?:today|tonight|right\s+now|for\s+now|this\s+(?:time|once|morning|afternoon|evening)"
    r"|just\s+this\s+once)\b",
    re.I,
)


# Words after which "always"/"never" bind to the person doing the work ("please always",
# "we never", "must always"), not to a thing being described ("the build always fails").
_RULE_LEAD = frozenset(
    "please you we i must should to will ll and so but then also just let's lets would "
    "can could need needs".split()
)


def _rule_adverbs(s: str) -> bool:
    """False when every "always"/"never" in ``s`` describes its grammatical subject."""
    adverbs = list(re.finditer(r"\b(?:always|never)\b", s, re.I))
    if not adverbs:
        return True
    for m in adverbs:
        clause = re.split(r"[,;:(—–]|\s-\s", s[: m.start()])[-1]
        before = words_of(LEADING_WHEN.sub("", clause.strip()))
        if not before or before[-1] in _RULE_LEAD:
            return True
    return False


_GENERAL = re.compile(
    r"\b(?:always|never|everywhere|every\s+time|whenever|each\s+time|any\s*time|by\s+default"
    r"|from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future|next\s+time"
    # "before committing", "before you push"; "before I tag the release" is one coming event,
    # "before it goes back" one event of a thing
    r"|(?<!like\s)(?<!as\s)before\s+(?!(?:i|we|it|he|she|they)\b)\w+"
    r"|after\s+(?:you\s+|every\s+|each\s+|any\s+)?\w+ing\b|only\b"
    # "while iterating", "while you're profiling": a phase of any piece of work, not one event
    r"|while\s+(?:you(?:'re|\s+are)\s+)?(?!(?:no|some|any|every)?thing\b)\w+ing\b"
    r"|(?:for|in|after|before)\s+(?:all|every|each|any)\b|instead\b|rather\s+than\b|\bover\s+`"
    r"|through\s+`|via\s+`|with\s+`|through\s+the\s+\w+\s+wrapper|wrapper"
    r"|\bnot\s+`|,\s*not\s+\S"
    r"|\blike\s+the\s+(?:rest|others?)\b|\bthe\s+same\s+way\s+as\b|\bconventions?\b)",
    re.I,
)
# verbs whose meaning is a standing choice, without a mark of generality ("Avoid mocking …")
_TOOL_CHOICE = re.compile(
    r"^(?:use|stick\s+(?:to|with)|go\s+(?:through|via)|prefer|avoid|favou?r)\b", re.I
)
_MODAL_RULE = re.compile(
    r"^(?:you|we|codex|the\s+agent)\s+(?:must|should|shall|need\s+to|have\s+to|ought\s+to)"
    r"\s+(?!be\s+able\b)\w+|^make\s+sure\b|^be\s+sure\s+to\b|^remember\s+to\b",
    re.I,
)
_ANSWER_NOUN = re.compile(
    r"\b(?:answers?|repl(?:y|ies)|responses?|explanations?|summar(?:y|ies)|messages?|prose"
    r"|output|commit\s+messages?|comments?|docstrings?|wording|tone)\b",
    re.I,
)
_ANSWER_VERB = re.compile(
    r"^(?:answer|reply|respond|explain|write|be|keep|give|skip|show|talk|speak|format)\b", re.I
)
_STYLE_WORD = re.compile(
    r"\b(?:short|brief|briefly|concise|terse|succinct|detailed|plain|simple|bullet|bullets"
    r"|bulleted|preamble|fluff|filler|verbose|long|english|german|french|spanish|formal"
    r"|informal|casual|lowercase|markdown|emoji|emojis|code\s+only|no\s+explanations?"
    r"|one\s+line|one-liners?|tl;?dr|summary\s+first|up\s+front"
    # the form an answer takes
    r"|copy-?past(?:e|able|eable)|code\s+block|block|table|checklist|numbered)\b",
    re.I,
)
_CONTRAST = re.compile(
    r"^(?:(?:use|run|call|prefer|it's|its|it\s+is)\s+)?(?P<x>[^,;]{1,48}?),?\s+not\s+"
    r"(?P<y>[^,;]{1,48}?)[.!]*$",
    re.I,
)


def _rule_clause(s: str) -> str:
    """The rule part of a sentence: what comes before a dash or a colon that gives a reason."""
    return re.split(r"\s[—–-]\s|:\s", body_of(s), maxsplit=1)[0]


# A tool choice inside a clause that opens with a lead-in or a purpose ("fyi for poking at
# json use jq, not python -c"): the contrast starts at the verb.
_CHOICE_VERB = re.compile(r"\b(?:use|prefer)\s", re.I)


_AUXILIARY_END = re.compile(
    r"\b(?:does|do|did|is|are|was|were|can|could|will|would|should|has|have|had|may|might)$",
    re.I,
)


# "Stop, not cargo test", "whoa, not npm": an interjection stops the agent; it is not the
# thing to use instead.
_INTERJECTION = frozenset(
    "stop no nope whoa woah wait hey hmm oh oops ugh wrong careful hold halt nah".split()
)


# "only the class I touched, not all tests, the build takes ages": the reason after the
# contrast is its own clause.
_REASON_AFTER = re.compile(r"^(?P<rule>.+?,?(?<!\s)\s+not\s+[^,;]+),\s+\w+", re.I)


# a finite verb early in X: a clause ("secrets belong in the vault"), not a tool's name
CLAUSE_VERB = re.compile(
    r"^\S+(?:\s+\S+){0,2}\s+(?:is|are|belongs?|goes|go|stays?|lives?|sits?|runs?|must|should)\b",
    re.I,
)


def contrast_match(s: str) -> re.Match[str] | None:
    clause = strip_tail(_rule_clause(s))
    m = _REASON_AFTER.match(clause)
    if m and _CONTRAST.match(clause) is None:
        clause = m.group("rule")
    for start in [0, *(m.start() for m in _CHOICE_VERB.finditer(clause))]:
        m = _CONTRAST.match(clause[start:])
        if m and words_of(m.group("x")) and words_of(m.group("x"))[0] in _INTERJECTION:
            return None
        # a focus particle ("only the class I touched") opens X without being its content; a
        # placement clause ("fixtures live next to the tests that use them") is X whole
        room = 5 + (1 if m and re.match(r"(?:only|just)\s", m.group("x"), re.I) else 0)
        room = 10 if m and CLAUSE_VERB.search(m.group("x")) else room
        if m and len(words_of(m.group("x"))) <= room and len(words_of(m.group("y"))) <= 5:
            # "the admin UI does not load" negates a verb: a report, not X-not-Y
            return None if _AUXILIARY_END.search(m.group("x")) else m
    return None


def _contrast(s: str) -> bool:
    return contrast_match(s) is not None


# Verbs that ask for information about the current state: a request, never a standing rule.
_ASKING = frozenset(
    "explain show tell describe list look find investigate summarize summarise".split()
)


# "run only that test file", "format and commit it": an instruction on the thing at hand (a
# demonstrative or a pronoun as its object) is a request for now, unless it says it recurs.
_AT_HAND = re.compile(
    r"^[\w-]+(?:\s+and\s+[\w-]+)?\s+(?:only\s+|just\s+)?(?:that|this|these|those|it|them)\b",
    re.I,
)
# ... or names the convention it follows
_CONVENTION = re.compile(
    r"\b(?:every|each|like\s+the\s+(?:rest|others?)|the\s+same\s+way\s+as|conventions?"
    # "clear it with me before any new service": "it" is any case of the kind named after it
    r"|(?:before|after|for|on)\s+any)\b",
    re.I,
)


def _general_instruction(s: str) -> bool:
    return (
        imperative(s)
        # "explain what broke before you change anything": asking, in an order of work
        and (first_word(s) not in _ASKING or ORDER_OF_WORK.search(s) is not None)
        and _rule_adverbs(s)
        and (_GENERAL.search(s) is not None or _TOOL_CHOICE.match(body_of(s)) is not None)
        and (_AT_HAND.match(body_of(s)) is None or recurs(s) or _CONVENTION.search(s) is not None)
    )


def _modal_rule(s: str) -> bool:
    return _MODAL_RULE.match(body_of(s)) is not None


def _answer_style(s: str) -> bool:
    body = body_of(s)
    if _STYLE_WORD.search(body) is None:
        return False
    if _ANSWER_VERB.match(body) or re.match(
        r"^(?:i\s+(?:want|need|'d\s+like|would\s+like)"
        r"|no\s+)",
        body,
        re.I,
    ):
        return _ANSWER_NOUN.search(body) is not None or _ANSWER_VERB.match(body) is not None
    return False


# "no unwrap() in library code", "No emojis": a prohibition opening a clause.
_PROHIBITION = re.compile(
    # a self-repair ("no wait, …", "no scratch that", "no sorry") corrects what was just said
    rf"(?:^|[:;—–]\s*)no\s+(?!{SELF_REPAIR})(?!no\b|problem|worries|thanks|idea|luck|need|way|rush|matter|one|"
    r"longer|more|doubt|change|changes|issue|issues|errors?|output|tests?\b)[\w`.(]",
    re.I,
)
_NOUN_MODAL = re.compile(
    r"^(?:the\s+|our\s+|my\s+|all\s+|every\s+)?(?:\w+\s+){0,2}(?:answers?|repl(?:y|ies)"
    r"|responses?|explanations?|summar(?:y|ies)|messages?|comments?|docstrings?|commits?|prs?"
    r"|pull\s+requests?|changelogs?|names?|tests?|handlers?|functions?|code)\s+"
    r"(?:should|must|need\s+to|have\s+to|has\s+to)\s+(?:always\s+)?\w+",
    re.I,
)


# "nothing gets applied by hand", "nothing goes to prod without review": a prohibition whose
# subject is "nothing" (a report says "nothing changed", "nothing is broken").
_NOTHING_RULE = re.compile(r"^nothing\s+(?:gets|goes|should|may|must|can)\b", re.I)
# "queries stay in the context modules", "every label goes through AppLocalizations": where a
# kind of thing must go, said of the kind (a bare plural or "every"/"all"), is a norm; "the
# migrations live in db/migrations" says where some things are, which is knowledge.
_PLACEMENT = re.compile(
    r"^(?!(?:the|our|my|your|these|those|its|their|this|that)\b)"
    r"(?:(?:all|every|each|any)\s+(?:\w+\s+){0,2}\w+|(?:\w+\s+){0,2}\w+s)\s+"
    r"(?:(?:stays?|belongs?|goes|go|keeps?|lives?|sits?)\s+(?:in|into|through|under|via|behind"
    r"|out\s+of|next\s+to|beside|alongside)\b"
    # "lock bumps get their own commit": an allocation said of the kind
    r"|(?:gets?|get|has|have)\s+(?:their|its)\s+own\b)",
    re.I,
)


# "tests never talk to the real network", "migrations must not be edited once applied": a
# norm said of a kind of thing (a bare plural, or all/every/no …) with a modal or
# always/never. "the build always fails" names one thing and describes it.
_KIND_NORM = re.compile(
    r"^(?!(?:the|our|my|your|these|those|its|their|this|that|it|there)\b)"
    r"(?:(?:all|every|each|any|no)\s+)?(?:[\w-]+\s+){0,2}[\w-]+s\s+"
    r"(?:never|must(?:n't|\s+not|\s+never|\s+always)?|should(?:n't|\s+not|\s+never)?"
    r"|may\s+not|cannot|can't|don't|do\s+not|need\s+to|have\s+to)\s+\w+"
    # "each handler in api/ needs to be async": every/each binds a singular noun to the norm,
    # and a scope ("in api/", "of the app") may follow the noun
    r"|^(?:every|each|any)\s+(?:[\w-]+\s+){0,2}[\w-]+(?:\s+(?:in|of|under|for)\s+[\w./-]+)?\s+"
    r"(?:must|should|has\s+to|needs\s+to|may\s+not|cannot|can't|is\s+to)\s+\w+",
    re.I,
)
# "log lines are JSON everywhere": a kind described with a universal scope is a convention;
# "tests are green (… in every package)" tells how things went, and an aside is no scope.
_KIND_SCOPE = re.compile(
    r"^(?!(?:the|our|my|your|these|those|its|their|this|that|it|there)\b)"
    r"(?:[\w-]+\s+){0,2}[\w-]+s\s+(?:are|stay|remain)\b"
    r"(?!\s+(?:still\s+|now\s+|all\s+)?(?:green|red|passing|failing|broken|flaky|slow|fast|fine|ok"
    r"|okay|done|fixed|down|up)\b)[^,;(]*"
    r"\b(?:everywhere|in\s+every\s+\w+|across\s+all\b|by\s+default|at\s+all\s+times)",
    re.I,
)
# "Ship migrations behind a flag", "Squash fixups before review": an imperative whose object
# is a bare plural (a kind of thing, not one thing at hand) followed by how it is handled.
_GENERIC_OBJECT = re.compile(
    r"^[\w-]+\s+(?!(?:the|a|an|this|that|these|those|my|our|your|its|their|it|them|all)\b)"
    r"(?:[\w-]+\s+){0,2}[\w-]+s\s+(?:as|with|first|through|via|without|before|after|behind)\b",
    re.I,
)


def _clauses(s: str) -> list[str]:
    """The sentence and each clause after a dash, without their lead-ins."""
    return [body_of(s), *(body_of(c) for c in re.split(r"\s[—–-]\s", s)[1:])]


def _kind_norm(s: str) -> bool:
    """A norm in the sentence or in a clause after a dash ("the geocoder test hits a live
    endpoint — tests mustn't reach the network")."""
    return any(
        (_KIND_NORM.match(c) or _KIND_SCOPE.match(c)) and not QUESTION.search(c)
        for c in _clauses(s)
    )


def _generic_object(s: str) -> bool:
    return (
        imperative(s)
        and first_word(s) not in _ASKING
        and _GENERIC_OBJECT.match(body_of(s)) is not None
    )


def prohibition(s: str) -> bool:
    body = body_of(s)
    return _PROHIBITION.search(body) is not None or _NOTHING_RULE.match(body) is not None


def _placement(s: str) -> bool:
    return not QUESTION.search(s) and any(_PLACEMENT.match(c) for c in _clauses(s))


def _noun_modal(s: str) -> bool:
    return _NOUN_MODAL.match(body_of(s)) is not None


# "not npm ci here, `pnpm i --frozen-lockfile`": the contrast with what it refuses first
_NOT_FIRST = re.compile(
    r"^not\s+(?!(?:sure|yet|now|really|bad|quite|exactly|that|this|it|me|you|much)\b)"
    r"(?P<y>[^,;—–]{2,60}?)\s*[,;—–]\s*(?P<x>[^,;—–]{2,80})",
    re.I,
)
# "only release branches get tagged": a restriction on a kind of thing (a bare plural)
_ONLY_KIND = re.compile(
    r"^only\s+(?:[\w-]+\s+){0,2}?[\w-]+s\s+(?:get|go|are|may|can|should|need|must)\b", re.I
)


def inverted_contrast(s: str) -> re.Match[str] | None:
    m = _NOT_FIRST.match(body_of(s))
    if m is None or QUESTION.search(s):
        return None
    x = m.group("x")
    return m if "`" in x or len(words_of(x)) <= 4 else None


def _restriction(s: str) -> bool:
    return inverted_contrast(s) is not None or _ONLY_KIND.match(body_of(s)) is not None


# "Before renaming any table, ask: other teams read it": the lead-in before a colon is the
# rule, what follows it the reason.
MAX_RULE_LEAD = 80


def rule_lead(s: str) -> str:
    """The lead-in before a colon when it is a rule of its own, or ""."""
    lead = lead_in(s)
    if len(lead) > MAX_RULE_LEAD:
        return ""
    # a condition and an instruction under it ("before X-ing any Y, ask"), not a pointer
    # ("same as before:") nor a topic ("the task:")
    if not lead or body_of(lead) == lead_stripped(lead) or not imperative(body_of(lead)):
        return ""
    return lead if whole_rule(lead) else ""


def _rule_lead(s: str) -> bool:
    return bool(rule_lead(s))


def _announced(s: str) -> bool:
    return bool(announced(s))


def _conditioned_prohibition(s: str) -> bool:
    """A prohibition in a later clause under a condition that opens the sentence ("once it
    is shared, the history stays, no rewrites to tidy it")."""
    body = body_of(s)
    if body == lead_stripped(s) or QUESTION.search(s):
        return False
    return any(prohibition(c) for c in re.split(r",\s+", body)[1:])


# A wish hedged for politeness ("I think it'd be best if every accumulator was real64",
# "ideally the bootstrap uses a fixed seed"): the hedge asks as firmly as "should". What it
# wishes is a standing rule when it holds of a kind of thing (an "every/any/all" subject or a
# plural one) or holds habitually (a verb in the present tense); an event of this task ("if
# the report rule wrote it", "if the taxonomy step got rerun") is a request for now, and a
# wish about what a pronoun points at ("if those were NetCDF files") needs its context.
_HEDGE = re.compile(
    r"^(?:i\s+think\s+(?:that\s+)?)?(?:(?:it'?d|it\s+would|it'll|it\s+will)\s+be\s+"
    r"(?:best|better|good|great|ideal|nice|cleaner|safer|simplest)\s+(?P<how>if|to)"
    r"|ideally,?)\s+(?P<x>.+)$",
    re.I,
)
_POINTED = re.compile(r"^(?:it|this|that|these|those|they|them|we|you|i)\b", re.I)
_OF_A_KIND = re.compile(
    r"^(?:(?:every|each|any|all)\s+\S"
    r"|(?:[\w./'-]+\s+(?:and\s+)?){0,4}?[\w'-]+s\s+(?:were|are|had|have|got|get|stay(?:ed)?"
    r"|went|go|live|lived)\b"
    # a plural subject and a verb in the present ("migrations run before the tests")
    r"|(?:[\w./'-]+\s+){0,3}?(?!(?:is|was|has|does|its|this|his)\b)[\w'-]+s\s+"
    r"(?!(?:and|or|of|in|on|for|to|from|with|at|by)\b)"
    r"[a-z]+(?<!ed)(?<!s)\s+\w)",
    re.I,
)
# a singular subject and a verb in the present, third person ("the bootstrap uses a seed")
_HABITUAL = re.compile(
    r"^(?:[\w./'-]+\s+){1,4}?(?!(?:is|was|has|does)\b)[a-z-]+[^s\W]s\s+"
    r"(?!it\b|this\b|that\b|them\b)\w",
    re.I,
)
_DETERMINER = re.compile(r"^(?:the|our|its|my|a|an)\s+", re.I)
# "it'd be best to it'd be best to …": the hedges inside the first are taken off before the
# instruction is judged (judged with them, each would go through whole_rule once more: a
# hostile message nests hundreds, past Python's recursion limit). A person nests one or two;
# beyond a few the wish is read as none.
_MAX_NESTED_HEDGES = 8


def hedged_wish(s: str) -> str:
    """What a hedged wish wishes, when that is a standing rule, or ""."""
    m = _HEDGE.match(body_of(s))
    if m is None or QUESTION.search(s):
        return ""
    x = m.group("x").strip()
    if m.group("how") == "to":  # "it'd be best to keep X": an instruction, judged as one
        asked = x
        for _ in range(_MAX_NESTED_HEDGES):
            inner = _HEDGE.match(body_of(asked))
            if inner is None or inner.group("how") != "to":
                return x if whole_rule(asked) else ""
            asked = inner.group("x").strip()
        return ""
    if _POINTED.match(x) or _context_bound(x):
        return ""
    bare = _DETERMINER.sub("", x)
    return x if _OF_A_KIND.match(bare) or _HABITUAL.match(bare) else ""


def _hedged_wish(s: str) -> bool:
    return bool(hedged_wish(s))


# Preference shapes without a trigger word. Each is a grammatical mechanism, not a phrase.
_RULE_SHAPES: tuple[Callable[[str], bool], ...] = (
    _contrast,
    _general_instruction,
    _modal_rule,
    _answer_style,
    prohibition,
    _noun_modal,
    _placement,
    _kind_norm,
    _generic_object,
    form_request,
    conditioned_instruction,
    polite_state,
    _restriction,
    as_elsewhere,
    _announced,
    _rule_lead,
    _conditioned_prohibition,
    cautionary,
    generic_indefinite,
    universal_norm,
    generic_condition,
    place_habit,
    go_on,
    style_subject,
    no_repeat,
    _hedged_wish,
)
# Shapes that hold in a clause of their own after "so"/"but"/";".
_CLAUSE_SHAPES: tuple[Callable[[str], bool], ...] = (
    prohibition,
    polite_state,
    _kind_norm,
    _noun_modal,
    _modal_rule,
    _placement,
    style_subject,
    universal_norm,
    place_habit,
)
