"""The real Codex CLI pointed at a loopback Responses server (tests/support/responses_server.py):
its config.toml with a ``mock`` model provider, and an environment whose every proxy variable
leads back to that server, so nothing the CLI tries can leave the machine."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

MOCK_KEY_ENV = "MOCK_API_KEY"


def write_mock_config(
    codex_home: Path, url: str, extra: str = "", *, sandbox: str = "read-only"
) -> None:
    """``codex_home/config.toml``: the ``mock`` provider at ``url`` (the server's ``/v1``
    URL), the ``sandbox`` mode, no approvals, updates, analytics, plugins or compression,
    memories on; ``extra`` (TOML) after that."""
    (codex_home / "config.toml").write_text(
        'model = "gpt-5.1-codex"\nmodel_provider = "mock"\napproval_policy = "never"\n'
        f'sandbox_mode = "{sandbox}"\ncheck_for_update_on_startup = false\n\n'
        f'[model_providers.mock]\nname = "Mock Responses"\nbase_url = "{url}"\n'
        f'env_key = "{MOCK_KEY_ENV}"\nwire_api = "responses"\n\n'
        "[analytics]\nenabled = false\n\n"
        "[features]\nmemories = true\nenable_request_compression = false\n"
        "plugins = false\nremote_plugin = false\n" + extra
    )


def mock_env(url: str, *, home: Path, codex_home: Path) -> dict[str, str]:
    """A minimal environment for the CLI: PATH, ``home`` as HOME, ``codex_home`` as
    CODEX_HOME, the mock provider's dummy key, and every proxy variable at the server."""
    proxy = url.rsplit("/v1", 1)[0]  # anything that tries to leave lands here
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        MOCK_KEY_ENV: "dummy",
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "ALL_PROXY": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
    }


# ------------------------------------------------------------------------------ which CLIs

VERSIONS_ENV = "MEMORYD_TEST_CODEX_VERSIONS"
SINGLE_ENV = "MEMORYD_TEST_CODEX"
_VERSION_IN_PATH = re.compile(r"(\d+\.\d+\.\d+)")


def codex_binaries() -> list[str]:
    """Every real Codex CLI the interop tests run against: the executables listed in
    ``$MEMORYD_TEST_CODEX_VERSIONS`` (separated by ``os.pathsep``; ``.ci/run`` lists 0.169.0
    and the newest release), plus ``$MEMORYD_TEST_CODEX``; else ``codex`` on PATH; else none."""
    listed = [p for p in os.environ.get(VERSIONS_ENV, "").split(os.pathsep) if p]
    single = os.environ.get(SINGLE_ENV)
    if single and single not in listed:
        listed.append(single)
    if not listed and (found := shutil.which("codex")):
        listed.append(found)
    return [p for p in listed if os.access(p, os.X_OK)]


def codex_params() -> list[Any]:
    """``pytest.param`` per CLI from :func:`codex_binaries`, its id the version in its path
    (``.ci/codex-0.171.0/...``) or its position; one skipped param, saying how to get a CLI,
    when there is none."""
    out = []
    for i, path in enumerate(codex_binaries()):
        m = _VERSION_IN_PATH.search(path)
        out.append(pytest.param(path, id=f"codex-{m.group(1) if m else i}"))
    if not out:
        out.append(
            pytest.param(
                None,
                id="no-codex",
                marks=pytest.mark.skip(
                    reason=f"no Codex CLI: set {VERSIONS_ENV} (or {SINGLE_ENV}) to `codex` "
                    "binaries (npm install @openai/codex@VERSION); .ci/run installs two"
                ),
            )
        )
    return out


def is_memory_request(headers: dict[str, str]) -> bool:
    """Whether a request the CLI sent belongs to Codex's own memory writer: a stage-1
    extraction (turn metadata ``request_kind: memory``) or the consolidation sub-agent."""
    meta = headers.get("x-codex-turn-metadata", "")
    try:
        kind = json.loads(meta).get("request_kind") if meta else None
    except (ValueError, AttributeError):
        kind = None
    return kind == "memory" or headers.get("x-openai-subagent") == "memory_consolidation"


def run_codex(
    binary: str, url: str, *, home: Path, codex_home: Path, cwd: Path, prompt: str
) -> subprocess.CompletedProcess[str]:
    """``codex exec PROMPT`` against the loopback server at ``url``, stdin closed."""
    return subprocess.run(
        [binary, "exec", "--skip-git-repo-check", prompt],
        env=mock_env(url, home=home, codex_home=codex_home),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
