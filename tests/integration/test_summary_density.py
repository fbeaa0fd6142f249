"""memory_summary.md as dense as it can be (issue 13, round 5): bytes go to lines that state
something, each still naming its project, and a summary with more knowledge than fits keeps
the best lines of every project and the general rules, the best of it in the first 5,000
bytes. The sessions are small real fragments through the offline extractor, in wording of
their own (an aquarium shop, a choir's rota, a tide gauge)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.items import assistant, user
from support.offline_memory import consolidate, session

from memoryd.consolidate.base import AgentError, ConsolidationInput
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.consolidate.offline.layout import BUDGET_ENV, SUMMARY_BUDGET, summary_budget
from memoryd.store.phase2 import ArtifactRow


def test_the_summary_budget_comes_from_the_environment_within_its_range() -> None:
    assert summary_budget({}) == SUMMARY_BUDGET
    assert summary_budget({BUDGET_ENV: " 6000 "}) == 6_000
    assert summary_budget({BUDGET_ENV: "7_000"}) == 7_000
    for bad in ("lots", "12000", "100", "-1"):
        with pytest.raises(ValueError) as err:
            summary_budget({BUDGET_ENV: bad})
        assert str(err.value) == (
            f"MEMORYD_SUMMARY_BUDGET={bad!r} is not a byte count from 2,000 to 10,000: "
            "unset it or give one in that range"
        )


async def test_a_bad_summary_budget_stops_the_agent_before_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "MEMORY.md").write_text("# mine\n")
    monkeypatch.setenv(BUDGET_ENV, "huge")
    with pytest.raises(AgentError) as err:
        await OfflineConsolidator().consolidate(
            ConsolidationInput(root=str(tmp_path), mode="incremental")
        )
    assert err.value.reason == "invalid_config" and "MEMORYD_SUMMARY_BUDGET='huge'" in str(
        err.value
    )
    assert (tmp_path / "MEMORY.md").read_text() == "# mine\n"  # nothing lost


def reef(tid: int, day: int, k: int) -> ArtifactRow:
    return session(
        tid,
        "/srv/reef",
        day,
        [
            user("Document the tank sensors."),
            assistant(
                " ".join(
                    f"The reef probe{j} reads REEF_PROBE{j}_TOPIC and is configured in "
                    f"conf/probe{j}.toml."
                    for j in range(k, k + 6)
                )
            ),
        ],
    )


async def test_a_lower_budget_gives_a_smaller_summary(tmp_path: Path) -> None:
    rows = [reef(1, 0, 0), reef(2, 1, 6), reef(3, 2, 12)]
    _, full = consolidate(tmp_path / "full", rows)
    _, low = consolidate(tmp_path / "low", rows, budget=2_000)
    assert len(low.encode()) <= 2_000 < len(full.encode())


def choir(tid: int, day: int, k: int) -> ArtifactRow:
    rule = f"Use psalm{k}tool, not grep, when you search the psalm{k} index of the choir books."
    return session(tid, "/srv/choir", day, [user(rule)])


def facts(tid: int, name: str, day: int) -> ArtifactRow:
    said = " ".join(
        f"The {name} sensor{j} reads {name.upper()}_S{j}_PORT and is configured in "
        f"conf/{name}{j}.toml."
        for j in range(4)
    )
    return session(tid, f"/srv/{name}", day, [user("Document it."), assistant(said)])


async def test_a_summary_over_its_cap_keeps_every_projects_best_lines(tmp_path: Path) -> None:
    rows = [choir(k + 1, 0, k) for k in range(12)]
    rows += [facts(100 + i, name, i) for i, name in enumerate(("till", "gauge", "kiln"))]
    _, full = consolidate(tmp_path / "full", rows)
    for name in ("till", "gauge", "kiln"):
        assert f"- {name}: The {name} sensor" in full  # the whole fits at 10,000 bytes
    assert full.count("- choir: ") >= 10
    _, low = consolidate(tmp_path / "low", rows, budget=2_500)
    assert len(low.encode()) <= 2_500
    # the project with many rules does not crowd out the others' knowledge
    for name in ("till", "gauge", "kiln"):
        assert f"- {name}: The {name} sensor" in low, name
    assert "- choir: " in low
