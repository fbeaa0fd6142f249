"""Line structure, line keys and the hide ledger (shared by the writer and the reader)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

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


@dataclass(frozen=True)
class Hide:
    """A generated line, as the hide ledger knows it: the fingerprint of the inputs behind it
    and, when it states one memory item (a rule, a fact, a task, a project), that item's
    identity (``item_id``), which a rewording of the line keeps."""

    fp: str
    item: str = ""


_HIDE_RID = re.compile(r"[MS]:[0-9a-f]{16}")
_HIDE_ID = re.compile(r"[0-9a-f]{16}")


def hide_line(rid: str, hide: Hide) -> str:
    """The state comment's record of a line the user deleted: ``hide <file>:<key> <fp>``, then
    the item identity when the line has one."""
    return " ".join(("hide", rid, hide.fp, *((hide.item,) if hide.item else ())))


def parse_hide(parts: Sequence[str]) -> tuple[str, Hide] | None:
    """A ``hide`` record of the state comment, split on blanks; None when it is none. Records
    written before the item identity existed have three fields and still hide their line."""
    if len(parts) not in (3, 4) or parts[0] != "hide" or not _HIDE_RID.fullmatch(parts[1]):
        return None
    item = parts[3] if len(parts) == 4 else ""
    if item and not _HIDE_ID.fullmatch(item):
        return None
    return parts[1], Hide(parts[2], item)


def item_id(file: FileTag, ident: str) -> str:
    """The hide ledger's identity of a memory item's line in ``file`` (``ident``: what the
    renderer says the line is about, e.g. a project's cwd and a rule's meaning key)."""
    return sha(f"{file}\x1f{ident}")[:16] if ident else ""


class Ledger:
    """Answers "is this generated line hidden by the user?" and remembers every line key and
    item fingerprint it was asked about (the superset pass uses that as the catalogue of what
    the rebuild can produce).

    A line is hidden while the inputs behind it are unchanged (the fingerprint) and it is the
    line the user deleted: the same words under the same headings (its key), or the same
    memory item worded another way (its item identity): a rule that gains the user's quote, a
    refusal rephrased, a project heading that gains its directory."""

    def __init__(self, hidden: Mapping[str, Hide], fingerprints: Mapping[str, str]) -> None:
        self.hidden = dict(hidden)
        self.hidden_items = {(h.item, h.fp) for h in self.hidden.values() if h.item}
        self.fingerprints = fingerprints
        self.keys: dict[str, set[str]] = {"M": set(), "S": set()}
        self.items: dict[str, Hide] = {}

    def support_fp(self, support: Iterable[str]) -> str:
        return sha("\n".join(sorted(self.fingerprints.get(s, s) for s in support)))[:12]

    def check(
        self,
        file: FileTag,
        kind: Kind,
        path: Sequence[str],
        text: str,
        support: frozenset[str],
        ident: str = "",
    ) -> bool:
        key = line_key(file, path, text)
        self.keys[file].add(key)
        if kind not in ("item", "heading") or not support:
            return False
        rid = f"{file}:{key}"
        line = Hide(self.support_fp(support), item_id(file, ident))
        self.items[rid] = line
        old = self.hidden.get(rid)
        if old is not None and old.fp == line.fp:
            return True
        return bool(line.item) and (line.item, line.fp) in self.hidden_items

    def recall(
        self,
        hidden: Mapping[str, Hide],
        deleted: Sequence[str],
        last_run: Callable[[], Ledger | None],
    ) -> dict[str, Hide]:
        """``hidden`` with the records this catalogue cannot place named as the last run
        worded their lines (``last_run``: its catalogue, built only when needed), so that
        :meth:`follow` finds their item: the lines in ``deleted`` that this rebuild words
        otherwise (the user deleted one in the same run that rewords it), and the records
        from before item identities whose line is worded otherwise now."""
        old = [
            rid
            for rid, h in hidden.items()
            if not h.item and (rid not in self.items or self.items[rid].fp != h.fp)
        ]
        if not deleted and not old:
            return dict(hidden)
        then = last_run()
        if then is None:
            return dict(hidden)
        out = dict(hidden)
        for rid in deleted:
            if rid in then.items:
                out[rid] = then.items[rid]
        for rid in old:
            line = then.items.get(rid)
            if line is not None and line.fp == hidden[rid].fp:
                out[rid] = line
        return out

    def follow(self, hidden: Mapping[str, Hide]) -> dict[str, Hide]:
        """The records of ``hidden`` that still hide a line this catalogue holds, each keyed by
        that line as it is worded now: kept as they are while the line's words and inputs are
        unchanged (an old record gains the line's item identity), moved to the new wording of
        the same item, dropped once the inputs behind the line changed or are gone."""
        worded: dict[tuple[str, str], str] = {}
        for rid, item in sorted(self.items.items()):
            if item.item:
                worded.setdefault((item.item, item.fp), rid)
        out: dict[str, Hide] = {}
        for rid, old in sorted(hidden.items()):
            line = self.items.get(rid)
            if line is not None and line.fp == old.fp:
                out[rid] = Hide(old.fp, line.item or old.item)
                continue
            now = worded.get((old.item, old.fp)) if old.item else None
            if now is not None:
                out.setdefault(now, self.items[now])
        return out


class Bullet(NamedTuple):
    """A generated line with the inputs behind it and the memory item it states (if any)."""

    text: str
    support: Iterable[str]
    ident: str = ""


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

    def line(self, text: str, support: Iterable[str] = (), ident: str = "") -> bool:
        """Add a generated line unless the user hid it (``ident``: the memory item it states,
        see ``Ledger``)."""
        text = redact_line(text)
        kind, path = self.walker.visit(text, commit=False)
        if kind == "blank":
            self.blank()
            return True
        if self.ledger.check(self.file, kind, path, text, frozenset(support), ident):
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

    def section(self, heading: str, bullets: Sequence[tuple[str, Iterable[str]] | Bullet]) -> int:
        """A struct heading and its bullets; nothing at all if every bullet is hidden."""
        cp = self.checkpoint()
        self.blank()
        self.line(heading)
        self.blank()
        shown = sum(1 for b in bullets if self.line(*b))
        if not shown:
            self.restore(cp)
        return shown
