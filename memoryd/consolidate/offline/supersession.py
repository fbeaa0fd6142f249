"""Where replacements come from: a replacement said in words, the same statement with another
value, another value of the same attribute, a setting renamed, a remembered command that now
fails as gone, a tool a later rule turns down. What a replacement makes out of date is
``replaced``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

from memoryd.consolidate.offline.meaning import (
    FIX_LINE,
    first_arg,
    meaning_words,
    names_in,
    program,
    stance,
    unwrap,
)
from memoryd.consolidate.offline.replaced import (
    Replacement,
    distinctive,
    mentions,
    settings,
    term_pattern,
)
from memoryd.textutil import FILLER, norm_words, stem

# A value in a statement: a code span, or a token with a digit in it (a port, a version, a URL).
_SLOT_VALUE = re.compile(r"`[^`\n]+`|(?<![\w/.:-])[\w./:@+-]*\d[\w./:@+-]*")


@dataclass(frozen=True)
class Slot:
    """What a statement says, with its values taken out: "The API listens on port `8000`" is
    the slot {api, listen, port} with the value 8000."""

    words: frozenset[str]
    values: tuple[str, ...]

    @property
    def commands(self) -> bool:
        """Every value is a command in a code span ("Run the tests with `npm test`")."""
        return all(v.startswith("`") for v in self.values)

    def same(self, other: Slot) -> bool:
        """The same statement about maybe other values: as many values, and most meaning
        words shared (75% of the larger; at least three unless the values are commands, whose
        programs say what changed: "install dependencies with `npm install`")."""
        if len(self.values) != len(other.values) or self.commands != other.commands:
            return False
        shared = len(self.words & other.words)
        need = 1 if self.commands else 3
        return shared >= need and shared >= 0.75 * max(len(self.words), len(other.words))


def slot(text: str) -> Slot | None:
    """The slot of a fact that gives at most two values; None for a statement with no value
    or too few words to say what the value is of."""
    values: list[str] = []

    def mask(m: re.Match[str]) -> str:
        values.append(m.group(0).rstrip(".,;:"))  # a code span keeps its backticks
        return " "

    masked = _SLOT_VALUE.sub(mask, re.sub(r"\s*\([^()]*\)", "", text))
    words = frozenset(meaning_words(masked))
    s = Slot(words, tuple(values))
    if not values or len(values) > 2 or len(words) < (1 if s.commands else 3):
        return None
    return s


def _uses(prog: str, texts: Iterable[str]) -> bool:
    """Whether a command in ``texts`` runs ``prog``."""
    return any(program(m.group(1)) == prog for t in texts for m in re.finditer(r"`([^`\n]+)`", t))


def changed_values(
    facts: Sequence[tuple[str, str]], texts: Sequence[tuple[str, str]]
) -> list[Replacement]:
    """Replacements read from (day, fact) pairs of one project: the same slot given another
    value by a later session ("listens on port 8000" → "listens on port 8080", "run the tests
    with `npm test`" → "… with `pnpm test`"). The old value must be gone from everything said
    (``texts``, (day, text)) on or after the later day, so a fact that only names a second
    value of the same slot (a second test directory, another package) is not replaced. For a
    command the old program must be gone: `go test ./a` and `go test ./b` are both current."""
    out: list[Replacement] = []
    slots = [(day, text, s) for day, text in facts if (s := slot(text)) is not None]
    for old_day, _old_text, old in slots:
        for new_day, new_text, new in slots:
            if new_day <= old_day or not old.same(new) or old.values == new.values:
                continue
            since = [t for d, t in texts if d >= new_day]
            for a, b in zip(old.values, new.values, strict=True):
                if a == b:
                    continue
                if a.startswith("`"):  # a command: did its program go?
                    out += _dropped_steps(a, b, new_day, new_text, since)
                    pa, pb = program(a), program(b)
                    # the same job by another program: `npm test` → `pnpm test`, not
                    # `npx playwright install` → `pnpm install`
                    sub = first_arg(a)
                    if not (pa and sub) or pa == pb or sub != first_arg(b) or _uses(pa, since):
                        continue
                    # the program is what went: every statement that takes it (a rule to
                    # format with it, another of its commands) is out of date with it; but
                    # another build of the same tool (`python3.11` → `python3.12`) replaces
                    # the command only, not every mention of the tool
                    same_tool = _VERSION_TAIL.sub("", pa) == _VERSION_TAIL.sub("", pb)
                    old_, new_ = (a.strip("`"), b.strip("`")) if same_tool else (pa, pb)
                    out.append(Replacement(old_, new_, new_day, new_text))
                elif mentions(a, since):
                    continue
                else:
                    out.append(Replacement(a.strip("`"), b.strip("`"), new_day, new_text))
    return out


_VERSION_TAIL = re.compile(r"-?[\d.]+$")


def _steps(command: str) -> list[str]:
    return [p.strip() for p in command.strip("`").split("&&") if p.strip()]


def _dropped_steps(
    old: str, new: str, day: str, text: str, since: Sequence[str]
) -> list[Replacement]:
    """A step a chain ran before a job that a later chain for the same job turns around: the
    same program on the same thing with another verb (``svc up -d db && X test`` → ``svc stop
    db && X test``). The step is no longer how the job is done, when nothing said since runs
    it; a step merely left out (a lint before the tests) is not turned around and stays."""
    olds, news = _steps(old), _steps(new)
    if len(olds) < 2 or not news:
        return []
    job_old, job_new = olds[-1], news[-1]
    if program(job_old) != program(job_new) or first_arg(job_old) != first_arg(job_new):
        return []
    out: list[Replacement] = []
    for step in olds[:-1]:
        if step in news or not program(step) or mentions(step, since):
            continue
        if any(_turned_around(step, n) for n in news[:-1]):
            out.append(Replacement(step, new.strip("`"), day, text))
    return out


def _turned_around(a: str, b: str) -> bool:
    """The same program acting on the same last argument with other words (not only other
    flags): ``up -d db`` and ``stop db``."""
    wa, wb = a.split(), b.split()

    def words(ws: list[str]) -> set[str]:
        return {w for w in ws if not w.startswith("-")}

    return program(a) == program(b) != "" and wa[-1] == wb[-1] and words(wa) != words(wb)


@dataclass(frozen=True)
class Attributed:
    """A value with what it is the value of: the word before it ("port 8040": port) and the
    rest of the statement's meaning words (its subject)."""

    attr: str
    value: str
    subject: frozenset[str]


def attributed_values(text: str) -> list[Attributed]:
    """The values (not commands) of a fact, each with its attribute and the fact's subject."""
    out: list[Attributed] = []
    for m in _SLOT_VALUE.finditer(text):
        value = m.group(0).rstrip(".,;:")
        if value.startswith("`") or (not distinctive(value) and not value.isdigit()):
            continue
        before = re.findall(r"[A-Za-z][\w-]*", text[max(0, m.start() - 40) : m.start()])
        named = [w for w in before[-3:] if w.lower() not in FILLER]
        if not named:
            continue
        attr = stem(named[-1].lower())
        # the subject is the value's own clause: "tests expect Postgres on port 5434, and
        # an old process held port 4000" gives two ports of two things
        starts = [c.end() for c in _CLAUSE.finditer(text, 0, m.start())]
        end = _CLAUSE.search(text, m.end())
        clause = text[starts[-1] if starts else 0 : end.start() if end else len(text)]
        rest = _SLOT_VALUE.sub(" ", clause)
        out.append(Attributed(attr, value, frozenset(meaning_words(rest) - {attr})))
    return out


_CLAUSE = re.compile(r"[,;()—]|:\s|\s(?:and|but|so|while|whereas)\s")


def changed_attributes(
    facts: Sequence[tuple[str, str]], texts: Sequence[tuple[str, str]]
) -> list[Replacement]:
    """A value a later fact gives for the same attribute of the same subject, in a statement
    that may say more or less around it ("The API is served on port 8040 and reads DB_URL" →
    "the API now listens on port 8055"): two subject words in common. As for a slot, the old
    value must be gone from everything said since."""
    out: list[Replacement] = []
    given = [(day, text, a) for day, text in facts for a in attributed_values(text)]
    for old_day, _t, old in given:
        for new_day, new_text, new in given:
            if new_day <= old_day or new.attr != old.attr or new.value == old.value:
                continue
            shared = len(old.subject & new.subject)
            if shared < 2 or shared < 0.5 * min(len(old.subject), len(new.subject)):
                continue
            if mentions(old.value, [t for d, t in texts if d >= new_day]):
                continue
            out.append(Replacement(old.value, new.value, new_day, new_text))
    return out


def renamed_settings(
    facts: Sequence[tuple[str, str]], texts: Sequence[tuple[str, str]]
) -> list[Replacement]:
    """A setting whose distinctive value a later session gives under another name
    (``BROKERS_URL=localhost:9092`` → ``KAFKA_URL=localhost:9092``), the old name no longer
    said: the variable was renamed."""
    out: list[Replacement] = []
    given = [(day, text, n, v) for day, text in facts for n, v in settings(text)]
    for old_day, _t, old_name, value in given:
        if not distinctive(value):
            continue
        for new_day, new_text, new_name, new_value in given:
            if new_day <= old_day or new_value != value or new_name == old_name:
                continue
            if mentions(old_name, [t for d, t in texts if d >= new_day]):
                continue
            out.append(Replacement(old_name, new_name, new_day, new_text))
    return out


_FAILED = re.compile(r"^`(?P<cmd>[^`\n]+)`\s+failed\b(?P<rest>.*)$", re.S)


# Errors that say a command, target or file does not exist (as opposed to one that ran and
# failed): the shells', make's, npm's and most CLIs' wording of "no such thing".
_GONE_ERROR = re.compile(
    r"command not found|no rule to make target|no such file or directory|no such command"
    r"|unknown (?:sub)?command|is not a [\w-]+ command|missing script|\benoent\b"
    r"|not recognized as an? (?:internal|command)|does not exist|no such task"
    # gradle's, sbt's, maven's "Task 'x' not found in root project"
    r"|\b(?:task|target|goal|script)\s+['\"`][^'\"`]+['\"`]\s+(?:was\s+)?not\s+found\b",
    re.I,
)


# "…; `y` works instead": another command did the job the failed one no longer can.
_INSTEAD = re.compile(r";\s+`(?P<new>[^`\n]+)`\s+(?:works|worked)\s+instead\b")


def gone_command(text: str) -> str | None:
    """The command of a failure whose error says it no longer exists, left unresolved or
    resolved by another command (a fix after which the same command passed says it is not
    gone)."""
    m = _FAILED.match(text)
    if m is None or not _GONE_ERROR.search(m.group("rest")):
        return None
    if FIX_LINE.search(text) and _INSTEAD.search(text) is None:
        return None
    # the error must be about the command itself ("make: *** No rule to make target 'dev'",
    # "Command not found: worker"), not a file the command could not find
    words = [w for w in m.group("cmd").split() if len(w) >= 3 and not w.startswith("-")]
    if not any(term_pattern(w).search(m.group("rest")) for w in words):
        return None
    return m.group("cmd")


def gone_commands(
    failures: Sequence[tuple[str, str]], texts: Sequence[tuple[str, str]]
) -> list[Replacement]:
    """A remembered command that a later session ran and saw fail as gone ("No rule to make
    target", "command not found"), not run successfully since: it is out of date. Only a
    command memory held before that day counts (a tool missing on a new machine is not a
    replacement)."""
    out: list[Replacement] = []
    for day, text in failures:
        cmd = gone_command(text)
        if cmd is None:
            continue
        before = [t for d, t in texts if d < day]
        worked_since = [t for d, t in texts if d > day and t != text and gone_command(t) is None]
        if mentions(cmd, before) and not mentions(cmd, worked_since):
            instead = _INSTEAD.search(text)
            out.append(Replacement(cmd, instead.group("new") if instead else "", day, text))
    return out


_ANNOUNCED = re.compile(r"^(?:Replaced|Switched to):[^(]*?\((?P<said>.*)\)\s*$", re.S)


def said_key(text: str) -> str:
    """What a statement says, as a key: for an announced replacement ("Replaced: `x` is gone
    ("we dropped x")") the words it quotes, for anything else its own words; so a fact and
    the replacement read from it are one statement."""
    m = _ANNOUNCED.match(text)
    said = m.group("said").strip().strip('"“”') if m else text
    return norm_words(said)


def turned_down(rules: Sequence[tuple[str, str]], tools: Set[str]) -> list[Replacement]:
    """A tool an older rule takes and a later rule of the same project turns down ("run black
    on what you touch", then "format with ruff, not black"): the older rule, and what else
    presents that tool as current, is out of date, when the later rule takes another tool
    instead (the replacement names it)."""
    out: list[Replacement] = []
    for old_day, old_text in rules:
        so = stance(old_text)
        for new_day, new_text in rules:
            if new_day <= old_day:
                continue
            sn = stance(new_text)
            known = tools | names_in(old_text) | names_in(new_text)
            # only a rule that takes another tool instead replaces one: "don't run pytest
            # in parallel" says how to use pytest, not that it went
            new = next((w for w, ok in sn.items() if ok and w in known), "")
            for word, taken in so.items():
                if new and taken and sn.get(word) is False and word in known:
                    if _counterpart(new_text, word) not in (None, new):
                        continue  # the rule weighs other things against it
                    out.append(Replacement(word, new, new_day, new_text))
    return out


def _counterpart(text: str, word: str) -> str | None:
    """What a rule sets against ``word`` when it says both the same way ("posts in markdown
    files instead of svelte files": markdown against svelte, the noun after each the same):
    the word before the nearest earlier mention of the noun that follows ``word``; None
    when the rule has no such parallel ("ruff, not black")."""
    stems = [stem(t) for t in re.findall(r"[a-z0-9][a-z0-9'-]*", unwrap(text).lower())]
    if word not in stems:
        return None
    i = stems.index(word)
    if i + 1 >= len(stems) or stems[i + 1] in FILLER:
        return None
    head = stems[i + 1]
    for j in range(i - 1, 0, -1):
        if stems[j] == head:
            return stems[j - 1]
    return None
