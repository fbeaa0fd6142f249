"""Reading the previous files: user notes, the state comment, digests, line structure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from memoryd.consolidate.offline.layout import (
    ADHOC_HEADING,
    EMPTY_HEADING,
    GENERAL_HEADING,
    NOTES_BEGIN_PREFIX,
    NOTES_END_PREFIX,
    NOTES_HEADING,
    STATE_END,
    STATE_PREFIX,
    SUMMARY_NOTES_HEADING,
    SUMMARY_SECTIONS,
    FileTag,
    Kind,
)
from memoryd.consolidate.offline.ledger import Hide, Walker, WalkState, parse_hide
from memoryd.textutil import sha, split_lines


@dataclass
class State:
    memory_digest: str | None = None
    summary_digest: str | None = None
    hidden: dict[str, Hide] = field(default_factory=dict)


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


def strip_blank_edges(lines: list[str]) -> list[str]:
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
    return sha("\n".join(strip_blank_edges(kept)))[:16]


def _parse_state(lines: Sequence[str]) -> State:
    state = State()
    for ln in lines:
        parts = ln.split()
        if len(parts) == 2 and parts[0] == "memory":
            state.memory_digest = parts[1]
        elif len(parts) == 2 and parts[0] == "summary":
            state.summary_digest = parts[1]
        elif (record := parse_hide(parts)) is not None:
            state.hidden[record[0]] = record[1]
    return state


def _is_memory_boundary(line: str) -> bool:
    s = line.strip()
    return (
        s.startswith("# Task Group:")
        or s in (EMPTY_HEADING, ADHOC_HEADING, GENERAL_HEADING)
        or s.startswith(STATE_PREFIX)
        or s.startswith(NOTES_END_PREFIX)
    )


def view_memory(text: str) -> FileView:
    lines = split_lines(text)
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
        notes = strip_blank_edges(lines[begin + 1 : end])
    return FileView(lines, excluded, notes, _digest(lines, excluded), state, fresh_from)


def view_summary(text: str) -> FileView:
    lines = split_lines(text)
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
        notes = strip_blank_edges(lines[start + 1 : end])
    return FileView(lines, excluded, notes, _digest(lines, excluded))


def annotate(file: FileTag, view: FileView) -> list[tuple[Kind, tuple[str, ...]] | None]:
    """(kind, path) of every line as the writer saw it; None for excluded lines."""
    walker = Walker(file)
    out: list[tuple[Kind, tuple[str, ...]] | None] = []
    for i, (ln, ex) in enumerate(zip(view.lines, view.excluded, strict=True)):
        if i == view.fresh_from:
            walker.state = WalkState(index=walker.state.index)
        if ex:
            walker.skip()
            out.append(None)
        else:
            out.append(walker.visit(ln))
    return out
