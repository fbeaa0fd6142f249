"""Sentence grammar of user messages: sentences, clauses, words, lead-ins and imperatives."""

from __future__ import annotations

import re

from memoryd.textutil import one_line

# A sentence ends at a run of up to three stops ("locally?! and", "wait... then").
_SENTENCE_SPLIT = re.compile(
    r"(?<=[^\s.!?;][.!?;])\s+|(?<=[^\s.!?;][.!?][.!?])\s+|(?<=[^\s.!?;][.!?][.!?][.!?])\s+"
    r"|\n+"
)
# (a dash's spaces are taken from the start of their run, not from each of its characters)
CLAUSE_SPLIT = re.compile(r",\s*|(?<!\s)\s+-\s+")
_WORDS = re.compile(r"[a-z0-9']+")

_POSITIVE_WORDS = frozenset(
    "thanks thank thx ty tysm great perfect awesome nice excellent cool good lgtm works worked "
    "working fixed trick correct exactly brilliant wonderful fantastic lovely amazing "
    "appreciated helpful".split()
)
_NEUTRAL_WORDS = frozenset(
    "ok okay k yes yep yeah sure continue go ahead proceed on do it please keep going carry "
    "sounds fine alright right hmm hmmm hm um umm uh oh ah well".split()
)
FILLER_WORDS = frozenset(
    "you so much a lot again very really that this it now the is was me to looks look all "
    "well job did done and just".split()
)

LEADING_WHEN = re.compile(
    r"^(?:(?:and|but|also|so|then|ok(?:ay)?|please|pls|plz|thanks|thank you)[,\s]+)*"
    r"(?:next\s+time|from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future)?[,\s]*",
    re.I,
)


def normalize_quotes(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def words_of(text: str) -> list[str]:
    return _WORDS.findall(normalize_quotes(text).lower())


def clause_kind(clause: str) -> str:
    """'positive', 'neutral' or 'other' for one comma-separated clause."""
    words = words_of(clause)
    if not words or len(words) > 8:
        return "other" if words else "neutral"
    if any(w not in _POSITIVE_WORDS | _NEUTRAL_WORDS | FILLER_WORDS for w in words):
        return "other"
    if any(w in _POSITIVE_WORDS for w in words):
        return "positive"
    if any(w in _NEUTRAL_WORDS for w in words):
        return "neutral"
    return "other"


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of ``text``; a full stop or semicolon inside parentheses or a code
    span does not end a sentence ("(it is in .nvmrc; Node 18 fails)")."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_SPLIT.finditer(text):
        part = text[start : m.start()]
        newline = "\n" in m.group(0)
        if not newline and (part.count("(") > part.count(")") or part.count("`") % 2):
            continue
        out.append(part)
        start = m.end()
    out.append(text[start:])
    # a run of spaces is read as one: the rules' ``.+?\s+word`` patterns would try a long
    # run again from each of its characters (time quadratic in its length)
    return [one_line(s) for s in out if s.strip()]


# A self-repair after "no" ("no wait, …", "no scratch that", "no sorry, …") corrects what was
# just said or done; it is no prohibition.
SELF_REPAIR = r"(?:wait|actually|sorry|scratch|hold\s+on|i\s+mean)\b"

# "Stop, not cargo test": the user stopping a command; what to run instead is said next.
STOPPING = re.compile(r"^(?:stop|no|nope|whoa|woah|wait|hey|hold\s+on)\W+not\b", re.I)


QUESTION = re.compile(
    r"(?<=[\w)'\"`])\?\s*$|^(?:why|what|how|where|when|which|who|is|are|does|do|did|can|"
    r"could|would)\b[^.]*\?",
    re.I,
)


# Function words that cannot open an imperative; a sentence opening with anything else that
# is a base-form verb (no -s/-ed/-ing ending, or a short common one) reads as an instruction.
_NOT_IMPERATIVE = frozenset(
    "the a an this that these those it its it's there here i i'm i've my our your their he "
    "she they we you which what when why how where who is are was were does did can could "
    "would will has have had if maybe perhaps also not no yes thanks thank hi hello hey ok "
    "okay sure great nice cool so but and or then now looks seems that's what's who's i'll "
    "haha lol hmm ugh oh ah wow yay btw fyi well oops "
    "i'd we're you're they're sorry apologies".split()
)
# A subordinator opens a clause whose main clause follows. Unpunctuated, "before you change
# anything show me the diff" or "after a PR gets fixups squash them" is an instruction under a
# condition on any case, and reads as one (the subordinator taken for its verb, as before);
# "before the student resubmits I want the test fixed" waits for one coming event of a
# particular someone or something (a definite subject), and is no instruction at all.
_SUBORDINATORS = frozenset(
    "before after while whenever once unless until since because although though".split()
)
_ONE_EVENT = re.compile(r"^\S+\s+(?:the|my|his|her|their|this|that)\s+\w+", re.I)
# "-ly" makes adverbs of adjectives ("locally", "quickly"); "-ply" ends verbs ("apply",
# "reply", "supply").
_BASE_VERB_ENDINGS = re.compile(r"(?:ing|ed|(?<!p)ly)$")
# Base-form verbs that end in -ing all the same ("Ping me before …", "Bring it back").
_ING_VERBS = frozenset("ping bring ring sing string swing sting fling cling spring wring".split())

# A leading time or condition clause ("when ur done, no debugPrint left"): the rule is what
# follows its comma.
_LEADING_CLAUSE = re.compile(
    r"^(?:(?:when|whenever|once|after|before|if|whatever|wherever|however)\b[^,;:]{1,60}"
    r"|(?:at|in)\s+the\s+(?:end|start|beginning)|at\s+the\s+end\s+of\s+\w+(?:\s+\w+)?),\s*",
    re.I,
)


# An interjection before what is said ("Oh and …", "Hmm, …", "No no, …"); a single "no" may
# open a prohibition ("no sudo please") and stays.
_INTERJECTION_LEAD = re.compile(
    r"^(?:(?:oh+|ah+|aha|hmm+|hm|um+|uh+|well|btw|no(?:\s*,?\s*no)+|yes|yeah)\b[\s,!.]*"
    r"|not\s*,\s*)",
    re.I,
)
# "one request:", "a small wish:", "same as in the other repo:": a short lead-in before a
# colon announces what follows; the sentence is what comes after it.
_COLON_LEAD = re.compile(r"^(?P<lead>[^:`=/()\[\]]{1,48}?):\s+(?=\S)")
# "Kenji says:", "Priya told me that …", "he wants …": the speaker of a relayed rule; the
# rule is what they said.
_ATTRIBUTION = re.compile(
    r"^(?:[A-Z][a-z]+|(?i:he|she|they|my\s+\w+|our\s+\w+|the\s+\w+\s+team))\s+"
    r"(?i:says?|said|told\s+(?:me|us)|tells\s+(?:me|us)|wants|insists|reminded\s+(?:me|us))"
    r"(?:\s+that)?[\s,:]+"
)
# "Before every commit please run …": a recurring time before a polite imperative.
_RECURRING_LEAD = re.compile(
    r"^(?:before|after)\s+(?:every|each|any)\s+\w+(?:\s+\w+)?\s+(?=(?:please|pls)\b)", re.I
)


# "in library code:", "for every repo of mine:": a lead-in that scopes the rule is part of it.
_SCOPE_LEAD = re.compile(r"^(?:and\s+)?(?:in|for|on|at|under|inside|within|across)\b", re.I)


def recurring_lead(s: str) -> bool:
    """Whether the sentence opens with a recurring time before a polite imperative."""
    return _RECURRING_LEAD.match(LEADING_WHEN.sub("", s.strip())) is not None


def _strip_colon_lead(s: str) -> str:
    m = _COLON_LEAD.match(s)
    if m is None or len(words_of(m.group("lead"))) > 9 or len(words_of(s[m.end() :])) < 3:
        return s
    return s if _SCOPE_LEAD.match(m.group("lead")) else s[m.end() :]


def body_of(s: str) -> str:
    """The sentence without its lead-ins (``lead_stripped``) and a leading time or condition
    clause."""
    body = lead_stripped(s)
    m = _LEADING_CLAUSE.match(body)
    # a clause that says "please" is the request itself, not its time ("before X please run Y")
    if m is None or re.search(r"\b(?:please|pls)\b", m.group(0), re.I):
        return body
    return body[m.end() :].strip() or body


def lead_stripped(s: str) -> str:
    """The sentence without leading fillers, adverbials ("please", "and", "from now on"),
    interjections, a lead-in before a colon and the speaker of a relayed rule."""
    body = s.strip()
    for _ in range(4):
        before = body
        body = LEADING_WHEN.sub("", body).strip()
        body = _INTERJECTION_LEAD.sub("", body).strip() or body
        if before == s.strip():  # one lead-in: "feat: / fix:" after it are the rule's words
            body = _strip_colon_lead(body)
        body = _ATTRIBUTION.sub("", body)
        body = _RECURRING_LEAD.sub("", body)
        if body == before:
            break
    return body


def first_word(s: str) -> str:
    words = words_of(body_of(s))
    return words[0] if words else ""


# A short noun phrase and a finite verb of how something behaved ("flutter test explodes
# right after pulling", "the build is red"): a report, even when its first word could be a verb.
_REPORT = re.compile(
    r"^(?:[\w.'-]+\s+){1,3}(?:is|are|was|were|explodes|exploded|fails|failed|breaks|broke"
    r"|crashes|crashed|hangs|hung|dies|died|errors|blows|blew|times\s+out|timed\s+out"
    r"|doesn't|does\s+not|won't|isn't|keeps\s+\w+ing)\b"
    # "repair only hides it": a subject, an adverb and a verb in the third person on an object
    r"|^[\w.'-]+\s+(?:only|just|also|still|really|even|actually|always|never)\s+[a-z]+s"
    r"\s+(?:it|them|the|a|an|this|that|these|those|everything|nothing)\b",
    re.I,
)


def imperative(s: str) -> bool:
    w = first_word(s)
    if not w or w in _NOT_IMPERATIVE or (_BASE_VERB_ENDINGS.search(w) and w not in _ING_VERBS):
        return False
    body = body_of(s)
    # (a flag named like one, "--since the epoch drops records", is no subordinator)
    if w in _SUBORDINATORS and body[:1].isalpha() and _ONE_EVENT.match(body):
        return False
    if w not in ("make", "be") and _REPORT.match(body):
        return False
    # A base-form verb does not take the third-person -s ("pytest hangs", "ruff fails").
    return not (w.endswith("s") and not w.endswith("ss") and len(w) > 3)


def strip_tail(text: str) -> str:
    text = re.sub(r"[,\s]+please[.!]*$", "", text.strip(), flags=re.I)
    return text.rstrip(".!?;:,").strip()


# Dictated speech has no punctuation: a long run of words with no comma, colon or dash
# inside is several clauses said in one breath. Where speech marks a new clause without
# punctuation, by closed-class words only: a hesitation ("um"), a run of acknowledgements
# ("okay yes"), "also", a conjunction before a subordinator ("and before you …"), a
# prohibition, and a new first-person subject after a content word ("… alone I do not want
# …", "… take that out we do not use …").
_DICTATED_MIN_WORDS = 14
_INNER_PUNCT = re.compile(r"[,;:()`\"—–]|\s-\s|[.!?]\s")
_HESITATION = frozenset("um umm uh uhh er erm hmm".split())
_ACK_RUN = (
    (_POSITIVE_WORDS | _NEUTRAL_WORDS | frozenset(["fine"]))
    - _HESITATION
    - frozenset("on do it please go keep hm".split())
)
_SUBORDINATOR = frozenset("before whenever when if while after once unless since".split())
# Words after which "I" continues the clause ("till I say", "what I said", "than I thought").
_BINDS_NEXT = frozenset(
    "till until when whenever if what that as and but or so because before after since where "
    "how than which who whether while once unless though although why "
    "do does did can could should would will shall may might must have had am".split()
)


# Words a "no" completes ("there is no …", "say no to …", "with no …").
_TAKES_NO = frozenset(
    "is are was were be been say said says with of to for in on at by has have had there no "
    "absolutely and or but so that if whether than got get gets see saw find found need "
    "needs give gives gave make makes made take takes took leave left want wants".split()
)


_ANNOUNCING = frozenset("one another other last first next second third final".split())


def dictated(sentence: str) -> bool:
    """Whether a sentence reads as dictated: long, with no punctuation inside it."""
    core = sentence.strip().rstrip(".!?")
    return len(core.split()) >= _DICTATED_MIN_WORDS and _INNER_PUNCT.search(core) is None


def dictated_clauses(sentence: str) -> list[str]:
    """The clauses of a dictated sentence (itself alone when it is not dictated)."""
    if not dictated(sentence):
        return [sentence]
    tokens = sentence.strip().split()
    clauses: list[list[str]] = [[]]

    def cut() -> None:
        if clauses[-1]:
            clauses.append([])

    i = 0
    while i < len(tokens):
        word = tokens[i]
        low = word.lower().strip(".!?")
        nxt = tokens[i + 1].lower().strip(".!?") if i + 1 < len(tokens) else ""
        prev = clauses[-1][-1].lower() if clauses[-1] else ""
        if low in _HESITATION:
            if prev == "and":
                clauses[-1].pop()
            cut()
            i += 1
            continue
        # "before and after": a coordination of two subordinators stays one phrase
        if low == "and" and (nxt in _SUBORDINATOR or nxt == "also") and prev not in _SUBORDINATOR:
            cut()
            i += 1
            continue
        # "one thing …", "other thing …", "by the way …": an announcement, not part of what
        # is said
        if low in _ANNOUNCING and nxt in ("thing", "things"):
            cut()
            i += 2
            continue
        if [t.lower() for t in tokens[i : i + 3]] == ["by", "the", "way"]:
            cut()
            i += 3
            continue
        # "whenever you add X also add Y": "also" after a condition is in its main clause
        if low == "also" and clauses[-1] and clauses[-1][0].lower() not in _SUBORDINATOR:
            cut()
        # "… burned before no force push without asking": a prohibition opens a clause
        elif low == "no" and clauses[-1] and prev not in _TAKES_NO | _ACK_RUN:
            cut()
        elif low in _ACK_RUN and nxt in _ACK_RUN and clauses[-1] and prev not in _BINDS_NEXT:
            cut()
        # a first-person subject ("I", "we": never an object) opens a clause; "the C I
        # rejects …" is a spelled acronym, not the pronoun (whose verb takes no -s)
        elif (
            (word == "I" or low == "we")
            and len(clauses[-1]) >= 3  # "Today I need …": a lead-in scopes the clause
            and prev not in _BINDS_NEXT | _ACK_RUN
            and not (len(prev) == 1 or (nxt.endswith("s") and nxt not in ("was", "is")))
        ):
            cut()
        clauses[-1].append(word)
        i += 1
    return [" ".join(c) for c in clauses if c]


# A run-on sentence is the written twin of a dictated one: several clauses, each with a
# subject and a verb of its own, spliced with commas ("…, could you do a dry run, and just so
# you know my supervisor wants the login nodes kept for git only, so anything that runs rules
# goes through sbatch, the dry run itself is fine though"). A rule buried in it is a clause,
# not the paragraph. Long (``_RUN_ON_MIN_WORDS``) with at least two commas: no sentence of
# that length with commas in it is one clause.
_RUN_ON_MIN_WORDS = 40
# After a comma, a closed-class word that opens a new clause: a conjunction, a subordinator
# or a discourse marker, or a personal subject ("I", "we", "my supervisor", "she").
_CLAUSE_OPENER = re.compile(
    r",\s+(?=(?:and|so|but|or|plus|then|also|because|since|though|although|which|while|"
    r"anyway|oh|ideally|honestly|basically|i|i'm|i've|i'd|i'll|we|we're|we've|you|you're|"
    r"she|he|they|it|it's|it'd|that's|there's|my|our|let's)\b)",
    re.I,
)
_MIN_CLAUSE_WORDS = 5
# A subordinate clause belongs to a main clause: one that sets the time or condition ("while
# you're in there", "if it needs a scratch copy") comes before its main clause; one that
# gives a reason, a concession or a relative ("because the defaults move", "which we added
# last week") after it.
_LEADS_MAIN = frozenset("while if when whenever once unless before after".split())
_FOLLOWS_MAIN = frozenset("because since though although which".split())


def run_on(sentence: str) -> bool:
    """Whether a sentence is several comma-spliced clauses: long, with two commas or more."""
    return len(sentence.split()) >= _RUN_ON_MIN_WORDS and sentence.count(",") >= 2


def run_on_clauses(sentence: str) -> list[str]:
    """The clauses of a run-on sentence (itself alone when it is not one): cut at a comma
    before a word that opens a clause, outside parentheses and code spans; a piece of fewer
    than five words ("Hi", "which we added last week") stays with the clause before it, or
    the one after when it opens the sentence."""
    if not run_on(sentence):
        return [sentence]
    pieces: list[str] = []
    start = seen = depth = ticks = 0  # brackets open and backticks met before ``seen``
    for m in _CLAUSE_OPENER.finditer(sentence):
        part = sentence[seen : m.start()]
        depth += part.count("(") - part.count(")")
        ticks += part.count("`")
        seen = m.start()
        if depth > 0 or ticks % 2:
            continue  # inside parentheses or a code span
        pieces.append(sentence[start : m.start()])
        start = m.end()
    pieces.append(sentence[start:])
    out: list[str] = []
    carry = ""
    for piece in (p.strip() for p in pieces):
        opener = words_of(piece)[:2]
        if not opener:
            continue
        leads = opener[-1 if opener[0] == "and" else 0] in _LEADS_MAIN
        follows = opener[0] in _FOLLOWS_MAIN
        if carry:  # the clause it held back opens this one
            piece, carry, follows = f"{carry}, {piece}", "", False
        short = len(piece.split()) < _MIN_CLAUSE_WORDS
        if leads:
            carry = piece  # "and while you're in there, …": its main clause comes next
        elif out and (short or follows):
            out[-1] = f"{out[-1]}, {piece}"
        elif short:
            carry = piece
        else:
            out.append(piece)
    if carry:
        out.append(carry)
    return out


def spoken_sentences(text: str) -> list[str]:
    """The sentences of a message, a dictated or run-on one cut into its clauses."""
    return [
        c for s in split_sentences(text) for d in dictated_clauses(s) for c in run_on_clauses(d)
    ]


# A stopgap, allowed only for now: "use my token for now", "point it at staging temporarily",
# "temporary, just for today: run them with X=0". What it names is no switch of tools and no
# way to work (``changes``, ``judge.stopgap_commands``).
FOR_NOW = re.compile(
    r"\b(?:for\s+now|for\s+the\s+(?:moment|time\s+being)|temporar(?:y|ily)|this\s+once"
    r"|(?:just\s+)?for\s+today)\b",
    re.I,
)
