"""Where a value comes from and where requests go is knowledge (issue 13, round 13): "X takes
its Y from Z", "X runs against Y", "X forwards Y to Z" are standing statements like "X reads
Y from Z". Wording no corpus has (a choir's rota app)."""

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


def test_what_runs_against_or_forwards_to_something_is_a_standing_statement() -> None:
    assert statements(
        [
            "Rota previews run against the staging choir `alto-staging.example.org`.",
            "`nginx.conf` forwards `/hymns` to the lyrics service on localhost:7070.",
            "I forwarded the logs to Priya.",  # narration
        ],
        [],
        [],
        [],
    ) == [
        "Rota previews run against the staging choir `alto-staging.example.org`",
        "`nginx.conf` forwards `/hymns` to the lyrics service on localhost:7070",
    ]
