"""The stage-1 input: a rollout's memory-relevant response items, redacted, within budget.

Codex's phase-1 view of a rollout (reference §2.3): ``response_item`` payloads as stored,
minus developer messages, reasoning, AGENTS.md / ``<skill>`` user fragments and item types
that carry no memory, plus inter-agent messages converted to ``agent_message`` items; every
other line type is dropped. Payload ``id`` fields are left out (Codex never serializes them)
and so is the line-level ``metadata``.

Budget (reference §5.2): tokens are estimated as ``ceil(bytes / 4)``. Codex cuts the middle
out of an over-long rollout; by default memoryd instead splits the items into consecutive
chunks that each fit, so nothing is lost, and only cuts inside an item that alone exceeds the
budget.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import zstandard

from memoryd.errors import MemorydError
from memoryd.redact import redact
from memoryd.rollouts.limits import ZstLimits
from memoryd.surrogates import scrub_json

DEFAULT_MAX_TOKENS = 150_000  # Codex's DEFAULT_ROLLOUT_TOKEN_LIMIT
BYTES_PER_TOKEN = 4
# Below this a chunk cannot hold even a cut-down item; see _fallback_item.
MIN_CHUNKED_MAX_TOKENS = 64
READ_BYTES = 1 << 20
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024  # index.max_line_bytes

KEPT_ITEM_TYPES = frozenset(
    {
        "local_shell_call",
        "function_call",
        "tool_search_call",
        "function_call_output",
        "tool_search_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "web_search_call",
    }
)
DROPPED_LINE_TYPES = frozenset(
    {
        "session_meta",
        "compacted",
        "turn_context",
        "event_msg",
        "world_state",
        "token_usage_record",
        "ghost_snapshot",
    }
)

# Rust's char::is_whitespace (Unicode White_Space), which Codex's trim_start/trim_end use;
# Python's str.strip() also strips U+001C..U+001F.
_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_MARKER_ROOM = 48  # bytes: "…<k> tokens truncated…" plus slack for JSON escaping
_MAX_CUT_ROUNDS = 64


class RolloutUnusable(MemorydError):
    """A rollout that yields no stage-1 input; ``reason`` is stored for the thread."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class RenderedRollout:
    chunks: list[str]
    items: int
    first_line: int
    last_line: int
    sha256: str
    bytes_read: int
    lines_skipped: int
    truncated: bool


# --------------------------------------------------------------------------------------------
# truncation (Codex's truncate_middle_with_token_budget)


def truncate_middle(text: str, max_tokens: int) -> str:
    """``text`` if it fits ``max_tokens`` (4 bytes each), else its head and tail around a
    ``…<k> tokens truncated…`` marker, cut on character boundaries."""
    if not text:
        return text
    budget = max(max_tokens, 0) * BYTES_PER_TOKEN
    data = text.encode("utf-8", "surrogatepass")
    total = len(data)
    if budget and total <= budget:
        return text
    marker = f"…{-(-(total - budget) // BYTES_PER_TOKEN)} tokens truncated…"
    if budget == 0:
        return marker
    left = budget // 2
    prefix_end = left
    while prefix_end > 0 and data[prefix_end] & 0xC0 == 0x80:
        prefix_end -= 1
    suffix_start = total - (budget - left)
    while suffix_start < total and data[suffix_start] & 0xC0 == 0x80:
        suffix_start += 1
    head = data[:prefix_end].decode("utf-8", "surrogatepass")
    tail = data[suffix_start:].decode("utf-8", "surrogatepass")
    return head + marker + tail


# --------------------------------------------------------------------------------------------
# reading


def _plain_chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(READ_BYTES):
        yield chunk


def _zst_chunks(f: BinaryIO, limits: ZstLimits) -> Iterator[bytes]:
    """Decompressed bytes of every frame, within ``limits``. The streaming decoder stops
    quietly at the end of its input, so a file that ends inside a frame is detected here."""
    dobj = zstandard.ZstdDecompressor().decompressobj()
    in_frame = False
    produced = 0
    while buf := f.read(READ_BYTES):
        while buf:
            out = dobj.decompress(buf)
            in_frame = True
            if out:
                produced += len(out)
                if (too_much := limits.error(produced, f.tell())) is not None:
                    raise RolloutUnusable(too_much)
                yield out
            if dobj.eof:
                buf = dobj.unused_data
                dobj = zstandard.ZstdDecompressor().decompressobj()
                in_frame = False
            else:
                buf = b""
    if in_frame:
        raise RolloutUnusable(
            "cannot decompress zstd rollout: the file ends inside a zstd frame (truncated)"
        )


class _Lines:
    """The complete lines of a stream of chunks, each as bytes, or None for a line longer
    than ``limit``: its bytes are hashed and dropped as they arrive, never buffered whole.
    ``sha`` and ``size`` cover every line yielded; afterwards ``tail`` holds the bytes after
    the last newline (``tail_size`` of them, None when there were more than ``limit``)."""

    def __init__(self, chunks: Iterator[bytes], limit: int) -> None:
        self.chunks = chunks
        self.limit = limit
        self.sha = hashlib.sha256()
        self.size = 0
        self.tail: bytes | None = b""
        self.tail_size = 0

    def __iter__(self) -> Iterator[bytes | None]:
        buf = bytearray()
        skipping = 0  # > 0: inside an oversized line, this many bytes of it so far
        for chunk in self.chunks:
            if skipping:
                nl = chunk.find(b"\n")
                if nl < 0:
                    self.sha.update(chunk)
                    skipping += len(chunk)
                    continue
                self.sha.update(chunk[: nl + 1])
                self.size += skipping + nl + 1
                skipping = 0
                yield None
                chunk = chunk[nl + 1 :]
            scan = len(buf)
            buf += chunk
            start = 0
            while (nl := buf.find(b"\n", scan)) >= 0:
                line = bytes(buf[start : nl + 1])
                self.sha.update(line)
                self.size += len(line)
                yield line if len(line) <= self.limit else None
                start = scan = nl + 1
            del buf[:start]
            if len(buf) > self.limit:
                self.sha.update(buf)
                skipping = len(buf)
                buf.clear()
        self.tail, self.tail_size = (None, skipping) if skipping else (bytes(buf), len(buf))


# --------------------------------------------------------------------------------------------
# the item filter (reference §2.3)


def _marked(text: str, start: str, end: str) -> bool:
    """Codex's matches_marked_fragment: ASCII-case-insensitive markers at both ends."""
    trimmed = text.lstrip(_WHITESPACE)
    head = trimmed[: len(start)]
    if not (head.isascii() and head.lower() == start.lower()):
        return False
    tail = trimmed.rstrip(_WHITESPACE)[-len(end) :]
    return tail.isascii() and tail.lower() == end.lower()


# User-message parts that are context Codex injected, not the user's words: AGENTS.md (Codex
# <= 0.40 wrapped it as <user_instructions>, later ones as "# AGENTS.md instructions for ...
# </INSTRUCTIONS>") and skills.
_EXCLUDED_FRAGMENTS = (
    ("# AGENTS.md instructions", "</INSTRUCTIONS>"),
    ("<user_instructions>", "</user_instructions>"),
    ("<skill>", "</skill>"),
)


def _excluded_part(part: Any) -> bool:
    if not isinstance(part, dict) or part.get("type") != "input_text":
        return False
    text = part.get("text")
    if not isinstance(text, str):
        return False
    return any(_marked(text, start, end) for start, end in _EXCLUDED_FRAGMENTS)


def _response_item(payload: dict[str, Any]) -> dict[str, Any] | None:
    kind = payload.get("type")
    if kind == "message":
        role = payload.get("role")
        if role == "developer" or not isinstance(role, str):
            return None
        if role == "user":
            content = payload.get("content")
            if not isinstance(content, list):
                return None
            parts = [p for p in content if not _excluded_part(p)]
            if not parts:
                return None
            if len(parts) != len(content):
                payload = {k: (parts if k == "content" else v) for k, v in payload.items()}
    elif not isinstance(kind, str) or kind not in KEPT_ITEM_TYPES:
        return None
    return {k: v for k, v in payload.items() if k != "id"}


def _agent_message(payload: dict[str, Any]) -> dict[str, Any] | None:
    author, recipient = payload.get("author"), payload.get("recipient")
    if not isinstance(author, str) or not isinstance(recipient, str):
        return None
    encrypted, content = payload.get("encrypted_content"), payload.get("content")
    if isinstance(encrypted, str):
        part = {"type": "encrypted_content", "encrypted_content": encrypted}
    elif isinstance(content, str):
        part = {"type": "input_text", "text": content}
    else:
        return None
    return {"type": "agent_message", "author": author, "recipient": recipient, "content": [part]}


class _BadLine(Exception):
    """A line that is not a usable rollout line (counted in ``lines_skipped``)."""


def _item_from_line(line: bytes) -> dict[str, Any] | None:
    """The kept item a line yields, or None for a valid line that yields none."""
    if not line.isascii():
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _BadLine from e
    try:
        obj = msgspec.json.decode(line)
    except msgspec.DecodeError:
        try:  # Python's decoder also takes lone UTF-16 surrogate escapes, as tool output has
            obj = scrub_json(json.loads(line))
        except ValueError as e:
            raise _BadLine from e
    if not isinstance(obj, dict):
        raise _BadLine
    kind, payload = obj.get("type"), obj.get("payload")
    if not isinstance(kind, str):
        raise _BadLine
    if kind in DROPPED_LINE_TYPES:
        return None
    if not isinstance(payload, dict):
        raise _BadLine
    if kind == "response_item":
        return _response_item(payload)
    if kind == "inter_agent_communication":
        item = _agent_message(payload)
        if item is None:
            raise _BadLine
        return item
    raise _BadLine  # an unknown line type


def _redact_strings(value: Any) -> Any:
    """Every string value redacted on its own, so a multi-line secret in tool output is
    seen as text, not as JSON escapes."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_strings(v) for k, v in value.items()}
    return value


@dataclass(slots=True)
class _Item:
    kind: str
    text: str  # compact JSON
    size: int  # UTF-8 bytes of text


def _encode(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _prepare(value: dict[str, Any]) -> _Item:
    kind = value.get("type")
    text = _encode(_redact_strings(value))
    again = redact(text)
    if again != text:
        # A pattern matched across JSON escapes. The patterns keep JSON valid; this check
        # makes sure no future pattern can hand a backend a broken array.
        try:
            msgspec.json.decode(again)
            text = again
        except msgspec.DecodeError:
            pass
    return _Item(kind if isinstance(kind, str) else "unknown", text, len(text.encode()))


# --------------------------------------------------------------------------------------------
# fitting the budget


def _largest_string(value: Any) -> tuple[Any, Any, str, int] | None:
    """(container, key, string, encoded length) of the string with the longest JSON form."""
    best: tuple[Any, Any, str, int] | None = None
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, v in pairs:
            if isinstance(v, str):
                n = len(msgspec.json.encode(v))
                if best is None or n > best[3]:
                    best = (node, key, v, n)
            elif isinstance(v, dict | list):
                stack.append(v)
    return best


def _fallback_item(item: _Item, limit: int) -> str:
    """An item that cannot be cut to fit by its strings (thousands of small fields): its type
    and its JSON text as one middle-truncated string."""
    shell: dict[str, Any] = {"type": item.kind}
    tokens = limit // BYTES_PER_TOKEN
    while True:
        shell["truncated_item"] = truncate_middle(item.text, tokens)
        text = _encode(shell)
        size = len(text.encode())
        if size <= limit or tokens == 0:
            return text
        tokens = max(0, min(tokens - 1, tokens * limit // size - _MARKER_ROOM // BYTES_PER_TOKEN))


def _cut_item(item: _Item, limit: int) -> str:
    """The item's JSON in at most ``limit`` bytes: its largest strings middle-truncated in
    turn, so the result is still the same JSON object."""
    value: dict[str, Any] = msgspec.json.decode(item.text)  # a copy to cut
    for _ in range(_MAX_CUT_ROUNDS):
        text = _encode(value)
        size = len(text.encode())
        if size <= limit:
            return text
        leaf = _largest_string(value)
        if leaf is None or leaf[3] <= _MARKER_ROOM * 2:
            break
        container, key, s, enc_len = leaf
        raw_len = len(s.encode())
        # JSON escaping makes the encoded string longer than its UTF-8 bytes; scale by it.
        target = enc_len - (size - limit) - _MARKER_ROOM
        raw_target = int(max(target, 0) * raw_len / max(enc_len - 2, 1))
        container[key] = truncate_middle(s, raw_target // BYTES_PER_TOKEN)
    return _fallback_item(item, limit)


def _chunk(items: list[_Item], budget: int) -> tuple[list[str], bool]:
    chunks: list[str] = []
    current: list[str] = []
    used = 2  # the brackets
    truncated = False
    for item in items:
        text, size = item.text, item.size
        if size + 2 > budget:
            text = _cut_item(item, budget - 2)
            size = len(text.encode())
            truncated = True
        extra = size + (1 if current else 0)  # the comma
        if current and used + extra > budget:
            chunks.append("[" + ",".join(current) + "]")
            current, used, extra = [], 2, size
        current.append(text)
        used += extra
    if current:
        chunks.append("[" + ",".join(current) + "]")
    return chunks, truncated


# --------------------------------------------------------------------------------------------


def render_rollout(
    path: str | Path,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    chunked: bool = True,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    zst_limits: ZstLimits | None = None,
) -> RenderedRollout:
    """Read a rollout (``.jsonl`` or ``.jsonl.zst``) and build its stage-1 input.

    A plain file's last line without a newline is being written and is ignored; a zstd
    stream is complete, so its last line counts. ``sha256`` and ``bytes_read`` cover the
    (decompressed) bytes of the lines read. A line longer than ``max_line_bytes`` (or nested
    too deeply to decode) is skipped without being held in memory; a zstd stream expanding
    past ``zst_limits`` is refused. Raises RolloutUnusable with a readable reason.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, not {max_tokens}")
    if chunked and max_tokens < MIN_CHUNKED_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_CHUNKED_MAX_TOKENS} when chunked")
    path = Path(path)
    zst = path.name.endswith(".zst")
    line_no = skipped = 0
    seen_content = False
    items: list[_Item] = []

    def take(line: bytes | None) -> None:
        nonlocal line_no, skipped, seen_content
        line_no += 1
        stripped = line.strip() if line is not None else None
        if stripped == b"":
            return
        seen_content = True
        try:
            if stripped is None:  # longer than max_line_bytes
                raise _BadLine
            item = _item_from_line(stripped)
            if item is not None:
                items.append(_prepare(item))
        except (_BadLine, RecursionError):  # RecursionError: nested too deeply
            skipped += 1

    try:
        with path.open("rb") as f:
            source = _zst_chunks(f, zst_limits or ZstLimits()) if zst else _plain_chunks(f)
            lines = _Lines(source, max_line_bytes)
            for line in lines:
                take(line)
            if lines.tail_size and zst:  # a complete stream: its last line counts
                if lines.tail is not None:
                    lines.sha.update(lines.tail)
                lines.size += lines.tail_size
                take(lines.tail)
            elif lines.tail is None or lines.tail.strip():
                seen_content = True  # a line being written
    except OSError as e:
        raise RolloutUnusable(f"cannot read: {e.strerror or e}") from e
    except zstandard.ZstdError as e:
        raise RolloutUnusable(f"cannot decompress zstd rollout: {e}") from e
    if not seen_content:
        raise RolloutUnusable("empty session file")
    if not items:
        raise RolloutUnusable("no memory-relevant items")

    budget = max_tokens * BYTES_PER_TOKEN
    if chunked:
        chunks, truncated = _chunk(items, budget)
    else:
        whole = "[" + ",".join(i.text for i in items) + "]"
        truncated = sum(i.size for i in items) + len(items) + 1 > budget
        chunks = [truncate_middle(whole, max_tokens) if truncated else whole]
    return RenderedRollout(
        chunks=chunks,
        items=len(items),
        first_line=1,
        last_line=line_no,
        sha256=lines.sha.hexdigest(),
        bytes_read=lines.size,
        lines_skipped=skipped,
        truncated=truncated,
    )
