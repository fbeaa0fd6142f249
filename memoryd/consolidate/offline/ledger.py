"""Line structure, line keys and the hide ledger (shared by the writer and the reader)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from memoryd.consolidate.offline.layout import (
    ADHOC_HEADING,
    EMPTY_HEADING,
    GENERAL_HEADING,
    NOTES_HEADING,
    SUMMARY_SECTIONS,
    SUPERSEDED_HEADING,
    FileTag,
    Kind,
)
from memoryd.redact import redact
from memoryd.textutil import sha

_TASK_NUM = re.compile(r"\bTask \d+\b")
_HEADING_LINE = re.compile(r"^(#{1,6})\s+\S")
_DAY_HEADING = re.compile(r"^#### \d{4}-\d{2}-\d{2}$")
_STRUCT_HEADINGS: dict[str, frozenset[str]] = {
    "M": frozenset(
        {
            NOTES_HEADING,
            ADHOC_HEADING,
            EMPTY_HEADING,
            GENERAL_HEADING,
            SUPERSEDED_HEADING,
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
    return sha("\x1f".join(parts))[:16]


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
class WalkState:
    stack: list[tuple[int, str]] = field(default_factory=list)
    parent: str | None = None
    index: int = 0


class Walker:
    """Tracks the headings above a line: a line's key is its text plus that path (the whole
    heading chain in MEMORY.md, the ``##`` section in the summary) plus, for an indented
    bullet, the bullet it hangs from."""

    def __init__(self, file: FileTag) -> None:
        self.file: FileTag = file
        self.state = WalkState()

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

    def snapshot(self) -> WalkState:
        return WalkState(list(self.state.stack), self.state.parent, self.state.index)

    def restore(self, snap: WalkState) -> None:
        self.state = WalkState(list(snap.stack), snap.parent, snap.index)


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
        return sha("\n".join(sorted(self.fingerprints.get(s, s) for s in support)))[:12]

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


def redact_line(text: str) -> str:
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
        text = redact_line(text)
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

    def checkpoint(self) -> tuple[int, WalkState]:
        return len(self.lines), self.walker.snapshot()

    def restore(self, cp: tuple[int, WalkState]) -> None:
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
