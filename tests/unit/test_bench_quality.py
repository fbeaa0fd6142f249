"""The quality benchmark's corpora and scorer (scripts/bench_quality.py, issue 13).

The corpora must hold what the issue asks for, their sessions must be real Codex 0.169
rollouts to memoryd's own indexer, and the scorer must be able to fail: a hand-written memory
folder that states every fact scores 100 %, an empty one 0 %, one that keeps old values and
distractors is caught.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import aiosqlite
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import bench_quality  # noqa: E402
from quality import corpora  # noqa: E402
from quality.model import (  # noqa: E402
    DISTRACTOR_KINDS,
    FACT_KINDS,
    Corpus,
    Fact,
    Patch,
    Say,
    Sh,
    Think,
    User,
)
from quality.render import render_session, write_session  # noqa: E402
from quality.score import MEMORY, SUMMARY, Scorer, active_facts, score_root, units  # noqa: E402

from memoryd.config import Config  # noqa: E402
from memoryd.phase1 import eligibility  # noqa: E402
from memoryd.redact import redact  # noqa: E402
from memoryd.rollouts.indexer import Indexer  # noqa: E402
from memoryd.rollouts.render import render_rollout  # noqa: E402
from memoryd.store.jobs import scan_candidates  # noqa: E402

DAY_MS = 86_400_000
TRIGGERS = re.compile(r"\b(always|never|prefer|prefers|preferred)\b", re.I)
NOW_MS = int(time.time() * 1000)


@pytest.fixture(params=corpora.NAMES)
def corpus(request: pytest.FixtureRequest) -> Corpus:
    return corpora.get(request.param)


def _start(s_days_ago: float) -> int:
    return NOW_MS - int(s_days_ago * DAY_MS)


def _user_texts(corpus: Corpus, keys: tuple[str, ...]) -> list[str]:
    return [st.text for k in keys for st in corpus.session(k).steps if isinstance(st, User)]


def _lookalikes_stay_home(
    corpus: Corpus,
    pairs: Sequence[tuple[str, str]],
    split: Callable[[list[str]], list[str]] = list,
) -> None:
    """Each look-alike pair: two projects' own rules, neither stated by the other's wording,
    and no user of another project says one (each text after ``split``)."""
    by_id = {f.id: f for f in corpus.facts}
    for a, b in pairs:
        fa, fb = by_id[a], by_id[b]
        assert fa.kind == fb.kind == "project_rule" and fa.project != fb.project
        assert not Scorer(corpus).stated(fa, units(f"## {fa.project}\n\n- {fb.says}\n")), (a, b)
        assert not Scorer(corpus).stated(fb, units(f"## {fb.project}\n\n- {fa.says}\n")), (a, b)
        for f in (fa, fb):
            keys = tuple(s.key for s in corpus.sessions if s.project != f.project)
            elsewhere = split(_user_texts(corpus, keys))
            assert not any(all(p.search(x) for p in f.match.patterns()) for x in elsewhere), f.id


def _all_text(corpus: Corpus, keys: tuple[str, ...]) -> str:
    parts: list[str] = []
    for k in keys:
        for st in corpus.session(k).steps:
            if isinstance(st, Sh):
                parts += [st.cmd, st.out]
            elif isinstance(st, User | Say):
                parts.append(st.text)
            else:
                parts.append(getattr(st, "body", ""))
    return "\n".join(parts)


def test_corpus_has_the_size_and_spread_the_issue_asks_for(corpus: Corpus) -> None:
    assert len(corpus.sessions) >= 24
    assert len({s.key for s in corpus.sessions}) == len(corpus.sessions)
    assert len({s.project for s in corpus.sessions}) >= 4
    days = [s.days_ago for s in corpus.sessions]
    assert max(days) - min(days) >= 14
    assert any(s.later for s in corpus.sessions)
    # later sessions come after every initial one, and everything is idle and within 30 days
    assert max(s.days_ago for s in corpus.sessions if s.later) < min(
        s.days_ago for s in corpus.sessions if not s.later
    )
    assert min(days) > 0.55 and max(days) < 29
    for step in ("first", "later"):
        facts, _, _ = active_facts(corpus, step)
        assert len(facts) >= 30, step
    assert {f.kind for f in corpus.facts} == set(FACT_KINDS)
    assert {d.kind for d in corpus.distractors} == set(DISTRACTOR_KINDS)
    for f in corpus.facts:
        assert f.sources and all(corpus.session(k) for k in f.sources), f.id
        if f.project is not None:
            assert all(corpus.session(k).project == f.project for k in f.sources), f.id
        assert (f.link is not None) == (f.kind == "failure_fix"), f.id
    for f in corpus.facts:
        if f.superseded_by is not None:
            new = next(g for g in corpus.facts if g.id == f.superseded_by)
            assert new.kind == "superseding"
            assert all(corpus.session(k).later for k in new.sources)
            assert not any(corpus.session(k).later for k in f.sources)
    assert sum(1 for f in corpus.facts if f.superseded_by) >= 3
    general = [f for f in corpus.facts if f.kind == "general_rule"]
    assert all(len({corpus.session(k).project for k in f.sources}) >= 2 for f in general)
    _, _, gone = active_facts(corpus, "forget")
    assert gone, "the forgotten session must have facts of its own"


def test_the_forgotten_sessions_own_facts_are_nowhere_else(corpus: Corpus) -> None:
    """After the forget, a fact of the forgotten session must be gone; its match must then
    hit no other session's text, or the bench would count a statement memoryd rightly kept
    from that other session as a forgotten fact kept."""
    _, _, gone = active_facts(corpus, "forget")
    for s in corpus.sessions:
        if s.key != corpus.forget:
            text = _all_text(corpus, (s.key,))
            for f in gone:
                assert not all(p.search(text) for p in f.match.patterns()), (f.id, s.key)


def test_ground_truth_is_planted_where_the_issue_says(corpus: Corpus) -> None:
    """Every fact's and distractor's tokens occur in its sessions; project facts never in
    what the user typed; most stated rules avoid the trigger words."""
    for f in list(corpus.facts) + list(corpus.distractors):
        text = _all_text(corpus, f.sources)
        for group in f.match.groups:
            assert any(re.search(re.escape(a), text, re.I) for a in group), (f.id, group)
    for f in corpus.facts:
        if f.kind == "project_fact":
            said = "\n".join(_user_texts(corpus, f.sources))
            hits = [p.search(said) for p in f.match.patterns()]
            assert not all(hits), f"{f.id} is typed by the user; it must come from the tools"
        if f.kind == "failure_fix":
            # the fix is a command of its own, not the failing one run again, or an edit
            steps = [st for k in f.sources for st in corpus.session(k).steps]
            cmds = [st for st in steps if isinstance(st, Sh)]
            fixes = [c for c in cmds if all(p.search(c.cmd) for p in f.match.patterns())]
            edits = [
                st
                for st in steps
                if isinstance(st, Patch) and all(p.search(st.body) for p in f.match.patterns())
            ]
            assert (fixes and all(c.code == 0 for c in fixes)) or edits, f.id
            assert any(c.code != 0 for c in cmds), f.id
    stated = [f for f in corpus.facts if f.kind in ("preference", "general_rule", "project_rule")]
    plain = [
        f
        for f in stated
        if not any(
            TRIGGERS.search(t) and all(p.search(t) for p in f.match.patterns())
            for t in _user_texts(corpus, f.sources)
        )
    ]
    assert len(plain) * 2 >= len(stated), "most rules must be phrased without trigger words"


async def test_rendered_sessions_index_with_a_preview_and_are_eligible(
    tmp_path: Path, db: aiosqlite.Connection, corpus: Corpus
) -> None:
    sessions = tmp_path / "codex" / "sessions"
    ids: dict[str, tuple[str, str]] = {}
    for s in corpus.sessions:
        tid, path = write_session(
            sessions, corpus.name, s, corpus.project(s.project), _start(s.days_ago)
        )
        first = next(st.text for st in s.steps if isinstance(st, User))
        ids[tid] = (first, s.project)
        assert path.name.endswith(f"-{tid}.jsonl")
        # the stage-1 view of the rollout holds the user's words and the tool output
        stage1 = "".join(render_rollout(path).chunks)
        assert json.dumps(first, ensure_ascii=False)[1:40] in stage1
    indexer = Indexer(db, [sessions], tmp_path / "codex" / "archived_sessions")
    stats = await indexer.scan_all()
    assert (stats.files_seen, stats.problems) == (len(corpus.sessions), 0)
    rows = await (
        await db.execute("SELECT id, preview, cwd, source, git_branch FROM threads")
    ).fetchall()
    assert {r[0] for r in rows} == set(ids)
    for tid, preview, cwd, source, branch in rows:
        first, project = ids[tid]
        assert preview == redact(first)  # the indexer stores the preview redacted
        assert cwd == corpus.project(project).cwd
        assert source == "cli" and branch
    candidates = await scan_candidates(db, eligibility(Config()), now_ms=NOW_MS, limit=1000)
    assert {c.thread_id for c in candidates} == set(ids)


def test_rendering_is_byte_stable(corpus: Corpus) -> None:
    s = corpus.sessions[0]
    a = render_session(corpus.name, s, corpus.project(s.project), 1_795_317_123_000)
    b = render_session(corpus.name, s, corpus.project(s.project), 1_795_317_123_000)
    assert a == b
    lines = [json.loads(x) for x in a[1].splitlines()]
    assert [x["ordinal"] for x in lines] == list(range(len(lines)))
    assert lines[0]["type"] == "session_meta" and lines[0]["payload"]["id"] == a[0]
    assert {x["type"] for x in lines} >= {
        "session_meta", "event_msg", "response_item", "turn_context", "world_state",
        "token_usage_record",
    }  # fmt: skip


def _folder(root: Path, corpus: Corpus, lines_by_scope: dict[str, list[str]]) -> Path:
    """A memory folder whose summary and MEMORY.md hold ``lines`` under one heading per scope
    (a project name, or "General")."""
    root.mkdir(parents=True, exist_ok=True)
    body = ["v1", ""]
    for scope, lines in lines_by_scope.items():
        body += [f"## {scope}", ""] + [f"- {line}" for line in lines] + [""]
    text = "\n".join(body)
    (root / SUMMARY).write_text(text)
    (root / MEMORY).write_text(text.removeprefix("v1\n"))
    return root


def _perfect(root: Path, corpus: Corpus, facts: list[Fact]) -> Path:
    scopes: dict[str, list[str]] = {}
    for f in facts:
        scopes.setdefault(f.project or "General", []).append(f.says)
    return _folder(root, corpus, scopes)


@pytest.mark.parametrize("step", ["first", "later", "forget"])
def test_scorer_gives_a_hand_written_perfect_folder_full_marks(
    tmp_path: Path, corpus: Corpus, step: str
) -> None:
    facts, _, _ = active_facts(corpus, step)
    result = score_root(corpus, _perfect(tmp_path, corpus, facts), step)
    for name in (SUMMARY, MEMORY):
        f = result.files[name]
        assert f.total == (len(facts), len(facts)), (name, f.missing)
        assert f.linked[0] == f.linked[1] > 0
        assert f.superseded_current == [] and f.distractors == []
        assert f.fact_bytes > 0.9 * f.size - 200
    assert result.forgotten_present == {SUMMARY: [], MEMORY: []} or step != "forget"


def test_scorer_gives_an_empty_folder_zero(tmp_path: Path, corpus: Corpus) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / SUMMARY).write_text("v1\n")
    (tmp_path / "root" / MEMORY).write_text("")
    result = score_root(corpus, tmp_path / "root", "later")
    for f in result.files.values():
        assert f.total[0] == 0 and f.total[1] >= 30
        assert f.linked[0] == 0 and f.fact_bytes == 0
    missing = score_root(corpus, tmp_path / "nothing", "later")
    assert all(f.total[0] == 0 for f in missing.files.values())


def test_scorer_catches_old_values_distractors_and_misplaced_scopes(
    tmp_path: Path, corpus: Corpus
) -> None:
    facts, pairs, _ = active_facts(corpus, "later")
    scopes: dict[str, list[str]] = {}
    for old, _new in pairs:
        scopes.setdefault(old.project or "General", []).append(old.says)
    for d in corpus.distractors:
        scopes.setdefault("General", []).append(" ".join(g[0] for g in d.match.groups))
    # every project fact under the wrong project; every general rule under one project
    wrong = {
        p.name: corpus.projects[(i + 1) % len(corpus.projects)].name
        for i, p in enumerate(corpus.projects)
    }
    for f in facts:
        if f.kind == "general_rule":
            scopes.setdefault(corpus.projects[0].name, []).append(f.says)
        elif f.project is not None:
            scopes.setdefault(wrong[f.project], []).append(f.says)
    result = score_root(corpus, _folder(tmp_path, corpus, scopes), "later")
    for fs in result.files.values():
        assert sorted(fs.superseded_current) == sorted(o.id for o, _ in pairs)
        assert sorted(fs.distractors) == sorted(d.id for d in corpus.distractors)
        scoped = [g for g in facts if g.project is not None or g.kind == "general_rule"]
        assert fs.total[0] <= len(facts) - len(scoped)
    # an old value stated as replaced is not presented as current
    replaced: dict[str, list[str]] = {}
    for o, _ in pairs:
        replaced.setdefault(o.project or "General", []).append(f"{o.says}: no longer, replaced")
    result = score_root(corpus, _folder(tmp_path / "r", corpus, replaced), "later")
    assert all(fs.superseded_current == [] for fs in result.files.values())


def test_a_failing_cli_step_stops_the_bench_with_the_clis_reason(tmp_path: Path) -> None:
    env = bench_quality._env(tmp_path)
    with pytest.raises(bench_quality.BenchError) as e:
        bench_quality.memoryd(env, "forget", "--thread", "no-such-thread")
    msg = str(e.value)
    assert "`memoryd forget --thread no-such-thread` exited 1" in msg
    assert "unknown thread 'no-such-thread'" in msg and "\n" not in msg


def test_an_unknown_corpus_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="no corpus 'z': choose one of a, b, c"):
        corpora.get("z")


def test_the_bench_runs_the_real_cli_and_forget_and_redaction_hold(tmp_path: Path) -> None:
    """One whole run of corpus A through ``memoryd run --once`` and ``forget`` (subprocesses):
    every session is extracted, each step is scored, the forgotten session's facts are gone
    and the planted secret is in no file of the memory root."""
    corpus = corpora.get("a")
    result = bench_quality.run_corpus(corpus, tmp_path, NOW_MS)
    runs = result["runs"]
    initial = sum(1 for s in corpus.sessions if not s.later)
    assert runs["first"]["phase1"]["succeeded"] == initial
    assert runs["later"]["phase1"]["succeeded"] == len(corpus.sessions) - initial
    assert all(r["phase1"]["failed"] == 0 for r in runs.values())
    steps = result["steps"]
    assert set(steps) == {"first", "later", "forget"}
    assert steps["forget"].forgotten_present == {SUMMARY: [], MEMORY: []}
    assert all(s.secret_anywhere == [] for s in steps.values())
    assert (tmp_path / "codex" / "memories" / SUMMARY).read_text().startswith("v1\n")
    assert "== corpus a" in bench_quality.report(corpus, result)


@pytest.mark.parametrize(
    ("text", "stated"),
    [
        ("## webapp\n\n- WEBAPP_API_URL must be http://127.0.0.1:8765 in tests\n", True),
        ("- tests need WEBAPP_API_URL=http://127.0.0.1:8765 (webapp)\n", True),
        ("## webapp\n### Testing\n- the API URL:\n  WEBAPP_API_URL, port 8765\n", True),
        ("- WEBAPP_API_URL must be http://127.0.0.1:8765 in tests\n", False),  # which project?
        ("## dashboard\n\n- WEBAPP_API_URL must be http://127.0.0.1:8765\n", False),
        ("# webapp, dashboard, ledger, logship\n\n- WEBAPP_API_URL is 8765\n", False),
        ("## webapp\n\n- keywords: WEBAPP_API_URL, 8765, pytest, alembic\n", False),
        ("## webapp\n\n- WEBAPP_API_URL\n- 8765\n", False),  # not in one statement
    ],
)
def test_a_fact_counts_only_stated_in_one_unit_of_its_project(text: str, stated: bool) -> None:
    corpus = corpora.get("a")
    fact = next(f for f in corpus.facts if f.id == "a.fact.api_url")
    assert bool(Scorer(corpus).stated(fact, units(text))) is stated


def test_a_general_rule_counts_only_outside_a_single_projects_scope() -> None:
    corpus = corpora.get("a")
    rule = next(f for f in corpus.facts if f.id == "a.gen.rg")
    scorer = Scorer(corpus)
    assert scorer.stated(rule, units("## General\n\n- search with rg, not grep\n"))
    assert scorer.stated(rule, units("- rg over grep (webapp, dashboard)\n"))
    assert not scorer.stated(rule, units("## dashboard\n\n- use rg rather than grep\n"))


def _knowledge_from_tools(corpus: Corpus, tool_text: list[str]) -> list[str]:
    """The project facts stated by a tool's output (``tool_text``: each command with what it
    printed), after checking that every project fact is printed by a tool or concluded by the
    agent, never only typed by the user."""
    concluded = [st.text for s in corpus.sessions for st in s.steps if isinstance(st, Say)]
    known = [f for f in corpus.facts if f.kind == "project_fact"]
    for f in known:
        pats = f.match.patterns()
        assert any(all(p.search(x) for p in pats) for x in tool_text + concluded), f.id
    by_tools = [
        f.id for f in known if any(all(p.search(x) for p in f.match.patterns()) for x in tool_text)
    ]
    assert len(by_tools) * 3 >= len(known) * 2, by_tools
    return by_tools


def _fixed_by_another_tool(corpus: Corpus) -> list[str]:
    """The failure→fix facts whose fix's tool (the first word of the chained command link
    that holds the fix, or an edit) is not the tool that failed (the first word of a failing
    command's last link)."""
    out: list[str] = []
    for f in (f for f in corpus.facts if f.kind == "failure_fix"):
        fsteps = [st for k in f.sources for st in corpus.session(k).steps]
        pats = f.match.patterns()
        failed = {
            re.split(r"\s*&&\s*", st.cmd)[-1].split()[0]
            for st in fsteps
            if isinstance(st, Sh) and st.code != 0
        }
        fixes = {
            link.split()[0]
            for st in fsteps
            if isinstance(st, Sh)
            for link in re.split(r"\s*&&\s*", st.cmd)
            if all(p.search(link) for p in pats)
        }
        if any(isinstance(st, Patch) and all(p.search(st.body) for p in pats) for st in fsteps):
            fixes.add("apply_patch")
        if fixes and not fixes & failed:
            out.append(f.id)
    return out


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9_]+", text.lower()))


def test_corpus_b_is_not_corpus_a_in_other_words() -> None:
    """B was written by other means: other projects, and no user message or assistant
    conclusion of B shares most of its words with one of A (so B can check that a rule found
    by tuning on A generalises)."""
    a, b = corpora.get("a"), corpora.get("b")
    assert not {p.name for p in a.projects} & {p.name for p in b.projects}

    def said(c: Corpus) -> list[str]:
        return [st.text for s in c.sessions for st in s.steps if isinstance(st, User | Say)]

    a_words = [_words(t) for t in said(a)]
    for text in said(b):
        w = _words(text)
        if len(w) < 6:  # "Sure." / "Got it." are everybody's
            continue
        worst = max(len(w & v) / len(w | v) for v in a_words)
        assert worst < 0.4, text


def test_corpus_c_is_neither_a_nor_b_in_other_words() -> None:
    """C, the corpus tuned on beside A, has its own projects and wording: no user message or
    assistant answer of C shares most of its words with one of A or B."""
    a, b, c = corpora.get("a"), corpora.get("b"), corpora.get("c")
    assert not {p.name for p in c.projects} & (
        {p.name for p in a.projects} | {p.name for p in b.projects}
    )

    def said(x: Corpus) -> list[str]:
        return [st.text for s in x.sessions for st in s.steps if isinstance(st, User | Say)]

    others = [_words(t) for t in said(a) + said(b)]
    for text in said(c):
        w = _words(text)
        if len(w) < 6:
            continue
        assert max(len(w & v) / len(w | v) for v in others) < 0.4, text


@pytest.mark.parametrize(
    "name", ["e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u"]
)
def test_a_held_out_corpus_shares_nothing_with_the_others(name: str) -> None:
    """E to T, the held-out corpora, have their own projects and wording: no user message or
    assistant answer shares most of its words with one of another corpus, no tool output of
    more than one line is one of theirs, and the sessions are built from the model's steps
    alone, not from another corpus' helpers."""
    held = corpora.get(name)
    others = [corpora.get(n) for n in corpora.NAMES if n != name]
    assert not {p.name for p in held.projects} & {p.name for c in others for p in c.projects}

    def said(x: Corpus) -> list[str]:
        return [st.text for s in x.sessions for st in s.steps if isinstance(st, User | Say)]

    other_words = [_words(t) for c in others for t in said(c)]
    for text in said(held):
        w = _words(text)
        if len(w) < 6:
            continue
        assert max(len(w & v) / len(w | v) for v in other_words) < 0.4, text

    def outputs(x: Corpus) -> set[str]:
        # a one-line tool message ("make: *** No rule to make target ...") is everybody's
        steps = [st for s in x.sessions for st in s.steps]
        return {st.out for st in steps if isinstance(st, Sh) and st.out.count("\n") >= 1}

    assert not outputs(held) & set().union(*(outputs(c) for c in others))
    source = (REPO / "scripts" / "quality" / f"corpus_{name}.py").read_text()
    assert not re.search(r"quality\.(corpus_[a-z]|transcript)\b", source)


def test_corpus_h_has_rules_that_only_the_users_acceptance_makes() -> None:
    """H's user asks and then accepts: at least five of its stated rules are never typed by the
    user; their key terms are in an answer of the agent (the proposal) that a later message of
    the user follows (the acceptance)."""
    h = corpora.get("h")
    accepted: list[str] = []
    for f in h.facts:
        if f.kind not in ("preference", "general_rule", "project_rule"):
            continue
        pats = f.match.patterns()
        steps = [st for k in f.sources for st in h.session(k).steps]
        if any(isinstance(st, User) and all(p.search(st.text) for p in pats) for st in steps):
            continue
        proposals = [
            i
            for i, st in enumerate(steps)
            if isinstance(st, Say) and all(p.search(st.text) for p in pats)
        ]
        if any(isinstance(st, User) for i in proposals for st in steps[i + 1 :]):
            accepted.append(f.id)
    assert len(accepted) >= 5, accepted


def test_corpus_i_is_written_as_a_team_leads_structured_briefs() -> None:
    """I's means of writing, which no other corpus has: most sessions carry a brief in
    markdown (headings, tables, requirement lists, a pasted ADR), every superseding fact is
    announced by a pasted ADR that names what it supersedes, and the user has the agent undo
    what it did."""
    i = corpora.get("i")
    # a heading, a table row, a list item or a quoted block (a pasted ADR) opens a line
    markdown = re.compile(r"^(?:#{2,3} |\|.*\|$|[-*] |\d+\. |> )", re.M)
    briefs = [s for s in i.sessions if any(markdown.search(t) for t in _user_texts(i, (s.key,)))]
    assert len(briefs) * 3 >= len(i.sessions) * 2, len(briefs)
    headed = [t for t in _user_texts(i, tuple(s.key for s in i.sessions)) if "## " in t]
    assert len(headed) >= 8
    for f in i.facts:
        if f.kind == "superseding":
            said = "\n".join(_user_texts(i, f.sources))
            assert re.search(r"ADR-\d+", said) and re.search(r"supersedes", said, re.I), f.id
    rejected = [d for d in i.distractors if d.kind == "rejected"]
    for d in rejected:
        said = "\n".join(_user_texts(i, d.sources))
        assert re.search(r"\b(undo|revert)\b", said, re.I), d.id


def test_corpus_k_is_written_as_a_learners_questions_and_paraphrases() -> None:
    """K's means of writing, which no other corpus has: a junior developer asks the agent what
    an error means or why it did something in most sessions, then restates the lesson in their
    own words ("so basically ..."); most stated facts are in such a restatement or in the
    agent's explanation just before it, and a wrong restatement is corrected by the agent."""
    k = corpora.get("k")
    asks = re.compile(r"\b(?:what|why|how)\b[^?]*\?|\bexplain\b", re.I)
    restates = re.compile(r"^(?:ok,? )?so\b|\bso basically\b|\bso summary\b", re.I | re.M)
    asking = [s.key for s in k.sessions if any(asks.search(t) for t in _user_texts(k, (s.key,)))]
    assert len(asking) * 2 >= len(k.sessions), asking
    summing = [
        s.key for s in k.sessions if any(restates.search(t) for t in _user_texts(k, (s.key,)))
    ]
    assert len(summing) * 2 >= len(k.sessions), summing
    # a fact is taught when its tokens are in a restatement of the user's or in the agent's
    # answer that a restatement follows
    taught: list[str] = []
    corrected: list[str] = []
    for f in k.facts:
        pats = f.match.patterns()
        steps = [st for key in f.sources for st in k.session(key).steps]
        for i, st in enumerate(steps):
            later = [u for u in steps[i + 1 :] if isinstance(u, User)]
            if isinstance(st, User) and restates.search(st.text):
                if all(p.search(st.text) for p in pats):
                    taught.append(f.id)
                    continue
                # a restatement that misses the fact, answered by the agent stating it
                nxt = next((x for x in steps[i + 1 :] if not isinstance(x, Think)), None)
                if isinstance(nxt, Say) and all(p.search(nxt.text) for p in pats):
                    corrected.append(f.id)
            if isinstance(st, Say) and all(p.search(st.text) for p in pats):
                if any(restates.search(u.text) for u in later):
                    taught.append(f.id)
    assert len(set(taught)) * 2 >= len(k.facts), sorted({f.id for f in k.facts} - set(taught))
    assert len(set(corrected)) >= 2, corrected


def test_a_transcript_reads_into_steps_and_says_what_it_cannot_read() -> None:
    from quality.transcript import TranscriptError, parse

    steps = parse(
        "> run the tests,\n  then stop\n$ make test\nFAILED x\n\n  at y\n[exit 2 1.5s]\n"
        "*** Begin Patch\n*** Update File: a\n*** End Patch\n"
        "< Done:\n  - one,\n    two\n  - three\n"
    )
    assert steps[0] == User("run the tests, then stop")
    assert steps[1] == Sh("make test", "FAILED x\n\n  at y", code=2, secs=1.5)
    assert steps[3] == Say("Done:\n- one, two\n- three")
    with pytest.raises(TranscriptError, match=r"command 'ls' has no \[exit N\] line"):
        parse("$ ls\nfoo\n")
    with pytest.raises(TranscriptError, match="cannot read transcript line 'hello'"):
        parse("hello\n")


def test_corpus_j_is_written_by_an_on_call_engineer() -> None:
    """J's means of writing, which no other corpus has: pages pasted from Alertmanager, orders
    under pressure, a correction of the agent's idea of which cluster is which, calm
    postmortems that set rules, knowledge read from ops tools in half the sessions or more,
    and fixes applied with another tool than the one that failed."""
    j = corpora.get("j")
    said = _user_texts(j, tuple(s.key for s in j.sessions))
    assert sum(1 for t in said if "[FIRING" in t) >= 3
    assert sum(1 for t in said if re.search(r"\bnow\.", t)) >= 2
    assert any(re.search(r"that's staging", t) for t in said)
    postmortems = [t for t in said if re.search(r"postmortem", t, re.I)]
    assert len([t for t in postmortems if re.search(r"from now on|new rules", t)]) >= 2
    ops = re.compile(
        r"\b(kubectl|helm|journalctl|systemctl|crontab|ct|openresty|nix|ansible-playbook)\b"
    )
    with_ops = [
        s for s in j.sessions if any(isinstance(st, Sh) and ops.search(st.cmd) for st in s.steps)
    ]
    assert len(with_ops) * 2 >= len(j.sessions), len(with_ops)
    # the fix's tool (its command's first word, or an edit) is not the tool that failed
    other_tool: list[str] = []
    for f in j.facts:
        if f.kind != "failure_fix":
            continue
        steps = [st for k in f.sources for st in j.session(k).steps]
        failed = {st.cmd.split()[0] for st in steps if isinstance(st, Sh) and st.code != 0}
        pats = f.match.patterns()
        fixes = {
            st.cmd.split()[0]
            for st in steps
            if isinstance(st, Sh) and all(p.search(st.cmd) for p in pats)
        }
        if any(isinstance(st, Patch) and all(p.search(st.body) for p in pats) for st in steps):
            fixes.add("apply_patch")
        if fixes and not fixes & failed:
            other_tool.append(f.id)
    assert len(other_tool) >= 6, other_tool


def test_corpus_l_is_written_as_pasted_documents_under_a_one_line_ask() -> None:
    """L's means of writing, which no other corpus has: most sessions open with a few plain
    words of the user's above a pasted document (ticket, PR description, email, wiki or
    CONTRIBUTING excerpt, Slack export); every stated rule of a project or of several, every
    superseding fact and most fixes sit inside such a document, not in the user's own words;
    versions and settings come from --version output, lock files and CI config."""
    l_ = corpora.get("l")

    def parts(text: str) -> tuple[str, str]:
        ask, _, doc = text.partition("\n\n")
        return ask, doc

    opened = [
        s.key
        for s in l_.sessions
        if (first := parts(next(st.text for st in s.steps if isinstance(st, User))))
        and len(first[0].split()) <= 20
        and first[1].count("\n") >= 2
    ]
    assert len(opened) * 4 >= len(l_.sessions) * 3, opened
    asks = [parts(t)[0] for t in _user_texts(l_, tuple(s.key for s in l_.sessions))]
    assert max(len(a.split()) for a in asks) <= 25

    def in_a_document(f: Fact) -> bool:
        docs = [parts(t)[1] for t in _user_texts(l_, f.sources)]
        return any(all(p.search(d) for p in f.match.patterns()) for d in docs)

    for f in l_.facts:
        if f.kind in ("general_rule", "project_rule", "superseding"):
            assert in_a_document(f), f.id
    fixes = [f for f in l_.facts if f.kind == "failure_fix"]
    assert len(fixes) >= 8
    assert sum(in_a_document(f) for f in fixes) >= 5
    cmds = [st.cmd for s in l_.sessions for st in s.steps if isinstance(st, Sh)]
    assert sum(bool(re.search(r"--version|\bversion\b", c)) for c in cmds) >= 3
    assert any(".lock" in c for c in cmds) and any(".github/workflows" in c for c in cmds)


def test_corpus_m_is_written_as_autonomous_runs() -> None:
    """M's means of writing, which no other corpus has: the user gives one goal and then says
    little ("lgtm", "ship it", a one-line "no — revert ..."), the agent runs alone and ends with
    a structured report; much of the knowledge is only in those reports, and rules are read
    from the repo's AGENTS.md, CONTRIBUTING.md or pre-commit config."""
    m = corpora.get("m")
    report = re.compile(r"^## What changed$", re.M)
    for s in m.sessions:
        said = _user_texts(m, (s.key,))
        assert len(said) <= 4, s.key
        # after the goal the user only answers in a line
        assert all(len(t.split()) <= 30 for t in said[1:]), s.key
        assert sum(1 for st in s.steps if isinstance(st, Sh | Patch)) >= 4, s.key
        assert any(isinstance(st, Say) and report.search(st.text) for st in s.steps), s.key
    said = _user_texts(m, tuple(s.key for s in m.sessions))
    assert sum(1 for t in said if re.fullmatch(r"(lgtm|ship it)[.!]?", t.strip(), re.I)) >= 8
    assert sum(1 for t in said if re.match(r"no\b", t, re.I)) >= 4
    reports = [
        st.text
        for s in m.sessions
        for st in s.steps
        if isinstance(st, Say) and report.search(st.text)
    ]
    in_reports = [
        f.id
        for f in m.facts
        if any(all(p.search(r) for p in f.match.patterns()) for r in reports)
        and not all(p.search("\n".join(_user_texts(m, f.sources))) for p in f.match.patterns())
    ]
    assert len(in_reports) * 2 >= len(m.facts), in_reports
    repo_files = re.compile(r"^cat (AGENTS\.md|CONTRIBUTING\.md|\.pre-commit-config\.yaml)$")
    read = "\n".join(
        st.out
        for s in m.sessions
        for st in s.steps
        if isinstance(st, Sh) and repo_files.match(st.cmd)
    )
    from_files = [
        f.id
        for f in m.facts
        if f.kind == "project_rule" and all(p.search(read) for p in f.match.patterns())
    ]
    assert len(from_files) >= 5, from_files


def test_corpus_n_is_written_in_fast_chat_shorthand() -> None:
    """N's means of writing, which no other corpus has: the user types lowercase shorthand
    ("pls", "thx", "b4", "nvm") without closing punctuation, often several one-line messages
    in a row per turn, with an emoji now and then; the knowledge comes from the code review
    the agent runs through gh (pr view --comments, pr diff, pr checks) and from the Makefile
    and justfile targets it reads."""
    n = corpora.get("n")
    said = _user_texts(n, tuple(s.key for s in n.sessions))
    lines = [ln for t in said for ln in t.split("\n")]
    assert sum(1 for ln in lines if not re.match(r"[A-Z]", ln)) * 10 >= len(lines) * 9
    assert sum(1 for ln in lines if not ln.endswith(".")) * 10 >= len(lines) * 9
    assert sum(1 for t in said if "\n" in t) * 2 >= len(said)
    short = re.compile(r"\b(pls|plz|thx|ty|nvm|b4|u|ur|rn|lol|lgtm|ya|fyi|obv|smth|r|w)\b")
    chatty = [s.key for s in n.sessions if any(short.search(t) for t in _user_texts(n, (s.key,)))]
    assert len(chatty) * 4 >= len(n.sessions) * 3, chatty
    assert sum(1 for t in said if re.search(r"[\U0001F300-\U0001FAFF]", t)) >= 4
    review = re.compile(r"^gh pr (view|diff|checks)\b")
    tasks = re.compile(r"\b(cat (Makefile|justfile)|just --(list|show)|grep .*Makefile)\b")
    steps = [(s.key, st) for s in n.sessions for st in s.steps if isinstance(st, Sh)]
    assert len({k for k, st in steps if review.search(st.cmd)}) >= 6
    assert len({k for k, st in steps if tasks.search(st.cmd)}) >= 6
    read = "\n".join(st.out for _, st in steps if review.search(st.cmd) or tasks.search(st.cmd))
    from_review_or_tasks = [
        f.id for f in n.facts if all(p.search(read) for p in f.match.patterns())
    ]
    assert len(from_review_or_tasks) >= 8, from_review_or_tasks


def test_corpus_o_is_written_as_an_analysts_requests_and_data_tool_output() -> None:
    """O's means of writing: an analyst who asks for every rule as a polite request or a
    question ("could we ...?", "would you mind ...", "let's ...", "I'd rather ...") and whose
    project knowledge is only in what the data tools print (dbt logs, query results, EXPLAIN
    plans, profiles.yml, pip/conda errors, Airflow task logs, renv output) or in the agent's
    conclusion after investigating; every session runs one of those tools."""
    o = corpora.get("o")
    request = re.compile(r"\b(could we|could you|would you mind|let's|I'd rather)\b", re.I)
    rules = [f for f in o.facts if f.kind in ("preference", "general_rule", "project_rule")]
    for f in rules:
        asked = [
            t
            for t in _user_texts(o, f.sources)
            if request.search(t) and all(p.search(t) for p in f.match.patterns())
        ]
        assert asked, f"{f.id} is not asked for as a request"
    asked_as_question = [
        t for t in _user_texts(o, tuple(s.key for s in o.sessions)) if request.search(t)
    ]
    assert sum(1 for t in asked_as_question if "?" in t) >= 15
    data_tool = re.compile(
        r"\b(dbt|duckdb|psql|airflow|astro|conda|pip|jupyter|papermill|nbstripout|Rscript|"
        r"polars|pytest)\b"
    )
    for s in o.sessions:
        assert any(isinstance(st, Sh) and data_tool.search(st.cmd) for st in s.steps), s.key
    outputs = [st.out for s in o.sessions for st in s.steps if isinstance(st, Sh)]
    said = [st.text for s in o.sessions for st in s.steps if isinstance(st, Say)]
    printed = "\n".join(outputs)
    for shape in (
        r"Running with dbt=",  # dbt run logs
        r"QUERY PLAN",  # an EXPLAIN ANALYZE plan
        r"type: duckdb",  # a profiles.yml
        r"ResolutionImpossible|EnvironmentNameNotFound",  # environment errors
        r"\{taskinstance\.py:\d+\}",  # Airflow task logs
        r"count_star\(\)",  # a DuckDB query result
        r"renv\.lock|renv::status",  # renv
    ):
        assert re.search(shape, printed), shape
    facts = [f for f in o.facts if f.kind == "project_fact"]
    in_output = [
        f for f in facts if any(all(p.search(x) for p in f.match.patterns()) for x in outputs)
    ]
    for f in facts:
        found = [x for x in outputs + said if all(p.search(x) for p in f.match.patterns())]
        assert found, f"{f.id} is neither printed by a tool nor concluded by the agent"
    assert len(in_output) * 3 >= len(facts) * 2, [f.id for f in in_output]


def test_corpus_p_is_written_as_a_maintainers_triage() -> None:
    """P's means of writing, which no other corpus has: a maintainer works through issues and
    contributors' PRs (most sessions open on an issue or PR number); every rule of one project
    is quoted from a CONTRIBUTING.md / STYLE.md section (read by the agent or pasted by the
    user) or explained by the maintainer after editing the agent's patch ("I changed your
    patch"); the rejected actions are contributors' PRs the maintainer declines; knowledge
    comes from the maintainer's tooling (cargo, nox, towncrier, changesets, release scripts,
    git log/blame, CI logs)."""
    p = corpora.get("p")
    opened = [
        s.key
        for s in p.sessions
        if re.search(r"#\d+", next(st.text for st in s.steps if isinstance(st, User)))
    ]
    assert len(opened) * 2 >= len(p.sessions), opened
    # a quoted house-style section: read with sed/cat from the file, or pasted as "> " lines
    read = re.compile(r"^(?:sed -n '/#+ [^/]+/,[^']*p'|cat) (CONTRIBUTING|STYLE)\.md$")
    edited = re.compile(r"^I changed your patch\b")
    explained: list[str] = []
    for s in p.sessions:
        for i, st in enumerate(s.steps):
            if isinstance(st, User) and edited.match(st.text):
                # the maintainer edits a patch the agent made earlier in the session
                assert any(isinstance(x, Patch) for x in s.steps[:i]), s.key
                explained.append(st.text)
    assert len(explained) >= 5, len(explained)
    quoted = [
        st.out if isinstance(st, Sh) else st.text
        for s in p.sessions
        for st in s.steps
        if (isinstance(st, Sh) and read.match(st.cmd))
        or (isinstance(st, User) and re.search(r"^> ", st.text, re.M))
    ]
    from_quotes = []
    for f in p.facts:
        if f.kind != "project_rule":
            continue
        pats = f.match.patterns()
        in_quote = any(all(pt.search(q) for pt in pats) for q in quoted)
        in_edit = any(all(pt.search(e) for pt in pats) for e in explained)
        assert in_quote or in_edit, f.id
        from_quotes += [f.id] if in_quote else []
    assert len(from_quotes) >= 6, from_quotes
    # the rejected actions are contributors' proposals, read from gh pr view/diff output
    pr_text = {
        s.key: "\n".join(
            st.out for st in s.steps if isinstance(st, Sh) and st.cmd.startswith("gh pr ")
        )
        for s in p.sessions
    }
    declined = [
        d.id
        for d in p.distractors
        if d.kind == "rejected"
        and all(pt.search(pr_text[k]) for k in d.sources for pt in d.match.patterns())
    ]
    assert len(declined) >= 2, declined
    tools = re.compile(
        r"\b(cargo|nox|towncrier|changeset|git (?:log|blame|cliff)|gh run|golangci-lint|"
        r"gorelease|release\.sh)\b"
    )
    with_tools = [
        s.key
        for s in p.sessions
        if any(isinstance(st, Sh) and tools.search(st.cmd) for st in s.steps)
    ]
    assert len(with_tools) * 3 >= len(p.sessions) * 2, with_tools


def test_corpus_q_is_written_as_corrections_after_the_fact() -> None:
    """Q's means of writing: the user hands over a short task, lets the agent act, and states
    the rules afterwards, as reactions to a command or an edit the agent has just made; some
    corrections only say "again", sessions open by pointing back at earlier ones, and the
    project facts come from the agent's own exploration of the repo (ls, cat, find, grep,
    head, docker ps, env | grep)."""
    q = corpora.get("q")
    reactions: dict[str, list[str]] = {}  # user messages right after the agent acted
    firsts: list[str] = []
    for s in q.sessions:
        turns: list[list[object]] = []
        for st in s.steps:
            if isinstance(st, User):
                turns.append([st])
            else:
                turns[-1].append(st)
        first = turns[0][0]
        assert isinstance(first, User) and len(first.text.split()) <= 25, s.key
        # the agent acts before the user says anything more
        assert any(isinstance(st, Sh | Patch) for st in turns[0][1:]), s.key
        assert len(turns) >= 2, s.key
        firsts.append(first.text)
        for prev, turn in itertools.pairwise(turns):
            if any(isinstance(st, Sh | Patch) for st in prev):
                assert isinstance(turn[0], User)
                reactions.setdefault(s.key, []).append(turn[0].text)
    rules = [f for f in q.facts if f.kind in ("preference", "general_rule", "project_rule")]
    assert len(rules) >= 12
    for f in rules:
        # every rule is typed as a reaction in one of its sessions, never up front
        said = [t for k in f.sources for t in reactions.get(k, [])]
        assert any(all(p.search(t) for p in f.match.patterns()) for t in said), f.id
        assert not any(all(p.search(t) for p in f.match.patterns()) for t in firsts), f.id
    again = [t for ts in reactions.values() for t in ts if re.search(r"\bagain\b", t, re.I)]
    assert sum(1 for t in again if len(t.split()) <= 12) >= 3, again
    back = re.compile(r"\b(same as|last time|last week|yesterday)\b", re.I)
    assert sum(1 for t in firsts if back.search(t)) >= 5
    explore = re.compile(r"^(ls|cat|find|grep|head|docker ps|env)\b")
    looked = "\n".join(
        st.cmd + "\n" + st.out
        for s in q.sessions
        for st in s.steps
        if isinstance(st, Sh) and explore.match(st.cmd)
    )
    found = [f for f in q.facts if f.kind == "project_fact" and f.superseded_by is None]
    from_exploring = [f.id for f in found if all(p.search(looked) for p in f.match.patterns())]
    assert len(from_exploring) * 3 >= len(found) * 2, from_exploring


def test_corpus_r_is_written_as_a_freelancers_house_rules_across_clients() -> None:
    """R's means of writing, which no other corpus has: a freelancer with five clients restates
    her house rules in each client's repo, in a sentence of her own that shares few words with
    the other clients' statement of it; some statements point back at another client's repo,
    some are passing conditions ("if you create a branch, ..."). Beside them, look-alike rules
    of one client each (tabs here, two spaces there) that no other client's user says, and two
    rules first given one client and later declared to hold "everywhere"."""
    from quality.corpus_r import EVERYWHERE, LOOKALIKES

    r = corpora.get("r")
    assert len(r.projects) == 5 and len(r.sessions) >= 26
    assert max(s.days_ago for s in r.sessions) - min(s.days_ago for s in r.sessions) >= 21
    names = [p.name for p in r.projects]
    by_id = {f.id: f for f in r.facts}

    def sentences_of(texts: list[str]) -> list[str]:
        return [x for t in texts for x in re.split(r"(?<=[.!?:;])\s+", t)]

    def statements(f: Fact, key: str) -> list[str]:
        # the sentences of the user's messages in ``key`` that hold all of the rule's tokens
        pats = f.match.patterns()
        sentences = [
            x for x in sentences_of(_user_texts(r, (key,))) if all(p.search(x) for p in pats)
        ]
        assert sentences, (f.id, key)
        return sentences

    carried: list[str] = []
    refs = conditions = 0
    for f in (f for f in r.facts if f.kind == "general_rule"):
        said = {r.session(k).project: statements(f, k)[0] for k in f.sources}
        if len(said) >= 2:
            carried.append(f.id)
        for a, b in itertools.combinations(said.values(), 2):
            wa, wb = _words(a), _words(b)
            assert len(wa & wb) / len(wa | wb) < 0.3, (f.id, a, b)
        for project, text in said.items():
            refs += any(n != project and re.search(rf"\b{n}\b", text) for n in names)
            conditions += bool(re.search(r"\b(?:if|whenever)\b", text, re.I))
    assert len(carried) >= 10, carried
    assert refs >= 4 and conditions >= 4, (refs, conditions)
    # look-alike rules: one client each, different values, and no other client's user says one
    assert len(LOOKALIKES) >= 5
    _lookalikes_stay_home(r, LOOKALIKES, sentences_of)
    # first one client's rule, then "everywhere" in another client's repo naming the first
    for rule in EVERYWHERE:
        f = by_id[rule]
        first, *rest = sorted(f.sources, key=lambda k: -r.session(k).days_ago)
        home = r.session(first).project
        assert not re.search(r"\beverywhere\b", statements(f, first)[0])
        assert any(
            re.search(r"\beverywhere\b", t) and home in t
            for k in rest
            for t in _user_texts(r, (k,))
            if r.session(k).project != home
        ), rule


def test_corpus_s_is_written_as_a_platform_engineers_todo_lists() -> None:
    """S's means of writing, which no other corpus has: a platform engineer of one company who
    opens most sessions with a short numbered to-do list, follows up in a few words, quotes
    the team handbook by section, and breaks off for another of his services; his team's
    rules come back in other services in other words, look-alike rules differ per service, two
    rules of one service are later said to hold everywhere, and the project knowledge is
    printed by the ops tools (bun, nomad, caddy, meson, systemctl, journalctl, pulumi, go) or
    concluded by the agent."""
    from quality.corpus_s import EVERYWHERE, LOOKALIKES

    s = corpora.get("s")
    names = [p.name for p in s.projects]
    by_id = {f.id: f for f in s.facts}
    todo = re.compile(r"^\d+\. \S", re.M)
    opened = [x.key for x in s.sessions if len(todo.findall(_user_texts(s, (x.key,))[0])) >= 2]
    assert len(opened) * 4 >= len(s.sessions) * 3, opened
    follow_ups = [t for x in s.sessions for t in _user_texts(s, (x.key,))[1:]]
    assert sum(1 for t in follow_ups if len(t.split()) <= 12) >= 8
    said = _user_texts(s, tuple(x.key for x in s.sessions))
    quotes = [t for t in said if re.search(r"handbook §\d+\.\d+", t)]
    assert len(quotes) >= 6, quotes
    switching = [
        x.key
        for x in s.sessions
        if any(n != x.project and re.search(rf"\b{n}\b", t) for n in names
               for t in _user_texts(s, (x.key,)))
    ]  # fmt: skip
    assert len(switching) >= 4, switching

    def sentences(key: str, f: Fact) -> list[str]:
        # the lines of the user's messages in ``key`` that hold all of the rule's tokens
        lines = [ln for t in _user_texts(s, (key,)) for ln in t.split("\n")]
        return [ln for ln in lines if all(p.search(ln) for p in f.match.patterns())]

    general = [f for f in s.facts if f.kind == "general_rule"]
    assert len(general) >= 10
    for f in general:
        # said by the user in each of its services, in other words in each
        stated = {s.session(k).project: sentences(k, f) for k in f.sources}
        assert all(stated.values()) and len(stated) >= 2, f.id
        for a, b in itertools.combinations([v[0] for v in stated.values()], 2):
            assert len(_words(a) & _words(b)) / len(_words(a) | _words(b)) < 0.4, (f.id, a, b)
    from_handbook = [
        f.id for f in general if any(all(p.search(q) for p in f.match.patterns()) for q in quotes)
    ]
    assert len(from_handbook) >= 4, from_handbook
    for rule in EVERYWHERE:
        f = by_id[rule]
        first, *rest = sorted(f.sources, key=lambda k: -s.session(k).days_ago)
        home = s.session(first).project
        assert not any("everywhere" in t for t in sentences(first, f)), rule
        assert any(
            "everywhere" in t and home in t
            for k in rest
            if s.session(k).project != home
            for t in _user_texts(s, (k,))
        ), rule
    assert len(LOOKALIKES) >= 4
    _lookalikes_stay_home(s, LOOKALIKES)
    ops = re.compile(
        r"^(?:\S+=\S+ )*(?:source \S+ && )?(?:sudo )?(bun|bunx|docker|nomad|nomad-pack|caddy|"
        r"\./caddy|xcaddy|meson|ninja|systemctl|journalctl|pulumi|go|op)\b"
    )
    printed = [
        st.cmd + "\n" + st.out
        for x in s.sessions
        for st in x.steps
        if isinstance(st, Sh) and ops.match(st.cmd)
    ]
    concluded = [st.text for x in s.sessions for st in x.steps if isinstance(st, Say)]
    known = [f for f in s.facts if f.kind == "project_fact"]
    for f in known:
        pats = f.match.patterns()
        assert any(all(p.search(t) for p in pats) for t in printed + concluded), f.id
    by_tools = [f.id for f in known if any(all(p.search(t) for p in f.match.patterns())
                                           for t in printed)]  # fmt: skip
    assert len(by_tools) * 3 >= len(known) * 2, by_tools
    assert sum(1 for f in s.facts if f.kind == "failure_fix") >= 8
    assert sum(1 for f in s.facts if f.superseded_by) >= 5
    assert len(s.distractors) >= 8


def test_corpus_t_is_written_as_an_hpc_research_engineers_run_on_paragraphs() -> None:
    """T's means of writing, which no other corpus has: a research software engineer who opens
    most sessions with one long run-on paragraph (few sentence breaks, no lists) mixing her
    code's trouble with teaching, meetings or another code, hedges her rules ("I think it'd be
    best if", "ideally", "my supervisor wants", "let's try to") and buries them mid-paragraph,
    and forwards her supervisor's or the cluster admins' words; the group's rules come back in
    other codes in other words, look-alike rules differ per code, and the knowledge comes from
    the cluster's tools (Slurm, Lmod, conda/mamba, snakemake, CMake, gfortran, pixi, spack)."""
    from quality.corpus_t import LOOKALIKES

    t = corpora.get("t")

    def own(text: str) -> str:  # her words, without the forwarded "> " lines
        return "\n".join(ln for ln in text.split("\n") if not ln.startswith("> "))

    list_line = re.compile(r"^\s*(?:[-*]|\d+[.)])\s", re.M)
    run_on = []
    for s in t.sessions:
        first = own(_user_texts(t, (s.key,))[0])
        words = len(first.split())
        sentences = [x for x in re.split(r"(?<=[.!?])\s+", first) if x.strip()]
        if words >= 60 and words / len(sentences) >= 25 and not list_line.search(first):
            run_on.append(s.key)
    assert len(run_on) * 4 >= len(t.sessions) * 3, run_on
    hedge = re.compile(
        r"I think it'd be best|\bideally\b|my supervisor wants|let's try to|I think we should",
        re.I,
    )
    hedged = [s.key for s in t.sessions if any(hedge.search(x) for x in _user_texts(t, (s.key,)))]
    assert len(hedged) * 3 >= len(t.sessions) * 2, hedged
    said = _user_texts(t, tuple(s.key for s in t.sessions))
    forwarded = [
        x
        for x in said
        if re.search(r"^> .*(HPC Support|admins)", x, re.M | re.S)
        or re.search(r"(wrote|word for word): \"", x)
    ]
    assert len(forwarded) >= 4, forwarded
    # an opening message turns to another topic (another task, an aside about her week)
    switch = re.compile(
        r"\b(?:also|oh and|anyway|while (?:you're|we're|I remember)|one more thing|two things|"
        r"completely unrelated|the other thing|a couple of things|mixed bag|and then|then a)\b",
        re.I,
    )
    mixed = [s.key for s in t.sessions if switch.search(_user_texts(t, (s.key,))[0])]
    assert len(mixed) * 4 >= len(t.sessions) * 3, mixed

    def statement(f: Fact, key: str) -> tuple[str, float] | None:
        # where in one of her messages the rule's tokens sit together (within 200 characters):
        # the words around them, and how far into the message they are
        pats = f.match.patterns()
        for x in _user_texts(t, (key,)):
            for m in pats[0].finditer(x):
                near = x[max(0, m.start() - 200) : m.end() + 200]
                if all(p.search(near) for p in pats[1:]):
                    return near, m.start() / len(x)
        return None

    general = [f for f in t.facts if f.kind == "general_rule"]
    assert len(general) >= 8
    buried = total = 0
    for f in general:
        stated = {t.session(k).project: statement(f, k) for k in f.sources}
        assert all(stated.values()) and len(stated) >= 2, f.id
        places = [v for v in stated.values() if v is not None]
        total += len(places)
        buried += sum(1 for _, at in places if 0.1 < at < 0.9)
        for (a, _), (b, _) in itertools.combinations(places, 2):
            assert len(_words(a) & _words(b)) / len(_words(a) | _words(b)) < 0.4, (f.id, a, b)
    assert buried * 4 >= total * 3, (buried, total)
    assert len(LOOKALIKES) >= 3
    _lookalikes_stay_home(t, LOOKALIKES)
    hpc = re.compile(
        r"^(?:\S+=\S+ )*(?:export \S+ && |source \S+ && |spack env activate -d spack && )?"
        r"(sbatch|squeue|sacct|sacctmgr|sshare|salloc|srun|sinfo|scancel|module|mamba|conda|"
        r"snakemake|cmake|ctest|fprettify|pixi|spack|quota)\b"
    )
    steps = [(s.key, st) for s in t.sessions for st in s.steps if isinstance(st, Sh)]
    with_hpc = {k for k, st in steps if hpc.match(st.cmd)}
    assert len(with_hpc) * 4 >= len(t.sessions) * 3, sorted({s.key for s in t.sessions} - with_hpc)
    printed = "\n".join(st.cmd + "\n" + st.out for _, st in steps)
    for shape in (
        r"Submitted batch job \d+",  # sbatch
        r"Granted job allocation",  # salloc
        r"OUT_OF_MEMORY",  # sacct
        r"Lmod has detected the following error",  # a module gone
        r"libmamba Could not solve",  # a conda/mamba solver error
        r"Job stats:",  # a snakemake dry run
        r"CMake Error",  # a configure error
        r"Error: Type mismatch",  # gfortran
        r"concretization failed",  # spack
        r"Disk quota exceeded",  # pixi on a full home
    ):
        assert re.search(shape, printed), shape
    tool_text = [st.cmd + "\n" + st.out for _, st in steps]
    _knowledge_from_tools(t, tool_text)
    assert len(_fixed_by_another_tool(t)) >= 7
    assert sum(1 for f in t.facts if f.kind == "failure_fix") >= 8
    assert sum(1 for f in t.facts if f.superseded_by) >= 4
    assert sum(1 for f in t.facts if f.kind == "preference") >= 5
    assert len(t.distractors) >= 8
    # the pasted secret is a shape memoryd's redaction is meant to catch
    for d in (d for d in t.distractors if d.kind == "secret"):
        pasted = [
            x for x in _user_texts(t, d.sources) if all(p.search(x) for p in d.match.patterns())
        ]
        assert pasted and not any(p.search(redact(x)) for x in pasted for p in d.match.patterns())


def test_corpus_u_is_written_as_a_tech_lead_who_explains_why() -> None:
    """U's means of writing, which no other corpus has: a hardware startup's tech lead who
    rarely gives an order; a rule comes as the story behind it, a rhetorical question she
    answers, a "we"/"around here" convention or a consequence ("if you run X without Y, ..."),
    in messages of several short paragraphs, some sessions picking up an earlier one and some
    replies correcting the agent ("No, that's not where they live"). The team's rules come
    back in other repositories in other words and shapes, look-alike rules differ per
    repository, and the knowledge comes from the tools' output (west, devicetree and Kconfig,
    the linker, nrfjprog, mcumgr, twister, bazel, stack and GHC, hpack, az and bicep)."""
    from quality.corpus_u import LOOKALIKES

    u = corpora.get("u")
    said = _user_texts(u, tuple(s.key for s in u.sessions))

    def paragraph(f: Fact, key: str) -> str | None:
        # the paragraph of one of her messages in ``key`` that holds all of the rule's tokens
        pats = f.match.patterns()
        for text in _user_texts(u, (key,)):
            for para in re.split(r"\n\s*\n", text):
                if all(p.search(para) for p in pats):
                    return para
        return None

    shapes = {
        "story": re.compile(
            r"\b(?:last (?:spring|summer|autumn|winter|year|week)|in (?:August|October|\d{4})|"
            r"the last (?:one|time)|that's how|happened|we lost|we spent|did exactly that|"
            r"since then)\b",
            re.I,
        ),
        "question": re.compile(r"\?"),
        "convention": re.compile(r"\b(?:we|around here|nobody)\b", re.I),
        "consequence": re.compile(
            r"\bif (?:you|a|the|it|someone)\b|\bor the next\b|\bwhich keeps\b|\bit means\b|"
            r"\bbecause\b|\bso (?:the|that|whoever|every)\b",
            re.I,
        ),
    }
    explained = 0
    seen = {name: 0 for name in shapes}
    rules = [f for f in u.facts if f.kind in ("general_rule", "project_rule")]
    statements = [(f, k, paragraph(f, k)) for f in rules for k in f.sources]
    assert all(p for _, _, p in statements), [(f.id, k) for f, k, p in statements if not p]
    for _, _, para in statements:
        got = [name for name, rx in shapes.items() if para and rx.search(para)]
        explained += bool(got)
        for name in got:
            seen[name] += 1
    # nearly every rule comes with its reason, and every way of giving one is used
    assert explained * 10 >= len(statements) * 9, (explained, len(statements))
    assert all(n >= 4 for n in seen.values()), seen
    # few of the words of an order, messages of several paragraphs, continued work, corrections
    orders = re.compile(r"\b(?:always|never|prefer\w*|must|don't|do not)\b", re.I)
    assert sum(len(orders.findall(t)) for t in said) <= 3
    assert sum(1 for t in said if len(re.split(r"\n\s*\n", t.strip())) >= 3) >= 8
    firsts = [_user_texts(u, (s.key,))[0] for s in u.sessions]
    assert (
        sum(1 for t in firsts if re.search(r"\bpicking (?:this |the \w+ )?(?:back )?up\b", t, re.I))
        >= 5
    )
    assert sum(1 for t in said if re.match(r"No\b", t)) >= 3
    # the team's rules, told in two or three repositories each, in other words and shapes
    general = [f for f in u.facts if f.kind == "general_rule"]
    assert len(general) >= 6
    for f in general:
        stated = {u.session(k).project: paragraph(f, k) for k in f.sources}
        assert len(stated) >= 2 and all(stated.values()), f.id
        for a, b in itertools.combinations([p for p in stated.values() if p], 2):
            assert len(_words(a) & _words(b)) / len(_words(a) | _words(b)) < 0.4, (f.id, a, b)
        kinds = {name for p in stated.values() for name, rx in shapes.items() if p and rx.search(p)}
        assert len(kinds) >= 2, (f.id, kinds)
    assert len(LOOKALIKES) >= 3
    _lookalikes_stay_home(u, LOOKALIKES)
    # the knowledge is printed by the tools or concluded by the agent, not typed by her
    steps = [st for s in u.sessions for st in s.steps if isinstance(st, Sh)]
    tool_text = [st.cmd + "\n" + st.out for st in steps]
    printed = "\n".join(tool_text)
    for shape in (
        r"devicetree error: .* undefined node label",  # a devicetree overlay
        r"Aborting due to Kconfig warnings",  # Kconfig
        r"region `FLASH' overflowed",  # the linker
        r"readback protection",  # nrfjprog
        r"executed test configurations passed",  # twister
        r"Connection profiles:",  # mcumgr
        r"is not visible from target",  # a bazel analysis error
        r"Lock file is no longer up-to-date",  # bzlmod's lockfile
        r"Error: \[S-4804\]",  # stack's build plan
        r"\.hs:\d+:\d+: error: \[GHC-\d+\]",  # GHC with a source span
        r"was modified manually",  # hpack
        r"AADSTS\d+",  # az login
        r"MissingSubscriptionRegistration",  # an ARM error code
        r"Error no-hardcoded-location",  # the bicep linter
        r"Resource changes:",  # az deployment group what-if
    ):
        assert re.search(shape, printed), shape
    assert sum(1 for f in u.facts if f.kind == "project_fact") >= 10
    _knowledge_from_tools(u, tool_text)
    assert sum(1 for f in u.facts if f.kind == "failure_fix") >= 9
    assert len(_fixed_by_another_tool(u)) >= 9
    # sizes
    assert len(u.sessions) >= 24 and sum(1 for s in u.sessions if s.later) >= 4
    assert len(u.facts) >= 40
    assert sum(1 for f in u.facts if f.kind == "project_rule") >= 6
    assert sum(1 for f in u.facts if f.kind == "preference") >= 5
    assert sum(1 for f in u.facts if f.superseded_by) >= 4
    assert len(u.distractors) >= 10
    assert sum(1 for d in u.distractors if d.kind == "transient") >= 5
    assert sum(1 for d in u.distractors if d.kind == "rejected" and d.negatable) >= 2
    # the pasted secret is a shape memoryd's redaction is meant to catch
    secrets = [d for d in u.distractors if d.kind == "secret"]
    assert secrets
    for d in secrets:
        pasted = [
            x for x in _user_texts(u, d.sources) if all(p.search(x) for p in d.match.patterns())
        ]
        assert pasted and not any(p.search(redact(x)) for x in pasted for p in d.match.patterns())
