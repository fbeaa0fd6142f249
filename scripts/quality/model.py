"""What a quality corpus is made of: sessions as data, and the ground truth planted in them.

A session is a list of steps in the order they happened: a ``User`` message opens a turn, the
agent then thinks, runs shell commands, edits files with ``apply_patch`` and answers. The
renderer (``render.py``) turns this into Codex 0.169's rollout lines.

The ground truth is a list of ``Fact``s and ``Distractor``s, each with a ``Match``: groups of
alternative key tokens that must all occur in one line (one bullet) of a memory file. A match
says *what* must be stated, never *how*: any correct wording names the env var and the port,
the symptom and the fix command, the tool and what it replaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# -- session steps


@dataclass(frozen=True)
class User:
    text: str


@dataclass(frozen=True)
class Sh:
    """One ``exec_command`` call and its output (``code`` is the process exit status)."""

    cmd: str
    out: str = ""
    code: int = 0
    secs: float = 0.8


@dataclass(frozen=True)
class Patch:
    """One ``apply_patch`` call; ``body`` is the patch between the Begin/End markers."""

    body: str


@dataclass(frozen=True)
class Say:
    """An assistant message (a progress note or the turn's conclusion)."""

    text: str


@dataclass(frozen=True)
class Think:
    """A reasoning summary (Codex stores it; phase 1 drops it)."""

    text: str


Step = User | Sh | Patch | Say | Think


@dataclass(frozen=True)
class Project:
    name: str
    cwd: str
    repo_url: str
    branch: str = "main"


@dataclass(frozen=True)
class Session:
    """``days_ago``: when the session started, in days before the corpus' "now"; ``later``
    sessions are added only in the second run (they supersede earlier facts)."""

    key: str
    project: str
    days_ago: float
    steps: tuple[Step, ...]
    later: bool = False
    branch: str | None = None


# -- ground truth

FACT_KINDS = (
    "preference",  # a working preference the user stated once (any project), in any phrasing
    "general_rule",  # a rule the user stated in two or more projects: it should become general
    "project_rule",  # a rule that holds in one project only
    "project_fact",  # knowledge seen only in tool output or the assistant's conclusion
    "failure_fix",  # a failure and the *different* command or edit that fixed it
    "superseding",  # a fact that a later session states in place of an older one
)
DISTRACTOR_KINDS = ("transient", "secret", "small_talk", "rejected")


@dataclass(frozen=True)
class Match:
    """Every group must have one of its alternatives in the same unit (line or bullet).
    Alternatives are matched case-insensitively, whole-token, with any run of whitespace for a
    space."""

    groups: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if not self.groups or any(not g or any(not a.strip() for a in g) for g in self.groups):
            raise ValueError(f"empty match group in {self.groups!r}")

    def patterns(self) -> list[re.Pattern[str]]:
        return [re.compile("|".join(_token_regex(a) for a in g), re.I) for g in self.groups]


def _token_regex(token: str) -> str:
    body = r"\s+".join(re.escape(part) for part in token.split())
    left = r"(?<![\w])" if re.match(r"\w", token) else ""
    right = r"(?![\w])" if re.search(r"\w$", token) else ""
    return f"{left}{body}{right}"


def M(*groups: str) -> Match:
    """``M("WEBAPP_API_URL", "8765")``: both tokens; ``"a|b"`` is a group of alternatives."""
    return Match(tuple(tuple(a.strip() for a in g.split("|")) for g in groups))


@dataclass(frozen=True)
class Fact:
    """One planted fact. ``project`` is None for a general one. ``link`` (failure_fix): the
    symptom that must share the unit with the fix for the pair to count as linked.
    ``superseded_by``: the id of the fact that replaces this one in a ``later`` session; after
    that session this fact must no longer be presented as current."""

    id: str
    kind: str
    project: str | None
    says: str
    match: Match
    sources: tuple[str, ...]
    link: Match | None = None
    superseded_by: str | None = None


@dataclass(frozen=True)
class Distractor:
    """Something that must not be kept. ``negatable``: kept only when stated without a
    negation (a rejected action may be remembered as a "don't")."""

    id: str
    kind: str
    says: str
    match: Match
    sources: tuple[str, ...]
    negatable: bool = False


@dataclass(frozen=True)
class Corpus:
    name: str
    how: str
    projects: tuple[Project, ...]
    sessions: tuple[Session, ...]
    facts: tuple[Fact, ...]
    distractors: tuple[Distractor, ...]
    forget: str  # the session forgotten in the third run
    notes: dict[str, str] = field(default_factory=dict)

    def project(self, name: str) -> Project:
        for p in self.projects:
            if p.name == name:
                return p
        raise KeyError(name)

    def session(self, key: str) -> Session:
        for s in self.sessions:
            if s.key == key:
                return s
        raise KeyError(key)
