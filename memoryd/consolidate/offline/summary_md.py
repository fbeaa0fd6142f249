"""Rendering memory_summary.md: what a new session needs, most valuable first, within its size
budget.

Codex injects a summary of up to 10,000 bytes whole (of a longer one, the first 5,000 and the
last 5,000 bytes). So the file is kept under ``SUMMARY_BUDGET`` and ordered by value: the
general rules (stated in two or more projects, or for all of them), then per project a "how
to work here" digest (its rules, failure→fix lessons, don'ts, replacements, facts, how to run
it), each line a self-contained statement that names its project. Lines rank by durability
(a stated rule, then a lesson confirmed by an outcome, then knowledge) and how many sessions
said them; ties go to the most recently confirmed. When the whole does not fit, the
lowest-ranked lines go first, never a line cut in half."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from memoryd.consolidate.offline.dense import (
    code_spans,
    dont_line,
    fit_line,
    lesson_line,
    passes_after_fix,
    restates,
    rule_line,
    standalone,
    stated_values,
    unclipped,
    where_line,
)
from memoryd.consolidate.offline.layout import HEAD_BYTES, SUMMARY_BUDGET, SUMMARY_NOTES_HEADING
from memoryd.consolidate.offline.ledger import Emitter, Ledger
from memoryd.consolidate.offline.meaning import (
    DONT,
    DURABILITY,
    FACT,
    REPLACED,
    RULE,
    RUN,
    first_arg,
    fix_part,
    program,
    terms,
)
from memoryd.consolidate.offline.memory_md import (
    VisibleGroup,
    entry_ident,
    general_ident,
    group_ident,
)
from memoryd.consolidate.offline.model import Entry, project_bullet
from memoryd.consolidate.offline.moment import momentary
from memoryd.consolidate.offline.once import general_body, held_whole
from memoryd.consolidate.offline.rank import bound_to_moment, score
from memoryd.consolidate.offline.replaced import misread, replaced_phrase, replacement
from memoryd.consolidate.offline.scope import scope_only, unpointed
from memoryd.consolidate.offline.sources import AdHocNote, Skill, Source
from memoryd.consolidate.offline.supersession import slot
from memoryd.redact import redact
from memoryd.textutil import clip, plural, split_lines

LINE_CHARS = 320
# Lines below this score (how to run something, what is missing) may repeat a better line.
RUN_SCORE_CEILING = DURABILITY[FACT] * 4
RULE_SCORE = DURABILITY[RULE] * 4  # a rule keeps the user's words, even when a line repeats them
DIGEST_LINES = 8  # of a project's "how to work here"; the rest follows all the digests
MIN_DIGEST_LINES = 3  # shown whatever their size: a rule, a lesson, a fact
MAX_ADHOC = 5
MORE_HEADING = "### More, by project"
GREP_WORDS = 6  # in the grep tip: the tools of the projects' best lines


@dataclass(frozen=True)
class Level:
    """How many of the ranked lines to keep (None: all)."""

    keep: int | None = None


FULL = Level()
ALL_LEVELS = (FULL,)  # every other level keeps a subset of FULL's lines


@dataclass
class Line:
    text: str
    support: frozenset[str]
    score: int
    latest: str = ""
    ident: str = ""  # the memory item it states (ledger.Ledger)
    # it only makes sense in the moment it was said (moment.momentary): after every other line
    moment: bool = False


@dataclass
class Digest:
    """One project's "how to work here"."""

    vg: VisibleGroup
    lines: list[Line] = field(default_factory=list)


@dataclass
class SummaryModel:
    sources: list[Source]
    groups: list[VisibleGroup]
    general: list[Line]
    digests: list[Digest]
    grep_words: list[str]
    adhoc: list[AdHocNote]
    skills: list[Skill]
    notes: list[str]

    def ranked(self) -> list[Line]:
        """Every droppable line, most valuable first: the general rules, then each project's
        best line, then each one's second best, and so on (within a round, by durability and
        recency), so that a summary with more than fits loses every project's least valuable
        lines, never a whole project to another's many rules. A line bound to the moment it
        was said comes after every line that stands on its own."""
        general = sorted(self.general, key=_by_value)
        rounds = sorted(
            ((i, ln) for d in self.digests for i, ln in enumerate(d.lines)),
            key=lambda il: (il[1].moment, il[0], *_by_value(il[1])),
        )
        # a general rule bound to the moment it was said goes with the lines bound to theirs
        return [
            *(ln for ln in general if not ln.moment),
            *(ln for _, ln in rounds if not ln.moment),
            *(ln for ln in general if ln.moment),
            *(ln for _, ln in rounds if ln.moment),
        ]


def _tier(score: int) -> int:
    """A line's durability as the ranking reads it: how to run something ranks with the facts,
    not under them: its command ran and exited 0 in a session, an outcome a fact told in
    words does not have."""
    return score + 4 if RUN_SCORE_CEILING - 4 <= score < RUN_SCORE_CEILING else score


def _by_value(ln: Line) -> tuple[bool, int, int, str, str]:
    return (ln.moment, -_tier(ln.score), -stated_values(ln.text), _rev(ln.latest), ln.text)


def _by_session(lines: Sequence[Line]) -> list[Line]:
    """Ranked lines with, within each durability, every session's best line before any
    session's second: one session's explanation gives several lines about one thing, and the
    room they take is room another session's knowledge does not get. A line that several
    sessions said counts as the first of the one that said least so far; a line bound to the
    moment it was said takes no session's turn (it comes after them all)."""
    said: dict[tuple[int, str], int] = {}
    keyed: list[tuple[bool, int, int, int, Line]] = []
    for i, ln in enumerate(lines):
        tier = _tier(ln.score)
        nth = min((said.get((tier, t), 0) for t in ln.support), default=0)
        for t in ln.support if not ln.moment else ():
            said[(tier, t)] = said.get((tier, t), 0) + 1
        keyed.append((ln.moment, -tier, nth, i, ln))
    return [ln for *_, ln in sorted(keyed, key=lambda k: k[:4])]


def _rev(day: str) -> str:
    """A key that sorts later days first."""
    return "".join(chr(0x10FFFF - ord(c)) for c in day)


def _entry_text(e: Entry, rules: Sequence[str]) -> str:
    """An entry as the summary says it; ``rules``: what the rules it may repeat say."""
    if e.kind == RULE:
        return rule_line(e.implication or e.text, e.quote)
    r = replacement(e.text, e.latest) if e.kind == REPLACED else None
    if r is not None and misread(r):
        return ""  # read from prose, it states no change of a thing; MEMORY.md keeps it
    if r is not None:
        said = e.text.split(" (", 1)[1].rstrip(")") if " (" in e.text else ""
        return replaced_phrase(r) + (f" ({said})" if said else "")
    if e.kind == DONT:
        return dont_line(e.text, rules)
    return lesson_line(e.text)


def build_summary_model(
    sources: Sequence[Source],
    visible: Sequence[VisibleGroup],
    general: Sequence[Entry],
    adhoc: Sequence[AdHocNote],
    skills: Sequence[Skill],
    notes: Sequence[str],
) -> SummaryModel:
    shown_threads = {tid for vg in visible for _, t in vg.tasks for tid in t.support}
    names = [vg.group.project for vg in visible]
    general_rules = [
        rule_line(unpointed(g.implication or g.text, names), unpointed(g.quote, names))
        for g in general
    ]
    general_lines = [
        Line(
            f"- {text} ({where_line(g.projects)})",
            frozenset(g.threads),
            # Above every project's own lines: they hold wherever the user works.
            1_000 + len(g.threads),
            g.latest,
            general_ident(g),
            # a refusal of the offer at hand joined across projects is still one refusal
            momentary(g.implication or g.text, rule=True),
        )
        for g, text in zip(general, general_rules, strict=True)
    ]
    digests: list[Digest] = []
    for vg in visible:
        project = vg.group.project
        d = Digest(vg)
        seen: set[str] = set()
        rules = [*general_rules, *(rule_line(e.implication or e.text, e.quote) for e in vg.prefs)]
        entries = [*vg.prefs, *vg.failures, *vg.knowledge]
        whole = code_spans(e.text for e in entries)
        for e in entries:
            if e.kind == RULE and scope_only(e.implication or e.text):
                continue  # it scoped the rule before it, which says what to do
            said = standalone(unclipped(_entry_text(e, rules), whole))
            if not said:
                continue
            text = project_bullet(project, fit_line(relative(said, vg.group.cwd), LINE_CHARS))
            if text in seen:
                continue
            seen.add(text)
            d.lines.append(
                Line(
                    text,
                    frozenset(e.threads),
                    score(e, "\n".join(o.text for o in entries if o is not e and o.kind != RUN)),
                    e.latest,
                    entry_ident(vg.group.cwd, e),
                    bound_to_moment(e, said),
                )
            )
        d.lines.sort(key=_by_value)
        d.lines = _by_session(_without_repeats(d.lines))
        digests.append(d)
    # the projects are named in the profile line above the tip: the tip names tools
    projects = {vg.group.project.lower() for vg in visible}
    # a program a line says is gone or replaced is no tool to look for (`make proto` gone is
    # one target, not make)
    gone = {
        m.group(1)
        for d in digests
        for ln in d.lines[:6]
        if (m := _GONE_SPAN.search(ln.text)) and " " not in m.group(1)
    }
    words = [
        w
        for w in terms(ln.text for d in digests for ln in d.lines[:6])
        if "/" not in w and w.lower() not in projects and w not in gone  # a tool in use
    ]
    return SummaryModel(
        sources=[s for s in sources if s.thread_id in shown_threads],
        groups=list(visible),
        general=_general_once(general_lines),
        digests=digests,
        grep_words=list(dict.fromkeys(words)),
        adhoc=sorted(adhoc, key=lambda n: n.name, reverse=True)[:MAX_ADHOC],
        skills=list(skills),
        notes=list(notes),
    )


# what a line says is gone or was replaced, as ``replaced_phrase`` words it
_GONE_SPAN = re.compile(r"`([^`\n]+)` (?:is gone|was replaced by `)")


def relative(text: str, cwd: str) -> str:
    """``text`` with paths inside the project's directory said from it: the line names its
    project, so ``/home/x/proj/public/build/manifest.json`` is ``public/build/manifest.json``
    (the digest's heading gives the directory)."""
    root = cwd.rstrip("/")
    if len(root) < 2:
        return text
    return re.sub(rf"(?<![\w/.-]){re.escape(root)}/(?=[\w.])", "", text)


# a rule's quote of the user's words, as dense.rule_line writes it
_QUOTE_TAIL = re.compile(r' — "(?P<quote>[^"\n]+)"$')


def _general_once(lines: Sequence[Line]) -> list[Line]:
    """The general rules, in their order, without one whose words a better rule holds whole."""
    out: list[Line] = []
    for ln in sorted(lines, key=_by_value):
        if not held_whole(general_body(ln.text), (o.text for o in out)):
            out.append(ln)
    kept = {id(ln) for ln in out}
    return [ln for ln in lines if id(ln) in kept]


def _without_repeats(lines: Sequence[Line]) -> list[Line]:
    """A project's ranked lines without those a better line already says: a line (not a
    rule) whose every word and value a line above holds; a "how to run" line whose commands
    all appear in a line above ("Apply migrations with `x`" under "… fixed
    by `x`"), and a second way to run the same program for the same job ("Run the tests with
    `go test ./a`" under "… `go test ./...`"). MEMORY.md keeps them all."""
    out: list[Line] = []
    said: list[str] = []  # what the kept lines give as the way to do something
    jobs: set[tuple[frozenset[str], str, str]] = set()
    for ln in lines:
        if ln.score < RULE_SCORE and restates(ln.text, (o.text for o in out)):
            continue
        # the user's words are said once: a rule whose whole text a line above holds (as its
        # rule or in its quote) is that line's, and a quote shown above is not shown again
        if held_whole(ln.text.split(": ", 1)[-1], (o.text for o in out)):
            continue
        quote = _QUOTE_TAIL.search(ln.text)
        if quote and any(quote.group("quote").rstrip("…") in o.text for o in out):
            ln = replace(ln, text=ln.text[: quote.start()])
        spans = re.findall(r"`([^`\n]+)`", ln.text)
        if spans and ln.score < RUN_SCORE_CEILING:
            if all(any(f"`{s}`" in o or f" {s}" in o for o in said) for s in spans):
                continue
            s = slot(ln.text)
            if s is not None and s.commands and len(s.values) == 1:
                job = (s.words, program(s.values[0]), first_arg(s.values[0]))
                if job in jobs:
                    continue
                jobs.add(job)
        out.append(ln)
        # a lesson gives its fix as the way to do it, and the command that failed only when
        # it passed once fixed
        said.append(ln.text if passes_after_fix(ln.text) else fix_part(ln.text))
    return out


def _profile_lines(model: SummaryModel) -> list[str]:
    if not model.sources:
        return ["- Nothing is known yet: no Codex session has been consolidated into memory."]
    days = sorted({s.day for s in model.sources if s.day})
    projects = list(dict.fromkeys(vg.group.project for vg in model.groups))
    when = ""
    if days:
        when = f" on {days[0]}" if days[0] == days[-1] else f" from {days[0]} to {days[-1]}"
    return [
        f"- Memory holds {plural(len(model.sources), 'Codex session')}{when}, in "
        f"{plural(len(projects), 'project')}: {', '.join(projects)}."
    ]


def render_summary(ledger: Ledger, model: SummaryModel, level: Level) -> list[str]:
    ranked = model.ranked()
    kept = {id(ln) for ln in (ranked if level.keep is None else ranked[: level.keep])}
    em = Emitter("S", ledger)
    everything = frozenset(s.thread_id for s in model.sources)
    em.line("v1")
    em.blank()
    em.line("## User Profile")
    em.blank()
    for profile in _profile_lines(model):
        em.line(profile, everything)
    em.blank()
    em.line("## User preferences")
    em.blank()
    shown = 0
    for n in model.adhoc:
        shown += em.line(f"- {clip(n.text, 170)} [ad-hoc note]", (n.support,))
    for rule in model.general:
        if id(rule) in kept:
            shown += em.line(rule.text, rule.support, rule.ident)
    if not shown:
        em.line(
            "- No rule for every project yet; each project's own rules are under What's in Memory."
            if model.sources
            else "- None recorded yet."
        )
    em.blank()
    if model.notes:
        em.raw([SUMMARY_NOTES_HEADING, "", *model.notes, ""])
    em.line("## General Tips")
    em.blank()
    if model.sources:
        words = ", ".join(model.grep_words[:GREP_WORDS])
        tools = f" or a tool ({words})" if words else ""
        # one line for every project: where each keeps the rest, instead of a pointer each
        em.line(
            f"- Grep MEMORY.md for a project{tools}: bullets start with their "
            "project; `# Task Group: <project>` lists its tasks and `rollout_summaries/` "
            "files; superseded lines are marked so.",
            everything,
        )
    else:
        em.line("- Memory is empty: do not search MEMORY.md or rollout_summaries/ for past work.")
    em.blank()
    em.line("## What's in Memory")
    em.blank()
    if not model.digests:
        em.line("- Nothing yet: memory is empty.")
    # Every project's short digest first (its best lines), then the rest of each: the most
    # valuable part of the file comes first, whatever the number of projects.
    heads = _heads(model, kept, _size(em.lines))
    for d, head in zip(model.digests, heads, strict=True):
        own = head or [ln for ln in d.lines if id(ln) in kept]
        # a project with nothing shown here still says where its tasks are
        _project_section(em, _digest_heading(d), d, head if own else [_pointer(d)])
    # The rest under one heading: each line names its project, a heading each would not.
    in_head = {id(ln) for head in heads for ln in head}
    rest = [ln for d in model.digests for ln in d.lines if id(ln) in kept and id(ln) not in in_head]
    if rest:
        _section(em, MORE_HEADING, everything, rest)
    if model.skills:
        em.blank()
        em.line("### Skills")
        em.blank()
        for sk in model.skills:
            desc = f": {sk.description}" if sk.description else ""
            em.line(f"- skills/{sk.name}/SKILL.md{desc}", (f"skill:{sk.name}",))
    em.blank()
    while em.lines and em.lines[-1] == "":
        em.lines.pop()
    return em.lines


def _digest_heading(d: Digest) -> str:
    return f"### {d.vg.group.project}: how to work here (cwd={d.vg.group.cwd})"


def _pointer(d: Digest) -> Line:
    g = d.vg.group
    last = max(t.latest for _, t in d.vg.tasks)[:10]
    return Line(
        f"- {g.project}: more in MEMORY.md under `{g.heading}` "
        f"({plural(len(g.support), 'session')}, last {last or 'undated'})",
        g.support,
        0,
    )


def _size(lines: Sequence[str]) -> int:
    return sum(len(ln.encode("utf-8")) + 1 for ln in lines)


def _heads(model: SummaryModel, kept: set[int], used: int) -> list[list[Line]]:
    """Each project's digest: the lines that fit an equal share of the first ``HEAD_BYTES``
    (``used`` bytes come before them), its ``MIN_DIGEST_LINES`` best lines always and then, in
    rank order, each line that still fits its share (a long lesson does not keep three short
    facts out); the room a project leaves goes to the best lines left, by round. At most
    ``DIGEST_LINES`` each; what Codex reads first holds every project's most valuable lines
    per byte."""
    digests = model.digests
    frame = sum(_size(["", _digest_heading(d), ""]) for d in digests) + _size(["", MORE_HEADING])
    share = max(0, HEAD_BYTES - used - frame) // max(1, len(digests))
    heads: list[list[Line]] = []
    room = 0
    for d in digests:
        head: list[Line] = []
        size = 0
        for ln in (ln for ln in d.lines if id(ln) in kept):
            need = _size([ln.text])
            if len(head) < MIN_DIGEST_LINES or (len(head) < DIGEST_LINES and size + need <= share):
                head.append(ln)
                size += need
        heads.append(head)
        room += max(0, share - size)
    rounds = sorted(
        ((i, n, ln) for n, d in enumerate(digests) for i, ln in enumerate(d.lines)),
        key=lambda t: (t[2].moment, t[0], *_by_value(t[2])),
    )
    for _, n, ln in rounds:
        need = _size([ln.text])
        head = heads[n]
        if id(ln) in kept and ln not in head and len(head) < DIGEST_LINES and need <= room:
            head.append(ln)
            room -= need
    # each digest in its own rank order
    return [[ln for ln in d.lines if ln in head] for d, head in zip(digests, heads, strict=True)]


def _project_section(em: Emitter, heading: str, d: Digest, lines: Sequence[Line]) -> None:
    _section(em, heading, d.vg.group.support, lines, group_ident(d.vg.group.cwd))


def _section(
    em: Emitter, heading: str, support: frozenset[str], lines: Sequence[Line], ident: str = ""
) -> None:
    """A heading and its lines; nothing when the user hid the heading or every line."""
    cp = em.checkpoint()
    em.blank()
    if not em.line(heading, support, ident):
        em.restore(cp)
        return
    em.blank()
    if not sum(em.line(ln.text, ln.support, ln.ident) for ln in lines):
        em.restore(cp)


def fit_summary(ledger: Ledger, model: SummaryModel, budget: int = SUMMARY_BUDGET) -> str:
    """The rendering with the most ranked lines that fits ``budget`` bytes; the last resort
    drops whole lines from the end."""

    def attempt(level: Level) -> str | None:
        text = redact("\n".join(render_summary(ledger, model, level)) + "\n")
        return text if len(text.encode("utf-8")) <= budget else None

    full = attempt(FULL)
    if full is not None:
        return full
    lo, hi = 0, len(model.ranked())  # the most lines that fit: lo fits, hi+1 does not
    best = attempt(Level(keep=0))
    if best is not None:
        while lo < hi:
            mid = (lo + hi + 1) // 2
            fitted = attempt(Level(keep=mid))
            if fitted is None:
                hi = mid - 1
            else:
                lo, best = mid, fitted
        return best
    text = redact("\n".join(render_summary(ledger, model, Level(keep=0))) + "\n")
    lines = split_lines(text)
    while lines and len(("\n".join(lines) + "\n").encode("utf-8")) > budget:
        lines.pop()
    return "\n".join(lines) + "\n"
