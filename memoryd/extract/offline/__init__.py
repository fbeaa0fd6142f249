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
  ("Thanks.", "great, it works"), small talk, go-aheads ("continue", "yes"), and preference
  statements,
  or a message that opens with a complaint ("that doesn't work", "No, …"). A follow-up's
  feedback and preferences belong to the task it follows.
* **Preferences.** User sentences that state how work should be done: a trigger word used as
  a rule ("prefer", "always", "never", "don't", "instead of", "from now on", …, but not
  "the build always fails", which describes), a bare "X, not Y", an imperative with a mark of
  generality ("before committing", "every", "only", "everywhere"), a modal rule ("we must …",
  "messages should …"), a prohibition ("no unwrap() in library code"), a request about the
  answers ("keep answers short"), a condition on the agent's work on any of a kind ("when you
  add a route, …"), a request with a generic object and a manner ("can you explain things
  with an example?") or an order of the agent's own steps ("explain it first, before fixing
  it"). Rules said as statements of how things are done count too (``declared``): under a
  lead-in that announces rules ("a couple of things from the firmware lead: …", "same as at
  X: …") or a count of them ("Three complaints first."), of any thing of a kind ("any change
  to the schema goes through a migration"), under a condition on any case ("if a flaky test
  shows up, it goes into quarantine"), as this place's habit ("releases here get tagged from
  trunk"), or as a wish against a repeat of an incident, quoted with the incident. Each is
  quoted with an implication read off its shape, kept whole when no shape fits
  (``language``). Questions and remarks bound to what they answer ("no, don't skip it") are
  not preferences. The user's recap of what the agent explained ("so basically X") is a rule
  in the user's words, kept as the agent corrects it (``recap``).
* **Durable statements** (``facts``): the assistant's conclusions and the user's statements
  with an anchor (env var, port, version, path, code span) and a standing verb; facts in tool
  output (``--version``, settings in config files, where a server listens); replacements ("we
  replaced X with Y", "X is gone", a command whose target no longer exists: ``changes``).
* **Commands** from ``exec_command`` / ``shell`` / ``shell_command`` function calls,
  ``local_shell_call`` items and ``write_stdin`` follow-ups, each with the exit status parsed
  from its output ("Process exited with code N", "Exit code: N", a JSON ``exit_code``).
* **Errors**: a non-zero exit, or, when no exit status is known, an error-looking output line
  (Traceback, ``…Error:``, FAILED, "command not found", "No such file or directory", …). A
  known exit code 0 wins over error-looking text (it is data, e.g. a grep for "Error:").
  Each error is paired with what changed its outcome (``judge``): the commands and kept edits
  between it and the next success of the same program or of a chain that runs it (never a
  probe like ``cat``, ``git status`` or ``x --version``, never an edit the user rejected or
  the edit that undid it; a small edit is told by the setting it added), or a different
  command that did what the failed one tried (a versioned build of the same tool included),
  or the command a user's correction named; the lesson is one line, quoting a wrapped tool's
  own error line rather than its wrapper's. An action the user rejected, or a proposal they
  refused, becomes a "don't"; of an offer of several options, the one the refusal negates
  (and the one the user then asks for is recorded as taken).
* **How to run it**: commands that build, test, check, migrate, start or install the project
  or confirmed a fix; not one-off commands (``kill <pid>``, a run of one file, git).
* **Files touched** (for the references): paths from ``apply_patch`` (any transport), the
  targets of file commands (cat, sed, head, ls, …) and path-looking arguments of others.
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

import anyio

from memoryd.extract.base import ExtractionRequest, ExtractionResult, Stage1Output
from memoryd.extract.offline.implication import preference_implication
from memoryd.extract.offline.items import parse_items
from memoryd.extract.offline.language import read_message
from memoryd.extract.offline.limits import MAX_FIELD_CHARS, MODEL, NAME, QUOTE_CHARS
from memoryd.extract.offline.meaning import Meaning, Scorer
from memoryd.extract.offline.render import render
from memoryd.extract.offline.rules import is_preference
from memoryd.extract.offline.shell import command_key, command_paths, parse_output
from memoryd.extract.offline.timeline import analyse
from memoryd.extract.offline.worktitle import title_untitled
from memoryd.llm.types import Usage

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


def extract_output(request: ExtractionRequest, meaning: Scorer | None = None) -> Stage1Output:
    """The offline stage-1 output of one request (pure and deterministic); ``meaning``: the
    meaning model's second opinion (``meaning.py``), or the rules alone."""
    items = parse_items(request.rollout_contents)
    continuation = (
        f"Continuation of an earlier request (part {request.chunk_index + 1} of "
        f"{request.chunk_count})"
        if request.chunk_index > 0
        else None
    )
    rollout = analyse(items, request.cwd, continuation)
    title_untitled(rollout, request.cwd, request.rollout_path)
    return render(rollout, request, meaning)


class OfflineExtractor:
    """Stage-1 extraction by rules: no network, no cost; with ``meaning``, a local sentence
    model adds a few lines the rules left out (it is loaded by the first extraction that needs
    it and dropped when none runs)."""

    name = NAME
    model = MODEL

    def __init__(self, meaning: Meaning | None = None) -> None:
        self.meaning = meaning

    def _extract(self, request: ExtractionRequest) -> Stage1Output:
        if self.meaning is None:
            return extract_output(request)
        with self.meaning.using() as scorer:  # None: the model would not load, rules alone
            output = extract_output(request, scorer)
            del scorer  # the last reference but ``using``'s own: the model is freed on exit
        return output

    async def extract(self, request: ExtractionRequest) -> ExtractionResult:
        # Pure CPU work on up to a budget's worth of text (and the model's encoding, which
        # releases the GIL in numpy): keep it off the event loop so the daemon's heartbeats
        # and socket stay responsive.
        output = await anyio.to_thread.run_sync(self._extract, request)
        return ExtractionResult(
            output=output,
            usage=Usage(),
            backend=self.name,
            model=self.model,
        )

    async def aclose(self) -> None:
        return None
