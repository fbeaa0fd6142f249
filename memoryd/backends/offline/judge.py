"""Judgements: each task's outcome, its failures and their fixes, its group and slug."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memoryd.backends.offline.limits import COMMAND_CHARS
from memoryd.backends.offline.shell import (
    NO_MODULE,
    NOT_FOUND,
    PROGRAM_SKIP,
    command_key,
    command_programs,
)
from memoryd.backends.offline.timeline import Command, Edit, Feedback, Task
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


def failures(task: Task) -> list[Failure]:
    out: list[Failure] = []
    actions = task.actions
    for i, a in enumerate(actions):
        if not a.failed:
            continue
        later = actions[i + 1 :]
        fixed: Command | Edit | None
        if isinstance(a, Command):
            key = command_key(a.text)
            fixed = next(
                (
                    b
                    for b in later
                    if isinstance(b, Command) and b.succeeded and command_key(b.text) == key
                ),
                None,
            )
            what = f"{md_code(clip(a.text, COMMAND_CHARS))} failed {status_text(a)}"
            error = a.error
        else:
            fixed = next((b for b in later if isinstance(b, Edit) and b.succeeded), None)
            names = ", ".join(md_code(p) for _, p in a.files[:4]) or "a patch"
            what = f"applying a patch to {names} failed"
            error = a.error
        knowledge: str | None = None
        if fixed is not None:
            between = [b for b in later if b.seq < fixed.seq]
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
        out.append(Failure(what, error, resolution, knowledge))
    return out


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


_TRIVIAL_PROGRAMS = PROGRAM_SKIP | frozenset(
    {"rg", "grep", "find", "mkdir", "touch", "rm", "cp", "mv", "view_image"}
    | {f"git {sub}" for sub in "status diff log show add commit checkout switch stash".split()}
)


def working_commands(task: Task) -> list[str]:
    out: list[str] = []
    for cmd in task.commands:
        if not cmd.succeeded or cmd.tool in ("view_image", "orphan"):
            continue
        if all(k in _TRIVIAL_PROGRAMS for k in command_programs(cmd.text)):
            continue
        out.append(cmd.text)
    return dedupe(out)


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
