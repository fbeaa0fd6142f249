"""Judgements: each task's outcome, its failures and their fixes, its group and slug."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memoryd.extract.offline.language import split_sentences
from memoryd.extract.offline.limits import COMMAND_CHARS
from memoryd.extract.offline.shell import (
    LOOK_VERBS,
    MAX_ADDED,
    NO_MODULE,
    NOT_FOUND,
    PROGRAM_SKIP,
    command_key,
    command_programs,
)
from memoryd.extract.offline.timeline import Command, Edit, Feedback, Task
from memoryd.textutil import clip, dedupe, md_code, plural, quoted


def task_outcome(task: Task, moved_on: bool) -> tuple[str, str]:
    """(outcome, reason) by the rule in the module docstring."""
    actions = [a for a in task.actions if a.status_known]
    feedback = [e for e in task.events if isinstance(e, Feedback)]
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
        return "fail", f"the last step failed: {_describe_action(actions[-1])}"
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


def _describe_action(a: Command | Edit) -> str:
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


@dataclass
class Failure:
    what: str
    error: str | None
    resolution: str
    knowledge: str | None
    # The whole lesson in one self-contained line when a fix is known ("`x` failed: E; fixed
    # by `y`, then `x` passed"); the renderer prefers it to what + error + resolution.
    lesson: str | None = None
    seq: int | None = None  # of the failed action


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


def _one_off(cmd: Command) -> bool:
    """A one-off program on a value of this run (`kill 51877`, `rm -rf /tmp/x`): it cannot
    be done again, so it fixed one session; `ulimit -n 65536` can."""
    programs = command_programs(cmd.text)
    return (
        bool(programs)
        and all(p.split()[0] in _ONE_OFF for p in programs)
        and TRANSIENT.search(cmd.text) is not None
    )


# "clang-format --version", "node -v": asking a tool what it is changes nothing.
_VERSION_ASK = re.compile(r"^\S+\s+(?:--version|-V|-v|version)\s*$")


def is_probe(cmd: Command) -> bool:
    programs = command_programs(cmd.text)
    if _VERSION_ASK.match(cmd.text.strip()):
        return True
    return not programs or all(
        k in PROBES or k.split()[0] in PROBES or k.split()[-1] in LOOK_VERBS for k in programs
    )


def _family(program: str) -> str:
    """A versioned build of a tool is the same tool ("clang-format-18", "python3.12")."""
    return re.sub(r"(?<=[a-z])-?\d+(?:\.\d+)*$", "", program)


def _reruns(failed: Command, b: Command) -> bool:
    """Whether a successful ``b`` ran what ``failed`` ran: the same programs, or a chain that
    holds them ("cmake --build … && ctest" after "ctest" failed)."""
    if command_key(b.text) == command_key(failed.text):
        return True
    ka = set(command_programs(failed.text))
    return bool(ka) and ka <= set(command_programs(b.text))


def rejected_actions(task: Task) -> set[int]:
    """The seq of each action the user refused right after it (a rejection before the next
    action), and of the edit that then undid a refused edit: none of them fixed anything."""
    out: set[int] = set()
    last: Command | Edit | None = None
    undo: set[str] = set()  # files of a rejected edit: the next edit to them undoes it
    for e in task.events:
        if isinstance(e, Edit) and undo & {p for _, p in e.files}:
            out.add(e.seq)
            undo = set()
            continue
        if isinstance(e, (Command, Edit)):
            last = e
        elif isinstance(e, Feedback) and e.rejection and last is not None:
            out.add(last.seq)
            if isinstance(last, Edit):
                undo = {p for _, p in last.files}
            last = None
    return out


def _shared_subject(a: Command, b: Command) -> bool:
    """Whether ``b`` plausibly does what failed ``a`` tried: the same program or subcommand
    ("pip install" / "uv pip install"), or a shared operand (a package, a script)."""
    ka, kb = set(command_programs(a.text)), set(command_programs(b.text))
    if ka & kb or {_family(k) for k in ka} & {_family(k) for k in kb}:
        return True
    verbs_a = {k.split()[-1] for k in ka}
    verbs_b = {k.split()[-1] for k in kb}
    if verbs_a & verbs_b:
        return True
    ops_a = {w for w in re.findall(r"(?<![-\w])[A-Za-z][\w.@/-]{2,}", a.text) if w not in ka}
    ops_b = set(re.findall(r"(?<![-\w])[A-Za-z][\w.@/-]{2,}", b.text))
    generic = {p.split()[0] for p in ka | kb} | {"run", "install", "add", "exec", "test"}
    return bool((ops_a & ops_b) - generic)


def _fix_steps(between: Sequence[Command | Edit], failed: Command, rejected: set[int]) -> list[str]:
    """What changed the outcome between a failure and its success: the commands that change
    something (not probes, not re-runs of the failed one) and the edits the user kept."""
    key = command_key(failed.text)
    steps: list[str] = []
    for b in between:
        if b.seq in rejected or not b.succeeded:
            continue
        if isinstance(b, Command):
            if is_probe(b) or command_key(b.text) == key or _one_off(b):
                continue
            steps.append(md_code(clip(b.text, LESSON_PART)))
        else:
            steps.append(edit_phrase(b))
    return dedupe(steps)


# A line that sets something: "KEY=value", "key: value", "x.y = 'z'", a flag.
_SETTING_LINE = re.compile(r"^[\w.\[\]\"'-]{2,60}\s*[:=]\s*\S|^--?\w")
# The name of a setting whose value is a credential: never quoted into a memory.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH|PRIVATE|COOKIE|SESSION", re.I)
SETTING_CHARS = 60


def _added(e: Edit, code: bool) -> str:
    """What a small edit set, as code spans: the settings it added, or with ``code`` its
    first added line ("" for a big edit: that is code, not a setting)."""
    if len(e.added) > MAX_ADDED // 2:
        return ""
    shown = [ln for ln in e.added if _SETTING_LINE.search(ln)] or (e.added[:1] if code else [])
    shown = [ln for ln in shown if not SECRET_NAME.search(ln) and not TRANSIENT.search(ln)]
    return ", ".join(md_code(clip(ln, SETTING_CHARS)) for ln in shown[:2])


def edit_phrase(e: Edit) -> str:
    """ "editing `.env` (`HIVE_PG_PORT=5433`)": the files and the setting a small edit added,
    so a lesson says what changed, not only where."""
    names = ", ".join(md_code(p) for _, p in e.files[:3]) or "a file"
    added = _added(e, code=False)
    return f"editing {names} ({added})" if added else f"editing {names}"


# A lesson is one line a summary can hold whole (what failed, why, what fixed it): its parts
# are clipped so that the fix is never the part cut off.
LESSON_PART = 90
LESSON_ERROR = 110


INTERRUPTED = 130  # the shell's status for a command stopped with Ctrl-C


def _error_brief(cmd: Command) -> str:
    if cmd.exit_code == INTERRUPTED:
        return " (the user interrupted it)"
    err = cmd.error
    return f": {quoted(err, LESSON_ERROR)}" if err else f" {status_text(cmd)}"


def _distinct_words(cmd: Command, other: Command) -> set[str]:
    words = {w for k in command_programs(cmd.text) for w in k.split()}
    return words - {w for k in command_programs(other.text) for w in k.split()} - _GENERIC


_GENERIC = frozenset("run exec install add test build x rm cd".split())


def _correction(
    task: Task, failed: Command, later: Sequence[Command | Edit], rejected: set[int]
) -> tuple[Command, str] | None:
    """A user's correction after a failure that names the command to run instead ("not
    cargo test, tests here run under cargo nextest run"): the first later success whose own
    program the correction names is the fix."""
    said = [(seq, text) for seq, text in task.said if seq > failed.seq]
    for b in later:
        if not isinstance(b, Command) or not b.succeeded or b.seq in rejected or is_probe(b):
            continue
        for seq, text in said:
            if seq > b.seq:
                break
            words = set(re.findall(r"[\w.-]+", text.lower()))
            if _distinct_words(b, failed) & words:
                return b, " ".join(split_sentences(text)[:2])
    return None


def failures(task: Task) -> list[Failure]:
    out: list[Failure] = []
    actions = task.actions
    rejected = rejected_actions(task)
    for i, a in enumerate(actions):
        if not a.failed:
            continue
        later = actions[i + 1 :]
        fixed: Command | Edit | None
        lesson: str | None = None
        if isinstance(a, Command):
            probe = is_probe(a)
            fixed = next(
                (
                    b
                    for b in later
                    if isinstance(b, Command)
                    and b.succeeded
                    and _reruns(a, b)
                    and (probe or not is_probe(b))
                ),
                None,
            )
            instead = None
            if fixed is None:
                # A different command that did what the failed one tried ("pip install x"
                # failed, "uv add x" worked): the replacement is the fix.
                instead = next(
                    (
                        b
                        for b in later
                        if isinstance(b, Command)
                        and b.succeeded
                        and b.seq not in rejected
                        and not is_probe(b)
                        and _shared_subject(a, b)
                    ),
                    None,
                )
            what = f"{md_code(clip(a.text, COMMAND_CHARS))} failed {status_text(a)}"
            error = a.error
            failed_code = md_code(clip(a.text, LESSON_PART))
            if fixed is not None:
                steps = _fix_steps([b for b in later if b.seq < fixed.seq], a, rejected)
                fixed_code = md_code(clip(fixed.text, LESSON_PART))
                if steps:
                    again = "it" if fixed.text == a.text else fixed_code
                    lesson = (
                        f"{failed_code} failed{_error_brief(a)}; fixed by "
                        f"{', then '.join(steps[:3])}, after which {again} passed"
                    )
                elif fixed.text != a.text:
                    lesson = f"{failed_code} failed{_error_brief(a)}; {fixed_code} works instead"
            elif instead is not None:
                fixed = instead
                lesson = (
                    f"{failed_code} failed{_error_brief(a)}; "
                    f"{md_code(clip(instead.text, LESSON_PART))} worked instead"
                )
            else:
                corrected = _correction(task, a, later, rejected)
                if corrected is not None:
                    fixed, said = corrected
                    lesson = (
                        f"{failed_code} failed{_error_brief(a)}; the user corrected it "
                        f"({quoted(said, LESSON_ERROR)}): "
                        f"{md_code(clip(fixed.text, LESSON_PART))} worked instead"
                    )
        else:
            fixed = next((b for b in later if isinstance(b, Edit) and b.succeeded), None)
            names = ", ".join(md_code(p) for _, p in a.files[:4]) or "a patch"
            what = f"applying a patch to {names} failed"
            error = a.error
        knowledge: str | None = None
        if fixed is not None:
            between = [b for b in later if b.seq < fixed.seq and b.seq not in rejected]
            edited = dedupe([p for b in between if isinstance(b, Edit) for _, p in b.files])
            via = f" after editing {', '.join(md_code(p) for p in edited[:4])}" if edited else ""
            if isinstance(fixed, Command) and isinstance(a, Command) and fixed.text != a.text:
                resolution = (
                    f"resolved{via}: {md_code(clip(fixed.text, COMMAND_CHARS))} succeeded; "
                    f"next time start with that form"
                )
                knowledge = (
                    f"{md_code(clip(fixed.text, COMMAND_CHARS))} works where "
                    f"{md_code(clip(a.text, COMMAND_CHARS))} failed"
                )
            elif isinstance(fixed, Command):
                resolution = f"resolved{via}: the same command then succeeded"
            else:
                resolution = "resolved: a later patch applied cleanly"
        elif later:
            resolution = f"next step: {_describe_action(later[0])}; no later success of it"
        else:
            resolution = "unresolved at the end of the task"
        out.append(Failure(what, error, resolution, knowledge, lesson, a.seq))
    return out


def rejected_lines(task: Task) -> list[str]:
    """A "don't" for each action the user rejected, and for each proposal they refused, with
    their words. An edit is named by what it added, a proposal by the commands or code it
    named: that is what must not come back."""
    rejected = rejected_actions(task)
    lines: list[str] = []
    last: Command | Edit | None = None
    for e in task.events:
        if isinstance(e, (Command, Edit)):
            last = e
        elif isinstance(e, Feedback) and e.rejection and last is not None:
            if last.seq in rejected:
                if isinstance(last, Edit):
                    act = "the edit to " + (
                        ", ".join(md_code(p) for _, p in last.files[:3]) or "a patch"
                    )
                    added = _added(last, code=True)
                    act += f" that added {added}" if added else ""
                else:
                    act = md_code(clip(last.text, COMMAND_CHARS))
                lines.append(f"The user rejected {act} ({quoted(e.quote, 160)}): don't repeat it")
            last = None
    for proposal, quote in task.refused:
        lines.append(
            f"The user rejected the proposal to {_proposed(proposal)} ({quoted(quote, 160)}): "
            "don't repeat it"
        )
    return lines


_SPAN = re.compile(r"`([^`\n]{2,80})`")


def _proposed(proposal: str) -> str:
    """What a proposal offered to do: its code spans ("`git push --force`"), else its question."""
    spans = dedupe(_SPAN.findall(proposal))
    if spans:
        return "run " + " / ".join(md_code(s) for s in spans[:2])
    asked = [s for s in re.split(r"(?<=[.!?])\s+", proposal.strip()) if s]
    return quoted(asked[-2] if len(asked) > 1 else proposal, 120)


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
# Values that belong to one run: a pid, a hash or id, a temporary path, a timestamp, a port
# picked at random.
TRANSIENT = re.compile(
    r"(?<![\w.:/=-])(?<!port )(?<!PORT )(?<!Port )\d{5,}(?![\w.:])"
    r"|\b(?:pid|process|job|session)\s*(?:id\s*)?[:#=]?\s*\d+"
    r"|\bkill\s+(?:-\w+\s+)?\d+|\b[0-9a-f]{10,}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-|/tmp/|/var/folders/"
    r"|\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\block[-_ ]?(?:id)?[:= ]\s*\w*\d"
    # A short commit or revision id: hex with both digits and letters.
    r"|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,9}\b",
    re.I,
)


def how_to_run(task: Task, verified: set[int]) -> list[str]:
    """Commands worth running again: those that confirmed a fix, or build, test, check, run or
    install the project, that succeeded and hold no value of one run."""
    out: list[str] = []
    for cmd in task.commands:
        if not cmd.succeeded or cmd.tool in ("view_image", "orphan") or is_probe(cmd):
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
