"""The ``offline`` stage-1 backend: a deterministic, rule-based extractor with no model.

It reads the same filtered response-item view a model would see and writes the same shapes a
model would (reference §5.6 items 8 and 9): a task-first ``rollout_summary`` and a
``raw_memory`` with front matter and one ``### Task <n>`` block per task. Nothing leaves the
process, there is no clock and no randomness: the same request always gives the same bytes.

What it extracts
----------------
* **Tasks.** Every user message that is not harness boilerplate (``<environment_context>``,
  AGENTS.md instructions, ``<skill>`` and other ``<tag>…</tag>`` fragments) opens a task,
  unless it is a *follow-up* to the current one: a message made only of acknowledgements
  ("Thanks.", "great, it works"), go-aheads ("continue", "yes"), and preference statements,
  or a message that opens with a complaint ("that doesn't work", "No, …"). A follow-up's
  feedback and preferences belong to the task it follows.
* **Preferences.** User sentences with "prefer", "always", "never", imperative "don't"/"do
  not", "instead of", "rather than", "next time", "from now on", "I like/love/hate",
  "please use/avoid/keep", "stop using", "stick to". Each is quoted with an implication
  derived from its shape ("prefer X over Y" / "use X instead of Y" → use X rather than Y;
  "never/don't X" → do not X; "always X" → always X).
* **Commands** from ``exec_command`` / ``shell`` / ``shell_command`` function calls,
  ``local_shell_call`` items and ``write_stdin`` follow-ups, each with the exit status parsed
  from its output ("Process exited with code N", "Exit code: N", a JSON ``exit_code``).
* **Errors**: a non-zero exit, or, when no exit status is known, an error-looking output line
  (Traceback, ``…Error:``, FAILED, "command not found", "No such file or directory", …). A
  known exit code 0 wins over error-looking text (it is data, e.g. a grep for "Error:").
  Each error is paired with what resolved it: the first later successful run of the same
  program (and the files edited in between), else the next step taken, else "unresolved".
* **Files touched**: paths from ``apply_patch`` (any transport), the targets of file commands
  (cat, sed, head, ls, …) and path-looking arguments of other commands.
* **Context**: cwd and git branch from the request (cwd falls back to the
  ``<environment_context>`` block).

Outcome rule (per task)
-----------------------
1. Explicit user feedback wins. After the last positive feedback → ``success`` (``partial``
   if a later step failed). After the last negative feedback (or an interrupted turn) →
   ``fail``, or ``partial`` if some later step succeeded.
2. Without feedback: the last step with a known status failed → ``fail``.
3. Otherwise, if the user moved on to another request → ``success`` (implicit acceptance).
4. Otherwise (the rollout's last task, unconfirmed): earlier failures that were worked
   around → ``partial``; anything else → ``uncertain``.
The reason is written next to the outcome in the summary, so a reader can judge it.

No user request at all → the empty output (``succeeded_no_output``); a later chunk of a long
rollout that holds only tool work is kept as a continuation task instead.
"""

from __future__ import annotations

import asyncio
import functools
import json
import posixpath
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from memoryd.backends.base import (
    ExtractionRequest,
    ExtractionResult,
    Stage1Output,
    Usage,
)

NAME = "offline"
MODEL = "offline-v1"

# Size bounds: every quote, list and field is capped, so one huge tool output or a
# thousand-turn rollout still gives a memory of a few kilobytes.
QUOTE_CHARS = 300
PROMPT_CHARS = 400
TITLE_CHARS = 120
COMMAND_CHARS = 200
MAX_TASKS = 12
MAX_STEPS = 14
MAX_PREFS = 8
MAX_FAILURES = 6
MAX_FILES = 20
MAX_KNOWLEDGE = 10
MAX_KEYWORDS = 14
MAX_FIELD_CHARS = 24_000
ANALYSE_CHARS = 20_000  # of one message or command: pasted logs need not be parsed in full
TRUNCATION_NOTE = "\n\n[... truncated by the memoryd offline extractor ...]\n"


# --------------------------------------------------------------------------------------------
# Reading the item list


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


def _text_of(value: Any) -> str:
    """Plain text of a message content list, a tool output (string, content items, or an
    object with ``content``/``output``), or anything else that holds text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(t for t in (_text_of(v) for v in value) if t)
    if isinstance(value, dict):
        for key in ("text", "output", "content", "body"):
            if key in value:
                return _text_of(value[key])
        return ""
    return str(value)


def _message_parts(item: dict[str, Any]) -> list[str]:
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


def _user_text(item: dict[str, Any]) -> tuple[str, str | None, bool]:
    """(request text, cwd from an environment block, whether the turn was aborted)."""
    texts: list[str] = []
    env_cwd: str | None = None
    aborted = False
    for part in _message_parts(item):
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


# --------------------------------------------------------------------------------------------
# Small text helpers


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _code(text: str) -> str:
    """Inline Markdown code that survives backticks in the text."""
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``"


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    return '"' + _clip(text, limit).replace('"', "'") + '"'


def _dedupe(values: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------------------------
# User language: acknowledgements, complaints, preferences

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE_SPLIT = re.compile(r",\s*|\s+-\s+")
_WORDS = re.compile(r"[a-z0-9']+")

_POSITIVE_WORDS = frozenset(
    "thanks thank thx ty tysm great perfect awesome nice excellent cool good lgtm works worked "
    "working fixed trick correct exactly brilliant wonderful fantastic lovely amazing "
    "appreciated helpful".split()
)
_NEUTRAL_WORDS = frozenset(
    "ok okay k yes yep yeah sure continue go ahead proceed on do it please keep going carry "
    "sounds fine alright right".split()
)
_FILLER_WORDS = frozenset(
    "you so much a lot again very really that this it now the is was me to looks look all "
    "well job did done and just".split()
)
_NEGATIVE = re.compile(
    r"\b(?:that|it|this|which)\s*(?:'s\s+)?(?:still\s+)?(?:doesn't|does not|didn't|did not|won't"
    r"|isn't|is not)\s+(?:work|working|help|compile|build|run|pass|fix|right|correct)\b"
    r"|\b(?:still|again)\s+(?:fails?|failing|broken|crash(?:es|ing)?|errors?|erroring"
    r"|doesn't work|not working|the same)\b"
    r"|\bnot working\b|\b(?:is|are|was)\s+(?:still\s+)?broken\b"
    r"|^(?:no|nope|wrong)[.!]*$"
    r"|\b(?:that's|that is|this is|it's|you're|you are)\s+(?:wrong|incorrect"
    r"|not (?:right|correct|it|what i (?:asked|wanted|meant)))"
    r"|\bnot what i (?:asked|wanted|meant)\b"
    r"|\byou (?:broke|deleted|removed|forgot|missed|ignored)\b"
    r"|^(?:undo|revert)\s+(?:that|it|this|your|those|these)\b",
    re.I,
)
_PREFERENCE = re.compile(
    r"\bprefer(?:s|red|ably)?\b|\balways\b|\bnever\b|\binstead\s+of\b|\brather\s+than\b"
    r"|\bnext\s+time\b|\bfrom\s+now\s+on\b|\bgoing\s+forward\b|\bin\s+(?:the\s+)?future\b"
    r"|\bi\s+(?:really\s+)?(?:like|love|hate|dislike)\b"
    r"|\bplease\s+(?:use|avoid|keep|stick|stop|always|never)\b|\bstop\s+using\b"
    r"|\bstick\s+(?:to|with)\b|\bno\s+more\b",
    re.I,
)
_DONT = re.compile(
    r"(?:^|[\s,;:(])(?:don't|dont|do not)\s+(?!know\b|understand\b|think\b|see\b|have\b"
    r"|need\b|care\b|mind\b|get\b|want\b|remember\b|like\b|believe\b)\w+",
    re.I,
)
_DONT_STATEMENT = re.compile(r"\b(?:i|we|they|it|this|that|you)\s+(?:don't|dont|do not)\b", re.I)
_BEHAVIOUR_NOT_RULE = re.compile(
    r"\b(?:it|this|that|which|they|there|he|she)\s+(?:always|never)\b", re.I
)
_LEADING_WHEN = re.compile(
    r"^(?:(?:and|but|also|so|then|ok(?:ay)?|please|thanks|thank you)[,\s]+)*"
    r"(?:next\s+time|from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future)?[,\s]*",
    re.I,
)


def _normalize_quotes(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def _words(text: str) -> list[str]:
    return _WORDS.findall(_normalize_quotes(text).lower())


def _clause_kind(clause: str) -> str:
    """'positive', 'neutral' or 'other' for one comma-separated clause."""
    words = _words(clause)
    if not words or len(words) > 8:
        return "other" if words else "neutral"
    if any(w not in _POSITIVE_WORDS | _NEUTRAL_WORDS | _FILLER_WORDS for w in words):
        return "other"
    if any(w in _POSITIVE_WORDS for w in words):
        return "positive"
    if any(w in _NEUTRAL_WORDS for w in words):
        return "neutral"
    return "other"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def is_preference(sentence: str) -> bool:
    s = _normalize_quotes(sentence)
    if _PREFERENCE.search(s):
        stripped = _BEHAVIOUR_NOT_RULE.sub("", s)
        return _PREFERENCE.search(stripped) is not None
    return _DONT.search(s) is not None and _DONT_STATEMENT.search(s) is None


def _strip_tail(text: str) -> str:
    return text.strip().rstrip(".!?;:,").strip()


_PREFER_XY = re.compile(
    r"\bprefer(?:s|red|ably)?\s+(?:to\s+use\s+|using\s+)?(?P<x>.+?)\s+"
    r"(?:over|to|instead\s+of|rather\s+than|than)\s+(?P<y>.+)",
    re.I,
)
_USE_XY = re.compile(
    r"\buse\s+(?P<x>.+?)\s+(?:instead\s+of|rather\s+than|over|not)\s+(?P<y>.+)", re.I
)
_XY_INSTEAD = re.compile(r"^(?P<x>.+?)\s+(?:instead\s+of|rather\s+than)\s+(?P<y>.+)", re.I)
_NEGATED = re.compile(
    r"\b(?:never|don't|dont|do\s+not|avoid|stop|no\s+more)\s+(?:ever\s+)?(?P<x>.+)", re.I
)
_ALWAYS = re.compile(r"\balways\s+(?P<x>.+)", re.I)
_PREFER_X = re.compile(r"\bprefer(?:s|red|ably)?\s+(?P<x>.+)", re.I)
_PLEASE_USE = re.compile(r"\bplease\s+(?P<x>(?:use|keep|stick)\b.+)", re.I)
_LIKE = re.compile(r"\bi\s+(?:really\s+)?(?P<v>like|love|hate|dislike)\s+(?P<x>.+)", re.I)


def preference_implication(sentence: str) -> str:
    """What a future run should do, read off the shape of a preference sentence."""
    s = _normalize_quotes(sentence)
    for pattern in (_PREFER_XY, _USE_XY):
        m = pattern.search(s)
        if m:
            x, y = _strip_tail(m.group("x")), _strip_tail(m.group("y"))
            x = re.sub(r"^(?:always|to)\s+", "", x, flags=re.I)
            return f"use {_clip(x, 80)} rather than {_clip(y, 80)}"
    m = _LIKE.search(s)
    if m:
        verb, x = m.group("v").lower(), _clip(_strip_tail(m.group("x")), 120)
        return f"avoid {x}" if verb in ("hate", "dislike") else f"keep doing this: {x}"
    m = _NEGATED.search(s)
    if m:
        verb = m.group(0).split()[0].lower()
        x = _clip(_strip_tail(m.group("x")), 120)
        return f"avoid {x}" if verb in ("avoid", "stop") else f"do not {x}"
    m = _ALWAYS.search(s)
    if m:
        return f"always {_clip(_strip_tail(m.group('x')), 120)}"
    m = _PLEASE_USE.search(s)
    if m:
        return _clip(_strip_tail(m.group("x")), 120)
    m = _PREFER_X.search(s)
    if m:
        return f"prefer {_clip(_strip_tail(m.group('x')), 120)}"
    body = _strip_tail(_LEADING_WHEN.sub("", s))
    m = _XY_INSTEAD.search(body)
    if m:
        return f"{_clip(_strip_tail(m.group('x')), 80)} rather than {_clip(m.group('y'), 80)}"
    return f"follow this instruction: {_clip(body, 120)}"


@dataclass(frozen=True)
class MessageReading:
    positive: bool
    negative: bool
    follow_up: bool  # adds to the current task instead of opening a new one
    preferences: tuple[str, ...]
    title: str


def read_message(text: str) -> MessageReading:
    sentences = _sentences(text)
    preferences = tuple(s for s in sentences if is_preference(s))
    clauses = [c for s in sentences for c in _CLAUSE_SPLIT.split(s) if c.strip()]
    positive = False
    i = 0
    while i < len(clauses):
        kind = _clause_kind(clauses[i])
        if kind == "other":
            break
        positive = positive or kind == "positive"
        i += 1
    negative = False
    if i < len(clauses):
        first = re.sub(r"^\s*(?:but|however|and|though)\b[,\s]*", "", clauses[i], flags=re.I)
        negative = _NEGATIVE.search(_normalize_quotes(first)) is not None
    if negative:
        positive = False
    substantive = [
        s
        for s in sentences
        if s not in preferences
        and any(_clause_kind(c) == "other" for c in _CLAUSE_SPLIT.split(s) if c.strip())
    ]
    follow_up = negative or not substantive
    title_src = substantive[0] if substantive else (sentences[0] if sentences else text)
    # Drop a leading acknowledgement ("Thanks, now add tests" → "now add tests").
    parts = [c for c in _CLAUSE_SPLIT.split(title_src) if c.strip()]
    while len(parts) > 1 and _clause_kind(parts[0]) != "other":
        parts.pop(0)
    title = _clip(_strip_tail(", ".join(parts)) or _one_line(text), TITLE_CHARS)
    return MessageReading(
        positive=positive,
        negative=negative,
        follow_up=follow_up,
        preferences=preferences,
        title=title,
    )


# --------------------------------------------------------------------------------------------
# Tool calls: commands, patches, outputs

_EXIT_LINE = re.compile(
    r"(?:process exited with code|exit code:?|exited with (?:code|status))\s*(-?\d+)", re.I
)
_RUNNING = re.compile(r"process running with session id\s*(\d+)", re.I)
_ERROR_LINE = re.compile(
    r"Traceback \(most recent call last\)|^\s*E\s{2,}\S|\b[A-Z]\w*(?:Error|Exception)\b"
    r"|(?i:\berror\b(?:\[\w+\])?:)|\bERROR\b|\bFAILED\b|\bFAIL:|(?i:command not found)"
    r"|No such file or directory|Permission denied|^fatal:|panicked at|npm ERR!"
    r"|Segmentation fault|(?i:cannot find module)|(?i:\bundefined reference\b)",
    re.M,
)
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*")
_NOT_FOUND = re.compile(
    r"(?:^|\s)(?:\S+:\s+)?(?:line \d+:\s+)?(?P<a>[\w.+-]+): (?:command )?not found\b"
    r"|command not found: (?P<b>[\w.+-]+)",
    re.M,
)
_SHELL_NOISE = re.compile(r"^(?:pyenv|bash|sh|zsh|direnv|nvm|rbenv): ", re.I)
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$", re.M)
_PATCH_MOVE = re.compile(r"^\*\*\* Move to: (.+?)\s*$", re.M)
_PATCH_FAIL = re.compile(r"verification failed|failed to (?:apply|find)|invalid patch", re.I)


@dataclass
class CommandOutput:
    exit_code: int | None
    running_session: str | None
    body: str


def parse_output(raw: Any) -> CommandOutput:
    """Exit status and body of a tool output in any of Codex's shapes: the unified-exec text
    header (``Process exited with code N`` … ``Output:``), the shell tool's ``Exit code: N``
    header, or a JSON object ``{"output": …, "metadata": {"exit_code": N}}``."""
    exit_code: int | None = None
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict) and ("output" in decoded or "metadata" in decoded):
            raw = decoded
    if isinstance(raw, dict):
        meta = raw.get("metadata")
        for source in (meta if isinstance(meta, dict) else {}, raw):
            code = source.get("exit_code")
            if isinstance(code, int) and not isinstance(code, bool):
                exit_code = code
                break
        if exit_code is None and raw.get("success") is False:
            exit_code = 1
        text = _text_of(raw.get("output", raw.get("content", "")))
    else:
        text = _text_of(raw)
    header, sep, body = text.partition("\nOutput:\n")
    if not sep:
        if text.startswith("Output:\n"):
            header, body = "", text[len("Output:\n") :]
        else:
            header = "\n".join(text.splitlines()[:4])
            body = text
    if exit_code is None:
        m = _EXIT_LINE.search(header)
        if m:
            exit_code = int(m.group(1))
    running = _RUNNING.search(header)
    return CommandOutput(
        exit_code=exit_code,
        running_session=running.group(1) if running and exit_code is None else None,
        body=body,
    )


def error_excerpt(body: str) -> str | None:
    """The most telling error line of an output: the exception line after a traceback, else
    the first error-looking line."""
    lines = body.splitlines()
    if any("Traceback (most recent call last)" in ln for ln in lines):
        for ln in reversed(lines):
            if _EXCEPTION_LINE.match(ln.strip()):
                return _clip(ln, QUOTE_CHARS)
    for ln in lines:
        if _ERROR_LINE.search(ln):
            return _clip(ln, QUOTE_CHARS)
    return None


BODY_KEEP = 32_000


def _bound(body: str) -> str:
    """Keep analysis bounded on huge outputs: the head, the tail and, from the middle, only
    the first few error-looking lines."""
    if len(body) <= 2 * BODY_KEEP:
        return body
    middle = body[BODY_KEEP:-BODY_KEEP]
    errors: list[str] = []
    for m in _ERROR_LINE.finditer(middle):
        start = middle.rfind("\n", 0, m.start()) + 1
        end = middle.find("\n", m.end())
        line = _clip(middle[start : end if end != -1 else len(middle)], QUOTE_CHARS)
        if not errors or errors[-1] != line:
            errors.append(line)
        if len(errors) == 5:
            break
    kept = "".join(f"{e}\n" for e in errors)
    omitted = f"\n[... {len(middle)} chars omitted ...]\n"
    return body[:BODY_KEEP] + omitted + kept + body[-BODY_KEEP:]


def _output_excerpt(body: str) -> str:
    """The start of a successful command's output, without shell start-up noise."""
    lines = [ln for ln in body.splitlines() if ln.strip() and not _SHELL_NOISE.search(ln)]
    return _clip(" | ".join(lines[:6]), 160) if lines else ""


def _last_lines(body: str, n: int = 3) -> str:
    lines = [ln for ln in body.splitlines() if ln.strip()]
    return _clip(" | ".join(lines[-n:]), QUOTE_CHARS) if lines else ""


def patch_files(patch: str) -> list[tuple[str, str]]:
    """(operation, path) for each file of an ``apply_patch`` envelope."""
    ops: list[tuple[str, str]] = []
    for m in _PATCH_FILE.finditer(patch):
        ops.append((m.group(1).lower(), m.group(2)))
    for m in _PATCH_MOVE.finditer(patch):
        ops.append(("move", m.group(1)))
    return ops


def _shell_display(command: Any) -> str:
    """The shell text of an argv (``["bash", "-lc", "…"]`` → the script)."""
    if isinstance(command, str):
        return command
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        if (
            len(command) >= 3
            and posixpath.basename(command[0]) in ("bash", "sh", "zsh", "dash")
            and command[1] in ("-c", "-lc", "-ic", "-l -c")
        ):
            return str(command[2])
        return shlex.join(command)
    return ""


def _json_args(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError:
            return {"_raw": arguments}
        if isinstance(value, dict):
            return value
        return {"_raw": arguments}
    return {}


# Path extraction from shell commands.
_SHELL_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"})
_REDIRECTS = frozenset({">", ">>", "<", "2>", "&>", ">&", "<<", "<<<", ">|"})
_WRAPPERS = frozenset(
    {"sudo", "env", "time", "nohup", "nice", "exec", "command", "xargs", "timeout", "then"}
)
_FILE_PROGRAMS = frozenset(
    "cat sed head tail less more ls wc stat file vim vi nano code touch rm cp mv mkdir rmdir "
    "chmod chown diff bat nl tree du open source . python python3 node bash sh zsh pytest "
    "mypy black isort eslint prettier jq yq awk tee readlink realpath".split()
)
_PATTERN_FIRST = frozenset({"grep", "rg", "egrep", "fgrep", "ag", "ack", "sed", "awk", "jq", "yq"})
_PATHLIKE_EXT = re.compile(r"\.[A-Za-z][A-Za-z0-9_+-]{0,9}$")
_SED_SCRIPT = re.compile(r"^(?:\d+(?:,\d+)?[pdq]?|\$?p|s(.).*\1.*\1[gipI0-9]*|/.*/[pd]?)$")
_BAD_PATH_CHARS = re.compile(r"[*?\[\]{}$`'\"=<>|;&\\!@%^,()]")
_LINE_SUFFIX = re.compile(r"(?::\d+(?::\d+)?|::.*)$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)[A-Za-z_]\w*\1")
_PROGRAM_SKIP = frozenset(
    "cd ls cat echo pwd true false export set source printf sed head tail wc sleep clear which "
    "type test [".split()
)


def _tokens(cmd: str) -> list[str]:
    """Shell words and operators of a command; a heredoc's body is not part of the command
    line, and plain newlines separate commands."""
    if _HEREDOC.search(cmd):
        line = _HEREDOC.sub(" ", cmd.split("\n", 1)[0])
    else:
        line = cmd.replace("\n", " ; ")
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = ""
        return list(lexer)
    except ValueError:
        return line.split()


def _segments(tokens: list[str]) -> Iterator[list[str]]:
    cur: list[str] = []
    for t in tokens:
        if t in _SHELL_OPERATORS:
            if cur:
                yield cur
            cur = []
        else:
            cur.append(t)
    if cur:
        yield cur


_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})


def _command_segments(cmd: str, depth: int = 0) -> Iterator[list[str]]:
    """The simple commands of a shell command line, looking inside ``bash -lc "…"``."""
    for segment in _segments(_tokens(cmd)):
        program, args = _program(segment)
        script_at = next((i for i, a in enumerate(args) if a in ("-c", "-lc", "-ic")), None)
        if program in _SHELLS and script_at is not None and script_at + 1 < len(args):
            if depth < 2:
                yield from _command_segments(args[script_at + 1], depth + 1)
            continue
        yield segment


def _program(segment: list[str]) -> tuple[str, list[str]]:
    i = 0
    while i < len(segment) and (
        (re.match(r"^[A-Za-z_]\w*=", segment[i]) is not None) or segment[i] in _WRAPPERS
    ):
        i += 1
    if i >= len(segment):
        return "", []
    return posixpath.basename(segment[i]), segment[i + 1 :]


def _clean_path(token: str, cwd: str) -> str | None:
    t = _LINE_SUFFIX.sub("", token.strip())
    if not t or t.startswith("-") or "://" in t or _BAD_PATH_CHARS.search(t):
        return None
    if t in (".", "..", "/", "~") or t.startswith("/dev/") or t.startswith("/proc/"):
        return None
    if re.fullmatch(r"[\d.:/]+", t):
        return None
    root = cwd.rstrip("/")
    if root and t.startswith(root + "/"):
        t = t[len(root) + 1 :]
    if t.startswith("./"):
        t = t[2:]
    t = t.rstrip("/") or t
    return t or None


def command_paths(cmd: str, cwd: str = "") -> list[str]:
    """Files and directories a shell command names: every argument of a file command (cat,
    sed, ls, …) and path-looking arguments (a ``/`` or a file extension) of any other."""
    out: list[str] = []
    for segment in _command_segments(cmd):
        program, args = _program(segment)
        if not program or program == "cd":
            continue
        file_program = program in _FILE_PROGRAMS
        skip_pattern = program in _PATTERN_FIRST
        has_e = "-e" in args or "--regexp" in args or "-f" in args
        skip_next = False
        after_redirect = False
        for arg in args:
            if after_redirect:
                after_redirect = False
                p = _clean_path(arg, cwd)
                if p and not p.isdigit():
                    out.append(p)
                continue
            if arg in _REDIRECTS or re.fullmatch(r"\d?>>?&?\d*", arg):
                after_redirect = not arg.endswith("&") and not re.search(r"&\d", arg)
                continue
            if skip_next:
                skip_next = False
                continue
            if arg in ("-c", "-m", "-e", "-n", "-name", "-iname", "-k", "-type", "--glob", "-g"):
                skip_next = arg not in ("-n",) or program in ("head", "tail")
                continue
            if arg.startswith("-"):
                continue
            if skip_pattern and not has_e:
                skip_pattern = False
                continue
            if program == "sed" and _SED_SCRIPT.match(arg):
                continue
            p = _clean_path(arg, cwd)
            if p is None or p.isdigit():
                continue
            if file_program or "/" in arg or _PATHLIKE_EXT.search(p) or p.startswith("."):
                out.append(p)
    return _dedupe(out)


_SUBCOMMAND_PROGRAMS = frozenset(
    "git npm pnpm yarn cargo go uv poetry pip pip3 make docker kubectl bun deno dotnet mvn "
    "gradle bundle rake just".split()
)
_RUNNERS = frozenset({"uv", "poetry", "pdm", "pipenv", "hatch", "npx", "pnpx", "bunx"})


@functools.lru_cache(maxsize=4096)
def command_programs(cmd: str) -> tuple[str, ...]:
    """The programs a command runs, with the subcommand where it matters ("pytest",
    "npm test", "cargo build"); runners (``uv run``, ``npx``, ``python -m``) are looked
    through and trivial helpers (cd, ls, cat, echo, …) left out."""
    keys: list[str] = []
    for segment in _command_segments(cmd):
        program, args = _program(segment)
        if not program or program in _PROGRAM_SKIP:
            continue
        rest = [a for a in args if not a.startswith("-")]
        if program in _RUNNERS and rest and rest[0] in ("run", "exec", "x"):
            rest = rest[1:]
            if rest:
                program, rest = posixpath.basename(rest[0]), rest[1:]
        elif program in _RUNNERS and program.endswith("x") and rest:
            program, rest = posixpath.basename(rest[0]), rest[1:]
        if program in ("python", "python3") and "-m" in args:
            i = args.index("-m")
            if i + 1 < len(args):
                program, rest = args[i + 1], []
        if program in _SUBCOMMAND_PROGRAMS and rest:
            keys.append(f"{program} {rest[0]}")
        else:
            keys.append(program)
    return tuple(keys)


def command_key(cmd: str) -> str:
    """A coarse identity of what a command does, used to match a failed command with a later
    run that fixed it."""
    keys = command_programs(cmd)
    return " && ".join(keys) if keys else _one_line(cmd)[:40]


# --------------------------------------------------------------------------------------------
# The rollout as tasks with timelines


@dataclass
class Command:
    seq: int
    text: str
    tool: str
    workdir: str | None = None
    exit_code: int | None = None
    running: bool = False
    body: str = ""
    answered: bool = False
    files: list[str] = field(default_factory=list)

    error_hint: str | None = None  # error_excerpt(body), kept current by the builder

    @property
    def error(self) -> str | None:
        if self.exit_code == 0 or not self.answered:
            return None
        if self.error_hint is None and self.exit_code is not None:
            return _last_lines(self.body) or None
        return self.error_hint

    @property
    def failed(self) -> bool:
        if self.exit_code is not None:
            return self.exit_code != 0
        return self.answered and self.error_hint is not None

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    @property
    def status_known(self) -> bool:
        return self.exit_code is not None or self.failed


@dataclass
class Edit:
    seq: int
    files: list[tuple[str, str]]
    ok: bool | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.ok is False

    @property
    def succeeded(self) -> bool:
        return self.ok is True

    @property
    def status_known(self) -> bool:
        return self.ok is not None


@dataclass
class Feedback:
    seq: int
    positive: bool
    quote: str


@dataclass
class Note:
    seq: int
    text: str


Event = Command | Edit | Feedback | Note


@dataclass
class Preference:
    quote: str
    implication: str


@dataclass
class Task:
    number: int
    prompt: str
    title: str
    continuation: bool = False
    group: str = ""
    events: list[Event] = field(default_factory=list)
    preferences: list[Preference] = field(default_factory=list)
    final_answer: str = ""
    plan: list[tuple[str, str]] = field(default_factory=list)

    @property
    def commands(self) -> list[Command]:
        return [e for e in self.events if isinstance(e, Command)]

    @property
    def edits(self) -> list[Edit]:
        return [e for e in self.events if isinstance(e, Edit)]

    @property
    def actions(self) -> list[Command | Edit]:
        return [e for e in self.events if isinstance(e, (Command, Edit))]

    def files(self) -> list[str]:
        out: list[str] = []
        for e in self.events:
            if isinstance(e, Edit):
                out.extend(p for _, p in e.files)
            elif isinstance(e, Command):
                out.extend(e.files)
        return _dedupe(out)


@dataclass
class Rollout:
    tasks: list[Task]
    env_cwd: str | None


class _Builder:
    def __init__(self, cwd: str, continuation_title: str | None) -> None:
        self.cwd = cwd
        self.tasks: list[Task] = []
        self.env_cwd: str | None = None
        self.pending: list[Event] = []  # tool work before any request (a later chunk)
        self.by_call: dict[str, Command | Edit] = {}
        self.sessions: dict[str, Command] = {}
        self.pending_answer = ""
        self.continuation_title = continuation_title
        self.seq = 0

    # -- task bookkeeping
    def _current(self) -> Task | None:
        return self.tasks[-1] if self.tasks else None

    def _sink(self) -> list[Event]:
        task = self._current()
        if task is None and self.continuation_title is not None:
            # A later chunk of a long rollout: work before its first request continues a
            # request made in an earlier chunk.
            title = self.continuation_title
            task = Task(1, title, title, continuation=True, final_answer=self.pending_answer)
            self.tasks.append(task)
        return task.events if task else self.pending

    def _add(self, event: Event) -> None:
        self._sink().append(event)

    # -- items
    def feed(self, item: dict[str, Any]) -> None:
        self.seq += 1
        kind = item.get("type")
        if kind == "message" or (kind is None and "role" in item):
            self._message(item)
        elif kind in ("function_call", "custom_tool_call"):
            self._call(item)
        elif kind == "local_shell_call":
            action = item.get("action") if isinstance(item.get("action"), dict) else {}
            cmd = _shell_display(action.get("command")) if action else ""
            workdir = action.get("working_directory") if action else None
            self._command(item.get("call_id") or item.get("id"), cmd, "local_shell", workdir)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            self._output(item)
        elif kind == "web_search_call":
            action = item.get("action") if isinstance(item.get("action"), dict) else {}
            query = action.get("query") if action else None
            what = f"Searched the web for {_quote(query, 120)}" if query else "Used web search"
            self._add(Note(self.seq, what))
        elif kind == "agent_message":
            author = item.get("author") or "another agent"
            text = "\n".join(_message_parts(item))
            if text:
                self._add(Note(self.seq, f"Message from {author}: {_quote(text, 160)}"))

    def _message(self, item: dict[str, Any]) -> None:
        role = item.get("role")
        if role == "user":
            text, env_cwd, aborted = _user_text(item)
            if env_cwd and self.env_cwd is None:
                self.env_cwd = env_cwd
            task = self._current()
            if aborted and task is not None:
                task.events.append(Feedback(self.seq, False, "(the user interrupted the turn)"))
            if text:
                self._request(text)
        elif role == "assistant":
            text = "\n".join(_message_parts(item)).strip()
            task = self._current()
            if text and task is not None:
                task.final_answer = text
            elif text:
                self.pending_answer = text

    def _request(self, text: str) -> None:
        text = text[:ANALYSE_CHARS]
        reading = read_message(text)
        if self._current() is None and reading.follow_up and self.continuation_title is not None:
            self._sink()  # feedback on a request made in an earlier chunk
        task = self._current()
        if task is not None and (reading.positive or reading.negative):
            first = _sentences(text)
            task.events.append(Feedback(self.seq, reading.positive, first[0] if first else text))
        if task is None or not reading.follow_up:
            task = Task(number=len(self.tasks) + 1, prompt=text, title=reading.title)
            self.tasks.append(task)
        elif reading.negative:
            task.events.append(Note(self.seq, f"The user corrected: {_quote(text, 200)}"))
        for sentence in reading.preferences:
            pref = Preference(quote=sentence, implication=preference_implication(sentence))
            if all(p.quote != pref.quote for p in task.preferences):
                task.preferences.append(pref)

    def _call(self, item: dict[str, Any]) -> None:
        name = str(item.get("name") or "")
        call_id = item.get("call_id") or item.get("id")
        if item.get("type") == "custom_tool_call":
            payload = item.get("input")
            raw_input = payload if isinstance(payload, str) else _text_of(payload)
            if name == "apply_patch" or "*** Begin Patch" in raw_input:
                self._edit(call_id, raw_input)
            elif name in ("exec", "js", "code") or not name:
                first = _clip(raw_input.strip().split("\n", 1)[0], 120)
                self._add(Note(self.seq, f"Ran a code-mode script ({_code(first)})"))
            else:
                self._add(Note(self.seq, f"Called tool {_code(name)}"))
            return
        args = _json_args(item.get("arguments"))
        base = name.rsplit(".", 1)[-1]
        if base in ("exec_command", "shell", "shell_command", "container.exec", "run_command"):
            cmd = args.get("cmd", args.get("command", args.get("_raw", "")))
            text = _shell_display(cmd)
            if isinstance(cmd, list) and cmd and cmd[0] == "apply_patch" and len(cmd) > 1:
                self._edit(call_id, str(cmd[1]))
            elif "*** Begin Patch" in text:
                self._edit(call_id, text)
            else:
                workdir = args.get("workdir") or args.get("cwd")
                self._command(call_id, text, base, workdir if isinstance(workdir, str) else None)
        elif base == "apply_patch":
            self._edit(call_id, str(args.get("input", args.get("patch", args.get("_raw", "")))))
        elif base == "write_stdin":
            session = args.get("session_id")
            if session is not None and str(session) in self.sessions and call_id:
                self.by_call[str(call_id)] = self.sessions[str(session)]
        elif base == "update_plan":
            plan = args.get("plan")
            task = self._current()
            if isinstance(plan, list) and task is not None:
                task.plan = [
                    (_clip(str(p.get("step", "")), 120), str(p.get("status", "")))
                    for p in plan
                    if isinstance(p, dict) and p.get("step")
                ]
        elif base == "view_image":
            path = args.get("path")
            if isinstance(path, str) and path:
                cmd_ = Command(self.seq, f"view_image {path}", "view_image", answered=True)
                cmd_.exit_code = 0
                cmd_.files = [p for p in [_clean_path(path, self.cwd)] if p]
                self._add(cmd_)
        elif name:
            summary = ", ".join(
                f"{k}={_clip(v if isinstance(v, str) else json.dumps(v, sort_keys=True), 60)}"
                for k, v in sorted(args.items())
                if k != "_raw"
            )
            label = f"Called tool {_code(name)}" + (f" ({_clip(summary, 160)})" if summary else "")
            self._add(Note(self.seq, label))

    def _command(self, call_id: Any, text: str, tool: str, workdir: str | None) -> None:
        if not text.strip():
            return
        cwd = workdir or self.cwd
        cmd = Command(self.seq, text.strip(), tool, workdir=workdir)
        cmd.files = command_paths(cmd.text[:ANALYSE_CHARS], cwd)
        self._add(cmd)
        if call_id:
            self.by_call[str(call_id)] = cmd

    def _edit(self, call_id: Any, patch: str) -> None:
        files = [(op, _clean_path(p, self.cwd) or p) for op, p in patch_files(patch)]
        edit = Edit(self.seq, files)
        self._add(edit)
        if call_id:
            self.by_call[str(call_id)] = edit

    def _output(self, item: dict[str, Any]) -> None:
        call_id = str(item.get("call_id"))
        target = self.by_call.get(call_id)
        current = self._current()
        early = current is None or current.continuation
        if target is None and self.continuation_title is not None and early:
            # A later chunk opening with the output of a call made in an earlier chunk: its
            # exit status is still evidence.
            target = Command(
                self.seq, f"(a command from an earlier part, call {call_id})", "orphan"
            )
            self._add(target)
        if target is None:
            return
        out = parse_output(item.get("output"))
        if isinstance(target, Edit):
            text = out.body
            if out.exit_code not in (None, 0) or _PATCH_FAIL.search(text):
                target.ok = False
                target.error = error_excerpt(text) or _last_lines(text) or None
            elif out.exit_code == 0 or "success" in text.lower() or not text.strip():
                target.ok = True
            return
        target.answered = True
        if out.exit_code is not None:
            target.exit_code = out.exit_code
            target.running = False
        elif out.running_session is not None:
            target.running = True
            self.sessions[out.running_session] = target
        target.body = _bound(target.body + "\n" + out.body if target.body else out.body)
        target.error_hint = error_excerpt(target.body)

    def finish(self) -> Rollout:
        # In a first chunk no earlier request exists: stray work before the first request is
        # folded into the first task.
        if self.tasks and self.pending:
            self.tasks[0].events[:0] = self.pending
        return Rollout(tasks=self.tasks, env_cwd=self.env_cwd)


def analyse(items: Sequence[dict[str, Any]], cwd: str, continuation_title: str | None) -> Rollout:
    builder = _Builder(cwd, continuation_title)
    for item in items:
        builder.feed(item)
    return builder.finish()


# --------------------------------------------------------------------------------------------
# Judgements: outcome, failures and their fixes


def task_outcome(task: Task, moved_on: bool) -> tuple[str, str]:
    """(outcome, reason) by the rule in the module docstring."""
    actions = [a for a in task.actions if a.status_known]
    feedback = [e for e in task.events if isinstance(e, Feedback)]
    if feedback:
        last = feedback[-1]
        after = [a for a in actions if a.seq > last.seq]
        quote = _quote(last.quote, 120)
        if last.positive:
            if after and after[-1].failed:
                return "partial", f"the user confirmed ({quote}) but a later step failed"
            return "success", f"the user confirmed: {quote}"
        if any(a.succeeded for a in after):
            return "partial", f"the user reported a problem ({quote}); later work is unconfirmed"
        return "fail", f"the user reported a problem: {quote}"
    if actions and actions[-1].failed:
        return "fail", f"the last step failed: {_describe_action(actions[-1])}"
    had_failure = any(a.failed for a in actions)
    if moved_on:
        why = "the user moved on to the next request without complaint"
        if had_failure:
            why += "; earlier failures were worked around"
        return "success", why
    if had_failure:
        return "partial", "failures were worked around, but the user did not confirm the result"
    if actions:
        return "uncertain", f"{_plural(len(actions), 'step')} succeeded; the user did not confirm"
    return "uncertain", "no tool evidence and no user feedback"


def _describe_action(a: Command | Edit) -> str:
    if isinstance(a, Command):
        return f"{_code(_clip(a.text, COMMAND_CHARS))} {_status(a)}"
    names = ", ".join(_code(p) for _, p in a.files[:4]) or "a patch"
    return f"editing {names} " + ("failed" if a.failed else "succeeded")


def _status(cmd: Command) -> str:
    if cmd.exit_code is not None:
        return f"(exit {cmd.exit_code})"
    if cmd.running:
        return "(still running; no exit status)"
    if not cmd.answered:
        return "(no output recorded)"
    return "(error output)" if cmd.failed else "(no exit status)"


@dataclass
class Failure:
    what: str
    error: str | None
    resolution: str
    knowledge: str | None


def _overall(outcomes: Sequence[str]) -> str:
    """The rollout's outcome for the front matter: the common outcome if all tasks agree; a
    mix of done and failed work is partial; otherwise unconfirmed work makes it uncertain."""
    kinds = set(outcomes)
    if len(kinds) == 1:
        return outcomes[0]
    if "partial" in kinds or ("fail" in kinds and "success" in kinds):
        return "partial"
    if "fail" in kinds:
        return "fail"
    return "uncertain"


def failures(task: Task) -> list[Failure]:
    out: list[Failure] = []
    actions = task.actions
    for i, a in enumerate(actions):
        if not a.failed:
            continue
        later = actions[i + 1 :]
        fixed: Command | Edit | None
        if isinstance(a, Command):
            key = command_key(a.text)
            fixed = next(
                (
                    b
                    for b in later
                    if isinstance(b, Command) and b.succeeded and command_key(b.text) == key
                ),
                None,
            )
            what = f"{_code(_clip(a.text, COMMAND_CHARS))} failed {_status(a)}"
            error = a.error
        else:
            fixed = next((b for b in later if isinstance(b, Edit) and b.succeeded), None)
            names = ", ".join(_code(p) for _, p in a.files[:4]) or "a patch"
            what = f"applying a patch to {names} failed"
            error = a.error
        knowledge: str | None = None
        if fixed is not None:
            between = [b for b in later if b.seq < fixed.seq]
            edited = _dedupe([p for b in between if isinstance(b, Edit) for _, p in b.files])
            via = f" after editing {', '.join(_code(p) for p in edited[:4])}" if edited else ""
            if isinstance(fixed, Command) and isinstance(a, Command) and fixed.text != a.text:
                resolution = (
                    f"resolved{via}: {_code(_clip(fixed.text, COMMAND_CHARS))} succeeded; "
                    f"next time start with that form"
                )
                knowledge = (
                    f"{_code(_clip(fixed.text, COMMAND_CHARS))} works where "
                    f"{_code(_clip(a.text, COMMAND_CHARS))} failed"
                )
            elif isinstance(fixed, Command):
                resolution = f"resolved{via}: the same command then succeeded"
            else:
                resolution = "resolved: a later patch applied cleanly"
        elif later:
            resolution = f"next step: {_describe_action(later[0])}; no later success of it"
        else:
            resolution = "unresolved at the end of the task"
        out.append(Failure(what, error, resolution, knowledge))
    return out


def _environment_facts(task: Task) -> list[str]:
    facts: list[str] = []
    for cmd in task.commands:
        if not cmd.failed:
            continue
        for m in _NOT_FOUND.finditer(cmd.body):
            tool = m.group("a") or m.group("b")
            if tool:
                facts.append(f"{_code(tool)} is not installed or not on PATH here")
        for m in _NO_MODULE.finditer(cmd.body):
            facts.append(f"Python module {_code(m.group(1))} was missing in this environment")
    return _dedupe(facts)


_TRIVIAL_PROGRAMS = _PROGRAM_SKIP | frozenset(
    {"rg", "grep", "find", "mkdir", "touch", "rm", "cp", "mv", "view_image"}
    | {f"git {sub}" for sub in "status diff log show add commit checkout switch stash".split()}
)


def _working_commands(task: Task) -> list[str]:
    out: list[str] = []
    for cmd in task.commands:
        if not cmd.succeeded or cmd.tool in ("view_image", "orphan"):
            continue
        if all(k in _TRIVIAL_PROGRAMS for k in command_programs(cmd.text)):
            continue
        out.append(cmd.text)
    return _dedupe(out)


# --------------------------------------------------------------------------------------------
# Keywords, groups, slugs

_GROUPS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("testing", r"\b(?:pytest|tests?|unittest|jest|vitest|tox|nox|test suite)\b"),
        ("debugging", r"\b(?:fix|bug|errors?|traceback|crash\w*|fail\w*|broken|debug\w*)\b"),
        ("git", r"\b(?:git|commit|branch|merge|rebase|pull request|cherry-pick)\b"),
        ("build", r"\b(?:build|compile|cmake|webpack|bundle|docker\w*)\b"),
        ("setup", r"\b(?:install\w*|set ?up|configur\w*|dependenc\w*|venv|environment)\b"),
        ("refactoring", r"\b(?:refactor\w*|rename|clean ?up|restructur\w*)\b"),
        ("review", r"\b(?:review|audit)\b"),
        ("logs", r"\blogs?\b"),
        ("exploration", r"\b(?:show|list|find|where|look at|files|explore|inspect)\b"),
        ("docs", r"\b(?:readme|docs?|documentation|explain|describe|summar\w*)\b"),
    )
)
_STOPWORDS = frozenset(
    "a an the to of in on for and or with this that these those it its is are be me my i you "
    "your we our please can could would should how what why when where which do does did "
    "here there just some any all from by at as into about so then than over under".split()
)


def task_group(task: Task, project: str) -> str:
    group = next((n for n, p in _GROUPS if p.search(task.prompt)), None)
    if group is None:
        text = " ".join(c.text for c in task.commands)
        group = next((n for n, p in _GROUPS if p.search(text)), "general")
    return f"{project} / {group}" if project else group


def make_slug(title: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", title.lower()) if w not in _STOPWORDS]
    slug = ""
    for w in words[:7]:
        candidate = f"{slug}_{w}" if slug else w
        if len(candidate) > 60:
            break
        slug = candidate
    return slug or "session"


def _keywords(tasks: Sequence[Task], project: str, branch: str | None) -> list[str]:
    out: list[str] = [project] if project else []
    if branch:
        out.append(branch)
    for task in tasks:
        out.append(task.group.split(" / ")[-1])
        for cmd in task.commands:
            if cmd.tool != "orphan":
                out.extend(k for k in command_programs(cmd.text) if len(k) <= 30)
        for pref in task.preferences:
            m = _PREFER_XY.search(pref.quote) or _USE_XY.search(pref.quote)
            if m:
                out.extend(_clip(_strip_tail(m.group(g)), 30) for g in ("x", "y"))
        out.extend(posixpath.basename(p) for p in task.files()[:6])
        for cmd in task.commands:
            err = cmd.error or ""
            m = re.search(r"\b([A-Z]\w*(?:Error|Exception))\b", err)
            if m:
                out.append(m.group(1))
    cleaned = [k.replace(",", " ").strip() for k in out]
    return _dedupe([k for k in cleaned if k])[:MAX_KEYWORDS]


# --------------------------------------------------------------------------------------------
# Rendering


@dataclass
class _TaskView:
    task: Task
    outcome: str
    reason: str
    failures: list[Failure]


def _bullets(lines: Sequence[str], empty: str) -> list[str]:
    return [f"- {ln}" for ln in lines] if lines else [f"- {empty}"]


def _cap_list(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    head = limit // 2
    tail = limit - head - 1
    return [*lines[:head], f"… {len(lines) - head - tail} more …", *lines[-tail:]]


def _key_steps(task: Task) -> list[str]:
    steps: list[str] = []
    last_key: str | None = None
    repeat = 0
    for e in task.events:
        if isinstance(e, Command):
            line = f"Ran {_code(_clip(e.text, COMMAND_CHARS))} {_status(e)}"
            if e.workdir:
                line += f" in {_code(e.workdir)}"
            if e.failed and e.error:
                line += f": {_quote(e.error, 160)}"
        elif isinstance(e, Edit):
            names = ", ".join(f"{_code(p)} ({op})" for op, p in e.files[:6]) or "files"
            more = f" and {len(e.files) - 6} more" if len(e.files) > 6 else ""
            state = {True: "", False: " — failed", None: ""}[e.ok]
            line = f"Edited {names}{more}{state}"
        elif isinstance(e, Note):
            line = e.text
        else:
            continue
        if line == last_key:
            repeat += 1
            steps[-1] = f"{line} (×{repeat + 1})"
            continue
        last_key, repeat = line, 0
        steps.append(line)
    if task.plan:
        plan = "; ".join(f"{step} [{status}]" for step, status in task.plan[:8])
        steps.append(f"Final plan: {_clip(plan, 400)}")
    return _cap_list(steps, MAX_STEPS)


def _knowledge(view: _TaskView, cwd: str, branch: str | None) -> list[str]:
    task = view.task
    out: list[str] = []
    for cmd in _working_commands(task)[:5]:
        out.append(f"{_code(_clip(cmd, COMMAND_CHARS))} runs successfully in this project")
    out.extend(f.knowledge for f in view.failures if f.knowledge)
    out.extend(_environment_facts(task))
    files = task.files()
    if files:
        shown = ", ".join(_code(p) for p in files[:8])
        out.append(f"Files involved: {shown}" + (" …" if len(files) > 8 else ""))
    if cwd:
        where = f"Project root: {_code(cwd)}"
        out.append(where + (f" (git branch {_code(branch)})" if branch else ""))
    return _dedupe(out)[:MAX_KNOWLEDGE]


def _preference_lines(task: Task) -> list[str]:
    return [
        f"the user said {_quote(p.quote, 200)} -> in similar future tasks, {p.implication}"
        for p in task.preferences[:MAX_PREFS]
    ]


def _failure_lines(view: _TaskView) -> list[str]:
    lines = []
    for f in view.failures[:MAX_FAILURES]:
        err = f": {_quote(f.error, 200)}" if f.error else ""
        lines.append(f"{f.what}{err}; {f.resolution}")
    for e in view.task.events:
        if isinstance(e, Feedback) and not e.positive:
            lines.append(f"The user pushed back: {_quote(e.quote, 200)}")
    return lines[: MAX_FAILURES + 2]


def _references(view: _TaskView) -> list[str]:
    task = view.task
    refs: list[str] = []
    if task.continuation:
        refs.append("this part of the rollout holds tool work only; the request came earlier")
    else:
        refs.append(f"user request: {_quote(task.prompt, PROMPT_CHARS)}")
    for cmd in task.commands[:6]:
        ref = f"{_code(_clip(cmd.text, COMMAND_CHARS))} {_status(cmd)}"
        excerpt = _output_excerpt(cmd.body) if cmd.succeeded else ""
        refs.append(ref + (f" -> output: {_quote(excerpt, 160)}" if excerpt else ""))
    if len(task.commands) > 6:
        refs.append(f"… and {len(task.commands) - 6} more commands")
    for f in view.failures[:3]:
        if f.error:
            refs.append(f"error output: {_quote(f.error, 200)}")
    if task.final_answer:
        refs.append(f"final assistant message (excerpt): {_quote(task.final_answer, 240)}")
    return [f"[{i}] {r}" for i, r in enumerate(refs, 1)]


MAX_HIDDEN_LISTED = 20


def _hidden_section(hidden: Sequence[_TaskView], heading: str) -> list[str]:
    """Requests beyond MAX_TASKS: their preferences first (the most durable signal), then a
    one-line list."""
    if not hidden:
        return []
    out = [f"{heading} Further requests (not expanded)", ""]
    prefs = _dedupe([line for v in hidden for line in _preference_lines(v.task)])
    if prefs:
        out += ["Preference signals:", *_bullets(prefs[-MAX_PREFS:], ""), ""]  # the latest
    out += [f"- {_quote(v.task.prompt, 160)} — {v.outcome}" for v in hidden[:MAX_HIDDEN_LISTED]]
    if len(hidden) > MAX_HIDDEN_LISTED:
        out.append(f"- … and {len(hidden) - MAX_HIDDEN_LISTED} more")
    return [*out, ""]


def _cap_field(text: str) -> str:
    if len(text) <= MAX_FIELD_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_FIELD_CHARS - len(TRUNCATION_NOTE))
    cut = cut if cut > 0 else MAX_FIELD_CHARS - len(TRUNCATION_NOTE)
    return text[:cut].rstrip() + TRUNCATION_NOTE.rstrip("\n")


def render(rollout: Rollout, request: ExtractionRequest) -> Stage1Output:
    tasks = rollout.tasks
    if not tasks:
        return Stage1Output(rollout_summary="", raw_memory="", rollout_slug="")
    cwd = request.cwd or rollout.env_cwd or ""
    branch = request.git_branch
    project = posixpath.basename(cwd.rstrip("/")) if cwd else ""
    views: list[_TaskView] = []
    for i, task in enumerate(tasks):
        outcome, reason = task_outcome(task, moved_on=i + 1 < len(tasks))
        task.group = task_group(task, project)
        views.append(_TaskView(task, outcome, reason, failures(task)))
    overall = _overall([v.outcome for v in views])
    shown, hidden = views[:MAX_TASKS], views[MAX_TASKS:]
    first = tasks[0]

    n_cmds = sum(len(t.commands) for t in tasks)
    n_failed = sum(1 for t in tasks for c in t.commands if c.failed)
    title = first.title + (
        f" (+{_plural(len(tasks) - 1, 'more request')})" if len(tasks) > 1 else ""
    )
    context = f"cwd {_code(cwd)}" if cwd else "cwd not recorded"
    context += f", git branch {_code(branch)}" if branch else ", git branch not recorded"
    n_requests = sum(1 for t in tasks if not t.continuation)
    context += f"; {_plural(n_requests, 'user request')}, {_plural(n_cmds, 'command')} run"
    context += f" ({n_failed} failed)" if n_failed else ""
    if request.chunk_count > 1:
        context += f"; part {request.chunk_index + 1} of {request.chunk_count} of a long rollout"
    context += ". Extracted offline by rules (no model)."

    summary: list[str] = [f"# {title}", "", f"Rollout context: {context}", ""]
    for v in shown:
        t = v.task
        summary += [f"## Task {t.number}: {t.title}", "", f"Outcome: {v.outcome} ({v.reason})", ""]
        summary += ["Preference signals:", *_bullets(_preference_lines(t), "None stated."), ""]
        summary += ["Key steps:", *_bullets(_key_steps(t), "No tool use; answered directly."), ""]
        summary += [
            "Failures and how to do differently:",
            *_bullets(_failure_lines(v), "None observed."),
            "",
        ]
        summary += ["Reusable knowledge:", *_bullets(_knowledge(v, cwd, branch), "None."), ""]
        summary += ["References:", *_bullets(_references(v), "None."), ""]
    summary += _hidden_section(hidden, "##")

    all_prefs = [p for t in tasks for p in t.preferences]
    description = f"{first.title}" + (
        f" and {_plural(len(tasks) - 1, 'more request')}" if len(tasks) > 1 else ""
    )
    description += f" in {project or 'an unrecorded cwd'}; outcome {overall}"
    if n_cmds:
        description += f"; {_plural(n_cmds, 'command')} run ({n_failed} failed)"
    if all_prefs:
        description += "; preferences: " + "; ".join(p.implication for p in all_prefs[:3])
    raw: list[str] = [
        "---",
        f"description: {_clip(description, 400)}",
        f"task: {_clip(first.title, TITLE_CHARS)}",
        f"task_group: {first.group}",
        f"task_outcome: {overall}",
        f"cwd: {cwd or 'unknown'}",
        f"keywords: {', '.join(_keywords(tasks, project, branch))}",
        "---",
        "",
    ]
    for v in shown:
        t = v.task
        raw += [
            f"### Task {t.number}: {t.title}",
            "",
            f"task: {_clip(t.prompt, PROMPT_CHARS)}",
            f"task_group: {t.group}",
            f"task_outcome: {v.outcome}",
            "",
        ]
        raw += ["Preference signals:", *_bullets(_preference_lines(t), "None stated."), ""]
        raw += ["Reusable knowledge:", *_bullets(_knowledge(v, cwd, branch), "None."), ""]
        raw += [
            "Failures and how to do differently:",
            *_bullets(_failure_lines(v), "None observed."),
            "",
        ]
        raw += ["References:", *_bullets(_references(v), "None."), ""]
    raw += _hidden_section(hidden, "###")

    return Stage1Output(
        rollout_summary=_cap_field("\n".join(summary).rstrip() + "\n"),
        raw_memory=_cap_field("\n".join(raw).rstrip() + "\n"),
        rollout_slug=make_slug(first.title),
    )


def extract_output(request: ExtractionRequest) -> Stage1Output:
    """The offline stage-1 output of one request (pure and deterministic)."""
    items = parse_items(request.rollout_contents)
    continuation = (
        f"Continuation of an earlier request (part {request.chunk_index + 1} of "
        f"{request.chunk_count})"
        if request.chunk_index > 0
        else None
    )
    return render(analyse(items, request.cwd, continuation), request)


class OfflineExtractor:
    """Stage-1 extraction by rules: no model, no network, no cost."""

    name = NAME
    model = MODEL

    async def extract(self, request: ExtractionRequest) -> ExtractionResult:
        # Pure CPU work on up to a budget's worth of text: keep it off the event loop so the
        # daemon's heartbeats and socket stay responsive.
        output = await asyncio.to_thread(extract_output, request)
        return ExtractionResult(
            output=output,
            usage=Usage(),
            backend=self.name,
            model=self.model,
        )

    async def aclose(self) -> None:
        return None
