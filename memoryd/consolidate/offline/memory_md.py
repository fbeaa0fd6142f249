"""Rendering MEMORY.md."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Literal

from memoryd.consolidate.offline.layout import (
    ADHOC_HEADING,
    EMPTY_HEADING,
    GENERAL_HEADING,
    MAX_BLOCK_BULLETS,
    NOTES_BEGIN,
    NOTES_END,
    NOTES_HEADING,
    STATE_BEGIN,
    STATE_END,
    SUPERSEDED_HEADING,
)
from memoryd.consolidate.offline.ledger import Bullet, Emitter, Hide, Ledger, hide_line
from memoryd.consolidate.offline.model import (
    Entry,
    Group,
    Task,
    TaskRef,
    collect_entries,
    project_bullet,
)
from memoryd.consolidate.offline.replaced import Replacement, replaced_phrase, superseded_by
from memoryd.consolidate.offline.scope import unpointed, where_stated
from memoryd.consolidate.offline.sources import AdHocNote
from memoryd.layout import ROLLOUT_SUMMARIES_DIR
from memoryd.textutil import clip, norm_words, plural


@dataclass
class VisibleGroup:
    group: Group
    tasks: list[tuple[int, Task]]
    prefs: list[Entry]
    knowledge: list[Entry]
    failures: list[Entry]


EntryKind = Literal["prefs", "knowledge", "failures"]
_BLOCK_SECTIONS: tuple[tuple[EntryKind, str], ...] = (
    ("prefs", "## User preferences"),
    ("knowledge", "## Reusable knowledge"),
    ("failures", "## Failures and how to do differently"),
)


def _title(task: Task, signals: Sequence[Replacement]) -> str:
    """A task's title, marked when a later session replaced what it names ("gh pr create
    --draft is how I open PRs" after the move to GitLab): a heading is read as current too."""
    r = superseded_by(task.title, task.latest, signals)
    return task.title if r is None else f"{task.title} [superseded: {replaced_phrase(r)}]"


def _task_heading(num: int, task: Task, signals: Sequence[Replacement] = ()) -> str:
    return f"## Task {num}: {_title(task, signals)} (outcome: {task.outcome})"


def _refs(nums: Sequence[int]) -> str:
    return "".join(f"[Task {n}]" for n in sorted(set(nums)))


def _rollout_line(ref: TaskRef) -> str:
    s = ref.source
    meta = [f"cwd={s.cwd}"]
    if s.rollout_path:
        meta.append(f"rollout_path={s.rollout_path}")
    if s.updated_at:
        meta.append(f"updated_at={s.updated_at}")
    meta.append(f"thread_id={s.thread_id}")
    if s.git_branch:
        meta.append(f"git_branch={s.git_branch}")
    meta.append(f"outcome={ref.task.outcome or 'unknown'}")
    return f"- {ROLLOUT_SUMMARIES_DIR}/{s.summary_file} ({', '.join(meta)})"


def entry_ident(cwd: str, e: Entry) -> str:
    """The memory item an entry's line states, whatever its wording (``Ledger``)."""
    return f"entry\x1f{cwd}\x1f{e.key}"


def group_ident(cwd: str) -> str:
    return f"group\x1f{cwd}"


def _task_ident(cwd: str, task: Task) -> str:
    # the key build_groups merges a project's tasks by: a marked or renumbered heading keeps it
    return f"task\x1f{cwd}\x1f{norm_words(task.title) or task.title}"


def _entry_bullets(
    entries: list[Entry], overflow_support: frozenset[str], project: str, cwd: str
) -> list[Bullet]:
    out: list[Bullet] = []
    for e in entries[:MAX_BLOCK_BULLETS]:
        sessions = f" ({len(e.threads)} sessions)" if len(e.threads) > 1 else ""
        # Each bullet names its project, so that grepping for the project finds the facts.
        text = f"{project_bullet(project, e.text)} {_refs(e.tasks)}{sessions}"
        if e.superseded is not None:
            r = e.superseded
            text += f" — superseded: {replaced_phrase(r)} ({r.day[:10] or 'later'})"
        out.append(Bullet(text, frozenset(e.threads), entry_ident(cwd, e)))
    if len(entries) > MAX_BLOCK_BULLETS:
        more = len(entries) - MAX_BLOCK_BULLETS
        out.append(
            Bullet(f"- … {more} more in the rollout summaries listed above", overflow_support)
        )
    return out


def _scope_line(group: Group, signals: Sequence[Replacement] = ()) -> str:
    sessions = len(group.support)
    titles = "; ".join(
        f'"{clip(t.title, 80)}"'
        + (" (superseded)" if superseded_by(t.title, t.latest, signals) else "")
        for t in group.tasks[:3]
    )
    more = f" and {len(group.tasks) - 3} more" if len(group.tasks) > 3 else ""
    return clip(
        f"scope: {plural(len(group.tasks), 'task')} from {plural(sessions, 'session')} "
        f"in {group.project}: {titles}{more}",
        400,
    )


def _applies_line(group: Group) -> str:
    branches = group.branches()
    where = f"cwd={group.cwd}"
    rule = "reuse in this checkout; verify paths, commands and versions before reusing elsewhere"
    if branches:
        rule = f"recorded on git branch {', '.join(branches)}; " + rule
    return f"applies_to: {where}; reuse_rule={rule}"


def _general_line(e: Entry, projects: Sequence[str]) -> str:
    where = f"{where_stated(e.projects)}; {plural(len(e.threads), 'session')}"
    return f"- {unpointed(e.rule_text(), projects)} ({where})"


def general_ident(e: Entry) -> str:
    return f"general\x1f{e.key}"


def _merge_general(general: dict[str, Entry], e: Entry) -> None:
    m = general.get(e.key)
    if m is None:
        general[e.key] = m = Entry(
            key=e.key, text=e.text, implication=e.implication, quote=e.quote, kind=e.kind
        )
    m.threads |= e.threads
    m.projects += [p for p in e.projects if p not in m.projects]
    m.latest = max(m.latest, e.latest)


def render_memory(
    ledger: Ledger,
    groups: Sequence[Group],
    notes: Sequence[str],
    adhoc: Sequence[AdHocNote],
    signals: Mapping[str, Sequence[Replacement]] | None = None,
    general_keys: Set[str] = frozenset(),
    aliases: Mapping[str, str] | None = None,
) -> tuple[list[str], list[VisibleGroup], list[Entry]]:
    """MEMORY.md's lines, the groups and entries left visible (what the summary may use), and
    the general rules (one entry each)."""
    signals = signals or {}
    general: dict[str, Entry] = {}
    em = Emitter("M", ledger)
    em.line(NOTES_HEADING)
    em.blank()
    em.line(NOTES_BEGIN)
    em.raw(notes)
    em.line(NOTES_END)
    if adhoc:
        em.section(
            ADHOC_HEADING,
            [(f"- {n.text} [ad-hoc note: {n.path}]", (n.support,)) for n in adhoc],
        )
    visible_groups: list[VisibleGroup] = []
    for group in groups:
        cp = em.checkpoint()
        em.blank()
        if not em.line(group.heading, group.support, group_ident(group.cwd)):
            em.restore(cp)
            continue
        em.blank()
        em.line(_scope_line(group, signals.get(group.cwd, ())))
        em.line(_applies_line(group))
        numbered: list[tuple[int, Task]] = []
        shown_keywords: set[str] = set()
        for task in group.tasks:
            num = len(numbered) + 1
            tcp = em.checkpoint()
            em.blank()
            heading = _task_heading(num, task, signals.get(group.cwd, ()))
            if not em.line(heading, task.support, _task_ident(group.cwd, task)):
                em.restore(tcp)
                continue
            shown = em.section(
                "### rollout_summary_files",
                [(_rollout_line(r), (r.source.thread_id,)) for r in task.refs],
            )
            # A session's keywords once per group, not again on each of its tasks.
            kws = [
                k
                for k in task.keywords()
                if k.lower() not in shown_keywords
                and superseded_by(k, task.latest, signals.get(group.cwd, ())) is None
            ]
            shown_keywords.update(k.lower() for k in kws)
            kws = [k for k in kws if k.lower() != group.project.lower()]
            if kws:
                line = f"- {group.project}: " + ", ".join(kws)  # it names its project too
                shown += em.section("### keywords", [(line, task.support)])
            if not shown:
                em.restore(tcp)
                continue
            numbered.append((num, task))
        if not numbered:
            em.restore(cp)
            continue
        shown_support = frozenset(tid for _, t in numbered for tid in t.support)
        kept: dict[str, list[Entry]] = {}
        stale: list[Entry] = []
        for kind, heading in _BLOCK_SECTIONS:
            entries = collect_entries(numbered, kind, signals.get(group.cwd, ()), aliases)
            if kind == "prefs":
                for e in entries:
                    if e.key in general_keys and e.superseded is None:
                        _merge_general(general, e)
                entries = [e for e in entries if e.key not in general_keys]
            stale += [e for e in entries if e.superseded is not None]
            entries = [e for e in entries if e.superseded is None]
            entries.sort(key=lambda e: -e.durability)
            bullets = _entry_bullets(entries, shown_support, group.project, group.cwd)
            shown_entries = entries[:MAX_BLOCK_BULLETS]
            visible: list[Entry] = []
            cp_s = em.checkpoint()
            em.blank()
            em.line(heading)
            em.blank()
            for e, bullet in zip(shown_entries, bullets, strict=False):
                if em.line(*bullet):
                    visible.append(e)
            for bullet in bullets[len(shown_entries) :]:
                em.line(*bullet)
            if not visible:
                em.restore(cp_s)
            kept[kind] = visible
        if stale:
            # Kept for the record, marked so that nobody reads them as current.
            em.section(
                SUPERSEDED_HEADING,
                _entry_bullets(stale, shown_support, group.project, group.cwd)[:MAX_BLOCK_BULLETS],
            )
        visible_groups.append(
            VisibleGroup(group, numbered, kept["prefs"], kept["knowledge"], kept["failures"])
        )
    shown_general: list[Entry] = []
    if general:
        entries = sorted(general.values(), key=lambda e: (-len(e.threads), e.key))
        names = [g.project for g in groups]
        cp = em.checkpoint()
        em.blank()
        em.line(GENERAL_HEADING)
        em.blank()
        shown_general = [
            e for e in entries if em.line(_general_line(e, names), e.threads, general_ident(e))
        ]
        if not shown_general:
            em.restore(cp)
    if not visible_groups:
        em.blank()
        em.line(EMPTY_HEADING)
        em.blank()
        em.line(
            "No Codex session is consolidated here yet: phase 2 selected no stage-1 memories "
            "(or every one was hidden by an edit). Only the user notes above hold anything."
        )
    em.blank()
    return em.lines, visible_groups, shown_general


def state_block(memory_digest: str, summary_digest: str, hidden: Mapping[str, Hide]) -> list[str]:
    lines = [STATE_BEGIN, f"memory {memory_digest}", f"summary {summary_digest}"]
    lines += [hide_line(rid, h) for rid, h in sorted(hidden.items())]
    return [*lines, STATE_END]
