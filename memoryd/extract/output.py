"""The stage-1 output contract: the strict JSON schema we request, a lenient parser for what
models actually send back, the final redaction and size caps, and the merge of chunk results.

Accepted shapes (SPEC §3, reference §5.4): the exact object; the object inside a ```json or a
bare ``` fence; the object between the first ``{`` and the last ``}`` of prose around it. With
``allow_legacy`` (the default) the old key names ``summary`` (→ ``rollout_summary``) and
``rawMemory`` / ``traceMemory`` (→ ``raw_memory``) are accepted and logged as
``stage1_legacy_keys``. Unknown keys and wrong types are errors. Every OutputError message is a
single line that says what was wrong and quotes a short excerpt.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Final

import msgspec
import structlog

from memoryd.extract.base import OutputError, Stage1Output
from memoryd.redact import redact
from memoryd.surrogates import may_hold_surrogate, scrub, scrub_json
from memoryd.textutil import excerpt

log = structlog.get_logger("memoryd.backends.output")

STAGE1_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "rollout_summary": {"type": "string"},
        "rollout_slug": {"type": ["string", "null"]},
        "raw_memory": {"type": "string"},
    },
    "required": ["rollout_summary", "rollout_slug", "raw_memory"],
    "additionalProperties": False,
}

FIELDS: Final = ("rollout_summary", "rollout_slug", "raw_memory")
LEGACY_ALIASES: Final[dict[str, str]] = {
    "summary": "rollout_summary",
    "rawMemory": "raw_memory",
    "traceMemory": "raw_memory",
}

MAX_RAW_MEMORY_CHARS: Final = 300_000
MAX_SUMMARY_CHARS: Final = 20_000
MAX_SLUG_CHARS: Final = 80

_JSON_FENCE = re.compile(r"```[ \t]*json[ \t]*\r?\n(.*?)```", re.IGNORECASE | re.DOTALL)
_BARE_FENCE = re.compile(r"```[ \t]*\r?\n(.*?)```", re.DOTALL)


class ParsedStage1(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed reply plus how it was found: ``shape`` is ``json`` (the whole text),
    ``json_fence``, ``bare_fence`` or ``embedded``; ``legacy_keys`` lists alias keys used."""

    output: Stage1Output
    shape: str
    legacy_keys: tuple[str, ...] = ()


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _candidates(text: str) -> list[tuple[str, str]]:
    """Places the JSON object may be, most exact first."""
    out: list[tuple[str, str]] = [("json", text)]
    out += [("json_fence", m.group(1)) for m in _JSON_FENCE.finditer(text)]
    out += [("bare_fence", m.group(1)) for m in _BARE_FENCE.finditer(text)]
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        out.append(("embedded", text[first : last + 1]))
    return out


def _validate(obj: dict[str, Any], *, allow_legacy: bool) -> tuple[Stage1Output, tuple[str, ...]]:
    unknown = [k for k in obj if k not in FIELDS and k not in LEGACY_ALIASES]
    if unknown:
        names = ", ".join(json.dumps(k, ensure_ascii=False) for k in unknown[:5])
        raise OutputError(
            f"model output has unexpected key(s) {names}; only rollout_summary, rollout_slug "
            "and raw_memory are allowed"
        )
    legacy = tuple(k for k in obj if k in LEGACY_ALIASES)
    if legacy and not allow_legacy:
        k = legacy[0]
        raise OutputError(
            f'model output uses the legacy key "{k}" (for {LEGACY_ALIASES[k]}), and legacy '
            "keys are switched off"
        )
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    for key, value in obj.items():
        field = LEGACY_ALIASES.get(key, key)
        if field in values:
            raise OutputError(
                f'model output gives {field} twice, as "{source[field]}" and as "{key}"'
            )
        values[field] = value
        source[field] = key
    for field in ("rollout_summary", "raw_memory"):
        if field not in values:
            got = ", ".join(obj) or "no keys"
            raise OutputError(f"model output lacks the required key {field} (got: {got})")
        if not isinstance(values[field], str):
            v = values[field]
            raise OutputError(
                f'model output field "{source[field]}" must be a string, got '
                f"{_type_name(v)}: {excerpt(json.dumps(v, ensure_ascii=False))}"
            )
    slug = values.get("rollout_slug")
    if slug is not None and not isinstance(slug, str):
        raise OutputError(
            f'model output field "rollout_slug" must be a string or null, got '
            f"{_type_name(slug)}: {excerpt(json.dumps(slug, ensure_ascii=False))}"
        )
    output = Stage1Output(
        rollout_summary=values["rollout_summary"],
        raw_memory=values["raw_memory"],
        rollout_slug=slug,
    )
    return output, legacy


def parse_stage1_detailed(text: str, *, allow_legacy: bool = True) -> ParsedStage1:
    """Parse a model reply into a Stage1Output and say how it was found (see module doc)."""
    stripped = scrub(text.strip())  # text from any backend; its JSON may escape a surrogate
    if not stripped:
        raise OutputError("model returned no output text (expected one JSON object)")
    last_error: str | None = None
    non_object: str | None = None
    for shape, candidate in _candidates(stripped):
        try:
            obj = json.loads(candidate)
        except (json.JSONDecodeError, RecursionError) as e:
            # The most specific place tried last says best what is wrong.
            if isinstance(e, json.JSONDecodeError):
                last_error = f"{e.msg} at line {e.lineno} column {e.colno}"
            else:
                last_error = "nested too deep"
            continue
        if not isinstance(obj, dict):
            non_object = non_object or _type_name(obj)
            continue
        if may_hold_surrogate(candidate):
            obj = scrub_json(obj)
        output, legacy = _validate(obj, allow_legacy=allow_legacy)
        return ParsedStage1(output=output, shape=shape, legacy_keys=legacy)
    if non_object is not None and "{" not in stripped:
        raise OutputError(
            f"model output is JSON but a {non_object}, not an object: {excerpt(stripped)}"
        )
    if "{" not in stripped:
        raise OutputError(f"model output holds no JSON object: {excerpt(stripped)}")
    reason = f" ({last_error})" if last_error else ""
    raise OutputError(f"model output is not valid JSON{reason}: {excerpt(stripped)}")


def parse_stage1_output(text: str, *, allow_legacy: bool = True) -> Stage1Output:
    """Parse a model reply; log ``stage1_legacy_keys`` when old key names were used and
    ``stage1_output_unwrapped`` when the object had to be dug out of a fence or prose."""
    parsed = parse_stage1_detailed(text, allow_legacy=allow_legacy)
    if parsed.legacy_keys:
        log.info("stage1_legacy_keys", keys=list(parsed.legacy_keys))
    if parsed.shape != "json":
        log.info("stage1_output_unwrapped", shape=parsed.shape)
    return parsed.output


def cap_middle(text: str, limit: int, label: str) -> str:
    """``text`` if it fits in ``limit`` chars, else its head and tail around a marker saying
    how much was dropped; the result is never longer than ``limit``."""
    if len(text) <= limit:
        return text
    omitted = len(text) - limit
    for _ in range(3):  # the marker's own length depends on the number it prints
        marker = f"\n\n[... {label} truncated: {omitted} chars omitted ...]\n\n"
        keep = max(0, limit - len(marker))
        omitted = len(text) - keep
    if keep == 0:
        return marker[:limit]
    head = (keep + 1) // 2
    tail = keep - head
    return text[:head] + marker + (text[len(text) - tail :] if tail else "")


def sanitize_slug(slug: str | None) -> str | None:
    """A file-name-safe slug: ASCII lowercase letters, digits, ``-`` and ``_``, at most 80
    chars; None when nothing usable is left."""
    if slug is None:
        return None
    s = unicodedata.normalize("NFKD", slug).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9_-]+", "-", s)
    s = re.sub(r"-{2,}", "-", s).strip("-_")
    s = s[:MAX_SLUG_CHARS].rstrip("-_")
    return s or None


def _cap(o: Stage1Output) -> Stage1Output:
    return Stage1Output(
        rollout_summary=cap_middle(o.rollout_summary, MAX_SUMMARY_CHARS, "rollout summary"),
        raw_memory=cap_middle(o.raw_memory, MAX_RAW_MEMORY_CHARS, "raw memory"),
        rollout_slug=sanitize_slug(o.rollout_slug),
    )


def finalize_output(o: Stage1Output) -> Stage1Output:
    """What is stored: every field redacted again (the model may echo a secret back), then
    size-capped, and the slug made safe for file names."""
    return _cap(
        Stage1Output(
            rollout_summary=redact(o.rollout_summary),
            raw_memory=redact(o.raw_memory),
            rollout_slug=None if o.rollout_slug is None else redact(o.rollout_slug),
        )
    )


# The stage-1 prompt's template (memoryd/prompts/stage1_system.md): its ``<placeholders>``,
# front-matter keys and headings, which a small model may echo back with nothing filled in.
_PLACEHOLDER = re.compile(r"<[^<>\n]{0,120}>")
_TEMPLATE_WORDS = re.compile(
    r"\b(?:description|task_group|task_outcome|task|cwd|keywords|rollout|summary|"
    r"preference signals|reusable knowledge|failures and how to do differently|references)\b",
    re.IGNORECASE,
)


def hollow_field(o: Stage1Output) -> str | None:
    """The field of a non-empty output that says nothing: no letter or digit is left once the
    template's placeholders, keys and headings are taken out (a template echo like
    ``"<one line: summary of rollout>"``, or a memory of ``", "``). Such an output is stored
    as no output."""
    for name in ("raw_memory", "rollout_summary"):
        text = _TEMPLATE_WORDS.sub(" ", _PLACEHOLDER.sub(" ", getattr(o, name)))
        if not any(ch.isalnum() for ch in text):
            return name
    return None


def merge_partials(parts: list[Stage1Output]) -> Stage1Output:
    """One rollout's output from the outputs of its chunks, in chunk order.

    Empty parts are skipped; no non-empty part gives the empty output; a single non-empty part
    is returned as it is; otherwise each field is the parts' texts under ``## Part i of n``
    headings (``i`` is the chunk's position among all ``n`` chunks), and the slug is the first
    non-empty one. The result is size-capped like a single output."""
    n = len(parts)
    kept = [(i, p) for i, p in enumerate(parts, start=1) if not p.is_empty()]
    if not kept:
        return Stage1Output(rollout_summary="", raw_memory="", rollout_slug=None)
    if len(kept) == 1:
        return _cap(kept[0][1])

    def join(field: str) -> str:
        return "\n\n".join(f"## Part {i} of {n}\n\n{getattr(p, field).strip()}" for i, p in kept)

    slug = next((p.rollout_slug for _, p in kept if p.rollout_slug), None)
    return _cap(
        Stage1Output(
            rollout_summary=join("rollout_summary"),
            raw_memory=join("raw_memory"),
            rollout_slug=slug,
        )
    )
