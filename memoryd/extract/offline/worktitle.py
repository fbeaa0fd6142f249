"""A title for a task whose request names nothing (its only words were values of one run, a
pid or a temp path, which a title never shows): what the task did, deterministically."""

from __future__ import annotations

import posixpath

from memoryd.extract.offline.limits import TITLE_CHARS
from memoryd.extract.offline.shell import command_programs
from memoryd.extract.offline.tasks import Rollout, Task
from memoryd.textutil import TRANSIENT, clip, dedupe, session_title


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


def title_untitled(rollout: Rollout, cwd: str, rollout_path: str) -> None:
    """Title every task of ``rollout`` that has no title by what it did."""
    for task in rollout.tasks:
        task.title = task.title or work_title(task, cwd, rollout_path)
