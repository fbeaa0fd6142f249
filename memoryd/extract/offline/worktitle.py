"""A title for a task whose request names nothing (its only words were values of one run, a
pid or a temp path, which a title never shows): what the task did, deterministically."""

from __future__ import annotations

import posixpath

from memoryd.extract.offline.language import title_of
from memoryd.extract.offline.limits import TITLE_CHARS
from memoryd.extract.offline.shell import command_programs
from memoryd.extract.offline.tasks import Rollout, Task
from memoryd.textutil import TRANSIENT, clip, content_words, dedupe, session_title


def work_title(task: Task, cwd: str, rollout_path: str) -> str:
    """The files it edited ("Edit app.py, db.py and 2 more"), else the program of its first
    command that runs one ("Run pytest"), else where and when the session ran."""
    edited = dedupe(p for e in task.edits for _, p in e.files if not TRANSIENT.search(p))
    if edited:
        more = f" and {len(edited) - 2} more" if len(edited) > 2 else ""
        return clip(f"Edit {', '.join(edited[:2])}{more}", TITLE_CHARS)
    for cmd in task.commands:
        programs = command_programs(cmd.text)
        if programs and not TRANSIENT.search(programs[0]):
            return clip(f"Run {programs[0]}", TITLE_CHARS)
    project = posixpath.basename(cwd.rstrip("/")) if cwd != "unknown" else ""
    return clip(session_title(project, rollout_path), TITLE_CHARS)


def worked_on(task: Task) -> str:
    """The title of a request that asks for nothing plainly, when its first sentence has no
    word in common with the task's commands and edited files and another of its sentences
    has two ("Back from the meetup, great talks. Today: npm audit shows a vuln." and `yarn
    npm audit`: the second); else the first sentence's, as before. The other sentences are
    made titles only here, for the few tasks that get this far."""
    if not task.title_sentences:
        return task.title
    work = content_words(
        " ".join([c.text for c in task.commands] + [p for e in task.edits for _, p in e.files])
    )
    if content_words(task.title) & work:
        return task.title
    options = [title_of(s, task.prompt) for s in task.title_sentences]
    shared = [len(content_words(t) & work) for t in options]
    best = max(shared)
    return options[shared.index(best)] if best >= 2 else task.title


def title_untitled(rollout: Rollout, cwd: str, rollout_path: str) -> None:
    """Title every task of ``rollout`` by what it did: which of its request's sentences it
    worked on, or, when the request names nothing, the work itself."""
    for task in rollout.tasks:
        task.title = worked_on(task) or work_title(task, cwd, rollout_path)
