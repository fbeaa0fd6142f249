"""The ``codex`` stage-1 backend: the installed Codex CLI extracts one rollout (or chunk) per
``codex exec`` run, under the user's own Codex login (SPEC §5).

Each run gets a private temporary directory as its working root (read-only sandbox: it has no
reason to touch any file) holding the stage-1 JSON schema for ``--output-schema`` (Codex then
asks the model for a strict ``json_schema`` reply, as our ``openai`` backend does). The prompt,
on stdin, is our stage-1 system prompt followed by the stage-1 input message with the rendered,
already redacted rollout. The child's final agent message (``-o FILE``, else the last
``agent_message`` event) is parsed by the project's lenient stage-1 parser; token usage comes
from the ``turn.completed`` events of its ``--json`` output.

Failures: a child that cannot start or exits non-zero is a BackendError carrying its own error
message; one killed at ``backends.codex.timeout_seconds`` is a transient BackendError; a run
that finishes without a usable final message is an OutputError that still carries the tokens
spent, so phase 1 books them. The run-level rules (process group, ephemeral child, memory
overrides) are memoryd/llm/codexcli.py's.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Final

from memoryd.extract.base import ExtractionRequest, ExtractionResult, OutputError
from memoryd.extract.openai import UnusableReplyError
from memoryd.extract.output import STAGE1_SCHEMA, finalize_output, parse_stage1_output
from memoryd.llm.codexcli import CodexBackend, CodexExit, CodexStartError, CodexTimeoutError
from memoryd.llm.types import BackendError, Usage
from memoryd.prompts import stage1_input_message, stage1_system_prompt

SCHEMA_FILE: Final = "stage1_schema.json"
LAST_MESSAGE_FILE: Final = "last_message.txt"


def stage1_prompt(request: ExtractionRequest) -> str:
    """The whole prompt of one extraction run: exec has one input, so the system prompt and
    the per-rollout message travel together."""
    return f"{stage1_system_prompt()}\n\n---\n\n{stage1_input_message(request)}"


def final_message(workdir: Path, done: CodexExit) -> str | None:
    """The child's final message: the ``-o`` file when it wrote one, else the last
    ``agent_message`` event."""
    try:
        return (workdir / LAST_MESSAGE_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return done.events.last_message


class CodexExtractor(CodexBackend):
    """Stage-1 extraction by ``codex exec`` (see the module doc)."""

    name = "codex"
    phase = "phase1"

    @property
    def allow_legacy(self) -> bool:
        return self.config.phase1.accept_legacy_keys

    async def extract(self, request: ExtractionRequest) -> ExtractionResult:
        with tempfile.TemporaryDirectory(prefix="memoryd-codex-") as tmp:
            workdir = Path(tmp)
            schema = workdir / SCHEMA_FILE
            schema.write_text(json.dumps(STAGE1_SCHEMA), encoding="utf-8")
            argv = self.command(
                workdir,
                sandbox="read-only",
                shell=False,
                extra=[
                    "--output-schema",
                    str(schema),
                    "--output-last-message",
                    str(workdir / LAST_MESSAGE_FILE),
                ],
            )
            try:
                done = await self.runner.run(argv, stage1_prompt(request), cwd=workdir)
            except CodexTimeoutError as e:
                raise BackendError(str(e), transient=True) from None
            except CodexStartError as e:
                raise BackendError(str(e)) from None
            usage = done.events.usage
            if done.returncode != 0:
                raise _SpentBackendError(done.failure(), usage)
            text = final_message(workdir, done)
        if text is None or not text.strip():
            raise UnusableReplyError(
                "codex exec finished without a final message"
                + (f" ({done.events.errors[-1]})" if done.events.errors else ""),
                usage,
            )
        try:
            parsed = parse_stage1_output(text, allow_legacy=self.allow_legacy)
        except OutputError as e:
            raise UnusableReplyError(str(e), usage) from None
        return ExtractionResult(
            output=finalize_output(parsed), usage=usage, backend=self.name, model=self.model
        )


class _SpentBackendError(BackendError):
    """A failed run that still spent tokens before it failed (phase 1 books ``usage``)."""

    def __init__(self, message: str, usage: Usage) -> None:
        super().__init__(message)
        self.usage = usage
