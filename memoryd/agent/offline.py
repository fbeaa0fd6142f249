"""The ``offline`` consolidation agent: deterministic phase 2 with no model and no network.

It rebuilds ``MEMORY.md`` and ``memory_summary.md`` from the selected inputs that phase 2 has
just synced into the memory root (``raw_memories.md`` and ``rollout_summaries/*.md``), in the
formats Codex's consolidation prompt asks for (reference §6.9), so that the Codex read path
works on them unchanged: the summary is injected into every prompt, and its index names the
keywords to grep in ``MEMORY.md``, whose tasks name the rollout summary to open next.

What it writes
--------------
``MEMORY.md``
    ``# User notes`` first (see below), then one ``# Task Group:`` block per project (cwd) and
    task family (the stage-1 ``task_group``), freshest first, each with ``scope:`` and
    ``applies_to: cwd=…; reuse_rule=…``; its ``## Task <n>`` sections (the same task seen in
    several sessions is one section citing each session) with ``### rollout_summary_files``
    (``rollout_summaries/<stem>.md (cwd=…, rollout_path=…, updated_at=…, thread_id=…)``) and
    ``### keywords``; then the block's ``## User preferences``, ``## Reusable knowledge`` and
    ``## Failures and how to do differently``, de-duplicated across its sessions, each bullet
    tagged with the tasks it came from (``[Task 1][Task 3]``) and, when more than one session
    said it, how many.
``memory_summary.md``
    ``v1``, then ``## User Profile``, ``## User preferences`` (every preference once, with the
    number of sessions and the projects that stated it), ``## User notes`` (only when there are
    any), ``## General Tips`` and ``## What's in Memory`` (per project: the last three memory
    days' topics with keywords, description and a learning, then ``### Older Memory Topics``).
    It is kept under ``SUMMARY_BUDGET`` bytes (the Codex CLI injects the first 5,000 bytes of
    a long summary): lists are shortened step by step, never cut mid-line.

Inputs that are no longer selected are simply absent from the rebuild, so whatever only they
supported disappears (deletions honoured). The same inputs always give the same bytes, and a
file whose bytes would not change is not rewritten.

User edits
----------
The user's hand edits are authoritative (SPEC §4). Three mechanisms keep them, all derived from
the files themselves and the workspace diff, with no state outside the memory root:

1. **User notes.** ``MEMORY.md`` starts with ``# User notes``; every line between its
   ``<!-- memoryd:user-notes-begin … -->`` and ``<!-- memoryd:user-notes-end -->`` markers is
   carried over verbatim, forever (until the user removes it). ``memory_summary.md`` has the
   same in its ``## User notes`` section (up to the next of the four standard sections), kept to
   ``SUMMARY_NOTES_BUDGET`` bytes; lines beyond that move to ``MEMORY.md``'s notes under
   ``## Moved from memory_summary.md``, so nothing is lost and the summary stays small.
2. **Lines added elsewhere.** A line the user adds anywhere else in either file (a ``+`` line
   of that file in ``phase2_workspace_diff.md``) that the rebuild would not produce is moved
   into that file's notes: in ``MEMORY.md`` under ``## Added under: <the headings it was
   under>``, in the summary at the end of ``## User notes``. An edited generated line is a
   removal of the old line plus an addition of the new one.
3. **Lines removed.** A generated line the user deletes (a ``-`` line in the diff) is not
   written again while every input it came from is unchanged. Each such line is recorded in
   the state comment at the end of ``MEMORY.md`` as ``hide <file>:<key> <fingerprint>``: the
   key hashes the line and the headings above it (task numbers ignored), the fingerprint
   hashes the content of the inputs behind it (rollout summary file + raw memory section, or
   the ad-hoc note). When an input changes, the fingerprint no longer matches and the line
   comes back with the new evidence; when its inputs are all gone the record is dropped.
   Deleting a heading (``# Task Group: …``, ``## Task n: …``, a summary topic) hides
   everything under it, and the summary is built from what stays visible in ``MEMORY.md``,
   so hiding a task group there also removes it from the summary. Deleting a ``hide`` line
   brings the memory back; re-adding the exact line does too. Moving a line within its
   section is not an edit.

To tell the user's edits from its own lines, the state comment also stores a digest of each
file as written (without the notes and the comment). A file that still matches its digest
was not edited, whatever the diff says (for example when a failed run left the baseline
older than the files). An edited file is read through the diff; if the diff has no usable
hunks for it (missing, truncated, or no longer applying to the file), every line of it that
the rebuild would not produce is kept as a note, erring on the side of keeping user text.
Files that carry no state comment (written by another backend, by Codex, or copied from a
legacy folder) are rebuilt; only lines the diff shows as added since the baseline are kept.
Deleting ``MEMORY.md`` resets it: it is rebuilt without notes or hidden lines. When a file
changed while the agent ran, phase 2 saves the user's version beside it
(``MEMORY.user-edit-<run>.md``) and keeps the pre-run content as the baseline (SPEC §4); the
next run compares that saved version with the baseline and applies its edits the same way
(the saved file itself is left alone).

Ad-hoc notes
------------
``extensions/ad_hoc/notes/*.md`` (left by an agent at the user's request) are listed under
``## Ad-hoc notes`` in ``MEMORY.md``'s user notes part, and the newest few open the summary's
``## User preferences``, tagged ``[ad-hoc note]``. They are information, never instructions.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Literal

from memoryd.agent.base import (
    MEMORY_FILE,
    RAW_MEMORIES_FILE,
    SUMMARIES_DIR,
    SUMMARY_FILE,
    AgentError,
    ConsolidationInput,
    ConsolidationResult,
)
from memoryd.artifacts import atomic_write, read_regular_file
from memoryd.backends.base import Usage
from memoryd.redact import redact

NAME = "offline"
MODEL = "offline-v1"

SUMMARY_BUDGET = 4_500  # bytes; the CLI injects the first 5,000 bytes of a longer summary
SUMMARY_NOTES_BUDGET = 1_200  # bytes of the summary's ``## User notes`` body
READ_LIMIT = 64 * 1024 * 1024
NOTE_READ_LIMIT = 64 * 1024
NOTE_CHARS = 1_000  # of one ad-hoc note in MEMORY.md
TITLE_CHARS = 160
MAX_TASK_KEYWORDS = 16
MAX_BLOCK_BULLETS = 40
RECENT_DAYS = 3

NOTES_HEADING = "# User notes"
NOTES_BEGIN = (
    "<!-- memoryd:user-notes-begin: the offline consolidator keeps every line between these "
    "two markers as written; lines you add elsewhere in MEMORY.md or memory_summary.md move "
    "here -->"
)
NOTES_END = "<!-- memoryd:user-notes-end -->"
NOTES_BEGIN_PREFIX = "<!-- memoryd:user-notes-begin"
NOTES_END_PREFIX = "<!-- memoryd:user-notes-end"
STATE_PREFIX = "<!-- memoryd:state"
STATE_BEGIN = (
    "<!-- memoryd:state (offline consolidator bookkeeping that keeps your edits: digests of "
    "the files as written, and the generated lines you deleted; remove a hide line to bring "
    "that memory back)"
)
STATE_END = "-->"
ADHOC_HEADING = "## Ad-hoc notes"
EMPTY_HEADING = "# Memory is empty"
SUMMARY_NOTES_HEADING = "## User notes"
SUMMARY_SECTIONS = (
    "## User Profile",
    "## User preferences",
    SUMMARY_NOTES_HEADING,
    "## General Tips",
    "## What's in Memory",
)
MOVED_HEADING = "## Moved from memory_summary.md (over its size budget)"
ADHOC_DIR = ("extensions", "ad_hoc", "notes")

FileTag = Literal["M", "S"]
Kind = Literal["blank", "heading", "sheading", "struct", "item"]

# --------------------------------------------------------------------------------------------
# Small text helpers


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _dedupe_ci(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        k = v.lower()
        if v and k not in seen:
            seen.add(k)
            out.append(v)
    return out


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _project(cwd: str) -> str:
    name = posixpath.basename(cwd.rstrip("/")) if cwd and cwd != "unknown" else ""
    return name or "unknown project"


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# --------------------------------------------------------------------------------------------
# Reading files (regular files only: never through a symlink)


def _read_text(path: Path, limit: int = READ_LIMIT) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace")


def _blob_id(data: bytes) -> str:
    """Git's blob id of ``data`` (what phase 2 compares to tell our writes from the user's)."""
    h = hashlib.sha1(b"blob %d\x00" % len(data), usedforsecurity=False)
    h.update(data)
    return h.hexdigest()


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _md_files(directory: Path) -> list[tuple[str, str]]:
    """(name, text) of the regular ``*.md`` files directly in ``directory``, by name."""
    if not _real_dir(directory):
        return []
    out: list[tuple[str, str]] = []
    try:
        names = sorted(e.name for e in os.scandir(directory))
    except OSError:
        return []
    for name in names:
        if not name.endswith(".md") or name.startswith("."):
            continue
        text = _read_text(directory / name)
        if text is not None:
            out.append((name, text))
    return out


# --------------------------------------------------------------------------------------------
# Parsing stage-1 outputs (the offline extractor's shapes, and a model's)

_TASK_HEADING = re.compile(r"^#{1,6}\s*Task\s+(\d+)\b\s*[:.)\-–—]?\s*(.*?)\s*$", re.I)
_ANY_HEADING = re.compile(r"^#{1,6}\s+\S")
_SUBSECTION = re.compile(
    r"^(?:#{1,6}\s*)?(?:\*\*)?(preference signals|reusable knowledge"
    r"|failures and how to do differently|references|key steps)(?:\*\*)?\s*:?\s*(?:\*\*)?$",
    re.I,
)
_SUBSECTION_KIND = {
    "preference signals": "prefs",
    "reusable knowledge": "knowledge",
    "failures and how to do differently": "failures",
}
_FIELD = re.compile(
    r"^(task|task_group|task_outcome|outcome|description|cwd|keywords)\s*:\s*(.*)$", re.I
)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+(.*)$")
_PLACEHOLDER = re.compile(
    r"^(?:none(?: observed| stated| recorded| noted)?|n/?a|nothing(?: notable)?"
    r"|no tool use; answered directly)\.?$",
    re.I,
)
_OUTCOME = re.compile(r"\s*(success|partial|uncertain|fail(?:ed|ure)?)\b", re.I)


@dataclass
class TaskIn:
    """One task block of a stage-1 output."""

    title: str = ""
    prompt: str = ""
    group: str = ""
    outcome: str = ""
    prefs: list[str] = field(default_factory=list)
    knowledge: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def has_content(self) -> bool:
        return bool(self.title or self.prompt or self.prefs or self.knowledge or self.failures)


@dataclass
class ParsedMemory:
    front: dict[str, str]
    keywords: list[str]
    tasks: list[TaskIn]


def _outcome(value: str) -> str:
    m = _OUTCOME.match(value)
    if m is None:
        return _clip(value, 40).lower()
    word = m.group(1).lower()
    return "fail" if word.startswith("fail") else word


def _split_keywords(value: str) -> list[str]:
    value = value.strip().strip("[]")
    parts = [p.strip().strip("'\"`") for p in value.split(",")]
    return [_clip(p, 60) for p in parts if p]


def parse_memory_text(text: str) -> ParsedMemory:
    """Front matter, keywords and task blocks of a raw memory (or of a rollout summary's body:
    same subsections, ``## Task n`` headings and an ``Outcome:`` line). Tolerant: anything it
    does not recognise is skipped."""
    lines = text.replace("\r\n", "\n").split("\n")
    front: dict[str, str] = {}
    keywords: list[str] = []
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].strip() == "---":
        j = i + 1
        last_key = ""
        while j < len(lines) and lines[j].strip() != "---":
            raw = lines[j]
            m = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", raw.strip())
            if m and not raw.startswith((" ", "\t", "-")):
                last_key = m.group(1).lower()
                front.setdefault(last_key, m.group(2).strip())
            elif last_key == "keywords" and _BULLET.match(raw):
                b = _BULLET.match(raw)
                assert b is not None
                keywords.append(_clip(b.group(1).strip().strip("'\"`"), 60))
            j += 1
        if j < len(lines):
            i = j + 1
    keywords = _dedupe_ci([*_split_keywords(front.get("keywords", "")), *keywords])

    tasks: list[TaskIn] = []
    pre = TaskIn()
    cur = pre
    sub: str | None = None
    target: list[str] | None = None
    for raw in lines[i:]:
        s = raw.strip()
        if not s:
            continue
        m = _TASK_HEADING.match(s)
        if m is not None:
            cur = TaskIn(title=_clip(m.group(2), TITLE_CHARS))
            tasks.append(cur)
            sub, target = None, None
            continue
        sm = _SUBSECTION.match(s)
        if sm is not None:
            sub = _SUBSECTION_KIND.get(sm.group(1).lower(), "skip")
            target = None
            continue
        if _ANY_HEADING.match(s):
            sub, target = None, None
            continue
        b = _BULLET.match(raw)
        if b is None:
            f = _FIELD.match(s)
            if f is not None and f.group(1).lower() in (
                "task",
                "task_group",
                "task_outcome",
                "outcome",
            ):
                key, value = f.group(1).lower(), f.group(2).strip()
                if key == "task" and not cur.prompt:
                    cur.prompt = value
                elif key == "task_group" and not cur.group:
                    cur.group = _clip(value, TITLE_CHARS)
                elif key in ("task_outcome", "outcome") and not cur.outcome:
                    cur.outcome = _outcome(value)
                sub, target = None, None
                continue
        if sub not in ("prefs", "knowledge", "failures"):
            continue
        bucket: list[str] = getattr(cur, sub)
        content = (b.group(1) if b is not None else s).strip()
        if b is None and target is not None and target:
            target[-1] = f"{target[-1]} {content}"
            continue
        if _PLACEHOLDER.match(content):
            target = None
            continue
        bucket.append(content)
        target = bucket

    if not tasks:
        pre.prompt = pre.prompt or front.get("task", "")
        pre.group = pre.group or front.get("task_group", "")
        pre.outcome = pre.outcome or _outcome(front.get("task_outcome", ""))
        tasks = [pre] if (pre.has_content() or front) else []
    elif pre.prefs or pre.knowledge or pre.failures:
        first = tasks[0]
        first.prefs[:0] = pre.prefs
        first.knowledge[:0] = pre.knowledge
        first.failures[:0] = pre.failures
    for t in tasks:
        if not t.title:
            t.title = _clip(
                t.prompt or front.get("task", "") or front.get("description", ""), TITLE_CHARS
            )
        if not t.group:
            t.group = front.get("task_group", "")
        if not t.outcome:
            t.outcome = _outcome(front.get("task_outcome", ""))
    return ParsedMemory(front=front, keywords=keywords, tasks=tasks)


def fallback_task(*texts: str) -> TaskIn:
    """A task for an input nothing else could be read from (free prose): titled by its first
    heading or line, with its bullets as knowledge, so the thread still has a place (and its
    rollout summary a pointer) in MEMORY.md."""
    task = TaskIn()
    for text in texts:
        for raw in text.split("\n"):
            s = raw.strip()
            if not s or s == "---":
                continue
            if not task.title:
                task.title = _clip(s.lstrip("#").strip(), TITLE_CHARS)
                continue
            b = _BULLET.match(raw)
            if b is not None and not _PLACEHOLDER.match(b.group(1).strip()):
                task.knowledge.append(_clip(b.group(1), 600))
        if task.title:
            break
    task.knowledge = task.knowledge[:10]
    return task


def _header_fields(lines: Sequence[str]) -> tuple[dict[str, str], int]:
    """``key: value`` lines up to the first blank line; returns the fields and the index of
    the line after the blank."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip():
        m = re.match(r"^([a-z_]+):\s?(.*)$", lines[i])
        if m:
            fields.setdefault(m.group(1), m.group(2).strip())
        i += 1
    return fields, i + 1


@dataclass
class RawSection:
    thread_id: str
    header: dict[str, str]
    body: str
    text: str  # the whole section, stripped: its fingerprint must not depend on its position


_THREAD_HEADER = re.compile(r"^## Thread `([^`\n]+)`\s*$")


def split_raw_memories(text: str) -> list[RawSection]:
    """The per-thread sections of ``raw_memories.md`` (reference §6.5). A section starts at a
    ``## Thread `<id>``` line followed by its ``updated_at:`` line, so a quoted header inside
    a memory does not split it."""
    lines = text.replace("\r\n", "\n").split("\n")
    starts = [
        i
        for i, line in enumerate(lines)
        if _THREAD_HEADER.match(line)
        and i + 1 < len(lines)
        and lines[i + 1].startswith("updated_at:")
    ]
    out: list[RawSection] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        m = _THREAD_HEADER.match(lines[start])
        assert m is not None
        header, body_at = _header_fields(lines[start + 1 : end])
        body = "\n".join(lines[start + 1 + body_at : end]).strip()
        out.append(
            RawSection(
                thread_id=m.group(1).strip(),
                header=header,
                body=body,
                text="\n".join(lines[start:end]).strip(),
            )
        )
    return out


@dataclass
class Source:
    """One selected input: a thread's rollout summary and raw memory."""

    thread_id: str
    summary_file: str  # "<stem>.md"
    cwd: str
    rollout_path: str
    updated_at: str
    git_branch: str
    keywords: list[str]
    tasks: list[TaskIn]
    fingerprint: str

    @property
    def project(self) -> str:
        return _project(self.cwd)

    @property
    def day(self) -> str:
        return self.updated_at[:10] if re.match(r"\d{4}-\d{2}-\d{2}", self.updated_at) else ""


def read_sources(root: Path) -> list[Source]:
    """Every selected input in the root: the sections of ``raw_memories.md`` joined with their
    ``rollout_summaries/<stem>.md``, plus any summary file without a section."""
    raw_text = _read_text(root / RAW_MEMORIES_FILE) or ""
    sections = split_raw_memories(raw_text)
    summaries = dict(_md_files(root / SUMMARIES_DIR))
    by_thread: dict[str, str] = {}
    parsed_headers: dict[str, tuple[dict[str, str], str]] = {}
    for name, text in summaries.items():
        lines = text.replace("\r\n", "\n").split("\n")
        header, body_at = _header_fields(lines)
        parsed_headers[name] = (header, "\n".join(lines[body_at:]))
        if header.get("thread_id"):
            by_thread.setdefault(header["thread_id"], name)

    sources: list[Source] = []
    used: set[str] = set()
    seen_threads: set[str] = set()
    for sec in sections:
        if sec.thread_id in seen_threads:
            continue
        seen_threads.add(sec.thread_id)
        name = sec.header.get("rollout_summary_file", "")
        if name not in summaries:
            name = by_thread.get(sec.thread_id, name)
        s_header, s_body = parsed_headers.get(name, ({}, ""))
        if name in summaries:
            used.add(name)
        memory = parse_memory_text(sec.body)
        if not memory.tasks and s_body:
            memory = parse_memory_text(s_body)
        if not memory.tasks:
            memory.tasks = [fallback_task(sec.body, s_body, sec.thread_id)]
        cwd = sec.header.get("cwd") or memory.front.get("cwd") or s_header.get("cwd") or ""
        sources.append(
            Source(
                thread_id=sec.thread_id,
                summary_file=name or f"{sec.thread_id}.md",
                cwd=cwd or "unknown",
                rollout_path=sec.header.get("rollout_path") or s_header.get("rollout_path", ""),
                updated_at=sec.header.get("updated_at") or s_header.get("updated_at", ""),
                git_branch=s_header.get("git_branch", ""),
                keywords=memory.keywords,
                tasks=memory.tasks,
                fingerprint=_sha(summaries.get(name, "") + "\0" + sec.text)[:12],
            )
        )
    for name in sorted(summaries):
        if name in used:
            continue
        header, body = parsed_headers[name]
        thread_id = header.get("thread_id") or name[: -len(".md")]
        if thread_id in seen_threads:
            continue
        seen_threads.add(thread_id)
        memory = parse_memory_text(body)
        if not memory.tasks:
            memory.tasks = [fallback_task(body, thread_id)]
        sources.append(
            Source(
                thread_id=thread_id,
                summary_file=name,
                cwd=header.get("cwd") or "unknown",
                rollout_path=header.get("rollout_path", ""),
                updated_at=header.get("updated_at", ""),
                git_branch=header.get("git_branch", ""),
                keywords=memory.keywords,
                tasks=memory.tasks,
                fingerprint=_sha(summaries[name] + "\0")[:12],
            )
        )
    return sorted(sources, key=lambda s: s.thread_id)


@dataclass(frozen=True)
class AdHocNote:
    name: str
    text: str  # one line, clipped
    fingerprint: str

    @property
    def support(self) -> str:
        return f"note:{self.name}"

    @property
    def path(self) -> str:
        return "/".join((*ADHOC_DIR, self.name))


def read_notes(root: Path) -> list[AdHocNote]:
    notes = []
    for name, text in _md_files(root.joinpath(*ADHOC_DIR)):
        body = text[:NOTE_READ_LIMIT]
        line = _clip(body, NOTE_CHARS)
        if line:
            notes.append(AdHocNote(name=name, text=line, fingerprint=_sha(body)[:12]))
    return notes


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    fingerprint: str


def read_skills(root: Path) -> list[Skill]:
    skills_dir = root / "skills"
    if not _real_dir(skills_dir):
        return []
    out: list[Skill] = []
    try:
        names = sorted(e.name for e in os.scandir(skills_dir))
    except OSError:
        return []
    for name in names:
        if name.startswith(".") or not _real_dir(skills_dir / name):
            continue
        text = _read_text(skills_dir / name / "SKILL.md", NOTE_READ_LIMIT)
        if text is None:
            continue
        m = re.search(r"^description:\s*(.+)$", text, re.M)
        desc = _clip(m.group(1).strip().strip("'\""), 140) if m else ""
        out.append(Skill(name=name, description=desc, fingerprint=_sha(text)[:12]))
    return out


# --------------------------------------------------------------------------------------------
# The consolidated model: task groups per project


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
        return _dedupe_ci(k for r in self.refs for k in r.source.keywords)[:MAX_TASK_KEYWORDS]


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
        return _project(self.cwd)

    def branches(self) -> list[str]:
        return sorted({r.source.git_branch for t in self.tasks for r in t.refs} - {""})


def _title_key(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def build_groups(sources: Sequence[Source]) -> list[Group]:
    groups: dict[tuple[str, str], Group] = {}
    tasks: dict[tuple[str, str, str], Task] = {}
    for src in sources:
        for t in src.tasks:
            label = _clip(t.group, TITLE_CHARS) or src.project
            gkey = (src.cwd, label.lower())
            group = groups.get(gkey)
            if group is None:
                group = groups[gkey] = Group(label=label, cwd=src.cwd)
            title = t.title or "(untitled task)"
            tkey = (*gkey, _title_key(title) or title)
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


def _norm_text(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


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
    key = _norm_text(implication) or _norm_text(quote) or _norm_text(bullet)
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
                text = _clip(re.sub(r"(?:\s*\[Task \d+\])+\s*$", "", bullet), 600)
                if kind == "knowledge" and re.match(r"^project root:", text, re.I):
                    continue  # the block's applies_to already says where
                if kind == "prefs":
                    key, implication, quote = preference_parts(text)
                    e = _merge(entries, key, text, num, ref)
                    e.implication = e.implication or implication
                    e.quote = e.quote or quote
                else:
                    _merge(entries, _norm_text(text) or text, text, num, ref)
    return list(entries.values())


# --------------------------------------------------------------------------------------------
# Line structure, keys and the hide ledger (shared by the writer and the reader)

_TASK_NUM = re.compile(r"\bTask \d+\b")
_HEADING_LINE = re.compile(r"^(#{1,6})\s+\S")
_DAY_HEADING = re.compile(r"^#### \d{4}-\d{2}-\d{2}$")
_STRUCT_HEADINGS: dict[str, frozenset[str]] = {
    "M": frozenset(
        {
            NOTES_HEADING,
            ADHOC_HEADING,
            EMPTY_HEADING,
            "### rollout_summary_files",
            "### keywords",
            "## User preferences",
            "## Reusable knowledge",
            "## Failures and how to do differently",
        }
    ),
    "S": frozenset({*SUMMARY_SECTIONS, "### Older Memory Topics", "### Skills"}),
}


def _norm_key_part(text: str) -> str:
    return " ".join(_TASK_NUM.sub("Task #", text).split())


def line_key(file: FileTag, path: Sequence[str], text: str) -> str:
    parts = [file, *(_norm_key_part(p) for p in path), _norm_key_part(text)]
    return _sha("\x1f".join(parts))[:16]


def classify(file: FileTag, text: str, index: int) -> Kind:
    s = text.strip()
    if not s:
        return "blank"
    if file == "S" and index == 0 and s == "v1":
        return "struct"
    if _HEADING_LINE.match(text):
        if s in _STRUCT_HEADINGS[file] or (file == "S" and _DAY_HEADING.match(s)):
            return "sheading"
        return "heading"
    if file == "M" and s.startswith(("scope:", "applies_to:", "<!-- memoryd:")):
        return "struct"
    return "item"


@dataclass
class _WalkState:
    stack: list[tuple[int, str]] = field(default_factory=list)
    parent: str | None = None
    index: int = 0


class Walker:
    """Tracks the headings above a line: a line's key is its text plus that path (the whole
    heading chain in MEMORY.md, the ``##`` section in the summary) plus, for an indented
    bullet, the bullet it hangs from."""

    def __init__(self, file: FileTag) -> None:
        self.file: FileTag = file
        self.state = _WalkState()

    def _path(self) -> tuple[str, ...]:
        if self.file == "S":
            return tuple(h for lvl, h in self.state.stack if lvl == 2)
        return tuple(h for _, h in self.state.stack)

    def visit(self, text: str, commit: bool = True) -> tuple[Kind, tuple[str, ...]]:
        st = self.state
        kind = classify(self.file, text, st.index)
        if commit:
            st.index += 1
        s = text.strip()
        if kind == "blank":
            return kind, ()
        if kind in ("heading", "sheading"):
            level = len(s) - len(s.lstrip("#"))
            stack = [(lvl, h) for lvl, h in st.stack if lvl < level]
            path = (
                tuple(h for lvl, h in stack if lvl == 2)
                if self.file == "S"
                else tuple(h for _, h in stack)
            )
            if commit:
                st.stack = [*stack, (level, s)]
                st.parent = None
            return kind, path
        indent = len(text) - len(text.lstrip(" \t"))
        path = self._path()
        if indent > 0 and st.parent is not None:
            path = (*path, st.parent)
        elif indent == 0 and commit:
            st.parent = s
        return kind, path

    def skip(self) -> None:
        """A line that is not walked (user notes, the state comment) still takes an index."""
        self.state.index += 1

    def snapshot(self) -> _WalkState:
        return _WalkState(list(self.state.stack), self.state.parent, self.state.index)

    def restore(self, snap: _WalkState) -> None:
        self.state = _WalkState(list(snap.stack), snap.parent, snap.index)


class Ledger:
    """Answers "is this generated line hidden by the user?" and remembers every line key and
    item fingerprint it was asked about (the superset pass uses that as the catalogue of what
    the rebuild can produce)."""

    def __init__(self, hidden: Mapping[str, str], fingerprints: Mapping[str, str]) -> None:
        self.hidden = dict(hidden)
        self.fingerprints = fingerprints
        self.keys: dict[str, set[str]] = {"M": set(), "S": set()}
        self.items: dict[str, str] = {}

    def support_fp(self, support: Iterable[str]) -> str:
        return _sha("\n".join(sorted(self.fingerprints.get(s, s) for s in support)))[:12]

    def check(
        self, file: FileTag, kind: Kind, path: Sequence[str], text: str, support: frozenset[str]
    ) -> bool:
        key = line_key(file, path, text)
        self.keys[file].add(key)
        if kind not in ("item", "heading") or not support:
            return False
        rid = f"{file}:{key}"
        fp = self.support_fp(support)
        self.items[rid] = fp
        return self.hidden.get(rid) == fp


def _redact_line(text: str) -> str:
    return redact(text).replace("\n", " ")


class Emitter:
    """Builds a file line by line, asking the ledger about every generated line; a heading the
    user hid returns False so the caller skips what is under it."""

    def __init__(self, file: FileTag, ledger: Ledger) -> None:
        self.file: FileTag = file
        self.ledger = ledger
        self.lines: list[str] = []
        self.walker = Walker(file)

    def line(self, text: str, support: Iterable[str] = ()) -> bool:
        text = _redact_line(text)
        kind, path = self.walker.visit(text, commit=False)
        if kind == "blank":
            self.blank()
            return True
        if self.ledger.check(self.file, kind, path, text, frozenset(support)):
            return False
        self.walker.visit(text)
        self.lines.append(text)
        return True

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")
            self.walker.skip()

    def raw(self, lines: Iterable[str]) -> None:
        for ln in lines:
            self.lines.append(ln)
            self.walker.skip()

    def checkpoint(self) -> tuple[int, _WalkState]:
        return len(self.lines), self.walker.snapshot()

    def restore(self, cp: tuple[int, _WalkState]) -> None:
        del self.lines[cp[0] :]
        self.walker.restore(cp[1])

    def section(self, heading: str, bullets: Sequence[tuple[str, Iterable[str]]]) -> int:
        """A struct heading and its bullets; nothing at all if every bullet is hidden."""
        cp = self.checkpoint()
        self.blank()
        self.line(heading)
        self.blank()
        shown = sum(1 for text, support in bullets if self.line(text, support))
        if not shown:
            self.restore(cp)
        return shown


# --------------------------------------------------------------------------------------------
# Reading the previous files: notes, state, digests, structure


@dataclass
class State:
    memory_digest: str | None = None
    summary_digest: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)


@dataclass
class FileView:
    """One existing file: its lines, which of them are user notes or the state comment
    (excluded from keys and digests), the notes, and its digest."""

    lines: list[str]
    excluded: list[bool]
    notes: list[str]
    digest: str
    state: State | None = None
    fresh_from: int | None = None  # lines after the state comment hang under no heading


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _digest(lines: Sequence[str], excluded: Sequence[bool]) -> str:
    """What memoryd wrote of a file: every line but the notes and the state comment, without
    blank lines at either end."""
    kept = [ln for ln, ex in zip(lines, excluded, strict=True) if not ex]
    return _sha("\n".join(_strip_blank_edges(kept)))[:16]


def _parse_state(lines: Sequence[str]) -> State:
    state = State()
    for ln in lines:
        parts = ln.split()
        if len(parts) == 2 and parts[0] == "memory":
            state.memory_digest = parts[1]
        elif len(parts) == 2 and parts[0] == "summary":
            state.summary_digest = parts[1]
        elif (
            len(parts) == 3 and parts[0] == "hide" and re.fullmatch(r"[MS]:[0-9a-f]{16}", parts[1])
        ):
            state.hidden[parts[1]] = parts[2]
    return state


def _is_memory_boundary(line: str) -> bool:
    s = line.strip()
    return (
        s.startswith("# Task Group:")
        or s in (EMPTY_HEADING, ADHOC_HEADING)
        or s.startswith(STATE_PREFIX)
        or s.startswith(NOTES_END_PREFIX)
    )


def view_memory(text: str) -> FileView:
    lines = _split_lines(text)
    excluded = [False] * len(lines)
    state: State | None = None
    fresh_from: int | None = None
    # The state comment: the last one, up to its closing line; lines after it are content.
    starts = [i for i, ln in enumerate(lines) if ln.startswith(STATE_PREFIX)]
    if starts:
        s = starts[-1]
        e = next((j for j in range(s + 1, len(lines)) if lines[j].strip() == STATE_END), None)
        if e is not None:
            state = _parse_state(lines[s + 1 : e])
            fresh_from = e + 1
            for j in range(s, e + 1):
                excluded[j] = True
    # The notes region.
    begin = next((i for i, ln in enumerate(lines) if ln.startswith(NOTES_BEGIN_PREFIX)), None)
    if begin is None:
        begin = next((i for i, ln in enumerate(lines) if ln.strip() == NOTES_HEADING), None)
    notes: list[str] = []
    if begin is not None:
        # Up to the end marker; without one (the user deleted it), up to the first line
        # memoryd writes after the notes.
        marked = next(
            (
                j
                for j in range(begin + 1, len(lines))
                if excluded[j] or lines[j].startswith(NOTES_END_PREFIX)
            ),
            None,
        )
        end = marked
        if end is None or excluded[end]:
            end = next(
                (
                    j
                    for j in range(begin + 1, len(lines))
                    if excluded[j] or _is_memory_boundary(lines[j])
                ),
                len(lines),
            )
        for j in range(begin + 1, end):
            excluded[j] = True
        notes = _strip_blank_edges(lines[begin + 1 : end])
    return FileView(lines, excluded, notes, _digest(lines, excluded), state, fresh_from)


def view_summary(text: str) -> FileView:
    lines = _split_lines(text)
    excluded = [False] * len(lines)
    notes: list[str] = []
    start = next((i for i, ln in enumerate(lines) if ln.strip() == SUMMARY_NOTES_HEADING), None)
    if start is not None:
        end = next(
            (j for j in range(start + 1, len(lines)) if lines[j].strip() in SUMMARY_SECTIONS),
            len(lines),
        )
        for j in range(start, end):
            excluded[j] = True
        notes = _strip_blank_edges(lines[start + 1 : end])
    return FileView(lines, excluded, notes, _digest(lines, excluded))


def annotate(file: FileTag, view: FileView) -> list[tuple[Kind, tuple[str, ...]] | None]:
    """(kind, path) of every line as the writer saw it; None for excluded lines."""
    walker = Walker(file)
    out: list[tuple[Kind, tuple[str, ...]] | None] = []
    for i, (ln, ex) in enumerate(zip(view.lines, view.excluded, strict=True)):
        if i == view.fresh_from:
            walker.state = _WalkState(index=walker.state.index)
        if ex:
            walker.skip()
            out.append(None)
        else:
            out.append(walker.visit(ln))
    return out


# --------------------------------------------------------------------------------------------
# The workspace diff


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[tuple[str, str]]


_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _git_path(line: str) -> str:
    rest = line[len("diff --git ") :]
    n = len(rest)
    if (n - 5) % 2 == 0:
        half = (n - 5) // 2
        p = rest[2 : 2 + half]
        if rest == f"a/{p} b/{p}":
            return p
    return rest.split(" b/", 1)[0].removeprefix("a/")


def parse_workspace_diff(text: str) -> dict[str, list[Hunk] | None]:
    """The hunks of each file in ``phase2_workspace_diff.md`` (reference §6.6); ``None`` for a
    file whose hunks cannot be read (binary, truncated, malformed)."""
    lines = text.replace("\r\n", "\n").split("\n")
    try:
        start = lines.index("```diff") + 1
    except ValueError:
        return {}
    end = len(lines)
    for j in range(len(lines) - 1, start - 1, -1):
        if lines[j] == "```":
            end = j
            break
    body = lines[start:end]
    files: dict[str, list[Hunk] | None] = {}
    path: str | None = None
    i = 0
    while i < len(body):
        line = body[i]
        if line.startswith("diff --git "):
            path = _git_path(line)
            files[path] = []
            i += 1
            continue
        if path is None:
            i += 1
            continue
        if line.startswith("Binary files") or line.startswith("GIT binary patch"):
            files[path] = None
            i += 1
            continue
        m = _HUNK_HEADER.match(line)
        if m is None:
            i += 1
            continue
        hunk = Hunk(
            old_start=int(m.group(1)),
            old_len=int(m.group(2)) if m.group(2) is not None else 1,
            new_start=int(m.group(3)),
            new_len=int(m.group(4)) if m.group(4) is not None else 1,
            lines=[],
        )
        old_left, new_left = hunk.old_len, hunk.new_len
        j = i + 1
        ok = True
        while old_left > 0 or new_left > 0:
            if j >= len(body):
                ok = False
                break
            ln = body[j]
            j += 1
            if ln.startswith("\\"):
                continue
            op, t = (ln[:1], ln[1:]) if ln else (" ", "")
            if op == " ":
                old_left -= 1
                new_left -= 1
            elif op == "-":
                old_left -= 1
            elif op == "+":
                new_left -= 1
            else:
                ok = False
                break
            if old_left < 0 or new_left < 0:
                ok = False
                break
            hunk.lines.append((op, t))
        while j < len(body) and body[j].startswith("\\"):
            j += 1
        current = files.get(path)
        if not ok:
            files[path] = None
        elif current is not None:
            current.append(hunk)
        i = j
    return files


def reverse_apply(new: Sequence[str], hunks: Sequence[Hunk]) -> list[str] | None:
    """The file the diff started from, rebuilt from the current file; None when the hunks no
    longer match it."""
    old: list[str] = []
    pos = 0
    for h in hunks:
        start = h.new_start - 1 if h.new_len > 0 else h.new_start
        if start < pos or start > len(new):
            return None
        old.extend(new[pos:start])
        expected_old = h.old_start - 1 if h.old_len > 0 else h.old_start
        if len(old) != expected_old:
            return None
        idx = start
        for op, t in h.lines:
            if op == "-":
                old.append(t)
                continue
            if idx >= len(new) or new[idx] != t:
                return None
            if op == " ":
                old.append(t)
            idx += 1
        pos = idx
    old.extend(new[pos:])
    return old


def hunk_positions(
    hunks: Sequence[Hunk],
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(old index, text) of removed lines and (new index, text) of added lines."""
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    for h in hunks:
        o = h.old_start - 1 if h.old_len > 0 else h.old_start
        n = h.new_start - 1 if h.new_len > 0 else h.new_start
        for op, t in h.lines:
            if op == " ":
                o += 1
                n += 1
            elif op == "-":
                removed.append((o, t))
                o += 1
            else:
                added.append((n, t))
                n += 1
    return removed, added


@dataclass
class Edits:
    added: list[tuple[tuple[str, ...], str, str]] = field(default_factory=list)  # path,key,text
    removed: set[str] = field(default_factory=set)  # keys of removed item lines


def _view(file: FileTag, lines: Sequence[str]) -> FileView:
    text = "\n".join(lines) + "\n" if lines else ""
    return view_memory(text) if file == "M" else view_summary(text)


def line_changes(
    old: Sequence[str], new: Sequence[str]
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(old index, text) of removed lines and (new index, text) of added lines, by difflib."""
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            removed += [(i, old[i]) for i in range(i1, i2)]
        if op in ("insert", "replace"):
            added += [(j, new[j]) for j in range(j1, j2)]
    return removed, added


def _changes(
    file: FileTag,
    base: FileView,
    new: FileView,
    removed: Sequence[tuple[int, str]],
    added: Sequence[tuple[int, str]],
) -> Edits:
    edits = Edits()
    old_info = annotate(file, base)
    new_info = annotate(file, new)
    for idx, text in removed:
        info = old_info[idx] if idx < len(old_info) else None
        if info is not None and info[0] in ("item", "heading"):
            edits.removed.add(line_key(file, info[1], text))
    for idx, text in added:
        info = new_info[idx] if idx < len(new_info) else None
        if info is not None and info[0] != "blank":
            edits.added.append((info[1], line_key(file, info[1], text), text))
    return edits


def _unknown_edits(file: FileTag, view: FileView, generated_keys: set[str]) -> Edits:
    """Edited, but no record of how: every line the rebuild would not write counts as added."""
    edits = Edits()
    for ln, info in zip(view.lines, annotate(file, view), strict=True):
        if info is None or info[0] == "blank":
            continue
        key = line_key(file, info[1], ln)
        if key not in generated_keys:
            edits.added.append((info[1], key, ln))
    return edits


def baseline_of(view: FileView | None, hunks: list[Hunk] | None, in_diff: bool) -> list[str] | None:
    """The file as the last successful run left it: the current one when the diff does not
    list it, else the current one with the diff undone; None when that cannot be rebuilt."""
    current = view.lines if view is not None else []
    if not in_diff:
        return current
    if hunks is None:
        return None
    return reverse_apply(current, hunks)


def user_edits(
    file: FileTag,
    view: FileView | None,
    recorded_digest: str | None,
    hunks: list[Hunk] | None,
    in_diff: bool,
    generated_keys: set[str],
) -> Edits:
    """What the user changed in one file since memoryd last wrote it (module docstring)."""
    if view is None:
        return Edits()
    if recorded_digest is not None and view.digest == recorded_digest:
        return Edits()  # untouched since we wrote it
    if in_diff and hunks is not None:
        baseline = reverse_apply(view.lines, hunks)
        if baseline is not None:
            removed, added = hunk_positions(hunks)
            return _changes(file, _view(file, baseline), view, removed, added)
    if recorded_digest is None:
        return Edits()  # not ours and not shown as edited: another writer's baseline
    return _unknown_edits(file, view, generated_keys)


def saved_user_version_edits(
    file: FileTag, baseline: list[str] | None, text: str, generated_keys: set[str]
) -> Edits:
    """The edits in a user's version that phase 2 saved beside the file because it changed
    while the agent ran (``MEMORY.user-edit-<run>.md``): compared with the file before that
    run, which is the baseline."""
    user = _view(file, _split_lines(text))
    if baseline is None:
        return _unknown_edits(file, user, generated_keys)
    base = _view(file, baseline)
    removed, added = line_changes(base.lines, user.lines)
    return _changes(file, base, user, removed, added)


# --------------------------------------------------------------------------------------------
# Rendering MEMORY.md


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


def _task_heading(num: int, task: Task) -> str:
    return f"## Task {num}: {task.title} (outcome: {task.outcome})"


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
    return f"- {SUMMARIES_DIR}/{s.summary_file} ({', '.join(meta)})"


def _entry_bullets(
    entries: list[Entry], overflow_support: frozenset[str]
) -> list[tuple[str, frozenset[str]]]:
    out: list[tuple[str, frozenset[str]]] = []
    for e in entries[:MAX_BLOCK_BULLETS]:
        sessions = f" ({len(e.threads)} sessions)" if len(e.threads) > 1 else ""
        out.append((f"- {e.text} {_refs(e.tasks)}{sessions}", frozenset(e.threads)))
    if len(entries) > MAX_BLOCK_BULLETS:
        more = len(entries) - MAX_BLOCK_BULLETS
        out.append((f"- … {more} more in the rollout summaries listed above", overflow_support))
    return out


def _scope_line(group: Group) -> str:
    sessions = len(group.support)
    titles = "; ".join(f'"{_clip(t.title, 80)}"' for t in group.tasks[:3])
    more = f" and {len(group.tasks) - 3} more" if len(group.tasks) > 3 else ""
    return _clip(
        f"scope: {_plural(len(group.tasks), 'task')} from {_plural(sessions, 'session')} "
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


def render_memory(
    ledger: Ledger,
    groups: Sequence[Group],
    notes: Sequence[str],
    adhoc: Sequence[AdHocNote],
) -> tuple[list[str], list[VisibleGroup]]:
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
        if not em.line(group.heading, group.support):
            em.restore(cp)
            continue
        em.blank()
        em.line(_scope_line(group))
        em.line(_applies_line(group))
        numbered: list[tuple[int, Task]] = []
        for task in group.tasks:
            num = len(numbered) + 1
            tcp = em.checkpoint()
            em.blank()
            if not em.line(_task_heading(num, task), task.support):
                em.restore(tcp)
                continue
            shown = em.section(
                "### rollout_summary_files",
                [(_rollout_line(r), (r.source.thread_id,)) for r in task.refs],
            )
            kws = task.keywords()
            if kws:
                shown += em.section("### keywords", [("- " + ", ".join(kws), task.support)])
            if not shown:
                em.restore(tcp)
                continue
            numbered.append((num, task))
        if not numbered:
            em.restore(cp)
            continue
        shown_support = frozenset(tid for _, t in numbered for tid in t.support)
        kept: dict[str, list[Entry]] = {}
        for kind, heading in _BLOCK_SECTIONS:
            entries = collect_entries(numbered, kind)
            bullets = _entry_bullets(entries, shown_support)
            shown_entries = entries[:MAX_BLOCK_BULLETS]
            visible: list[Entry] = []
            cp_s = em.checkpoint()
            em.blank()
            em.line(heading)
            em.blank()
            for e, (text, support) in zip(shown_entries, bullets, strict=False):
                if em.line(text, support):
                    visible.append(e)
            for text, support in bullets[len(shown_entries) :]:
                em.line(text, support)
            if not visible:
                em.restore(cp_s)
            kept[kind] = visible
        visible_groups.append(
            VisibleGroup(group, numbered, kept["prefs"], kept["knowledge"], kept["failures"])
        )
    if not visible_groups:
        em.blank()
        em.line(EMPTY_HEADING)
        em.blank()
        em.line(
            "No Codex session is consolidated here yet: phase 2 selected no stage-1 memories "
            "(or every one was hidden by an edit). Only the user notes above hold anything."
        )
    em.blank()
    return em.lines, visible_groups


def _state_block(memory_digest: str, summary_digest: str, hidden: Mapping[str, str]) -> list[str]:
    lines = [STATE_BEGIN, f"memory {memory_digest}", f"summary {summary_digest}"]
    lines += [f"hide {rid} {fp}" for rid, fp in sorted(hidden.items())]
    return [*lines, STATE_END]


# --------------------------------------------------------------------------------------------
# Rendering memory_summary.md


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
    kws = _dedupe_ci(k for t in tasks for k in t.keywords())
    titles = "; ".join(f'"{_clip(t.title, 90)}"' for t in tasks[:2])
    more = f" (+{len(tasks) - 2} more)" if len(tasks) > 2 else ""
    sessions = len(frozenset(tid for t in tasks for tid in t.support))
    outcomes = "/".join(_dedupe_ci(t.outcome for t in tasks))
    desc = f"{titles}{more}; outcome {outcomes}; {_plural(sessions, 'session')}"
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
    return Topic(g, kws, desc, _clip(learning, 200), latest[:10])


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
        tips.append((f"- {_clip(e.text, 220)}{where(e)}", frozenset(e.threads)))
    for e in ranked(knows.values()):
        if len(e.threads) < 2 or e.text.lower().startswith("files involved"):
            continue
        tips.append((f"- {_clip(e.text, 220)}{where(e)}", frozenset(e.threads)))

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
        f"- Memory holds {_plural(len(model.sources), 'Codex session')}{when}, in "
        f"{_plural(len(projects), 'project')}: {shown}."
    ]
    if level.requests:
        recent: list[str] = []
        seen: set[str] = set()
        for vg in model.groups:
            title = vg.tasks[0][1].title
            if _title_key(title) in seen:
                continue
            seen.add(_title_key(title))
            recent.append(f'"{_clip(title, 90)}" ({vg.group.project})')
            if len(recent) >= level.requests:
                break
        if recent:
            out.append(f"- Most recent requests: {'; '.join(recent)}.")
    if model.prefs:
        repeated = sum(1 for e in model.prefs if len(e.threads) > 1)
        line = f"- Says how they like to work: {_plural(len(model.prefs), 'stated preference')}"
        line += f", {repeated} of them in more than one session" if repeated else ""
        out.append(line + " (see User preferences).")
    return out


def _pref_line(e: Entry) -> str:
    head = e.implication or e.text
    quote = f' — "{_clip(e.quote, 120)}"' if e.quote and e.quote not in head else ""
    if len(e.threads) > 1:
        src = f" ({len(e.threads)} sessions: {', '.join(e.projects[:4])})"
    else:
        src = f" ({e.projects[0]})" if e.projects else ""
    return f"- {_clip(head, 200)}{quote}{src}"


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
        shown += em.line(f"- {_clip(n.text, 170)} [ad-hoc note]", (n.support,))
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
    lines = _split_lines(text)
    while lines and len(("\n".join(lines) + "\n").encode("utf-8")) > SUMMARY_BUDGET:
        lines.pop()
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Notes


def _fit_summary_notes(notes: list[str]) -> tuple[list[str], list[str]]:
    """(lines kept in the summary, lines moved to MEMORY.md): the first lines that fit
    SUMMARY_NOTES_BUDGET stay."""
    kept: list[str] = []
    size = 0
    for i, ln in enumerate(notes):
        size += len(ln.encode("utf-8")) + 1
        if size > SUMMARY_NOTES_BUDGET:
            return _strip_blank_edges(kept), _strip_blank_edges(notes[i:])
        kept.append(ln)
    return _strip_blank_edges(kept), []


def _location(path: Sequence[str]) -> str:
    if not path:
        return "## Added to MEMORY.md"
    return "## Added under: " + " > ".join(_clip(p, 80) for p in path)


def _merge_memory_notes(
    existing: list[str],
    additions: Sequence[tuple[tuple[str, ...], str]],
    moved: Sequence[str],
) -> list[str]:
    out = list(existing)
    present = {ln.strip() for ln in existing if ln.strip()}
    groups: dict[str, list[str]] = {}
    for path, text in additions:
        if text.strip() in present:
            continue
        present.add(text.strip())
        groups.setdefault(_location(path), []).append(text)
    for heading, lines in groups.items():
        out += ["", heading, "", *lines] if out else [heading, "", *lines]
    moved = [ln for ln in moved if ln.strip() not in present or not ln.strip()]
    if moved:
        out += ["", MOVED_HEADING, "", *moved] if out else [MOVED_HEADING, "", *moved]
    return _strip_blank_edges(out)


# --------------------------------------------------------------------------------------------
# The agent


_SAVED_USER_VERSION = re.compile(r"(MEMORY|memory_summary)\.user-edit-[^/]+\.md")


def _diff_path(root: Path, diff_file: str | None) -> Path | None:
    if not diff_file:
        return None
    p = PurePosixPath(diff_file)
    if p.is_absolute() or ".." in p.parts:
        return None
    return root / diff_file


@dataclass
class Outcome:
    memory: str
    summary: str


def consolidate_root(root: Path, diff_file: str | None) -> Outcome:
    """The new MEMORY.md and memory_summary.md for the memory root (pure: reads only)."""
    sources = read_sources(root)
    adhoc = read_notes(root)
    skills = read_skills(root)
    groups = build_groups(sources)
    fingerprints: dict[str, str] = {s.thread_id: s.fingerprint for s in sources}
    fingerprints.update({n.support: n.fingerprint for n in adhoc})
    fingerprints.update({f"skill:{s.name}": s.fingerprint for s in skills})

    memory_text = _read_text(root / MEMORY_FILE)
    summary_text = _read_text(root / SUMMARY_FILE)
    mview = view_memory(memory_text) if memory_text is not None else None
    sview = view_summary(summary_text) if summary_text is not None else None
    state = (mview.state if mview is not None else None) or State()
    diff_text = None
    dpath = _diff_path(root, diff_file)
    if dpath is not None:
        diff_text = _read_text(dpath)
    diff = parse_workspace_diff(diff_text) if diff_text else {}

    # 1. Everything the rebuild can produce, with nothing hidden.
    catalogue = Ledger({}, fingerprints)
    _, all_visible = render_memory(catalogue, groups, [], adhoc)
    full_model = build_summary_model(sources, all_visible, adhoc, skills, [])
    for level in ALL_LEVELS:
        render_summary(catalogue, full_model, level)

    # 2. The user's edits since memoryd last wrote each file.
    medits = user_edits(
        "M",
        mview,
        state.memory_digest,
        diff.get(MEMORY_FILE),
        MEMORY_FILE in diff,
        catalogue.keys["M"],
    )
    sedits = user_edits(
        "S",
        sview,
        state.summary_digest,
        diff.get(SUMMARY_FILE),
        SUMMARY_FILE in diff,
        catalogue.keys["S"],
    )
    for saved in sorted(diff):
        m = _SAVED_USER_VERSION.fullmatch(saved)
        text = _read_text(root / saved) if m is not None else None
        if m is None or text is None:
            continue
        file: FileTag = "M" if m.group(1) == "MEMORY" else "S"
        view, name = (mview, MEMORY_FILE) if file == "M" else (sview, SUMMARY_FILE)
        base = baseline_of(view, diff.get(name), name in diff)
        extra = saved_user_version_edits(file, base, text, catalogue.keys[file])
        target = medits if file == "M" else sedits
        target.added += extra.added
        target.removed |= extra.removed
    hidden = dict(state.hidden)
    mem_additions: list[tuple[tuple[str, ...], str]] = []
    sum_additions: list[str] = []
    edits_by_file: tuple[tuple[FileTag, Edits], ...] = (("M", medits), ("S", sedits))
    for file, edits in edits_by_file:
        added_keys = {key for _, key, _ in edits.added}
        for key in sorted(edits.removed - added_keys):
            rid = f"{file}:{key}"
            if rid in catalogue.items:
                hidden[rid] = catalogue.items[rid]
        for where, key, text in edits.added:
            rid = f"{file}:{key}"
            if rid in hidden:
                del hidden[rid]  # re-added: show it again
            elif key in catalogue.keys[file]:
                continue  # the rebuild writes this line anyway
            elif file == "M":
                mem_additions.append((where, text))
            else:
                sum_additions.append(text)
    hidden = {rid: fp for rid, fp in hidden.items() if catalogue.items.get(rid) == fp}

    # 3. Notes: the summary keeps what fits, the rest moves to MEMORY.md.
    snotes = list(sview.notes) if sview is not None else []
    present = {ln.strip() for ln in snotes}
    snotes += [ln for ln in sum_additions if ln.strip() not in present]
    snotes, moved = _fit_summary_notes(_strip_blank_edges(snotes))
    mnotes = _merge_memory_notes(
        list(mview.notes) if mview is not None else [], mem_additions, moved
    )
    mnotes = [_redact_line(ln) if ln.strip() else "" for ln in mnotes]
    snotes = [_redact_line(ln) if ln.strip() else "" for ln in snotes]

    # 4. The final files.
    ledger = Ledger(hidden, fingerprints)
    body, visible = render_memory(ledger, groups, mnotes, adhoc)
    model = build_summary_model(sources, visible, adhoc, skills, snotes)
    summary = fit_summary(ledger, model)
    body_text = redact("\n".join(body).rstrip("\n") + "\n")
    memory_digest = view_memory(body_text).digest
    summary_digest = view_summary(summary).digest
    memory = body_text + "\n" + "\n".join(_state_block(memory_digest, summary_digest, hidden))
    return Outcome(memory=memory + "\n", summary=summary)


class OfflineConsolidator:
    """Phase-2 consolidation by rules: no model, no network, no cost."""

    name = NAME
    model = MODEL

    async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult:
        root = Path(request.root)
        if not _real_dir(root):
            raise AgentError("invalid_root", f"memory root {root} is not a directory")
        try:
            written = await asyncio.to_thread(self._run, root, request.diff_file)
        except OSError as exc:
            raise AgentError("io_error", f"cannot write the memory files: {exc}") from exc
        return ConsolidationResult(
            backend=self.name,
            model=self.model,
            usage=Usage(),
            written=sorted(written),
            written_ids=written,
            turns=1,
        )

    @staticmethod
    def _run(root: Path, diff_file: str | None) -> dict[str, str]:
        """Write the files whose bytes change; return their paths and git blob ids."""
        outcome = consolidate_root(root, diff_file)
        written: dict[str, str] = {}
        for name, text in ((MEMORY_FILE, outcome.memory), (SUMMARY_FILE, outcome.summary)):
            data = text.encode("utf-8")
            if read_regular_file(root / name) == data:
                continue
            atomic_write(root / name, data)
            written[name] = _blob_id(data)
        return written

    async def aclose(self) -> None:
        return None
