"""Judgements: each task's outcome, what is a probe or a one-off, how to run things, the
environment it lacked, its group and slug. Failures and their fixes are ``lessons``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memoryd.extract.offline.limits import COMMAND_CHARS
from memoryd.extract.offline.sentences import FOR_NOW, split_sentences
from memoryd.extract.offline.shell import (
    LOOK_VERBS,
    NO_MODULE,
    NOT_FOUND,
    PROGRAM_SKIP,
    command_key,
    command_programs,
)
from memoryd.extract.offline.tasks import Command, Edit, Feedback, Task
from memoryd.textutil import TRANSIENT, clip, dedupe, md_code, plural, quoted


def task_outcome(task: Task, moved_on: bool) -> tuple[str, str]:
    """(outcome, reason) by the rule in the module docstring."""
    actions = [a for a in task.actions if a.status_known]
    # turning down an offer ("no --no-verify, ever") judges the offer, not the work done
    feedback = [e for e in task.events if isinstance(e, Feedback) and not e.refusal]
    if feedback:
        last = feedback[-1]
        after = [a for a in actions if a.seq > last.seq]
        quote = quoted(last.quote, 120)
        if last.positive:
            if after and after[-1].failed:
                return "partial", f"the user confirmed ({quote}) but a later step failed"
            return "success", f"the user confirmed: {quote}"
        if any(a.succeeded for a in after):
            return "partial", f"the user reported a problem ({quote}); later work is unconfirmed"
        return "fail", f"the user reported a problem: {quote}"
    if actions and actions[-1].failed:
        return "fail", f"the last step failed: {describe_action(actions[-1])}"
    had_failure = any(a.failed for a in actions)
    if moved_on:
        why = "the user moved on to the next request without complaint"
        if had_failure:
            why += "; earlier failures were worked around"
        return "success", why
    if had_failure:
        return "partial", "failures were worked around, but the user did not confirm the result"
    if actions:
        return "uncertain", f"{plural(len(actions), 'step')} succeeded; the user did not confirm"
    return "uncertain", "no tool evidence and no user feedback"


def describe_action(a: Command | Edit) -> str:
    if isinstance(a, Command):
        return f"{md_code(clip(a.text, COMMAND_CHARS))} {status_text(a)}"
    names = ", ".join(md_code(p) for _, p in a.files[:4]) or "a patch"
    return f"editing {names} " + ("failed" if a.failed else "succeeded")


def status_text(cmd: Command) -> str:
    if cmd.exit_code is not None:
        return f"(exit {cmd.exit_code})"
    if cmd.running:
        return "(still running; no exit status)"
    if not cmd.answered:
        return "(no output recorded)"
    return "(error output)" if cmd.failed else "(no exit status)"


def overall_outcome(outcomes: Sequence[str]) -> str:
    """The rollout's outcome for the front matter: the common outcome if all tasks agree; a
    mix of done and failed work is partial; otherwise unconfirmed work makes it uncertain."""
    kinds = set(outcomes)
    if len(kinds) == 1:
        return outcomes[0]
    if "partial" in kinds or ("fail" in kinds and "success" in kinds):
        return "partial"
    if "fail" in kinds:
        return "fail"
    return "uncertain"


# Programs that only look (read files, search, show state): never the fix of a failure and
# never how-to-run knowledge.
PROBES = PROGRAM_SKIP | frozenset(
    "rg grep egrep fgrep ag ack find tree less more stat file env printenv ps top whoami date "
    "du df id uname man help history jq yq diff view_image lsof pgrep ss netstat which type".split()
    + [f"git {sub}" for sub in "status diff log show branch remote blame grep rev-parse".split()]
)
# Programs whose effect is one-off (a process, a temporary file): never reusable knowledge.
_ONE_OFF = frozenset("kill pkill killall rm rmdir sleep wait mkdir touch cp mv chmod open".split())


def one_off(cmd: Command) -> bool:
    """A one-off program on a value of this run (`kill 51877`, `rm -rf /tmp/x`): it cannot
    be done again, so it fixed one session; `ulimit -n 65536` can."""
    return _one_off_text(cmd.text)


def _one_off_text(text: str) -> bool:
    programs = command_programs(text)
    return (
        bool(programs)
        and all(p.split()[0] in _ONE_OFF for p in programs)
        and TRANSIENT.search(text) is not None
    )


_CHAIN = re.compile(r"\s*(?:&&|;)\s*")


def without_one_offs(text: str) -> str:
    """A command's text without its one-off steps on a value of this run: ``kill 48213 &&
    bin/dev`` is ``bin/dev`` run again; '' when every step is one; the text itself when none
    is (a quoted ``&&`` is only split when a step is dropped)."""
    steps = [p for p in _CHAIN.split(text.strip()) if p]
    kept = [p for p in steps if not _one_off_text(p)]
    return text if len(kept) == len(steps) else " && ".join(kept)


# "clang-format --version", "node -v": asking a tool what it is changes nothing.
_VERSION_ASK = re.compile(r"^\S+\s+(?:--version|-V|-v|version)\s*$")
# "pio test --help | sed -n '/-e/p'": a tool's help, read through filters, changes nothing.
_HELP_ASK = re.compile(r"^[^;&|]*\s--help(?:\s[^;&|]*)?(?:\|(?!.*&&).*)?$")


# "gh run list", "gh pr view 12", "aws s3 ls": a look verb as a nested subcommand (a second
# word before any flag) of a command that runs nothing else.
_NESTED_LOOK = re.compile(
    rf"^[\w.-]+\s+[\w-]+\s+(?:{'|'.join(sorted(LOOK_VERBS | {'view', 'ls'}))})(?:\s|$)[^;&|]*$"
)


def is_probe(cmd: Command) -> bool:
    programs = command_programs(cmd.text)
    text = cmd.text.strip()
    if _VERSION_ASK.match(text) or _NESTED_LOOK.match(text) or _HELP_ASK.match(text):
        return True
    return not programs or all(
        k in PROBES or k.split()[0] in PROBES or k.split()[-1] in LOOK_VERBS for k in programs
    )


# The name of a setting whose value is a credential: never quoted into a memory.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH|PRIVATE|COOKIE|SESSION", re.I)


def environment_facts(task: Task) -> list[str]:
    facts: list[str] = []
    for cmd in task.commands:
        if not cmd.failed:
            continue
        for m in NOT_FOUND.finditer(cmd.body):
            tool = m.group("a") or m.group("b")
            if tool:
                facts.append(f"{md_code(tool)} is not installed or not on PATH here")
        for m in NO_MODULE.finditer(cmd.body):
            facts.append(f"Python module {md_code(m.group(1))} was missing in this environment")
    return dedupe(facts)


# What a command is for, by its program or subcommand: the shapes of how-to-run knowledge.
_PURPOSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "run the tests with",
        re.compile(r"\b(?:test|tests|pytest|jest|vitest|tox|nox|unittest|ctest|rspec|phpunit)\b"),
    ),
    (
        "check it with",
        re.compile(
            r"\b(?:lint|check|clippy|vet|mypy|ruff|flake8|eslint|pylint|tsc|typecheck|black|prettier|fmt|format|isort)\b"
        ),
    ),
    ("build it with", re.compile(r"\b(?:build|compile|bundle|webpack|vite|cmake|make|package)\b")),
    ("apply migrations with", re.compile(r"\b(?:migrate|migrations?|alembic|upgrade|db)\b")),
    ("start it with", re.compile(r"\b(?:serve|server|start|dev|up|runserver|watch)\b")),
    ("install dependencies with", re.compile(r"\b(?:sync|install|add|ci|bundle|restore|fetch)\b")),
)
_ONE_FILE = re.compile(r"\s\S+\.(?:py|ts|tsx|js|go|rs|rb|java|kt|c|cc|cpp|sh|sql|mjs)(?:\s|::|$)")
_TASK_RUNNER = re.compile(
    r"^(?:make|just|task|invoke|npm\s+run|pnpm(?:\s+run)?|yarn(?:\s+run)?|bun\s+run|rake"
    r"|mise\s+run|poe)\s+(?=\w)"
)
# "monitor_speed = 115200", "PORT: 8080": a number printed as a setting's value.
_SETTING_VALUE = re.compile(r"\w\s*[=:]\s*(\d+)\b")


@dataclass(frozen=True)
class Printed:
    """What a session's commands printed, read once per session and asked of every sentence:
    its text (a name read there anchors a statement) and the numbers it shows as a setting's
    value (such a number is the project's, not a value of one run)."""

    text: str = ""
    values: frozenset[str] = frozenset()

    @classmethod
    def of(cls, text: str) -> Printed:
        return cls(text, frozenset(_SETTING_VALUE.findall(text)))


def futile_steps(task: Task) -> set[int]:
    """The seq of each command that succeeded between a failure and the same command failing
    again: a wrong attempt ("opam upgrade x", then the same error), not a way to work."""
    out: set[int] = set()
    cmds = task.commands
    for i, a in enumerate(cmds):
        if not a.failed:
            continue
        key = command_key(a.text)
        again = next(
            (
                j
                for j in range(i + 1, len(cmds))
                if cmds[j].failed and command_key(cmds[j].text) == key
            ),
            None,
        )
        if again is not None:
            out |= {c.seq for c in cmds[i + 1 : again] if c.succeeded}
    return out


# What a stopgap names that a command would hold: code, a VAR=value, a flag.
_STOPGAP_TOKEN = re.compile(
    r"`([^`\n]{4,80})`|(?<![\w`])([A-Za-z_]\w*=[^\s,;`]+)"
    r"|(?<![\w`-])(--[A-Za-z][\w-]{2,}(?:=[^\s,;`]+)?)"
)


def stopgap_commands(task: Task) -> set[int]:
    """The seq of each command that runs what the user allowed only for now to get past a
    failure: after their message, the code, setting or flag of its sentence that says so
    added to a command that had failed without it. It worked, and it is not how to work
    here. ("--check mode is enough for now" scopes the work: no failure was got past.)"""
    out: set[int] = set()
    cmds = task.commands
    for seq, text in task.said:
        tokens = [
            next(g for g in m.groups() if g)
            for s in split_sentences(text)
            if FOR_NOW.search(s)
            for m in _STOPGAP_TOKEN.finditer(s)
        ]
        if not tokens:
            continue  # most messages allow nothing for now
        for i, c in enumerate(cmds):
            held = [k for k in tokens if k in c.text]
            if c.seq > seq and held and any(_got_past(f, c, held) for f in cmds[:i]):
                out.add(c.seq)
    return out


def _got_past(failed: Command, cmd: Command, tokens: Sequence[str]) -> bool:
    """Whether ``cmd`` is ``failed`` run again with something of ``tokens`` added."""
    return (
        failed.failed
        and command_key(failed.text) == command_key(cmd.text)
        and not any(k in failed.text for k in tokens)
    )


def how_to_run(task: Task, verified: set[int]) -> list[str]:
    """Commands worth running again: those that confirmed a fix, or build, test, check, run or
    install the project, that succeeded and hold no value of one run."""
    out: list[str] = []
    futile = futile_steps(task) | stopgap_commands(task)
    for cmd in task.commands:
        if not cmd.succeeded or cmd.tool in ("view_image", "orphan") or is_probe(cmd):
            continue
        if cmd.seq in futile:
            continue
        programs = command_programs(cmd.text)
        if any(p.split()[0] in _ONE_OFF for p in programs) or TRANSIENT.search(cmd.text):
            continue
        # Version control is how the work was saved, not how to run the project; a run of
        # one named file is one session's check.
        if all(p.split()[0] == "git" for p in programs) or _ONE_FILE.search(cmd.text):
            continue
        # A task runner's target says what it does ("make migrate"); the runner does not.
        target = _TASK_RUNNER.sub("", re.sub(r"'[^']*'|\"[^\"]*\"", "", cmd.text.strip()))
        bare = [w for w in target.split() if re.fullmatch(r"\w[\w:-]*", w)]
        runner = _TASK_RUNNER.match(cmd.text.strip()) is not None
        words = " ".join(bare if runner else [*programs, *bare])
        purpose = next((what for what, pattern in _PURPOSES if pattern.search(words)), None)
        if purpose is None and cmd.seq not in verified and not runner:
            continue
        code = md_code(clip(cmd.text, COMMAND_CHARS))
        out.append(f"{purpose[:1].upper()}{purpose[1:]} {code}" if purpose else f"{code} works")
    return dedupe(out)


def verified_commands(task: Task) -> set[int]:
    """The seq of each command that succeeded after the same program had failed."""
    out: set[int] = set()
    failed_keys: set[str] = set()
    for cmd in task.commands:
        key = command_key(cmd.text)
        if cmd.failed:
            failed_keys.add(key)
        elif cmd.succeeded and key in failed_keys:
            out.add(cmd.seq)
    return out


_GROUPS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("testing", r"\b(?:pytest|tests?|unittest|jest|vitest|tox|nox|test suite)\b"),
        ("debugging", r"\b(?:fix|bug|errors?|traceback|crash\w*|fail\w*|broken|debug\w*)\b"),
        ("git", r"\b(?:git|commit|branch|merge|rebase|pull request|cherry-pick)\b"),
        ("build", r"\b(?:build|compile|cmake|webpack|bundle|docker\w*)\b"),
        ("setup", r"\b(?:install\w*|set ?up|configur\w*|dependenc\w*|venv|environment)\b"),
        ("refactoring", r"\b(?:refactor\w*|rename|clean ?up|restructur\w*)\b"),
        ("review", r"\b(?:review|audit)\b"),
        ("logs", r"\blogs?\b"),
        ("exploration", r"\b(?:show|list|find|where|look at|files|explore|inspect)\b"),
        ("docs", r"\b(?:readme|docs?|documentation|explain|describe|summar\w*)\b"),
    )
)
_STOPWORDS = frozenset(
    "a an the to of in on for and or with this that these those it its is are be me my i you "
    "your we our please can could would should how what why when where which do does did "
    "here there just some any all from by at as into about so then than over under".split()
)


def task_group(task: Task, project: str) -> str:
    group = next((n for n, p in _GROUPS if p.search(task.prompt)), None)
    if group is None:
        text = " ".join(c.text for c in task.commands)
        group = next((n for n, p in _GROUPS if p.search(text)), "general")
    return f"{project} / {group}" if project else group


def make_slug(title: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", title.lower()) if w not in _STOPWORDS]
    slug = ""
    for w in words[:7]:
        candidate = f"{slug}_{w}" if slug else w
        if len(candidate) > 60:
            break
        slug = candidate
    return slug or "session"
