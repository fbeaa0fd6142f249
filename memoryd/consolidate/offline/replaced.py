"""A replacement and what it makes out of date: a later statement that a tool, command or
value was replaced (or is gone), and whether another statement still presents the old one as
current; where replacements come from is ``supersession``."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from memoryd.consolidate.offline.meaning import REPLACED_LINE, SWITCHED_LINE, stance
from memoryd.extract.offline.outcomes import PIN, names, pinned, setting_line
from memoryd.textutil import FILLER, norm_words, stem


@dataclass(frozen=True)
class Replacement:
    """A later statement that ``old`` was replaced (by ``new``) or is gone, on ``day``."""

    old: str
    new: str
    day: str
    text: str

    @functools.cached_property
    def _setting(self) -> tuple[str, str, str, str] | None:
        """(key, operator, old value, new value) when the replacement is an edited setting;
        read once, as ``covers`` is asked of every statement of the project."""
        return _changed_setting(self.old, self.new)

    def covers(self, text: str, paths: bool = True) -> bool:
        """Whether ``text`` presents ``old`` as current (and does not already name ``new``);
        with ``paths``, also as the last part of a path."""
        if REPLACED_LINE.match(text) or SWITCHED_LINE.match(text):
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
                distinctive(value)
                and _value(value).search(text) is not None
                and _value(new_value).search(text) is None
            )
        if _said_gone(self.old, text) or norm_words(text) in norm_words(self.text):
            return False  # "package-lock.json was removed", or the words that said the change
        changed = self._setting
        if changed is not None:
            # an edit gave a setting another value ("`minSdk = 26` is replaced by `minSdk =
            # 28`"): a statement naming the setting and its old value, not the new one, is
            # out of date however it is worded ("the min SDK is 26")
            key, op, old_value, new_value = changed
            if op == PIN:
                # a directive's pinned version is stated beside its tool ("Go 1.22",
                # "go1.22.9"), not anywhere a line names the tool and holds the number
                return (
                    pinned(key, old_value).search(text) is not None
                    and pinned(key, new_value).search(text) is None
                )
            # a path or URL is the setting wherever it is stated ("Taxonomy uses
            # /nfs/refdb/silva-138.1" after `silva_db` moved to silva-138.2), as for NAME=old
            return (
                (_names_key(text, key) or ("/" in old_value and distinctive(old_value)))
                and _value(old_value).search(text) is not None
                and _value(new_value).search(text) is None
            )
        named = _named if paths else term_pattern
        return (
            named(self.old).search(text) is not None
            and not (self.new and named(self.new).search(text) is not None)
            and not _turns_down(self.old, text)
        )


def _changed_setting(old: str, new: str) -> tuple[str, str, str, str] | None:
    """(key, operator, old value, new value) when ``old`` and ``new`` are one setting's line
    before and after an edit (``key = value``, ``key: value``, ``<key>value</key>``, ``go
    1.22``)."""
    a, b = setting_line(old.strip("`")), setting_line(new.strip("`"))
    if a is None or b is None or a[:2] != b[:2]:
        return None
    va, vb = (v.strip("\"',; ") for v in (a[2], b[2]))
    return (a[0], a[1], va, vb) if va and vb and va != vb else None


def _names_key(text: str, key: str) -> bool:
    """Whether ``text`` names a setting's key (``outcomes.names``: "min SDK" names
    ``minSdk``); a short key ("port") only as a word of its own, not inside "support"."""
    if len(re.sub(r"[^a-z0-9]", "", key.lower())) < 6:
        return re.search(rf"(?<![\w.-]){re.escape(key)}(?![\w-])", text, re.I) is not None
    return names(text, key)


def _turns_down(term: str, text: str) -> bool:
    """Whether ``text`` names the tool ``term`` only in a rule against something: "no sudo
    for npm either" turns npm down, and "never install as root, that goes for yarn too"
    forbids what it names yarn for, taking nothing in its place. Neither presents the tool as
    current, and what it forbids stays forbidden after the tool is replaced."""
    word = term.strip("`")
    if re.fullmatch(r"[\w.+-]+", word) is None:
        return False  # a command or a setting: a rule about it is about it
    rule = re.sub(r"^in\s+similar\s+future\s+tasks,\s*", "", text.rsplit("->", 1)[-1].strip())
    if _FORBIDS.match(rule) and _TAKES.search(rule) is None:
        return True
    return stance(rule).get(stem(word.lower())) is False


_FORBIDS = re.compile(r"(?:please\s+)?(?:do\s+not|don't|never|avoid|no)\b", re.I)
# A rule that forbids one way and takes another ("don't run X in CI; use Y") is about Y.
_TAKES = re.compile(r"\b(?:use|run\s+it\s+with|instead|rather|prefer)\b", re.I)


_GONE_WORDS = (
    r"(?:is|was|has\s+been|got|are|were)\s+(?:now\s+)?(?:removed|gone|replaced|renamed|dropped"
    r"|deprecated|deleted|retired)|no\s+longer\b"
)


def _said_gone(term: str, text: str) -> bool:
    """Whether ``text`` says ``term`` is gone or replaced ("`X` was removed", "X no longer")."""
    body = term_pattern(term).pattern
    return re.search(rf"{body}`?\)?\s+{_GONE_WORDS}", text, re.I) is not None


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
    "deprecated renamed replaced dropped superseded read used set the a an in on at from".split()
)


def settings(text: str) -> set[tuple[str, str]]:
    """The (name, value) settings a statement gives."""
    found = [*_SETTING.finditer(text), *_SET_TO.finditer(text)]
    pairs = {(m.group("name"), m.group("value").rstrip(".")) for m in found}
    return {(n, v) for n, v in pairs if v and v.lower() not in _NOT_A_VALUE}


def distinctive(value: str) -> bool:
    """A value that means the setting wherever it shows: a port, a URL, a path, a version;
    not ``1``, ``true`` or ``dev``."""
    return len(value) >= 4 and re.search(r"\d|[/:]", value) is not None


def _value(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(value)}(?![\w])")


# A word right after a modal verb is a verb ("before this can ship"), not the name of the
# tool or script that shares its spelling (`ship`, `deploy`, `build`).
_MODALS = "can could will would shall should must may might cannot".split()


def _as_name(word: str) -> str:
    """Lookbehinds, to follow the word itself, that keep a plain word (letters only) from
    matching as a verb. After the word, not before it: the search then looks for the word's
    letters first, and tries the modals only where it found them (3× faster on a statement
    that does not name the word)."""
    if re.fullmatch(r"[A-Za-z]+(?:-[A-Za-z]+)*", word) is None:
        return ""
    return "".join(rf"(?<!\b{m}\s{re.escape(word)})" for m in _MODALS)


def term_pattern(term: str) -> re.Pattern[str]:
    bare = term.strip("`")
    body = r"\s+".join(re.escape(p) for p in bare.split())
    return re.compile(rf"(?<![\w./-]){body}{_as_name(bare)}(?![\w/-])", re.I)


def _named(term: str) -> re.Pattern[str]:
    """Where a statement names ``term``: as a word, or as the last part of a path
    (``conan/profiles/linux-gcc13`` names the profile ``linux-gcc13``: the thing gone is what
    the path leads to)."""
    bare = term.strip("`")
    if "/" in bare or " " in bare.strip():
        return term_pattern(term)
    return re.compile(rf"(?<![\w.-]){re.escape(bare)}{_as_name(bare)}(?![\w/-])", re.I)


def switched_to(text: str) -> str | None:
    """The new tool of a "Switched to: `new`" statement."""
    m = SWITCHED_LINE.match(text)
    return m.group("new") if m else None


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


def replacement(text: str, day: str) -> Replacement | None:
    m = REPLACED_LINE.match(text)
    if m is None:
        return None
    new = (m.group("new") or "").strip("`")
    if new.lower() in FILLER:
        new = ""  # "replaced by and …": a misread, not a tool; what stays true is that old went
    return Replacement(m.group("old").strip("`"), new, day, text)


def superseded_by(
    text: str, day: str, signals: Sequence[Replacement], paths: bool = True
) -> Replacement | None:
    """The latest replacement, stated on ``day`` or later, that makes ``text`` out of date."""
    hits = [r for r in signals if r.day >= day and r.covers(text, paths)]
    return max(hits, key=lambda r: r.day) if hits else None


# Words that name no thing: a pronoun, a determiner, a relative word, an adverb of degree.
NAMES_NOTHING = FILLER | frozenset(
    "they them their theirs he him his she her hers me my mine us our ours your yours which "
    "what who whom whose these those one ones some other others such same so too very".split()
)


def misread(r: Replacement) -> bool:
    """Whether a replacement names no thing on one side, as one misread from prose does
    ("`just` was replaced by `them`" from "… how we open them everywhere now, not just here"):
    its old or its new value is a word that names nothing (``NAMES_NOTHING``) or a single
    character. Only the values are looked at, not where the replacement was read."""
    return any(
        v and (len(v) == 1 or v.lower() in NAMES_NOTHING) for v in (r.old.strip(), r.new.strip())
    )


def replaced_phrase(r: Replacement) -> str:
    """The replacement as a fact: "`old` was replaced by `new`" / "`old` is gone"."""
    if r.new:
        return f"`{r.old}` was replaced by `{r.new}`"
    return f"`{r.old}` is gone"


def mentions(value: str, texts: Iterable[str]) -> bool:
    """Whether any of ``texts`` names ``value`` as a whole word or command."""
    pattern = term_pattern(value)
    return any(pattern.search(t) is not None for t in texts)
