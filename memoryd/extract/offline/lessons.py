"""Lessons: each failure linked to what changed its outcome (a rerun after commands and kept
edits, a different command doing what the failed one tried, the command a user's correction
named), and a "don't" for each action or proposal the user rejected."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from memoryd.extract.offline.judge import (
    SECRET_NAME,
    describe_action,
    is_probe,
    one_off,
    status_text,
    stopgap_commands,
)
from memoryd.extract.offline.language import proposal_sentence
from memoryd.extract.offline.limits import COMMAND_CHARS
from memoryd.extract.offline.outcomes import (
    LESSON_ERROR,
    LESSON_PART,
    PIN,
    fix_code,
    instead_of,
    names,
    pinned,
    setting_changes,
    setting_line,
    without_ids,
)
from memoryd.extract.offline.recap import options
from memoryd.extract.offline.sentences import split_sentences
from memoryd.extract.offline.shell import (
    MAX_ADDED,
    clip_command,
    command_key,
    command_programs,
    written_files,
)
from memoryd.extract.offline.tasks import Command, Edit, Feedback, Task
from memoryd.redact import REDACTED
from memoryd.textutil import TRANSIENT, clip, dedupe, md_code, quoted, without_transient


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


def _family(program: str) -> str:
    """A versioned build of a tool is the same tool ("clang-format-18", "python3.12")."""
    return re.sub(r"(?<=[a-z])-?\d+(?:\.\d+)*$", "", program)


def _reruns(failed: Command, b: Command) -> bool:
    """Whether a successful ``b`` ran what ``failed`` ran: the same programs, or a chain that
    holds them ("cmake --build … && ctest" after "ctest" failed)..."""
    if command_key(b.text) == command_key(failed.text):
        return True
    ka, kb = command_programs(failed.text), command_programs(b.text)
    # ... or the same last step with fewer before it ("cmake --build && ctest -R x" after
    # "cmake --preset … && cmake --build && ctest -R x"): a chain's verdict is its last step's
    return bool(ka) and (set(ka) <= set(kb) or (set(kb) <= set(ka) and kb[-1:] == ka[-1:]))


# A named check and its verdict on a line of a runner's report ("lint-imports.....Failed",
# "test parser::empty ... ok", "typecheck: FAIL"): the same check passing in a later,
# different command (the hook runner instead of the commit it blocked) is the failure's fix
# confirmed by its outcome.
_VERDICT = re.compile(
    r"^[ \t]*(?:test\s+)?(?P<name>[\w:./@\[\]-]+(?:[ \t][\w:./@\[\]-]+){0,3}?)"
    r"(?:[ \t]*\.{3,}[ \t]*|[ \t]+\.\.\.[ \t]+|:[ \t]+)"
    r"(?P<verdict>passed|failed|ok|fail|failure|error|success)\b",
    re.I | re.M,
)
_FAILING = frozenset("failed fail failure error".split())


def _verdicts(body: str, failing: bool) -> set[str]:
    return {
        m.group("name").lower()
        for m in _VERDICT.finditer(body)
        if (m.group("verdict").lower() in _FAILING) == failing
    }


def _rechecks(failed: Command, b: Command) -> bool:
    """Whether ``b``'s report shows passing a named check that ``failed``'s showed failing."""
    return bool(_verdicts(failed.body, True) & _verdicts(b.body, False))


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


def _same_error(a: Command, b: Command) -> bool:
    """The same error, whatever numbers (times, ids, counts) it holds."""
    return re.sub(r"\d+", "#", a.error or "") == re.sub(r"\d+", "#", b.error or "")


def _fix_steps(between: Sequence[Command | Edit], failed: Command, rejected: set[int]) -> list[str]:
    """What changed the outcome between a failure and its success: the commands that change
    something (not probes, not re-runs of the failed one) and the edits the user kept."""
    key = command_key(failed.text)
    steps: list[str] = []
    # A step after which the failed command failed again did not change the outcome ("opam
    # upgrade", still the same error, then "opam install x.1.2" and it passed).
    # Failing again with another error is progress: the steps before it moved past the first
    # one ("set the toolchain", then a warning the edit after it fixed).
    again = [
        i
        for i, b in enumerate(between)
        if isinstance(b, Command) and b.failed and _reruns(failed, b) and _same_error(failed, b)
    ]
    for b in between[again[-1] + 1 if again else 0 :]:
        if b.seq in rejected or not b.succeeded:
            continue
        if isinstance(b, Command):
            # a look that writes its text into a file ("echo X=1 > .env") is an edit
            if (
                (is_probe(b) and not written_files(b.text))
                or command_key(b.text) == key
                or one_off(b)
            ):
                continue
            steps.append(md_code(clip_command(without_ids(b.text), LESSON_PART)))
        else:
            steps.append(edit_phrase(b))
    return dedupe(steps)


# A line that sets something: "KEY=value", "key: value", "x.y = 'z'", a flag.
_SETTING_LINE = re.compile(r"^[\w.\[\]\"'-]{2,60}\s*[:=]\s*\S|^--?\w")
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


def _said_between(task: Task, after: int, before: int) -> str:
    """The first two sentences of the user's last message between two actions, or ""."""
    said = [text for seq, text in task.said if after < seq < before]
    return " ".join(split_sentences(said[-1])[:2]) if said else ""


def failures(task: Task) -> list[Failure]:
    out: list[Failure] = []
    actions = task.actions
    rejected = rejected_actions(task)
    stopgaps = stopgap_commands(task)
    for i, a in enumerate(actions):
        if not a.failed:
            continue
        # what the user allowed only for now got past the failure; it fixed nothing
        later = [b for b in actions[i + 1 :] if b.seq not in stopgaps]
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
                    and (_reruns(a, b) or _rechecks(a, b))
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
                fixed_code = fix_code(fixed.text, a.text)
                if steps:
                    again = "it" if fixed.text == a.text else fixed_code
                    lesson = (
                        f"{failed_code} failed{_error_brief(a)}; fixed by "
                        f"{', then '.join(steps[:3])}, after which {again} passed"
                    )
                elif fixed.text != a.text:
                    lesson = (
                        f"{failed_code} failed{_error_brief(a)}; {instead_of(fixed.text, a.text)}"
                    )
                elif said := _said_between(task, a.seq, fixed.seq):
                    # nothing ran in between: what the user did or told is the fix ("I'm on
                    # the VPN now, try again")
                    lesson = (
                        f"{failed_code} failed{_error_brief(a)}; it passed after the user said "
                        f"{quoted(said, LESSON_ERROR)}"
                    )
            elif instead is not None:
                fixed = instead
                lesson = (
                    f"{failed_code} failed{_error_brief(a)}; "
                    f"{instead_of(instead.text, a.text, 'worked')}"
                )
            else:
                corrected = _correction(task, a, later, rejected)
                if corrected is not None:
                    fixed, said = corrected
                    lesson = (
                        f"{failed_code} failed{_error_brief(a)}; the user corrected it "
                        f"({quoted(said, LESSON_ERROR)}): "
                        f"{instead_of(fixed.text, a.text, 'worked')}"
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
            resolution = f"next step: {describe_action(later[0])}; no later success of it"
        else:
            resolution = "unresolved at the end of the task"
        out.append(Failure(what, error, resolution, knowledge, lesson, a.seq))
    return _one_lesson_per_fix(out, {a.seq: a for a in actions})


def carry_fixes(tasks: Sequence[Task], found: Sequence[list[Failure]]) -> None:
    """A failure left unresolved at the end of a request and fixed in the next one (the user
    asked what the error means, or accepted the agent's proposal, and the agent then did it):
    the lesson is read as if the failed command had opened the next request, and told with
    the failure (``found`` holds each task's failures, updated in place)."""
    for i, fails in enumerate(found[: len(tasks) - 1]):
        nxt = tasks[i + 1]
        for k, f in enumerate(fails):
            failed = next((c for c in tasks[i].commands if c.seq == f.seq), None)
            if f.lesson is not None or failed is None:
                continue
            joined = Task(
                nxt.number,
                nxt.prompt,
                nxt.title,
                events=[failed, *nxt.events],
                said=nxt.said,
                agent_said=nxt.agent_said,
            )
            carried = next((g for g in failures(joined) if g.seq == failed.seq), None)
            # a fix that needed a secret typed in (a token handed over in the next request)
            # is the user's credentials, not a step to repeat
            if (
                carried is not None
                and carried.lesson is not None
                and REDACTED not in carried.lesson
            ):
                fails[k] = replace(
                    carried, resolution=f"{carried.resolution} (in the next request)"
                )


_FIX_OF = re.compile(r";\s+(?:fixed by (?P<steps>.+?), after which |(?P<alt>`[^`\n]+`) work)")


def _one_lesson_per_fix(out: list[Failure], by_seq: dict[int, Command | Edit]) -> list[Failure]:
    """One lesson for one fix: when a command and its variant ("migrate", then "clean migrate")
    failed and the same steps fixed both, the later failure, the one the fix answered, is
    kept."""
    keep: list[Failure] = []
    for f in out:
        m = _FIX_OF.search(f.lesson or "")
        cmd = by_seq.get(f.seq) if f.seq is not None else None
        if m is not None and isinstance(cmd, Command):
            fix = m.group("steps") or m.group("alt")
            programs = set(command_programs(cmd.text))
            for g in keep:
                gm = _FIX_OF.search(g.lesson or "")
                other = by_seq.get(g.seq) if g.seq is not None else None
                if (
                    gm is not None
                    and (gm.group("steps") or gm.group("alt")) == fix
                    and isinstance(other, Command)
                    and programs & set(command_programs(other.text))
                ):
                    keep.remove(g)
                    break
        keep.append(f)
    return keep


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
                    act = md_code(clip(without_transient(last.text), COMMAND_CHARS))
                lines.append(f"The user rejected {act}{_because(e.quote, 160)}: don't repeat it")
            last = None
    said = {e.quote: e.text for e in task.events if isinstance(e, Feedback)}
    for proposal, quote in task.refused:
        refused, taken = options(proposal, quote, said.get(quote, quote))
        line = f"The user rejected the proposal to {_proposed(proposal, refused)}"
        line += f"{_because(quote, 100)}: don't repeat it"
        if taken:  # "no, not X. just do Y": Y was accepted
            line += f"; the user took the other option: {_proposed(proposal, taken)}"
        lines.append(line)
    return lines


def _because(quote: str, limit: int) -> str:
    """The user's words after a "don't", in brackets, without their values of one run: the
    pid or temp path of the moment is not what must not come back ("no, leave 48213 alone,
    it's the dev server" → "no, leave alone, it's the dev server")."""
    words = without_transient(quote)
    return f" ({quoted(words, limit)})" if words else ""


_SPAN = re.compile(r"`([^`\n]{2,80})`")


def _proposed(proposal: str, option: str = "") -> str:
    """What a proposal offered to do: its code spans ("`git push --force`"), those of the
    sentence that offers (or of the ``option`` a reply named) when it has some (the ones
    before report what was done), else its question."""
    offered = option or proposal_sentence(proposal)
    spans = _SPAN.findall(offered) or ([] if option else _SPAN.findall(proposal))
    spans = dedupe(s for s in map(without_transient, spans) if s)  # not the pid of the moment
    if spans:
        return "run " + " / ".join(md_code(s) for s in spans[:2])
    if offered and not offered.rstrip().endswith("?"):
        # "The quickest way is to put @Disabled on it"
        return quoted(without_transient(offered), 100)
    asked = [s for s in re.split(r"(?<=[.!?])\s+", proposal.strip()) if s]
    return quoted(without_transient(asked[-2] if len(asked) > 1 else proposal), 120)


def _names_pin(text: str, line: str) -> bool:
    """Whether ``text`` names a directive that pins a version with its new version beside
    it: "we're on Go 1.23 now" names ``go 1.23``, a key too short to be named alone."""
    s = setting_line(line)
    return s is not None and s[1] == PIN and pinned(s[0], s[2]).search(text) is not None


def changed_settings(task: Task) -> list[str]:
    """A setting a kept edit gave another value, named by the request before the edit or by
    the agent's words after it, with a command succeeding after it: the new value is the
    current one and the old one replaced ("Replaced: `minSdk = 26` is replaced by `minSdk =
    28` (set in `app/build.gradle.kts`)")."""
    rejected = rejected_actions(task)
    out: list[str] = []
    for e in task.edits:
        if not e.succeeded or e.seq in rejected:
            continue
        if not any(c.seq > e.seq and c.succeeded and not is_probe(c) for c in task.commands):
            continue  # nothing ran on the new value: unconfirmed
        said = [t for seq, t in task.said if seq < e.seq][-1:]
        said += [t for seq, t in task.agent_said if seq > e.seq]
        for key, old, new in setting_changes(e.removed, e.added):
            if (
                SECRET_NAME.search(key)
                or TRANSIENT.search(new)
                or not any(names(t, key) or _names_pin(t, new) for t in said)
            ):
                continue
            where = md_code(e.files[0][1]) if e.files else "a file"
            out.append(f"Replaced: {md_code(old)} is replaced by {md_code(new)} (set in {where})")
    return dedupe(out)
