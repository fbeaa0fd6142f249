"""The user's edits: the workspace diff, what changed since the last write, notes."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import pygit2

from memoryd.consolidate.offline.layout import MOVED_HEADING, SUMMARY_NOTES_BUDGET, FileTag
from memoryd.consolidate.offline.ledger import line_key
from memoryd.consolidate.offline.views import (
    FileView,
    annotate,
    strip_blank_edges,
    view_memory,
    view_summary,
)
from memoryd.textutil import clip, split_lines
from memoryd.workspace.diff import REDACTED_ONLY


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[tuple[str, str]]


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
    # One file at a time, so that a file libgit2 cannot read (the cut one at a truncation, a
    # binary one) costs only its own hunks. A line that starts a file's header never occurs
    # inside a hunk: every hunk line has a ' ', '+', '-' or '\\' in front.
    files: dict[str, list[Hunk] | None] = {}
    heads = [i for i in range(start, end) if lines[i].startswith("diff --git ")]
    for i, j in pairwise([*heads, end] if heads else []):
        files[_git_path(lines[i])] = _file_hunks("\n".join(lines[i:j]) + "\n")
    for line in lines[:start]:
        if line.startswith(REDACTED_ONLY):  # changed, with no lines to show
            files.setdefault(line[len(REDACTED_ONLY) :], [])
    return files


def _file_hunks(patch: str) -> list[Hunk] | None:
    if "\n@@ -" not in patch:
        # No hunk: a binary file (whose notice libgit2 does not parse), or one whose change
        # has no lines to show (a mode, an empty file, a change redaction made invisible).
        return None if "\nBinary files " in patch else []
    try:
        parsed = list(pygit2.Diff.parse_diff(patch.encode("utf-8", "surrogatepass")))
    except pygit2.GitError:
        return None
    file = parsed[0] if len(parsed) == 1 else None
    if file is None:
        return None
    return [
        Hunk(
            old_start=h.old_start,
            old_len=h.old_lines,
            new_start=h.new_start,
            new_len=h.new_lines,
            lines=[
                (ln.origin, ln.raw_content.decode("utf-8", "replace").removesuffix("\n"))
                for ln in h.lines
                if ln.origin in _HUNK_ORIGINS
            ],
        )
        for h in file.hunks
    ]


_HUNK_ORIGINS = frozenset(" +-")  # not libgit2's "\\ No newline at end of file" markers


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
    user = _view(file, split_lines(text))
    if baseline is None:
        return _unknown_edits(file, user, generated_keys)
    base = _view(file, baseline)
    removed, added = line_changes(base.lines, user.lines)
    return _changes(file, base, user, removed, added)


def fit_summary_notes(notes: list[str]) -> tuple[list[str], list[str]]:
    """(lines kept in the summary, lines moved to MEMORY.md): the first lines that fit
    SUMMARY_NOTES_BUDGET stay."""
    kept: list[str] = []
    size = 0
    for i, ln in enumerate(notes):
        size += len(ln.encode("utf-8")) + 1
        if size > SUMMARY_NOTES_BUDGET:
            return strip_blank_edges(kept), strip_blank_edges(notes[i:])
        kept.append(ln)
    return strip_blank_edges(kept), []


def _location(path: Sequence[str]) -> str:
    if not path:
        return "## Added to MEMORY.md"
    return "## Added under: " + " > ".join(clip(p, 80) for p in path)


def merge_memory_notes(
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
    return strip_blank_edges(out)
