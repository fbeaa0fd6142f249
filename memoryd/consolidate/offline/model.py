"""The consolidated model: task groups per project and their de-duplicated entries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Literal

from memoryd.consolidate.offline.layout import MAX_TASK_KEYWORDS
from memoryd.consolidate.offline.meaning import (
    DURABILITY,
    FACT,
    FIX,
    NOISE,
    REPLACED,
    command_pairs,
    fix_part,
    kind_of,
    meaning_words,
    program,
    rule_key,
    same_meaning,
    unwrap,
)
from memoryd.consolidate.offline.mood import directs, marked
from memoryd.consolidate.offline.replaced import (
    NAMES_NOTHING,
    Replacement,
    fact_key,
    mentions,
    replacement,
    settings,
    superseded_by,
    switched_to,
)
from memoryd.consolidate.offline.restated import (
    Core,
    core,
    join_restated,
    look_alike,
    rarity,
    restated,
    runners_of_tests,
)
from memoryd.consolidate.offline.scope import scope_only, universal
from memoryd.consolidate.offline.sources import Source, TaskIn, project_name
from memoryd.consolidate.offline.supersession import (
    changed_attributes,
    changed_values,
    gone_commands,
    renamed_settings,
    said_key,
    turned_down,
)
from memoryd.textutil import clip, content_words, dedupe_ci, norm_words, session_title


@dataclass
class TaskRef:
    source: Source
    task: TaskIn


@dataclass
class Task:
    title: str
    refs: list[TaskRef] = field(default_factory=list)

    @property
    def latest(self) -> str:
        return max(r.source.updated_at for r in self.refs)

    @property
    def outcome(self) -> str:
        return self.refs[0].task.outcome or "unknown"

    @property
    def support(self) -> frozenset[str]:
        return frozenset(r.source.thread_id for r in self.refs)

    def keywords(self) -> list[str]:
        return dedupe_ci(k for r in self.refs for k in r.source.keywords)[:MAX_TASK_KEYWORDS]


@dataclass
class Group:
    label: str
    cwd: str
    title: str = ""
    tasks: list[Task] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"# Task Group: {self.title}"

    @property
    def latest(self) -> str:
        return max(t.latest for t in self.tasks)

    @property
    def support(self) -> frozenset[str]:
        return frozenset(tid for t in self.tasks for tid in t.support)

    @property
    def project(self) -> str:
        return project_name(self.cwd)

    def branches(self) -> list[str]:
        return sorted({r.source.git_branch for t in self.tasks for r in t.refs} - {""})


def build_groups(sources: Sequence[Source]) -> list[Group]:
    groups: dict[tuple[str, str], Group] = {}
    tasks: dict[tuple[str, str, str], Task] = {}
    for src in sources:
        for t in src.tasks:
            # One group per project: a session's tasks stay together, whatever family the
            # extractor gave each.
            label = src.project
            gkey = (src.cwd, label.lower())
            group = groups.get(gkey)
            if group is None:
                group = groups[gkey] = Group(label=label, cwd=src.cwd)
            title = t.title or session_title(src.project, src.rollout_path, src.day)
            tkey = (*gkey, norm_words(title) or title)
            task = tasks.get(tkey)
            if task is None:
                task = tasks[tkey] = Task(title=title)
                group.tasks.append(task)
            task.refs.append(TaskRef(src, t))
    out = list(groups.values())
    for g in out:
        for task in g.tasks:
            task.refs.sort(key=lambda r: r.source.thread_id)
            task.refs.sort(key=lambda r: r.source.updated_at, reverse=True)
        g.tasks.sort(key=lambda t: t.latest, reverse=True)  # ties: first seen, in task order
    out.sort(key=lambda g: (g.label.lower(), g.cwd))
    out.sort(key=lambda g: g.latest, reverse=True)
    counts: dict[str, int] = {}
    for g in out:
        counts[g.label.lower()] = counts.get(g.label.lower(), 0) + 1
    for g in out:
        g.title = g.label if counts[g.label.lower()] == 1 else f"{g.label} (cwd={g.cwd})"
    return out


@dataclass
class Entry:
    """A de-duplicated block-level bullet (preference, knowledge or failure)."""

    key: str
    text: str
    tasks: list[int] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    projects: list[str] = field(default_factory=list)
    latest: str = ""
    implication: str = ""
    quote: str = ""
    kind: str = FACT
    superseded: Replacement | None = None

    def rule_text(self) -> str:
        """A rule as what to do, with the user's words when they say more than that."""
        head = self.implication or self.text
        # long enough for a rule's condition and its reason, which come last ("…, because the
        # changelog tool reads the prefix"); the summary's line cap still holds
        if self.quote and not adds_little(self.quote, head):
            return f'{clip(head, 200)} — "{clip(self.quote, 200)}"'
        return clip(head, 280)

    @property
    def durability(self) -> int:
        """How much a new session can rely on it: its kind, then how many sessions said it."""
        return DURABILITY[self.kind] * 4 + min(len(self.threads), 4)


# A token the user typed as code: a flag, a path, a name with a dot, digit or underscore
# ("--no-verify", "0.9", "stg_"): words alone do not say whether a rewrite kept it.
CODEISH = re.compile(r"(?<![\w-])(?:--?[a-z][\w-]*|[\w-]*[./_\d][\w./-]*\w)")


def adds_little(quote: str, text: str, extra: int = 0) -> bool:
    """Whether ``quote`` adds no code and at most ``extra`` meaning words to ``text``: the
    user's words then say nothing a line stating ``text`` does not."""
    return all(tok in text for tok in CODEISH.findall(quote)) and (
        len(content_words(quote) - content_words(text)) <= extra
    )


_QUOTE = re.compile(r"[\"“]([^\"”]{1,300})[\"”]")
_SAID = re.compile(
    r"^(?:when [^,]*,\s*)?the user (?:said|asked|corrected|asked / corrected)\b:?\s*", re.I
)


def project_bullet(project: str, text: str) -> str:
    """A bullet that names its project once: a statement the user began with the project's
    name ("tessera: no Lombok in new code") is not prefixed again."""
    if text.lower().startswith(f"{project.lower()}:"):
        text = text[len(project) + 1 :].lstrip()
    return f"- {project}: {text}"


def preference_parts(bullet: str) -> tuple[str, str, str]:
    """(dedup key, implication, quote) of a preference bullet: ``… "quote" -> implication``
    (the offline extractor's and the consolidation prompt's shape) or plain text."""
    bullet = re.sub(r"(?:\s*\[Task \d+\])+\s*$", "", bullet).strip()
    qm = _QUOTE.search(bullet)
    quote = qm.group(1).strip() if qm else ""
    if "->" in bullet:
        implication = bullet.rsplit("->", 1)[1].strip()
        implication = re.sub(r"^in similar future tasks,\s*", "", implication, flags=re.I)
    else:
        implication = _SAID.sub("", bullet).strip()
    implication = implication.rstrip(" .;")
    key = norm_words(implication) or norm_words(quote) or norm_words(bullet)
    return key, implication, quote


def _merge(entries: dict[str, Entry], key: str, text: str, num: int, ref: TaskRef) -> Entry:
    e = entries.get(key)
    if e is None:
        e = entries[key] = Entry(key=key, text=text)
    if num not in e.tasks:
        e.tasks.append(num)
    e.threads.add(ref.source.thread_id)
    if ref.source.project not in e.projects:
        e.projects.append(ref.source.project)
    e.latest = max(e.latest, ref.source.updated_at)
    return e


def collect_entries(
    numbered: Sequence[tuple[int, Task]],
    kind: Literal["prefs", "knowledge", "failures"],
    signals: Sequence[Replacement] = (),
    aliases: Mapping[str, str] | None = None,
) -> list[Entry]:
    """The group's bullets of one section, merged by meaning (a rule by its polarity and
    content words), without noise, each marked when a later replacement supersedes it."""
    entries: dict[str, Entry] = {}
    aliases = aliases or {}
    for num, task in numbered:
        for ref in task.refs:
            for bullet in getattr(ref.task, kind):
                text = clip(re.sub(r"(?:\s*\[Task \d+\])+\s*$", "", bullet), 600)
                what = kind_of(text, kind)
                if what == NOISE:
                    continue  # the rollout summary keeps it; memory does not need it
                if kind == "prefs":
                    _, implication, quote = preference_parts(text)
                    key = rule_key(implication or quote or text)
                    e = _merge(entries, aliases.get(key, key), text, num, ref)
                    e.implication = e.implication or implication
                    e.quote = e.quote or quote
                else:
                    e = _merge(entries, fact_key(text), text, num, ref)
                e.kind = what
    out = list(entries.values()) if kind == "prefs" else _fold_restatements(entries.values())
    for e in out:
        # A lesson stays true while its fix does: "`npm run e2e` failed …; fixed by `npx
        # playwright install`" is not about npm.
        claim = fix_part(e.text) if e.kind == FIX else f"{e.text} {e.quote}"
        # ... and a value its fix passed that is gone since (a profile, a file: the last part
        # of a path) leaves the step it teaches standing; a how-to with it is out of date
        e.superseded = superseded_by(claim, e.latest, signals, paths=e.kind != FIX)
    return out


def _fold_restatements(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per statement: a fact and the replacements read from it ("RELAY_URL is no
    longer read", "Replaced: `RELAY_URL` is gone ("RELAY_URL is no longer read")", "Switched
    to: …" with the same words) are one, kept as the replacement, which says what changed."""
    out: list[Entry] = []
    first: dict[str, int] = {}
    for e in entries:
        key = said_key(e.text)
        at = first.get(key)
        if not key or at is None:
            first[key] = len(out)
            out.append(e)
            continue
        keep, drop = (
            (e, out[at]) if e.kind == REPLACED and out[at].kind != REPLACED else (out[at], e)
        )
        keep.tasks += [n for n in drop.tasks if n not in keep.tasks]
        keep.threads |= drop.threads
        keep.projects += [p for p in drop.projects if p not in keep.projects]
        keep.latest = max(keep.latest, drop.latest)
        out[at] = keep
    return out


def replacement_signals(sources: Sequence[Source]) -> dict[str, list[Replacement]]:
    """Per cwd, every "Replaced: …" statement with the day of its session, and for each
    "Switched to: `new`" the older programs that ran the same subcommands (``npm test`` before,
    ``pnpm test`` since: npm was replaced by pnpm) and that the session saying the switch names
    (``node build`` before, ``pnpm build`` since: node serves the build the package manager
    made, it was not what the session turned away from)."""
    out: dict[str, list[Replacement]] = {}
    dated: dict[str, list[tuple[str, set[tuple[str, str]]]]] = {}
    switches: list[tuple[str, str, str, str, list[str]]] = []  # cwd, new, day, text, told
    for src in sources:
        for t in src.tasks:
            for bullet in [*t.knowledge, *t.failures]:
                dated.setdefault(src.cwd, []).append((src.updated_at, command_pairs(bullet)))
            for bullet in t.knowledge:
                r = replacement(bullet, src.updated_at)
                if r is not None:
                    out.setdefault(src.cwd, []).append(r)
                new = switched_to(bullet)
                if new is not None:
                    told = [b for u in src.tasks for b in (*u.prefs, *u.knowledge, *u.failures)]
                    switches.append((src.cwd, new, src.updated_at, bullet, told))
    # A setting whose value a later session gives differently: the older value is out of date.
    values: dict[tuple[str, str], list[tuple[str, str, str]]] = {}  # (cwd, name) -> day, value
    for src in sources:
        for t in src.tasks:
            for bullet in t.knowledge:
                for name, value in settings(bullet):
                    values.setdefault((src.cwd, name), []).append((src.updated_at, value, bullet))
    for (cwd, name), seen in sorted(values.items()):
        day, value, text = max(seen)
        for old_day, old_value, _ in sorted(seen):
            if old_day < day and old_value != value:
                out.setdefault(cwd, []).append(
                    Replacement(f"{name}={old_value}", f"{name}={value}", day, text)
                )
    for cwd, new, day, text, told in switches:
        before = {p for d, pairs in dated.get(cwd, []) if d < day for p in pairs}
        since = {p for d, pairs in dated.get(cwd, []) if d >= day for p in pairs}
        subs = {sub for prog, sub in since if prog == new}
        for old in sorted({prog for prog, sub in before if sub in subs and prog != new}):
            if mentions(old, told):
                out.setdefault(cwd, []).append(Replacement(old, new, day, text))
    # Changes no sentence announced: read from the facts themselves.
    facts: dict[str, list[tuple[str, str]]] = {}
    fails: dict[str, list[tuple[str, str]]] = {}
    rules: dict[str, list[tuple[str, str]]] = {}
    said: dict[str, list[tuple[str, str]]] = {}
    for src in sources:
        for t in src.tasks:
            for bullet in t.knowledge:
                if replacement(bullet, "") is None and switched_to(bullet) is None:
                    facts.setdefault(src.cwd, []).append((src.updated_at, bullet))
            for bullet in t.failures:
                fails.setdefault(src.cwd, []).append((src.updated_at, bullet))
            for bullet in t.prefs:
                _, implication, quote = preference_parts(bullet)
                rules.setdefault(src.cwd, []).append((src.updated_at, implication or quote))
            for bullet in [*t.prefs, *t.knowledge, *t.failures]:
                if replacement(bullet, "") is None and switched_to(bullet) is None:
                    said.setdefault(src.cwd, []).append((src.updated_at, bullet))
    tools = programs_run(sources)
    for cwd in sorted(said):
        found = [
            *turned_down(rules.get(cwd, []), tools),
            *changed_values(facts.get(cwd, []), said[cwd]),
            *changed_attributes(facts.get(cwd, []), said[cwd]),
            *renamed_settings(facts.get(cwd, []), said[cwd]),
            *gone_commands(fails.get(cwd, []), said[cwd]),
        ]
        known = set(out.get(cwd, []))
        for r in found:
            if r not in known:
                known.add(r)
                out.setdefault(cwd, []).append(r)
    return out


def programs_run(sources: Sequence[Source]) -> set[str]:
    """The stems of the programs the sessions' commands ran (what a rule's "tool" can be); a
    stem that is a word naming nothing (`write_themes` gives "them") is no tool: two rules
    that both say "them" share no tool."""
    out: set[str] = set()
    for src in sources:
        for t in src.tasks:
            for bullet in [*t.knowledge, *t.failures]:
                for m in re.finditer(r"`([^`\n]+)`", unwrap(bullet)):
                    out |= meaning_words(program(m.group(1)))
    return out - NAMES_NOTHING


def rule_aliases(sources: Sequence[Source]) -> dict[str, str]:
    """Each rule key mapped to the key of its meaning (the smallest key names it): rules that
    say the same in other words (``same_meaning``: most meaning words, the same code kept out,
    or the same tool taken the same way: "use uv, not pip" / "never pip install anything"),
    then rules of different projects whose cores say one rule (``join_restated``)."""
    texts: dict[str, str] = {}
    places: dict[str, set[str]] = {}
    for src in sources:
        for t in src.tasks:
            for bullet in t.prefs:
                text = _rule_text(bullet)
                texts.setdefault(rule_key(text), text)
                places.setdefault(rule_key(text), set()).add(src.cwd)
    tools = programs_run(sources)
    keys = sorted(texts)
    alias = {k: k for k in keys}
    cores = dict(zip(texts, _cores(texts.values(), sources), strict=True))

    def root(k: str) -> str:
        while alias[k] != k:
            k = alias[k]
        return k

    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            # two projects' rules alike but for a value are each their project's ("deploy
            # previews to blue" / "deploy previews to green"); in one project, the later may
            # replace the other
            if not same_meaning(texts[a], texts[b], tools):
                continue
            if not places[a] & places[b] and look_alike(cores[a], cores[b]):
                continue
            ra, rb = root(a), root(b)
            if ra != rb:
                alias[max(ra, rb)] = min(ra, rb)
    # what the words left apart: a rule restated in other words in another project
    join_restated(cores, places, alias, tools)
    return {k: root(k) for k in keys}


def _meanings(sources: Sequence[Source]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """``rule_aliases`` of the sources' rules, and the projects (cwds) each meaning was said in."""
    aliases = rule_aliases(sources)
    places: dict[str, set[str]] = {}
    for src in sources:
        for t in src.tasks:
            for bullet in t.prefs:
                key = _rule_key_of(bullet)
                places.setdefault(aliases.get(key, key), set()).add(src.cwd)
    return aliases, places


def _cores(texts: Iterable[str], sources: Sequence[Source]) -> list[Core]:
    """The ``core`` of each rule text, with the sources' project names and test runners."""
    names = {project_name(src.cwd).lower() for src in sources}
    runners = runners_of_tests(b for src in sources for t in src.tasks for b in t.knowledge)
    return [core(t, names, runners) for t in texts]


def _rule_text(bullet: str) -> str:
    """What a preference bullet asks: its implication, else the user's words, else itself."""
    _, implication, quote = preference_parts(bullet)
    return implication or quote or bullet


def _rule_key_of(bullet: str) -> str:
    return rule_key(_rule_text(bullet))


def _with_rules(
    sources: Sequence[Source], rules: Mapping[tuple[int, int], list[str]]
) -> list[Source]:
    """The sources with ``rules`` (by source and task index) added to their tasks' prefs."""
    return [
        replace(
            src,
            tasks=[
                replace(t, prefs=[*t.prefs, *rules[(i, j)]]) if (i, j) in rules else t
                for j, t in enumerate(src.tasks)
            ],
        )
        for i, src in enumerate(sources)
    ]


def corroborated(sources: Sequence[Source]) -> tuple[list[Source], dict[str, str]]:
    """The sources with each rule candidate that restates a rule or a candidate of another
    project made a rule of its task (docs/quality.md, "Round 13g"): a sentence that only
    weakly reads as a rule in one session is weak evidence, the same rule said in another
    project strong evidence. Restated as rules are joined: the words (``same_meaning``, not a
    look-alike with another value) or the cores (``restated``), pair by pair; a candidate that
    names its own project is said of it, and one nothing in another project restates stays
    out of the memory. The promoted candidates are checked again among the rules alone (the
    joins are transitive and the rules' rarity moves with them): one no longer joined across
    projects there is dropped. Returns the sources and their ``rule_aliases``."""
    said = [
        (src.cwd, i, j, bullet, True)
        for i, src in enumerate(sources)
        for j, t in enumerate(src.tasks)
        for bullet in t.candidates
        if not _names_project(bullet, src.project)
    ]
    if not said:
        return list(sources), rule_aliases(sources)
    said += [
        (src.cwd, i, j, bullet, False)
        for i, src in enumerate(sources)
        for j, t in enumerate(src.tasks)
        for bullet in t.prefs
    ]
    texts = [_rule_text(b) for *_, b, _ in said]
    cores = _cores(texts, sources)
    idf = rarity(cores)
    tools = programs_run(sources)
    words = [meaning_words(unwrap(t)) | c.ideas for t, c in zip(texts, cores, strict=True)]
    # each project's rule once (a rule repeated in its sessions is one comparison)
    others = list({(cwd, texts[m]): m for m, (cwd, *_) in enumerate(said)}.values())
    # A bare instruction ("add a reason field to the refund form") is a request for the work
    # at hand, whatever it shares with another; a candidate stands when it carries a mark that
    # it does (a prohibition, an obligation, a quantifier over cases, a habit: ``marked``) or
    # states how things are, or when the candidate it restates carries such a mark.
    marks = [cand and marked(t) for t, (*_, cand) in zip(texts, said, strict=True)]
    stands = [m or not directs(t) for m, t in zip(marks, texts, strict=True)]
    held: dict[tuple[int, int], list[str]] = {}
    for n, (cwd, i, j, bullet, candidate) in enumerate(said):
        if not candidate:
            break  # the candidates come first
        if any(
            said[m][0] != cwd
            and (stands[n] or marks[m])
            # no word in common: nothing the words or the cores could join (the cheap test)
            and words[n] & words[m]
            and _restates(texts[n], texts[m], cores[n], cores[m], idf, tools)
            for m in others
        ):
            held.setdefault((i, j), []).append(bullet)
    for _ in range(3):  # each round only drops: it settles fast
        promoted = _with_rules(sources, held)
        aliases, places = _meanings(promoted)
        kept = {
            at: ok
            for at, bullets in held.items()
            if (
                ok := [
                    b
                    for b in bullets
                    if places.get(aliases.get(k := _rule_key_of(b), k), set())
                    - {sources[at[0]].cwd}
                ]
            )
        }
        if kept == held:
            return promoted, aliases
        held = kept
    return list(sources), rule_aliases(sources)  # never settled: no candidate is trusted


def _restates(
    a: str, b: str, ca: Core, cb: Core, idf: Mapping[str, float], tools: Set[str]
) -> bool:
    if same_meaning(a, b, tools):
        return not look_alike(ca, cb)
    return restated(ca, cb, idf, tools)


def _names_project(bullet: str, project: str) -> bool:
    """Whether a candidate names its own project (a name long enough not to be a plain word)
    as a whole word: it is then said of that project, not carried to others."""
    return len(project) >= MIN_PROJECT_NAME and project.lower() in _name_words(bullet)


def general_rule_keys(sources: Sequence[Source], aliases: Mapping[str, str]) -> set[str]:
    """Keys of the rules stated in two or more projects, or said to hold in every project:
    one general rule each."""
    projects: dict[str, set[str]] = {}
    everywhere: set[str] = set()
    named = _projects_by_name(sources)
    for src in sources:
        for t in src.tasks:
            before = ""  # the key of the rule said just before, in this task
            for bullet in t.prefs:
                _, implication, quote = preference_parts(bullet)
                key = aliases.get(k := rule_key(implication or quote or bullet), k)
                projects.setdefault(key, set()).add(src.cwd)
                if before and scope_only(implication or quote):
                    everywhere.add(before)  # "…, noted for every project": the rule before's
                elif universal(f"{implication} {quote}"):
                    everywhere.add(key)
                before = key
                # "no sudo, like in <another project of theirs>": the rule holds there too,
                # whatever words (if any) it was said in there
                projects[key] |= _projects_named(f"{implication} {quote}", named)
    return {k for k, cwds in projects.items() if len(cwds) > 1} | everywhere


MIN_PROJECT_NAME = 4  # a shorter directory name ("api", "web") is too often a plain word


def _projects_by_name(sources: Sequence[Source]) -> dict[str, str]:
    """The user's projects by their directory's name (lower case), each name one project's."""
    cwds: dict[str, set[str]] = {}
    for src in sources:
        name = project_name(src.cwd).lower()
        if len(name) >= MIN_PROJECT_NAME:
            cwds.setdefault(name, set()).add(src.cwd)
    return {name: next(iter(c)) for name, c in cwds.items() if len(c) == 1}


def _projects_named(text: str, named: Mapping[str, str]) -> set[str]:
    """The directories of the projects ``text`` names as a whole word."""
    words = _name_words(text)
    return {cwd for name, cwd in named.items() if name in words}


def _name_words(text: str) -> set[str]:
    """The words of ``text`` a project's directory name could be, lower case: dotted and
    hyphenated names whole, without a sentence's full stop."""
    return set(_NAME_WORD.findall(text.lower()))


_NAME_WORD = re.compile(r"\w[\w-]*(?:\.[\w-]+)*")
