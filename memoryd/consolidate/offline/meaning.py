"""What a consolidated statement means: its kind (a rule, a failure's fix, a fact, how to run
something, a replacement), a key that merges equivalent statements (tool + polarity, not the
literal text); what a later statement makes out of date is ``supersession``.

These read the shapes the offline extractor writes and, where they can, a model's free
wording; anything unrecognised is a plain fact."""

from __future__ import annotations

import re
from collections.abc import Iterable, Set

from memoryd.consolidate.offline.scope import UNIVERSAL
from memoryd.textutil import FILLER, content_words, norm_words, overlap, stem

# Kinds, most durable first; the summary ranks by them.
RULE = "rule"  # a user-stated preference or rule
FIX = "fix"  # a failure linked to what fixed it
DONT = "dont"  # an action the user rejected
REPLACED = "replaced"  # X replaced by Y / X is gone
FACT = "fact"  # a stated or observed fact about the project
RUN = "run"  # how to build, test, run
MISSING = "missing"  # a tool or module missing here
NOISE = "noise"  # a pushback, an unresolved one-off failure, a list of files

DURABILITY = {RULE: 6, FIX: 5, DONT: 4, REPLACED: 4, FACT: 4, RUN: 3, MISSING: 2, NOISE: 0}

FIX_LINE = re.compile(
    r"\bfixed\s+by\b|\bworks?\s+instead\b|\bworked\s+instead\b|\bresolved\b.*\bby\b"
    r"|\bworks\s+where\b|\bnext\s+time\s+start\s+with\b",
    re.I,
)
_DONT = re.compile(r"^the user rejected\b|don't repeat it", re.I)
REPLACED_LINE = re.compile(
    r"^Replaced:\s+(?P<old>`[^`]+`|\S+)\s+(?:is\s+replaced\s+by\s+(?P<new>`[^`]+`|\S+)|is\s+gone)"
)
_RUN = re.compile(
    r"^(?:run the tests|check it|build it|apply migrations|start it|install dependencies)"
    r"\s+with\s+`|^`[^`]+`\s+(?:works|runs successfully)\b",
    re.I,
)
_MISSING = re.compile(r"\bis not installed or not on PATH\b|\bwas missing in this environment\b")
_NOISE = re.compile(
    r"^(?:files involved|project root|the user pushed back|the user corrected)\b"
    r"|;\s*(?:unresolved at the end of the task|next step: .*no later success of it)$",
    re.I,
)


def kind_of(text: str, section: str) -> str:
    """The kind of a bullet from a ``prefs``, ``knowledge`` or ``failures`` section."""
    if section == "prefs":
        return RULE
    if _NOISE.search(text):
        return NOISE
    if _DONT.search(text):
        return DONT
    if REPLACED_LINE.match(text) or SWITCHED_LINE.match(text):
        return REPLACED
    if FIX_LINE.search(text):
        return FIX
    if section == "failures":
        return NOISE  # a failure with no known fix is one session's trouble
    if _MISSING.search(text):
        return MISSING
    if _RUN.search(text):
        return RUN
    return FACT


_NEGATIVE = re.compile(r"^(?:do not|don't|never|avoid|no|stop)\b", re.I)


# "X, not Y", "X rather than Y", "X instead of Y", "X over Y": the rule is the pair.
# (``x`` starts where its word does: tried from each character of a long word, it took time
# quadratic in the word's length)
_PAIR = re.compile(
    r"(?<![\w./@+-])(?P<x>[\w./@+-]+)`?\s*(?:,\s*not|\s+rather\s+than|\s+instead\s+of|\s+over|\s+not)"
    r"\s+`?(?P<y>[\w./@+-]+)",
    re.I,
)


# Words between "rather than" and the tool it rejects: "rather than piping it into python".
_BEFORE_TOOL = frozenset("into onto through via with".split())


def _rejected(alternative: str) -> str:
    """The tool an X-over-Y rule rejects: the alternative's first word that is not a gerund
    or a function word ("piping it into a python snippet" rejects python)."""
    words: list[str] = re.findall(r"[\w./@+-]+", alternative.lower())
    for w in words:
        if not w.endswith("ing") and w not in FILLER and w not in _BEFORE_TOOL:
            return w
    return words[0] if words else ""


def rule_key(implication: str) -> str:
    """What a rule is about: the tool it prefers to which (a pair), else its polarity and its
    content words. Equal keys are the same rule, whatever the wording around them."""
    m = _PAIR.search(implication)
    if m is not None:
        return f"pair:{m.group('x').lower()}>{_rejected(implication[m.start('y') :])}"
    words = sorted(content_words(implication))
    polarity = "-" if _NEGATIVE.match(implication.strip()) else "+"
    return polarity + " ".join(words) if words else norm_words(implication)


def same_rule(a: set[str], b: set[str]) -> bool:
    """Two rules share most of their meaning words (at least two, and 60% of the shorter),
    a word matching another that it begins or that begins it ("lint" / "linter",
    "indent" / "indentation", "time" / "timestamp")."""
    shared = overlap(a, b)
    return shared >= 2 and shared >= 0.6 * min(len(a), len(b))


# A rule that something must go or stay out: "no debugPrint calls left behind", "strip any
# print() you added for debugging".
_REMOVAL = re.compile(
    r"^(?:no|don't|dont|do\s+not|never|avoid|stop)\b|\b(?:strip|remove|delete|drop)\b"
    r"|\bleft\s+(?:behind|over|in)\b",
    re.I,
)
# A name in code: a code span, a call, camelCase or snake_case.
_IDENTIFIER = re.compile(r"`[^`\n]+`|\b\w+\(\)|\b[a-z]+[A-Z]\w*|\b[a-z]+_\w+")


def meaning_words(text: str) -> set[str]:
    """Content words with a name in code split into its words ("debugPrint": debug, print)
    and each reduced to its stem ("debugging": debug)."""
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return {stem(w) for w in content_words(split)}


# Words that name one idea, whatever the ecosystem or the phrasing: a crate, a gem and an
# npm package are each a dependency; "its own commit" and "a separate commit" split the same
# way. A word maps to its idea before two rules are compared.
_IDEAS: dict[str, str] = {
    **dict.fromkeys("packag crate gem dependenc dep librar lib wheel plugin".split(), "dependency"),
    **dict.fromkeys("ask confirm approv permiss".split(), "ask"),
    **dict.fromkeys("own separat dedicat standalone distinct".split(), "separate"),
    **dict.fromkeys("chang work featur touch".split(), "change"),
    **dict.fromkeys("short brief concis terse succinct".split(), "short"),
    **dict.fromkeys("regress fail".split(), "fail"),
}
# "check with me", "run it by me": asking someone, said without the word.
ASKING = re.compile(r"\b(?:check|clear|run\s+it)\s+(?:with|by)\s+(?:me|us)\b", re.I)
# Words that carry no idea in a rule, beyond the fillers: pronouns and light verbs.
_LIGHT = frozenset("me my us our your their them into onto get got goe go put".split())
# A question word names no idea of a rule: "explain what broke first" and "when you explain
# an error, quote it" share "explain", not "what" ("when" is a filler already).
_WH = frozenset("what which who whom whose why how where".split())


def _idea(word: str) -> str:
    """The idea a meaning word names: an entry of ``_IDEAS`` it equals or, for a stem of
    five letters or more, begins with ("dependencies", "changes", "dedicated")."""
    if word in _IDEAS:
        return _IDEAS[word]
    for root, idea in _IDEAS.items():
        if len(root) >= 5 and word.startswith(root):
            return idea
    return word


def _ideas(words: set[str]) -> set[str]:
    return {_idea(w) for w in words - _LIGHT}


def idea_words(text: str) -> set[str]:
    """The meaning words of a rule mapped to their ideas, light words left out."""
    words = meaning_words(ASKING.sub(" ask ", text)) - _LIGHT - _WH
    return {_idea(w) for w in words}


# "…, not python one-liners": the alternative a rule turns down after its comma is not what it
# asks for; two rules that share only what they turn down ("jq for JSON, not one-liners" /
# "logs are JSON, one object per line") are not one rule.
_ASKED = re.compile(r",\s*(?:not|rather\s+than|instead\s+of)\b[^,;.]*", re.I)


def same_idea(a: str, b: str) -> bool:
    """Two longer rules that say one thing in other words: at least three ideas in common,
    half of the shorter rule's ("leave the lockfile out of unrelated changes, lock updates
    get their own commit" / "lockfile churn goes in a separate commit, not into feature
    work")."""
    ia, ib = idea_words(unwrap(_ASKED.sub("", a))), idea_words(unwrap(_ASKED.sub("", b)))
    shared = overlap(ia, ib)
    return shared >= 3 and shared >= 0.5 * min(len(ia), len(ib))


# A rule that opens by turning something down ("drop the draft step", "avoid new packages").
_TURNS_DOWN = re.compile(r"^(?:do\s+not|don't|dont|never|avoid|no|stop|drop|skip|remove)\b", re.I)
_EXCEPT = re.compile(r"\b(?:without|unless)\b", re.I)


def _polarity(rule: str) -> bool:
    """Whether a rule asks for what it names (True) or turns it down; "avoid X without
    asking" turns down only X without asking, so it asks for asking, as "ask before X" does."""
    opening = rule.strip().lstrip("\"'“‘`(").strip()
    # "emoji-free" keeps the thing out as "no emojis" does
    refuses = _TURNS_DOWN.match(opening) is not None or re.search(r"\w-free\b", rule) is not None
    return (not refuses) != (_EXCEPT.search(rule) is not None)


def other_names(a: str, b: str) -> bool:
    """The shorter rule names a thing in code (a program, an acronym, an identifier) that the
    other does not mention: "no TODO comments" is not "no emojis in comments", while
    "convert to local time for display" is "store UTC, convert to local time for display"."""
    short, long = sorted((a, b), key=lambda t: (len(meaning_words(unwrap(t))), t))
    names = names_in(short)
    return bool(names) and not overlap(names, meaning_words(unwrap(long)) | names_in(long))


def other_tools(a: str, b: str, tools: Set[str]) -> bool:
    """Each rule names programs the sessions ran and they share none: "run dune fmt before
    a commit" and "formatting is done with deno fmt" are rules about two tools."""
    ta, tb = _tools_of(a, tools), _tools_of(b, tools)
    return bool(ta) and bool(tb) and not ta & tb


def _tools_of(rule: str, tools: Set[str]) -> set[str]:
    # an acronym ("the CI") names a place, not a program, even when a path held the word
    acronyms = {stem(m.group(0).lower()) for m in _ACRONYM.finditer(rule)}
    return (meaning_words(unwrap(rule)) & tools) - acronyms


def same_removal(a: str, b: str) -> bool:
    """Two rules that keep the same thing out of the code: both say it must go, they name it
    in code with a word in common, and they share two meaning words ("no debugPrint calls
    left behind" and "strip any print() you added for debugging")."""
    if not (_REMOVAL.search(a) and _REMOVAL.search(b)):
        return False
    names_a = {w for m in _IDENTIFIER.finditer(a) for w in meaning_words(m.group(0))}
    names_b = {w for m in _IDENTIFIER.finditer(b) for w in meaning_words(m.group(0))}
    return bool(names_a & names_b) and len(meaning_words(a) & meaning_words(b)) >= 2


SWITCHED_LINE = re.compile(r"^Switched to:\s+`(?P<new>[^`]+)`")


def command_pairs(text: str) -> set[tuple[str, str]]:
    """(program, subcommand) of each command in the code spans of ``text``."""
    out: set[tuple[str, str]] = set()
    for m in re.finditer(r"`([^`\n]+)`", text):
        words = [w for w in m.group(1).split() if not re.match(r"^[A-Z_]+=", w)]
        if len(words) >= 2 and re.fullmatch(r"[\w.-]+", words[0]):
            out.add((words[0], words[1]))
    return out


_FIX_PART = re.compile(r";\s*(?:fixed\s+by\b.*|`[^`]+`\s+work(?:s|ed)\s+instead.*)$")


def fix_part(text: str) -> str:
    """The part of a lesson that says what fixed it (the whole text when there is none)."""
    m = _FIX_PART.search(text)
    return m.group(0) if m else text


def terms(texts: Iterable[str]) -> list[str]:
    """Code spans of some statements, in order: words that grep finds in them."""
    out: list[str] = []
    for text in texts:
        for m in re.finditer(r"`([^`\n]{2,40})`", text):
            word = m.group(1).split()[0]
            if word not in out and re.fullmatch(r"[\w.@/+-]{2,30}", word):
                out.append(word)
    return out


# Words before a command that only say how it is run: "sudo cargo build", "env X=1 make".
_LEADERS = frozenset("sudo env time nice exec command".split())


def program(command: str) -> str:
    """The program a command runs: its first word after ``VAR=value`` assignments and
    ``sudo``/``env`` ("GOTOOLCHAIN=go1.22.5 go test ./..." runs go)."""
    for word in command.strip("`").split():
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word) or word in _LEADERS or word.startswith("-"):
            continue
        return word.lower()
    return ""


def first_arg(command: str) -> str:
    words = command.strip("`").lower().split()
    prog = program(command)
    rest = words[words.index(prog) + 1 :] if prog in words else []
    return rest[0] if rest else ""


# --- Rules that mean the same: the same tool, taken the same way ---

# Wrappers that run a tool without being it: `uv run pytest` and `pytest` run pytest.
_WRAPPER = re.compile(
    r"(?<![\w-])(?:(?:uv|poetry|pdm|pipenv|hatch|rye)\s+run|npx|bunx|(?:pnpm|yarn)\s+(?:exec|dlx)"
    r"|bundle\s+exec|python3?\s+-m)\s+(?=[\w.-])",
    re.I,
)
# Words that turn down what follows them within a few words: "never X", "Y rather than X".
_NEGATOR = frozenset("don't dont not never avoid no stop without instead than over".split())
_STANCE_REACH = 4


def unwrap(text: str) -> str:
    """``text`` with its commands' wrappers dropped ("uv run pytest -q" → "pytest -q")."""
    return _WRAPPER.sub("", text)


def stance(text: str) -> dict[str, bool]:
    """Each meaning word of a rule with whether the rule takes it (True) or turns it down
    (False): a negation or "rather than" / "instead of" in the few words before its first
    mention. "use uv, not pip": uv taken, pip turned down; "never run pip": pip turned down."""
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", unwrap(text))
    # a clause boundary ends a negation's reach: "never npm, pnpm only"
    # a dotted name (".godot", ".venv") is a file or folder, never the program it echoes:
    # it is one token, which names no tool
    tokens = re.findall(
        r"(?<![\w.])\.[a-z0-9][\w'-]*|[a-z0-9][a-z0-9']*|[,;:.!?—()]", split.lower()
    )
    out: dict[str, bool] = {}
    for i, tok in enumerate(tokens):
        word = stem(tok.strip("'"))
        if not word[:1].isalnum() or word in out or tok in FILLER:
            continue
        before: list[str] = []
        for w in reversed(tokens[max(0, i - _STANCE_REACH) : i]):
            if not w[:1].isalnum():
                break
            before.append(w)
        out[word] = not any(w in _NEGATOR for w in before)
    return out


_ACRONYM = re.compile(r"\b[A-Z]{2,6}s?\b")  # UTC, PR, JSON: a name, not a plain word


def names_in(text: str) -> set[str]:
    """The stems of the names in code a rule mentions: code spans' programs, calls, paths,
    camelCase and snake_case names."""
    out = {stem(m.group(0).lower()) for m in _ACRONYM.finditer(text)}
    for m in _IDENTIFIER.finditer(unwrap(text)):
        name = m.group(0)
        if name.startswith("`"):
            prog = program(name)
            if prog:
                out.add(stem(prog))
        else:
            out |= meaning_words(name)
    return out


def same_tool_rule(a: str, b: str, tools: Set[str]) -> bool:
    """Two rules about the same tool taken the same way, in other words: they share a tool
    (a program the sessions ran, or a name in code either rule gives) with the same stance,
    turn no shared tool the other way, and share another meaning word or are both short
    ("use rg to search, not grep" / "search with ripgrep (rg) instead of grep -r")."""
    sa, sb = stance(a), stance(b)
    known = tools | names_in(a) | names_in(b)
    shared = [w for w in sa if w in sb and w in known]
    if not shared or not same_stance(sa, sb):
        return False
    others = overlap(set(sa) - set(shared), set(sb) - set(shared))
    return bool(others) or max(len(sa), len(sb)) <= 3


def _same_refusal(a: str, b: str) -> bool:
    """Two rules that turn the same word down, wherever their negation stands ("lock files are
    regenerated, never edited by hand" / "do not hand-edit the lockfile"), and take nothing
    the other turns down."""
    sa, sb = stance(unwrap(a)), stance(unwrap(b))
    refused = {w for w, ok in sa.items() if not ok and sb.get(w) is False}
    # a negation reaches a few words on, so the object may be "turned down" in one rule only
    # ("do not hand-edit the snapshots"): fewer disagreements than refusals in common
    differ = {w for w, ok in sa.items() if w in sb and sb[w] != ok}
    return bool(refused) and len(differ) < len(refused)


def same_stance(sa: dict[str, bool], sb: dict[str, bool]) -> bool:
    """No word one rule takes that the other turns down."""
    return all(sa[w] == sb[w] for w in sa if w in sb)


# "installing with sudo is a no", "force pushes are off limits here": a rule that names what it
# turns down first and the refusal after it, a predicate in place of "no" or "never" before.
_REFUSED_AFTER = re.compile(
    r"^(?P<what>(?:(?!\b(?:is|are)\b).){3,80}?)\s+(?:is|are)\s+(?:a\s+(?:hard\s+|big\s+)?no\b"
    r"(?:-go)?|not\s+(?:allowed|ok(?:ay)?\b|an\s+option|acceptable)|forbidden|banned|prohibited"
    r"|off[\s-]limits|out\s+of\s+the\s+question)",
    re.I,
)


def refusal_first(rule: str) -> str:
    """A rule that refuses what it names first said the other way round ("installing with sudo
    is a no for npm too" → "no installing with sudo for npm too"), so its stance and polarity
    read as those of the same rule said with "no" before; any other rule as it is."""
    m = _REFUSED_AFTER.match(rule.strip())
    return rule if m is None else f"no {m.group('what')}{rule.strip()[m.end() :]}"


def same_refused(a: str, b: str, tools: Set[str]) -> bool:
    """Two rules that turn down the same thing for the same job, whatever else each names:
    at least two words both turn down, at most one that only one of them does, the same
    programs turned down and nothing one takes that the other turns down. The thing, the
    polarity and the job are the rule; the programs it was met with or a reason after it
    are not ("no installing with sudo, for npm too" / "avoid sudo when installing stuff;
    pipx is for python apps")."""
    sa, sb = stance(unwrap(a)), stance(unwrap(b))
    ra = {w for w, ok in sa.items() if not ok}
    rb = {w for w, ok in sb.items() if not ok}
    return (
        len(ra & rb) >= 2 and len(ra ^ rb) <= 1 and ra & tools == rb & tools and same_stance(sa, sb)
    )


def same_meaning(a: str, b: str, tools: Set[str]) -> bool:
    """Two rules that say the same in other words: most meaning words (or ideas) shared, both
    asking for or both turning down, no other thing in code named and no word taken by one
    and turned down by the other; or the same code kept out; or the same tool taken the same
    way."""
    # where a rule holds ("same rule as in the api", "in every repo") is not what it asks
    a, b = refusal_first(UNIVERSAL.sub(" ", a)), refusal_first(UNIVERSAL.sub(" ", b))
    if same_refused(a, b, tools):
        return True
    if other_tools(a, b, tools):
        return False
    wa, wb = meaning_words(unwrap(a)) - _WH, meaning_words(unwrap(b)) - _WH
    return (
        (
            (same_rule(wa, wb) or same_rule(_ideas(wa), _ideas(wb)) or same_idea(a, b))
            and (_polarity(a) == _polarity(b) or _same_refusal(a, b))
            and not other_names(a, b)
            and not pair_conflict(a, b)
            and not pair_conflict(b, a)
        )
        or same_removal(a, b)
        or same_tool_rule(a, b, tools)
    )


def pair_conflict(a: str, b: str) -> bool:
    """``a`` prefers X to Y and ``b`` takes Y or turns X down ("tabs, not spaces" against
    "spaces, not tabs"). Only the pair counts: "don't add a package without asking" and "ask
    before adding a package" agree, whatever their negations."""
    m = _PAIR.search(a)
    if m is None:
        return False
    x, y = stem(m.group("x").lower()), stem(_rejected(a[m.start("y") :]))
    sb = stance(b)
    return sb.get(y) is True or sb.get(x) is False
