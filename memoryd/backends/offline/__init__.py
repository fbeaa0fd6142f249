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

from memoryd.backends.base import ExtractionRequest, ExtractionResult, Stage1Output, Usage
from memoryd.backends.offline.items import parse_items
from memoryd.backends.offline.language import is_preference, preference_implication, read_message
from memoryd.backends.offline.limits import MAX_FIELD_CHARS, MODEL, NAME, QUOTE_CHARS
from memoryd.backends.offline.render import render
from memoryd.backends.offline.shell import command_key, command_paths, parse_output
from memoryd.backends.offline.timeline import analyse

__all__ = [
    "MAX_FIELD_CHARS",
    "MODEL",
    "NAME",
    "QUOTE_CHARS",
    "OfflineExtractor",
    "command_key",
    "command_paths",
    "extract_output",
    "is_preference",
    "parse_items",
    "parse_output",
    "preference_implication",
    "read_message",
]


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
