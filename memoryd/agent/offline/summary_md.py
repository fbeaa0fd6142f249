"""Rendering memory_summary.md within its size budget."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from memoryd.agent.offline.layout import RECENT_DAYS, SUMMARY_BUDGET, SUMMARY_NOTES_HEADING
from memoryd.agent.offline.ledger import Emitter, Ledger
from memoryd.agent.offline.memory_md import VisibleGroup
from memoryd.agent.offline.model import Entry, Group
from memoryd.agent.offline.sources import AdHocNote, Skill, Source
from memoryd.redact import redact
from memoryd.textutil import clip, dedupe_ci, norm_words, plural, split_lines


@dataclass(frozen=True)
class Level:
    prefs: int
    tips: int
    learnings: bool
    desc_recent: bool
    desc_older: bool
    keywords: int
    recent_days: int
    topics: int | None
    projects: int
    requests: int
    adhoc: int


# From the richest rendering down; at COMPACT the number of index topics is searched for the
# most that fit, and MINIMAL lists none.
LEVELS: tuple[Level, ...] = (
    Level(16, 6, True, True, True, 10, RECENT_DAYS, None, 8, 3, 5),
    Level(14, 5, False, True, True, 8, RECENT_DAYS, None, 6, 3, 5),
    Level(12, 4, False, True, False, 6, RECENT_DAYS, None, 6, 2, 4),
    Level(10, 3, False, False, False, 5, 1, None, 5, 2, 3),
)
COMPACT = Level(8, 2, False, False, False, 4, 1, None, 4, 1, 3)
MINIMAL = Level(5, 1, False, False, False, 3, 1, 0, 3, 0, 2)
ALL_LEVELS = (*LEVELS, COMPACT, MINIMAL)


@dataclass
class Topic:
    group: Group
    keywords: list[str]
    desc: str
    learning: str
    day: str


@dataclass
class SummaryModel:
    sources: list[Source]
    groups: list[VisibleGroup]
    prefs: list[Entry]
    tips: list[tuple[str, frozenset[str]]]
    topics: list[Topic]
    adhoc: list[AdHocNote]
    skills: list[Skill]
    notes: list[str]


def _topic(vg: VisibleGroup) -> Topic:
    g = vg.group
    tasks = [t for _, t in vg.tasks]
    kws = dedupe_ci(k for t in tasks for k in t.keywords())
    titles = "; ".join(f'"{clip(t.title, 90)}"' for t in tasks[:2])
    more = f" (+{len(tasks) - 2} more)" if len(tasks) > 2 else ""
    sessions = len(frozenset(tid for t in tasks for tid in t.support))
    outcomes = "/".join(dedupe_ci(t.outcome for t in tasks))
    desc = f"{titles}{more}; outcome {outcomes}; {plural(sessions, 'session')}"
    learning = ""
    for e in vg.failures:
        if not e.text.lower().startswith("the user pushed back"):
            learning = e.text
            break
    if not learning:
        learning = next(
            (e.text for e in vg.knowledge if not e.text.lower().startswith("files involved")),
            "",
        )
    latest = max(t.latest for t in tasks)
    return Topic(g, kws, desc, clip(learning, 200), latest[:10])


def build_summary_model(
    sources: Sequence[Source],
    visible: Sequence[VisibleGroup],
    adhoc: Sequence[AdHocNote],
    skills: Sequence[Skill],
    notes: Sequence[str],
) -> SummaryModel:
    shown_threads = {tid for vg in visible for _, t in vg.tasks for tid in t.support}
    prefs: dict[str, Entry] = {}
    for vg in visible:
        for e in vg.prefs:
            m = prefs.get(e.key)
            if m is None:
                m = prefs[e.key] = Entry(
                    key=e.key, text=e.text, implication=e.implication, quote=e.quote
                )
            m.threads |= e.threads
            m.projects += [p for p in e.projects if p not in m.projects]
            m.latest = max(m.latest, e.latest)
    pref_list = sorted(prefs.values(), key=lambda e: e.key)
    pref_list.sort(key=lambda e: e.latest, reverse=True)
    pref_list.sort(key=lambda e: len(e.threads), reverse=True)

    fails: dict[str, Entry] = {}
    knows: dict[str, Entry] = {}
    for vg in visible:
        for src, dst in ((vg.failures, fails), (vg.knowledge, knows)):
            for e in src:
                m = dst.get(e.key)
                if m is None:
                    m = dst[e.key] = Entry(key=e.key, text=e.text)
                m.threads |= e.threads
                m.projects += [p for p in e.projects if p not in m.projects]
                m.latest = max(m.latest, e.latest)

    def ranked(entries: Iterable[Entry]) -> list[Entry]:
        out = sorted(entries, key=lambda e: e.key)
        out.sort(key=lambda e: e.latest, reverse=True)
        out.sort(key=lambda e: len(e.threads), reverse=True)
        return out

    def where(e: Entry) -> str:
        if len(e.threads) > 1:
            return f" ({len(e.threads)} sessions: {', '.join(e.projects[:3])})"
        return f" ({e.projects[0]})" if e.projects else ""

    tips: list[tuple[str, frozenset[str]]] = [
        (
            "- Grep MEMORY.md for a project name or a keyword from What's in Memory; each "
            "`## Task` there names its `rollout_summaries/` file with the steps, commands and "
            "errors of that session.",
            frozenset(),
        )
    ]
    for e in ranked(fails.values()):
        if e.text.lower().startswith("the user pushed back"):
            continue
        tips.append((f"- {clip(e.text, 220)}{where(e)}", frozenset(e.threads)))
    for e in ranked(knows.values()):
        if len(e.threads) < 2 or e.text.lower().startswith("files involved"):
            continue
        tips.append((f"- {clip(e.text, 220)}{where(e)}", frozenset(e.threads)))

    return SummaryModel(
        sources=[s for s in sources if s.thread_id in shown_threads],
        groups=list(visible),
        prefs=pref_list,
        tips=tips,
        topics=[_topic(vg) for vg in visible],
        adhoc=sorted(adhoc, key=lambda n: n.name, reverse=True),
        skills=list(skills),
        notes=list(notes),
    )


def _profile_lines(model: SummaryModel, level: Level) -> list[str]:
    if not model.sources:
        return ["- Nothing is known yet: no Codex session has been consolidated into memory."]
    days = sorted({s.day for s in model.sources if s.day})
    projects: list[str] = []
    for vg in model.groups:
        if vg.group.project not in projects:
            projects.append(vg.group.project)
    when = ""
    if days:
        when = f" on {days[0]}" if days[0] == days[-1] else f" from {days[0]} to {days[-1]}"
    shown = ", ".join(projects[: level.projects])
    if len(projects) > level.projects:
        shown += f" and {len(projects) - level.projects} more"
    out = [
        f"- Memory holds {plural(len(model.sources), 'Codex session')}{when}, in "
        f"{plural(len(projects), 'project')}: {shown}."
    ]
    if level.requests:
        recent: list[str] = []
        seen: set[str] = set()
        for vg in model.groups:
            title = vg.tasks[0][1].title
            if norm_words(title) in seen:
                continue
            seen.add(norm_words(title))
            recent.append(f'"{clip(title, 90)}" ({vg.group.project})')
            if len(recent) >= level.requests:
                break
        if recent:
            out.append(f"- Most recent requests: {'; '.join(recent)}.")
    if model.prefs:
        repeated = sum(1 for e in model.prefs if len(e.threads) > 1)
        line = f"- Says how they like to work: {plural(len(model.prefs), 'stated preference')}"
        line += f", {repeated} of them in more than one session" if repeated else ""
        out.append(line + " (see User preferences).")
    return out


def _pref_line(e: Entry) -> str:
    head = e.implication or e.text
    quote = f' — "{clip(e.quote, 120)}"' if e.quote and e.quote not in head else ""
    if len(e.threads) > 1:
        src = f" ({len(e.threads)} sessions: {', '.join(e.projects[:4])})"
    else:
        src = f" ({e.projects[0]})" if e.projects else ""
    return f"- {clip(head, 200)}{quote}{src}"


def render_summary(ledger: Ledger, model: SummaryModel, level: Level) -> list[str]:
    em = Emitter("S", ledger)
    everything = frozenset(s.thread_id for s in model.sources)
    em.line("v1")
    em.blank()
    em.line("## User Profile")
    em.blank()
    for ln in _profile_lines(model, level):
        em.line(ln, everything)
    em.blank()
    em.line("## User preferences")
    em.blank()
    shown = 0
    for n in model.adhoc[: level.adhoc]:
        shown += em.line(f"- {clip(n.text, 170)} [ad-hoc note]", (n.support,))
    for e in model.prefs[: level.prefs]:
        shown += em.line(_pref_line(e), e.threads)
    if len(model.prefs) > level.prefs:
        em.line(
            f"- … {len(model.prefs) - level.prefs} more under `## User preferences` in MEMORY.md"
        )
    if not shown:
        em.line("- None recorded yet.")
    em.blank()
    if model.notes:
        em.raw([SUMMARY_NOTES_HEADING, "", *model.notes, ""])
    em.line("## General Tips")
    em.blank()
    if model.sources:
        for text, support in model.tips[: level.tips]:
            em.line(text, support)
    else:
        em.line("- Memory is empty: do not search MEMORY.md or rollout_summaries/ for past work.")
    em.blank()
    em.line("## What's in Memory")
    em.blank()
    if not model.topics:
        em.line("- Nothing yet: memory is empty.")
    _render_index(em, model, level)
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


def _topic_lines(t: Topic, level: Level, recent: bool) -> list[tuple[str, bool]]:
    kws = ", ".join(t.keywords[: level.keywords]) or t.group.project
    out = [(f"- {t.group.title}: {kws}", False)]
    if (level.desc_recent if recent else level.desc_older) and t.desc:
        out.append((f"  - desc: {t.desc}", True))
    if recent and level.learnings and t.learning:
        out.append((f"  - learnings: {t.learning}", True))
    return out


def _emit_topics(em: Emitter, topics: Sequence[Topic], level: Level, recent: bool) -> int:
    shown = 0
    for t in topics:
        lines = _topic_lines(t, level, recent)
        support = t.group.support
        if not em.line(lines[0][0], support):
            continue
        shown += 1
        for text, _ in lines[1:]:
            em.line(text, support)
    return shown


def _render_index(em: Emitter, model: SummaryModel, level: Level) -> None:
    topics = model.topics
    limit = len(topics) if level.topics is None else level.topics
    listed = topics[:limit]
    days = sorted({t.day for t in listed if t.day}, reverse=True)[: level.recent_days]
    recent = [t for t in listed if t.day in days]
    older = [t for t in listed if t.day not in days]
    scopes: dict[str, list[Topic]] = {}
    for t in recent:
        scopes.setdefault(t.group.cwd, []).append(t)
    for cwd, items in scopes.items():
        cp = em.checkpoint()
        em.blank()
        support = frozenset(tid for t in items for tid in t.group.support)
        if not em.line(f"### {items[0].group.project} (cwd={cwd})", support):
            em.restore(cp)
            continue
        shown = 0
        for day in sorted({t.day for t in items}, reverse=True):
            dcp = em.checkpoint()
            em.blank()
            em.line(f"#### {day}")
            em.blank()
            n = _emit_topics(em, [t for t in items if t.day == day], level, True)
            if not n:
                em.restore(dcp)
            shown += n
        if not shown:
            em.restore(cp)
    if older:
        cp = em.checkpoint()
        em.blank()
        em.line("### Older Memory Topics")
        shown = 0
        by_scope: dict[str, list[Topic]] = {}
        for t in older:
            by_scope.setdefault(t.group.cwd, []).append(t)
        for cwd, items in by_scope.items():
            scp = em.checkpoint()
            em.blank()
            support = frozenset(tid for t in items for tid in t.group.support)
            if not em.line(f"#### {items[0].group.project} (cwd={cwd})", support):
                em.restore(scp)
                continue
            em.blank()
            n = _emit_topics(em, items, level, False)
            if not n:
                em.restore(scp)
            shown += n
        if not shown:
            em.restore(cp)
    if len(topics) > limit:
        em.blank()
        em.line(f"- … {len(topics) - limit} more task groups: grep `# Task Group:` in MEMORY.md")


def fit_summary(ledger: Ledger, model: SummaryModel) -> str:
    """The richest rendering that fits ``SUMMARY_BUDGET``; the last resort drops whole lines
    from the end of the index."""

    def attempt(level: Level) -> str | None:
        text = redact("\n".join(render_summary(ledger, model, level)) + "\n")
        return text if len(text.encode("utf-8")) <= SUMMARY_BUDGET else None

    for level in LEVELS:
        fitted = attempt(level)
        if fitted is not None:
            return fitted
    lo, hi = 0, len(model.topics)  # the most topics that fit at COMPACT: lo fits, hi+1 not
    best = attempt(replace(COMPACT, topics=0))
    if best is not None:
        while lo < hi:
            mid = (lo + hi + 1) // 2
            fitted = attempt(replace(COMPACT, topics=mid))
            if fitted is None:
                hi = mid - 1
            else:
                lo, best = mid, fitted
        return best
    text = redact("\n".join(render_summary(ledger, model, MINIMAL)) + "\n")
    lines = split_lines(text)
    while lines and len(("\n".join(lines) + "\n").encode("utf-8")) > SUMMARY_BUDGET:
        lines.pop()
    return "\n".join(lines) + "\n"
