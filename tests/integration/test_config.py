"""Config: SPEC defaults, the shipped file, lookup order, env overrides, and bad files."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from memoryd.config import Config, load_settings, parse_config
from memoryd.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "memoryd.toml"
SHIPPED_DEFAULTS = tomllib.loads(SHIPPED.read_text())


def test_defaults_are_the_spec_values() -> None:
    c = Config()
    assert c.codex_home == "~/.codex" and c.sessions_dirs == [] and c.memory_root == ""
    assert c.index.rescan_seconds == 300
    p1 = c.phase1
    assert (p1.backend, p1.concurrency, p1.max_running) == ("offline", 8, 64)
    assert (p1.lease_seconds, p1.heartbeat_seconds) == (600, 60)
    assert (p1.retry_delay_seconds, p1.max_retries) == (3600, 3)
    assert (p1.min_rollout_idle_hours, p1.max_rollout_age_days) == (12, 30)
    assert p1.allowed_sources == ["cli", "vscode"]
    assert p1.honor_codex_generate_memories is False
    p2 = c.phase2
    assert (p2.backend, p2.lease_seconds, p2.heartbeat_seconds) == ("offline", 3600, 90)
    assert (p2.retry_delay_seconds, p2.min_interval_seconds) == (3600, 900)
    assert (p2.max_inputs, p2.max_unused_days) == (256, 30)
    # The Responses default points at the public API (SPEC §9); tests never connect to it.
    assert c.backends.openai.base_url == SHIPPED_DEFAULTS["backends"]["openai"]["base_url"]
    assert c.backends.openai.base_url.startswith("https://")
    assert c.backends.openai.api_key_env == "OPENAI_API_KEY"
    assert c.backends.chat.base_url == "http://127.0.0.1:11434/v1"
    assert c.backends.codex.binary == "codex"
    assert (c.budget.daily_tokens, c.budget.run_tokens) == (0, 0)


def _keys(d: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for k, v in d.items():
        if isinstance(v, dict):
            out |= _keys(v, f"{prefix}{k}.")
        else:
            out.add(prefix + k)
    return out


def test_shipped_file_has_every_key_with_its_default_and_a_comment() -> None:
    data = tomllib.loads(SHIPPED.read_text())
    assert _keys(data) == _keys(msgspec.to_builtins(Config()))
    assert msgspec.to_builtins(parse_config(data, str(SHIPPED))) == msgspec.to_builtins(Config())
    for line in SHIPPED.read_text().splitlines():
        if re.match(r"^\s*[a-z_]+\s*=", line):
            assert "#" in line, f"no comment on: {line}"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.update(extra)
    return env


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_lookup_order_flag_then_env_then_xdg(tmp_path: Path) -> None:
    xdg = _write(tmp_path / "xdg" / "memoryd" / "config.toml", "[phase1]\nconcurrency = 3\n")
    envfile = _write(tmp_path / "env.toml", "[phase1]\nconcurrency = 4\n")
    flag = _write(tmp_path / "flag.toml", "[phase1]\nconcurrency = 5\n")

    s = load_settings(None, _env(tmp_path))
    assert (s.source, s.config.phase1.concurrency) == (str(xdg), 3)
    s = load_settings(None, _env(tmp_path, MEMORYD_CONFIG=str(envfile)))
    assert (s.source, s.config.phase1.concurrency) == (str(envfile), 4)
    s = load_settings(flag, _env(tmp_path, MEMORYD_CONFIG=str(envfile)))
    assert (s.source, s.config.phase1.concurrency) == (str(flag), 5)


def test_no_file_anywhere_means_defaults(tmp_path: Path) -> None:
    s = load_settings(None, _env(tmp_path))
    assert s.source == "<defaults>" and s.config == Config()
    home = tmp_path / "home"
    assert s.paths.codex_home == home / ".codex"
    assert s.paths.sessions_dirs == (home / ".codex" / "sessions",)
    assert s.paths.archived_dir == home / ".codex" / "archived_sessions"
    # memoryd's own folder; <codex_home>/memories becomes a link to it (codexlink.py)
    assert s.paths.memory_root == home / ".local" / "state" / "memoryd" / "memories"
    assert s.paths.state_dir == home / ".local" / "state" / "memoryd"
    assert s.paths.db_path == home / ".local" / "state" / "memoryd" / "memoryd.sqlite"
    assert s.paths.socket_path == home / ".local" / "state" / "memoryd" / "memoryd.sock"


def test_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml", _env(tmp_path))
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(None, _env(tmp_path, MEMORYD_CONFIG=str(tmp_path / "nope.toml")))


def test_environment_overrides_paths(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path / "c.toml",
        'codex_home = "/from/file"\nstate_dir = "/state/file"\nsocket_path = "/sock/file"\n',
    )
    s = load_settings(cfg, _env(tmp_path))
    assert str(s.paths.codex_home) == "/from/file"
    assert str(s.paths.state_dir) == "/state/file"
    assert str(s.paths.socket_path) == "/sock/file"
    s = load_settings(
        cfg,
        _env(
            tmp_path,
            CODEX_HOME="/env/codex",
            MEMORYD_STATE_DIR="/env/state",
            MEMORYD_SOCKET="/env/sock",
        ),
    )
    assert str(s.paths.codex_home) == "/env/codex"
    assert str(s.paths.memory_root) == "/env/state/memories"  # follows the state dir
    assert str(s.paths.state_dir) == "/env/state"
    assert str(s.paths.db_path) == "/env/state/memoryd.sqlite"
    assert str(s.paths.socket_path) == "/env/sock"


def test_xdg_state_and_runtime_dirs(tmp_path: Path) -> None:
    s = load_settings(None, _env(tmp_path, XDG_STATE_HOME="/xs", XDG_RUNTIME_DIR="/run/user/1000"))
    assert str(s.paths.state_dir) == "/xs/memoryd"
    assert str(s.paths.socket_path) == "/run/user/1000/memoryd/memoryd.sock"


def test_sessions_dirs_and_memory_root_from_file(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path / "c.toml",
        'sessions_dirs = ["~/a", "/b"]\nmemory_root = "~/mem"\n',
    )
    s = load_settings(cfg, _env(tmp_path))
    home = tmp_path / "home"
    assert s.paths.sessions_dirs == (home / "a", Path("/b"))
    assert s.paths.memory_root == home / "mem"


BAD_FILES = [
    ("syntax", "phase1 = [", "<top>", "TOML syntax error"),
    (
        "unknown state backend",
        '[state]\nbackend = "mysql"\n',
        "state.backend",
        "invalid value 'mysql'; valid values: 'postgres', 'sqlite'",
    ),
    (
        "dsn in place of its variable",
        '[state]\nbackend = "postgres"\ndsn_env = "postgresql://u@h/db"\n',
        "state.dsn_env",
        "must name an environment variable",
    ),
    ("unknown top-level key", "colour = 1\n", "colour", "unknown key"),
    ("unknown nested key", "[phase1]\nconcurency = 8\n", "phase1.concurency", "unknown key"),
    ("unknown section", "[phase3]\nx = 1\n", "phase3", "unknown key"),
    (
        "wrong type",
        '[phase1]\nconcurrency = "eight"\n',
        "phase1.concurrency",
        "expected int, got str",
    ),
    (
        "bool for int",
        "[phase1]\nconcurrency = true\n",
        "phase1.concurrency",
        "expected int, got bool",
    ),
    (
        "below range",
        "[phase1]\nconcurrency = 0\n",
        "phase1.concurrency",
        "expected int >= 1, got 0",
    ),
    (
        "above range",
        "[phase2]\nmax_inputs = 5000\n",
        "phase2.max_inputs",
        "expected int <= 4096, got 5000",
    ),
    (
        "negative",
        "[budget]\ndaily_tokens = -1\n",
        "budget.daily_tokens",
        "expected int >= 0, got -1",
    ),
    ("bad enum", '[phase1]\nbackend = "gpt"\n', "phase1.backend", "invalid value 'gpt'"),
    (
        "bad list item",
        '[phase1]\nallowed_sources = ["cli", 3]\n',
        "phase1.allowed_sources[1]",
        "expected str, got int",
    ),
    ("section is not a table", "phase1 = 3\n", "phase1", "expected object, got int"),
    (
        "heartbeat not below lease",
        "[phase2]\nlease_seconds = 60\nheartbeat_seconds = 90\n",
        "phase2.heartbeat_seconds",
        "must be less than phase2.lease_seconds (60)",
    ),
    (
        "bad url",
        '[backends.chat]\nbase_url = "localhost:11434"\n',
        "backends.chat.base_url",
        "not an http(s) URL",
    ),
    (
        "no sources",
        "[phase1]\nallowed_sources = []\n",
        "phase1.allowed_sources",
        "must name at least one source",
    ),
    ("not utf-8", b"codex_home = '\xff'\n", "<top>", "not UTF-8"),
]


@pytest.mark.acceptance  # starts other processes
@pytest.mark.parametrize(
    ("name", "text", "key", "problem"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_bad_file_is_refused_with_one_line_naming_file_key_problem(
    tmp_path: Path, name: str, text: str | bytes, key: str, problem: str
) -> None:
    cfg = tmp_path / "bad.toml"
    if isinstance(text, bytes):
        cfg.write_bytes(text)
    else:
        cfg.write_text(text)
    state = tmp_path / "state"
    env = {
        **_env(tmp_path),
        "PATH": "/usr/bin:/bin",
        "CODEX_HOME": str(tmp_path / "codex"),
        "MEMORYD_STATE_DIR": str(state),
    }
    for args in (["--config", str(cfg), "run", "--once"], ["--config", str(cfg), "serve"]):
        r = subprocess.run(
            [sys.executable, "-m", "memoryd", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        line = lines[0]
        assert line.startswith(f"memoryd: config error: {cfg}: ")
        if key != "<top>":
            assert f": {key}: " in line
        assert problem in line
        # Refused before touching anything: no state dir, no DB, no log.
        assert not state.exists()
