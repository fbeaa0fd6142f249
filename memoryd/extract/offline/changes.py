"""Statements that something was replaced or is gone: said in words ("we moved off poetry to
uv", "make is gone"), or shown by a command that failed because what it runs no longer exists.
Each becomes a "Replaced:" or "Switched to:" line the consolidator supersedes older facts by."""

from __future__ import annotations

import re
from collections.abc import Iterable

from memoryd.extract.offline.judge import is_probe
from memoryd.extract.offline.outcomes import VERSION
from memoryd.extract.offline.sentences import FOR_NOW, split_sentences, strip_tail
from memoryd.extract.offline.shell import SUBCOMMAND_PROGRAMS, command_key, command_programs
from memoryd.extract.offline.tasks import Command, Task
from memoryd.textutil import TRANSIENT, clip, dedupe, md_code, one_line

# Statements that something was replaced or is gone. X is a code span or one or two words.
# A code span may be followed by the common noun it names ("the old `loom-cu121` env").
# A name may be followed by its version ("Blender 3.6", "Python 3.11"): the version is what
# changed, so it is part of the thing replaced.
_X = (
    r"(?:`[^`\n]{1,60}`(?:\s+[a-z]{2,12}\b(?!\s+(?:with|by|to)\b))?"
    # (a name never ends in a colon: "in the repo: netlify.toml is deleted" is netlify.toml)
    rf"|[\w./:@+-]*[\w./@+-](?:\s+(?:[a-z][\w./:@+-]*|{VERSION}\b))?)"
)
# Several old things replaced at once: "eslint and prettier", "`a`, `b` and `c`".
_XS = rf"{_X}(?:(?:,\s*|,?\s+and\s+){_X}){{0,3}}"
_REPLACED: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.I)
    for p in (
        rf"\b(?:replaced|swapped)\s+(?P<old>{_XS})\s+(?:with|for|by)\s+(?P<new>{_X})",
        # "ditched poetry for uv", "dropped nose in favour of pytest"
        rf"\b(?:ditched|dropped|abandoned|retired|traded)\s+(?P<old>{_X})\s+(?:for|in\s+favou?r\s+of)"
        rf"\s+(?P<new>{_X})",
        # "moved lumen off conan to vcpkg": from what to what, with what moved in between
        rf"\b(?:switched|migrated|moved|went)\s+(?:[\w-]+\s+){{0,2}}?(?:off(?:\s+of)?|away\s+from)"
        rf"\s+(?P<old>{_X})\s+(?:to|onto|over\s+to)\s+(?P<new>{_X})",
        rf"(?P<old>{_X})\s+(?:has\s+been|was|got|is(?:\s+now)?|are(?:\s+now)?|have\s+been|were)"
        rf"\s+replaced\s+"
        rf"(?:with|by)\s+(?P<new>{_X})",
        # … with what changed in between: "changed the linter of the api from X to Y"
        rf"\b(?:switched|migrated|moved|changed|went|upgraded|updated|bumped)\s+"
        rf"(?:(?:the|our|all)\s+(?:[\w-]+\s+){{1,4}}?)?"
        rf"(?:over\s+)?from\s+(?P<old>{_X})\s+"
        rf"(?:to|over\s+to)\s+(?P<new>{_X})",
        rf"(?P<old>{_X})\s+(?:was|has\s+been|got|is\s+now)\s+renamed\s+to\s+(?P<new>{_X})",
        rf"\b(?:no\s+longer|stopped)\s+(?:use|using|uses)\s+(?P<old>{_X})"
        rf"(?:\s+any\s*more)?(?:[,;:]?\s+(?:use|we\s+use|it's|now)\s+(?P<new>{_X}))?",
        # "we do not use sudo for installs" is a habit; "we don't use X anymore" a change
        rf"\b(?:don't|do\s+not)\s+use\s+(?P<old>{_X})\s+any\s*more"
        rf"(?:[,;:]?\s+(?:use|we\s+use|it's|now)\s+(?P<new>{_X}))?",
        rf"(?P<old>{_X})\s+(?:isn't|is\s+not|aren't|are\s+not)\s+(?:used|needed|installed"
        rf"|supported|run|available)\s+(?:any\s*more|now)\b",
        # what is gone has a name or a port: "the machine on 3 is dead" says nothing of a tool,
        # and what is gone "again" comes back
        rf"(?P<old>(?=\S*[a-z`]|\d{{3,}}){_X})\s+(?:is|are|has\s+been|was)\s+"
        rf"(?:gone|removed|deleted|deprecated|dead|obsolete|no\s+longer\s+(?:used|available"
        rf"|supported|exists?|there|needed|read|set|loaded|consulted|honou?red|recognized"
        rf"|recognised|required|called|in\s+use))(?!\s+again\b)",
        rf"\buse\s+(?P<new>{_X})\s+now\s+(?:instead\s+of|rather\s+than|not)\s+(?P<old>{_X})",
        # With its subject: "Removed the duplicated branch" narrates an edit.
        # … or a teammate by name: "Marco removed prettier from the repo"
        rf"(?:\b(?:we|i|they|you)|(?-i:\b[A-Z][a-z]+))\s+(?:have\s+|'ve\s+)?(?:dropped|ditched"
        rf"|got\s+rid\s+of|removed|retired)\s+(?P<old>{_X})",
        rf"\b(?:nothing|no\s+one|none\s+of\s+\w+)\s+(?:should\s+)?(?:still\s+)?"
        rf"(?:calls?|uses?|runs?|needs?|invokes?)\s+(?P<old>{_X})",
        # The new one as the subject: "`just` replaced make", "ruff supersedes black".
        # ("X is replaced by Y" is the passive above, never Y as what X replaced)
        rf"(?P<new>{_X})\s+(?:replaced|replaces|supersedes|superseded|took\s+over\s+from)\s+"
        rf"(?!(?:by|with)\b)(?P<old>{_X})",
        rf"(?P<old>{_X})\s+(?:no\s+longer\s+works?|doesn't\s+work\s+any\s*more"
        rf"|(?:doesn't|does\s+not)\s+exist\s+any\s*more"
        rf"|stopped\s+working|is\s+deprecated\s+in\s+favou?r\s+of\s+(?P<new>{_X}))",
        # "port 5433 now (was 5432)", "5433, previously 5432", "used to be 5432".
        rf"(?P<new>{_X})\s+now\b[^()]*\((?:it\s+)?(?:was|formerly|previously|used\s+to\s+be)"
        rf"\s+(?P<old>{_X})\)",
        rf"(?P<new>{_X}),?\s+(?:formerly|previously|not\s+the\s+old)\s+(?P<old>{_X})",
        rf"(?P<new>{_X})\s+now,?\s+(?:not|instead\s+of|rather\s+than)\s+(?P<old>{_X})",
        rf"(?:instead\s+of|in\s+place\s+of)\s+(?P<old>{_X}),?\s+(?:we\s+)?(?:now\s+)?"
        rf"(?:use|run)\s+(?P<new>{_X})\s+now\b",
    )
)
# "moved the dashboard to pnpm", "X uses pnpm now": the new tool, without the old one (the
# consolidator finds what it replaced in the project's older commands).
_SWITCHED: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.I)
    for p in (
        # "a changed query fails to compile": an adjective, not a switch
        rf"(?<!\ba\s)(?<!\ban\s)(?<!\bthe\s)(?<!\bany\s)(?<!\bevery\s)"
        rf"\b(?:moved|switched|migrated|went\s+over|changed)\s+(?:\w+\s+){{0,3}}?to\s+"
        rf"(?P<new>{_X})",
        rf"\b(?:uses?|runs?\s+on|is\s+on|are\s+on)\s+(?P<new>{_X})\s+now\b",
    )
)
# (a name is matched from where its word starts: tried from each character of a long word in
# a tool's output, it took time quadratic in the word's length)
_GONE_ERROR = re.compile(
    r"(?<![\w.+-])(?P<a>[\w.+-]+): (?:command )?not found|command not found: (?P<b>[\w.+-]+)"
    r"|No rule to make target [`'\"]?(?P<c>[\w./-]+)|Missing script:? [`'\"]?(?P<d>[\w:.-]+)"
    r"|no such command:? [`'\"]?(?P<e>[\w.-]+)|unknown command:? [`'\"]?(?P<f>[\w.-]+)"
    r"|unrecognized subcommand [`'\"]?(?P<g>[\w.-]+)|Task [`'\"]?(?P<h>[\w:.-]+)[`'\"]? "
    r"(?:does not exist|not found)"
    r"|no such subcommand:? [`'\"]?(?P<i>[\w.-]+)|Could not find (?:command|task|script) "
    r"[`'\"]?(?P<j>[\w:.-]+)|Don't know how to build task [`'\"]?(?P<k>[\w:.-]+)"
    r"|(?P<l>\.{0,2}/[\w./-]+|(?<![\w.-])[\w.-]+\.(?:sh|py|js|mjs|rb)): No such file or directory"
    r"|Command [`'\"](?P<m>[\w.+-]+)[`'\"] not found",
    re.I,
)
_SUBCOMMANDS = frozenset(
    "test tests run build install add sync lint check start dev serve up exec migrate compose "
    "fmt format clean deploy release publish pip tool x watch e2e ci".split()
)
# A word every replacement pattern needs: a cheap test before the patterns.
_REPLACEMENT_WORD = re.compile(
    r"replac|swapp|switch|migrat|moved|went|changed|renamed|longer|don't|do\s+not|stopped"
    r"|abandoned|traded|exist\s+any|upgrad|updat|bump"
    r"|gone|removed|deleted|deprecat|dead|obsolete|dropped|ditched|rid\s+of|retired|nothing"
    r"|no\s+one|none|supersed|took\s+over|working|work\s+any|\bnow\b|formerly|previously"
    r"|instead|in\s+place|\bold\b",
    re.I,
)
# "I replaced …", and the agent's report without its subject ("Added the line and replaced
# the sudo install with …"): the agent telling its own edit.
_FIRST_PERSON = re.compile(r"^(?:i|i've|i\s+have|i\s+just)\b|^[A-Z][a-z]+ed\b", re.I)
_STOP_OLD = frozenset("it this that the a an them we i you".split())


# Words before a tool's name that are not part of it ("the old deploy.sh", "on ruff"), and a
# conjunction that opened its clause ("…, so make no longer works": make).
_TERM_LEAD = (
    r"^(?:(?:the|a|an|our|my|old|new|current|previous|on|to|with|by|for|in|at|from|of"
    r"|so|and|but|then|thus|hence|since|because|also|or)\s+)+"
)


# An article or quantifier right before (or opening) what the sentence names as gone: a
# thing in general ("a thumbnail cache is gone after every redeploy").
_IN_GENERAL = frozenset("a an any every".split())


def _in_general(sentence: str, m: re.Match[str]) -> bool:
    """Whether the word before the old thing, or its own first word, is one of
    ``_IN_GENERAL``."""
    near = sentence[: m.start("old")].split()[-1:] + m.group("old").split()[:1]
    return any(w.lower() in _IN_GENERAL for w in near)


def _term(text: str) -> str:
    text = strip_tail(text.strip()).strip()
    text = re.sub(_TERM_LEAD, "", text, flags=re.I)
    if text.startswith("`"):
        return text[: text.index("`", 1) + 1] if "`" in text[1:] else text
    # Two words only when the first takes a subcommand ("make test", "npm run"): "uv last
    # week" is `uv`.
    words = text.split()
    if (
        len(words) > 1
        and not re.fullmatch(VERSION, words[1])
        and (words[0] not in SUBCOMMAND_PROGRAMS | {"make", "just"} or words[1] not in _SUBCOMMANDS)
    ):
        text = words[0]
    return md_code(strip_tail(text))


def replacements(texts: Iterable[str], narrated: Iterable[str] = ()) -> list[str]:
    """ "Replaced: `old` is replaced by `new`" or "Replaced: `old` is gone" for each sentence that
    says so, and "Switched to: `new`" for one that names only the new tool, quoting it."""
    out: list[str] = []
    said = [(text, False) for text in texts] + [(text, True) for text in narrated]
    for text, by_agent in said:
        if _REPLACEMENT_WORD.search(text) is None:
            continue  # most messages say nothing of the kind: skip the patterns
        for sentence in split_sentences(text):
            # a list's marker ("- poetry is gone") is no word of the sentence
            s = re.sub(r"^[-*•+]\s+", "", one_line(sentence).strip())
            if _REPLACEMENT_WORD.search(s) is None:
                continue
            if by_agent and _FIRST_PERSON.match(s):
                continue  # "I replaced the loop with …": the agent telling its own edit
            quote = clip(strip_tail(s), 160)
            olds: list[str] = []
            new: str | None = None
            for pattern in _REPLACED:
                m = pattern.search(s)
                if m is None or m.group("old").strip("`").lower() in _STOP_OLD:
                    continue
                new = m.groupdict().get("new")
                if new is not None and new.strip("`").lower() in _STOP_OLD:
                    continue  # "We replaced …": the subject is who, not what
                # "anything done by hand on a host is gone": a thing in general, not one
                if _in_general(s, m):
                    continue
                olds = _items(m.group("old"))
                break
            change = f"is replaced by {_term(new)}" if new else "is gone"
            out += [f'Replaced: {_term(old)} {change} ("{quote}")' for old in olds]
            if new or FOR_NOW.search(s):
                continue  # the new tool is named already, or it is a stopgap ("use mine for now")
            # "we switched releases over to release-plz, cargo release isn't used anymore":
            # what is gone and what it moved to are told apart (the gone thing need not be
            # what the new one replaces: "moved to pnpm, package-lock.json is gone")
            for pattern in _SWITCHED:
                m = pattern.search(s)
                if m is not None and m.group("new").strip("`").lower() not in _STOP_OLD:
                    out.append(f'Switched to: {_term(m.group("new"))} ("{quote}")')
                    break
    return dedupe(out)


def _items(text: str) -> list[str]:
    """The things of a coordination ("eslint and prettier" is two)."""
    parts = [p for p in re.split(r",\s*(?:and\s+)?|\s+and\s+", text) if p.strip()]
    return [p for p in parts if p.strip("`").lower() not in _STOP_OLD] or [text]


def gone_commands(task: Task, fixed: set[int]) -> list[str]:
    """A command that failed because what it runs does not exist (a missing program, make
    target, package script) and was not fixed by running it again in this task: evidence that
    it is gone. It is named up to what is missing (`make proto`, `pnpm exec prettier`), so
    that consolidation finds it in older commands with other arguments; what ran in its place
    next, if anything, is told with it."""
    out: list[str] = []
    commands = task.commands
    for i, cmd in enumerate(commands):
        if not cmd.failed or (isinstance(cmd, Command) and is_probe(cmd)):
            continue
        key = command_key(cmd.text)
        if cmd.seq in fixed and any(
            c.succeeded and command_key(c.text) == key for c in commands[i + 1 :]
        ):
            continue  # it ran again and worked: not gone
        m = _GONE_ERROR.search(cmd.body)
        if m is None:
            continue
        missing = next(g for g in m.groups() if g)
        programs = command_programs(cmd.text)
        if not any(missing in p.split() or missing in cmd.text.split() for p in programs):
            if missing not in cmd.text:
                continue
        cut = re.search(rf"(?<![\w.-]){re.escape(missing)}(?![\w.-])", cmd.text)
        what = md_code(clip(cmd.text[: cut.end()] if cut else cmd.text, 120))
        start = cmd.body.rfind("\n", 0, m.start()) + 1
        end = cmd.body.find("\n", m.end())
        line = cmd.body[start : end if end != -1 else len(cmd.body)]
        after = next(
            (
                c
                for c in commands[i + 1 :]
                if c.succeeded and not is_probe(c) and not TRANSIENT.search(c.text)
            ),
            None,
        )
        instead = f"; {md_code(clip(after.text, 120))} ran in its place" if after else ""
        out.append(f"Replaced: {what} is gone ({clip(line, 160)}){instead}")
    return dedupe(out)
