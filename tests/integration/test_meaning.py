"""The meaning model in the offline extractor (memoryd/extract/offline/meaning.py), with the
real encoder and the shipped head: what it proposes on sentences of wording no quality corpus
holds, what it never keeps, its cap, its determinism, and its lifetime in the extractor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from support.items import assistant, env_context, request, result, run, section, task_block
from support.items import user as user_item

from memoryd.extract.offline import OfflineExtractor, extract_output
from memoryd.extract.offline.items import parse_items
from memoryd.extract.offline.judge import Printed
from memoryd.extract.offline.meaning import (
    CANDIDATE_THRESHOLD,
    RULE_THRESHOLD,
    Meaning,
    ModelMissing,
    missing,
    second_opinion,
)
from memoryd.extract.offline.render import CANDIDATES_HEADING
from memoryd.extract.offline.timeline import analyse

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import train_meaning

from memoryd.redact import redact

pytestmark = pytest.mark.skipif(
    missing() is not None, reason=f"the meaning model is not installed ({missing()})"
)

CWD = "/home/u/harbor"
# Rules in wording no corpus holds, and without the rules' trigger words.
RULE_RELEASE = (
    "Release notes are my job, so leave the release notes file to me in every change you make."
)
RULE_DUTCH = "Comments in the code stay in English even when I write to you in Dutch."
SMALL_TALK = "Lovely weather in Lisbon today, I had a great coffee this morning."


@pytest.fixture(scope="module")
def meaning() -> Meaning:
    return Meaning()


def _items(*messages: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = [env_context(CWD)]
    for i, text in enumerate(messages):
        items += [
            user_item(text),
            run(f"c{i}", "make test"),
            result(f"c{i}", 0, "ok: 12 passed"),
            assistant("Done: the tests pass."),
        ]
    return items


def _preferences(out: str) -> str:
    return "\n".join(
        section(task_block(out, n), "Preference signals")
        for n in range(1, out.count("### Task ") + 1)
    )


def _extract(items: list[dict[str, object]], meaning: Meaning | None) -> str:
    req = request(items, cwd=CWD)
    if meaning is None:
        return extract_output(req).raw_memory
    with meaning.using() as scorer:
        assert scorer is not None
        return extract_output(req, scorer).raw_memory


def test_a_rule_without_trigger_words_is_proposed_and_small_talk_is_not(meaning: Meaning) -> None:
    items = _items(
        f"Fix the flaky retry test in harbor. {RULE_DUTCH}",
        f"{SMALL_TALK} Now bump the linter.",
    )
    alone = _extract(items, None)
    assert "English" not in _preferences(alone)  # the rules alone do not take it
    prefs = _preferences(_extract(items, meaning))
    # written from the sentence itself: the rules' shapes did not judge it a rule
    implication = "comments in the code stay in English even when I write to you in Dutch"
    assert f'the user said "{RULE_DUTCH}" -> in similar future tasks, {implication}' in prefs
    assert "Lisbon" not in prefs


# A house rule the head reads as only somewhat like one (P(rule) between the candidate and the
# rule threshold): too weak alone, a candidate for consolidation to confirm elsewhere.
WEAK_RULE = "Our fixtures live next to the tests that read them."


def test_a_weak_rule_is_a_candidate_in_the_raw_memory_only(meaning: Meaning) -> None:
    items = _items(f"Add the CSV export. {WEAK_RULE}", f"{SMALL_TALK} Now bump the linter.")
    req = request(items, cwd=CWD)
    with meaning.using() as scorer:
        assert scorer is not None
        p_rule = scorer.scores([WEAK_RULE])[0]["rule"]
        out = extract_output(req, scorer)
    assert CANDIDATE_THRESHOLD <= p_rule < RULE_THRESHOLD
    candidates = section(task_block(out.raw_memory, 1), CANDIDATES_HEADING.rstrip(":"))
    # quoted with its scene, as a proposed rule is
    assert (
        f'"Add the CSV export. {WEAK_RULE}" -> in similar future tasks, our fixtures' in candidates
    )
    every = [part.split("\n\n", 1)[0] for part in out.raw_memory.split(CANDIDATES_HEADING)[1:]]
    assert every and not [c for c in every if "Lisbon" in c]  # small talk is no candidate
    # not a rule of the task, and the rollout summary (which the user reads) never shows it
    assert "fixtures" not in _preferences(out.raw_memory)
    assert "future tasks, our fixtures" not in out.rollout_summary  # the request quotes it
    assert "Rule candidates" not in out.rollout_summary
    # without the model there is no candidate at all
    assert CANDIDATES_HEADING not in _extract(items, None)


def _candidates_kept(meaning: Meaning, *texts: str) -> list[str]:
    """What the hook adds with every threshold at zero: only its filters decide."""
    rollout = analyse(parse_items(json.dumps(_items(*(redact(t) for t in texts)))), CWD, None)
    with meaning.using() as scorer:
        assert scorer is not None
        knowledge: list[list[str]] = [[] for _ in rollout.tasks]
        return second_opinion(
            scorer, rollout.tasks, knowledge, Printed.of(""), cap=50, thresholds=(0.0, 0.0)
        )


def test_a_sentence_with_a_secret_a_pid_a_lock_id_or_a_temp_path_is_never_kept(
    meaning: Meaning,
) -> None:
    kept = _candidates_kept(
        meaning,
        f"Ship the parser. {RULE_RELEASE}",
        "Leave the release notes file to me, my key is ghp_abcdefghijklmnopqrstuvwxyz0123456789.",
        "Leave the release notes file to me while the worker with pid 48213 runs.",
        "Leave the release notes file to me, the job holds lock id 88123 now.",
        "Leave the release notes file under /tmp/notes-4821 to me in every change.",
    )
    assert any("Release notes are my job" in k for k in kept)
    assert not [k for k in kept if "key is" in k or "pid" in k or "lock" in k or "/tmp/" in k]


def test_at_most_cap_lines_are_added_per_rollout_highest_score_first(meaning: Meaning) -> None:
    texts = [
        f"Ship the parser. {RULE_RELEASE}",
        f"Now the docs. {RULE_DUTCH}",
        "Keep release notes out of your patches, they are mine to write.",
        "Add the cache layer. Our changelog lines name the module they touch first.",
        # a rule no shape of the rules reads (a kind and a plain present tense): the model's to add
        "Review it again. Public functions in harbor carry an example in their docstrings.",
    ]
    everything = _candidates_kept(meaning, *texts)
    assert len(everything) > 3
    rollout = analyse(parse_items(json.dumps(_items(*texts))), CWD, None)
    before = sum(len(t.preferences) for t in rollout.tasks)
    with meaning.using() as scorer:
        assert scorer is not None
        knowledge: list[list[str]] = [[] for _ in rollout.tasks]
        added = second_opinion(
            scorer, rollout.tasks, knowledge, Printed.of(""), cap=3, thresholds=(0.0, 0.0)
        )
    assert added == everything[:3]
    assert sum(len(t.preferences) for t in rollout.tasks) + sum(map(len, knowledge)) == before + 3


def test_the_same_rollout_gives_the_same_bytes_with_the_model_reloaded() -> None:
    items = _items(f"Fix the flaky retry test in harbor. {RULE_DUTCH}", f"Ship it. {RULE_RELEASE}")
    first = _extract(items, Meaning())
    second = _extract(items, Meaning())
    assert first == second
    assert RULE_DUTCH in first


async def test_the_extractor_loads_the_model_on_use_and_drops_it_when_idle() -> None:
    meaning = Meaning()
    extractor = OfflineExtractor(meaning)
    assert not meaning.loaded and meaning.loads == 0
    ticks = 0
    done = anyio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            await anyio.sleep(0.005)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        out = await extractor.extract(request(_items(f"Ship it. {RULE_DUTCH}"), cwd=CWD))
        done.set()
    assert RULE_DUTCH in out.output.raw_memory
    assert meaning.loads == 1 and not meaning.loaded  # loaded for the pass, then dropped
    # the encoder ran in a worker thread: the event loop kept turning meanwhile
    assert ticks >= 3


_RSS_PROBE = """
import resource
import sys
import numpy, tokenizers  # the libraries' own code is not the model's memory
from support.items import assistant, env_context, request, result, run, user
from memoryd.extract.offline import OfflineExtractor
from memoryd.extract.offline.meaning import Meaning

def rss() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise SystemExit("no VmRSS")

cwd = "/home/u/harbor"
items = [env_context(cwd), user(sys.argv[1]), run("c0", "make test"),
         result("c0", 0, "ok: 12 passed"), assistant("Done: the tests pass.")]
meaning = Meaning()
before = rss()
out = OfflineExtractor(meaning)._extract(request(items, cwd=cwd))
assert meaning.loads == 1 and not meaning.loaded and sys.argv[1] in out.raw_memory
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(before, peak, rss())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_dropping_the_model_gives_its_memory_back_to_the_system() -> None:
    """An idle daemon should not hold the model's ~100 MB: once no extraction uses it, the
    encoder is dropped and the heap trimmed (without the trim glibc kept ~65 MB of it)."""
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, f"Ship it. {RULE_DUTCH}"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    before, peak, after = map(int, out.stdout.split())
    assert peak - before > 80, (before, peak, after)  # the model was loaded
    assert after - before < 25, (before, peak, after)


def test_training_is_deterministic_and_records_what_it_was_trained_on() -> None:
    texts = [RULE_RELEASE, RULE_DUTCH, SMALL_TALK, "The API listens on port 8088.", "Thanks!"]
    labels = ["rule", "rule", "other", "fact", "other"]
    encoder = Meaning().using
    with encoder() as scorer:
        assert scorer is not None
        one = train_meaning.build_head(texts, labels, ["a"], scorer.encoder, "labels-test")
        two = train_meaning.build_head(texts, labels, ["a"], scorer.encoder, "labels-test")
    assert one.to_json() == two.to_json()
    assert one.trained_on == ("a",) and one.labeller == "labels-test"
    assert one.meta["per_class"] == {"rule": 2, "fact": 1, "fix": 0, "other": 2}


def test_training_with_bank_entries_counts_them_and_records_the_bank() -> None:
    from quality import bank

    texts = [RULE_RELEASE, SMALL_TALK, "The API listens on port 8088."]
    labels = ["rule", "other", "fact"]
    extra = [e for e in bank.entries() if e.voice == "terse_senior"]
    with Meaning().using() as scorer:
        assert scorer is not None
        alone = train_meaning.build_head(texts, labels, ["a"], scorer.encoder, "labels-test")
        one, two = (
            train_meaning.build_head(texts, labels, ["a"], scorer.encoder, "labels-test", extra)
            for _ in range(2)
        )
    assert one.to_json() == two.to_json() != alone.to_json()
    assert "bank" not in alone.meta and one.meta["bank"] == train_meaning.bank_note()
    assert one.meta["sentences"] == len(texts) + len(extra)
    per = {c: labels.count(c) + sum(e.label == c for e in extra) for c in one.classes}
    assert one.meta["per_class"] == per and per["fix"] > 0


def test_a_sentence_encodes_the_same_alone_and_padded_beside_longer_ones(meaning: Meaning) -> None:
    with meaning.using() as scorer:
        assert scorer is not None
        alone = scorer.encoder.encode([RULE_DUTCH])
        batch = scorer.encoder.encode([RULE_DUTCH, RULE_RELEASE * 3, SMALL_TALK])
    assert abs(float((alone[0] ** 2).sum()) - 1.0) < 1e-5  # unit length
    assert float(abs(alone[0] - batch[0]).max()) < 1e-5  # padding is masked out
    assert float(alone[0] @ batch[2]) < 0.5  # other sentences, other directions


def test_a_model_that_will_not_load_leaves_the_rules_alone_unless_it_is_required(
    tmp_path: Path,
) -> None:
    items = _items(f"Fix the flaky retry test in harbor. {RULE_DUTCH}")
    lenient = OfflineExtractor(Meaning(model=tmp_path))  # an empty folder: no weights
    out = lenient._extract(request(items, cwd=CWD))
    assert out.raw_memory == extract_output(request(items, cwd=CWD)).raw_memory
    strict = OfflineExtractor(Meaning(model=tmp_path, required=True))
    with pytest.raises(ModelMissing, match=r"the meaning model cannot be loaded: .*config\.json"):
        strict._extract(request(items, cwd=CWD))
