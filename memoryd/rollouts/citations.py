"""Usage feedback: the ``<oai-mem-citation>`` blocks the Codex CLI records in rollouts.

When the Codex CLI answers from memory, the model ends its assistant message with

    <oai-mem-citation>
    <citation_entries>
    MEMORY.md:234-236|note=[short note]
    rollout_summaries/<stem>.md:10-12|note=[short note]
    </citation_entries>
    <rollout_ids>
    <thread uuid>
    </rollout_ids>
    </oai-mem-citation>

The CLI hides the block on the terminal but records the whole ``output_text`` in the rollout's
``response_item`` message (reference §8; observed with 0.169.0). Each cited thread whose
stage-1 output exists gets ``usage_count + 1`` and ``last_usage`` = the message's time, once
per citing message, which is what makes the phase-2 ranking by usage real (SPEC §4).

Parsing follows Codex's ``memories/read/src/citations.rs``: blocks are literal and non-nested,
an unterminated block runs to the end of the text; entries are ``path:start-end|note=[...]``
split on the last ``|note=[`` and the last ``:``; ids come from ``<rollout_ids>`` or the
legacy ``<thread_ids>``, trimmed and de-duplicated in encounter order, and only ids that parse
as UUIDs count. It is more lenient than Codex where a model's formatting slips are harmless:
whitespace inside the tags, a section without its closing tag, list bullets, an entry without
a note or with a single line number, ids separated by spaces or commas.

The parsing half is pure and synchronous, so the indexer can call it from its worker thread;
the recording half runs in the state DB.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from memoryd.store.db import immediate
from memoryd.store.engine import Connection
from memoryd.store.usage import record_citations

# Every line that may hold a citation contains this; a cheap ``in`` test on raw rollout
# bytes (a whole block of lines, even) rules out everything else. JSON never escapes these
# characters, so the test is exact on serialized lines.
CITATION_MARKER = b"oai-mem-citation"

_BLOCK_OPEN = re.compile(r"<\s*oai-mem-citation\s*>")
_BLOCK_CLOSE = re.compile(r"<\s*/\s*oai-mem-citation\s*>")
_ENTRIES_NAMES = "citation_entries"
_IDS_NAMES = "rollout_ids|thread_ids"
_ANY_SECTION_OPEN = re.compile(rf"<\s*(?:{_ENTRIES_NAMES}|{_IDS_NAMES})\s*>")


def _tags(names: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return re.compile(rf"<\s*(?:{names})\s*>"), re.compile(rf"<\s*/\s*(?:{names})\s*>")


_ENTRIES = _tags(_ENTRIES_NAMES)
_IDS = _tags(_IDS_NAMES)
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_ID_SEPARATORS = re.compile(r"[\s,;]+")
_ID_PUNCTUATION = "`'\"[]()<>"
_NOTE_SEPARATOR = "|note=["

# The forms Rust's ``Uuid::parse_str`` (Codex's ThreadId) accepts; Python's uuid.UUID alone
# is laxer (hyphens anywhere).
_HEX = "[0-9a-fA-F]"
_UUID_FORMS = re.compile(
    rf"(?:urn:uuid:)?{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
    rf"|\{{{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\}}"
    rf"|{_HEX}{{32}}"
)


@dataclass(frozen=True, slots=True)
class CitationEntry:
    path: str  # relative to the memory root, as the model wrote it
    line_start: int
    line_end: int
    note: str


@dataclass(frozen=True, slots=True)
class Citation:
    entries: tuple[CitationEntry, ...]
    rollout_ids: tuple[str, ...]  # every id as written, trimmed, de-duplicated, in order
    thread_ids: tuple[str, ...]  # the ids that are UUIDs, canonical (lowercase) form, unique


@dataclass(frozen=True, slots=True)
class CitedMessage:
    """An assistant message of a rollout that cites memories."""

    message_key: str  # stable across re-scans: a digest of the rollout line
    at_s: int | None  # the line's timestamp, whole seconds; None when it has none
    citation: Citation


# --------------------------------------------------------------------------------------------
# Parsing (pure)


def thread_id_of(value: str) -> str | None:
    """The canonical thread id for ``value`` if it is a UUID in a form Codex accepts."""
    value = value.strip()
    if _UUID_FORMS.fullmatch(value) is None:
        return None
    return str(uuid.UUID(value))


def citation_blocks(text: str) -> list[str]:
    """The bodies of the ``<oai-mem-citation>`` blocks of ``text``, in order. A block without
    its closing tag runs to the end of the text."""
    return strip_citations(text)[1]


def strip_citations(text: str) -> tuple[str, list[str]]:
    """``text`` without its citation blocks (trailing whitespace trimmed, as Codex shows the
    answer), and the blocks' bodies."""
    visible: list[str] = []
    bodies: list[str] = []
    pos = 0
    while True:
        m = _BLOCK_OPEN.search(text, pos)
        if m is None:
            visible.append(text[pos:])
            break
        visible.append(text[pos : m.start()])
        close = _BLOCK_CLOSE.search(text, m.end())
        if close is None:
            bodies.append(text[m.end() :])
            break
        bodies.append(text[m.end() : close.start()])
        pos = close.end()
    return "".join(visible).rstrip(), bodies


def _sections(
    body: str, tags: tuple[re.Pattern[str], re.Pattern[str]]
) -> list[tuple[int, int, str]]:
    """Every section of one kind in a block body, as (start, end, content) with the tags
    included in the span. A section runs to its closing tag; one whose closing tag is missing
    runs to the next section's opening tag, else to the end."""
    open_tag, close_tag = tags
    out: list[tuple[int, int, str]] = []
    pos = 0
    while (m := open_tag.search(body, pos)) is not None:
        close = close_tag.search(body, m.end())
        if close is not None:
            out.append((m.start(), close.end(), body[m.end() : close.start()]))
            pos = close.end()
            continue
        following = _ANY_SECTION_OPEN.search(body, m.end())
        end = following.start() if following is not None else len(body)
        out.append((m.start(), end, body[m.end() : end]))
        pos = end
    return out


def _parse_line_number(s: str) -> int | None:
    s = s.strip()
    return int(s) if s.isascii() and s.isdigit() else None


def parse_entry(line: str) -> CitationEntry | None:
    """One ``path:start-end|note=[...]`` line, or None when it is not one."""
    line = _BULLET.sub("", line.strip()).strip()
    if not line:
        return None
    if _NOTE_SEPARATOR in line:
        location, note = line.rsplit(_NOTE_SEPARATOR, 1)
        if not note.endswith("]"):
            return None
        note = note[:-1].strip()
    else:
        location, note = line, ""
    if ":" not in location:
        return None
    path, span = location.rsplit(":", 1)
    path = path.strip()
    if not path:
        return None
    first, sep, last = span.partition("-")
    start = _parse_line_number(first)
    end = _parse_line_number(last) if sep else start
    if start is None or end is None or start > end:
        return None
    return CitationEntry(path=path, line_start=start, line_end=end, note=note)


def _ids_in(section: str) -> Iterable[str]:
    for line in section.splitlines():
        line = _BULLET.sub("", line.strip())
        for token in _ID_SEPARATORS.split(line):
            token = token.strip(_ID_PUNCTUATION)
            if token:
                yield token


def parse_citation_bodies(bodies: Iterable[str]) -> Citation | None:
    """Merge the entries and ids of citation block bodies; None when none has either."""
    entries: list[CitationEntry] = []
    ids: dict[str, None] = {}
    thread_ids: dict[str, None] = {}
    for body in bodies:
        rest: list[str] = []  # the body outside its entries, where the ids are looked for
        pos = 0
        for start, end, section in _sections(body, _ENTRIES):
            rest.append(body[pos:start])
            pos = end
            for line in section.splitlines():
                entry = parse_entry(line)
                if entry is not None:
                    entries.append(entry)
        rest.append(body[pos:])
        for _, _, section in _sections("\n".join(rest), _IDS):
            for token in _ids_in(section):
                ids.setdefault(token)
                tid = thread_id_of(token)
                if tid is not None:
                    thread_ids.setdefault(tid)
    if not entries and not ids:
        return None
    return Citation(entries=tuple(entries), rollout_ids=tuple(ids), thread_ids=tuple(thread_ids))


def parse_citations(text: str) -> Citation | None:
    """The citation at the end of an assistant message (all its blocks merged), or None."""
    if "oai-mem-citation" not in text:
        return None
    return parse_citation_bodies(citation_blocks(text))


class _Line(msgspec.Struct):
    type: Any = None
    timestamp: Any = None
    payload: Any = None


_decode_line = msgspec.json.Decoder(_Line).decode


def _timestamp_s(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return int(dt.timestamp())


def _assistant_text(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    if payload.get("type") != "message" or payload.get("role") != "assistant":
        return None
    content = payload.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts = [
        item["text"]
        for item in content
        if isinstance(item, dict)
        and item.get("type") in ("output_text", "text")
        and isinstance(item.get("text"), str)
    ]
    return "".join(parts)


def message_key(line: bytes) -> str:
    """A stable id for a rollout line: rollouts are append-only, so the same message is
    the same bytes on every scan, wherever the scan starts."""
    return hashlib.sha256(line.strip()).hexdigest()[:32]


def cited_message(line: bytes | str) -> CitedMessage | None:
    """The citation of one rollout line, if it is an assistant ``response_item`` message
    that ends with a citation block. Only these lines count: the same text also appears in
    ``event_msg`` lines (``agent_message``, ``task_complete``), which must not count again.
    Never raises on bad input."""
    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    if CITATION_MARKER not in raw:
        return None
    try:
        parsed = _decode_line(raw)
    except (msgspec.DecodeError, RecursionError):
        return None
    if parsed.type != "response_item":
        return None
    text = _assistant_text(parsed.payload)
    if not text:
        return None
    citation = parse_citations(text)
    if citation is None:
        return None
    return CitedMessage(
        message_key=message_key(raw), at_s=_timestamp_s(parsed.timestamp), citation=citation
    )


# --------------------------------------------------------------------------------------------
# Recording


async def record_usage_in_tx(
    conn: Connection,
    citing_thread_id: str,
    message_key: str,
    cited_thread_ids: Iterable[str],
    at_s: int,
) -> int:
    """:func:`record_usage` inside the caller's transaction (the indexer's ``immediate``
    block: ``immediate`` is not re-entrant, so calling :func:`record_usage` there would
    wait for itself)."""
    return await record_citations(
        conn, citing_thread_id, message_key, cited_ids(cited_thread_ids), at_s
    )


def cited_ids(values: Iterable[str]) -> list[str]:
    """The thread ids of cited values, each once, in order; values that are not UUIDs are
    ignored."""
    cited: dict[str, None] = {}
    for value in values:
        tid = thread_id_of(value)
        if tid is not None:
            cited.setdefault(tid)
    return list(cited)


async def record_usage(
    conn: Connection,
    citing_thread_id: str,
    message_key: str,
    cited_thread_ids: Iterable[str],
    at_s: int,
) -> int:
    """Count one citing message: every cited thread (ids that are not UUIDs are ignored)
    gets ``usage_count + 1`` and ``last_usage = max(last_usage, at_s)``. Idempotent by
    ``(citing_thread_id, message_key)``: a message seen again counts nothing. A cited thread
    without a stage-1 output yet is remembered and counted when its output is inserted.
    Returns the number of stage-1 outputs updated now."""
    async with immediate(conn) as c:
        return await record_usage_in_tx(c, citing_thread_id, message_key, cited_thread_ids, at_s)
