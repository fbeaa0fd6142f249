"""The rollout's tasks as data: commands, edits, feedback, notes and the rules the user gave,
in the order they happened; ``timeline.analyse`` builds them, the rest of the extractor reads
them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memoryd.extract.offline.shell import last_lines
from memoryd.textutil import dedupe

# A command run under coreutils' timeout, after any VAR=value assignments.
_UNDER_TIMEOUT = re.compile(r"^(?:\w+=\S+\s+)*timeout\s+(?:-\S+\s+)*\d+(?:\.\d+)?[smhd]?\s+\S")


@dataclass
class Command:
    seq: int
    text: str
    tool: str
    workdir: str | None = None
    exit_code: int | None = None
    running: bool = False
    body: str = ""
    answered: bool = False
    files: list[str] = field(default_factory=list)

    error_hint: str | None = None  # error_excerpt(body), kept current by the builder

    @property
    def error(self) -> str | None:
        if self.succeeded or not self.answered:
            return None
        if self.error_hint is None and self.exit_code is not None:
            return last_lines(self.body) or None
        return self.error_hint

    @property
    def stopped_by_timeout(self) -> bool:
        """``timeout 60 ./server`` that ran until its time was up (exit 124) without an error
        in its output: a server or watcher that started and kept running, not a failure."""
        return (
            self.exit_code == 124
            and self.error_hint is None
            and _UNDER_TIMEOUT.match(self.text) is not None
        )

    @property
    def failed(self) -> bool:
        if self.exit_code is not None:
            return self.exit_code != 0 and not self.stopped_by_timeout
        return self.answered and self.error_hint is not None

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 or self.stopped_by_timeout

    @property
    def status_known(self) -> bool:
        return self.exit_code is not None or self.failed


@dataclass
class Edit:
    seq: int
    files: list[tuple[str, str]]
    ok: bool | None = None
    error: str | None = None
    # The lines the patch adds and removes (bounded): what a small config edit set, and what
    # it set before, in its own words.
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.ok is False

    @property
    def succeeded(self) -> bool:
        return self.ok is True

    @property
    def status_known(self) -> bool:
        return self.ok is not None


@dataclass
class Feedback:
    seq: int
    positive: bool
    quote: str
    rejection: bool = False  # the user refused what was just done ("undo that", "no, don't")
    text: str = ""  # the whole message: a correction names what to do instead
    refusal: bool = False  # the user turned down an offer: no verdict on the work done


@dataclass
class Note:
    seq: int
    text: str


Event = Command | Edit | Feedback | Note


@dataclass
class Preference:
    quote: str
    implication: str


@dataclass
class Task:
    number: int
    prompt: str
    title: str
    continuation: bool = False
    group: str = ""
    # other sentences its title could come from (``MessageReading.title_sentences``)
    title_sentences: tuple[str, ...] = ()
    events: list[Event] = field(default_factory=list)
    preferences: list[Preference] = field(default_factory=list)
    # user sentences that only weakly read as a rule: phase 2 makes one a rule when another
    # project's session restates it (docs/quality.md, "Round 13g"); never shown on their own
    candidates: list[Preference] = field(default_factory=list)
    final_answer: str = ""
    # What the assistant said and what the user wrote in this task, in order: the sources of
    # durable statements (bounded: MAX_TEXTS each, ANALYSE_CHARS per text).
    assistant_texts: list[str] = field(default_factory=list)
    user_texts: list[str] = field(default_factory=list)
    plan: list[tuple[str, str]] = field(default_factory=list)
    # What the assistant proposed and asked about, and the user's refusal of it.
    refused: list[tuple[str, str]] = field(default_factory=list)
    # (seq, text) of each user message in this task: a correction names what to run instead.
    said: list[tuple[int, str]] = field(default_factory=list)
    # (seq, text) of each assistant message in this task: a diagnosis after a failure cites
    # the line of the output that was its cause.
    agent_said: list[tuple[int, str]] = field(default_factory=list)
    # assistant messages the user's next message said back: lessons, stated facts
    restated: list[str] = field(default_factory=list)

    @property
    def commands(self) -> list[Command]:
        return [e for e in self.events if isinstance(e, Command)]

    @property
    def edits(self) -> list[Edit]:
        return [e for e in self.events if isinstance(e, Edit)]

    @property
    def actions(self) -> list[Command | Edit]:
        return [e for e in self.events if isinstance(e, (Command, Edit))]

    def files(self) -> list[str]:
        out: list[str] = []
        for e in self.events:
            if isinstance(e, Edit):
                out.extend(p for _, p in e.files)
            elif isinstance(e, Command):
                out.extend(e.files)
        return dedupe(out)


@dataclass
class Rollout:
    tasks: list[Task]
    env_cwd: str | None
