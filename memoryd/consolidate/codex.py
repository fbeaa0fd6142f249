"""The ``codex`` phase-2 agent: one ``codex exec`` run with its working root at the memory root
and a ``workspace-write`` sandbox limited to it (SPEC §5).

The child gets our consolidation prompt and run message (memoryd/prompts.py) on stdin, behind
a short note that it works with its own shell tools rather than the file tools the prompt
names. The sandbox lets it write inside the memory root only: /tmp, $TMPDIR and the network are
excluded (memoryd/llm/codexcli.py), and Codex itself keeps ``.git`` read-only. It runs ephemeral and
with its memory pipeline off, like every codex child. Phase 2 (memoryd/phase2/) validates
the artifacts afterwards exactly as for any other agent.

What the agent wrote is found by comparing snapshots of the root
(memoryd.workspace.baseline.snapshot, git blob ids) taken right before the child starts and right
after it exits: created or changed files are ``written`` (with the blob id of their content at exit
in ``written_ids``), vanished ones ``deleted``. A user edit made after the child exited is therefore
still told apart by phase 2; one made while it ran, to a file it did not touch, is indistinguishable
from the agent's work and is attributed to it (the shell leaves no finer record).

Failures are AgentErrors: ``time_limit`` when the child is killed at
``backends.codex.phase2_timeout_seconds``, ``backend`` when it cannot start or exits non-zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import anyio

from memoryd.consolidate.base import AgentError, ConsolidationInput, ConsolidationResult
from memoryd.llm.codexcli import CodexBackend, CodexStartError, CodexTimeoutError
from memoryd.prompts import consolidation_input_message, consolidation_prompt
from memoryd.workspace.baseline import snapshot

TOOLS_NOTE: Final = (
    "# Running as Codex\n\n"
    "This run differs from the text below in one way: you are a Codex agent whose working "
    "directory is the memory folder, and the file tools it names (list_files, read_file, ...) "
    "do not exist. Use your shell and patch tools instead, with paths relative to the working "
    "directory. The sandbox lets you write only inside this folder, with no network. Everything "
    "else below applies as written.\n\n"
)


def consolidation_run_prompt(request: ConsolidationInput, *, extensions: bool) -> str:
    """The child's whole prompt: the tools note, our consolidation prompt, the run message."""
    return (
        TOOLS_NOTE
        + consolidation_prompt()
        + "\n\n---\n\n"
        + consolidation_input_message(request, extensions=extensions)
    )


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(written, deleted) between two snapshots, sorted."""
    written = sorted(p for p, oid in after.items() if before.get(p) != oid)
    deleted = sorted(p for p in before if p not in after)
    return written, deleted


class CodexConsolidator(CodexBackend):
    """Phase-2 consolidation by ``codex exec`` (see the module doc)."""

    name = "codex"
    phase = "phase2"

    async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult:
        root = Path(request.root)
        argv = self.command(root, sandbox="workspace-write", shell=True)
        prompt = consolidation_run_prompt(request, extensions=(root / "extensions").is_dir())
        before = await anyio.to_thread.run_sync(snapshot, root)
        try:
            done = await self.runner.run(argv, prompt, cwd=root)
        except CodexTimeoutError as e:
            raise AgentError("time_limit", str(e)) from None
        except CodexStartError as e:
            raise AgentError("backend", str(e)) from None
        if done.returncode != 0:
            raise AgentError("backend", done.failure(), usage=done.events.usage)
        after = await anyio.to_thread.run_sync(snapshot, root)
        written, deleted = changes(before, after)
        return ConsolidationResult(
            backend=self.name,
            model=self.model,
            usage=done.events.usage,
            written=written,
            deleted=deleted,
            written_ids={p: after[p] for p in written},
            turns=done.events.turns,
        )
