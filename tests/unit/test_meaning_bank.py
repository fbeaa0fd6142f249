"""The hand-labelled sentence bank for the meaning head (scripts/quality/bank.py) and the
trainer's use of it: its size and balance, its labels, one sentence per entry, no sentence
twice, none taken from a corpus; how the leave-one-corpus-out figures are counted."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import train_meaning  # noqa: E402
from quality import bank, corpora  # noqa: E402
from quality.labels import CLASSES, OTHER, Sentence, cut, message_sentences  # noqa: E402

from memoryd.extract.offline.meaning import shipped_head  # noqa: E402
from memoryd.textutil import norm_words  # noqa: E402


def test_the_bank_has_600_sentences_in_12_voices_mostly_other_with_hard_negatives() -> None:
    entries = bank.entries()
    assert len(entries) >= 600
    voices = Counter(e.voice for e in entries)
    assert len(voices) >= 12 and min(voices.values()) >= 25, voices
    labels = Counter(e.label for e in entries)
    assert labels[OTHER] >= 0.4 * len(entries), labels
    assert all(labels[c] >= 40 for c in CLASSES), labels
    hard = [e for e in entries if e.hard]
    assert len(hard) >= 0.3 * labels[OTHER]
    assert all(e.label == OTHER for e in hard)
    # every voice but the agent's narration states rules or facts, and each has hard negatives
    for voice in voices:
        own = Counter(e.label for e in entries if e.voice == voice)
        assert any(e.hard for e in entries if e.voice == voice), voice
        if voice != "agent_narration":
            assert own["rule"] + own["fact"] + own["fix"] >= 8, (voice, own)


def test_every_label_is_one_of_the_heads_classes() -> None:
    assert {e.label for e in bank.entries()} == set(CLASSES)
    assert set(bank.TAGS.values()) == set(CLASSES)


def test_no_sentence_is_in_the_bank_twice() -> None:
    keys = Counter(norm_words(e.text) for e in bank.entries())
    assert [k for k, n in keys.items() if n > 1] == []


def test_each_entry_is_one_sentence_as_a_session_is_cut() -> None:
    split = [e.text for e in bank.entries() if message_sentences(e.text) != [e.text]]
    assert split == []


def test_a_line_without_a_known_tag_is_refused_with_one_line_naming_it() -> None:
    with pytest.raises(bank.BankError) as err:
        bank.parse("terse", "r Use uv, not pip.\nq Always lint.\n")
    assert str(err.value) == (
        "bank voice 'terse', line 2: 'q Always lint.' needs a tag (r/f/x/o/h), a space and a "
        "sentence"
    )
    with pytest.raises(bank.BankError, match="line 1: 'f'"):
        bank.parse("terse", "f")


@pytest.mark.parametrize("name", corpora.NAMES)
def test_no_bank_sentence_occurs_in_a_corpus(name: str) -> None:
    said = [norm_words(s.text) for s in cut(corpora.get(name))]
    whole, text = set(said), "\n".join(said)
    # only the bank's sentences are reported: a held-out corpus's text stays unread
    found = [
        e.text
        for e in bank.entries()
        if (key := norm_words(e.text)) in whole
        # a longer sentence is not part of a corpus sentence either
        or (len(key.split()) >= 6 and key in text)
    ]
    assert found == []


def test_the_bank_note_names_its_version_size_and_digest() -> None:
    note = train_meaning.bank_note()
    assert note.startswith(f"{bank.VERSION} ({len(bank.entries())} sentences, ")
    assert bank.digest() in note and len(bank.digest()) == 12


def test_the_shipped_head_records_whether_it_was_trained_with_the_bank() -> None:
    meta = shipped_head().meta
    assert ("bank" in meta) == train_meaning.SHIP_WITH_BANK
    if train_meaning.SHIP_WITH_BANK:
        assert meta["bank"] == train_meaning.bank_note()


def _sentence(speaker: str, text: str, label: str = OTHER) -> Sentence:
    return Sentence("t", "s1", "kiln", speaker, 0, 0, text, label)


def test_the_leave_one_out_figures_count_as_the_shipped_thresholds_propose() -> None:
    sentences = [
        _sentence("user", "Use uv, not pip.", "preference"),
        _sentence("user", "Thanks, that was quick."),
        _sentence("user", "Never push to main.", "general_rule"),
        _sentence("user", "Okay do the rest of them."),
        _sentence("assistant", "The API listens on port 8088.", "project_fact"),
        _sentence("assistant", "All the tests pass now.", "project_fact"),  # no anchor
        _sentence("assistant", "I started the server on port 8000."),
    ]
    # columns: rule, fact, fix, other
    probs = np.array(
        [
            [train_meaning.RULE_THRESHOLD, 0.0, 0.0, 1 - train_meaning.RULE_THRESHOLD],
            [train_meaning.RULE_THRESHOLD - 0.0001, 0.0, 0.0, 0.2501],
            [0.2, 0.0, 0.0, 0.8],
            [0.9, 0.0, 0.0, 0.1],
            [0.0, 0.95, 0.0, 0.05],
            [0.0, 0.99, 0.0, 0.01],
            [0.0, 0.91, 0.0, 0.09],
        ],
        dtype=np.float32,
    )
    judged = train_meaning.judge(sentences, probs)
    # user rules: one of the two rules proposed, and one request
    assert judged.rule == (1, 2, 2)
    # anchored answers only: the port fact and the one-run server both pass 0.90
    assert judged.fact == (1, 2, 1)
    # P(rule) of the user sentences: the rule at 0.75 beats the thanks, nothing else wins
    assert judged.auc_rule == 25.0
    assert judged.auc_durable is not None and 0 < judged.auc_durable < 100
