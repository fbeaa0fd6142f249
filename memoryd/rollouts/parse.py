"""Incremental, tolerant parsing of Codex rollout JSONL into thread metadata.

A rollout is parsed line by line, and a parse can stop after any complete line and resume
later from the byte after it: everything the indexer needs to carry across scans lives in
:class:`ThreadMeta`. Lines are never fatal. Blank lines, lines that are not JSON objects,
invalid UTF-8, oversized lines and unknown line types are counted and skipped.

Speed matters here (a cold index of 10,000 rollouts must stay near a plain read of their
bytes), so only the lines that carry metadata are fully decoded: ``session_meta`` lines and,
until a preview is found, user-message events. Every other line is classified from its
envelope prefix, which Codex always writes as ``{"timestamp":…,"ordinal":…,"type":"…",
"payload":…``; a line in any other shape takes the slow path and is decoded in full.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from memoryd.redact import redact
from memoryd.rollouts.citations import CITATION_MARKER, CitedMessage, cited_message

KNOWN_LINE_TYPES = frozenset(
    {
        "session_meta",
        "response_item",
        "event_msg",
        "turn_context",
        "compacted",
        "inter_agent_communication",
        "world_state",
        "token_usage_record",
    }
)

USER_MESSAGE_BEGIN = "## My request for Codex:"
MEMORY_MODES = frozenset({"enabled", "disabled"})  # what a rollout may say; 'polluted' is ours
PREVIEW_MAX_CHARS = 4000
# An image-only first message (Codex 0.40 `exec -i IMAGE` sends the image as its own first
# turn): kept only until a user message with text comes, which becomes the preview instead.
IMAGE_PREVIEW = "[Image]"

# Codex's compact envelope; group 1 is the line type, match.end() is where the payload begins.
_FAST_ENVELOPE = re.compile(
    rb'\{"timestamp":"[^"\\]{0,64}",(?:"ordinal":\d{1,20},)?"type":"([a-z_]{1,64})","payload":'
)
_USER_ITEM_TAG = b'"item":{"type":"UserMessage"'
# Bytes every user-message event contains whatever its key order or spacing: a payload
# without them cannot be one, one with them is decoded to find out.
_USER_EVENT_HINTS = (b'"user_message"', b'"UserMessage"')


def _may_be_user_event(raw: bytes) -> bool:
    return any(h in raw for h in _USER_EVENT_HINTS)


_UUID_IN_NAME = re.compile(
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
_NAME_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})")


class ThreadMeta(msgspec.Struct, kw_only=True):
    """What the indexer knows about one rollout file; carried across incremental scans."""

    id: str | None = None
    has_session_meta: bool = False
    source: str = "vscode"  # Codex's enum default when a rollout has no session_meta
    thread_source: str | None = None
    cwd: str = ""
    git_branch: str | None = None
    git_sha: str | None = None
    git_origin_url: str | None = None
    cli_version: str = ""
    model_provider: str | None = None
    created_at: int | None = None  # ms
    preview: str = ""
    memory_mode_at_start: str | None = None
    memory_mode: str = "enabled"
    lines_parsed: int = 0
    lines_skipped: int = 0
    last_skip_reason: str | None = None


# --- decoding types: every field is Any so a wrongly typed field never loses the whole line.


class _SessionMeta(msgspec.Struct):
    id: Any = None
    timestamp: Any = None
    cwd: Any = None
    cli_version: Any = None
    source: Any = None
    thread_source: Any = None
    model_provider: Any = None
    memory_mode: Any = None
    git: Any = None  # {commit_hash?, branch?, repository_url?}


class _SessionMetaLine(msgspec.Struct):
    type: str
    payload: _SessionMeta


class _AnyLine(msgspec.Struct):
    type: Any = None
    payload: Any = None


class _RawLine(msgspec.Struct):
    type: str
    payload: msgspec.Raw


_decode_meta_line = msgspec.json.Decoder(_SessionMetaLine).decode
_decode_meta_payload = msgspec.json.Decoder(_SessionMeta).decode
_decode_block = msgspec.json.Decoder(list[tuple[_RawLine]]).decode
_decode_any_line = msgspec.json.Decoder(_AnyLine).decode


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) and v != "" else None


def _thread_id(v: Any) -> str | None:
    """A session_meta id as Codex's ThreadId reads it, a UUID (canonical form), else None."""
    if not isinstance(v, str) or not v:
        return None
    try:
        return str(uuid.UUID(v))
    except ValueError:
        return None


def _memory_mode(v: Any) -> str | None:
    return v if v in MEMORY_MODES else None


def parse_timestamp_ms(value: Any) -> int | None:
    """RFC 3339 (``2026-11-22T03:12:03.460Z``) to epoch ms; None when unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return int(dt.timestamp() * 1000)


def id_from_file_name(name: str) -> str | None:
    """Thread UUID from ``rollout-<time>-<uuid>.jsonl[.zst]``, or None."""
    stem = name
    for suffix in (".zst", ".jsonl"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    m = _UUID_IN_NAME.search(stem)
    if not m:
        return None
    try:
        return str(uuid.UUID(m.group(1)))
    except ValueError:
        return None


def created_ms_from_file_name(name: str) -> int | None:
    """The ``YYYY-MM-DDThh-mm-ss`` in the file name, read as UTC (as Codex reads it back)."""
    stem = name[len("rollout-") :] if name.startswith("rollout-") else name
    m = _NAME_TIME.match(stem)
    if not m:
        return None
    try:
        y, mo, d, h, mi, sec = (int(g) for g in m.groups())
        dt = datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
    except ValueError:
        return None
    return int(dt.timestamp() * 1000)


def _source_text(v: Any) -> str | None:
    """``threads.source`` as Codex stores it: a bare string, or compact JSON for data variants."""
    if isinstance(v, str):
        return v or None
    if isinstance(v, dict | list):
        return msgspec.json.encode(v).decode()
    return None


def _preview(text: str) -> str:
    """The stored preview: redacted (it lands in the state DB, and a first message often
    pastes a key) before it is cut, so a cut cannot leave a secret's prefix unmatched."""
    return redact(text)[:PREVIEW_MAX_CHARS]


def _remote(value: Any) -> str | None:
    """The git remote URL as stored: a password in it (https://user:pw@host) redacted."""
    url = _str_or_none(value)
    return None if url is None else redact(url)


def _user_text_from_event(payload: Any) -> str | None:
    """The user's text if ``payload`` is a user-message event (old or 0.169 style), else None.

    Returns "" for a user message with no usable text (and no image)."""
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type")
    if kind == "user_message":
        msg = payload.get("message")
        text = msg if isinstance(msg, str) else ""
        idx = text.find(USER_MESSAGE_BEGIN)
        if idx >= 0:
            text = text[idx + len(USER_MESSAGE_BEGIN) :]
        text = text.strip()
        if not text and (payload.get("images") or payload.get("local_images")):
            return IMAGE_PREVIEW
        return text
    if kind == "item_completed":
        item = payload.get("item")
        if not isinstance(item, dict) or item.get("type") != "UserMessage":
            return None
        parts: list[str] = []
        has_image = False
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif "image" in str(part.get("type", "")).lower():
                has_image = True
        text = "\n".join(parts).strip()
        if not text and has_image:
            return IMAGE_PREVIEW
        return text
    return None


def _without_base_instructions(line: bytes) -> bytes:
    """The line with ``base_instructions.text`` emptied. That string is ~20 KB of Codex's
    system prompt in every first line; the indexer never reads it, and decoding a line
    without it is ten times faster. The closing quote is the first one not escaped."""
    tag = b'"base_instructions":{"text":"'
    start = line.find(tag)
    if start < 0:
        return line
    start += len(tag)
    end = start
    while True:
        end = line.find(b'"', end)
        if end < 0:
            return line
        k = end - 1
        while line[k] == 0x5C:  # backslash
            k -= 1
        if (end - 1 - k) % 2 == 0:
            return line[:start] + line[end:]
        end += 1


NESTED_TOO_DEEPLY = "JSON nested too deeply (past Python's recursion limit)"


def _too_deep(line: bytes) -> bool:
    """Whether decoding ``line`` runs past the recursion limit. The line-by-line path only
    looks at the envelope of most lines, so such a line must be found before it."""
    try:
        _decode_any_line(line)
    except RecursionError:
        return True
    except msgspec.DecodeError:
        pass
    return False


class LineParser:
    """Feeds complete lines into a :class:`ThreadMeta`."""

    __slots__ = ("cited", "max_line_bytes", "meta")

    def __init__(self, meta: ThreadMeta, max_line_bytes: int) -> None:
        self.meta = meta
        self.max_line_bytes = max_line_bytes
        # Assistant messages that end with a memory citation block, in the lines fed since
        # this parser was made (the indexer counts them once each: SPEC §4 usage feedback).
        self.cited: list[CitedMessage] = []

    def _collect_citations(self, line: bytes) -> None:
        if CITATION_MARKER in line:
            found = cited_message(line)
            if found is not None:
                self.cited.append(found)

    def wants_preview(self) -> bool:
        """No preview yet, or only an image's: a later user message with text replaces it."""
        return not self.meta.preview or self.meta.preview == IMAGE_PREVIEW

    def _offer_preview(self, payload: Any) -> None:
        text = _user_text_from_event(payload)
        if text and (text != IMAGE_PREVIEW or not self.meta.preview):
            self.meta.preview = _preview(text)

    def skip(self, reason: str | None) -> None:
        self.meta.lines_skipped += 1
        if reason is not None:
            self.meta.last_skip_reason = reason

    def feed_block(self, block: bytes, first_line_no: int) -> int:
        """Parse every line of ``block`` (which ends with a newline). Returns lines consumed."""
        try:
            fast = self._fast_block(block, first_line_no)
        except RecursionError:  # some line is nested too deeply: find it, line by line
            fast, deep = None, True
        else:
            deep = False
        if fast is not None:
            return fast
        n = 0
        start = 0
        end = len(block)
        while start < end:
            nl = block.find(b"\n", start)
            if nl < 0:  # callers only pass complete lines; be safe anyway
                nl = end
            line = block[start:nl]
            if deep and _too_deep(line):
                self.skip(f"line {first_line_no + n}: {NESTED_TOO_DEEPLY}")
            else:
                self.feed_line(line, first_line_no + n)
            n += 1
            start = nl + 1
        return n

    def _fast_block(self, block: bytes, first_line_no: int) -> int | None:
        """Handle a block whose lines are all well-formed JSON envelopes of known types in
        valid UTF-8, without a Python-level step per line: the whole block is decoded as one
        JSON array in C (which validates every line), and only the payloads that carry
        metadata are decoded further. Returns the number of lines, or None, having changed
        nothing, when some line is not right and the line-by-line path must find it."""
        # Blank lines need no check of their own: they make the array invalid JSON.
        if len(block) > self.max_line_bytes or block[-1] != 0x0A:
            return None
        if not block.isascii():
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                return None
        # Each line becomes a one-element array, so a line holding `{...},{...}` fails the
        # decode (tuple of length 1) instead of shifting every later line.
        try:
            lines = _decode_block(b"[[" + block[:-1].replace(b"\n", b"],[") + b"]]")
        except msgspec.DecodeError:  # the line-by-line path names the line
            return None
        envelopes = [line[0] for line in lines]
        if not KNOWN_LINE_TYPES.issuperset({e.type for e in envelopes}):
            return None
        bad = 0
        for i, env in enumerate(envelopes):
            if env.type == "session_meta":
                if not self._session_meta_payload(env.payload, first_line_no + i):
                    bad += 1
            elif env.type == "event_msg" and self.wants_preview():
                raw = bytes(env.payload)
                # Codex's own layout first (cheap prefix checks); any other key order or
                # spacing falls back to decoding the payload.
                if (
                    raw.startswith(b'{"type":"user_message"')
                    or (raw.startswith(b'{"type":"item_completed"') and _USER_ITEM_TAG in raw)
                    or _may_be_user_event(raw)
                ):
                    self._offer_preview(msgspec.json.decode(raw))
            elif env.type == "turn_context" and not self.meta.cwd:
                self._turn_context_cwd(msgspec.json.decode(bytes(env.payload)))
        if CITATION_MARKER in block:  # rare: only sessions that answered from memory
            for line in block.split(b"\n"):
                self._collect_citations(line)
        self.meta.lines_parsed += len(envelopes) - bad
        return len(envelopes)

    def feed_oversized(self, line_no: int, size: int) -> None:
        self.skip(f"line {line_no}: {size} bytes, longer than the {self.max_line_bytes}-byte limit")

    def feed_line(self, line: bytes, line_no: int) -> None:
        meta = self.meta
        line = line.strip()
        if not line:
            self.skip(None)  # blank lines are normal enough not to be "the" reason
            return
        if len(line) > self.max_line_bytes:
            self.feed_oversized(line_no, len(line))
            return
        self._collect_citations(line)
        if line[0] != 0x7B or line[-1] != 0x7D:  # "{" ... "}"
            self.skip(f"line {line_no}: not a JSON object")
            return
        m = _FAST_ENVELOPE.match(line)
        if m is None:
            self._slow_line(line, line_no)
            return
        kind = m.group(1).decode()
        if kind not in KNOWN_LINE_TYPES:
            self.skip(f"line {line_no}: unknown line type {kind!r}")
            return
        if kind == "session_meta":
            if self._session_meta_line(line, line_no):
                meta.lines_parsed += 1
            return
        if kind == "turn_context" and not meta.cwd:
            self._slow_line(line, line_no)
            return
        if kind == "event_msg" and self.wants_preview() and _may_be_user_event(line):
            self._slow_line(line, line_no)
            return
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                self.skip(f"line {line_no}: invalid UTF-8 at byte {e.start}")
                return
        meta.lines_parsed += 1

    def _session_meta_payload(self, payload: msgspec.Raw, line_no: int) -> bool:
        """Apply an already validated session_meta payload."""
        raw = bytes(payload)
        try:
            sm = _decode_meta_payload(_without_base_instructions(raw))
        except msgspec.DecodeError:
            try:
                sm = _decode_meta_payload(raw)
            except (msgspec.DecodeError, RecursionError) as e:
                self.skip(f"line {line_no}: bad session_meta: {e}")
                return False
        self._apply_session_meta(sm)
        return True

    def _session_meta_line(self, line: bytes, line_no: int) -> bool:
        """Apply one session_meta line; on a bad line count a skip. Does not count a parse."""
        if not self._is_utf8(line, line_no):
            return False
        try:
            parsed = _decode_meta_line(_without_base_instructions(line))
        except (msgspec.DecodeError, RecursionError):
            try:  # the shortcut may have cut a malformed line badly: judge the real line
                parsed = _decode_meta_line(line)
            except msgspec.DecodeError as e:
                self.skip(f"line {line_no}: bad session_meta: {e}")
                return False
            except RecursionError:
                self.skip(f"line {line_no}: {NESTED_TOO_DEEPLY}")
                return False
        self._apply_session_meta(parsed.payload)
        return True

    def _is_utf8(self, line: bytes, line_no: int) -> bool:
        """Check before decoding JSON, so the reason names the byte's offset in the line."""
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                self.skip(f"line {line_no}: invalid UTF-8 at byte {e.start}")
                return False
        return True

    def _slow_line(self, line: bytes, line_no: int) -> None:
        if not self._is_utf8(line, line_no):
            return
        try:
            parsed = _decode_any_line(line)
        except msgspec.DecodeError as e:
            self.skip(f"line {line_no}: not valid JSON: {e}")
            return
        except RecursionError:  # msgspec stops at Python's recursion limit, cleanly
            self.skip(f"line {line_no}: {NESTED_TOO_DEEPLY}")
            return
        kind = parsed.type
        if not isinstance(kind, str):
            self.skip(f"line {line_no}: no line type")
            return
        if kind not in KNOWN_LINE_TYPES:
            self.skip(f"line {line_no}: unknown line type {kind!r}")
            return
        if kind == "session_meta":
            try:
                sm = msgspec.convert(parsed.payload, _SessionMeta)
            except msgspec.ValidationError as e:
                self.skip(f"line {line_no}: bad session_meta: {e}")
                return
            self._apply_session_meta(sm)
        elif kind == "event_msg" and self.wants_preview():
            self._offer_preview(parsed.payload)
        elif kind == "turn_context" and not self.meta.cwd:
            self._turn_context_cwd(parsed.payload)
        self.meta.lines_parsed += 1

    def _turn_context_cwd(self, payload: Any) -> None:
        """Codex's cwd fallback for a rollout whose session_meta gave none."""
        if isinstance(payload, dict):
            self.meta.cwd = _str_or_none(payload.get("cwd")) or ""

    def _apply_session_meta(self, sm: _SessionMeta) -> None:
        meta = self.meta
        sm_id = _thread_id(sm.id)
        if not meta.has_session_meta:
            meta.has_session_meta = True
            if sm_id:
                meta.id = sm_id
            meta.created_at = parse_timestamp_ms(sm.timestamp) or meta.created_at
            meta.source = _source_text(sm.source) or meta.source
            meta.thread_source = _str_or_none(sm.thread_source)
            meta.cwd = _str_or_none(sm.cwd) or meta.cwd
            meta.cli_version = _str_or_none(sm.cli_version) or ""
            meta.model_provider = _str_or_none(sm.model_provider)
            meta.memory_mode_at_start = _memory_mode(sm.memory_mode)
            if isinstance(sm.git, dict):
                meta.git_sha = _str_or_none(sm.git.get("commit_hash"))
                meta.git_branch = _str_or_none(sm.git.get("branch"))
                meta.git_origin_url = _remote(sm.git.get("repository_url"))
            return
        # A later session_meta: either an appended memory-mode change for this thread, or a
        # fork's embedded parent meta (another id), which Codex ignores for metadata.
        if sm_id != meta.id and (sm_id is not None or _str_or_none(sm.id) is not None):
            return  # another thread's, or an id no thread has
        mode = _memory_mode(sm.memory_mode)
        if mode is not None:
            meta.memory_mode = mode
        if isinstance(sm.git, dict):  # git fields: first non-null wins, as in Codex's upsert
            meta.git_sha = meta.git_sha or _str_or_none(sm.git.get("commit_hash"))
            meta.git_branch = meta.git_branch or _str_or_none(sm.git.get("branch"))
            meta.git_origin_url = meta.git_origin_url or _remote(sm.git.get("repository_url"))
