"""Tool calls: commands, patches, outputs, and what a shell command runs and touches."""

from __future__ import annotations

import functools
import itertools
import json
import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from memoryd.extract.offline.items import text_of
from memoryd.extract.offline.limits import QUOTE_CHARS
from memoryd.textutil import clip, dedupe, one_line

_EXIT_LINE = re.compile(
    r"(?:process exited with code|exit code:?|exited with (?:code|status))\s*(-?\d+)", re.I
)
_RUNNING = re.compile(r"process running with session id\s*(\d+)", re.I)
_ERROR_LINE = re.compile(
    r"Traceback \(most recent call last\)|^\s*E\s{2,}\S|\b[A-Z]\w*(?:Error|Exception)\b"
    r"|(?i:\berror\b(?:\[\w+\])?:)|\bERROR\b|\bFAILED\b|\bFAIL:|(?i:command not found)"
    r"|No such file or directory|Permission denied|^fatal:|panicked at|npm ERR!"
    r"|Segmentation fault|(?i:cannot find module)|(?i:\bundefined reference\b)"
    # a logger's severity above error, at the start of its line or as a field
    r"|^\s*\[?(?:CRITICAL|FATAL|EMERG|ALERT|PANIC)\b|\blevel=(?:error|fatal|critical)\b"
    # a message that ends by naming itself an error ("exec /bin/app: exec format error",
    # "…: fatal error"): the kernel's and many runtimes' wording, with no "error:" prefix
    r"|(?i:\s(?!(?:no|not|without|zero|0)\s)\w+\s+error)\s*$"
    # a server's refusal in HTTP's words (a registry, an API): "unauthorized: …", "403 Forbidden"
    r"|(?i:\bunauthorized:|\bauthentication required\b|\b40[13] forbidden\b)",
    re.M,
)
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*")
NOT_FOUND = re.compile(
    r"(?:^|\s)(?:\S+:\s+)?(?:line \d+:\s+)?(?P<a>[\w.+-]+): (?:command )?not found\b"
    r"|command not found: (?P<b>[\w.+-]+)",
    re.M,
)
_SHELL_NOISE = re.compile(r"^(?:pyenv|bash|sh|zsh|direnv|nvm|rbenv): ", re.I)
NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$", re.M)
_PATCH_MOVE = re.compile(r"^\*\*\* Move to: (.+?)\s*$", re.M)
PATCH_FAIL = re.compile(r"verification failed|failed to (?:apply|find)|invalid patch", re.I)


@dataclass
class CommandOutput:
    exit_code: int | None
    running_session: str | None
    body: str


def parse_output(raw: Any) -> CommandOutput:
    """Exit status and body of a tool output in any of Codex's shapes: the unified-exec text
    header (``Process exited with code N`` … ``Output:``), the shell tool's ``Exit code: N``
    header, or a JSON object ``{"output": …, "metadata": {"exit_code": N}}``."""
    exit_code: int | None = None
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict) and ("output" in decoded or "metadata" in decoded):
            raw = decoded
    if isinstance(raw, dict):
        meta = raw.get("metadata")
        for source in (meta if isinstance(meta, dict) else {}, raw):
            code = source.get("exit_code")
            if isinstance(code, int) and not isinstance(code, bool):
                exit_code = code
                break
        if exit_code is None and raw.get("success") is False:
            exit_code = 1
        text = text_of(raw.get("output", raw.get("content", "")))
    else:
        text = text_of(raw)
    header, sep, body = text.partition("\nOutput:\n")
    if not sep:
        if text.startswith("Output:\n"):
            header, body = "", text[len("Output:\n") :]
        else:
            header = "\n".join(text.splitlines()[:4])
            body = text
    if exit_code is None:
        m = _EXIT_LINE.search(header)
        if m:
            exit_code = int(m.group(1))
    running = _RUNNING.search(header)
    return CommandOutput(
        exit_code=exit_code,
        running_session=running.group(1) if running and exit_code is None else None,
        body=body,
    )


def error_excerpt(body: str) -> str | None:
    """The most telling error line of an output: the exception line after a traceback, else
    the first error-looking line. A wrapper's own lines (``make: ***``, a task runner's "run
    failed") only say that the wrapped tool failed, and a task runner's ``pkg:task:`` prefix
    is not part of the tool's words: both are looked past."""
    lines = [RUNNER_PREFIX.sub("", ln) for ln in body.splitlines()]
    lines = [ln for ln in lines if not WRAPPER_LINE.search(ln)] or lines
    if any("Traceback (most recent call last)" in ln for ln in lines):
        for ln in reversed(lines):
            if _EXCEPTION_LINE.match(ln.strip()):
                return clip(ln, QUOTE_CHARS)
    # pytest's "E   Error: …" detail says more than its "____ ERROR at setup ____" banner.
    for ln in lines:
        if _PYTEST_DETAIL.match(ln) and _ERROR_LINE.search(ln):
            return clip(ln[1:].strip(), QUOTE_CHARS)
    # A line that says why ("! [rejected] … (non-fast-forward)", "cannot find -lssl") says more
    # than the tool's summary of it ("error: failed to push some refs").
    for i, ln in enumerate(lines):
        if _CAUSE_LINE.search(ln):
            # a test's "expected: x" is half of what went wrong: its "actual:" line says what
            # happened instead (an exception, a refused connection)
            after = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if _EXPECTED.match(ln) and after.lower().startswith("actual:"):
                return clip(f"{ln.strip()}, {after}", QUOTE_CHARS)
            return clip(ln, QUOTE_CHARS)
    errors = [ln for ln in lines if _ERROR_LINE.search(ln) and not _BANNER.match(ln)]
    # "ChefBuildError" alone names the failure; "Error: pg_config executable not found" says it
    said = [ln for ln in errors if not _BARE_NAME.match(ln)] or errors
    if not said:
        return None
    return as_error(lines, lines.index(said[0]))


def as_error(lines: list[str], i: int) -> str:
    """Line ``i`` as an error message: without a Ruby frame before it, and with the lines
    after it when it only introduces them ("Encountered an error:")."""
    line = lines[i]
    if line.rstrip().endswith(":"):
        after = [ln.strip() for ln in lines[i + 1 :] if ln.strip()][:2]
        if after:
            line = f"{line.strip()} {' '.join(after)}"
    return clip(_FRAME.sub("", line), QUOTE_CHARS)


# A line that is only an error's name, with no message.
_BARE_NAME = re.compile(r"^\s*[\w.:]+\s*$")
# Where a Ruby error was raised ("…/migration.rb:750:in `check': "): the message follows.
_FRAME = re.compile(r"^\s*\S+:\d+:in\s+[`'][^'`]*['`]:\s+")


_CAUSE_LINE = re.compile(
    r"\[(?:remote\s+)?rejected\]|\bnon-fast-forward\b|\bpermission denied\b"
    r"|\bcannot find -l\w+|\bundefined reference\b|\bconnection refused\b"
    r"|\bNo module named\b|\bCONFLICT\b"
    # what is missing or unset, a name the compiler does not know, a resource taken, a key
    # the tool does not know, and the tool telling what to run: the cause, in any tool's words
    r"|\bundefined:\s|\b(?:must\s+be|is\s+not|not)\s+set\b|\balready\s+(?:allocated|in\s+use)\b"
    r"|\bunknown\s+(?:key|option|flag|argument|field|setting)\b|\bplease\s+run\b"
    r"|\bno\s+tests\s+were\s+found\b|\bcould\s+not\s+find\b|^\s*expected:\s"
    # an assertion's own message says why a test's verdict line says FAILED
    r"|\bassertion\b[^\n]*\bfailed\b|\bassertion\s+failed\b",
    re.I | re.M,
)
# A wrapper's summary of a wrapped tool's failure (make, turbo/nx/lerna, npm scripts).
WRAPPER_LINE = re.compile(
    r"^make(?:\[\d+\])?: \*\*\*|\bERROR:?\s+(?:run\s+failed|command\s+finished\s+with\s+error)"
    r"|^\s*ERR_PNPM_\w+|^npm ERR! (?:code|path|command|errno|A complete log)|\bELIFECYCLE\b"
    r"|\bexited\s+\(\d+\)\s*$"
)
# "@orchard/web:test: " before each line of a task runner's output, and "[node1147:2741185] "
# (host and pid) before each line a parallel runtime's process printed (Open MPI, PMIx).
RUNNER_PREFIX = re.compile(
    r"^(?:(?:@[\w.-]+/)?[\w.-]+:[A-Za-z][\w-]*:\s+|\[(?:[\w.-]+:)?\d{5,}\]\s+)"
)


_EXPECTED = re.compile(r"^\s*expected:\s", re.I)
_PYTEST_DETAIL = re.compile(r"^E\s{2,}\S")
_BANNER = re.compile(r"^\s*[_=*-]{5,}.*[_=*-]{5,}\s*$")


BODY_KEEP = 32_000


def bound(body: str) -> str:
    """Keep analysis bounded on huge outputs: the head, the tail and, from the middle, only
    the first few error-looking lines."""
    if len(body) <= 2 * BODY_KEEP:
        return body
    middle = body[BODY_KEEP:-BODY_KEEP]
    errors: list[str] = []
    for m in _ERROR_LINE.finditer(middle):
        start = middle.rfind("\n", 0, m.start()) + 1
        end = middle.find("\n", m.end())
        line = clip(middle[start : end if end != -1 else len(middle)], QUOTE_CHARS)
        if not errors or errors[-1] != line:
            errors.append(line)
        if len(errors) == 5:
            break
    kept = "".join(f"{e}\n" for e in errors)
    omitted = f"\n[... {len(middle)} chars omitted ...]\n"
    return body[:BODY_KEEP] + omitted + kept + body[-BODY_KEEP:]


def output_excerpt(body: str) -> str:
    """The start of a successful command's output, without shell start-up noise."""
    lines = [ln for ln in body.splitlines() if ln.strip() and not _SHELL_NOISE.search(ln)]
    return clip(" | ".join(lines[:6]), 160) if lines else ""


def last_lines(body: str, n: int = 3) -> str:
    lines = [ln for ln in body.splitlines() if ln.strip()]
    return clip(" | ".join(lines[-n:]), QUOTE_CHARS) if lines else ""


def patch_files(patch: str) -> list[tuple[str, str]]:
    """(operation, path) for each file of an ``apply_patch`` envelope."""
    ops: list[tuple[str, str]] = []
    for m in _PATCH_FILE.finditer(patch):
        ops.append((m.group(1).lower(), m.group(2)))
    for m in _PATCH_MOVE.finditer(patch):
        ops.append(("move", m.group(1)))
    return ops


MAX_ADDED = 8


def patch_added(patch: str, sign: str = "+") -> list[str]:
    """The non-blank lines a patch adds (with ``sign`` "-": removes), at most ``MAX_ADDED +
    1``: more means it is code, not a setting."""
    out: list[str] = []
    for ln in patch.splitlines():
        if ln.startswith(sign) and not ln.startswith(sign * 3) and ln[1:].strip():
            out.append(ln[1:].strip())
            if len(out) > MAX_ADDED:
                break
    return out


def shell_display(command: Any) -> str:
    """The shell text of an argv (``["bash", "-lc", "…"]`` → the script)."""
    if isinstance(command, str):
        return command
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        if (
            len(command) >= 3
            and posixpath.basename(command[0]) in ("bash", "sh", "zsh", "dash")
            and command[1] in ("-c", "-lc", "-ic", "-l -c")
        ):
            return str(command[2])
        return shlex.join(command)
    return ""


def json_args(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError:
            return {"_raw": arguments}
        if isinstance(value, dict):
            return value
        return {"_raw": arguments}
    return {}


# Path extraction from shell commands.
_SHELL_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"})
_REDIRECTS = frozenset({">", ">>", "<", "2>", "&>", ">&", "<<", "<<<", ">|"})
_WRAPPERS = frozenset(
    {"sudo", "env", "time", "nohup", "nice", "exec", "command", "xargs", "timeout", "then"}
)
_FILE_PROGRAMS = frozenset(
    "cat sed head tail less more ls wc stat file vim vi nano code touch rm cp mv mkdir rmdir "
    "chmod chown diff bat nl tree du open source . python python3 node bash sh zsh pytest "
    "mypy black isort eslint prettier jq yq awk tee readlink realpath".split()
)
_PATTERN_FIRST = frozenset({"grep", "rg", "egrep", "fgrep", "ag", "ack", "sed", "awk", "jq", "yq"})
_PATHLIKE_EXT = re.compile(r"\.[A-Za-z][A-Za-z0-9_+-]{0,9}$")
_SED_SCRIPT = re.compile(r"^(?:\d+(?:,\d+)?[pdq]?|\$?p|s(.).*\1.*\1[gipI0-9]*|/.*/[pd]?)$")
_BAD_PATH_CHARS = re.compile(r"[*?\[\]{}$`'\"=<>|;&\\!@%^,()]")
_LINE_SUFFIX = re.compile(r"(?::\d+(?::\d+)?|::.*)$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)[A-Za-z_]\w*\1")
PROGRAM_SKIP = frozenset(
    "cd ls cat echo pwd true false export set source printf sed head tail wc sleep clear which "
    "type test [".split()
)


def _tokens(cmd: str) -> list[str]:
    """Shell words and operators of a command; a heredoc's body is not part of the command
    line, and plain newlines separate commands."""
    if _HEREDOC.search(cmd):
        line = _HEREDOC.sub(" ", cmd.split("\n", 1)[0])
    else:
        line = cmd.replace("\n", " ; ")
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = ""
        return list(lexer)
    except ValueError:
        return line.split()


def _segments(tokens: list[str]) -> Iterator[list[str]]:
    cur: list[str] = []
    for t in tokens:
        if t in _SHELL_OPERATORS:
            if cur:
                yield cur
            cur = []
        else:
            cur.append(t)
    if cur:
        yield cur


_SHELLS = frozenset({"bash", "sh", "zsh", "dash"})


def _command_segments(cmd: str, depth: int = 0) -> Iterator[list[str]]:
    """The simple commands of a shell command line, looking inside ``bash -lc "…"``."""
    for segment in _segments(_tokens(cmd)):
        program, args = _program(segment)
        script_at = next((i for i, a in enumerate(args) if a in ("-c", "-lc", "-ic")), None)
        if program in _SHELLS and script_at is not None and script_at + 1 < len(args):
            if depth < 2:
                yield from _command_segments(args[script_at + 1], depth + 1)
            continue
        yield segment


def _program(segment: list[str]) -> tuple[str, list[str]]:
    i = 0
    while i < len(segment) and (
        (re.match(r"^[A-Za-z_]\w*=", segment[i]) is not None) or segment[i] in _WRAPPERS
    ):
        i += 1
        if segment[i - 1] in _WRAPPERS:
            # a wrapper's own options and its number ("timeout 8", "nice -n 10") come before
            # the program it runs
            while i < len(segment) and (
                segment[i].startswith("-") or re.fullmatch(r"\d+(?:\.\d+)?[smhd]?", segment[i])
            ):
                i += 1
    if i >= len(segment):
        return "", []
    return posixpath.basename(segment[i]), segment[i + 1 :]


def clean_path(token: str, cwd: str) -> str | None:
    t = _LINE_SUFFIX.sub("", token.strip())
    if not t or t.startswith("-") or "://" in t or _BAD_PATH_CHARS.search(t):
        return None
    if t in (".", "..", "/", "~") or t.startswith("/dev/") or t.startswith("/proc/"):
        return None
    if re.fullmatch(r"[\d.:/]+", t):
        return None
    root = cwd.rstrip("/")
    if root and t.startswith(root + "/"):
        t = t[len(root) + 1 :]
    if t.startswith("./"):
        t = t[2:]
    t = t.rstrip("/") or t
    return t or None


def command_paths(cmd: str, cwd: str = "") -> list[str]:
    """Files and directories a shell command names: every argument of a file command (cat,
    sed, ls, …) and path-looking arguments (a ``/`` or a file extension) of any other."""
    out: list[str] = []
    for segment in _command_segments(cmd):
        program, args = _program(segment)
        if not program or program == "cd":
            continue
        file_program = program in _FILE_PROGRAMS
        skip_pattern = program in _PATTERN_FIRST
        has_e = "-e" in args or "--regexp" in args or "-f" in args
        skip_next = False
        after_redirect = False
        for arg in args:
            if after_redirect:
                after_redirect = False
                p = clean_path(arg, cwd)
                if p and not p.isdigit():
                    out.append(p)
                continue
            if arg in _REDIRECTS or re.fullmatch(r"\d?>>?&?\d*", arg):
                after_redirect = not arg.endswith("&") and not re.search(r"&\d", arg)
                continue
            if skip_next:
                skip_next = False
                continue
            if arg in ("-c", "-m", "-e", "-n", "-name", "-iname", "-k", "-type", "--glob", "-g"):
                skip_next = arg not in ("-n",) or program in ("head", "tail")
                continue
            if arg.startswith("-"):
                continue
            if skip_pattern and not has_e:
                skip_pattern = False
                continue
            if program == "sed" and _SED_SCRIPT.match(arg):
                continue
            p = clean_path(arg, cwd)
            if p is None or p.isdigit():
                continue
            if file_program or "/" in arg or _PATHLIKE_EXT.search(p) or p.startswith("."):
                out.append(p)
    return dedupe(out)


def clip_command(command: str, limit: int) -> str:
    """A command on one line within ``limit`` characters; a chain too long keeps its last
    step whole and clips what comes before it (``rm -rf build && conan install … && cmake
    --preset dev``): the step that ends a fix is what made it work, the head says how it
    began."""
    flat = one_line(command)
    if len(flat) <= limit:
        return flat
    head, sep, last = flat.rpartition(" && ")
    if not sep or len(last) > limit // 2:
        return clip(flat, limit)
    return f"{clip(head, limit - len(last) - len(sep))}{sep}{last}"


def written_files(cmd: str) -> list[str]:
    """The files a command writes by redirecting output into them (``echo X > .env``,
    ``printf … >> local.properties``) or through ``tee``: such a command changes the
    project, whatever program prints the text."""
    out: list[str] = []
    for segment in _command_segments(cmd):
        program, args = _program(segment)
        for arg, target in itertools.pairwise(segment):
            if arg in (">", ">>", ">|") and (p := clean_path(target, "")) and not p.isdigit():
                out.append(p)
        if program == "tee":
            out.extend(p for a in args if not a.startswith("-") and (p := clean_path(a, "")))
    # a scratch file of one run is no change to the project
    return dedupe(p for p in out if not p.startswith("/tmp/"))


SUBCOMMAND_PROGRAMS = frozenset(
    "git npm pnpm yarn cargo go uv poetry pip pip3 make docker kubectl bun deno dotnet mvn "
    "gradle bundle rake just".split()
)
# Verbs that make the first argument of any other program a subcommand ("alembic upgrade"
# and "alembic heads" do different things; "pytest tests" is still pytest).
CLI_VERBS = frozenset(
    "upgrade downgrade merge heads current history revision migrate makemigrations init "
    "install uninstall add remove generate build run serve start stop restart deploy lint check "
    "format fmt sync update push pull apply plan destroy status list show info version logs "
    "port inspect describe get set create delete exec up down login ps ls images stats top".split()
)
# Subcommands that only look: never a fix, never how-to-run knowledge.
LOOK_VERBS = frozenset(
    "heads current history status list show info version logs port inspect describe get "
    "diff log ps ls images stats top".split()
)
_RUNNERS = frozenset({"uv", "poetry", "pdm", "pipenv", "hatch", "npx", "pnpx", "bunx"})


@functools.lru_cache(maxsize=4096)
def command_programs(cmd: str) -> tuple[str, ...]:
    """The programs a command runs, with the subcommand where it matters ("pytest",
    "npm test", "cargo build"); runners (``uv run``, ``npx``, ``python -m``) are looked
    through and trivial helpers (cd, ls, cat, echo, …) left out."""
    keys: list[str] = []
    for segment in _command_segments(cmd):
        program, args = _program(segment)
        if not program or program in PROGRAM_SKIP:
            continue
        rest = [a for a in args if not a.startswith("-")]
        if program in _RUNNERS and rest and rest[0] in ("run", "exec", "x"):
            rest = rest[1:]
            if rest:
                program, rest = posixpath.basename(rest[0]), rest[1:]
        elif program in _RUNNERS and program.endswith("x") and rest:
            program, rest = posixpath.basename(rest[0]), rest[1:]
        if program in ("python", "python3") and "-m" in args:
            i = args.index("-m")
            if i + 1 < len(args):
                program, rest = args[i + 1], []
        if rest and (program in SUBCOMMAND_PROGRAMS or rest[0] in CLI_VERBS):
            keys.append(f"{program} {rest[0]}")
        else:
            keys.append(program)
    return tuple(keys)


def command_key(cmd: str) -> str:
    """A coarse identity of what a command does, used to match a failed command with a later
    run that fixed it."""
    keys = command_programs(cmd)
    return " && ".join(keys) if keys else one_line(cmd)[:40]
