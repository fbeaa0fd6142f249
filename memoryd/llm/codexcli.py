"""Finding and running the installed Codex CLI as a worker (SPEC §5, the ``codex`` backend).

Both codex backends (memoryd/extract/codex.py for phase 1, memoryd/consolidate/codex.py for
phase 2) start one ``codex exec`` per piece of work through :class:`CodexRunner`, which owns
what must be right for every run:

* the command line: ``--json`` events on stdout (for token usage and error messages),
  ``--ephemeral`` (the child writes no rollout file, so it can never become a phase-1 input,
  whatever ``phase1.allowed_sources`` says), ``--skip-git-repo-check``, the prompt on stdin
  (``-``: a rollout may exceed Linux's 128 KiB limit on one argument), and ``-c`` overrides
  that switch the child's own memory pipeline and memory injection off
  (:data:`MEMORY_OFF_OVERRIDES`) and never ask for approval;
* the process: its own session and process group, stdin a pipe that is closed once the prompt
  is written (never the daemon's stdin), stdout read line by line and stderr kept as a bounded
  tail; on timeout or cancellation (daemon shutdown) SIGTERM goes to the whole group, then
  SIGKILL after a grace period, and the child is reaped, so nothing is left running;
* the environment: the user's own (their Codex login, proxies, PATH) with ``CODEX_HOME`` set to
  the home memoryd watches, so the child uses the user's existing login and never a key of ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final, Literal, Self

import anyio
import structlog
from anyio.abc import ByteReceiveStream, ByteSendStream, Process

from memoryd.config import Config, resolve_paths
from memoryd.errors import ConfigError, MemorydError
from memoryd.llm.types import Usage

log = structlog.get_logger("memoryd.codexcli")

BINARY_KEY: Final = "backends.codex.binary"
# What the usage ledger records as the model when the phase's model is empty: the child then
# uses whatever model the user's Codex config names, which memoryd cannot see.
CONFIGURED_MODEL: Final = "codex-configured"

# The child must not run Codex's own memory pipeline (it would write into the memory root
# memoryd owns) nor read memories into its prompt (they would leak into an extraction or
# bias a consolidation). Keys checked against 0.169.0 with --strict-config (observed reference
# §1); the tests run them under --strict-config too.
MEMORY_OFF_OVERRIDES: Final = (
    "features.memories=false",
    "memories.generate_memories=false",
    "memories.use_memories=false",
)
# Never wait for an approval nobody can give: exec has no terminal. No web search (a child
# must not bring external context into memories), no sub-agents, no goals.
NO_EXTRAS_OVERRIDES: Final = (
    'approval_policy="never"',
    'web_search="disabled"',
    "features.multi_agent=false",
    "features.goals=false",
)
# An extraction needs no tools at all (Codex's own stage 1 sends none): without the shell a
# rollout that talks the model into running something has nothing to run it with.
NO_SHELL_OVERRIDES: Final = ("features.shell_tool=false",)
# workspace-write allows /tmp and $TMPDIR by default (observed: a command wrote outside the
# memory root); these make the memory root the only writable place, without network.
WORKSPACE_ONLY_OVERRIDES: Final = (
    "sandbox_workspace_write.exclude_slash_tmp=true",
    "sandbox_workspace_write.exclude_tmpdir_env_var=true",
    "sandbox_workspace_write.network_access=false",
)

KILL_GRACE_SECONDS: Final = 5.0
EXIT_POLL_SECONDS: Final = 0.05
STDERR_TAIL_BYTES: Final = 64 * 1024
MAX_EVENT_LINE_BYTES: Final = 4 * 1024 * 1024  # a longer --json line is skipped, not buffered


def find_codex(binary: str) -> Path | None:
    """``backends.codex.binary`` as a path (when it has a ``/``; ``~`` expanded) or looked up
    on PATH; None when there is no executable file there."""
    if "/" in binary:
        path = Path(binary).expanduser()
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which(binary)
    return Path(found) if found else None


def require_codex(binary: str, source: str = "<config>") -> Path:
    """The codex binary, or a ConfigError naming ``backends.codex.binary`` (raised when the
    backend is built, so a daemon configured for codex refuses to start without it)."""
    path = find_codex(binary)
    if path is None:
        where = "is not an executable file" if "/" in binary else "was not found on PATH"
        raise ConfigError(
            source,
            BINARY_KEY,
            f"the Codex CLI {binary!r} {where}; install it (npm install -g @openai/codex) "
            "or set backends.codex.binary to its path",
        )
    return path


def codex_version(binary: str) -> str | None:
    """``codex --version``'s version string, or None when it cannot be run."""
    path = find_codex(binary)
    if path is None:
        return None
    try:
        out = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.stdout.split()
    return words[-1] if out.returncode == 0 and words else None


class CodexTimeoutError(MemorydError):
    """The child ran past its time limit and was killed (its whole process group)."""


class CodexStartError(MemorydError):
    """The child could not be started at all (binary gone, not executable, bad cwd)."""


@dataclass
class CodexEvents:
    """What the child's ``--json`` event stream said: token usage summed over
    ``turn.completed`` events, the last agent message, error messages, and how many commands
    and file changes it made."""

    usage: Usage = field(default_factory=Usage)
    last_message: str | None = None
    errors: list[str] = field(default_factory=list)
    turns: int = 0
    actions: int = 0
    thread_id: str | None = None

    def feed(self, line: bytes) -> None:
        """Take one stdout line; anything that is not a JSON event object is ignored."""
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "thread.started" and isinstance(event.get("thread_id"), str):
            self.thread_id = event["thread_id"]
        elif kind == "turn.completed":
            self.turns += 1
            self.usage = _add_usage(self.usage, event.get("usage"))
        elif kind == "turn.failed":
            self.errors.append(_message_of(event.get("error")) or "turn failed")
        elif kind == "error":
            self.errors.append(_message_of(event) or "error")
        elif kind == "item.completed":
            item = event.get("item")
            if not isinstance(item, dict):
                return
            item_type = item.get("type")
            if item_type == "agent_message" and isinstance(item.get("text"), str):
                self.last_message = item["text"]
            elif item_type in ("command_execution", "file_change"):
                self.actions += 1


def _message_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("message"), str):
        return " ".join(obj["message"].split())
    return None


def _add_usage(total: Usage, raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return total

    def count(key: str) -> int:
        v = raw.get(key)
        return v if isinstance(v, int) and v >= 0 else 0

    return Usage(
        input_tokens=total.input_tokens + count("input_tokens"),
        output_tokens=total.output_tokens + count("output_tokens"),
    )


@dataclass(frozen=True)
class CodexExit:
    """A child that exited by itself: its status, events and the tail of its stderr."""

    returncode: int
    events: CodexEvents
    stderr_tail: str

    def failure(self) -> str:
        """One line saying why a non-zero exit failed: the child's own error if it gave one
        (a ``--json`` error event, else the last ``Error``/``ERROR`` line of stderr)."""
        reason = self.events.errors[-1] if self.events.errors else None
        if reason is None:
            lines = [ln.strip() for ln in self.stderr_tail.splitlines() if ln.strip()]
            marked = [ln for ln in lines if ln.lower().startswith("error")]
            reason = (marked or lines or ["no error message"])[-1]
        return f"codex exec exited with status {self.returncode}: {reason[:500]}"


def child_args(
    binary: Path | str,
    *,
    cwd: Path,
    sandbox: str,
    shell: bool,
    model: str = "",
    overrides: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``codex exec`` command line (prompt on stdin). ``overrides`` are the user's
    ``backends.codex.config_overrides``; memoryd's own come after them, so they win.
    ``shell`` keeps the child's shell tool (phase 2 edits files with it)."""
    args = [
        str(binary),
        "exec",
        "--json",
        "--ephemeral",
        "--skip-git-repo-check",
        "--color",
        "never",
        "--sandbox",
        sandbox,
        "-C",
        str(cwd),
    ]
    if model:
        args += ["--model", model]
    ours = [*MEMORY_OFF_OVERRIDES, *NO_EXTRAS_OVERRIDES]
    if not shell:
        ours += NO_SHELL_OVERRIDES
    if sandbox == "workspace-write":
        ours += WORKSPACE_ONLY_OVERRIDES
    for kv in (*overrides, *ours):
        args += ["-c", kv]
    return [*args, *extra, "-"]


class _Tail:
    """The last ``limit`` bytes written to it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.limit:
            del self.data[: len(self.data) - self.limit]

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


async def _pump(
    stream: ByteReceiveStream,
    on_line: Callable[[bytes], None] | None,
    tail: _Tail | None,
    max_line: int = MAX_EVENT_LINE_BYTES,
) -> None:
    """Read a pipe to EOF: whole lines to ``on_line`` (over-long ones dropped), bytes to
    ``tail``. Never holds more than ``max_line`` bytes of a line."""
    buf = bytearray()
    skipping = False
    async for chunk in stream:
        if tail is not None:
            tail.add(chunk)
        if on_line is None:
            continue
        buf += chunk
        while (i := buf.find(b"\n")) >= 0:
            line = bytes(buf[:i])
            del buf[: i + 1]
            if skipping:
                skipping = False
            else:
                on_line(line)
        if len(buf) > max_line:
            buf.clear()
            skipping = True
    if on_line is not None and buf and not skipping:
        on_line(bytes(buf))


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _leader_exit(proc: Process) -> None:
    """Until the child itself has exited. Not ``proc.wait()``: with older anyio and Python
    releases that returns only once every pipe is closed too, and a grandchild that inherited
    stdout would keep it open for as long as it lives. The exit status is set as soon as the
    child is reaped, so this polls it."""
    while proc.returncode is None:  # noqa: ASYNC110 (no event exists for "exited, pipes open")
        await anyio.sleep(EXIT_POLL_SECONDS)


async def _stop_group(proc: Process, grace: float) -> None:
    """SIGTERM to the child's process group, SIGKILL after ``grace`` seconds (or as soon as
    the leader is gone: stragglers in the group get no second chance), then reap the leader."""
    if proc.returncode is None:
        _signal_group(proc.pid, signal.SIGTERM)
        with anyio.move_on_after(grace):
            await _leader_exit(proc)
    # The group id is the leader's pid. The kernel does not hand it to a new process while
    # any member of the group lives; with none left it is free, but pids are handed out in
    # increasing order, so it is not reused in the moment since the leader was reaped.
    _signal_group(proc.pid, signal.SIGKILL)
    await _leader_exit(proc)


@dataclass
class CodexRunner:
    """Runs ``codex exec`` children for one backend, at most ``max_concurrency`` at a time.

    ``children`` holds the process-group ids of the children running now (for shutdown
    diagnostics and for the tests that check a killed group is gone)."""

    binary: Path
    env: Mapping[str, str]
    timeout_seconds: float
    timeout_key: str
    max_concurrency: int = 1
    kill_grace: float = KILL_GRACE_SECONDS
    children: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._slots = anyio.Semaphore(self.max_concurrency)

    @classmethod
    def for_phase(
        cls,
        config: Config,
        phase: Literal["phase1", "phase2"],
        *,
        env: Mapping[str, str] | None = None,
        source: str = "<config>",
    ) -> CodexRunner:
        """The runner for one phase's backend: the binary (ConfigError naming
        ``backends.codex.binary`` when it is missing), that phase's time limit, and the
        user's environment (``os.environ`` unless given) with ``CODEX_HOME`` set to the home
        memoryd watches. Phase 2 runs one child at a time anyway."""
        cc = config.backends.codex
        child_env = dict(os.environ if env is None else env)
        child_env["CODEX_HOME"] = str(resolve_paths(config, child_env).codex_home)
        if phase == "phase1":
            timeout, key, slots = cc.timeout_seconds, "timeout_seconds", cc.max_concurrency
        else:
            timeout, key, slots = cc.phase2_timeout_seconds, "phase2_timeout_seconds", 1
        return cls(
            binary=require_codex(cc.binary, source),
            env=child_env,
            timeout_seconds=timeout,
            timeout_key=f"backends.codex.{key}",
            max_concurrency=slots,
        )

    async def run(self, argv: Sequence[str], prompt: str, *, cwd: Path) -> CodexExit:
        """Run one child to its exit. Raises CodexTimeoutError after killing it at the time
        limit, CodexStartError when it cannot start; on cancellation the child's group is
        killed before the cancellation goes on."""
        async with self._slots:
            return await self._run(argv, prompt.encode("utf-8"), cwd)

    async def _run(self, argv: Sequence[str], stdin: bytes, cwd: Path) -> CodexExit:
        try:
            proc = await anyio.open_process(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=dict(self.env),
                start_new_session=True,
            )
        except OSError as e:
            raise CodexStartError(f"could not start {argv[0]}: {e}") from e
        self.children.add(proc.pid)
        log.debug("codex_child_started", pid=proc.pid, cwd=str(cwd))
        events = CodexEvents()
        tail = _Tail(STDERR_TAIL_BYTES)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        try:
            # The time limit covers reading the pipes to their end; reaching it cancels the
            # pumps with everything else.
            with anyio.move_on_after(self.timeout_seconds) as deadline:
                async with anyio.create_task_group() as pumps:
                    pumps.start_soon(_pump, proc.stdout, events.feed, None)
                    pumps.start_soon(_pump, proc.stderr, None, tail)
                    await _feed(proc.stdin, stdin)
                    await _leader_exit(proc)
                    _signal_group(proc.pid, signal.SIGKILL)  # stragglers holding the pipes
            if deadline.cancelled_caught:
                with anyio.CancelScope(shield=True):
                    await _stop_group(proc, self.kill_grace)
        except BaseException as e:
            with anyio.CancelScope(shield=True):
                await _stop_group(proc, self.kill_grace)
            log.info("codex_child_stopped", pid=proc.pid)
            raise _only_leaf(e) from None
        finally:
            self.children.discard(proc.pid)
        if deadline.cancelled_caught:
            log.warning("codex_child_killed", pid=proc.pid, timeout=self.timeout_seconds)
            raise CodexTimeoutError(
                f"codex exec did not finish within {self.timeout_seconds:g}s "
                f"({self.timeout_key}); its process group was killed"
            )
        assert proc.returncode is not None
        return CodexExit(proc.returncode, events, tail.text())


def _only_leaf(e: BaseException) -> BaseException:
    """The one exception a task group wrapped (so callers see what the asyncio code raised),
    else ``e`` itself."""
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    return e


async def _feed(pipe: ByteSendStream, data: bytes) -> None:
    """Write the prompt and close stdin; a child that exits without reading is not an error
    here (its exit status says what went wrong)."""
    try:
        await pipe.send(data)
    except (anyio.BrokenResourceError, BrokenPipeError, ConnectionResetError):
        pass
    finally:
        await pipe.aclose()


class CodexBackend:
    """The config plumbing both codex backends share (the stage-1 extractor and the phase-2
    agent): the model to ask for (the phase's ``model``; empty leaves the user's Codex
    default) and the one to record, the user's ``backends.codex.config_overrides``, the
    phase's :class:`CodexRunner` and the command line built from them."""

    phase: ClassVar[Literal["phase1", "phase2"]]

    def __init__(
        self,
        config: Config,
        *,
        env: Mapping[str, str] | None = None,
        source: str = "<config>",
    ) -> None:
        self.config = config
        model = (config.phase1 if self.phase == "phase1" else config.phase2).model
        self.model: str = model or CONFIGURED_MODEL
        self._model_arg = model
        self.overrides = tuple(config.backends.codex.config_overrides)
        self.runner = CodexRunner.for_phase(config, self.phase, env=env, source=source)

    @classmethod
    def from_config(cls, config: Config, source: str = "<config>") -> Self:
        return cls(config, source=source)

    async def aclose(self) -> None:
        """Nothing to close: every child is reaped by the run that started it."""

    def command(
        self, cwd: Path, *, sandbox: str, shell: bool, extra: Sequence[str] = ()
    ) -> list[str]:
        """:func:`child_args` with this backend's binary, model and overrides."""
        return child_args(
            self.runner.binary,
            cwd=cwd,
            sandbox=sandbox,
            shell=shell,
            model=self._model_arg,
            overrides=self.overrides,
            extra=extra,
        )
