"""Text helpers shared across memoryd (the offline extractor and consolidator, error
messages): one-line clipping and excerpts, Markdown quoting, order-keeping de-duplication,
hashing. Pure and deterministic."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

QUOTE_CHARS = 300
_EXCERPT_CHARS = 80


def one_line(text: str) -> str:
    return " ".join(text.split())


def error_line(e: BaseException) -> str:
    """An exception as one line for a log or a message: its text, or its type when empty."""
    return one_line(str(e)) or type(e).__name__


def excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    """A short, one-line, quoted rendering of ``text`` for error messages."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return json.dumps(flat, ensure_ascii=False)


def clip(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def md_code(text: str) -> str:
    """Inline Markdown code that survives backticks in the text."""
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``"


def quoted(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` clipped and in double quotes (inner double quotes become single ones)."""
    return '"' + clip(text, limit).replace('"', "'") + '"'


def dedupe(values: Iterable[str]) -> list[str]:
    """The non-empty values, first occurrence kept, in order."""
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


def dedupe_ci(values: Iterable[str]) -> list[str]:
    """Like ``dedupe``, ignoring case."""
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        k = v.lower()
        if v and k not in seen:
            seen.add(k)
            out.append(v)
    return out


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def norm_words(text: str) -> str:
    """Lower-case alphanumeric words joined by single spaces: a key that ignores case and
    punctuation."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def split_lines(text: str) -> list[str]:
    """The lines of ``text``; a final newline does not make an empty last line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
