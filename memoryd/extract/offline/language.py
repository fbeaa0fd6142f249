"""User language: acknowledgements, complaints, rejections and what a message asks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memoryd.extract.offline.declared import counted_preface
from memoryd.extract.offline.limits import TITLE_CHARS
from memoryd.extract.offline.norms import recurs, scope_pointer
from memoryd.extract.offline.rules import (
    is_preference,
)
from memoryd.extract.offline.sentences import (
    CLAUSE_SPLIT,
    FILLER_WORDS,
    FOR_NOW,
    QUESTION,
    SELF_REPAIR,
    STOPPING,
    body_of,
    clause_kind,
    first_word,
    imperative,
    normalize_quotes,
    split_sentences,
    spoken_sentences,
    strip_tail,
    words_of,
)
from memoryd.textutil import FILLER as MEANINGLESS
from memoryd.textutil import clip, norm_words, one_line, overlap, stem, without_transient

# A refusal, in any register, as the first clause of an answer: "nah", "no thanks", "I'd
# rather not", "let's not", "better not", "hmm, no", "please don't (do that)".
_REFUSAL = (
    r"|^(?:nah|nope|no\s+no|no\s+thanks|(?:hmm+|um+|uh+|well)\s+no)[.!]*$"
    r"|^(?:i'd|i\s+would)\s+(?:much\s+)?rather\s+not\b|^let's\s+not\b|^better\s+not\b"
    r"|^please\s+(?:don't|do\s+not|not)(?:\s+(?:do\s+)?(?:that|it|this|like\s+that|that\s+way))?[.!]*$"
)
_NEGATIVE = re.compile(
    r"\b(?:that|it|this|which)\s*(?:'s\s+)?(?:still\s+)?(?:doesn't|does not|didn't|did not|won't"
    r"|isn't|is not)\s+(?:work|working|help|compile|build|run|pass|fix|right|correct)\b"
    r"|\b(?:still|again)\s+(?:fails?|failing|broken|crash(?:es|ing)?|errors?|erroring"
    r"|doesn't work|not working|the same)\b"
    r"|\bnot working\b|\b(?:is|are|was)\s+(?:still\s+)?broken\b"
    r"|^(?:no|nope|wrong)[.!]*$"
    + rf"|^no\s+{SELF_REPAIR}"
    + _REFUSAL
    + r"|\b(?:that's|that is|this is|it's|you're|you are)\s+(?:wrong|incorrect"
    r"|not (?:right|correct|it|what i (?:asked|wanted|meant)))"
    r"|\bnot what i (?:asked|wanted|meant)\b"
    r"|\byou (?:broke|deleted|removed|forgot|missed|ignored)\b"
    r"|^(?:undo|revert)\s+(?:that|it|this|your|those|these)\b",
    re.I,
)

# Chatter: a short message that opens with an acknowledgement or a greeting and asks for
# nothing (no instruction, no question, no technical token) is not a new task.
_GREETING = frozenset("hi hello hey good morning evening night bye goodbye cheers see talk".split())
_SMALL_TALK_QUESTION = (
    _GREETING
    | FILLER_WORDS
    | frozenset("how are you doing going good day things everything".split())
)
_TECHNICAL = re.compile(r"[`/\\_=<>{}\[\]#@$]|\.\w{1,5}\b|\d|[a-z][A-Z]")
_LEAD_IN = re.compile(r"^(?:now|then|so|and|also|please|next|ok(?:ay)?)\b[,\s]*", re.I)


def _chatter(sentences: list[str]) -> bool:
    text = " ".join(sentences)
    words = words_of(text)
    if not words or len(words) > 14 or _TECHNICAL.search(text):
        return False
    if "?" in text and not set(words) <= _SMALL_TALK_QUESTION:
        return False
    clauses = [c for s in sentences for c in CLAUSE_SPLIT.split(s) if c.strip()]
    first = words_of(clauses[0])
    if clause_kind(clauses[0]) == "other" and not (first and first[0] in _GREETING):
        return False
    rest = [_LEAD_IN.sub("", c.strip()) for c in clauses[1:]]
    return not any(imperative(c) and first_word(c) not in _GREETING for c in rest if c.strip())


_REJECTION = re.compile(
    r"^(?:no|nope|nah|wrong)\b|^(?:hmm+|um+|uh+|well)[,\s]+no\b"
    r"|^(?:i'd|i\s+would)\s+(?:much\s+)?rather\s+not\b|^(?:let's|better)\s+not\b"
    r"|^please\s+(?:don't|do\s+not|not)\b|\b(?:undo|revert|roll\s*back|put\s+(?:it|that|them)\s+back"
    r"|back\s+out)\b|^(?:don't|do\s+not|stop|never)\b|\bnot\s+what\s+i\s+(?:asked|wanted|meant)"
    r"|\bi\s+(?:didn't|did\s+not)\s+ask\b|\byou\s+(?:broke|deleted|removed)\b"
    r"|\bleave\s+\S+(?:\s+\S+)?\s+alone\b|\b(?:that's|that\s+is)\s+(?:wrong|not\s+right)",
    re.I,
)


# "I could run `flyway:repair`", "The quickest way is to put @Disabled on it", "Cleanest would
# be `scancel -u me`": the assistant offering an action, which the user's next message accepts
# or refuses, as it would a question.
_PROPOSAL = re.compile(
    r"\b(?:i\s+(?:could|can|would|will|'d|suggest|propose|recommend)"
    r"|shall\s+i|should\s+i|do\s+you\s+want\s+me|we\s+could|you\s+could|how\s+about"
    r"|the\s+(?:quickest|easiest|simplest|fastest|cleanest)\s+(?:way|fix|option)\b[^.]*\bis"
    r"|(?:quickest|easiest|simplest|fastest|cleanest)\s+would\s+be)\b",
    re.I,
)


def proposes(text: str) -> bool:
    """Whether the last sentence of an assistant's message offers an action."""
    sentences = split_sentences(text)
    return bool(sentences) and _PROPOSAL.search(sentences[-1]) is not None


def proposal_sentence(text: str) -> str:
    """The last sentence of a message that offers an action, or ""."""
    return next((s for s in reversed(split_sentences(text)) if _PROPOSAL.search(s)), "")


def before_offer(text: str) -> str:
    """What a message that offers an action says before its first offer: the findings a
    refusal of the offer leaves standing ("The drift is V7's checksum: it was edited after it
    ran. I can run `flyway repair`." → its first sentence); a bare "Shall I?" offers the
    sentence before it. "" when it opens with the offer or offers nothing."""
    sentences = split_sentences(text)
    at = next((i for i, s in enumerate(sentences) if _PROPOSAL.search(s)), None)
    if at is None:
        return ""
    if at and _BARE_OFFER.match(sentences[at].strip()):
        at -= 1  # "Simplest is `git push --force`. Shall I?": the offer is the sentence before
    start = text.find(sentences[at])
    return text[:start].rstrip() if start > 0 else ""


# An offer that names nothing of its own: what it offers is the sentence before it.
_BARE_OFFER = re.compile(r"^(?:\S+\s+){0,5}\S+\?$")


def is_rejection(text: str) -> bool:
    """Whether a complaint refuses what was just done (undo it, don't), rather than reporting
    that the problem persists."""
    first = split_sentences(normalize_quotes(text))
    return bool(first) and _REJECTION.search(first[0].strip()) is not None


_REQUEST = re.compile(r"\b(?:can|could|would|will)\s+you\b|\bplease\b|\?\s*$", re.I)
_TOPIC_SHIFT = re.compile(r"^(?:anyway|anyhow|so|ok(?:ay)?)\b[:,]?\s*", re.I)


def _asks(s: str) -> bool:
    body = _TOPIC_SHIFT.sub("", s.strip())
    return _REQUEST.search(body) is not None or imperative(body)


_POINTER = re.compile(r"\b(?:it|that|this|them|those|these|so)\b", re.I)
# Words of a request that carry no content of their own ("can you do it like this pls").
_REQUEST_WORDS = frozenset(
    "can could would will you please pls plz do it that this them those these so like way "
    "just then now again same the a an go ahead and for me us".split()
)


# "I connected the VPN, try again": a request to retry continues the task it retries.
_RETRY = re.compile(
    r"\b(?:try|run\s+it|do\s+it|give\s+it\s+a\s+go)\s+again\b|\b(?:retry|rerun)\b", re.I
)


def _points_back(s: str) -> bool:
    """A request whose only object is a pronoun: it continues the task it refers to ("can
    you do it like this", and a verb on the thing at hand: "merge them", "approve it")."""
    if _POINTER.search(s) is None:
        return False
    rest = [w for w in words_of(s) if w not in _REQUEST_WORDS]
    return not rest or (len(rest) == 1 and imperative(s) and rest[0] == first_word(s))


@dataclass(frozen=True)
class MessageReading:
    positive: bool
    negative: bool
    follow_up: bool  # adds to the current task instead of opening a new one
    preferences: tuple[str, ...]
    title: str
    chatter: bool = False  # an acknowledgement or small talk: never a task of its own
    # the other sentences the title could come from, when the message asks for nothing
    # plainly: which one the task was about, its work tells (``worktitle.worked_on``)
    title_sentences: tuple[str, ...] = ()


def _rules_of(sentences: list[str]) -> tuple[str, ...]:
    """The sentences that state standing rules; a sentence that only points to where else
    the one before holds ("same as in the other service") is joined to that one, which it
    makes a rule even when it reads as a statement of how things are."""
    out: list[str] = []
    announced = 0  # sentences still to come that a count before them made rules
    for i, s in enumerate(sentences):
        if counted_preface(s):
            announced = counted_preface(s)  # "Three complaints first.": no rule of its own
            continue
        if announced and not QUESTION.search(s) and len(words_of(s)) >= 4:
            announced -= 1
            out.append(s)
        elif scope_pointer(s):
            before = sentences[i - 1] if i > 0 else ""
            if len(words_of(before)) >= 3 and not QUESTION.search(before):
                if out and out[-1] == before:
                    out.pop()
                out.append(f"{before} {s}")
        elif is_preference(s):
            out.append(s)
    return tuple(out)


# "could we move to OpenTofu one day? actually forget it, not now": the sentence before is
# taken back, and asks for nothing; what follows the words that take it back still counts
# ("scratch that, use 4011").
_TAKES_BACK = re.compile(
    r"^(?:(?:actually|oh|ah|hmm|wait|no|ok(?:ay)?)\W+)*"
    r"(?:forget\s+(?:about\s+)?(?:it|that|this)|never\s*mind|scratch\s+that|ignore\s+(?:that|this))"
    r"(?=\s*(?:[,.;:!-]|$))",
    re.I,
)
_LATER = re.compile(r"(?:(?:not|no)\s+(?:now|today|yet)|later|for\s+now|another\s+time)\W*", re.I)


def taken_back(sentences: Sequence[str]) -> list[str]:
    """``sentences`` without those the next one takes back, and without the words that take
    them back."""
    out: list[str] = []
    for s in sentences:
        m = _TAKES_BACK.match(s.strip())
        if m is None:
            out.append(s)
            continue
        if out:
            out.pop()
        rest = s.strip()[m.end() :].strip(" ,;:.!-")
        if rest and not _LATER.fullmatch(rest):
            out.append(rest)
    return out


def read_message(text: str) -> MessageReading:
    said = spoken_sentences(text)
    sentences = taken_back(said)
    preferences = _rules_of(sentences)
    clauses = [c for s in sentences for c in CLAUSE_SPLIT.split(s) if c.strip()]
    positive = False
    i = 0
    while i < len(clauses):
        kind = clause_kind(clauses[i])
        if kind == "other":
            break
        positive = positive or kind == "positive"
        i += 1
    negative = False
    if i < len(clauses):
        first = re.sub(r"^\s*(?:but|however|and|though)\b[,\s]*", "", clauses[i], flags=re.I)
        negative = _NEGATIVE.search(normalize_quotes(first)) is not None
    # "Stop, not cargo test": stopping the agent is a correction, whatever follows
    negative = negative or bool(sentences and STOPPING.match(body_of(sentences[0])))
    if negative:
        positive = False
    substantive = [
        s
        for s in sentences
        if s not in preferences
        and not scope_pointer(s)
        and not counted_preface(s)
        and any(clause_kind(c) == "other" for c in CLAUSE_SPLIT.split(s) if c.strip())
    ]
    chatter = not negative and not preferences and _chatter(sentences)
    if chatter:
        substantive = []
    # The title is the sentence that asks for something, not a remark before it.
    asking = [s for s in substantive if _REQUEST.search(s)] or [s for s in substantive if _asks(s)]
    # "Can you do it like this?": what it asks is only a pointer back to the work at hand
    follow_up = (
        negative
        or not substantive
        or (bool(asking) and all(_points_back(s) for s in asking))
        # "I connected the VPN, try again": asks for nothing new but the retry
        or (
            any(_RETRY.search(s) for s in sentences)
            and all(_points_back(s) or _RETRY.search(s) for s in asking)
        )
        # "never mind, I fixed it myself": taking something back asks for nothing new
        or (sentences != said and not asking)
    )
    # A fragment of two words before a fuller request is an aside ("afk, lunch. rerun the
    # seeds when you can"), not what the message asks.
    fuller = [s for s in asking if len(words_of(s)) > 2]
    pool = fuller or asking or substantive or sentences or [text]
    title = title_of(pool[0], text)
    # No sentence that plainly asks, several that could ("Back from the meetup, great talks.
    # Today: npm audit shows a vuln."): which one the task is about, the work tells
    # (worktitle.py); not a two-word fragment (an aside, as above) nor a stopgap ("for
    # today, just …").
    requested = any(_REQUEST.search(s) for s in substantive)
    others = tuple(
        s
        for s in substantive
        if not requested and s != pool[0] and len(words_of(s)) > 2 and not FOR_NOW.search(s)
    )
    return MessageReading(
        positive=positive,
        negative=negative,
        follow_up=follow_up,
        preferences=preferences,
        title=title,
        chatter=chatter,
        title_sentences=others,
    )


def title_of(sentence: str, text: str) -> str:
    """A task's title from the sentence of its request (``text``, the whole message)."""
    # Drop a leading acknowledgement ("Thanks, now add tests" → "now add tests").
    parts = [c for c in CLAUSE_SPLIT.split(sentence) if c.strip()]
    while len(parts) > 1 and clause_kind(parts[0]) != "other":
        parts.pop(0)
    # a title is shown in MEMORY.md: a value of one run in the user's words (a pid they
    # killed, a temp dir) is not, as it is not in a knowledge line
    title = strip_tail(without_transient(", ".join(parts))) or without_transient(text)
    # '' when nothing is left: the task is titled by what it did (worktitle.py)
    return clip(title, TITLE_CHARS)


# An answer that accepts what the user just asked and says it back as a habit: an
# acknowledgement (a closed class of words, optionally "for <topic>") before a colon or a
# comma ("Noted: …", "Got it, …", "Will do: …"), or a commitment from now on ("…; from now
# on commit messages …").
# Words that take a thing on for later ("noted", "will do"); "sure" and "okay" take on a
# task for now and say nothing back.
_ACK = (
    r"(?:noted|understood|got\s+it|will\s+do|agreed|roger|acknowledged|copy\s+that"
    r"|(?:i'll|i\s+will|will)\s+remember(?:\s+(?:that|this))?|remembered)"
)
_ACCEPTED = re.compile(
    rf"^(?:{_ACK}(?:\s+for\s+[\w./-]+(?:\s+[\w./-]+){{0,2}})?\s*[:,—–]"
    r"|(?:from\s+now\s+on|going\s+forward|from\s+here\s+on|in\s+(?:the\s+)?future)\b,?)\s*"
    r"(?P<rule>.+)$",
    re.I,
)
# "Noted." alone: the sentence after it says the rule back; "Ruff before every commit, got
# it.": the acknowledgement after the rule.
_ACK_ALONE = re.compile(rf"^{_ACK}[.!]*$", re.I)
_ACK_AFTER = re.compile(rf"^(?P<rule>.+?)\s*(?:[,;—–]|\s-)\s*{_ACK}[.!]*$", re.I)
# A report of what was done ("Got it, added the line …") or of what happens now ("Got it,
# running the tests now", "I'll start with the parser") is no habit said back.
_DONE_REPORT = re.compile(
    r"^(?:\w+ed|done|did|made|ran|wrote|put|set|\w+ing|i'll|i\s+will|i'm|i\s+am|let\s+me"
    r"|let's|here|now|first|next|then)\b|\b(?:right\s+now|right\s+away|for\s+now)\b"
    r"|(?<!from\s)\bnow[.!]*$",
    re.I,
)


_WHOSE = frozenset("your my our their his her its".split())


def _meaning(text: str) -> set[str]:
    return {stem(w) for w in norm_words(text).split() if len(w) > 2} - MEANINGLESS - _WHOSE


def restated_rules(user_text: str, answer: str) -> list[tuple[str, str]]:
    """The rules an answer says back to the user's message just before it, each as (the
    user's clause it restates, the rule in the answer's words). Being said back is what makes
    an instruction that reads as a request for now a standing rule: the user's words
    (dictated, run together, misheard) need not have any rule's shape. Rules said back in
    one sentence joined by ", and" are one rule each."""
    clauses = [c for c in spoken_sentences(user_text) if not QUESTION.search(c)]
    out: list[tuple[str, str]] = []
    sentences = split_sentences(normalize_quotes(answer)) if clauses else []
    for i, sentence in enumerate(sentences):
        m = _ACCEPTED.match(sentence.strip()) or _ACK_AFTER.match(sentence.strip())
        after_ack = i > 0 and _ACK_ALONE.match(sentences[i - 1].strip()) is not None
        if (m is None and not after_ack) or QUESTION.search(sentence):
            continue
        rule = m.group("rule") if m else sentence
        for part in re.split(r",\s*and\s+", strip_tail(rule)):
            said = _meaning(part)
            # the clause of the user's message that shares the most meaning with it
            best = max(clauses, key=lambda c: overlap(said, _meaning(c)))
            if not _DONE_REPORT.match(part) and overlap(said, _meaning(best)) >= 2:
                # "I ask before any force push": the agent's habit is the instruction
                out.append((best, strip_tail(re.sub(r"^I\s+(?=[a-z]+\b)", "", part))))
    return out


def says_more(rule: str, than: str) -> bool:
    """Whether a rule holds meaning another does not have (more than a third of its words)."""
    said = _meaning(rule)
    return len(said) - overlap(said, _meaning(than)) > len(said) / 3


def condenses(rule: str, implication: str) -> bool:
    """Whether a rule said back is the short form of a long implication: nothing in it the
    implication lacks, in under half its words (a dictated run-on has more than 15)."""
    n = len(words_of(implication))
    return n > 15 and len(words_of(rule)) < n / 2 and not says_more(rule, implication)


# "Should I always squash before merging?" — "yes please": an offer of a habit the user
# accepts is a rule, in the offer's words.
_OFFER = re.compile(
    r"^(?:should|shall|can|may)\s+i\s+(?P<x>.+?)\s*\?$"
    r"|^(?:do\s+you\s+)?want\s+me\s+to\s+(?P<y>.+?)\s*\?$"
    # "I'll add a test each time, if you like": an offer said as a statement
    r"|^(?:i'll|i\s+will|i\s+can|i\s+could)\s+(?P<z>.+?),?\s+if\s+(?:that\s+helps|you\s+(?:like"
    r"|want|prefer|agree))[.!]*$",
    re.I,
)


def offers_habit(answer: str) -> bool:
    """Whether an answer ends by offering a habit in a statement ("I'll X each time, if that
    helps"): the reply accepts or refuses it as it would a question."""
    sentences = split_sentences(normalize_quotes(answer))
    m = _OFFER.match(sentences[-1].strip()) if sentences else None
    return m is not None and m.group("z") is not None and recurs(m.group("z"))


_YES = frozenset("yes yep yeah yup sure please absolutely definitely correct exactly".split())


def accepted_offer(answer: str, reply: str) -> tuple[str, str] | None:
    """The habit an answer's closing question offers and the reply accepts, as (the
    question, the rule), or None."""
    sentences = split_sentences(normalize_quotes(answer))
    m = _OFFER.match(sentences[-1].strip()) if sentences else None
    words = words_of(reply)
    if m is None or not words or words[0] not in _YES or read_message(reply).negative:
        return None
    offer = m.group("x") or m.group("y") or m.group("z")
    return (sentences[-1].strip(), offer) if recurs(offer) else None


# "I propose X: …" — "ok, do that, and the same in all my projects": a proposal the user
# accepts and extends to every such case becomes a rule in the proposal's words; the reply
# (often "like you say", "the same") only gives its scope.
_PROPOSING = re.compile(r"\bi\s+(?:propose|suggest|recommend)\s+(?:that\s+|to\s+)?", re.I)
_ACCEPTING = frozenset("ok okay yes yeah yep sure good fine agreed alright perfect great".split())
# "like you say", "the same", "do that": the reply's content is the proposal
_POINTS_TO_PROPOSAL = re.compile(
    r"\b(?:like|as)\s+you\s+(?:say|said|propose[ds]?|suggest(?:ed|s)?)\b|\bthe\s+same\b"
    r"|\bdo\s+(?:it|that|this|so)\b|\b(?:like|as)\s+(?:this|that)\b|\bwith\s+the\s+\w+\s*$",
    re.I,
)
_POINTS_AHEAD = re.compile(r"\b(?:like\s+this|this\s+way|as\s+follows|the\s+following)\b", re.I)
_EVERY_CASE = re.compile(r"\b(?:for|in|on|with|to)\s+(?:every|each|all|any)\b", re.I)


def accepted_proposal(answer: str, reply: str) -> tuple[str, str] | None:
    """The rule an answer proposes when the reply accepts it for every such case, as (the
    reply, the rule), or None."""
    words = words_of(reply)
    if not words or words[0] not in _ACCEPTING or read_message(reply).negative:
        return None
    if not (recurs(reply) or _EVERY_CASE.search(reply)) or not _POINTS_TO_PROPOSAL.search(reply):
        return None  # a reply that says the rule in its own words is the rule
    sentences = split_sentences(normalize_quotes(answer))
    for i, sentence in enumerate(sentences):
        if sentence.rstrip().endswith(":") and i + 1 < len(sentences):
            sentence = f"{sentence} {sentences[i + 1]}"  # "… like this:" and then the command
        m = _PROPOSING.search(sentence)
        if m is None or QUESTION.search(sentence):
            continue
        # what is proposed, without the reason after a colon or a dash (outside code spans:
        # "`key: value`" is one thing)
        proposed = sentence[m.end() :]
        masked = re.sub(r"`[^`]*`", lambda c: "x" * len(c.group(0)), proposed)
        cut = re.search(r":\s|\s[—–]\s", masked)
        if cut and _POINTS_AHEAD.search(masked[: cut.start()]):
            cut = None  # "call it like this: `…`": what follows the colon is the rule
        rule = strip_tail(one_line(proposed[: cut.start()] if cut else proposed))
        if rule:
            return one_line(reply), f"use {rule}" if rule.startswith("`") else rule
    return None


def shared_meaning(a: str, b: str) -> int:
    """How many meaning words of ``a`` (not fillers, not whose) ``b`` holds too."""
    return overlap(_meaning(a), _meaning(b))


def meaning_of(text: str) -> set[str]:
    """The meaning words of ``text`` (stems; no fillers, no whose), read once for many
    comparisons."""
    return _meaning(text)


def restates(reply: str, answer: str) -> bool:
    """Whether a user's reply says an answer back in their own words (three meaning words in
    common, a question included: "so X is Y?"), which makes what the answer explained a
    lesson; a refusal of it is none."""
    return restates_words(reply, _meaning(answer))


def restates_words(reply: str, answer_words: set[str]) -> bool:
    """``restates`` against the meaning words of what was said (``meaning_of``)."""
    return not read_message(reply).negative and overlap(_meaning(reply), answer_words) >= 3
