"""A refused offer (issue 13, round 13): what the agent found before it offered stays
knowledge; only the offer becomes a "don't"."""

from __future__ import annotations

from support.items import assistant, failures_of, knowledge_of, result, run, user

from memoryd.extract.offline.language import before_offer


def test_what_a_message_found_before_its_offer_is_kept_apart_from_the_offer() -> None:
    text = (
        "The kiln controller reads its schedule from `profiles/cone6.toml`, and the ramp "
        "stalls because `max_rate` there is 80. I could raise it to 150 with `kilnctl set`."
    )
    assert before_offer(text) == (
        "The kiln controller reads its schedule from `profiles/cone6.toml`, and the ramp "
        "stalls because `max_rate` there is 80."
    )
    # a bare "Want me to?" offers the sentence before it
    assert before_offer("Clearing `~/.glaze-cache` would fix it. Want me to?") == ""
    assert before_offer("I can wipe the cache with `glaze purge`.") == ""  # opens with the offer
    assert before_offer("The cache is stale.") == ""  # offers nothing


async def test_a_refused_offer_keeps_the_diagnosis_it_came_with() -> None:
    items = [
        user("The firing log says the ramp stalls at 600 degrees, find out why."),
        run("c1", "kilnctl show --profile cone6"),
        result("c1", 0, "profile: cone6\nsource: profiles/cone6.toml\nmax_rate: 80\n"),
        assistant(
            "The controller takes the ramp limit from `KILN_MAX_RATE` when it is set, and "
            "only falls back to `profiles/cone6.toml` without it. I could unset "
            "`KILN_MAX_RATE` in your shell profile for you."
        ),
        user("No unsetting, the studio's other kilns need that variable; find another way."),
        run("c2", "kilnctl set --profile cone6 max_rate=150"),
        result("c2", 0, "max_rate: 150\n"),
    ]
    knowledge = await knowledge_of(items)
    assert "`KILN_MAX_RATE`" in knowledge  # the diagnosis stays
    assert "I could unset" not in knowledge  # the offer does not
    failures = await failures_of(items)
    assert "The user rejected the proposal to run `KILN_MAX_RATE`" in failures
