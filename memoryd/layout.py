"""Names of the files and folders of the memory root, in one place: every layer that reads or
writes the root (workspace, artifacts, agents, maintenance, prompts) takes them from here, so
none of them imports another layer for a file name. The names are Codex's (reference §6),
including the stem of a rollout summary's file name, which Codex derives from the thread id."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

MEMORY_FILE = "MEMORY.md"
SUMMARY_FILE = "memory_summary.md"
RAW_MEMORIES_FILE = "raw_memories.md"
ROLLOUT_SUMMARIES_DIR = "rollout_summaries"
SKILLS_DIR = "skills"
EXTENSIONS_DIR = "extensions"
# The workspace diff phase 2 writes into the root for the agent to read (removed afterwards).
DIFF_FILE = "phase2_workspace_diff.md"
# Codex's legacy user-memory folder, ``<codex_home>/memories/user/memory``, as path parts.
LEGACY_PARTS = ("memories", "user", "memory")

ROLLOUT_SLUG_MAX_LEN = 60
_SHORT_HASH_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SHORT_HASH_SPACE = 62**4  # 14,776,336
_STEM_TIME_FORMAT = "%Y-%m-%dT%H-%M-%S"

# The forms Rust's ``Uuid::parse_str`` accepts (Python's ``uuid.UUID`` is laxer: it takes
# hyphens anywhere).
_HEX = "[0-9a-fA-F]"
_UUID_FORMS = re.compile(
    rf"(?:urn:uuid:)?{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
    rf"|\{{{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\}}"
    rf"|{_HEX}{{32}}"
)
# 100-ns ticks between the Gregorian epoch (1582-10-15) and the Unix epoch.
_GREGORIAN_TO_UNIX_TICKS = 0x01B21DD213814000


def _parse_uuid(value: str) -> uuid.UUID | None:
    if _UUID_FORMS.fullmatch(value) is None:
        return None
    return uuid.UUID(value)


def _uuid_unix_seconds(u: uuid.UUID) -> int | None:
    """The time embedded in a v1, v6 or v7 UUID, in whole Unix seconds (uuid crate rules:
    the version nibble decides, the variant is not checked)."""
    n = u.int
    version = (n >> 76) & 0xF
    if version == 7:
        return (n >> 80) // 1000
    if version == 1:
        time_low = (n >> 96) & 0xFFFFFFFF
        time_mid = (n >> 80) & 0xFFFF
        time_hi = (n >> 64) & 0x0FFF
        ticks = (time_hi << 48) | (time_mid << 32) | time_low
    elif version == 6:
        time_high = (n >> 96) & 0xFFFFFFFF
        time_mid = (n >> 80) & 0xFFFF
        time_low = (n >> 64) & 0x0FFF
        ticks = (time_high << 28) | (time_mid << 12) | time_low
    else:
        return None
    # The uuid crate saturates times before 1970 to the epoch.
    return max(0, ticks - _GREGORIAN_TO_UNIX_TICKS) // 10_000_000


def _format_stem_time(seconds: int) -> str | None:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime(_STEM_TIME_FORMAT)
    except (OverflowError, OSError, ValueError):
        return None  # beyond year 9999: Python's datetime cannot render it


def _short_hash(seed: int) -> str:
    value = seed % _SHORT_HASH_SPACE
    chars = []
    for _ in range(4):
        chars.append(_SHORT_HASH_ALPHABET[value % 62])
        value //= 62
    return "".join(reversed(chars))


def sanitize_slug(raw_slug: str) -> str:
    """Codex's slug rule: lowercase ASCII alphanumerics, everything else ``_``, at most 60
    characters, trailing ``_`` stripped."""
    out: list[str] = []
    for ch in raw_slug:
        if len(out) >= ROLLOUT_SLUG_MAX_LEN:
            break
        out.append(ch.lower() if ch.isascii() and ch.isalnum() else "_")
    return "".join(out).rstrip("_")


def rollout_summary_stem(thread_id: str, source_updated_at: int, slug: str | None) -> str:
    """The file stem of a thread's rollout summary, exactly as Codex names it:
    ``<UTC time>-<4 base-62 chars>[-<slug>]``. The time is the one embedded in a v1/v6/v7
    UUID thread id, else ``source_updated_at``; the hash is the UUID's low 32 bits, or a
    31-multiplier wrapping hash of a non-UUID id."""
    fallback = _format_stem_time(source_updated_at) or _format_stem_time(0) or ""
    parsed = _parse_uuid(thread_id)
    if parsed is not None:
        seconds = _uuid_unix_seconds(parsed)
        stamp = _format_stem_time(seconds) if seconds is not None else None
        timestamp = stamp or fallback
        seed = parsed.int & 0xFFFFFFFF
    else:
        timestamp = fallback
        seed = 0
        for byte in thread_id.encode("utf-8"):
            seed = (seed * 31 + byte) & 0xFFFFFFFF
    prefix = f"{timestamp}-{_short_hash(seed)}"
    if slug is None:
        return prefix
    clean = sanitize_slug(slug)
    return f"{prefix}-{clean}" if clean else prefix
