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
import msgspec.inspect

from memoryd.errors import ConfigError

Backend = Literal["offline", "openai", "chat", "codex"]
LogLevel = Literal["debug", "info", "warning", "error"]

_T = TypeVar("_T")
_MIB = 1024 * 1024
_GIB = 1024 * _MIB
# Every duration and count has an upper bound that works: a value past it used to pass
# validation and then overflow SQLite's 64-bit integers (a lease of 2**63-1 seconds) or
# asyncio's timers on first use.
_DAY = 86_400
_WEEK = 7 * _DAY
_MAX_TOKENS = 10**15  # far past any real budget, far below 2**63 when summed per day
Seconds = Annotated[int, msgspec.Meta(ge=0, le=30 * _DAY)]  # backoffs and intervals
Timeout = Annotated[float, msgspec.Meta(gt=0, le=_DAY)]  # one request or child process
Lease = Annotated[int, msgspec.Meta(ge=10, le=_WEEK)]
Heartbeat = Annotated[int, msgspec.Meta(ge=1, le=_DAY)]
Tokens = Annotated[int, msgspec.Meta(ge=0, le=_MAX_TOKENS)]
Price = Annotated[float, msgspec.Meta(ge=0, le=1e9)]


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class IndexConfig(_Section):
    rescan_seconds: Annotated[float, msgspec.Meta(ge=1, le=_WEEK)] = 300.0
    debounce_ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] = 500
    max_line_bytes: Annotated[int, msgspec.Meta(ge=4096, le=_GIB)] = 16 * 1024 * 1024
    # A .jsonl.zst rollout is refused once it expands past either (memoryd/rollouts/limits.py).
    max_decompressed_bytes: Annotated[int, msgspec.Meta(ge=1 << 20, le=1 << 40)] = 1 << 30
    max_decompression_ratio: Annotated[int, msgspec.Meta(ge=2, le=1 << 20)] = 200


class Phase1Config(_Section):
    backend: Backend = "offline"
    model: str = ""
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=256)] = 8
    max_running: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 64
    lease_seconds: Lease = 600
    heartbeat_seconds: Heartbeat = 60
    retry_delay_seconds: Seconds = 3600
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 3
    min_rollout_idle_hours: Annotated[float, msgspec.Meta(ge=0, le=24 * 365)] = 12.0
    max_rollout_age_days: Annotated[float, msgspec.Meta(gt=0, le=36_500)] = 30.0
    # The interactive terminal UI records "vscode" since Codex 0.160: ["cli"] alone would
    # silently lose terminal sessions.
    allowed_sources: list[str] = msgspec.field(default_factory=lambda: ["cli", "vscode"])
    honor_codex_generate_memories: bool = False
    disable_on_external_context: bool = False
    max_input_tokens: Annotated[int, msgspec.Meta(ge=1000, le=100_000_000)] = 150_000
    accept_legacy_keys: bool = True
    transient_retries: Annotated[int, msgspec.Meta(ge=0, le=20)] = 3
    # The ``max_tokens`` of every chat call: a stage-1 object is a few hundred tokens, and a
    # small local model that loops must not generate until the server's context is full.
    max_output_tokens: Annotated[int, msgspec.Meta(ge=16, le=1_000_000)] = 4096


class Phase2Config(_Section):
    backend: Backend = "offline"
    model: str = ""
    lease_seconds: Lease = 3600
    heartbeat_seconds: Heartbeat = 90
    retry_delay_seconds: Seconds = 3600
    min_interval_seconds: Seconds = 900
    max_inputs: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 256
    max_unused_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 30
    # Bounds of a tool-calling consolidation agent (openai, chat): memoryd/consolidate/loop.py.
    max_turns: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 40
    max_seconds: Annotated[float, msgspec.Meta(gt=0, le=_WEEK)] = 1800.0
    loop_repeat_limit: Annotated[int, msgspec.Meta(ge=2, le=100)] = 3
    first_change_turns: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 16
    no_progress_turns: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 8
    # What a tool-calling agent may write in one run (memoryd/consolidate/tools.py): past a per-file
    # bound the tool call is refused; past a per-run bound the run also fails (write_limit).
    agent_max_file_bytes: Annotated[int, msgspec.Meta(ge=4096, le=64 * _MIB)] = _MIB
    agent_max_bytes_written: Annotated[int, msgspec.Meta(ge=4096, le=_GIB)] = 32 * _MIB
    agent_max_files_created: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 500
    agent_max_path_depth: Annotated[int, msgspec.Meta(ge=2, le=64)] = 8
    agent_max_path_chars: Annotated[int, msgspec.Meta(ge=32, le=1024)] = 200
    # A file in the memory root larger than this is left out of the baseline, the diff and
    # the run history (a warning, and a doctor line); it is never read whole.
    max_file_bytes: Annotated[int, msgspec.Meta(ge=4096, le=_GIB)] = 8 * _MIB
    # Wall time of one regex search by the agent; a slower one is stopped and refused.
    search_regex_seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 5.0
    max_output_tokens: Annotated[int, msgspec.Meta(ge=16, le=1_000_000)] = 8192  # per turn
    # A model (or server) that makes no tool call at all ends the agent run with the reason
    # ``no_tool_calls``; true runs the offline consolidator instead, so a folder still results.
    offline_fallback: bool = False


class OfflineConfig(_Section):
    """The offline extractor's meaning model (memoryd/extract/offline/meaning.py): ``auto``
    uses it when it is installed, ``on`` requires it, ``off`` keeps the rules alone."""

    meaning: Literal["auto", "on", "off"] = "auto"


class OpenAIBackendConfig(_Section):
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_seconds: Timeout = 120.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 16
    # A streamed reply larger than this fails the call (checked while streaming).
    max_reply_bytes: Annotated[int, msgspec.Meta(ge=64 * 1024, le=1 << 32)] = 32 * 1024 * 1024


class ChatBackendConfig(_Section):
    base_url: str = "http://127.0.0.1:11434/v1"
    api_key_env: str = ""
    timeout_seconds: Timeout = 120.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 4
    max_reply_bytes: Annotated[int, msgspec.Meta(ge=64 * 1024, le=1 << 32)] = 32 * 1024 * 1024
    # The server's context window in tokens, which sizes stage-1 chunks; 0 asks the server
    # (llama.cpp's /props, vLLM's max_model_len) and keeps phase1.max_input_tokens if it can't say.
    context_tokens: Tokens = 0
    # false: phase-2 turns are not streamed (for servers that cannot stream tool calls).
    stream_tools: bool = True


class CodexBackendConfig(_Section):
    binary: str = "codex"
    timeout_seconds: Timeout = 600.0
    phase2_timeout_seconds: Timeout = 1800.0
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    config_overrides: list[str] = msgspec.field(default_factory=list)


class BackendsConfig(_Section):
    openai: OpenAIBackendConfig = msgspec.field(default_factory=OpenAIBackendConfig)
    chat: ChatBackendConfig = msgspec.field(default_factory=ChatBackendConfig)
    codex: CodexBackendConfig = msgspec.field(default_factory=CodexBackendConfig)


class BudgetPhaseConfig(_Section):
    """One phase's own limits, on top of the shared ``[budget]`` ones (SPEC §5)."""

    daily_tokens: Tokens = 0  # this phase's own spend per UTC day; 0 = only the shared cap
    run_tokens: Tokens = 0  # replaces budget.run_tokens for this phase; 0 = use that


class ModelPrice(_Section):
    """What a model costs, for the ledger's cost estimate (any currency; USD is usual)."""

    input_per_million: Price = 0.0
    output_per_million: Price = 0.0


class BudgetConfig(_Section):
    """Token budgets. The day is the UTC day: spend resets at 00:00 UTC."""

    daily_tokens: Tokens = 0  # both phases together; 0 = unlimited
    run_tokens: Tokens = 0  # one extraction job / one consolidation; 0 = unlimited
    phase1: BudgetPhaseConfig = msgspec.field(default_factory=BudgetPhaseConfig)
    phase2: BudgetPhaseConfig = msgspec.field(default_factory=BudgetPhaseConfig)
    prices: dict[str, ModelPrice] = msgspec.field(default_factory=dict)  # model name -> price


class LogConfig(_Section):
    level: LogLevel = "info"
    max_bytes: Annotated[int, msgspec.Meta(ge=4096, le=_GIB)] = 10 * 1024 * 1024
    backups: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5


class DaemonConfig(_Section):
    shutdown_grace_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 30.0
    # Control connections served at once; the excess is answered ``busy`` and closed. Well
    # under the usual 1024 open files, so that clients cannot starve the daemon of them.
    max_control_connections: Annotated[int, msgspec.Meta(ge=1, le=65536)] = 256


class StateConfig(_Section):
    """Where the state lives: ``sqlite`` (one file in the state dir) or ``postgres`` (one
    database every host shares; docs/multi-host.md). The DSN is read from the environment
    variable ``dsn_env`` names, so that no password sits in the file."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    dsn_env: str = "MEMORYD_PG_DSN"
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 8


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
    offline: OfflineConfig = msgspec.field(default_factory=OfflineConfig)
    budget: BudgetConfig = msgspec.field(default_factory=BudgetConfig)
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    daemon: DaemonConfig = msgspec.field(default_factory=DaemonConfig)
    state: StateConfig = msgspec.field(default_factory=StateConfig)


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
    env_name = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", cfg.state.dsn_env)
    if cfg.state.backend == "postgres" and not env_name:
        raise ConfigError(
            source,
            "state.dsn_env",
            f"must name an environment variable (it holds the DSN), got {cfg.state.dsn_env!r}",
        )
    if not cfg.phase1.allowed_sources:
        raise ConfigError(source, "phase1.allowed_sources", "must name at least one source")


def _convert(data: Mapping[str, Any], typ: type[_T], source: str, prefix: str = "") -> _T:
    """``data`` as a ``typ``, or a ConfigError naming the key (under ``prefix``)."""
    try:
        return msgspec.convert(dict(data), typ)
    except msgspec.ValidationError as e:
        key, problem = _explain(e)
        choices = _choices(typ, key) if problem.startswith("invalid value") else None
        if choices:
            problem = f"{problem}; valid values: {', '.join(map(repr, choices))}"
        elif problem != "unknown key" and " got " not in problem:
            found, value = _lookup(data, key)
            if found:
                problem = f"{problem}, got {value!r}"
        if prefix:
            key = prefix if key == "<top level>" else f"{prefix}.{key}"
        raise ConfigError(source, key, problem) from None


def _choices(typ: Any, key: str) -> tuple[Any, ...] | None:
    """The values a Literal-typed key (``phase1.backend``) accepts, or None."""
    info: Any = msgspec.inspect.type_info(typ)
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        while isinstance(info, msgspec.inspect.Metadata):
            info = info.type
        if part.startswith("[") and isinstance(info, msgspec.inspect.ListType):
            info = info.item_type
        elif isinstance(info, msgspec.inspect.StructType):
            field = next((f for f in info.fields if f.encode_name == part), None)
            if field is None:
                return None
            info = field.type
        else:
            return None
    while isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    return tuple(info.values) if isinstance(info, msgspec.inspect.LiteralType) else None


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
    state_raw = env.get("MEMORYD_STATE_DIR") or cfg.state_dir
    if state_raw:
        state_dir = _expand(state_raw, env)
    else:
        xdg_state = env.get("XDG_STATE_HOME")
        base = _expand(xdg_state, env) if xdg_state else _expand("~/.local/state", env)
        state_dir = base / "memoryd"
    # memoryd's own folder, not <codex_home>/memories: that one becomes a link to this one
    # (memoryd/memroot/codexlink.py). Beside the DB it is derived from and the run history, so one
    # directory holds all memoryd owns, already private and writable to the service unit.
    memory_root = _expand(cfg.memory_root, env) if cfg.memory_root else state_dir / "memories"
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


# The names a memory root holds (SPEC §1; Codex's v1 layout), and memoryd's own.
_MEMORY_NAMES = frozenset(
    {
        "MEMORY.md",
        "memory_summary.md",
        "raw_memories.md",
        "rollout_summaries",
        "skills",
        "extensions",
        "phase2_workspace_diff.md",
        ".git.memoryd-tmp",
        ".git.memoryd-new",
        ".git.memoryd-old",
    }
)


def _is_memoryd_git(git: Path) -> bool:
    """Whether ``git`` is a baseline repository memoryd made (its config says so)."""
    try:
        with open(git / "config", "rb") as f:
            return b"baseline-version" in f.read(64 * 1024)
    except OSError:
        return False


def _unsafe_root_reason(paths: Paths, home: Path) -> str | None:
    real = Path(os.path.realpath(paths.memory_root))

    def holds(outer: Path, inner: Path) -> bool:  # outer is inner, or one of its parents
        return outer == inner or outer in inner.parents

    codex_home = Path(os.path.realpath(paths.codex_home))
    state_dir = Path(os.path.realpath(paths.state_dir))
    if real == Path(real.anchor):
        return "is the root of the file system"
    if holds(real, home):
        return "is your home directory" if real == home else "contains your home directory"
    if real == codex_home:
        return "is codex_home itself, where Codex keeps its sessions and settings"
    for d in (*paths.sessions_dirs, paths.archived_dir):
        sessions = Path(os.path.realpath(d))
        if holds(real, sessions):
            return f"contains the rollout directory {sessions}"
        if holds(sessions, real):
            return f"is inside the rollout directory {sessions}"
    if holds(real, state_dir):
        return f"contains memoryd's state dir {state_dir}"
    if holds(state_dir, real) and real != state_dir / "memories":
        return f"is inside memoryd's state dir {state_dir}"
    if real == codex_home / "memories":
        return None  # Codex's own memory folder: whatever is there is memories
    try:
        names = sorted(e.name for e in os.scandir(real))
    except (FileNotFoundError, NotADirectoryError):
        return None  # made on first use (a file in the way is refused where it is made)
    except OSError as e:
        return f"cannot be listed ({e.strerror or e})"
    if not names or any(n in _MEMORY_NAMES for n in names):
        return None
    if ".git" in names and _is_memoryd_git(real / ".git"):
        return None
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"is a non-empty directory without memory files (it holds {shown})"


def check_memory_root(settings: Settings, env: Mapping[str, str] | None = None) -> None:
    """ConfigError (key ``memory_root``) when the memory root is a place whose contents
    memoryd would commit into its history and rewrite: the file-system root, the home
    directory, codex_home, anything around the rollouts or the state dir, or a non-empty
    directory that holds no memory files."""
    env = os.environ if env is None else env
    home = Path(os.path.realpath(_expand("~", env)))
    why = _unsafe_root_reason(settings.paths, home)
    if why is not None:
        raise ConfigError(
            settings.source,
            "memory_root",
            f"{settings.paths.memory_root} {why}; memoryd would commit and rewrite what is "
            "there: set memory_root to an empty or new directory of its own",
        )
