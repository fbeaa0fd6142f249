"""The rollout as tasks with timelines of commands, edits, feedback and notes: the builder that
reads the response items in order (the data it builds is in ``tasks``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from memoryd.extract.offline.implication import preference_implication, with_context
from memoryd.extract.offline.items import message_parts, text_of, user_text
from memoryd.extract.offline.language import (
    accepted_offer,
    accepted_proposal,
    before_offer,
    condenses,
    is_rejection,
    offers_habit,
    proposes,
    read_message,
    restated_rules,
    restates,
    says_more,
)
from memoryd.extract.offline.limits import ANALYSE_CHARS, MAX_TEXTS
from memoryd.extract.offline.outcomes import cited_error, cited_score, names_offer, spoken_words
from memoryd.extract.offline.recap import recaps_in, settled
from memoryd.extract.offline.sentences import QUESTION, split_sentences
from memoryd.extract.offline.shell import (
    PATCH_FAIL,
    bound,
    clean_path,
    command_paths,
    error_excerpt,
    json_args,
    last_lines,
    parse_output,
    patch_added,
    patch_files,
    shell_display,
)
from memoryd.extract.offline.tasks import (
    Command,
    Edit,
    Event,
    Feedback,
    Note,
    Preference,
    Rollout,
    Task,
)
from memoryd.textutil import clip, md_code, quoted


class _Builder:
    def __init__(self, cwd: str, continuation_title: str | None) -> None:
        self.cwd = cwd
        self.tasks: list[Task] = []
        self.env_cwd: str | None = None
        self.pending: list[Event] = []  # tool work before any request (a later chunk)
        self.by_call: dict[str, Command | Edit] = {}
        self.sessions: dict[str, Command] = {}
        self.pending_answer = ""
        self.continuation_title = continuation_title
        self.seq = 0
        # The assistant asked something since the last action: a "no" answers the question
        # ("should I mark it skip?"), not the command run before it.
        self.asked = False
        # What the assistant said since the last action: a "no" that names the code it
        # offered ("the quickest is `db drop`" / "no, not drop") refuses the offer too.
        self.said_since = ""
        self.recaps: list[tuple[str, str]] = []  # the user's recaps the next answer settles

    # -- task bookkeeping
    def _current(self) -> Task | None:
        return self.tasks[-1] if self.tasks else None

    def _sink(self) -> list[Event]:
        task = self._current()
        if task is None and self.continuation_title is not None:
            # A later chunk of a long rollout: work before its first request continues a
            # request made in an earlier chunk.
            title = self.continuation_title
            task = Task(1, title, title, continuation=True, final_answer=self.pending_answer)
            self.tasks.append(task)
        return task.events if task else self.pending

    def _add(self, event: Event) -> None:
        self._sink().append(event)

    # -- items
    def feed(self, item: dict[str, Any]) -> None:
        self.seq += 1
        kind = item.get("type")
        if kind == "message" or (kind is None and "role" in item):
            self._message(item)
        elif kind in ("function_call", "custom_tool_call"):
            self._call(item)
        elif kind == "local_shell_call":
            action = item.get("action") if isinstance(item.get("action"), dict) else {}
            cmd = shell_display(action.get("command")) if action else ""
            workdir = action.get("working_directory") if action else None
            self._command(item.get("call_id") or item.get("id"), cmd, "local_shell", workdir)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            self._output(item)
        elif kind == "web_search_call":
            action = item.get("action") if isinstance(item.get("action"), dict) else {}
            query = action.get("query") if action else None
            what = f"Searched the web for {quoted(query, 120)}" if query else "Used web search"
            self._add(Note(self.seq, what))
        elif kind == "agent_message":
            author = item.get("author") or "another agent"
            text = "\n".join(message_parts(item))
            if text:
                self._add(Note(self.seq, f"Message from {author}: {quoted(text, 160)}"))

    def _message(self, item: dict[str, Any]) -> None:
        role = item.get("role")
        if role == "user":
            text, env_cwd, aborted = user_text(item)
            if env_cwd and self.env_cwd is None:
                self.env_cwd = env_cwd
            task = self._current()
            if aborted and task is not None:
                task.events.append(Feedback(self.seq, False, "(the user interrupted the turn)"))
            if text:
                self._request(text)
        elif role == "assistant":
            text = "\n".join(message_parts(item)).strip()
            self.asked = text.rstrip("*_` ").endswith("?") or proposes(text) or offers_habit(text)
            self.said_since = text
            task = self._current()
            if text and task is not None and len(task.agent_said) < MAX_TEXTS:
                task.agent_said.append((self.seq, text[:ANALYSE_CHARS]))
            if text and task is not None:
                for old, quote, rule in settled(self.recaps, text):  # confirmed or corrected
                    _add_preference(task, Preference(quote, rule), replaces=old)
                self.recaps = []
                task.final_answer = text
                if len(task.assistant_texts) < MAX_TEXTS:
                    task.assistant_texts.append(text[:ANALYSE_CHARS])
                # an answer that says the user's instruction back as a habit makes it a rule
                said = restated_rules(task.user_texts[-1], text) if task.user_texts else []
                for quote, rule in said:
                    same = [p for p in task.preferences if p.quote == quote]
                    if same and condenses(rule, same[0].implication):
                        same[0].implication = rule  # a run-on rule said back in short
                    elif all(says_more(rule, p.implication) for p in task.preferences):
                        task.preferences.append(Preference(quote, rule))
            elif text:
                self.pending_answer = text

    def _request(self, text: str) -> None:
        text = text[:ANALYSE_CHARS]
        reading = read_message(text)
        if self._current() is None and reading.follow_up and self.continuation_title is not None:
            self._sink()  # feedback on a request made in an earlier chunk
        task = self._current()
        sentences = split_sentences(text)
        heard = [t for _, t in task.agent_said] if task else []  # refused offers explain too
        self.recaps = recaps_in(sentences, heard, reading.preferences)
        offer = accepted_offer(task.final_answer, text) if task and self.asked else None
        accepted = accepted_proposal(task.final_answer, text) if task else None
        if task is not None and task.final_answer and restates(text, task.final_answer):
            task.restated.append(task.final_answer[:ANALYSE_CHARS])
        if task is None and reading.chatter and not self.tasks:
            return  # a greeting before any request is not a task
        if task is not None and self.said_since and not self.asked:
            last = task.actions[-1] if task.actions else None
            self.asked = names_offer(
                text, self.said_since, last.text if isinstance(last, Command) else ""
            )
        # "No repair, that hides the drift": a reply opening with "no" to an offer refuses
        # it, whatever else it says (read alone, the message is a new request)
        rejecting = is_rejection(text)
        refuses = self.asked and rejecting
        if task is not None and (reading.positive or reading.negative or refuses):
            first = split_sentences(text)
            # "No." alone says nothing a later reader can act on: the reason follows it
            quote = (
                " ".join(first[:2]).rstrip(";:,")
                if reading.negative and len(first) > 1 and len(first[0]) < 12
                else (first[0] if first else text)
            )
            rejection = rejecting and not self.asked
            task.events.append(
                Feedback(self.seq, reading.positive, quote, rejection, text, refusal=refuses)
            )
            if refuses and task.final_answer:
                # A refused proposal is neither knowledge nor the conclusion: it becomes a
                # "don't" with the user's words. What the message found before it offered
                # stays: the user turned down the offer, not the diagnosis.
                proposal = task.final_answer
                if task.restated and task.restated[-1] == proposal[:ANALYSE_CHARS]:
                    task.restated.pop()  # naming the offer to refuse it confirms nothing
                if task.assistant_texts and task.assistant_texts[-1] == proposal[:ANALYSE_CHARS]:
                    findings = before_offer(task.assistant_texts.pop())
                    if findings:
                        task.assistant_texts.append(findings)
                task.refused.append((proposal, quote))
                task.final_answer = ""
        self.asked = False
        # a refusal goes on with the task it refuses the offer of, however it asks for the
        # other way ("No repair. Put V7 back and rename it in a new migration.")
        if task is None or not (reading.follow_up or refuses):
            task = Task(
                number=len(self.tasks) + 1,
                prompt=text,
                title=reading.title,
                title_sentences=reading.title_sentences,
            )
            self.tasks.append(task)
        elif reading.negative:
            task.events.append(Note(self.seq, f"The user corrected: {quoted(text, 200)}"))
        if len(task.user_texts) < MAX_TEXTS:
            task.user_texts.append(text)
            task.said.append((self.seq, text))
        for sentence in reading.preferences:
            pref = Preference(
                quote=with_context(sentences, sentence),
                implication=preference_implication(sentence),
            )
            _add_preference(task, pref)
        for quote, rule in self.recaps:  # "so basically X": a lesson, unless asked as a question
            if not QUESTION.search(quote):
                _add_preference(task, Preference(quote, rule))
        if offer is not None:  # "Should I always …?" — "yes"
            _add_preference(task, Preference(*offer))
        if accepted is not None:  # "I propose X" — "ok, and for every …": X is the rule
            same = [p for p in task.preferences if p.quote == accepted[0]]
            if same:
                same[0].implication = accepted[1]  # the reply alone ("the same") says nothing
            elif all(says_more(accepted[1], p.implication) for p in task.preferences):
                task.preferences.append(Preference(*accepted))

    def _call(self, item: dict[str, Any]) -> None:
        name = str(item.get("name") or "")
        call_id = item.get("call_id") or item.get("id")
        if item.get("type") == "custom_tool_call":
            payload = item.get("input")
            raw_input = payload if isinstance(payload, str) else text_of(payload)
            if name == "apply_patch" or "*** Begin Patch" in raw_input:
                self._edit(call_id, raw_input)
            elif name in ("exec", "js", "code") or not name:
                first = clip(raw_input.strip().split("\n", 1)[0], 120)
                self._add(Note(self.seq, f"Ran a code-mode script ({md_code(first)})"))
            else:
                self._add(Note(self.seq, f"Called tool {md_code(name)}"))
            return
        args = json_args(item.get("arguments"))
        base = name.rsplit(".", 1)[-1]
        if base in ("exec_command", "shell", "shell_command", "container.exec", "run_command"):
            cmd = args.get("cmd", args.get("command", args.get("_raw", "")))
            text = shell_display(cmd)
            if isinstance(cmd, list) and cmd and cmd[0] == "apply_patch" and len(cmd) > 1:
                self._edit(call_id, str(cmd[1]))
            elif "*** Begin Patch" in text:
                self._edit(call_id, text)
            else:
                workdir = args.get("workdir") or args.get("cwd")
                self._command(call_id, text, base, workdir if isinstance(workdir, str) else None)
        elif base == "apply_patch":
            self._edit(call_id, str(args.get("input", args.get("patch", args.get("_raw", "")))))
        elif base == "write_stdin":
            session = args.get("session_id")
            if session is not None and str(session) in self.sessions and call_id:
                self.by_call[str(call_id)] = self.sessions[str(session)]
        elif base == "update_plan":
            plan = args.get("plan")
            task = self._current()
            if isinstance(plan, list) and task is not None:
                task.plan = [
                    (clip(str(p.get("step", "")), 120), str(p.get("status", "")))
                    for p in plan
                    if isinstance(p, dict) and p.get("step")
                ]
        elif base == "view_image":
            path = args.get("path")
            if isinstance(path, str) and path:
                cmd_ = Command(self.seq, f"view_image {path}", "view_image", answered=True)
                cmd_.exit_code = 0
                cmd_.files = [p for p in [clean_path(path, self.cwd)] if p]
                self._add(cmd_)
        elif name:
            summary = ", ".join(
                f"{k}={clip(v if isinstance(v, str) else json.dumps(v, sort_keys=True), 60)}"
                for k, v in sorted(args.items())
                if k != "_raw"
            )
            label = f"Called tool {md_code(name)}" + (f" ({clip(summary, 160)})" if summary else "")
            self._add(Note(self.seq, label))

    def _command(self, call_id: Any, text: str, tool: str, workdir: str | None) -> None:
        if not text.strip():
            return
        cwd = workdir or self.cwd
        cmd = Command(self.seq, text.strip(), tool, workdir=workdir)
        cmd.files = command_paths(cmd.text[:ANALYSE_CHARS], cwd)
        self._add(cmd)
        self.asked = False
        self.said_since = ""
        if call_id:
            self.by_call[str(call_id)] = cmd

    def _edit(self, call_id: Any, patch: str) -> None:
        files = [(op, clean_path(p, self.cwd) or p) for op, p in patch_files(patch)]
        edit = Edit(self.seq, files, added=patch_added(patch), removed=patch_added(patch, "-"))
        self._add(edit)
        self.asked = False
        self.said_since = ""
        if call_id:
            self.by_call[str(call_id)] = edit

    def _output(self, item: dict[str, Any]) -> None:
        call_id = str(item.get("call_id"))
        target = self.by_call.get(call_id)
        current = self._current()
        early = current is None or current.continuation
        if target is None and self.continuation_title is not None and early:
            # A later chunk opening with the output of a call made in an earlier chunk: its
            # exit status is still evidence.
            target = Command(
                self.seq, f"(a command from an earlier part, call {call_id})", "orphan"
            )
            self._add(target)
        if target is None:
            return
        out = parse_output(item.get("output"))
        if isinstance(target, Edit):
            text = out.body
            if out.exit_code not in (None, 0) or PATCH_FAIL.search(text):
                target.ok = False
                target.error = error_excerpt(text) or last_lines(text) or None
            elif out.exit_code == 0 or "success" in text.lower() or not text.strip():
                target.ok = True
            return
        target.answered = True
        if out.exit_code is not None:
            target.exit_code = out.exit_code
            target.running = False
        elif out.running_session is not None:
            target.running = True
            self.sessions[out.running_session] = target
        target.body = bound(target.body + "\n" + out.body if target.body else out.body)
        target.error_hint = error_excerpt(target.body)

    def finish(self) -> Rollout:
        # In a first chunk no earlier request exists: stray work before the first request is
        # folded into the first task.
        if self.tasks and self.pending:
            self.tasks[0].events[:0] = self.pending
        for task in self.tasks:
            _cite_errors(task)
        return Rollout(tasks=self.tasks, env_cwd=self.env_cwd)


def _cite_errors(task: Task) -> None:
    """A failed command's error is the line of its output the agent's later words cite most:
    the agent read the whole output and named the cause ("SDK location not found" under a
    generic "What went wrong:", a message under a test's FAILED verdict)."""
    for cmd in task.commands:
        if not cmd.failed or not cmd.body:
            continue
        spoken = spoken_words([t for seq, t in task.agent_said if seq > cmd.seq], cmd.text)
        cited = cited_error(cmd.body, spoken)
        # an error picked by its looks loses only to a line cited more; the output's last
        # lines (no line looked like an error) hold the cited one among others
        if cited is not None and (
            cmd.error_hint is None or cited[1] > cited_score(cmd.error_hint, spoken)
        ):
            cmd.error_hint = cited[0]


def analyse(items: Sequence[dict[str, Any]], cwd: str, continuation_title: str | None) -> Rollout:
    builder = _Builder(cwd, continuation_title)
    for item in items:
        builder.feed(item)
    return builder.finish()


def _add_preference(task: Task, pref: Preference, replaces: str = "") -> None:
    """Add a rule unless its quote is there; one whose quote it ``replaces`` becomes it."""
    same = [p for p in task.preferences if p.quote in (pref.quote, replaces)]
    if not same:
        task.preferences.append(pref)
    elif replaces:
        same[0].quote, same[0].implication = pref.quote, pref.implication
