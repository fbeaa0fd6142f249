"""Lone UTF-16 surrogates in text that came as JSON (``"\\ud800"``): Python's decoders accept
them, but nothing can encode them as UTF-8 (SQLite, files, logs), so they are replaced with
U+FFFD wherever such text enters memoryd: rollout lines, model replies and their events.
"""

from __future__ import annotations

import re
from typing import Any

# A decoded str holds valid pairs joined into one code point: any surrogate left is lone.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    return LONE_SURROGATE.sub("\ufffd", text)


def scrub_json(value: Any) -> Any:
    """``value`` (decoded JSON) with every string, keys included, scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    if isinstance(value, dict):
        return {scrub_json(k): scrub_json(v) for k, v in value.items()}
    return value


def may_hold_surrogate(raw_json: str) -> bool:
    """Whether JSON text can decode to a surrogate at all: only a ``\\uD8xx``..``\\uDFxx``
    escape does (raw surrogates cannot be read from UTF-8). A cheap test before a scrub."""
    return "\\ud" in raw_json or "\\uD" in raw_json
