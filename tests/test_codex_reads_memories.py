"""The real Codex CLI reads the memory folder memoryd wrote.

memoryd runs its whole pipeline on the bundled rollouts into a Codex home; then the Codex CLI
(npm ``@openai/codex``), pointed at the loopback Responses server and with its ``memories``
feature on but its own memory writer off (the setup SPEC §7's doctor recommends), starts a new
session. The request it sends must carry our ``memory_summary.md`` between its
MEMORY_SUMMARY markers (observed reference §6).

The binary comes from ``$MEMORYD_TEST_CODEX`` (``.ci/run`` installs it with npm), else
``codex`` on PATH; without either the test is skipped and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest
from support.mock_codex import mock_env, write_mock_config
from support.responses_server import Reply, ResponsesServer

from memoryd.config import Config, Settings, resolve_paths
from memoryd.demo import install_examples
from memoryd.runonce import run_once


def codex_binary() -> str | None:
    explicit = os.environ.get("MEMORYD_TEST_CODEX")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("codex")


CODEX = codex_binary()

pytestmark = pytest.mark.skipif(
    CODEX is None,
    reason="the Codex CLI is not installed: set MEMORYD_TEST_CODEX to a `codex` binary "
    "(npm install @openai/codex) to run this test; .ci/run does",
)


async def test_codex_cli_injects_our_memory_summary(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    install_examples(home / "sessions")
    env = {"HOME": str(tmp_path), "CODEX_HOME": str(home), "MEMORYD_STATE_DIR": str(tmp_path / "s")}
    cfg = Config()
    summary = await run_once(Settings(cfg, "<test>", resolve_paths(cfg, env)), progress=False)
    assert summary.phase2 is not None and summary.phase2.outcome == "succeeded"
    ours = (home / "memories" / "memory_summary.md").read_text()
    assert ours.startswith("v1\n") and "use uv rather than pip" in ours

    async with ResponsesServer(default=Reply(text="Hello from the loopback model.")) as srv:
        write_mock_config(
            home, srv.url, "\n[memories]\ngenerate_memories = false\nuse_memories = true\n"
        )
        child_env = mock_env(srv.url, home=tmp_path, codex_home=home)
        work = tmp_path / "work"
        work.mkdir()
        assert CODEX is not None
        proc = await anyio.to_thread.run_sync(
            lambda: subprocess.run(
                [CODEX, "exec", "--skip-git-repo-check", "Which package manager do I prefer?"],
                env=child_env,
                cwd=work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=180,
            )
        )
        bodies = [r.json for r in srv.requests if isinstance(r.json, dict)]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert bodies, "the Codex CLI sent no request to the loopback server"
    texts = [
        part.get("text", "")
        for body in bodies
        for item in body.get("input", [])
        if isinstance(item, dict)
        for part in item.get("content", []) or []
        if isinstance(part, dict)
    ]
    injected = [t for t in texts if "MEMORY_SUMMARY BEGINS" in t]
    assert injected, "no request carried a memory summary"
    section = injected[0].split("MEMORY_SUMMARY BEGINS =========", 1)[1]
    section = section.split("========= MEMORY_SUMMARY ENDS", 1)[0]
    assert section.strip() == ours.strip()
