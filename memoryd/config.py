"""Every memoryd setting as a typed msgspec Struct, loaded from TOML plus the environment.

Lookup order for the file: ``--config PATH``, then ``$MEMORYD_CONFIG``, then
``$XDG_CONFIG_HOME/memoryd/config.toml`` (else ``~/.config/memoryd/config.toml``). A missing
XDG file means "all defaults"; a missing file that was named explicitly is an error.

Environment overrides (SPEC §9): ``CODEX_HOME``, ``MEMORYD_STATE_DIR``, ``MEMORYD_SOCKET``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from memoryd.errors import ConfigError

Backend = Literal["offline", "openai", "chat", "codex"]
LogLevel = Literal["debug", "info", "warning", "error"]

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegFloat = Annotated[float, msgspec.Meta(ge=0)]
_T = TypeVar("_T")


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class IndexConfig(_Section):
    rescan_seconds: Annotated[float, msgspec.Meta(ge=1)] = 300.0
    debounce_ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] = 500
    max_line_bytes: Annotated[int, msgspec.Meta(ge=4096)] = 16 * 1024 * 1024


class Phase1Config(_Section):
    backend: Backend = "offline"
    model: str = ""
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    max_running: PositiveInt = 64
    lease_seconds: Annotated[int, msgspec.Meta(ge=10)] = 600
    heartbeat_seconds: PositiveInt = 60
    retry_delay_seconds: NonNegInt = 3600
    max_retries: NonNegInt = 3
    min_rollout_idle_hours: Annotated[float, msgspec.Meta(ge=0)] = 12.0
    max_rollout_age_days: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    allowed_sources: list[str] = msgspec.field(default_factory=lambda: ["cli", "vscode"])
    honor_codex_generate_memories: bool = False
    disable_on_external_context: bool = False
    max_input_tokens: Annotated[int, msgspec.Meta(ge=1000)] = 150_000
    accept_legacy_keys: bool = True
    transient_retries: Annotated[int, msgspec.Meta(ge=0, le=20)] = 3
    # The ``max_tokens`` of every chat call: a stage-1 object is a few hundred tokens, and a
    # small local model that loops must not generate until the server's context is full.
    max_output_tokens: Annotated[int, msgspec.Meta(ge=16, le=1_000_000)] = 4096


class Phase2Config(_Section):
    backend: Backend = "offline"
    model: str = ""
    lease_seconds: Annotated[int, msgspec.Meta(ge=10)] = 3600
    heartbeat_seconds: PositiveInt = 90
    retry_delay_seconds: NonNegInt = 3600
    min_interval_seconds: NonNegInt = 900
    max_inputs: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 256
    max_unused_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30
    # Bounds of a tool-calling consolidation agent (openai, chat): memoryd/agent/guard.py.
    max_turns: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 40
    max_seconds: PositiveFloat = 1800.0
    loop_repeat_limit: Annotated[int, msgspec.Meta(ge=2, le=100)] = 3
    first_change_turns: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 16
    no_progress_turns: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 8
    max_output_tokens: Annotated[int, msgspec.Meta(ge=16, le=1_000_000)] = 8192  # per turn
    # A model (or server) that makes no tool call at all ends the agent run with the reason
    # ``no_tool_calls``; true runs the offline consolidator instead, so a folder still results.
    offline_fallback: bool = False


class OpenAIBackendConfig(_Section):
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_seconds: PositiveFloat = 120.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 16


class ChatBackendConfig(_Section):
    base_url: str = "http://127.0.0.1:11434/v1"
    api_key_env: str = ""
    timeout_seconds: PositiveFloat = 120.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 4
    # The server's context window in tokens, which sizes stage-1 chunks; 0 asks the server
    # (llama.cpp's /props, vLLM's max_model_len) and keeps phase1.max_input_tokens if it can't say.
    context_tokens: NonNegInt = 0
    # false: phase-2 turns are not streamed (for servers that cannot stream tool calls).
    stream_tools: bool = True


class CodexBackendConfig(_Section):
    binary: str = "codex"
    timeout_seconds: PositiveFloat = 600.0
    phase2_timeout_seconds: PositiveFloat = 1800.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    config_overrides: list[str] = msgspec.field(default_factory=list)


class BackendsConfig(_Section):
    openai: OpenAIBackendConfig = msgspec.field(default_factory=OpenAIBackendConfig)
    chat: ChatBackendConfig = msgspec.field(default_factory=ChatBackendConfig)
    codex: CodexBackendConfig = msgspec.field(default_factory=CodexBackendConfig)


class BudgetPhaseConfig(_Section):
    """One phase's own limits, on top of the shared ``[budget]`` ones (SPEC §5)."""

    daily_tokens: NonNegInt = 0  # this phase's own spend per UTC day; 0 = only the shared cap
    run_tokens: NonNegInt = 0  # replaces budget.run_tokens for this phase; 0 = use that


class ModelPrice(_Section):
    """What a model costs, for the ledger's cost estimate (any currency; USD is usual)."""

    input_per_million: NonNegFloat = 0.0
    output_per_million: NonNegFloat = 0.0


class BudgetConfig(_Section):
    """Token budgets. The day is the UTC day: spend resets at 00:00 UTC."""

    daily_tokens: NonNegInt = 0  # both phases together; 0 = unlimited
    run_tokens: NonNegInt = 0  # one extraction job / one consolidation; 0 = unlimited
    phase1: BudgetPhaseConfig = msgspec.field(default_factory=BudgetPhaseConfig)
    phase2: BudgetPhaseConfig = msgspec.field(default_factory=BudgetPhaseConfig)
    prices: dict[str, ModelPrice] = msgspec.field(default_factory=dict)  # model name -> price


class LogConfig(_Section):
    level: LogLevel = "info"
    max_bytes: Annotated[int, msgspec.Meta(ge=4096)] = 10 * 1024 * 1024
    backups: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5


class DaemonConfig(_Section):
    shutdown_grace_seconds: Annotated[float, msgspec.Meta(ge=0)] = 30.0


class Config(_Section):
    codex_home: str = "~/.codex"
    sessions_dirs: list[str] = msgspec.field(default_factory=list)
    memory_root: str = ""
    state_dir: str = ""
    socket_path: str = ""
    index: IndexConfig = msgspec.field(default_factory=IndexConfig)
    phase1: Phase1Config = msgspec.field(default_factory=Phase1Config)
    phase2: Phase2Config = msgspec.field(default_factory=Phase2Config)
    backends: BackendsConfig = msgspec.field(default_factory=BackendsConfig)
    budget: BudgetConfig = msgspec.field(default_factory=BudgetConfig)
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    daemon: DaemonConfig = msgspec.field(default_factory=DaemonConfig)


@dataclass(frozen=True)
class Paths:
    """Absolute paths derived from a Config and the environment."""

    codex_home: Path
    sessions_dirs: tuple[Path, ...]
    archived_dir: Path
    memory_root: Path
    state_dir: Path
    db_path: Path
    log_dir: Path
    socket_path: Path


@dataclass(frozen=True)
class Settings:
    """A validated config, where it came from, and the paths it resolves to."""

    config: Config
    source: str  # the file that was read, or "<defaults>"
    paths: Paths


_MSGSPEC_PATH = re.compile(r"^(?P<msg>.*) - at `\$(?P<path>[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")


def _explain(err: msgspec.ValidationError) -> tuple[str, str]:
    """Turn msgspec's message into (dotted key, human problem)."""
    text = str(err)
    m = _MSGSPEC_PATH.match(text)
    msg, path = (m.group("msg"), m.group("path")) if m else (text, "")
    key = path.lstrip(".")
    unknown = _UNKNOWN_FIELD.match(msg)
    if unknown:
        key = f"{key}.{unknown.group('field')}" if key else unknown.group("field")
        return key, "unknown key"
    msg = msg.replace("`", "")
    if msg.startswith("Expected "):
        msg = "expected " + msg[len("Expected ") :]
    elif msg.startswith("Invalid enum value"):
        msg = "invalid value" + msg[len("Invalid enum value") :]
    return key or "<top level>", msg


def _lookup(data: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """The value at a dotted key like ``phase1.allowed_sources[0]``, if present."""
    cur: Any = data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        if part.startswith("[") and isinstance(cur, list):
            i = int(part[1:-1])
            if i >= len(cur):
                return False, None
            cur = cur[i]
        elif isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        else:
            return False, None
    return True, cur


def _check_cross_fields(cfg: Config, source: str) -> None:
    if cfg.phase1.heartbeat_seconds >= cfg.phase1.lease_seconds:
        raise ConfigError(
            source,
            "phase1.heartbeat_seconds",
            f"must be less than phase1.lease_seconds ({cfg.phase1.lease_seconds})",
        )
    if cfg.phase2.heartbeat_seconds >= cfg.phase2.lease_seconds:
        raise ConfigError(
            source,
            "phase2.heartbeat_seconds",
            f"must be less than phase2.lease_seconds ({cfg.phase2.lease_seconds})",
        )
    for name in ("openai", "chat"):
        url: str = getattr(cfg.backends, name).base_url
        if not re.match(r"^https?://[^/\s]+", url):
            raise ConfigError(source, f"backends.{name}.base_url", f"not an http(s) URL: {url!r}")
    if not cfg.phase1.allowed_sources:
        raise ConfigError(source, "phase1.allowed_sources", "must name at least one source")


def _convert(data: Mapping[str, Any], typ: type[_T], source: str, prefix: str = "") -> _T:
    """``data`` as a ``typ``, or a ConfigError naming the key (under ``prefix``)."""
    try:
        return msgspec.convert(dict(data), typ)
    except msgspec.ValidationError as e:
        key, problem = _explain(e)
        if problem != "unknown key" and " got " not in problem:
            found, value = _lookup(data, key)
            if found:
                problem = f"{problem}, got {value!r}"
        if prefix:
            key = prefix if key == "<top level>" else f"{prefix}.{key}"
        raise ConfigError(source, key, problem) from None


def _check_prices(data: Mapping[str, Any], source: str) -> None:
    """msgspec names a bad entry of a table keyed by model as ``prices[...]``; check each
    entry on its own first so that the error names the model."""
    budget = data.get("budget")
    prices = budget.get("prices") if isinstance(budget, Mapping) else None
    if not isinstance(prices, Mapping):
        return
    for model, entry in prices.items():
        key = f"budget.prices.{json.dumps(model)}"
        if not isinstance(entry, Mapping):
            raise ConfigError(source, key, f"expected a table, got {entry!r}")
        _convert(entry, ModelPrice, source, key)


def parse_config(data: Mapping[str, Any], source: str) -> Config:
    """Validate a decoded TOML mapping; raise ConfigError naming the key on any problem."""
    _check_prices(data, source)
    cfg = _convert(data, Config, source)
    _check_cross_fields(cfg, source)
    return cfg


def load_file(path: Path) -> Config:
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found") from None
    except OSError as e:
        raise ConfigError(source, "", f"cannot read: {e.strerror or e}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(source, "", f"not UTF-8 text (byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "", f"TOML syntax error: {e}") from None
    return parse_config(data, source)


def default_config_path(env: Mapping[str, str]) -> Path:
    xdg = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(xdg) / "memoryd" / "config.toml"


def _expand(p: str, env: Mapping[str, str]) -> Path:
    home = env.get("HOME")
    if p.startswith("~") and home:
        p = home + p[1:]
    return Path(os.path.expanduser(p)).absolute()


def resolve_paths(cfg: Config, env: Mapping[str, str]) -> Paths:
    codex_home = _expand(env.get("CODEX_HOME") or cfg.codex_home, env)
    sessions = tuple(_expand(s, env) for s in cfg.sessions_dirs) or (codex_home / "sessions",)
    memory_root = _expand(cfg.memory_root, env) if cfg.memory_root else codex_home / "memories"
    state_raw = env.get("MEMORYD_STATE_DIR") or cfg.state_dir
    if state_raw:
        state_dir = _expand(state_raw, env)
    else:
        xdg_state = env.get("XDG_STATE_HOME")
        base = _expand(xdg_state, env) if xdg_state else _expand("~/.local/state", env)
        state_dir = base / "memoryd"
    sock_raw = env.get("MEMORYD_SOCKET") or cfg.socket_path
    if sock_raw:
        socket_path = _expand(sock_raw, env)
    elif env.get("XDG_RUNTIME_DIR"):
        socket_path = _expand(env["XDG_RUNTIME_DIR"], env) / "memoryd" / "memoryd.sock"
    else:
        socket_path = state_dir / "memoryd.sock"
    return Paths(
        codex_home=codex_home,
        sessions_dirs=sessions,
        archived_dir=codex_home / "archived_sessions",
        memory_root=memory_root,
        state_dir=state_dir,
        db_path=state_dir / "memoryd.sqlite",
        log_dir=state_dir / "logs",
        socket_path=socket_path,
    )


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Find, read and validate the config; resolve every path. Raises ConfigError."""
    env = os.environ if env is None else env
    if config_path is not None:
        cfg, source = load_file(Path(config_path)), str(config_path)
    elif env.get("MEMORYD_CONFIG"):
        source = env["MEMORYD_CONFIG"]
        cfg = load_file(Path(source))
    else:
        path = default_config_path(env)
        if path.exists():
            cfg, source = load_file(path), str(path)
        else:
            cfg, source = Config(), "<defaults>"
    return Settings(config=cfg, source=source, paths=resolve_paths(cfg, env))
