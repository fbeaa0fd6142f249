"""The ``offline`` consolidation agent: deterministic phase 2 with no model and no network.

It rebuilds ``MEMORY.md`` and ``memory_summary.md`` from the selected inputs that phase 2 has
just synced into the memory root (``raw_memories.md`` and ``rollout_summaries/*.md``), in the
formats Codex's consolidation prompt asks for (reference §6.9), so that the Codex read path
works on them unchanged: the summary is injected into every prompt and names what to grep in
``MEMORY.md``, whose tasks name the rollout summary to open next.

What it writes
--------------
``MEMORY.md``
    ``# User notes`` first (see below), then one ``# Task Group:`` block per project (cwd),
    freshest first, each with ``scope:`` and ``applies_to: cwd=…; reuse_rule=…``; its
    ``## Task <n>`` sections (the same task seen in several sessions is one section citing each
    session) with ``### rollout_summary_files`` (``rollout_summaries/<stem>.md (cwd=…,
    rollout_path=…, updated_at=…, thread_id=…)``) and ``### keywords`` (a session's keywords
    once per group); then the block's ``## User preferences``, ``## Reusable knowledge`` and
    ``## Failures and how to do differently``, merged by meaning across its sessions, most
    durable first, each bullet starting with its project and tagged with the tasks it came
    from (``[Task 1][Task 3]``) and, when more than one session said it, how many; and
    ``## Superseded (no longer current)`` for what a later session replaced (announced, or
    read from a later fact: another value in the same statement or for the same attribute, a
    renamed variable, a command that now fails as gone). Rules stated in two or more projects,
    or said to hold in every project, are one entry each under ``# General rules`` at the end.
``memory_summary.md``
    ``v1``, then ``## User Profile``, ``## User preferences`` (the general rules),
    ``## User notes`` (only when there are any), ``## General Tips`` (what to grep) and
    ``## What's in Memory``: per project a "how to work here" digest ranked by durability
    (``summary_md``). It is kept under ``SUMMARY_BUDGET`` bytes (Codex injects a summary that
    size whole): the lowest-ranked lines go first, never a line cut in half.

What these lines mean (a rule, a lesson, a replacement) is read in ``meaning``; the docs say
what the offline backends keep and why (``docs/memory-workflow.md``).

Inputs that are no longer selected are simply absent from the rebuild, so whatever only they
supported disappears (deletions honoured). The same inputs always give the same bytes, and a
file whose bytes would not change is not rewritten.

User edits
----------
The user's hand edits are authoritative (SPEC §4). Three mechanisms keep them, all derived from
the files themselves and the workspace diff, with no state outside the memory root:

1. **User notes.** ``MEMORY.md`` starts with ``# User notes``; every line between its
   ``<!-- memoryd:user-notes-begin … -->`` and ``<!-- memoryd:user-notes-end -->`` markers is
   carried over verbatim, forever (until the user removes it). ``memory_summary.md`` has the
   same in its ``## User notes`` section (up to the next of the four standard sections), kept to
   ``SUMMARY_NOTES_BUDGET`` bytes; lines beyond that move to ``MEMORY.md``'s notes under
   ``## Moved from memory_summary.md``, so nothing is lost and the summary stays small.
2. **Lines added elsewhere.** A line the user adds anywhere else in either file (a ``+`` line
   of that file in ``phase2_workspace_diff.md``) that the rebuild would not produce is moved
   into that file's notes: in ``MEMORY.md`` under ``## Added under: <the headings it was
   under>``, in the summary at the end of ``## User notes``. An edited generated line is a
   removal of the old line plus an addition of the new one.
3. **Lines removed.** A generated line the user deletes (a ``-`` line in the diff) is not
   written again while every input it came from is unchanged. Each such line is recorded in
   the state comment at the end of ``MEMORY.md`` as ``hide <file>:<key> <fingerprint>``: the
   key hashes the line and the headings above it (task numbers ignored), the fingerprint
   hashes the content of the inputs behind it (rollout summary file + raw memory section, or
   the ad-hoc note). When an input changes, the fingerprint no longer matches and the line
   comes back with the new evidence; when its inputs are all gone the record is dropped.
   A line that states one memory item (a rule, a fact, a lesson, a task, a project) also
   records that item's identity (``hide <file>:<key> <fingerprint> <item>``; the item is its
   project and meaning key, not its words), so the deletion holds when the same item is later
   worded differently with the same inputs (a general rule worded as another project said it,
   a rule that gains the user's quote, a fact marked superseded) and the record moves to the
   new wording; another item never matches, whatever words it shares. A record from before
   item identities (three fields) hides its line by wording and gains the identity at the next
   run. A line deleted in the same run that rewords it, and an old record whose line is
   reworded by then, are named as the last run worded them: the inputs of the baseline commit
   are catalogued too (only then), and the record follows its item from there.
   Deleting a heading (``# Task Group: …``, ``## Task n: …``, a summary topic) hides
   everything under it, and the summary is built from what stays visible in ``MEMORY.md``,
   so hiding a task group there also removes it from the summary. Deleting a ``hide`` line
   brings the memory back; re-adding the exact line does too. Moving a line within its
   section is not an edit.

To tell the user's edits from its own lines, the state comment also stores a digest of each
file as written (without the notes and the comment). A file that still matches its digest
was not edited, whatever the diff says (for example when a failed run left the baseline
older than the files). An edited file is read through the diff; if the diff has no usable
hunks for it (missing, truncated, or no longer applying to the file), every line of it that
the rebuild would not produce is kept as a note, erring on the side of keeping user text.
Files that carry no state comment (written by another backend, by Codex, or copied from a
legacy folder) are rebuilt; only lines the diff shows as added since the baseline are kept.
Deleting ``MEMORY.md`` resets it: it is rebuilt without notes or hidden lines. When a file
changed while the agent ran, phase 2 saves the user's version beside it
(``MEMORY.user-edit-<run>.md``) and keeps the pre-run content as the baseline (SPEC §4); the
next run compares that saved version with the baseline and applies its edits the same way
(the saved file itself is left alone).

Ad-hoc notes
------------
``extensions/ad_hoc/notes/*.md`` (left by an agent at the user's request) are listed under
``## Ad-hoc notes`` in ``MEMORY.md``'s user notes part, and the newest few open the summary's
``## User preferences``, tagged ``[ad-hoc note]``. They are information, never instructions.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import anyio

from memoryd.consolidate.base import AgentError, ConsolidationInput, ConsolidationResult
from memoryd.consolidate.offline.edits import (
    Edits,
    baseline_of,
    fit_summary_notes,
    merge_memory_notes,
    parse_workspace_diff,
    reverse_apply,
    saved_user_version_edits,
    user_edits,
)
from memoryd.consolidate.offline.layout import (
    MODEL,
    NAME,
    NOTES_END,
    SUMMARY_BUDGET,
    FileTag,
    summary_budget,
)
from memoryd.consolidate.offline.ledger import Ledger, redact_line
from memoryd.consolidate.offline.memory_md import render_memory, state_block
from memoryd.consolidate.offline.model import (
    Group,
    build_groups,
    corroborated,
    general_rule_keys,
    preference_parts,
    replacement_signals,
)
from memoryd.consolidate.offline.replaced import Replacement
from memoryd.consolidate.offline.sources import (
    AdHocNote,
    Skill,
    Source,
    blob_id,
    parse_memory_text,
    read_notes,
    read_skills,
    read_sources,
    read_text,
    real_dir,
)
from memoryd.consolidate.offline.summary_md import (
    ALL_LEVELS,
    build_summary_model,
    fit_summary,
    render_summary,
)
from memoryd.consolidate.offline.views import State, strip_blank_edges, view_memory, view_summary
from memoryd.errors import MemorydError
from memoryd.fsutil import atomic_write, read_regular_file
from memoryd.layout import (
    EXTENSIONS_DIR,
    MEMORY_FILE,
    RAW_MEMORIES_FILE,
    ROLLOUT_SUMMARIES_DIR,
    SKILLS_DIR,
    SUMMARY_FILE,
)
from memoryd.llm.types import Usage
from memoryd.redact import redact
from memoryd.workspace.baseline import baseline_files

__all__ = [
    "MODEL",
    "NAME",
    "NOTES_END",
    "SUMMARY_BUDGET",
    "OfflineConsolidator",
    "Outcome",
    "consolidate_root",
    "parse_memory_text",
    "parse_workspace_diff",
    "preference_parts",
    "reverse_apply",
    "view_memory",
    "view_summary",
]

_SAVED_USER_VERSION = re.compile(r"(MEMORY|memory_summary)\.user-edit-[^/]+\.md")


def _diff_path(root: Path, diff_file: str | None) -> Path | None:
    if not diff_file:
        return None
    p = PurePosixPath(diff_file)
    if p.is_absolute() or ".." in p.parts:
        return None
    return root / diff_file


@dataclass
class Outcome:
    memory: str
    summary: str


class _Inputs(NamedTuple):
    """The inputs phase 2 synced into a root, read and modelled."""

    sources: list[Source]
    adhoc: list[AdHocNote]
    skills: list[Skill]
    groups: list[Group]
    signals: dict[str, list[Replacement]]
    aliases: dict[str, str]
    general: set[str]
    fingerprints: dict[str, str]


def _read_inputs(root: Path) -> _Inputs:
    # a rule candidate another project restates is a rule from here on
    sources, aliases = corroborated(read_sources(root))
    adhoc = read_notes(root)
    skills = read_skills(root)
    fingerprints: dict[str, str] = {s.thread_id: s.fingerprint for s in sources}
    fingerprints.update({n.support: n.fingerprint for n in adhoc})
    fingerprints.update({f"skill:{s.name}": s.fingerprint for s in skills})
    return _Inputs(
        sources,
        adhoc,
        skills,
        build_groups(sources),
        replacement_signals(sources),
        aliases,
        general_rule_keys(sources, aliases),
        fingerprints,
    )


def _catalogue(inputs: _Inputs) -> Ledger:
    """Everything the rebuild of ``inputs`` can produce, with nothing hidden."""
    sources, adhoc, skills, groups, signals, aliases, general, fingerprints = inputs
    catalogue = Ledger({}, fingerprints)
    _, all_visible, all_general = render_memory(
        catalogue, groups, [], adhoc, signals, general, aliases
    )
    full_model = build_summary_model(sources, all_visible, all_general, adhoc, skills, [])
    for level in ALL_LEVELS:
        render_summary(catalogue, full_model, level)
    return catalogue


def _last_run_catalogue(root: Path) -> Ledger | None:
    """The catalogue of the inputs the last successful run consolidated (the baseline
    commit's), which names each line as that run worded it; None without a readable
    baseline."""
    try:
        files = baseline_files(root)
    except (MemorydError, OSError):
        return None
    with tempfile.TemporaryDirectory(prefix="memoryd-last-run-") as tmp:
        for rel, data in files.items():
            if rel == RAW_MEMORIES_FILE or rel.startswith(_INPUT_DIRS):
                path = Path(tmp, rel)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        return _catalogue(_read_inputs(Path(tmp)))


_INPUT_DIRS = (f"{ROLLOUT_SUMMARIES_DIR}/", f"{SKILLS_DIR}/", f"{EXTENSIONS_DIR}/")


def consolidate_root(root: Path, diff_file: str | None, budget: int = SUMMARY_BUDGET) -> Outcome:
    """The new MEMORY.md and memory_summary.md for the memory root (pure: reads only), the
    summary within ``budget`` bytes."""
    inputs = _read_inputs(root)
    sources, adhoc, skills, groups, signals, aliases, general, fingerprints = inputs

    memory_text = read_text(root / MEMORY_FILE)
    summary_text = read_text(root / SUMMARY_FILE)
    mview = view_memory(memory_text) if memory_text is not None else None
    sview = view_summary(summary_text) if summary_text is not None else None
    state = (mview.state if mview is not None else None) or State()
    diff_text = None
    dpath = _diff_path(root, diff_file)
    if dpath is not None:
        diff_text = read_text(dpath)
    diff = parse_workspace_diff(diff_text) if diff_text else {}

    # 1. Everything the rebuild can produce, with nothing hidden.
    catalogue = _catalogue(inputs)

    # 2. The user's edits since memoryd last wrote each file.
    medits = user_edits(
        "M",
        mview,
        state.memory_digest,
        diff.get(MEMORY_FILE),
        MEMORY_FILE in diff,
        catalogue.keys["M"],
    )
    sedits = user_edits(
        "S",
        sview,
        state.summary_digest,
        diff.get(SUMMARY_FILE),
        SUMMARY_FILE in diff,
        catalogue.keys["S"],
    )
    for saved in sorted(diff):
        m = _SAVED_USER_VERSION.fullmatch(saved)
        text = read_text(root / saved) if m is not None else None
        if m is None or text is None:
            continue
        file: FileTag = "M" if m.group(1) == "MEMORY" else "S"
        view, name = (mview, MEMORY_FILE) if file == "M" else (sview, SUMMARY_FILE)
        base = baseline_of(view, diff.get(name), name in diff)
        extra = saved_user_version_edits(file, base, text, catalogue.keys[file])
        target = medits if file == "M" else sedits
        target.added += extra.added
        target.removed |= extra.removed
    hidden = dict(state.hidden)
    mem_additions: list[tuple[tuple[str, ...], str]] = []
    sum_additions: list[str] = []
    edits_by_file: tuple[tuple[FileTag, Edits], ...] = (("M", medits), ("S", sedits))
    reworded: list[str] = []  # deleted lines this rebuild words otherwise
    for file, edits in edits_by_file:
        added_keys = {key for _, key, _ in edits.added}
        for key in sorted(edits.removed - added_keys):
            rid = f"{file}:{key}"
            if rid in catalogue.items:
                hidden[rid] = catalogue.items[rid]
            else:
                reworded.append(rid)
        for where, key, text in edits.added:
            rid = f"{file}:{key}"
            if rid in hidden:
                del hidden[rid]  # re-added: show it again
            elif key in catalogue.keys[file]:
                continue  # the rebuild writes this line anyway
            elif file == "M":
                mem_additions.append((where, text))
            else:
                sum_additions.append(text)
    hidden = catalogue.recall(hidden, reworded, lambda: _last_run_catalogue(root))
    hidden = catalogue.follow(hidden)  # a reworded line stays hidden (ledger.Ledger)

    # 3. Notes: the summary keeps what fits, the rest moves to MEMORY.md.
    snotes = list(sview.notes) if sview is not None else []
    present = {ln.strip() for ln in snotes}
    snotes += [ln for ln in sum_additions if ln.strip() not in present]
    snotes, moved = fit_summary_notes(strip_blank_edges(snotes))
    mnotes = merge_memory_notes(
        list(mview.notes) if mview is not None else [], mem_additions, moved
    )
    mnotes = [redact_line(ln) if ln.strip() else "" for ln in mnotes]
    snotes = [redact_line(ln) if ln.strip() else "" for ln in snotes]

    # 4. The final files.
    ledger = Ledger(hidden, fingerprints)
    body, visible, shown_general = render_memory(
        ledger, groups, mnotes, adhoc, signals, general, aliases
    )
    model = build_summary_model(sources, visible, shown_general, adhoc, skills, snotes)
    summary = fit_summary(ledger, model, budget)
    body_text = redact("\n".join(body).rstrip("\n") + "\n")
    memory_digest = view_memory(body_text).digest
    summary_digest = view_summary(summary).digest
    memory = body_text + "\n" + "\n".join(state_block(memory_digest, summary_digest, hidden))
    return Outcome(memory=memory + "\n", summary=summary)


class OfflineConsolidator:
    """Phase-2 consolidation by rules: no model, no network, no cost."""

    name = NAME
    model = MODEL

    async def consolidate(self, request: ConsolidationInput) -> ConsolidationResult:
        root = Path(request.root)
        if not real_dir(root):
            raise AgentError("invalid_root", f"memory root {root} is not a directory")
        try:
            budget = summary_budget(os.environ)
        except ValueError as exc:
            raise AgentError("invalid_config", str(exc)) from exc
        try:
            written = await anyio.to_thread.run_sync(self._run, root, request.diff_file, budget)
        except OSError as exc:
            raise AgentError("io_error", f"cannot write the memory files: {exc}") from exc
        return ConsolidationResult(
            backend=self.name,
            model=self.model,
            usage=Usage(),
            written=sorted(written),
            written_ids=written,
            turns=1,
        )

    @staticmethod
    def _run(root: Path, diff_file: str | None, budget: int) -> dict[str, str]:
        """Write the files whose bytes change; return their paths and git blob ids."""
        outcome = consolidate_root(root, diff_file, budget)
        written: dict[str, str] = {}
        for name, text in ((MEMORY_FILE, outcome.memory), (SUMMARY_FILE, outcome.summary)):
            data = text.encode("utf-8")
            if read_regular_file(root / name) == data:
                continue
            atomic_write(root / name, data)
            written[name] = blob_id(data)
        return written

    async def aclose(self) -> None:
        return None
