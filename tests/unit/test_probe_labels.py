"""The meaning probe's ground truth (issue 13): how a corpus's messages are cut into
sentences and which sentence is labelled as the source of a planted fact. No model needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from quality import corpora  # noqa: E402
from quality.labels import Sentence, cut, label, message_sentences  # noqa: E402
from quality.model import (  # noqa: E402
    Corpus,
    Distractor,
    Fact,
    M,
    Patch,
    Project,
    Say,
    Session,
    Sh,
    Think,
    User,
)
from quality.prototypes import PROTOTYPES  # noqa: E402

from memoryd.extract.offline.sentences import words_of  # noqa: E402

PROJECT = Project("kiln", "/home/dev/kiln", "git@example.invalid:dev/kiln.git")


def _corpus(facts: tuple[Fact, ...], distractors: tuple[Distractor, ...] = ()) -> Corpus:
    s1 = Session(
        "s1",
        "kiln",
        3.0,
        (
            User("Bake the glaze tests first. From now on use oven-run, not make bake."),
            Think("The user wants oven-run."),
            Sh("oven-run test", "KILN_TEMP=1200 is set\n3 passed", 0),
            Patch("*** Update File: kiln.toml\n+temp = 1200"),
            Say(
                "Done:\n- The kiln reads `KILN_TEMP` from `.env`.\n- It defaults to 1200.\n"
                "```\nKILN_TEMP=1200 in a fenced block is code\n```"
            ),
            User("The glaze lives in glazes/ now; nice"),
            Say("The palette is generated. Run `kiln gen` after editing colours."),
        ),
    )
    s2 = Session("s2", "kiln", 1.0, (User("From now on use oven-run, not make bake."),))
    return Corpus("tiny", "inline", (PROJECT,), (s1, s2), facts, distractors, forget="s2")


def _fact(id_: str, kind: str, match: str, sources: tuple[str, ...] = ("s1",)) -> Fact:
    return Fact(id_, kind, "kiln", id_, M(*match.split(" & ")), sources)


def _by_text(sentences: list[Sentence]) -> dict[str, Sentence]:
    out: dict[str, Sentence] = {}
    for s in sentences:
        out.setdefault(s.text, s)  # the first, in s1
    return out


def test_messages_are_cut_into_sentences_without_code_markers_or_tool_output() -> None:
    sentences = cut(_corpus(()))
    assert [(s.session, s.speaker, s.message, s.position, s.text) for s in sentences] == [
        ("s1", "user", 0, 0, "Bake the glaze tests first."),
        ("s1", "user", 0, 1, "From now on use oven-run, not make bake."),
        ("s1", "assistant", 1, 0, "Done:"),
        ("s1", "assistant", 1, 1, "The kiln reads `KILN_TEMP` from `.env`."),
        ("s1", "assistant", 1, 2, "It defaults to 1200."),
        ("s1", "user", 2, 0, "The glaze lives in glazes/ now;"),
        ("s1", "user", 2, 1, "nice"),
        ("s1", "assistant", 3, 0, "The palette is generated."),
        ("s1", "assistant", 3, 1, "Run `kiln gen` after editing colours."),
        ("s2", "user", 0, 0, "From now on use oven-run, not make bake."),
    ]
    assert all(s.label == "other" for s in sentences)


def test_a_stop_inside_a_code_span_or_parentheses_does_not_cut() -> None:
    assert message_sentences("Run `make a. b` now (see x. y) please. Then stop.") == [
        "Run `make a. b` now (see x. y) please.",
        "Then stop.",
    ]


def test_a_sentence_that_hits_every_group_is_the_source_only_in_the_facts_sessions() -> None:
    corpus = _corpus((_fact("k.rule", "project_rule", "oven-run & make bake"),))
    sentences = cut(corpus)
    cov = label(corpus, sentences)
    labelled = [(s.session, s.text, s.how) for s in sentences if s.label == "project_rule"]
    # s2 says the same words but is not among the fact's sources
    assert labelled == [("s1", "From now on use oven-run, not make bake.", "whole")]
    assert cov.facts == {"project_rule": 1} and cov.found == {"project_rule": 1}
    assert cov.how == {"whole": 1} and cov.missing == []


def test_a_fact_said_across_two_neighbouring_sentences_labels_both() -> None:
    corpus = _corpus((_fact("k.temp", "project_fact", "KILN_TEMP & 1200"),))
    sentences = cut(corpus)
    label(corpus, sentences)
    by = _by_text(sentences)
    assert by["The kiln reads `KILN_TEMP` from `.env`."].how == "pair"
    assert by["It defaults to 1200."].label == "project_fact"
    assert by["It defaults to 1200."].source_of == "k.temp"
    assert by["Done:"].label == "other"


def test_no_pair_across_two_messages() -> None:
    # "glaze" ends one message's sentence and "generated" starts the next message
    corpus = _corpus((_fact("k.x", "project_fact", "glazes & generated"),))
    sentences = cut(corpus)
    cov = label(corpus, sentences)
    assert cov.missing == ["k.x"] and cov.found == {}
    assert all(s.label == "other" for s in sentences)


def test_all_groups_but_one_count_only_for_three_groups_or_more() -> None:
    three = _corpus((_fact("k.gen", "project_fact", "kiln gen & colours & palette.json"),))
    sentences = cut(three)
    cov = label(three, sentences)
    assert _by_text(sentences)["Run `kiln gen` after editing colours."].how == "most"
    assert cov.how == {"most": 1}
    two = _corpus((_fact("k.gen2", "project_fact", "kiln gen & palette.json"),))
    sentences = cut(two)
    assert label(two, sentences).missing == ["k.gen2"]


def test_a_fact_keeps_a_sentence_that_a_distractor_also_hits() -> None:
    rejected = Distractor("k.d", "rejected", "make bake", M("make bake"), ("s1",), negatable=True)
    corpus = _corpus((_fact("k.rule", "preference", "oven-run & make bake"),), (rejected,))
    sentences = cut(corpus)
    cov = label(corpus, sentences)
    rule = _by_text(sentences)["From now on use oven-run, not make bake."]
    assert (rule.label, rule.coarse, rule.durable) == ("preference", "rule", True)
    assert cov.facts == {"preference": 1, "distractor:rejected": 1}
    small_talk = Distractor("k.t", "small_talk", "nice", M("nice"), ("s1",))
    corpus = _corpus((), (small_talk,))
    sentences = cut(corpus)
    label(corpus, sentences)
    nice = _by_text(sentences)["nice"]
    assert (nice.label, nice.coarse, nice.durable) == ("distractor:small_talk", "other", False)


# Words too common to say a prototype was copied.
_COMMON = frozenset(
    "a an the to of in on at for with by from and or but not no is are be was it its this that "
    "i me my we our you your they them there here do does did don't have has had will would "
    "can could should must now then so if when as all any every".split()
)


# The prototypes were written beside corpora A–G; corpora written after them (H on) cannot
# have been copied from, and a short generic sentence may share words with one by chance.
@pytest.mark.parametrize("name", corpora.NAMES[: corpora.NAMES.index("g") + 1])
def test_no_prototype_shares_most_of_its_words_with_a_corpus_sentence(name: str) -> None:
    corpus_words = [set(words_of(s.text.lower())) for s in cut(corpora.get(name))]
    for kind, prototypes in PROTOTYPES.items():
        assert 10 <= len(prototypes) <= 20, kind
        for p in prototypes:
            words = set(words_of(p.lower())) - _COMMON
            shared = max(len(words & w) for w in corpus_words)
            assert shared <= len(words) / 2, (kind, p)
