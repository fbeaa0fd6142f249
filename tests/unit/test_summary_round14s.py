"""Round 14s: more of what memoryd knows into memory_summary.md. A rule phase 1 clipped is
completed from the user's own words when the quote goes on past the clip; a refusal of the
offer at hand ("don't do that, …"), even joined across projects, ranks after every line that
stands on its own. In wording of its own: an orchard sensor network and a choir's score
library."""

from __future__ import annotations

from memoryd.consolidate.offline.dense import rule_line


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
