"""``memoryd history`` names the host that ran each consolidation (issue 18: several machines
share one memory on PostgreSQL): in the text and in ``--json``, as ``memoryd status`` names
hosts; runs recorded before hosts were show as unknown. Real rollouts, the offline agent, real
git histories; a real PostgreSQL server for the hosts sharing one state, SQLite for one."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from support.pipeline import Pipeline, open_pipeline

from memoryd.config import Config, Settings, StateConfig, resolve_paths
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.control.commands import COMMANDS, Context, RunArgs
from memoryd.control.results import HistoryResult
from memoryd.phase2 import Consolidator
from memoryd.store import hosts, published
from memoryd.store.db import immediate, open_state
from memoryd.store.engine import Connection, PgConnection
from memoryd.workspace.history import RunFacts, history_dir, list_runs, record_files

DSN_ENV = "MEMORYD_TEST_PG_DSN"
TREE = {
    "MEMORY.md": b"# Task Group: shared\n",
    "memory_summary.md": b"v1\nshared\n",
    "rollout_summaries/a.md": b"thread a\n",
}


def rendered(state_dir: Path) -> tuple[list[str], list[dict[str, object]]]:
    """What ``memoryd history`` prints, and its ``--json`` runs."""
    result = HistoryResult(runs=list_runs(state_dir))
    cmd = COMMANDS["history"]
    wire = msgspec.json.decode(msgspec.json.encode(result))
    return cmd.render(cmd.decode(wire)), wire["runs"]


async def diffed(conn: Connection, state_dir: Path, run_id: str) -> tuple[list[str], Any]:
    """What ``memoryd diff <run_id>`` prints, and its ``--json``, from the command itself."""
    cfg = Config()
    settings = Settings(cfg, "<test>", resolve_paths(cfg, {"MEMORYD_STATE_DIR": str(state_dir)}))
    cmd = COMMANDS["diff"]
    result = await cmd.call(Context(conn, settings), RunArgs(run=run_id))
    wire = msgspec.json.decode(msgspec.json.encode(result))
    return cmd.render(cmd.decode(wire)), wire


@pytest.fixture
async def pipe(tmp_path: Path) -> AsyncIterator[Pipeline]:
    p = await open_pipeline(tmp_path)
    try:
        yield p
    finally:
        await p.conn.close()


async def test_on_sqlite_each_run_names_this_machine_and_an_old_run_is_unknown(
    pipe: Pipeline,
) -> None:
    directory = history_dir(pipe.state)
    # A run recorded by a memoryd from before hosts were named: no host in its commit.
    record_files(
        directory,
        TREE,
        RunFacts(
            run_id="old-run",
            kind="consolidation",
            at_ms=1_700_000_000_000,
            inputs_added=1,
            inputs_retained=0,
            inputs_removed=0,
            selection=[("a", 1)],
        ),
    )
    run = await pipe.run()
    assert run.outcome == "succeeded"

    new, old = list_runs(pipe.state)
    assert (new.run_id, new.host, new.host_id) == (run.run_id, socket.gethostname(), None)
    assert (old.run_id, old.host, old.host_id) == ("old-run", None, None)
    text, wire = rendered(pipe.state)
    assert f"  on {socket.gethostname()}  +3 -0 inputs" in text[0]
    assert text[1].startswith("old-run  ") and "  on -  +1 -0 inputs" in text[1]
    assert [(r["host"], r["host_id"]) for r in wire] == [(socket.gethostname(), None), (None, None)]

    # `diff` names the same host as `history`, above the patch and in --json.
    text, data = await diffed(pipe.conn, pipe.state, run.run_id)
    assert (data["run"], data["host"], data["host_id"]) == (run.run_id, socket.gethostname(), None)
    assert data["at_ms"] == new.at_ms
    assert text[0].startswith(f"run {run.run_id} on {socket.gethostname()}, ")
    assert text[1].startswith("diff --git ") and text[1:] == data["diff"].splitlines()
    text, data = await diffed(pipe.conn, pipe.state, "old-run")
    assert (data["host"], data["host_id"]) == (None, None)
    assert text[0] == "run old-run on -, 2023-11-14 22:13:20Z"


def pg_settings(home: Path) -> Settings:
    cfg = Config(state=StateConfig(backend="postgres", dsn_env=DSN_ENV))
    return Settings(cfg, "<test>", resolve_paths(cfg, {"HOME": str(home)}))


def consolidator(home: Path, conn: Connection) -> Consolidator:
    return Consolidator(
        conn,
        Config(),
        OfflineConsolidator(),
        root=home / "memories",
        codex_home=home,
        worker_id=home.name,
        history_dir=history_dir(home / "state"),
    )


async def test_on_postgres_each_run_names_the_host_that_ran_it(tmp_path: Path, pg_dsn: str) -> None:
    """Host alpha publishes a consolidation; host beta records it in its own history, then
    consolidates itself: beta's history names alpha for the one and beta for the other, each
    with its host id, as ``memoryd status`` lists the hosts."""
    conns: dict[str, PgConnection] = {}
    try:
        for name in ("alpha", "beta"):
            conn = await open_state(pg_settings(tmp_path / name), {DSN_ENV: pg_dsn})
            assert isinstance(conn, PgConnection)
            assert await hosts.touch_host(conn, started_at_ms=1, now_ms=1, hostname=name)
            conns[name] = conn
        alpha, beta = conns["alpha"], conns["beta"]
        assert alpha.host_id != beta.host_id
        async with immediate(alpha) as tx:
            await published.insert_tree(tx, run_id="r-alpha", files=TREE, selection=(), now_ms=1)

        b = consolidator(tmp_path / "beta", beta)
        assert (await b.materialise()) is not None
        (b.root / "MEMORY.md").write_text("# Task Group: shared\n\n- a line beta's user added\n")
        own = await b.run_once()
        assert own.outcome == "succeeded"

        text, wire = rendered(tmp_path / "beta" / "state")
        assert [(r["run_id"], r["host"], r["host_id"]) for r in wire] == [
            (own.run_id, "beta", beta.host_id),
            ("r-alpha", "alpha", alpha.host_id),
        ]
        assert f"  on beta ({beta.host_id[:8]})  " in text[0]
        assert f"  on alpha ({alpha.host_id[:8]})  " in text[1]
        for run_id, name, host_id in (
            (own.run_id, "beta", beta.host_id),
            ("r-alpha", "alpha", alpha.host_id),
        ):
            text, data = await diffed(beta, tmp_path / "beta" / "state", run_id)
            assert (data["host"], data["host_id"]) == (name, host_id)
            assert text[0].startswith(f"run {run_id} on {name} ({host_id[:8]}), ")

        # A host that never registered a name is still told apart by its id.
        async with immediate(alpha) as tx:
            await tx.execute("DELETE FROM hosts WHERE host_id = ?", (alpha.host_id,))
            await published.insert_tree(
                tx,
                run_id="r-nameless",
                files={**TREE, "MEMORY.md": b"# x\n"},
                selection=(),
                now_ms=2,
            )
        assert (await b.materialise()) is not None
        text, _ = rendered(tmp_path / "beta" / "state")
        assert "r-nameless  " in text[0] and f"  on unnamed host ({alpha.host_id[:8]})  " in text[0]
    finally:
        for conn in conns.values():
            await conn.close()
