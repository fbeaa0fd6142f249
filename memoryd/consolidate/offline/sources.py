"""Reading the selected inputs: rollout summaries, raw memories, ad-hoc notes, skills."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memoryd.consolidate.offline.layout import (
    ADHOC_DIR,
    NOTE_CHARS,
    NOTE_READ_LIMIT,
    READ_LIMIT,
    TITLE_CHARS,
)
from memoryd.fsutil import read_regular_file
from memoryd.layout import RAW_MEMORIES_FILE, ROLLOUT_SUMMARIES_DIR
from memoryd.textutil import clip, dedupe_ci, one_line, sha


def project_name(cwd: str) -> str:
    name = posixpath.basename(cwd.rstrip("/")) if cwd and cwd != "unknown" else ""
    return name or "unknown project"


def read_text(path: Path, limit: int = READ_LIMIT) -> str | None:
    """The text of a regular file (never through a symlink), or None when it cannot be read."""
    try:
        data = read_regular_file(path, limit)
    except OSError:
        return None
    return None if data is None else data.decode("utf-8", "replace")


def blob_id(data: bytes) -> str:
    """Git's blob id of ``data`` (what phase 2 compares to tell our writes from the user's)."""
    h = hashlib.sha1(b"blob %d\x00" % len(data), usedforsecurity=False)
    h.update(data)
    return h.hexdigest()


def real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _md_files(directory: Path) -> list[tuple[str, str]]:
    """(name, text) of the regular ``*.md`` files directly in ``directory``, by name."""
    if not real_dir(directory):
        return []
    out: list[tuple[str, str]] = []
    try:
        names = sorted(e.name for e in os.scandir(directory))
    except OSError:
        return []
    for name in names:
        if not name.endswith(".md") or name.startswith("."):
            continue
        text = read_text(directory / name)
        if text is not None:
            out.append((name, text))
    return out


_TASK_HEADING = re.compile(r"^#{1,6}\s*Task\s+(\d+)\b\s*[:.)\-–—]?\s*(.*?)\s*$", re.I)
_ANY_HEADING = re.compile(r"^#{1,6}\s+\S")
_SUBSECTION = re.compile(
    r"^(?:#{1,6}\s*)?(?:\*\*)?(preference signals|reusable knowledge"
    r"|failures and how to do differently|references|key steps|rule candidates)(?:\*\*)?"
    # "Rule candidates (…):" says what they are. No two runs of spaces may meet (each
    # optional part takes the spaces after it): three adjacent \s* split a long run of spaces
    # that fails to end the line every way there is, cubic in its length.
    r"\s*(?:\([^()\n]*\)\s*)?(?::\s*)?(?:\*\*)?$",
    re.I,
)
_SUBSECTION_KIND = {
    "preference signals": "prefs",
    "reusable knowledge": "knowledge",
    "failures and how to do differently": "failures",
    "rule candidates": "candidates",
}
_FIELD = re.compile(
    r"^(task|task_group|task_outcome|outcome|description|cwd|keywords)\s*:\s*(.*)$", re.I
)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+(.*)$")
# A statement longer than this is clipped as it is read: the offline extractor writes none
# over 500 characters, and the readers' cost grows with a statement's length (pairs of its
# clauses, of its words).
STATEMENT_CHARS = 2_000
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
    # user sentences that only weakly read as a rule: rules once another project restates one
    # (``model.corroborated``); nothing shows them before that
    candidates: list[str] = field(default_factory=list)

    def has_content(self) -> bool:
        return bool(
            self.title
            or self.prompt
            or self.prefs
            or self.knowledge
            or self.failures
            or self.candidates
        )


@dataclass
class ParsedMemory:
    front: dict[str, str]
    keywords: list[str]
    tasks: list[TaskIn]


def _outcome(value: str) -> str:
    m = _OUTCOME.match(value)
    if m is None:
        return clip(value, 40).lower()
    word = m.group(1).lower()
    return "fail" if word.startswith("fail") else word


def _split_keywords(value: str) -> list[str]:
    value = value.strip().strip("[]")
    parts = [p.strip().strip("'\"`") for p in value.split(",")]
    return [clip(p, 60) for p in parts if p]


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
                keywords.append(clip(b.group(1).strip().strip("'\"`"), 60))
            j += 1
        if j < len(lines):
            i = j + 1
    keywords = dedupe_ci([*_split_keywords(front.get("keywords", "")), *keywords])

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
            cur = TaskIn(title=clip(m.group(2), TITLE_CHARS))
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
                    cur.group = clip(value, TITLE_CHARS)
                elif key in ("task_outcome", "outcome") and not cur.outcome:
                    cur.outcome = _outcome(value)
                sub, target = None, None
                continue
        if sub not in ("prefs", "knowledge", "failures", "candidates"):
            continue
        bucket: list[str] = getattr(cur, sub)
        # a run of spaces is read as one: a stage-1 output (a model's, or one written before
        # the extractor did the same) may pad a rule with thousands, and the statement
        # readers' ``.+?\s+word`` patterns try such a run again from each of its characters
        content = clip(one_line(b.group(1) if b is not None else s), STATEMENT_CHARS)
        if b is None and target is not None and target:
            target[-1] = clip(f"{target[-1]} {content}", STATEMENT_CHARS)
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
    elif pre.prefs or pre.knowledge or pre.failures or pre.candidates:
        first = tasks[0]
        first.prefs[:0] = pre.prefs
        first.knowledge[:0] = pre.knowledge
        first.failures[:0] = pre.failures
        first.candidates[:0] = pre.candidates
    for t in tasks:
        if not t.title:
            t.title = clip(
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
                task.title = clip(s.lstrip("#").strip(), TITLE_CHARS)
                continue
            b = _BULLET.match(raw)
            if b is not None and not _PLACEHOLDER.match(b.group(1).strip()):
                task.knowledge.append(clip(b.group(1), 600))
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
        return project_name(self.cwd)

    @property
    def day(self) -> str:
        return self.updated_at[:10] if re.match(r"\d{4}-\d{2}-\d{2}", self.updated_at) else ""


def read_sources(root: Path) -> list[Source]:
    """Every selected input in the root: the sections of ``raw_memories.md`` joined with their
    ``rollout_summaries/<stem>.md``, plus any summary file without a section."""
    raw_text = read_text(root / RAW_MEMORIES_FILE) or ""
    sections = split_raw_memories(raw_text)
    summaries = dict(_md_files(root / ROLLOUT_SUMMARIES_DIR))
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
                fingerprint=sha(summaries.get(name, "") + "\0" + sec.text)[:12],
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
                fingerprint=sha(summaries[name] + "\0")[:12],
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
        line = clip(body, NOTE_CHARS)
        if line:
            notes.append(AdHocNote(name=name, text=line, fingerprint=sha(body)[:12]))
    return notes


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    fingerprint: str


def read_skills(root: Path) -> list[Skill]:
    skills_dir = root / "skills"
    if not real_dir(skills_dir):
        return []
    out: list[Skill] = []
    try:
        names = sorted(e.name for e in os.scandir(skills_dir))
    except OSError:
        return []
    for name in names:
        if name.startswith(".") or not real_dir(skills_dir / name):
            continue
        text = read_text(skills_dir / name / "SKILL.md", NOTE_READ_LIMIT)
        if text is None:
            continue
        m = re.search(r"^description:\s*(.+)$", text, re.M)
        desc = clip(m.group(1).strip().strip("'\""), 140) if m else ""
        out.append(Skill(name=name, description=desc, fingerprint=sha(text)[:12]))
    return out
