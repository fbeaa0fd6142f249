"""Reading the response-item list: salvage of damaged arrays, message text, harness fragments."""

from __future__ import annotations

import json
import re
from typing import Any


def parse_items(contents: str) -> list[dict[str, Any]]:
    """The response items of ``rollout_contents``. A JSON array is the normal case; a damaged
    or budget-truncated array (a ``…N tokens truncated…`` marker in the middle) is read item by
    item, skipping what cannot be decoded."""
    try:
        value = json.loads(contents)
    except (ValueError, RecursionError):
        return _salvage_items(contents)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        return [value]
    return []


def _salvage_items(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    pos = text.find("{")
    while pos != -1:
        try:
            value, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            pos = text.find('{"type"', pos + 1)
            continue
        if isinstance(value, dict):
            out.append(_lift_part(value))
        pos = text.find("{", end)
    return out


def _lift_part(value: dict[str, Any]) -> dict[str, Any]:
    """A content part recovered from a message whose head was cut off: user parts are
    ``input_text`` and assistant parts ``output_text``, so the message can be rebuilt."""
    kind = value.get("type")
    if kind in ("input_text", "output_text") and isinstance(value.get("text"), str):
        role = "user" if kind == "input_text" else "assistant"
        return {"type": "message", "role": role, "content": [value]}
    return value


def text_of(value: Any) -> str:
    """Plain text of a message content list, a tool output (string, content items, or an
    object with ``content``/``output``), or anything else that holds text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(t for t in (text_of(v) for v in value) if t)
    if isinstance(value, dict):
        for key in ("text", "output", "content", "body"):
            if key in value:
                return text_of(value[key])
        return ""
    return str(value)


def message_parts(item: dict[str, Any]) -> list[str]:
    content = item.get("content")
    if isinstance(content, str):
        return [content]
    parts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
    return parts


# Harness fragments Codex injects as user messages: <environment_context>, <user_instructions>,
# <user_shell_command>, <turn_aborted>, <subagent_notification>, <skill>, … (snake_case tags or
# a few known names; an HTML-ish tag the user pasted is kept).
_CONTEXT_FRAGMENT = re.compile(r"^<([a-z]+(?:_[a-z]+)+|skill|INSTRUCTIONS)>.*</\1>$", re.S)
_ENV_CWD = re.compile(r"<cwd>([^<\n]+)</cwd>")
_USER_MESSAGE_BEGIN = "## My request for Codex:"


def _is_boilerplate(part: str) -> bool:
    s = part.strip()
    low = s.lower()
    if low.startswith("# agents.md instructions") and low.endswith("</instructions>"):
        return True
    return _CONTEXT_FRAGMENT.match(s) is not None


def user_text(item: dict[str, Any]) -> tuple[str, str | None, bool]:
    """(request text, cwd from an environment block, whether the turn was aborted)."""
    texts: list[str] = []
    env_cwd: str | None = None
    aborted = False
    for part in message_parts(item):
        if _is_boilerplate(part):
            stripped = part.strip()
            m = _ENV_CWD.search(part)
            if m and stripped.startswith("<environment_context>"):
                env_cwd = m.group(1).strip()
            if stripped.startswith("<turn_aborted>"):
                aborted = True
            continue
        text = part.strip()
        if text.startswith(_USER_MESSAGE_BEGIN):
            text = text[len(_USER_MESSAGE_BEGIN) :].strip()
        if text:
            texts.append(text)
    return "\n".join(texts), env_cwd, aborted
