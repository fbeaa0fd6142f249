"""What the agent's words and the task's outcomes tell about its actions: the line of a failed
command's output that the agent's diagnosis cites as the cause, the settings an edit
changed, the offer a reply answers, and how a lesson shows the command that worked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from memoryd.extract.offline.limits import COMMAND_CHARS
from memoryd.extract.offline.shell import RUNNER_PREFIX, WRAPPER_LINE, as_error, clip_command
from memoryd.textutil import clip, md_code, one_line

# Words that carry no subject of their own: a line and a conclusion sharing only these cite
# nothing.
_FUNCTION_WORDS = frozenset(
    "the a an and or but of to in on at by for with from into as is are was were be been "
    "being it its this that these those not no than then there here has have had do does did "
    "will would can could should may might must so if when while after before because about "
    "over under up down out off all any each every some more most other such only own same too "
    "very just also now which what who how why where your you we our they their".split()
)
_WORD = re.compile(r"[A-Za-z0-9$][\w$]*")
_CODE_SPAN = re.compile(r"`[^`\n]+`")
CITED_MIN = 3


def _weight(word: str) -> int:
    """A name (a digit, an underscore, inner capitals) or a long word says more than a short
    word."""
    special = any(c.isdigit() or c == "_" for c in word) or word[1:] != word[1:].lower()
    return 2 if special or len(word) >= 7 else 1


def spoken_words(said: Sequence[str], command: str) -> set[str]:
    """The words (lower-cased) of what the agent said about a command's outcome, without
    function words, the command's own words and the code spans it wrote (naming a command,
    the failed one or its fix, cites nothing: a tool that prints the command to run would
    otherwise be cited for it)."""
    own = {w.lower() for w in _WORD.findall(command)}
    prose = [_CODE_SPAN.sub(" ", text) for text in said]
    return {w.lower() for text in prose for w in _WORD.findall(text)} - own - _FUNCTION_WORDS


def cited_error(body: str, spoken: set[str]) -> tuple[str, int] | None:
    """The line of a failed command's output that the agent's later words cite most (its
    diagnosis names the cause it read: "failed because the database x does not exist"), with
    its score; None when no line shares ``CITED_MIN`` worth of words."""
    lines = [RUNNER_PREFIX.sub("", ln).strip() for ln in body.splitlines()] if spoken else []
    best: tuple[int, int] | None = None
    for i, line in enumerate(lines):
        if not line or WRAPPER_LINE.search(line):
            continue
        score = cited_score(line, spoken)
        if score >= CITED_MIN and (best is None or score > best[1]):
            best = (i, score)
    return (as_error(lines, best[0]), best[1]) if best is not None else None


def names_offer(reply: str, offer: str, done: str) -> bool:
    """Whether a reply names a word of the code an assistant's message offered that the last
    action (``done``) did not run: "no, not drop" after "the quickest is `db drop --force`"
    answers the offer, not the command run before it."""
    offered = {
        w.lower() for span in _CODE_SPAN.findall(offer) for w in _WORD.findall(span) if len(w) > 2
    }
    ran = {w.lower() for w in _WORD.findall(done)}
    said = {w.lower() for w in _WORD.findall(reply[:OFFER_REPLY])}
    return bool((offered - ran - _FUNCTION_WORDS) & said)


OFFER_REPLY = 200  # the words of a reply that answer what came before it


def cited_score(line: str, spoken: set[str]) -> int:
    """How much of ``line`` the words in ``spoken`` (lower-cased) name."""
    words = {w for w in _WORD.findall(line) if len(w) > 1}
    return sum(_weight(w) for w in words if w.lower() in spoken)


# "minSdk = 26", "port: 8080", "PHX_PORT=4010", '"node": "20"': a key and its value on one line.
_SETTING_LINE = re.compile(
    r"^[\"']?(?P<key>[A-Za-z_][\w.-]{1,60})[\"']?\s*(?P<op>[:=])\s*(?P<value>[^\s{\[(].{0,60}?)"
    r"\s*[,;]?$"
)
# "<maven.compiler.release>17</maven.compiler.release>", "<TargetFramework>net8.0</…>": an
# XML build file's element holding one value (pom.xml, *.csproj, Directory.Build.props).
_ELEMENT_LINE = re.compile(
    r"^<(?P<key>[A-Za-z_][\w.:-]{1,60})>(?P<value>[^<>\s][^<>]{0,60}?)</(?P=key)>$"
)

# A version ("3.11", "v1.22.9", "20.11.0-rc1"). Written as one dot and a tail rather than
# "(?:\.\d+)+" then the tail: both match the same text, but the tail also takes ".1", so the
# repeated group backtracks through every split of a long dotted run that fails to end well.
VERSION = r"v?\d+\.\d+[\w.+-]*"
# "go 1.22" (go.mod), "nodejs 20.11.0" (.tool-versions): a directive and the version it pins.
_DIRECTIVE_LINE = re.compile(rf"^(?P<key>[a-z][\w.-]{{1,30}})\s+(?P<value>{VERSION})$")
PIN = " "  # the operator ``setting_line`` gives a directive that pins a version
# "#SBATCH --account=rtlab-h2", "--max-old-space-size=4096": an option set to one value, alone
# on its line or after a scheduler's directive (#SBATCH, #PBS, #BSUB, #$).
_OPTION_LINE = re.compile(
    r"^(?:#(?:[A-Z]{2,10}|\$)\s+)?--(?P<key>[a-z][\w-]{1,40})=(?P<value>[^\s=]{1,60})$"
)


def setting_line(line: str) -> tuple[str, str, str] | None:
    """(key, operator, value) of a line that sets one value; an XML element's operator is
    ``<>``, a directive's that pins a version a space."""
    m = _SETTING_LINE.match(line)
    if m is not None:
        return m.group("key"), m.group("op"), m.group("value")
    m = _ELEMENT_LINE.match(line)
    if m is not None:
        return m.group("key"), "<>", m.group("value")
    m = _DIRECTIVE_LINE.match(line)
    if m is not None:
        return m.group("key"), PIN, m.group("value")
    m = _OPTION_LINE.match(line)
    if m is not None:
        return m.group("key"), "=", m.group("value")
    return None


def setting_changes(removed: Sequence[str], added: Sequence[str]) -> list[tuple[str, str, str]]:
    """(key, old line, new line) for each setting an edit gives another value: a removed and
    an added line with the same key and operator, the value one token (a number, a version,
    a name, a path)."""
    before: dict[tuple[str, str], str] = {}
    for ln in removed:
        s = setting_line(ln)
        if s is not None:
            before.setdefault((s[0], s[1]), ln)
    out: list[tuple[str, str, str]] = []
    for ln in added:
        s = setting_line(ln)
        if s is None or re.search(r"\s", s[2].strip("\"',; ")):
            continue  # a sentence in a string is copy, not a setting
        old = before.get((s[0], s[1]))
        if old is not None and old != ln:
            out.append((s[0], old, ln))
    return out


def pinned(key: str, version: str) -> re.Pattern[str]:
    """``key`` with ``version`` beside it: "go 1.22", "Go 1.22.9", "go1.22", "`go 1.22`"."""
    v = re.escape(version.lstrip("v"))
    return re.compile(rf"(?<![\w.-]){re.escape(key)}[\s`'\"]{{0,3}}v?{v}(?![\w-])", re.I)


def names(text: str, key: str) -> bool:
    """Whether ``text`` names a setting's key, however spaced or cased ("set the min SDK"
    names ``minSdk``)."""
    flat = re.sub(r"[^a-z0-9]", "", key.lower())
    return len(flat) >= 3 and flat in re.sub(r"[^a-z0-9]", "", text.lower())


# A UUID or a long hex id: the lock, container or job of one run.
_RUN_ID = re.compile(r"\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b|\b[0-9a-f]{12,}\b", re.I)


def without_ids(command: str) -> str:
    """A fix command with the ids of one run shown as ``<id>``: the step is what to do again
    (``terraform force-unlock <id>``), the id belonged to that run."""
    return _RUN_ID.sub("<id>", command)


# A lesson is one line a summary can hold whole (what failed, why, what fixed it): its parts
# are clipped so that the fix is never the part cut off.
LESSON_PART = 90
LESSON_ERROR = 110
# How much of a fix command is kept past where it starts to differ from the failed one.
LESSON_DIFF = 40


def fix_code(fix: str, failed: str) -> str:
    """The command that worked, as code, clipped past where it differs from the failed one: a
    rerun with another flag value at the end of a long line (`` -target x,version=2 ``) is
    worth nothing once the difference is cut off."""
    flat, other = one_line(without_ids(fix)), one_line(failed)
    differ = next(
        (i for i, (x, y) in enumerate(zip(flat, other, strict=False)) if x != y),
        min(len(flat), len(other)),
    )
    return md_code(clip_command(flat, min(COMMAND_CHARS, max(LESSON_PART, differ + LESSON_DIFF))))


def instead_of(fix: str, failed: str, verb: str = "works") -> str:
    """What worked in place of a failed command: the command, or only the arguments it added
    when it is the failed command with more at its end (the lesson already shows the rest)."""
    flat, other = one_line(without_ids(fix)), one_line(failed)
    if flat.startswith(f"{other} ") and len(other) >= LESSON_DIFF:
        return (
            f"with {md_code(clip(flat[len(other) :].strip(), LESSON_PART))} added it {verb} instead"
        )
    return f"{fix_code(fix, failed)} {verb} instead"
