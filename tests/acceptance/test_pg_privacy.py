"""Raw transcripts never leave their host (issue 18, point 3): after ``run --once`` on
PostgreSQL over rollouts that carry the planted secret corpus (tests/support/secret_corpus.py)
in their first user message and everywhere else, no planted secret and no first user message
is in any text column of any table of the shared database; only thread metadata and the
redacted stage-1 outputs (with what phase 2 made of them) are there. On SQLite, which never
leaves the machine, the threads keep their (redacted) previews as before."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
from support import pg
from support.daemon import daemon_env, short_dir
from support.rollouts import write_idle_rollouts
from support.secret_corpus import leaks, plant

from memoryd.redact import redact
from memoryd.store.threads import SHARED_PREVIEW

DSN_ENV = "MEMORYD_TEST_PG_DSN"
CONFIG = """\
[phase1]
min_rollout_idle_hours = 0
max_rollout_age_days = 36500
allowed_sources = ["cli", "vscode", "exec"]
"""
# Tables that hold the redacted stage-1 outputs, or phase 2's record of them: meant to be shared.
OUTPUT_TABLES = {"stage1_outputs", "phase2_selection"}


def _first_user_text(path: Path) -> str:
    for line in path.read_text().splitlines():
        p = json.loads(line).get("payload", {})
        if p.get("type") == "message" and p.get("role") == "user":
            text = p["content"][0].get("text", "")
            if text and not text.startswith("<"):
                return str(text)
    raise AssertionError(f"no user message in {path}")


def _home(base: Path, state: str) -> tuple[dict[str, str], list[str]]:
    """A CODEX_HOME with three idle rollouts, the secret corpus planted in each (the session
    metadata, so the first user message and the git remote, too); their first user messages."""
    env = daemon_env(base)
    cfg = base / "cfg" / "memoryd" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(CONFIG + state)
    firsts = []
    for path in write_idle_rollouts(base / "codex" / "sessions", 3).values():
        plant(path, first=True)
        firsts.append(_first_user_text(path))
    return env, firsts


def _run_once(env: dict[str, str]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "memoryd", "run", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "phase 1: 3 extracted: 3 memories" in r.stdout


def _text_columns(dsn: str) -> dict[str, list[str]]:
    """table.column -> every value of every text column of every table."""
    out: dict[str, list[str]] = {}
    with psycopg.connect(dsn) as conn:
        cols = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')"
        ).fetchall()
        assert cols
        for table, column in cols:
            rows = conn.execute(f'SELECT "{column}" FROM "{table}"').fetchall()
            out[f"{table}.{column}"] = [str(v) for (v,) in rows if v is not None]
    return out


def test_no_secret_and_no_first_message_reaches_the_shared_database(
    pg_cluster: pg.PgCluster, pg_dsn: str
) -> None:
    with short_dir() as base:
        env, firsts = _home(base, f'[state]\nbackend = "postgres"\ndsn_env = "{DSN_ENV}"\n')
        env[DSN_ENV] = pg_dsn
        _run_once(env)
    columns = _text_columns(pg_dsn)
    assert sum(len(v) for v in columns.values()) > 0
    # No planted secret anywhere, not even redacted outputs' sources.
    assert leaks([(name, "\n".join(values)) for name, values in columns.items()]) == []
    # No first user message, raw or as the indexer's redacted preview, outside the outputs.
    for first in firsts:
        opening = redact(first)[:40]
        for name, values in columns.items():
            assert not any(first in v for v in values), f"a first user message in {name}"
            if name.split(".")[0] not in OUTPUT_TABLES:
                assert not any(opening in v for v in values), f"{opening!r} in {name}"
    # The threads are there (their metadata is shared), with the preview kept on the host.
    assert sorted(columns["threads.preview"]) == [SHARED_PREVIEW] * 3
    # run --once registered its host (status and doctor list it).
    assert columns["hosts.hostname"] == [socket.gethostname()]


def test_sqlite_keeps_the_redacted_previews() -> None:
    """The same rollouts on SQLite: nothing changes there (the state never leaves the host)."""
    with short_dir() as base:
        env, firsts = _home(base, "")
        _run_once(env)
        con = sqlite3.connect(base / "state" / "memoryd.sqlite")
        try:
            previews = sorted(str(p) for (p,) in con.execute("SELECT preview FROM threads"))
        finally:
            con.close()
    assert len(previews) == 3
    for p in previews:
        assert p and any(redact(f).startswith(p) for f in firsts), p
