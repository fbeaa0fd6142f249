"""The real Codex CLI pointed at a loopback Responses server (tests/support/responses_server.py):
its config.toml with a ``mock`` model provider, and an environment whose every proxy variable
leads back to that server, so nothing the CLI tries can leave the machine."""

from __future__ import annotations

import os
from pathlib import Path

MOCK_KEY_ENV = "MOCK_API_KEY"


def write_mock_config(codex_home: Path, url: str, extra: str = "") -> None:
    """``codex_home/config.toml``: the ``mock`` provider at ``url`` (the server's ``/v1``
    URL), read-only sandbox, no approvals, updates, analytics, plugins or compression, memories
    on; ``extra`` (TOML) after that."""
    (codex_home / "config.toml").write_text(
        'model = "gpt-5.1-codex"\nmodel_provider = "mock"\napproval_policy = "never"\n'
        'sandbox_mode = "read-only"\ncheck_for_update_on_startup = false\n\n'
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
