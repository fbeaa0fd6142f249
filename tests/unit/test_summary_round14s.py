"""Round 14s: more of what memoryd knows into memory_summary.md. A rule phase 1 clipped is
completed from the user's own words when the quote goes on past the clip; a refusal of the
offer at hand ("don't do that, …"), even joined across projects, ranks after every line that
stands on its own. In wording of its own: an orchard sensor network and a choir's score
library."""

from __future__ import annotations

from memoryd.consolidate.offline.dense import rule_line
from memoryd.consolidate.offline.meaning import REPLACED
from memoryd.consolidate.offline.memory_md import VisibleGroup
from memoryd.consolidate.offline.model import Entry, Group
from memoryd.consolidate.offline.moment import momentary
from memoryd.consolidate.offline.summary_md import build_summary_model


def test_a_rule_clipped_by_phase_1_is_said_with_the_words_its_quote_goes_on_with() -> None:
    head = "and the raw sensor dumps from the orchard gateways should be kept…"
    quote = (
        "And the raw sensor dumps from the orchard gateways should be kept on the NAS, "
        "since the laptops only have 256 GB…"
    )
    line = rule_line(head, quote)
    assert "on the NAS" in line and "256 GB" in line
    # a rule that was not clipped keeps its own wording when the quote adds little
    assert rule_line("keep the raw dumps on the NAS", "keep the raw dumps on the NAS!") == (
        "keep the raw dumps on the NAS"
    )


def test_a_refusal_that_points_at_the_offer_is_bound_to_the_moment() -> None:
    assert momentary("do not do that, it would also wipe the choir's scans", rule=True)
    assert momentary("Please don't do that, the altos are still editing", rule=True)
    assert momentary("no, never run this again.", rule=True)
    # a prohibition that names what it forbids holds in any session
    assert not momentary("don't do that kind of rename in the score library", rule=True)
    assert not momentary("do not commit the scanned PDFs", rule=True)
    assert not momentary("never push this branch to main", rule=True)
    assert not momentary("don't use it for the rehearsal builds", rule=True)


def _rule(text: str, *threads: str) -> Entry:
    return Entry(
        key=text,
        text=text,
        threads=set(threads),
        projects=["orchard", "scores"],
        implication=text,
        quote="",
        kind="rule",
        latest="2026-11-20",
    )


def test_a_general_refusal_of_the_offer_at_hand_ranks_after_every_other_line() -> None:
    pointed = _rule("do not do that, it would also wipe my scans", "s1", "s2", "s3", "s4")
    lasting = _rule("put large files on the NAS, not in home", "s1", "s2")
    model = build_summary_model([], [], [pointed, lasting], [], [], [])
    ranked = [ln.text.split(" (")[0] for ln in model.ranked()]
    # said in more sessions, but it points at nothing in a new one
    assert ranked == [
        "- put large files on the NAS, not in home",
        "- do not do that, it would also wipe my scans",
    ]


def _replaced(text: str) -> Entry:
    return Entry(
        key=text,
        text=text,
        threads={"s1"},
        projects=["orchard"],
        kind=REPLACED,
        latest="2026-11-20",
    )


def test_a_replacement_read_from_prose_that_names_nothing_is_left_to_memory_md() -> None:
    misread = _replaced(
        'Replaced: `just` is replaced by `them` ("we tag them weekly now, not just orchard")'
    )
    single = _replaced('Replaced: `only` is replaced by `s` ("that\'s weekly now, not only here")')
    real = _replaced("Replaced: `cron` is replaced by `systemd timers`")
    vg = VisibleGroup(Group("orchard", "/src/orchard"), [], [], [misread, single, real], [])
    model = build_summary_model([], [vg], [], [], [], [])
    assert [ln.text for ln in model.digests[0].lines] == [
        "- orchard: `cron` was replaced by `systemd timers`"
    ]


def test_a_statement_whose_whole_subject_is_both_or_neither_is_bound_to_the_moment() -> None:
    # "both" and "neither" stand for the things the question named
    assert momentary("Both are cheap: the sensor firmware builds in a minute")
    assert momentary("Neither is needed for the choir's scans")
    # a subject of its own is a statement that stands alone
    assert not momentary("Both gateways are flashed from `firmware/` with `just flash`")
    assert not momentary("The scans are cheap to rebuild")


def test_a_clipped_rule_reworded_from_a_quote_that_holds_it_is_said_once() -> None:
    head = "ideally every gateway log line carries the firmware hash it came from, so the orch…"
    quote = (
        "I think it'd be best if every gateway log line carries the firmware hash it came "
        "from, so the orchard crew can match a fault to a build"
    )
    assert rule_line(head, quote) == quote
    # a quote that says more than the rule (a word the rule lacks beyond one) keeps both
    other = "ideally every gateway reboots at night, the crew is aslee…"
    said = "please make the gateways reboot at 3am when the sensors are idle"
    assert rule_line(other, said).endswith(f'— "{said}"')


def test_a_rule_that_is_only_an_ellipsis_does_not_crash() -> None:
    # nothing is left of the rule to look up in its quote ("…".rsplit() is empty)
    quote = "keep the raw sensor dumps on the NAS because the laptops are small"
    for head in ("…", " … "):
        assert isinstance(rule_line(head, quote), str)
