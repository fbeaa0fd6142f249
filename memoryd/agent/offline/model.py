"""The consolidated model: task groups per project and their de-duplicated entries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from memoryd.agent.offline.layout import MAX_TASK_KEYWORDS, TITLE_CHARS
from memoryd.agent.offline.sources import Source, TaskIn, project_name
from memoryd.textutil import clip, dedupe_ci, norm_words


@dataclass
class TaskRef:
    source: Source
    task: TaskIn


@dataclass
class Task:
    title: str
    refs: list[TaskRef] = field(default_factory=list)

    @property
    def latest(self) -> str:
        return max(r.source.updated_at for r in self.refs)

    @property
    def outcome(self) -> str:
        return self.refs[0].task.outcome or "unknown"

    @property
    def support(self) -> frozenset[str]:
        return frozenset(r.source.thread_id for r in self.refs)

    def keywords(self) -> list[str]:
        return dedupe_ci(k for r in self.refs for k in r.source.keywords)[:MAX_TASK_KEYWORDS]


@dataclass
class Group:
    label: str
    cwd: str
    title: str = ""
    tasks: list[Task] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"# Task Group: {self.title}"

    @property
    def latest(self) -> str:
        return max(t.latest for t in self.tasks)

    @property
    def support(self) -> frozenset[str]:
        return frozenset(tid for t in self.tasks for tid in t.support)

    @property
    def project(self) -> str:
        return project_name(self.cwd)

    def branches(self) -> list[str]:
        return sorted({r.source.git_branch for t in self.tasks for r in t.refs} - {""})


def build_groups(sources: Sequence[Source]) -> list[Group]:
    groups: dict[tuple[str, str], Group] = {}
    tasks: dict[tuple[str, str, str], Task] = {}
    for src in sources:
        for t in src.tasks:
            label = clip(t.group, TITLE_CHARS) or src.project
            gkey = (src.cwd, label.lower())
            group = groups.get(gkey)
            if group is None:
                group = groups[gkey] = Group(label=label, cwd=src.cwd)
            title = t.title or "(untitled task)"
            tkey = (*gkey, norm_words(title) or title)
            task = tasks.get(tkey)
            if task is None:
                task = tasks[tkey] = Task(title=title)
                group.tasks.append(task)
            task.refs.append(TaskRef(src, t))
    out = list(groups.values())
    for g in out:
        for task in g.tasks:
            task.refs.sort(key=lambda r: r.source.thread_id)
            task.refs.sort(key=lambda r: r.source.updated_at, reverse=True)
        g.tasks.sort(key=lambda t: t.latest, reverse=True)  # ties: first seen, in task order
    out.sort(key=lambda g: (g.label.lower(), g.cwd))
    out.sort(key=lambda g: g.latest, reverse=True)
    counts: dict[str, int] = {}
    for g in out:
        counts[g.label.lower()] = counts.get(g.label.lower(), 0) + 1
    for g in out:
        g.title = g.label if counts[g.label.lower()] == 1 else f"{g.label} (cwd={g.cwd})"
    return out


@dataclass
class Entry:
    """A de-duplicated block-level bullet (preference, knowledge or failure)."""

    key: str
    text: str
    tasks: list[int] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    projects: list[str] = field(default_factory=list)
    latest: str = ""
    implication: str = ""
    quote: str = ""


_QUOTE = re.compile(r"[\"“]([^\"”]{1,300})[\"”]")
_SAID = re.compile(
    r"^(?:when [^,]*,\s*)?the user (?:said|asked|corrected|asked / corrected)\b:?\s*", re.I
)


def preference_parts(bullet: str) -> tuple[str, str, str]:
    """(dedup key, implication, quote) of a preference bullet: ``… "quote" -> implication``
    (the offline extractor's and the consolidation prompt's shape) or plain text."""
    bullet = re.sub(r"(?:\s*\[Task \d+\])+\s*$", "", bullet).strip()
    qm = _QUOTE.search(bullet)
    quote = qm.group(1).strip() if qm else ""
    if "->" in bullet:
        implication = bullet.rsplit("->", 1)[1].strip()
        implication = re.sub(r"^in similar future tasks,\s*", "", implication, flags=re.I)
    else:
        implication = _SAID.sub("", bullet).strip()
    implication = implication.rstrip(" .;")
    key = norm_words(implication) or norm_words(quote) or norm_words(bullet)
    return key, implication, quote


def _merge(entries: dict[str, Entry], key: str, text: str, num: int, ref: TaskRef) -> Entry:
    e = entries.get(key)
    if e is None:
        e = entries[key] = Entry(key=key, text=text)
    if num not in e.tasks:
        e.tasks.append(num)
    e.threads.add(ref.source.thread_id)
    if ref.source.project not in e.projects:
        e.projects.append(ref.source.project)
    e.latest = max(e.latest, ref.source.updated_at)
    return e


def collect_entries(
    numbered: Sequence[tuple[int, Task]], kind: Literal["prefs", "knowledge", "failures"]
) -> list[Entry]:
    entries: dict[str, Entry] = {}
    for num, task in numbered:
        for ref in task.refs:
            for bullet in getattr(ref.task, kind):
                text = clip(re.sub(r"(?:\s*\[Task \d+\])+\s*$", "", bullet), 600)
                if kind == "knowledge" and re.match(r"^project root:", text, re.I):
                    continue  # the block's applies_to already says where
                if kind == "prefs":
                    key, implication, quote = preference_parts(text)
                    e = _merge(entries, key, text, num, ref)
                    e.implication = e.implication or implication
                    e.quote = e.quote or quote
                else:
                    _merge(entries, norm_words(text) or text, text, num, ref)
    return list(entries.values())
