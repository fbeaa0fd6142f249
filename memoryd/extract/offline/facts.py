"""Durable statements: what the assistant concluded and the user stated about the project
(environment variables, ports, versions, where things live, how to run things), facts that
only show in tool output (statements that something was replaced or is gone are ``changes``'s).

A sentence is kept when it has an *anchor* (an environment variable, a port, a version, a
path or a code span) and reads as a *standing statement* (a present-tense or modal verb), is
not narration of what was just done ("I ran…", "Let me…"), and holds no value of one run (a
pid, a hash, a temporary path)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from memoryd.extract.offline.judge import Printed
from memoryd.extract.offline.sentences import SELF_REPAIR, split_sentences, strip_tail
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
    r"|comes?\s+from|(?:takes?|gets?|pulls?|loads?)\s+(?:\w+\s+){1,3}from|points?\s+to"
    r"|only\s+works|works\s+only|runs?\s+(?:on|at|in|from|before|after|against)"
    r"|(?:forwards?|routes?|proxies|proxy|redirects?)\s+(?:\S+\s+){1,3}to\b|sits?\s+in"
    r"|belongs?\s+in|goes\s+in|go\s+in|can't|cannot|won't|breaks?|fails?\s+"
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
