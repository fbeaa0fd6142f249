"""Durable statements: what the assistant concluded and the user stated about the project
(environment variables, ports, versions, where things live, how to run things), facts that
only show in tool output, and statements that something was replaced or is gone.

A sentence is kept when it has an *anchor* (an environment variable, a port, a version, a
path or a code span) and reads as a *standing statement* (a present-tense or modal verb), is
not narration of what was just done ("I ran…", "Let me…"), and holds no value of one run (a
pid, a hash, a temporary path)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from memoryd.extract.offline.judge import Printed, is_probe
from memoryd.extract.offline.sentences import SELF_REPAIR, split_sentences, strip_tail
from memoryd.extract.offline.shell import SUBCOMMAND_PROGRAMS, command_key, command_programs
from memoryd.extract.offline.timeline import Command, Task
from memoryd.textutil import TRANSIENT, clip, dedupe, md_code, one_line

FACT_CHARS = 240
MAX_FACTS = 8

_ENV_VAR = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|`[A-Z][A-Z0-9_]{2,}`")
_PORT = re.compile(
    r"\b(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|[\w-]+\.local):\d{2,5}\b|\bport\s+\d{2,5}\b"
    # "listens on :8088", "serves on `:3000`": a bare port after "on"/"at"
    r"|\b(?:on|at)\s+`?:\d{2,5}\b",
    re.I,
)
VERSION = re.compile(r"\b(?:v|version\s+|>=\s*|==\s*|\^|~)?\d+\.\d+(?:\.\d+)?\b", re.I)
_PATH = re.compile(
    r"(?:^|[\s(`'\"])(?:\.{0,2}/)?[\w.-]+/[\w./-]*[\w/]|\b[\w-]+\.(?:py|ts|js|toml|ya?ml|json|cfg|ini|sql|md|env|sh|lock)\b"
)
_CODE = re.compile(r"`[^`\n]{2,80}`")
_STANDING = re.compile(
    r"\b(?:is|are|must|needs?|requires?|reads?|lives?|located|defined|configured|expects?"
    r"|uses?|listens?|binds?|pins?|pinned|generated|should|has\s+to|have\s+to|depends?\s+on"
    r"|comes?\s+from|points?\s+to|only\s+works|works\s+only|runs?\s+(?:on|at|in|from|before"
    r"|after)|sits?\s+in|belongs?\s+in|goes\s+in|go\s+in|can't|cannot|won't|breaks?|fails?\s+"
    r"(?:unless|without|if|when)|only\s+(?:pass|passes|succeeds?|runs?)\s+(?:with|when|if|on|in))\b"
    # how a thing is done, with its instrument: "the app now starts locally with `x`"
    r"|\b[a-z]+s\s+(?:\w+\s+){0,2}(?:with|via|through|using)\s+`"
    # "the nightly job builds only the changed packages": how a thing always behaves
    r"|\b[a-z]{3,}s\s+only\b",
    re.I,
)
_NARRATION = re.compile(
    r"^(?:i(?:'ll|'ve|'m|'d)?\b|let\s+me\b|let's\b|now\b|next\b|first\b|then\b|done\b|sure\b"
    r"|ok(?:ay)?\b|great\b|here(?:'s|\s+is|\s+are)\b|below\b|above\b|you\s+can\s+now\b"
    r"|this\s+(?:patch|change|commit|pr|fix)\b|the\s+(?:patch|change|fix|diff)\s+)",
    re.I,
)
# A conclusion often opens with how it was reached; the statement is what follows.
_LEAD = re.compile(
    r"^(?:(?:so|note(?:\s+that)?|fyi|btw|also|found\s+it|it\s+turns\s+out(?:\s+that)?"
    r"|i\s+(?:found|checked|confirmed|see|noticed|verified)(?:\s+that)?"
    r"|(?:it\s+)?looks\s+like|the\s+(?:issue|problem|cause|root\s+cause|reason)\s+(?:was|is)"
    r"(?:\s+that)?|turns\s+out)[:,]?\s+)+",
    re.I,
)
# "They do not fight: the compose db listens on …", "I checked it locally: the API runs on
# …": a short verdict on the question, or how the answer was reached, before a colon; the
# statement is what follows it.
_VERDICT = re.compile(
    r"^(?:(?:it|they|this|that|these|those)\b|i\s+[a-z]+ed\b)[^:;`]{0,40}:\s+(?=\S{3})", re.I
)
_PAST_ACTION = re.compile(
    r"^\s*(?:i|we)\s+\w+ed\b|\b(?:i|we)\s+(?:just|have|had)\b|\bfor\s+(?:now|this\s+run)\b", re.I
)


# A statement about "it" needs the sentence before it; one that says what fixed "it" is the
# story of one session.
_ANAPHORA = re.compile(
    r"^(?:it|this|that|they|these|those|he|she)\b|\bfix(?:ed|es)\s+(?:it|this|that)\b", re.I
)


# "no wait, it's 4010", "scratch that", "correction: …": the message before is taken back.
_RETRACTS = re.compile(rf"^\s*(?:no\s*[,.!]?\s*{SELF_REPAIR}|scratch\s+that\b|correction\b)", re.I)


_ASIDE = re.compile(r"\s*\([^()]{1,120}\)")


# "TZ=UTC", "CI=1": a setting with its value, even without an underscore in its name.
_ASSIGNED = re.compile(r"\b[A-Z][A-Z0-9_]+=[^\s,;]+")
# "Node 20", "Postgres 16", "Java 21": a named runtime or service and its major version.
_NAMED_VERSION = re.compile(r"\b[A-Z][A-Za-z]+\s+v?\d{1,3}\b(?![:.]\d)")


# "minSdk is 28", "maxRetries = 5": a name in code (camelCase) given its value.
_CODE_SETTING = re.compile(r"\b[a-z]+[A-Z]\w*\s+(?:is|=|:)\s+\d+\b")
# "0x3C", "0xFF00": a hex literal (a bus address, a register, a mask) names one exact value.
_HEX = re.compile(r"\b0x[0-9A-Fa-f]{2,8}\b")
_ANCHORS = (_ENV_VAR, _PORT, VERSION, _PATH, _CODE, _ASSIGNED, _NAMED_VERSION, _CODE_SETTING, _HEX)


def _anchored(s: str) -> bool:
    return any(p.search(s) for p in _ANCHORS)


# "Tomasz added `withoutTrashed()` in a91f03de for GDPR": the commit a line came from says
# where the fact was found, not the fact.
_PROVENANCE = re.compile(r"\s+(?:in|by|since|from)\s+(?:commit\s+)?`?[0-9a-f]{7,12}`?\b", re.I)
# A report of one action ("Added X to …", "`x` applied it and …") is no standing statement.
_REPORT = re.compile(
    r"^[A-Za-z]+ed\b|\b(?:[a-z]+ed|ran|did|made|put|set|got)\s+(?:it|them|this|that)\b"
)


def _seen_anchors(s: str, seen: Printed) -> bool:
    """Whether a setting the sentence names (an environment variable, with its value or
    not) shows in what the session's commands printed: the assistant read it in a file or
    an output, so the sentence states a fact about the project even without a verb of state
    ("workers run under Horizon with X=redis"). A code span or a count ("PASS=4") is no
    setting: commands print the names of everything they touch."""
    names = [m.group(0).strip("`") for m in _ENV_VAR.finditer(s)]
    return any("_" in n and n in seen.text for n in names)


# "Main added `x` to …", "The upgrade removed …": a sentence that opens by telling what
# happened tells an event, even in a conclusion.
# "After `x sync` the build passes: PASS=19": an occasion and a count tell one run.
_TOLD_EVENT = re.compile(
    r"^(?:\S+\s+){0,2}[a-z]{2,}ed\b(?!\s+(?:by|as|in|to)\b)|^(?:after|once|then|now)\b"
    r"|\b[A-Z]+=\d+\b",
    re.I,
)


def _transient(s: str, seen: Printed) -> bool:
    """Whether a sentence holds a value of one run; a long number that the session's
    commands printed as a setting's value ("monitor_speed = 115200") is the project's."""
    return any(m.group(0) not in seen.values for m in TRANSIENT.finditer(s))


_NOTHING_PRINTED = Printed()


def _statement(sentence: str, seen: Printed = _NOTHING_PRINTED, loose: bool = False) -> str | None:
    """The durable statement a sentence makes, or None; ``seen`` is what the session's
    commands printed. ``loose``: the sentence is of a conclusion (the answer that ends the
    task, or one the user said back), whose anchored sentences state what was found even
    without a verb of state ("`x.cfg` has a `[deploy]` section: …")."""
    s = one_line(sentence.strip().lstrip("-*• ").strip())
    if m := _RETRACTS.match(s):  # "no wait, X": X is what is said
        s = s[m.end() :].lstrip(" ,.!")
    s = _LEAD.sub("", s).strip()
    s = _VERDICT.sub("", s)
    if not s or s.endswith("?") or len(s) < 20 or len(s) > 400:
        return None
    # A value of one run in an aside ("(a41c9e2 dropped it)") goes; the statement stays.
    s = _ASIDE.sub(lambda m: "" if TRANSIENT.search(m.group(0)) else m.group(0), s).strip()
    s = _PROVENANCE.sub("", s)
    if _NARRATION.match(s) or _PAST_ACTION.search(s) or _transient(s, seen):
        return None
    if _ANAPHORA.search(s):
        return None
    if not _anchored(s) or "REDACTED" in s:
        return None
    if _REPORT.search(s) and not _STANDING.search(s):
        return None
    if not (_STANDING.search(s) or (loose and not _TOLD_EVENT.match(s)) or _seen_anchors(s, seen)):
        return None
    s = strip_tail(s)
    # a name in code keeps its case ("minSdk is 28")
    first = s.split(maxsplit=1)[0]
    return clip(s if first != first.lower() else s[:1].upper() + s[1:], FACT_CHARS)


# "the download in loom/weights.py says 401", "the admin page is broken": the trouble a user
# brings is the task's question, not knowledge (a condition of failure, "fails without X", is).
_TROUBLE = re.compile(
    r"\b(?:says|returns|gives|shows|throws|prints|answers)\s+(?:an?\s+|me\s+)?"
    r"(?:\d{3}\b|errors?\b|exceptions?\b)"
    r"|\b(?:is|are)\s+(?:now\s+|still\s+)?(?:broken|failing|red|down)\b"
    r"|\b(?:doesn't|does\s+not|won't|can't|cannot)\s+(?:work|start|build|load|run|compile|connect)\b",
    re.I,
)


def user_statements(texts: Iterable[str]) -> list[str]:
    """The durable statements of the user's messages, without the trouble they report and
    without a message the next one takes back."""
    said = list(texts)
    kept = [t for i, t in enumerate(said) if i + 1 == len(said) or not _RETRACTS.match(said[i + 1])]
    return [s for s in statements(kept) if _TROUBLE.search(s) is None]


# "On the laptop, run them with `-m 'not gpu'`", "Without Docker use `--offline`": advice under
# a condition of the environment, an imperative with a code span, is how to work there.
_CONDITIONED_ADVICE = re.compile(
    r"^(?:on|in|without|with|for|outside|inside|under)\s+(?:a\s+|an\s+|the\s+)?[\w./-]+"
    r"(?:\s+[\w./-]+){0,3},?\s+(?P<verb>run|use|pass|add|set|call|start|build|test)\s+"
    r"[^;]*`[^`\n]{2,80}`",
    re.I,
)
_BACK_POINTER = re.compile(r"\b(?:them|it|those|these)\b", re.I)


def statements(
    texts: Iterable[str], seen: Printed | str = "", ran: str = "", conclusions: Iterable[str] = ()
) -> list[str]:
    """The durable statements of some messages, in order, without repeats; ``seen`` is what
    the session's commands printed (a name read there anchors a statement), ``ran`` the
    commands that succeeded (the instrument of a step the agent reports), ``conclusions``
    the texts whose anchored sentences need no verb of state."""
    printed = Printed.of(seen) if isinstance(seen, str) else seen
    out: list[str] = []
    loose_texts = set(conclusions)
    for text in texts:
        loose = text in loose_texts
        # Lines of a list or a code block are separate statements; fenced code is not prose.
        prose = re.sub(r"```.*?(?:```|$)", " ", text, flags=re.S)
        last: str | None = None
        joined = False  # the sentence before ended with ";": one line said in two clauses
        for sentence in split_sentences(prose):
            st = _statement(sentence, printed, loose)
            if st is not None and joined and last is not None and out and out[-1] == last:
                # "listens on :8088; `GET /healthz` is its probe": one fact about one thing
                out[-1] = clip(f"{last}; {st[:1].lower()}{st[1:]}", FACT_CHARS)
                last, joined = out[-1], sentence.rstrip().endswith(";")
                continue
            joined = sentence.rstrip().endswith(";")
            if st is None:
                advice = _advice(sentence)
                if advice and last is not None and _BACK_POINTER.search(advice):
                    # "run them with …" says what to do with what the statement before named
                    out[-1] = clip(f"{last}; {advice[:1].lower()}{advice[1:]}", FACT_CHARS)
                    last = None
                    continue
                st = advice or _instrument(sentence, ran) or None
            if st is not None:
                out.append(st)
            last = st
    return dedupe(out)


# "Set `X=1` before running the e2e suite", "To run one test: `go test -run Name`": how to
# do something, said as an instruction with its command and its occasion or purpose.
_HOW_TO = re.compile(
    r"^(?:set|export|run|use|pass|add|start|call)\s+`[^`\n]{2,80}`\s+(?:before|after|when"
    r"|whenever|for|to|in|on)\b"
    r"|^to\s+\w+(?:\s+[^:`]{1,60})?:\s*`[^`\n]{2,80}`",
    re.I,
)


# "Pulled the spec and regenerated the client with `./gradlew :api:gen`": a step the agent
# reports with the command it took, a command that then succeeded, says how that thing is
# done here ("The client is regenerated with `…`"). Regular verbs only: their past is their
# participle.
_INSTRUMENT = re.compile(
    r"(?:^|\band\s+)(?P<verb>[a-z]{3,}ed)\s+(?P<obj>(?:the|our|its)\s+[\w-]+(?:\s+[\w-]+)?)"
    r"\s+(?:with|via|using|through)\s+`(?P<cmd>[^`\n]{3,100})`[.!]?$",
    re.I,
)


def _instrument(sentence: str, ran: str) -> str:
    m = _INSTRUMENT.search(one_line(sentence.strip()))
    if m is None or m.group("cmd") not in ran or TRANSIENT.search(m.group("cmd")):
        return ""
    obj = m.group("obj")
    return f"{obj[:1].upper()}{obj[1:]} is {m.group('verb').lower()} with {md_code(m.group('cmd'))}"


def _advice(sentence: str) -> str:
    s = strip_tail(one_line(sentence.strip().lstrip("-*• ").strip()))
    if TRANSIENT.search(s):
        return ""
    return s if _CONDITIONED_ADVICE.match(s) or _HOW_TO.match(s) else ""


# Statements that something was replaced or is gone. X is a code span or one or two words.
# A code span may be followed by the common noun it names ("the old `loom-cu121` env").
# A name may be followed by its version ("Blender 3.6", "Python 3.11"): the version is what
# changed, so it is part of the thing replaced.
_VERSION = r"v?\d+(?:\.\d+)+[\w.+-]*"
_X = (
    r"(?:`[^`\n]{1,60}`(?:\s+[a-z]{2,12}\b(?!\s+(?:with|by|to)\b))?"
    rf"|[\w./:@+-]+(?:\s+(?:[a-z][\w./:@+-]*|{_VERSION}\b))?)"
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
        rf"(?P<old>{_X})\s+(?:is|are|has\s+been|was)\s+(?:gone|removed|deleted|deprecated|dead"
        rf"|obsolete|no\s+longer\s+(?:used|available|supported|exists?|there|needed|read|set"
        rf"|loaded|consulted|honou?red|recognized|recognised|required|called|in\s+use))",
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
_GONE_ERROR = re.compile(
    r"(?P<a>[\w.+-]+): (?:command )?not found|command not found: (?P<b>[\w.+-]+)"
    r"|No rule to make target [`'\"]?(?P<c>[\w./-]+)|Missing script:? [`'\"]?(?P<d>[\w:.-]+)"
    r"|no such command:? [`'\"]?(?P<e>[\w.-]+)|unknown command:? [`'\"]?(?P<f>[\w.-]+)"
    r"|unrecognized subcommand [`'\"]?(?P<g>[\w.-]+)|Task [`'\"]?(?P<h>[\w:.-]+)[`'\"]? "
    r"(?:does not exist|not found)"
    r"|no such subcommand:? [`'\"]?(?P<i>[\w.-]+)|Could not find (?:command|task|script) "
    r"[`'\"]?(?P<j>[\w:.-]+)|Don't know how to build task [`'\"]?(?P<k>[\w:.-]+)"
    r"|(?P<l>\.{0,2}/[\w./-]+|[\w.-]+\.(?:sh|py|js|mjs|rb)): No such file or directory"
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
# A stopgap, not a switch: "use my token for now", "point it at staging temporarily".
_FOR_NOW = re.compile(
    r"\b(?:for\s+now|for\s+the\s+moment|for\s+the\s+time\s+being|temporarily|this\s+once)\b",
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
        and not re.fullmatch(_VERSION, words[1])
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
                olds = _items(m.group("old"))
                break
            change = f"is replaced by {_term(new)}" if new else "is gone"
            out += [f'Replaced: {_term(old)} {change} ("{quote}")' for old in olds]
            if new or _FOR_NOW.search(s):
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
