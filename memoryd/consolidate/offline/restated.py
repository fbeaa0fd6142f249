"""A rule restated in other words in another project: the words around a rule (why it holds,
despite what, an example, an aside) differ from one restatement to the next, while its core
keeps a rare word or two ("translation" and "helper", a tag prefix and "tag"). Two rules
said in different projects are one when their cores share enough of the user's rarer words
and no slot of theirs holds another value (a number, a name in code, the last word after
what they share, a refusal against a request)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass

from memoryd.consolidate.offline.meaning import (
    ASKING,
    idea_words,
    meaning_words,
    other_names,
    other_tools,
    pair_conflict,
    program,
    refusal_first,
    unwrap,
)
from memoryd.consolidate.offline.mood import directs
from memoryd.consolidate.offline.scope import UNIVERSAL
from memoryd.textutil import akin

# Where one clause of a rule ends and the next begins: punctuation, a dash between words.
_CLAUSE = re.compile(r"\s*(?:[,;:()!?\[\]]|\s[—–-]+\s|[—–]|\.(?=\s|$))\s*")
# A subordinator that starts what is not the rule itself: a reason or purpose ("so …",
# "because …", "since …"), a concession ("even though …", "although …"), something going on
# at the same time ("while you debug it"), an example ("like …", "e.g. …"). From it to its
# clause's end is cut. Conditions ("if", "when", "before") stay: they are part of the rule.
_SUBORDINATE = re.compile(
    r"(?:^|\s)(?:so|because|since|cause|cuz|though|although|even|while|whereas|like|e\.?g\.?"
    r"|i\.?e\.?|otherwise)\b.*$",
    re.I,
)
# A refusal or a removal, anywhere in a clause: "no …", "never …", "strip …", "… left behind".
_REFUSES = re.compile(
    r"^(?:no|don't|dont|do\s+not|never|avoid|stop|nothing|none)\b|\bnot\b|\bnever\b|n't\b"
    r"|\b(?:strip|remove|delete|drop)\b|\bleft\s+(?:behind|over|in)\b|\w-free\b",
    re.I,
)
# A norm said of whoever works there: "nobody edits it by hand", "not something anyone does".
_ANYONE = re.compile(r"\b(?:nobody|no\s+one|anybody|anyone|everybody|everyone)\b", re.I)
# A number, in digits or as a word: the value of a count, a port, a version.
_NUMBER = re.compile(
    r"\b(?:\d+(?:\.\d+)*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b", re.I
)
# A token typed as code: a span, a flag, a path, a name with a dot, digit, slash or underscore.
_CODE = re.compile(r"`[^`\n]+`|(?<![\w-])(?:--?[a-z][\w-]*|[\w-]*[./_\d][\w./-]*[\w/])", re.I)

# A path or a name with a slash in it: "src/lib/client.ts", "ds/" (a branch prefix).
_PATH = re.compile(r"[\w.-]*/[\w./-]*")

TESTS = "test"  # the idea of "the tests", whatever runs them
MIN_SHARED = 2  # ideas two cores have in common, at the least
# The share of the rarer core's weight (the sum of its ideas' rarity) the shared ideas carry.
MIN_COVER = 0.35
# A slot's value: at most this many ideas after the last shared one, in each rule's clause.
MAX_VALUE = 2


# "…, not Dutch", "…, rather than tabs": the alternative a rule turns down after its comma
# is the other side of a pair, not a clause of its own that refuses.
_ALTERNATIVE = re.compile(r"^(?:not|rather\s+than|instead\s+of)\b", re.I)


def _pieces(rule: str) -> list[str]:
    """A rule's clauses, where it holds said for every project cut ("in all my repos"), a
    refusal said last read as said first, and from each its reason, concession, aside or
    example cut."""
    text = refusal_first(UNIVERSAL.sub(" ", unwrap(rule)))
    return [p for part in _CLAUSE.split(text) if (p := _SUBORDINATE.sub("", part).strip())]


def clauses(rule: str) -> list[str]:
    """The clauses of a rule's core: ``_pieces`` without the alternative of a pair."""
    return [p for p in _pieces(rule) if not _ALTERNATIVE.match(p)]


def _ideas(clause: str, names: Set[str], runners: Set[str]) -> list[str]:
    """A clause's ideas in the order they come (``idea_words`` of each word), the user's
    project names left out (a pointer to where a rule was said is not what it says) and a
    program that runs the user's tests read as the tests ("run the X suite" is "run the
    tests")."""
    seen: list[str] = []
    for word in re.findall(r"[\w'’./-]+", ASKING.sub(" ask ", clause)):
        if _PATH.fullmatch(word):
            # a path is one value ("src/lib/client.ts", "ds/"), not the words it is made
            # of: its "lib" is no library the rule is about
            if word.lower() not in seen:
                seen.append(word.lower())
            continue
        for idea in sorted(idea_words(word)):
            idea = TESTS if idea in runners else idea
            if idea not in seen and idea not in names:
                seen.append(idea)
    return seen


@dataclass(frozen=True)
class Core:
    """A rule's core: its clauses' ideas in order, whether it turns what it names down, and
    the core's text (with the alternative of a pair, for the stance of each word)."""

    rule: str
    parts: tuple[tuple[str, ...], ...]
    refuses: bool
    text: str
    directs: bool  # whether the rule tells what to do (``mood.directs``), or is a norm

    @property
    def ideas(self) -> set[str]:
        return {w for ideas in self.parts for w in ideas}


# Clauses of a rule read for its core: a rule said in more is a pasted list, and each pair of
# two rules' clauses is compared (``other_value``).
MAX_CLAUSES = 24


def core(rule: str, names: Set[str] = frozenset(), runners: Set[str] = frozenset()) -> Core:
    kept = clauses(rule)[:MAX_CLAUSES]
    parts = tuple(ideas for c in kept if (ideas := tuple(_ideas(c, names, runners))))
    refuses = any(_REFUSES.search(c) for c in kept)
    norm = directs(rule) or _ANYONE.search(rule) is not None
    return Core(rule, parts, refuses, ", ".join(_pieces(rule)), norm)


# How the extractor says what runs a project's tests: "Run the tests with `…`".
_TESTS_RUN_WITH = re.compile(r"^run the tests with\s+`(?P<cmd>[^`\n]+)`", re.I)


def runners_of_tests(knowledge: Iterable[str]) -> set[str]:
    """The programs that run the user's tests, read from how-to lines ("Run the tests with
    `uv run pytest -q`": pytest; "… `docker compose run app bin/x`": x, the program the
    wrapper ends on), as stems; none when a subcommand names the tests itself."""
    out: set[str] = set()
    for line in knowledge:
        m = _TESTS_RUN_WITH.match(line.strip())
        if m is None:
            continue
        words = [w for w in unwrap(m.group("cmd")).split() if "=" not in w]
        if any(w.lower() in ("test", "tests") for w in words):
            continue  # "npm test", "go test": the subcommand says it, the program runs more
        installed = [w for w in words if "/bin/" in w or w.startswith("bin/")]
        name = installed[-1].rsplit("/", 1)[-1] if installed else program(" ".join(words))
        out |= meaning_words(name)
    return out


def rarity(cores: Iterable[Core]) -> dict[str, float]:
    """Each idea's weight: how rare it is among the user's rules (inverse document frequency,
    smoothed so an idea every rule holds still weighs a little)."""
    cores = list(cores)
    df: dict[str, int] = {}
    for c in cores:
        for w in c.ideas:
            df[w] = df.get(w, 0) + 1
    n = len(cores)
    return {w: math.log((n + 1) / d) for w, d in df.items()}


def _shared(a: Set[str], b: Set[str]) -> set[str]:
    """The ideas of ``a`` that an idea of ``b`` matches (equal, or one the other plus a
    suffix)."""
    return {x for x in a if any(akin(x, y) for y in b)}


def _weight(words: Iterable[str], idf: Mapping[str, float]) -> float:
    return sum(idf.get(w, 0.0) for w in words)


def _values(text: str, pattern: re.Pattern[str]) -> set[str]:
    return {m.group(0).strip("`").lower() for m in pattern.finditer(text)}


def opposed(a: Core, b: Core) -> bool:
    """One rule turns down what the other asks for, or prefers X to Y where the other
    prefers Y to X."""
    return a.refuses != b.refuses or pair_conflict(a.text, b.text) or pair_conflict(b.text, a.text)


def other_value(a: Core, b: Core) -> bool:
    """The two rules give a slot another value: each names a number or a name in code and
    they share none; or two clauses that share a frame (``MIN_SHARED`` ideas) go on, after
    the last idea they share, to ideas of their own (at most ``MAX_VALUE``: "deploy previews to
    blue" / "deploy previews to green"), each holding none of the other's."""
    for pattern in (_NUMBER, _CODE):
        va, vb = _values(a.text, pattern), _values(b.text, pattern)
        if va and vb and not any(akin(x, y) or x in y or y in x for x in va for y in vb):
            return True
    for ideas_a in a.parts:
        for ideas_b in b.parts:
            shared = _shared(set(ideas_a), set(ideas_b))
            if len(shared) < MIN_SHARED:
                continue  # one word in common is no frame of the same clause
            # the value after the frame: ideas the other rule holds nowhere ("ask before it
            # is deployed" / "check before you deploy, ask first" hold "deploy" both)
            tail_a = set(_tail(ideas_a, shared))
            tail_b = set(_tail(ideas_b, _shared(set(ideas_b), set(ideas_a))))
            if (
                0 < len(tail_a) <= MAX_VALUE
                and 0 < len(tail_b) <= MAX_VALUE
                and not _shared(tail_a, b.ideas)
                and not _shared(tail_b, a.ideas)
            ):
                return True
    return False


def look_alike(a: Core, b: Core) -> bool:
    """Two rules said alike with another value in a slot, both asking or both turning down:
    "deploy previews to blue" / "deploy previews to green" are two rules however many words
    they share. A rule and one that turns it down ("tag releases by hand" / "stop tagging by
    hand, the pipeline tags releases") are one rule changed, which the later one states."""
    return other_value(a, b) and not opposed(a, b)


def _tail(ideas: Sequence[str], shared: Set[str]) -> list[str]:
    last = max(i for i, w in enumerate(ideas) if w in shared)
    return list(ideas[last + 1 :])


def cover(a: Core, b: Core, idf: Mapping[str, float]) -> float:
    """The share of the lighter core's weight that the ideas both hold carry, counting in
    each core only the clauses that hold one of them: a clause that shares nothing is an
    aside ("the auditors read these") whatever its words."""
    shared_a, shared_b = _shared(a.ideas, b.ideas), _shared(b.ideas, a.ideas)
    if len(shared_a) < MIN_SHARED or len(shared_b) < MIN_SHARED:
        return 0.0
    held_a = {w for ideas in a.parts if shared_a & set(ideas) for w in ideas}
    held_b = {w for ideas in b.parts if shared_b & set(ideas) for w in ideas}
    lighter = min(_weight(held_a, idf), _weight(held_b, idf))
    return _weight(shared_a, idf) / lighter if lighter > 0 else 0.0


def restated(a: Core, b: Core, idf: Mapping[str, float], tools: Set[str]) -> bool:
    """Whether two rules' cores say one rule: both tell what to do (a complaint that
    something broke "again" is no rule to carry elsewhere), at least ``MIN_SHARED`` ideas in
    common that carry ``MIN_COVER`` of the lighter core's weight, no slot with another value,
    and no program or name in code one names that the other does not."""
    return (
        cover(a, b, idf) >= MIN_COVER
        and a.directs
        and b.directs
        and not opposed(a, b)
        and not other_value(a, b)
        and not other_tools(a.text, b.text, tools)
        # a name in code the core cut ("never a bare fetch()": the call, not "fetch") still
        # names what the rule is about
        and not other_names(a.text, b.text)
        and not other_names(a.rule, b.rule)
    )


def join_restated(
    cores: Mapping[str, Core],
    places: Mapping[str, Set[str]],
    alias: dict[str, str],
    tools: Set[str],
) -> None:
    """Join in ``alias`` (key → key, rooted at the smallest) the rules said in different
    projects whose cores say one rule; ``places`` are the projects each key was said in.
    Only rules whose meanings no project said both are joined: two rules one project holds
    side by side are two rules."""
    idf = rarity(cores.values())
    keys = sorted(cores)

    def root(k: str) -> str:
        while alias[k] != k:
            k = alias[k]
        return k

    where: dict[str, set[str]] = {}  # each meaning's projects, by its root
    for k in keys:
        where.setdefault(root(k), set()).update(places.get(k, ()))
    for i, x in enumerate(keys):
        for y in keys[i + 1 :]:
            rx, ry = root(x), root(y)
            if rx == ry or where[rx] & where[ry]:
                continue
            if restated(cores[x], cores[y], idf, tools):
                low, high = min(rx, ry), max(rx, ry)
                alias[high] = low
                where[low] |= where.pop(high)
