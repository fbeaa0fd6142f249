"""What a consolidated statement means: its kind (a rule, a failure's fix, a fact, how to run
something, a replacement), a key that merges equivalent statements (tool + polarity, not the
literal text), and whether a later statement supersedes it.

These read the shapes the offline extractor writes and, where they can, a model's free
wording; anything unrecognised is a plain fact."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from memoryd.textutil import norm_words

# Kinds, most durable first; the summary ranks by them.
RULE = "rule"  # a user-stated preference or rule
FIX = "fix"  # a failure linked to what fixed it
DONT = "dont"  # an action the user rejected
REPLACED = "replaced"  # X replaced by Y / X is gone
FACT = "fact"  # a stated or observed fact about the project
RUN = "run"  # how to build, test, run
MISSING = "missing"  # a tool or module missing here
NOISE = "noise"  # a pushback, an unresolved one-off failure, a list of files

DURABILITY = {RULE: 6, FIX: 5, DONT: 5, REPLACED: 4, FACT: 4, RUN: 3, MISSING: 2, NOISE: 0}

_FIX = re.compile(
    r"\bfixed\s+by\b|\bworks?\s+instead\b|\bworked\s+instead\b|\bresolved\b.*\bby\b"
    r"|\bworks\s+where\b|\bnext\s+time\s+start\s+with\b",
    re.I,
)
_DONT = re.compile(r"^the user rejected\b|don't repeat it", re.I)
_REPLACED = re.compile(
    r"^Replaced:\s+(?P<old>`[^`]+`|\S+)\s+(?:is\s+replaced\s+by\s+(?P<new>`[^`]+`|\S+)|is\s+gone)"
)
_RUN = re.compile(
    r"^(?:run the tests|check it|build it|apply migrations|start it|install dependencies)"
    r"\s+with\s+`|^`[^`]+`\s+(?:works|runs successfully)\b",
    re.I,
)
_MISSING = re.compile(r"\bis not installed or not on PATH\b|\bwas missing in this environment\b")
_NOISE = re.compile(
    r"^(?:files involved|project root|the user pushed back|the user corrected)\b"
    r"|;\s*(?:unresolved at the end of the task|next step: .*no later success of it)$",
    re.I,
)


def kind_of(text: str, section: str) -> str:
    """The kind of a bullet from a ``prefs``, ``knowledge`` or ``failures`` section."""
    if section == "prefs":
        return RULE
    if _NOISE.search(text):
        return NOISE
    if _DONT.search(text):
        return DONT
    if _REPLACED.match(text) or _SWITCHED.match(text):
        return REPLACED
    if _FIX.search(text):
        return FIX
    if section == "failures":
        return NOISE  # a failure with no known fix is one session's trouble
    if _MISSING.search(text):
        return MISSING
    if _RUN.search(text):
        return RUN
    return FACT


# Words that carry no meaning of their own in a rule: "always use uv rather than pip" and
# "use uv, not pip" are the same rule.
_FILLER = frozenset(
    "a an the to of in on for and or with this that it its is are be please always just "
    "use using used prefer rather than instead over not never no don't dont do does avoid "
    "keep make sure should must you we i here there from now on next time in future going "
    "forward when whenever every any all run before after only everywhere time times way "
    "things thing anything everything by also".split()
)
_NEGATIVE = re.compile(r"^(?:do not|don't|never|avoid|no|stop)\b", re.I)


# "X, not Y", "X rather than Y", "X instead of Y", "X over Y": the rule is the pair.
_PAIR = re.compile(
    r"(?P<x>[\w./@+-]+)`?\s*(?:,\s*not|\s+rather\s+than|\s+instead\s+of|\s+over|\s+not)"
    r"\s+`?(?P<y>[\w./@+-]+)",
    re.I,
)


# Words between "rather than" and the tool it rejects: "rather than piping it into python".
_BEFORE_TOOL = frozenset("into onto through via with".split())


def _rejected(alternative: str) -> str:
    """The tool an X-over-Y rule rejects: the alternative's first word that is not a gerund
    or a function word ("piping it into a python snippet" rejects python)."""
    words: list[str] = re.findall(r"[\w./@+-]+", alternative.lower())
    for w in words:
        if not w.endswith("ing") and w not in _FILLER and w not in _BEFORE_TOOL:
            return w
    return words[0] if words else ""


def content_words(text: str) -> set[str]:
    return set(norm_words(text).split()) - _FILLER


def rule_key(implication: str) -> str:
    """What a rule is about: the tool it prefers to which (a pair), else its polarity and its
    content words. Equal keys are the same rule, whatever the wording around them."""
    m = _PAIR.search(implication)
    if m is not None:
        return f"pair:{m.group('x').lower()}>{_rejected(implication[m.start('y') :])}"
    words = sorted(content_words(implication))
    polarity = "-" if _NEGATIVE.match(implication.strip()) else "+"
    return polarity + " ".join(words) if words else norm_words(implication)


def same_rule(a: set[str], b: set[str]) -> bool:
    """Two rules share most of their content words (at least two, and 60% of the shorter)."""
    shared = len(a & b)
    return shared >= 2 and shared >= 0.6 * min(len(a), len(b))


# A rule that something must go or stay out: "no debugPrint calls left behind", "strip any
# print() you added for debugging".
_REMOVAL = re.compile(
    r"^(?:no|don't|dont|do\s+not|never|avoid|stop)\b|\b(?:strip|remove|delete|drop)\b"
    r"|\bleft\s+(?:behind|over|in)\b",
    re.I,
)
# A name in code: a code span, a call, camelCase or snake_case.
_IDENTIFIER = re.compile(r"`[^`\n]+`|\b\w+\(\)|\b[a-z]+[A-Z]\w*|\b[a-z]+_\w+")


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2]:
                word = word[:-1]  # "debugging" -> "debug"
            break
    return word


def meaning_words(text: str) -> set[str]:
    """Content words with a name in code split into its words ("debugPrint": debug, print)
    and each reduced to its stem ("debugging": debug)."""
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return {_stem(w) for w in content_words(split)}


def same_removal(a: str, b: str) -> bool:
    """Two rules that keep the same thing out of the code: both say it must go, they name it
    in code with a word in common, and they share two meaning words ("no debugPrint calls
    left behind" and "strip any print() you added for debugging")."""
    if not (_REMOVAL.search(a) and _REMOVAL.search(b)):
        return False
    names_a = {w for m in _IDENTIFIER.finditer(a) for w in meaning_words(m.group(0))}
    names_b = {w for m in _IDENTIFIER.finditer(b) for w in meaning_words(m.group(0))}
    return bool(names_a & names_b) and len(meaning_words(a) & meaning_words(b)) >= 2


@dataclass(frozen=True)
class Replacement:
    """A later statement that ``old`` was replaced (by ``new``) or is gone, on ``day``."""

    old: str
    new: str
    day: str
    text: str

    def covers(self, text: str) -> bool:
        """Whether ``text`` presents ``old`` as current (and does not already name ``new``)."""
        if _REPLACED.match(text) or _SWITCHED.match(text):
            return False  # a statement of the change itself is never out of date by it
        if _SETTING_TERM.fullmatch(self.old):  # a value that changed: NAME=old
            pairs = settings(text)
            name, value = self.old.split("=", 1)
            new_value = self.new.split("=", 1)[-1]
            if (name, new_value) in pairs:
                return False
            # "the UI is http://localhost:8081" states the old port without naming the
            # setting: a distinctive old value is out of date wherever it is stated
            return (name, value) in pairs or (
                _distinctive(value)
                and _value(value).search(text) is not None
                and _value(new_value).search(text) is None
            )
        return _term(self.old).search(text) is not None and not (
            self.new and _term(self.new).search(text) is not None
        )


# "WEBAPP_PORT=8765", "`WEBAPP_PORT` must be 8765", "WEBAPP_PORT is set to 8765": a setting.
_SETTING = re.compile(
    r"`?\b(?P<name>[A-Z][A-Z0-9]*_[A-Z0-9_]+)`?\s*(?:=|:|\s(?:must|should)\s+be\s"
    r"|\sis\s+(?:set\s+to\s|now\s)?|\sset\s+to\s)\s*`?(?P<value>[^\s`,;)'\"]+)"
)
_SETTING_TERM = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+=\S+")


_SET_TO = re.compile(
    r"\bset\s+`?(?P<name>[A-Z][A-Z0-9]*_[A-Z0-9_]+)`?\s+to\s+`?(?P<value>[^\s`,;)'\"]+)", re.I
)


# Words that follow "NAME is" without being its value ("RELAY_REDIS_URL is no longer read").
_NOT_A_VALUE = frozenset(
    "no not never now still also only missing unset empty required needed gone removed "
    "deprecated renamed read used set the a an in on at from".split()
)


def settings(text: str) -> set[tuple[str, str]]:
    """The (name, value) settings a statement gives."""
    found = [*_SETTING.finditer(text), *_SET_TO.finditer(text)]
    pairs = {(m.group("name"), m.group("value").rstrip(".")) for m in found}
    return {(n, v) for n, v in pairs if v and v.lower() not in _NOT_A_VALUE}


def _distinctive(value: str) -> bool:
    """A value that means the setting wherever it shows: a port, a URL, a path, a version;
    not ``1``, ``true`` or ``dev``."""
    return len(value) >= 4 and re.search(r"\d|[/:]", value) is not None


def _value(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(value)}(?![\w])")


def _term(term: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(p) for p in term.strip("`").split())
    return re.compile(rf"(?<![\w./-]){body}(?![\w/-])", re.I)


_SWITCHED = re.compile(r"^Switched to:\s+`(?P<new>[^`]+)`")


def switched_to(text: str) -> str | None:
    """The new tool of a "Switched to: `new`" statement."""
    m = _SWITCHED.match(text)
    return m.group("new") if m else None


def command_pairs(text: str) -> set[tuple[str, str]]:
    """(program, subcommand) of each command in the code spans of ``text``."""
    out: set[tuple[str, str]] = set()
    for m in re.finditer(r"`([^`\n]+)`", text):
        words = [w for w in m.group(1).split() if not re.match(r"^[A-Z_]+=", w)]
        if len(words) >= 2 and re.fullmatch(r"[\w.-]+", words[0]):
            out.add((words[0], words[1]))
    return out


def fact_key(text: str) -> str:
    """Equal keys for the same statement: a replacement by what replaced what (whoever said
    it, however), anything else by its words."""
    r = replacement(text, "")
    if r is not None:
        return f"replaced:{r.old.lower()}>{r.new.lower()}"
    new = switched_to(text)
    if new is not None:
        return f"switched:{new.lower()}"
    return norm_words(text) or text


_FIX_PART = re.compile(r";\s*(?:fixed\s+by\b.*|`[^`]+`\s+work(?:s|ed)\s+instead.*)$")


def fix_part(text: str) -> str:
    """The part of a lesson that says what fixed it (the whole text when there is none)."""
    m = _FIX_PART.search(text)
    return m.group(0) if m else text


def replacement(text: str, day: str) -> Replacement | None:
    m = _REPLACED.match(text)
    if m is None:
        return None
    return Replacement(m.group("old").strip("`"), (m.group("new") or "").strip("`"), day, text)


def superseded_by(text: str, day: str, signals: Sequence[Replacement]) -> Replacement | None:
    """The latest replacement, stated on ``day`` or later, that makes ``text`` out of date."""
    hits = [r for r in signals if r.day >= day and r.covers(text)]
    return max(hits, key=lambda r: r.day) if hits else None


def replaced_phrase(r: Replacement) -> str:
    """The replacement as a fact: "`old` was replaced by `new`" / "`old` is gone"."""
    if r.new:
        return f"`{r.old}` was replaced by `{r.new}`"
    return f"`{r.old}` is gone"


def terms(texts: Iterable[str]) -> list[str]:
    """Code spans of some statements, in order: words that grep finds in them."""
    out: list[str] = []
    for text in texts:
        for m in re.finditer(r"`([^`\n]{2,40})`", text):
            word = m.group(1).split()[0]
            if word not in out and re.fullmatch(r"[\w.@/+-]{2,30}", word):
                out.append(word)
    return out
