"""Where a value is taken from is knowledge (issue 13, round 13): "X takes its Y from Z" is
a standing statement like "X reads Y from Z". Wording no corpus has (a choir's rota app)."""

from __future__ import annotations

from memoryd.extract.offline.facts import statements


def test_where_a_value_is_taken_from_is_a_standing_statement() -> None:
    assert statements(
        [
            "The rota takes its start date from `ROTA_EPOCH`, a Monday.",
            "The export gets the choir names from `members.csv`.",
            "I took the date from `ROTA_EPOCH` and ran it.",  # narration, not a statement
        ],
        [],
        [],
        [],
    ) == [
        "The rota takes its start date from `ROTA_EPOCH`, a Monday",
        "The export gets the choir names from `members.csv`",
    ]
