"""The PostgreSQL state engine: the same schema as SQLite's, migrated safely by hosts that
start together, and a config that cannot reach it refused in one line (exit 2)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from support import pg
from support.daemon import wait_for

from memoryd.config import Config, Settings, StateConfig, resolve_paths
from memoryd.errors import StateDBError
from memoryd.store.db import migrations, open_db, open_state
from memoryd.store.engine import PgConnection, load_host_id, pg_migrations

DSN_ENV = "MEMORYD_TEST_PG_DSN"


def pg_settings(tmp_path: Path) -> Settings:
    cfg = Config(state=StateConfig(backend="postgres", dsn_env=DSN_ENV))
    return Settings(cfg, "<test>", resolve_paths(cfg, {"HOME": str(tmp_path)}))


async def test_postgres_schema_has_every_sqlite_table_and_column(
    tmp_path: Path, pg_dsn: str
) -> None:
    lite = await open_db(tmp_path / "memoryd.sqlite")
    try:
        tables = [
            str(r[0])
            for r in await lite.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        want = {
            t: sorted(str(r[1]) for r in await lite.execute_fetchall(f"PRAGMA table_info({t})"))
            for t in tables
        }
    finally:
        await lite.close()
    conn = await open_state(pg_settings(tmp_path), {DSN_ENV: pg_dsn})
    try:
        assert isinstance(conn, PgConnection)
        rows = await conn.execute_fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name <> 'memoryd_schema'"
        )
        got: dict[str, list[str]] = {}
        for table, column in rows:
            got.setdefault(table, []).append(column)
        assert {t: sorted(c) for t, c in got.items()} == want
        versions = await conn.execute_fetchall("SELECT version FROM memoryd_schema ORDER BY 1")
        assert [v for (v,) in versions] == [v for v, _, _ in migrations()]
    finally:
        await conn.close()


def test_every_sqlite_migration_has_its_postgres_twin() -> None:
    assert [v for v, _, _ in pg_migrations()] == [v for v, _, _ in migrations()]


async def test_forgotten_thread_triggers_hold_on_postgres(tmp_path: Path, pg_dsn: str) -> None:
    conn = await open_state(pg_settings(tmp_path), {DSN_ENV: pg_dsn})
    try:
        await conn.execute("INSERT INTO forgotten_threads VALUES ('t1', 1)")
        await conn.execute(
            "INSERT INTO threads (id, rollout_path, created_at, updated_at) "
            "VALUES ('t1', '/r/t1', 1, 1)"
        )
        await conn.execute("UPDATE threads SET memory_mode = 'enabled' WHERE id = 't1'")
        assert await conn.execute_fetchall("SELECT memory_mode FROM threads") == [("forgotten",)]
        await conn.execute(
            "INSERT INTO stage1_outputs (thread_id, source_updated_at, raw_memory, "
            "rollout_summary, generated_at) VALUES ('t1', 1, 'r', 's', 1)"
        )
        assert await conn.execute_fetchall("SELECT count(*) FROM stage1_outputs") == [(0,)]
    finally:
        await conn.close()


MIGRATOR = textwrap.dedent(
    """
    import asyncio, os, sys, time
    sys.path.insert(0, {tests!r})
    from integration.test_state_engine import DSN_ENV, pg_settings
    from memoryd.store.db import open_state
    from pathlib import Path

    async def main():
        # Everyone starts at once: ready, then wait for the test's go.
        base = Path(sys.argv[1])
        (base / f"ready-{{os.getpid()}}").touch()
        while not (base / "go").exists():
            time.sleep(0.005)
        conn = await open_state(pg_settings(Path(sys.argv[1])), {{DSN_ENV: sys.argv[2]}})
        await conn.close()

    asyncio.run(main())
    """
)


def test_hosts_starting_together_migrate_once(tmp_path: Path, pg_dsn: str) -> None:
    tests = str(Path(__file__).resolve().parents[1])
    script = MIGRATOR.format(tests=tests)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), pg_dsn],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(5)
    ]
    try:
        wait_for("5 migrators ready", lambda: len(list(tmp_path.glob("ready-*"))) == 5, 60)
        (tmp_path / "go").touch()
        results = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [rc for _, rc in results] == [0] * 5, [err for err, _ in results]
    with psycopg.connect(pg_dsn) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM memoryd_schema ORDER BY 1")]
    assert versions == [v for v, _, _ in migrations()]  # each applied exactly once


def _run_once(
    tmp_path: Path, config: str, extra_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "memoryd.toml"
    cfg.write_text(config)
    (tmp_path / "codex" / "sessions").mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "CODEX_HOME": str(tmp_path / "codex"),
        "MEMORYD_STATE_DIR": str(tmp_path / "state"),
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "-m", "memoryd", "--config", str(cfg), "run", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


POSTGRES_CONFIG = f'[state]\nbackend = "postgres"\ndsn_env = "{DSN_ENV}"\n'


def test_unset_dsn_variable_is_refused_in_one_line_exit_2(tmp_path: Path) -> None:
    r = _run_once(tmp_path, POSTGRES_CONFIG, {})
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "state.dsn_env" in lines[0]
    assert f"environment variable {DSN_ENV} is not set" in lines[0]


def test_unreachable_server_is_refused_in_one_line_exit_2(
    tmp_path: Path, pg_cluster: pg.PgCluster
) -> None:
    # A database that does not exist on the real server: reachable host, refused connection.
    dsn = pg_cluster.dsn("no_such_database")
    r = _run_once(tmp_path, POSTGRES_CONFIG, {DSN_ENV: dsn})
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"cannot connect to the PostgreSQL server in ${DSN_ENV}" in lines[0]
    assert "no_such_database" in lines[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_open_state_picks_the_configured_engine(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    cfg = Config(state=StateConfig(backend=backend, dsn_env=DSN_ENV))  # type: ignore[arg-type]
    settings = Settings(cfg, "<test>", resolve_paths(cfg, {"HOME": str(tmp_path)}))
    env = {DSN_ENV: request.getfixturevalue("pg_dsn")} if backend == "postgres" else {}
    conn = await open_state(settings, env)
    try:
        assert isinstance(conn, PgConnection) == (backend == "postgres")
        assert settings.paths.db_path.exists() == (backend == "sqlite")
    finally:
        await conn.close()


def test_host_id_is_made_once_private_and_stable(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = load_host_id(state)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert load_host_id(state) == first
    assert (state / "host_id").stat().st_mode & 0o077 == 0
    assert [p.name for p in state.iterdir()] == ["host_id"]  # no temporary file left
    assert load_host_id(tmp_path / "elsewhere") != first


def test_a_damaged_host_id_is_refused_with_what_to_do(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "host_id").write_text("not an id\n")
    with pytest.raises(StateDBError) as e:
        load_host_id(state)
    assert str(e.value) == (
        f"host id file {state / 'host_id'} does not hold a host id (32 hex digits); remove it "
        "and memoryd makes a new one (this host's rollouts are then indexed anew)"
    )
