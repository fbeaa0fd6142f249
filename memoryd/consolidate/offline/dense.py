"""Wording the summary's lines densely: every byte of memory_summary.md is one Codex reads on
each prompt, so a line says its statement once, without the bookkeeping MEMORY.md keeps
(who rejected what in which words, "after which it passed", a quote that repeats the rule).
Nothing here knows any particular wording of the user's: only the shapes memoryd itself
writes and what one statement shares with another."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from memoryd.consolidate.offline.model import CODEISH, adds_little
from memoryd.consolidate.offline.scope import where_stated
from memoryd.textutil import FILLER, clip, content_words

LINE_CHARS = 280
# A quote that adds at most this many meaning words to its rule says nothing more that a new
# session acts on (an aside, a complaint's adjective, "remember this").
QUOTE_EXTRA_WORDS = 2
VALUES_CAP = 3  # values past these make a line no more worth keeping

# A clause that says when a rule applies: kept when the rule is cut out of the user's sentence.
_CONDITION = re.compile(
    r"^(?:before|after|when|whenever|if|once|unless|while|every time|each time)\b", re.I
)
_SENTENCE_END = re.compile(r"[.!?]+\s+")
_CLAUSE_END = re.compile(r"[.:;!?]\s+|\s+[—–-]+\s+")


def rule_line(head: str, quote: str) -> str:
    """A rule as the summary states it: what to do, and the user's words only where they say
    more. When the rule is a stretch of the user's sentence, that stretch is the line, with
    the reason after it and a condition right before it (not the lead-in: "one request: ",
    "like I said: "); when it starts a later sentence, the sentence before it comes too. A
    quote that adds no code and at most two meaning words is left out."""
    head, quote = head.strip(), quote.strip()
    if not quote or adds_little(quote, head):
        return clip(head, LINE_CHARS)
    # a rule phase 1 clipped ("… should live…") is found in the quote by what is left of it:
    # the quote then goes on past the clip with the words the clip cut off
    stem = head[:-1].rstrip() if head.endswith("…") else head.rstrip(".")
    at = quote.lower().find(stem.lower())
    if at >= 0 and stem:
        ends = [m.end() for m in _SENTENCE_END.finditer(quote[:at])]
        if ends and not quote[ends[-1] : at].strip():
            # the rule is a whole later sentence: the one before may name what it is about
            # ("Commit it. Messages should say why.")
            start = ends[-2] if len(ends) > 1 else 0
        else:
            start = at
            clauses = _CLAUSE_END.split(quote[ends[-1] if ends else 0 : at])
            before = clauses[-1].strip() if clauses else ""
            if before and _CONDITION.match(before):
                start = quote.rfind(before, 0, at)
        return clip(quote[start:].rstrip(), LINE_CHARS)
    if head.endswith("…") and stem and _held_in(stem.rsplit(None, 1)[0], quote):
        # a clipped rule reworded from the user's sentence ("ideally every X …" of "I think
        # it'd be best if every X …, because Y"), whose words the quote holds (all but the
        # last, which the clip may have cut mid-word): the quote says it all, once
        return clip(quote, LINE_CHARS)
    if adds_little(quote, head, QUOTE_EXTRA_WORDS):
        return clip(head, LINE_CHARS)
    opens = quote.lower().find(head[:40].lower())
    if quote.endswith("…") and opens >= 0 and not _SENTENCE_END.search(quote[:opens]):
        # a quote clipped before the rule ends: the rule is its sentence, lead-in aside
        return clip(head, LINE_CHARS)
    return f'{clip(head, 200)} — "{clip(quote, 200)}"'


def _held_in(text: str, quote: str) -> bool:
    """Whether the meaning words of ``text`` (at least three) are in ``quote`` but for one
    (a word the rule's rendering put first: "ideally"), and all of its values."""
    words = content_words(text)
    return len(words) >= 3 and adds_little(text, quote, 1)


# memoryd's own "don't" lines (extract/offline/lessons.py: rejected_lines)
_REJECTED = re.compile(
    r"^The user rejected (?P<proposal>the proposal to )?(?P<act>.+?) "
    r"\((?P<quote>\".*\")\): don't repeat it$"
)
_PASSED = re.compile(r", after which it passed(?=$|[.;])")


# A pipe into head or tail that only shortens what a command prints: the command a new session
# runs is the same without it ("make check 2>&1 | tail -5" is "make check").
_TRIM = re.compile(r"\s*(?:2>&1\s*)?\|\s*(?:head|tail)(?:\s+-n)?\s+-?\d+(?=\s*(?:$|&&|;|\|\||\)))")
_FAILED = re.compile(r"`(?P<cmd>[^`\n]+)` failed")
_PASSED_AS = re.compile(r", after which `(?P<cmd>[^`\n]+)` passed(?=$|[.;])")


def untrimmed(text: str) -> str:
    """``text`` with each code span's output trimming (``| tail -3``, ``2>&1 | head -8``)
    left out; a span that is nothing else stays."""

    def span(m: re.Match[str]) -> str:
        cmd = _TRIM.sub("", m.group(1)).strip()
        return f"`{cmd}`" if cmd else m.group(0)

    return _CODE.sub(span, text)


def lesson_line(text: str) -> str:
    """A lesson without what its fix implies: "fixed by `x`" needs no ", after which it
    passed", nor ", after which `y` passed" when `y` only restates the command that failed
    (itself, or a clipped stub of it or of one more argument), its output trimmed otherwise
    (a rerun under another command still says which); its error quoted by its telling part
    (``telling_part``); a command that worked only after a step said as that step ("it works
    after `x`", not "`x && <the failed command>` works instead"). MEMORY.md keeps the whole
    lesson."""
    text = untrimmed(text)
    failed, passed = _FAILED.search(text), _PASSED_AS.search(text)
    if failed and passed and _restates_command(passed.group("cmd"), failed.group("cmd")):
        text = text[: passed.start()] + text[passed.end() :]
    if failed:
        quote = _ERROR_QUOTE.match(text, failed.end())
        if quote:
            brief = telling_part(quote.group("quote"), failed.group("cmd"))
            text = f"{text[: quote.start('quote')]}{brief}{text[quote.end('quote') :]}"
        instead = _INSTEAD.search(text)
        rerun = f" && {failed.group('cmd')}"
        if instead and instead.group("fix").endswith(rerun):
            # the way that worked is a step, then the failed command again: the step is the fix
            step = instead.group("fix").removesuffix(rerun)
            text = f"{text[: instead.start()]}; it {instead.group('verb')} after `{step}`"
    return _PASSED.sub("", text)


# What worked in place of the failed command (extract/offline/outcomes.py: instead_of)
_INSTEAD = re.compile(r"; `(?P<fix>[^`\n]+)` (?P<verb>works|worked) instead$")


def _restates_command(rerun: str, failed: str) -> bool:
    """Whether a rerun names nothing the failed command does not: the command itself, a
    clipped stub of it ("`bin/r…`" of `bin/rails db:migrate`), or it with one more argument
    clipped to a stub ("`… --pr…`"): what was cut off is no step a session can repeat."""
    if rerun == failed:
        return True
    if not rerun.endswith("…"):
        return False
    stem = rerun[:-1].rstrip()
    if failed.startswith(stem):
        return True
    rest = stem[len(failed) :] if stem.startswith(failed + " ") else ""
    return bool(rest) and len(rest.split()) == 1


# A line clipped inside its closing clause: ", after which `<what the clip left>…"
_CUT_RERUN = re.compile(r", after which(?: `(?P<cmd>[^`\n]*))?…$")


def fit_line(text: str, limit: int) -> str:
    """``text`` clipped to ``limit`` characters; a lesson whose clip cuts into its closing
    ", after which `…` passed" leaves that clause out when what the clip left of the rerun
    restates the command that failed (``_restates_command``): a stub is no step to repeat."""
    clipped = clip(text, limit)
    cut, failed = _CUT_RERUN.search(clipped), _FAILED.search(clipped)
    if cut and failed and _restates_command(f"{cut.group('cmd') or ''}…", failed.group("cmd")):
        return clipped[: cut.start()]
    return clipped


# The error a lesson quotes right after its command: `x` failed: "…"
_ERROR_QUOTE = re.compile(r': "(?P<quote>[^"\n]+)"')
# A time of day (after a date) that opens a log line: when it was printed, not what.
_STAMP = re.compile(
    r"^(?:\d{1,4}[-/ .]\d{1,2}[-/ .]\d{1,4}[ T])?\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?:?\s*"
)
# The severity that opens a message (a word, a logger's level in brackets, asterisks): the
# lesson's "failed" says it already.
_SEVERITY = re.compile(
    r"^(?:(?:error|ERROR|Error)[:!]|\[(?i:error|warn|warning|info|debug|fatal|critical)\]"
    r"|\*{2,})\s*(?=\S)"
)
# A program's name before its message ("tool: …"), and the pieces a message is made of:
# sentences and the output lines the extractor joined with " | ".
_SPEAKER = re.compile(r"^(?P<name>[\w.-]+):\s+(?=\S)")
_PIECE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|\s+\|\s+")
_OPENS, _CLOSES = "([{", ")]}"
BRIEF_MIN = 20  # what is left of a clipped quote must still say something


def telling_part(quote: str, command: str = "") -> str:
    """The telling part of an error quote: without the time it was printed at, the name of
    the program the command already names and a leading "error:", and, when the quote was
    clipped, without its last sentence or output line cut short (or a bracket left open),
    unless that piece names a value (a code span, a path, a flag, a setting) before the
    cut. The whole quote when what is left would be shorter than ``BRIEF_MIN`` characters."""
    brief = _STAMP.sub("", quote, count=1) or quote
    speaker = _SPEAKER.match(brief)
    if speaker and speaker.group("name") in command.split():
        brief = brief[speaker.end() :]
    brief = _SEVERITY.sub("", brief, count=1)
    if brief.endswith("…"):
        brief = _without_cut_piece(brief)
    return brief if len(brief) >= BRIEF_MIN else quote


def _without_cut_piece(clipped: str) -> str:
    """A clipped quote without the piece the clip cut short (a bracket or quote it left open,
    else its last sentence or output line) when what is left of that piece names no value (a
    quoted name, a code span, a path, a flag, a setting); a piece that then only introduces
    what followed it (ends with ":") goes too, or only its colon when what is before it is
    shorter than ``BRIEF_MIN``."""
    body = clipped[:-1].rstrip()
    opened: list[int] = []  # brackets not yet closed, outermost first
    quote = -1  # where a single-quoted name opens, while it is open
    cuts: list[int] = []  # where each piece after the first starts
    for i, ch in enumerate(body):
        if quote >= 0:
            if ch == "'" and not body[i + 1 : i + 2].isalnum():
                quote = -1
        elif ch == "'" and not body[i - 1 : i].isalnum():
            quote = i
        elif ch in _OPENS:
            opened.append(i)
        elif ch in _CLOSES and opened:
            opened.pop()
        elif not opened and _PIECE_END.match(body, i):
            cuts.append(i)
    left_open = [at for at in (quote, *opened[:1]) if at >= 0]
    at = min(left_open) if left_open else (cuts[-1] if cuts else -1)
    if at < BRIEF_MIN:
        return clipped
    piece = body[at:]
    if not piece.endswith(_WHOLE_END):
        piece = piece.rsplit(None, 1)[0] if len(piece.split()) > 1 else ""  # a word cut short
    if values(piece) or _QUOTED_NAME.search(piece):
        return clipped
    kept = body[:at].rstrip(" |")
    while kept.endswith(":"):
        earlier = [c for c in cuts if BRIEF_MIN <= c < len(kept)]
        if not earlier:
            return kept[:-1].rstrip()
        kept = kept[: earlier[-1]].rstrip(" |")
    return kept


_WHOLE_END = (".", "!", "?", ";", ",", ")", "]", "}", "'")
_QUOTED_NAME = re.compile(r"(?<!\w)'[^'\s]")


def passes_after_fix(lesson: str) -> bool:
    """Whether a lesson shows its failed command passing once fixed ("`x` failed …; fixed by
    `y`", with no other command named as what then passed): `x` is then a way to run it."""
    at = lesson.find("; fixed by ")
    return at >= 0 and ", after which `" not in lesson[at:]


def dont_line(text: str, said: Iterable[str] = ()) -> str:
    """A rejected action as a "don't" first: ``don't run `x` (rejected: "…")``, without the
    user's words when they add at most a word. Empty when the refusal says a rule that
    another line (``said``: the project's rules and the general ones) states: that rule is
    the memory, the instance stays in MEMORY.md."""
    m = _REJECTED.match(text)
    if m is None:
        return text
    act, quote = m.group("act"), m.group("quote")
    if m.group("proposal") and act.startswith('"'):
        what = f"don't: {act}"  # a proposal told in a sentence, not a command
    elif act.startswith(("run ", "the edit ")):
        what = f"don't {'make ' if act.startswith('the edit ') else ''}{act}"
    else:
        what = f"don't run {act}"
    if repeats(quote, said):
        return ""
    if adds_little(quote, what, 1):  # "Stop, not cargo test." beside don't run `cargo test`
        return what
    return f"{what} (rejected: {quote})"


def repeats(quote: str, said: Iterable[str]) -> bool:
    """Whether ``quote`` and one of ``said`` say the same: the meaning words (at least two) of
    one are all in the other ("No. We never force-push the gauge branch" and "never
    force-push the gauge branch")."""
    words = content_words(quote)
    return len(words) >= 2 and any(
        len(rule := content_words(s)) >= 2 and (rule <= words or words <= rule) for s in said
    )


def restates(text: str, better: Iterable[str]) -> bool:
    """Whether a line says nothing a better-ranked line does not: each of its words and
    values is in one of them ("`X=1` is set in `.env`" under "… reads `X` (.env sets 1)")."""
    words = _tokens(text)
    # a command is one value: `make test` is not held by a line with "test" in a path (a
    # setting, `X=1`, is held by its name and value wherever they stand)
    spans = [span for span in _CODE.findall(text) if " " in span.strip()]
    return bool(words) and any(
        words <= _tokens(b) and all(span in b for span in spans) for b in better
    )


_CODE = re.compile(r"`([^`\n]+)`")


def _tokens(text: str) -> set[str]:
    """Meaning words and values, a plural or third-person "s" cut ("sets" is "set")."""
    words = set(re.findall(r"\w+", text.lower())) - FILLER
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words}


def where_line(projects: Sequence[str]) -> str:
    """Where a general rule was stated: its projects, or how many when more than three."""
    if len(projects) > 3:
        return f"stated in {len(projects)} projects"
    return where_stated(projects)


# A statement that opens on what another one said ("Without it, …", "After that, …") means
# nothing on its own line: MEMORY.md keeps it beside its neighbour.
_LEANS_BACK = re.compile(
    r"^(?:without|with|after|before|for|from|unlike|instead of|because of|apart from) "
    r"(?:it|this|that|them|these|those)\b",
    re.I,
)


def self_contained(statement: str) -> bool:
    """Whether a statement (without its project) can stand on its own line."""
    return _LEANS_BACK.match(statement.strip()) is None


LEAD_IN_WORDS = 4  # "For this one:", "As for that part:": a lead-in, not a statement


def standalone(statement: str) -> str:
    """The statement as it can stand on its own line: itself, or what follows a short lead-in
    that leans on something before it ("For this project: pages load in `+page.server.js`"
    says "pages load in …" of the project its line names); empty when it cannot stand alone."""
    if self_contained(statement):
        return statement
    head, colon, rest = statement.strip().partition(": ")
    if colon and len(head.split()) <= LEAD_IN_WORDS and rest.strip() and self_contained(rest):
        return rest.strip()
    return ""


# A name written in capitals (an environment variable, an error code): a value, not a word.
_CAPS = re.compile(r"(?<![\w$])[A-Z][A-Z\d_]{2,}\b")


def values(text: str) -> set[str]:
    """The values a line states: each code span whole, and outside them each token written
    as code (a path, a flag, a version, a port) or in capitals (an environment variable)."""
    rest = _CODE.sub(" ", text)
    return set(_CODE.findall(text)) | set(CODEISH.findall(rest)) | set(_CAPS.findall(rest))


def stated_values(text: str) -> int:
    """How many values a line states, up to three: of two lines as durable, one that names
    values (a path, a setting, a port, a command) tells a new session more than prose around
    one, while a line is not worth more for listing many."""
    return min(len(values(text)), VALUES_CAP)


def code_spans(texts: Iterable[str]) -> set[str]:
    """Every whole (not clipped) code span of ``texts``."""
    return {span for t in texts for span in _CODE.findall(t) if not span.endswith("…")}


def unclipped(text: str, spans: Iterable[str]) -> str:
    """``text`` with each code span clipped short ("`dotnet ef … --startup-projec…`") given
    whole, when exactly one of ``spans`` (what the project's other lines hold) begins with
    what is left of it: a lesson keeps its whole fix, and the how-to that said it goes."""
    whole = sorted(set(spans))

    def span(m: re.Match[str]) -> str:
        clipped = m.group(1)
        if not clipped.endswith("…"):
            return m.group(0)
        stem = clipped[:-1]
        found = [s for s in whole if s.startswith(stem) and len(s) > len(stem)]
        return f"`{found[0]}`" if len(found) == 1 and len(stem) >= 8 else m.group(0)

    return _CODE.sub(span, text)
