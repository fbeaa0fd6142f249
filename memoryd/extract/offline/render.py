"""Rendering a rollout's tasks as the stage-1 ``rollout_summary`` and ``raw_memory``."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from memoryd.extract.base import ExtractionRequest, Stage1Output
from memoryd.extract.offline.changes import gone_commands, replacements
from memoryd.extract.offline.facts import MAX_FACTS, statements, user_statements
from memoryd.extract.offline.implication import PREFER_XY, USE_XY
from memoryd.extract.offline.judge import (
    Printed,
    environment_facts,
    how_to_run,
    make_slug,
    overall_outcome,
    status_text,
    task_group,
    task_outcome,
    verified_commands,
)
from memoryd.extract.offline.lessons import (
    Failure,
    carry_fixes,
    changed_settings,
    failures,
    rejected_lines,
)
from memoryd.extract.offline.limits import (
    COMMAND_CHARS,
    MAX_FAILURES,
    MAX_FIELD_CHARS,
    MAX_KEYWORDS,
    MAX_KNOWLEDGE,
    MAX_PREFS,
    MAX_STEPS,
    MAX_TASKS,
    PROMPT_CHARS,
    TITLE_CHARS,
    TRUNCATION_NOTE,
)
from memoryd.extract.offline.meaning import Scorer, second_opinion
from memoryd.extract.offline.output import output_facts
from memoryd.extract.offline.sentences import strip_tail
from memoryd.extract.offline.shell import command_programs, output_excerpt
from memoryd.extract.offline.tasks import (
    Command,
    Edit,
    Feedback,
    Note,
    Preference,
    Rollout,
    Task,
)
from memoryd.textutil import clip, dedupe, md_code, norm_words, plural, quoted


def _keywords(tasks: Sequence[Task], project: str, branch: str | None) -> list[str]:
    out: list[str] = [project] if project else []
    if branch:
        out.append(branch)
    for task in tasks:
        out.append(task.group.split(" / ")[-1])
        for cmd in task.commands:
            if cmd.tool != "orphan":
                out.extend(k for k in command_programs(cmd.text) if len(k) <= 30)
        for pref in task.preferences:
            m = PREFER_XY.search(pref.quote) or USE_XY.search(pref.quote)
            if m:
                out.extend(clip(strip_tail(m.group(g)), 30) for g in ("x", "y"))
        # A file of one run (a numbered repro script, a temp file) is no keyword.
        out.extend(
            b
            for b in (posixpath.basename(p) for p in task.files()[:6])
            if not re.search(r"\d{3,}", b)
        )
        for cmd in task.commands:
            err = cmd.error or ""
            m = re.search(r"\b([A-Z]\w*(?:Error|Exception))\b", err)
            if m:
                out.append(m.group(1))
    cleaned = [k.replace(",", " ").strip() for k in out]
    return dedupe([k for k in cleaned if k])[:MAX_KEYWORDS]


@dataclass
class _TaskView:
    task: Task
    outcome: str
    reason: str
    failures: list[Failure]
    knowledge: list[str] = field(default_factory=list)  # the same in both outputs: read once


_NAMED_DAY = re.compile(
    r"\b(?:tomorrow|tonight|(?:mon|tues|wednes|thurs|fri|satur|sun)day|next\s+week)\b", re.I
)


def _errand(view: _TaskView) -> bool:
    t = view.task
    return (
        view.outcome == "uncertain"
        and _NAMED_DAY.search(t.prompt) is not None
        and not (t.events or t.preferences or t.refused or view.knowledge or view.failures)
    )


def _bullets(lines: Sequence[str], empty: str) -> list[str]:
    return [f"- {ln}" for ln in lines] if lines else [f"- {empty}"]


def _cap_list(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    head = limit // 2
    tail = limit - head - 1
    return [*lines[:head], f"… {len(lines) - head - tail} more …", *lines[-tail:]]


def _key_steps(task: Task) -> list[str]:
    steps: list[str] = []
    last_key: str | None = None
    repeat = 0
    for e in task.events:
        if isinstance(e, Command):
            line = f"Ran {md_code(clip(e.text, COMMAND_CHARS))} {status_text(e)}"
            if e.workdir:
                line += f" in {md_code(e.workdir)}"
            if e.failed and e.error:
                line += f": {quoted(e.error, 160)}"
        elif isinstance(e, Edit):
            names = ", ".join(f"{md_code(p)} ({op})" for op, p in e.files[:6]) or "files"
            more = f" and {len(e.files) - 6} more" if len(e.files) > 6 else ""
            state = {True: "", False: " — failed", None: ""}[e.ok]
            line = f"Edited {names}{more}{state}"
        elif isinstance(e, Note):
            line = e.text
        else:
            continue
        if line == last_key:
            repeat += 1
            steps[-1] = f"{line} (×{repeat + 1})"
            continue
        last_key, repeat = line, 0
        steps.append(line)
    if task.plan:
        plan = "; ".join(f"{step} [{status}]" for step, status in task.plan[:8])
        steps.append(f"Final plan: {clip(plan, 400)}")
    return _cap_list(steps, MAX_STEPS)


def _knowledge(view: _TaskView, printed: Printed) -> list[str]:
    """Durable knowledge first (what replaced what, stated facts, facts in tool output), then
    how to run things; never the files of one session or the cwd (the consolidator has it).
    ``printed`` is what the whole session's commands printed (this task's included): an
    answer to a later question ("what is X?") explains what an earlier command showed."""
    task = view.task
    lessons = " ".join(f.lesson for f in view.failures if f.lesson)
    fixed = {f.seq for f in view.failures if f.lesson and f.seq is not None}
    replaced = replacements(task.user_texts, task.assistant_texts)
    out: list[str] = [*replaced, *gone_commands(task, fixed)]
    ran = "\n".join(c.text for c in task.commands if c.succeeded)
    out += statements(task.assistant_texts, printed, ran, task.restated)[:MAX_FACTS]
    # A rule the user stated is a preference already, not a fact again.
    rules = {norm_words(p.quote) for p in task.preferences}
    out += [
        s
        for s in user_statements(task.user_texts)
        if s not in out and not any(norm_words(s) in r for r in rules)
    ][:MAX_FACTS]
    out += output_facts(task)
    out += changed_settings(task)  # a value an edit changed, confirmed by a success after it
    out.extend(f.knowledge for f in view.failures if f.knowledge and not f.lesson)
    out += how_to_run(task, verified_commands(task))[:5]
    # A missing tool or module the task then fixed is told by the failure's lesson.
    out += [f for f in environment_facts(task) if f.split("`")[1] not in lessons]
    return dedupe(out)[:MAX_KNOWLEDGE]


def _preference_lines(task: Task) -> list[str]:
    return _rule_lines(task.preferences[:MAX_PREFS])


def _rule_lines(prefs: Sequence[Preference]) -> list[str]:
    return [
        f"the user said {quoted(p.quote, 200)} -> in similar future tasks, {p.implication}"
        for p in prefs
    ]


# Raw memory only (the rollout summary, which the user reads, never shows them): a sentence
# that alone is too weak to remember, which consolidation makes a rule when a session in
# another project restates it. The heading says so to whoever reads raw_memories.md.
CANDIDATES_HEADING = (
    "Rule candidates (unconfirmed: each becomes a rule only when a session in another "
    "project restates it):"
)


def _failure_lines(view: _TaskView) -> list[str]:
    lines = []
    for f in view.failures[:MAX_FAILURES]:
        if f.lesson:
            lines.append(f.lesson)
            continue
        err = f": {quoted(f.error, 200)}" if f.error else ""
        lines.append(f"{f.what}{err}; {f.resolution}")
    lines += rejected_lines(view.task)
    refused = {quote for _, quote in view.task.refused}  # told as a "don't" above
    for e in view.task.events:
        if (
            isinstance(e, Feedback)
            and not e.positive
            and not e.rejection
            and e.quote not in refused
        ):
            lines.append(f"The user pushed back: {quoted(e.quote, 200)}")
    return lines[: MAX_FAILURES + 2]


def _references(view: _TaskView) -> list[str]:
    task = view.task
    refs: list[str] = []
    if task.continuation:
        refs.append("this part of the rollout holds tool work only; the request came earlier")
    else:
        refs.append(f"user request: {quoted(task.prompt, PROMPT_CHARS)}")
    for cmd in task.commands[:6]:
        ref = f"{md_code(clip(cmd.text, COMMAND_CHARS))} {status_text(cmd)}"
        excerpt = output_excerpt(cmd.body) if cmd.succeeded else ""
        refs.append(ref + (f" -> output: {quoted(excerpt, 160)}" if excerpt else ""))
    if len(task.commands) > 6:
        refs.append(f"… and {len(task.commands) - 6} more commands")
    for f in view.failures[:3]:
        if f.error:
            refs.append(f"error output: {quoted(f.error, 200)}")
    files = task.files()
    if files:
        shown = ", ".join(md_code(p) for p in files[:8])
        refs.append(f"files touched: {shown}" + (" …" if len(files) > 8 else ""))
    if task.final_answer:
        refs.append(f"final assistant message (excerpt): {quoted(task.final_answer, 240)}")
    return [f"[{i}] {r}" for i, r in enumerate(refs, 1)]


MAX_HIDDEN_LISTED = 20


def _hidden_section(hidden: Sequence[_TaskView], heading: str) -> list[str]:
    """Requests beyond MAX_TASKS: their preferences first (the most durable signal), then a
    one-line list."""
    if not hidden:
        return []
    out = [f"{heading} Further requests (not expanded)", ""]
    prefs = dedupe([line for v in hidden for line in _preference_lines(v.task)])
    if prefs:
        out += ["Preference signals:", *_bullets(prefs[-MAX_PREFS:], ""), ""]  # the latest
    out += [f"- {quoted(v.task.prompt, 160)} — {v.outcome}" for v in hidden[:MAX_HIDDEN_LISTED]]
    if len(hidden) > MAX_HIDDEN_LISTED:
        out.append(f"- … and {len(hidden) - MAX_HIDDEN_LISTED} more")
    return [*out, ""]


def _cap_field(text: str) -> str:
    if len(text) <= MAX_FIELD_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_FIELD_CHARS - len(TRUNCATION_NOTE))
    cut = cut if cut > 0 else MAX_FIELD_CHARS - len(TRUNCATION_NOTE)
    return text[:cut].rstrip() + TRUNCATION_NOTE.rstrip("\n")


def render(
    rollout: Rollout, request: ExtractionRequest, meaning: Scorer | None = None
) -> Stage1Output:
    tasks = rollout.tasks
    if not tasks:
        return Stage1Output(rollout_summary="", raw_memory="", rollout_slug="")
    printed = Printed.of("".join(f"\n{c.body}" for t in tasks for c in t.commands))
    cwd = request.cwd or rollout.env_cwd or ""
    branch = request.git_branch
    project = posixpath.basename(cwd.rstrip("/")) if cwd else ""
    views: list[_TaskView] = []
    found = [failures(task) for task in tasks]
    carry_fixes(tasks, found)
    for i, task in enumerate(tasks):
        outcome, reason = task_outcome(task, moved_on=i + 1 < len(tasks))
        task.group = task_group(task, project)
        view = _TaskView(task, outcome, reason, found[i])
        view.knowledge = _knowledge(view, printed)
        views.append(view)
    if meaning is not None:  # the model's second opinion: a few lines the rules left out
        second_opinion(meaning, tasks, [v.knowledge for v in views], printed)
    # A request for a named day that left nothing in the session (no tool use, feedback, rule
    # or knowledge: "add it to my list for Monday") is the user's errand, not project work.
    views = [v for v in views if not _errand(v)] or views
    tasks = [v.task for v in views]
    overall = overall_outcome([v.outcome for v in views])
    shown, hidden = views[:MAX_TASKS], views[MAX_TASKS:]
    first = tasks[0]

    n_cmds = sum(len(t.commands) for t in tasks)
    n_failed = sum(1 for t in tasks for c in t.commands if c.failed)
    title = first.title + (
        f" (+{plural(len(tasks) - 1, 'more request')})" if len(tasks) > 1 else ""
    )
    context = f"cwd {md_code(cwd)}" if cwd else "cwd not recorded"
    context += f", git branch {md_code(branch)}" if branch else ", git branch not recorded"
    n_requests = sum(1 for t in tasks if not t.continuation)
    context += f"; {plural(n_requests, 'user request')}, {plural(n_cmds, 'command')} run"
    context += f" ({n_failed} failed)" if n_failed else ""
    if request.chunk_count > 1:
        context += f"; part {request.chunk_index + 1} of {request.chunk_count} of a long rollout"
    context += (
        ". Extracted offline by rules, with a local sentence model's second opinion."
        if meaning is not None
        else ". Extracted offline by rules (no model)."
    )

    summary: list[str] = [f"# {title}", "", f"Rollout context: {context}", ""]
    for v in shown:
        t = v.task
        summary += [f"## Task {t.number}: {t.title}", "", f"Outcome: {v.outcome} ({v.reason})", ""]
        summary += ["Preference signals:", *_bullets(_preference_lines(t), "None stated."), ""]
        summary += ["Key steps:", *_bullets(_key_steps(t), "No tool use; answered directly."), ""]
        summary += [
            "Failures and how to do differently:",
            *_bullets(_failure_lines(v), "None observed."),
            "",
        ]
        summary += ["Reusable knowledge:", *_bullets(v.knowledge, "None."), ""]
        summary += ["References:", *_bullets(_references(v), "None."), ""]
    summary += _hidden_section(hidden, "##")

    all_prefs = [p for t in tasks for p in t.preferences]
    description = f"{first.title}" + (
        f" and {plural(len(tasks) - 1, 'more request')}" if len(tasks) > 1 else ""
    )
    description += f" in {project or 'an unrecorded cwd'}; outcome {overall}"
    if n_cmds:
        description += f"; {plural(n_cmds, 'command')} run ({n_failed} failed)"
    if all_prefs:
        description += "; preferences: " + "; ".join(p.implication for p in all_prefs[:3])
    raw: list[str] = [
        "---",
        f"description: {clip(description, 400)}",
        f"task: {clip(first.title, TITLE_CHARS)}",
        f"task_group: {first.group}",
        f"task_outcome: {overall}",
        f"cwd: {cwd or 'unknown'}",
        f"keywords: {', '.join(_keywords(tasks, project, branch))}",
        "---",
        "",
    ]
    for v in shown:
        t = v.task
        raw += [
            f"### Task {t.number}: {t.title}",
            "",
            f"task: {clip(t.prompt, PROMPT_CHARS)}",
            f"task_group: {t.group}",
            f"task_outcome: {v.outcome}",
            "",
        ]
        raw += ["Preference signals:", *_bullets(_preference_lines(t), "None stated."), ""]
        raw += ["Reusable knowledge:", *_bullets(v.knowledge, "None."), ""]
        raw += [
            "Failures and how to do differently:",
            *_bullets(_failure_lines(v), "None observed."),
            "",
        ]
        raw += ["References:", *_bullets(_references(v), "None."), ""]
        if t.candidates:
            raw += [CANDIDATES_HEADING, *_bullets(_rule_lines(t.candidates), ""), ""]
    raw += _hidden_section(hidden, "###")

    return Stage1Output(
        rollout_summary=_cap_field("\n".join(summary).rstrip() + "\n"),
        raw_memory=_cap_field("\n".join(raw).rstrip() + "\n"),
        rollout_slug=make_slug(first.title),
    )
