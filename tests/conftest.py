"""Shared test fixtures: temp Codex homes, the real rollout fixtures, and a fresh state DB."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite
import pytest
from support import engines, pg
from support.daemon import Serve, daemon_env, short_dir

from memoryd.store.db import open_db

REPO = Path(__file__).resolve().parent.parent
# The three real Codex 0.169.0 rollouts; bundled in the package so tests run from a checkout
# with or without ../shared beside it.
FIXTURES = REPO / "memoryd" / "examples"


KINDS = ("unit", "integration", "acceptance")
# Fixtures that start a ``memoryd serve`` subprocess: a test using one is an acceptance test.
DAEMON_FIXTURES = frozenset({"serve", "short_serve"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its kind: the folder it lives in (tests/unit, tests/integration,
    tests/acceptance), and ``acceptance`` too when it starts the daemon."""
    for item in items:
        kind = item.path.parent.name
        if kind in KINDS:
            item.add_marker(kind)
        if kind != "acceptance" and DAEMON_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("acceptance")


@pytest.fixture
def fixture_rollouts() -> list[Path]:
    files = sorted(FIXTURES.glob("rollout-*.jsonl"))
    assert len(files) == 3
    return files


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """A ``memoryd serve`` launcher on a home under tmp_path (not started yet); kills what it
    started."""
    with Serve(tmp_path, daemon_env(tmp_path)) as s:
        yield s


@pytest.fixture
def short_serve() -> Iterator[Serve]:
    """Like ``serve``, on a home in a short /tmp/md-XXXX directory (the control socket's
    108-byte limit) for tests that put more processes or files beside the daemon's; the
    directory is removed afterwards."""
    with short_dir() as base, Serve(base, daemon_env(base)) as s:
        yield s


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    home = tmp_path / "codex"
    (home / "sessions").mkdir(parents=True)
    return home


@pytest.fixture
def sessions_day(codex_home: Path) -> Path:
    day = codex_home / "sessions" / "2026" / "11" / "22"
    day.mkdir(parents=True)
    return day


@pytest.fixture
def copy_fixtures(sessions_day: Path, fixture_rollouts: list[Path]) -> list[Path]:
    out = []
    for f in fixture_rollouts:
        dst = sessions_day / f.name
        shutil.copy(f, dst)
        out.append(dst)
    return out


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    conn = await open_db(tmp_path / "state" / "memoryd.sqlite")
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.PgCluster]:
    """One throw-away PostgreSQL server for the whole run (tests/support/pg.py)."""
    bindir = pg.find_bindir()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin: "
            "apt-get install postgresql (.ci/run does)"
        )
    with pg.cluster(bindir) as c:
        yield c


@pytest.fixture
def pg_dsn(pg_cluster: pg.PgCluster) -> str:
    """The DSN of a new, empty database on the test server."""
    return pg_cluster.new_database()


@pytest.fixture(params=engines.ENGINES)
def state_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One state DB on each engine in turn: a SQLite path, or a PostgreSQL DSN (a new
    database on the test server). Open it with ``support.engines.open_target``."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_dsn"))
    return str(tmp_path / "s" / "memoryd.sqlite")
