"""``memoryd run --once`` with ``[state] backend = "postgres"``: the whole pipeline (index,
phase 1, phase 2, the control commands run without a daemon) on a real PostgreSQL server gives
the same memory folder as on SQLite."""

from __future__ import annotations

import difflib
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from support import pg
from support.daemon import Serve, short_dir, wait_for, write_config
from support.rollouts import write_idle_rollouts

FIXTURES = Path(__file__).resolve().parents[2] / "memoryd" / "examples"
CONFIG = """\
[phase1]
min_rollout_idle_hours = 0
max_rollout_age_days = 36500
allowed_sources = ["cli", "vscode", "exec"]
"""
DSN_ENV = "MEMORYD_TEST_PG_DSN"
DIGEST = re.compile(r"^memory [0-9a-f]{16}$", re.MULTILINE)


def _home(base: Path, state: str, *, fixtures: bool = True) -> tuple[Path, dict[str, str]]:
    day = base / "codex" / "sessions" / "2026" / "11" / "22"
    day.mkdir(parents=True)
    for f in sorted(FIXTURES.glob("rollout-*.jsonl")) if fixtures else ():
        shutil.copy2(f, day / f.name)  # the same mtimes (updated_at) in both homes
    cfg = base / "memoryd.toml"
    cfg.write_text(CONFIG + state)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(base),
        "XDG_CONFIG_HOME": str(base / "xdg"),
        "CODEX_HOME": str(base / "codex"),
        "MEMORYD_STATE_DIR": str(base / "state"),
    }
    return cfg, env


def _memoryd(cfg: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memoryd", "--config", str(cfg), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tree(base: Path) -> dict[str, str]:
    """The memory folder's files (its history aside), the home's own path written as ~ (and
    the offline consolidator's digest of MEMORY.md, which covers those paths, left out)."""
    root = base / "state" / "memories"
    return {
        str(p.relative_to(root)): DIGEST.sub(
            "memory <digest>", p.read_text(encoding="utf-8").replace(str(base), "~")
        )
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_run_once_on_postgres_builds_the_same_memories_as_on_sqlite(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    with short_dir() as lite_base, short_dir() as pg_base:
        lite_cfg, lite_env = _home(lite_base, "")
        pg_cfg, pg_env = _home(pg_base, f'[state]\nbackend = "postgres"\ndsn_env = "{DSN_ENV}"\n')
        pg_env[DSN_ENV] = pg_dsn
        for cfg, env in ((lite_cfg, lite_env), (pg_cfg, pg_env)):
            r = _memoryd(cfg, env, "run", "--once")
            assert r.returncode == 0, r.stderr
            assert "phase 1: 3 extracted: 3 memories" in r.stdout
        # The state is in PostgreSQL: no SQLite file beside the memories.
        assert not (pg_base / "state" / "memoryd.sqlite").exists()
        dbname = pg_dsn.rsplit("/", 1)[1]
        assert pg_cluster.psql("SELECT count(*) FROM stage1_outputs", dbname) == "3"
        assert pg_cluster.psql("SELECT outcome FROM phase2_runs", dbname) == "succeeded"
        lite_tree = _tree(lite_base)
        assert "MEMORY.md" in lite_tree
        pg_tree = _tree(pg_base)
        assert sorted(pg_tree) == sorted(lite_tree)
        for name, text in lite_tree.items():
            diff = difflib.unified_diff(text.splitlines(), pg_tree[name].splitlines(), lineterm="")
            assert pg_tree[name] == text, f"{name} differs:\n" + "\n".join(diff)
        # Control commands without a daemon read the same state.
        r = _memoryd(pg_cfg, pg_env, "jobs")
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("memory_stage1") == 3
        r = _memoryd(pg_cfg, pg_env, "status")
        assert r.returncode == 0, r.stderr
        assert "memory_stage1: 3 done" in r.stdout
        r = _memoryd(pg_cfg, pg_env, "history")
        assert r.returncode == 0, r.stderr
        assert "+3 -0 inputs" in r.stdout


def test_two_hosts_on_one_database_each_extract_only_their_own_rollouts(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    """Separate CODEX_HOMEs and state dirs (two machines) on one database: each host
    indexes and extracts its own rollouts only, the other host's threads stay untouched
    (not marked vanished, not claimed), and every thread is extracted exactly once."""
    dbname = pg_dsn.rsplit("/", 1)[1]
    state = f'[state]\nbackend = "postgres"\ndsn_env = "{DSN_ENV}"\n'
    with short_dir() as a, short_dir() as b:
        homes = {}
        for name, base in (("a", a), ("b", b)):
            cfg, env = _home(base, state, fixtures=False)
            env[DSN_ENV] = pg_dsn
            ids = write_idle_rollouts(base / "codex" / "sessions", 3)
            homes[name] = (cfg, env, set(ids))
        for _ in range(2):  # a second pass: each host re-scans beside the other's rows
            for cfg, env, _ids in homes.values():
                r = _memoryd(cfg, env, "run", "--once")
                assert r.returncode == 0, r.stderr
        hosts = {
            name: (Path(env["MEMORYD_STATE_DIR"]) / "host_id").read_text().strip()
            for name, (_cfg, env, _ids) in homes.items()
        }
        assert hosts["a"] != hosts["b"]
        for name, (_cfg, _env, ids) in homes.items():
            rows = pg_cluster.psql(
                f"SELECT id FROM threads WHERE host_id = '{hosts[name]}' "
                "AND index_error IS NULL ORDER BY id",
                dbname,
            )
            assert set(rows.split()) == ids
        # Six threads, six outputs, each claimed once (one job, never retried).
        assert pg_cluster.psql("SELECT count(*) FROM stage1_outputs", dbname) == "6"
        assert (
            pg_cluster.psql(
                "SELECT count(*) FROM jobs WHERE kind = 'memory_stage1' AND status = 'done' "
                "AND retry_remaining = 3",
                dbname,
            )
            == "6"
        )
        assert pg_cluster.psql("SELECT count(*) FROM threads", dbname) == "6"


def test_the_daemon_runs_both_phases_on_postgres_and_stops_cleanly(
    short_serve: Serve, pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    dbname = pg_dsn.rsplit("/", 1)[1]
    short_serve.env[DSN_ENV] = pg_dsn
    write_idle_rollouts(short_serve.codex / "sessions", 3)
    write_config(
        short_serve,
        f'[state]\nbackend = "postgres"\ndsn_env = "{DSN_ENV}"\n'
        "[phase2]\nmin_interval_seconds = 0\n",
    )
    short_serve.start_ready()
    # Phase 2 may run between extractions: wait until a success consumed all three.
    wait_for(
        "a consolidation of the three memories on PostgreSQL",
        lambda: pg_cluster.psql("SELECT count(*) FROM phase2_selection", dbname) == "3",
        timeout=60,
    )
    assert (
        pg_cluster.psql(
            "SELECT sum(inputs_added) FROM phase2_runs WHERE outcome = 'succeeded'", dbname
        )
        == "3"
    )
    assert pg_cluster.psql("SELECT count(*) FROM stage1_outputs", dbname) == "3"
    assert (short_serve.state / "memories" / "MEMORY.md").exists()
    assert not short_serve.db_path.exists()
    short_serve.signal(signal.SIGTERM)
    assert short_serve.wait_exit() == 0
    # Nothing left leased: every job finished or was given back.
    assert pg_cluster.psql("SELECT count(*) FROM jobs WHERE status = 'running'", dbname) == "0"
