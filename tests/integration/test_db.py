"""State DB: private files, WAL, the SPEC's tables and columns, idempotent migrations."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memoryd.errors import StateDBError
from memoryd.store.db import migrations, open_db, split_statements

SPEC_COLUMNS = {
    "threads": {
        "id",
        "rollout_path",
        "source",
        "thread_source",
        "cwd",
        "git_branch",
        "git_sha",
        "git_origin_url",
        "cli_version",
        "created_at",
        "updated_at",
        "preview",
        "archived",
        "memory_mode_at_start",
        "memory_mode",
        "file_size",
        "file_mtime_ns",
        "parsed_offset",
        "first_line_sha256",
    },
    "jobs": {
        "kind",
        "job_key",
        "status",
        "worker_id",
        "ownership_token",
        "started_at",
        "finished_at",
        "lease_until",
        "retry_at",
        "retry_remaining",
        "last_error",
        "input_watermark",
        "last_success_watermark",
    },
    "stage1_outputs": {
        "thread_id",
        "source_updated_at",
        "raw_memory",
        "rollout_summary",
        "rollout_slug",
        "generated_at",
        "usage_count",
        "last_usage",
        "selected_for_phase2",
        "selected_for_phase2_source_updated_at",
        "rollout_path",
        "input_sha256",
        "backend",
        "model",
        "input_tokens",
        "output_tokens",
    },
    "phase2_runs": {
        "run_id",
        "started_at",
        "finished_at",
        "outcome",
        "inputs_added",
        "inputs_retained",
        "inputs_removed",
        "history_commit",
        "input_tokens",
        "output_tokens",
    },
    "usage_ledger": {
        "at",
        "phase",
        "backend",
        "model",
        "input_tokens",
        "output_tokens",
        "cost_estimate",
    },
}


async def test_new_db_is_private_wal_and_has_the_spec_schema(tmp_path: Path) -> None:
    state = tmp_path / "state"
    conn = await open_db(state / "memoryd.sqlite")
    try:
        async with conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone()) == ("wal",)
        async with conn.execute("PRAGMA busy_timeout") as cur:
            row = await cur.fetchone()
            assert row is not None and row[0] >= 1000
        for table, cols in SPEC_COLUMNS.items():
            async with conn.execute(f"PRAGMA table_info({table})") as cur:
                have = {r[1] for r in await cur.fetchall()}
            assert cols <= have, (table, cols - have)
        async with conn.execute("PRAGMA index_list(jobs)") as cur:
            names = {r[1] for r in await cur.fetchall()}
        assert "jobs_kind_status" in names
        async with conn.execute("PRAGMA index_info(jobs_kind_status)") as cur:
            assert [r[2] for r in await cur.fetchall()] == [
                "kind",
                "status",
                "retry_at",
                "lease_until",
            ]
    finally:
        await conn.close()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "memoryd.sqlite").stat().st_mode) == 0o600


async def test_existing_loose_permissions_are_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    (state / "memoryd.sqlite").touch(mode=0o644)
    (state / "memoryd.sqlite").chmod(0o644)
    conn = await open_db(state / "memoryd.sqlite")
    await conn.close()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "memoryd.sqlite").stat().st_mode) == 0o600


async def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "s" / "memoryd.sqlite"
    conn = await open_db(path)
    await conn.execute(
        "INSERT INTO jobs (kind, job_key, status, retry_remaining) VALUES ('k', 'j', 'done', 3)"
    )
    await conn.close()
    for _ in range(2):
        conn = await open_db(path)
        async with conn.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone()) == (max(v for v, _, _ in migrations()),)
        async with conn.execute("SELECT count(*) FROM jobs") as cur:
            assert (await cur.fetchone()) == (1,)
        await conn.close()


@pytest.mark.acceptance  # starts other processes
def test_two_processes_opening_a_new_db_at_once_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "s" / "memoryd.sqlite"
    go = tmp_path / "go"
    code = (
        "import anyio, os, sys, time\n"
        "from pathlib import Path\n"
        "from memoryd.store.db import open_db\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        "async def main():\n"
        f"    c = await open_db(Path({str(path)!r}))\n"
        "    await c.close()\n"
        "anyio.run(main)\n"
        "print('ok')\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    try:
        time.sleep(0.5)  # let all four reach the starting line
        go.touch()
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            assert out.strip() == "ok"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    db = sqlite3.connect(path)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"threads", "jobs", "stage1_outputs", "phase2_runs", "usage_ledger"} <= tables
    finally:
        db.close()


async def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "memoryd.sqlite"
    junk = b"this is not a database" * 100
    path.write_bytes(junk)
    with pytest.raises(StateDBError, match=r"is unusable: file is not a database"):
        await open_db(path)
    assert path.read_bytes() == junk


def test_split_statements_splits_on_statement_ends_and_rejects_unterminated() -> None:
    sql = "-- c\nCREATE TABLE a (x TEXT);\n-- note; with a semicolon\nCREATE INDEX i ON a (x);\n"
    stmts = split_statements(sql)
    assert len(stmts) == 2
    db = sqlite3.connect(":memory:")
    for s in stmts:
        db.execute(s)
    assert db.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall() == [("a",), ("i",)]
    db.close()
    with pytest.raises(StateDBError, match="unterminated"):
        split_statements("CREATE TABLE a (x TEXT)")


def test_every_bundled_migration_splits_cleanly() -> None:
    for _version, _name, sql in migrations():
        assert split_statements(sql)
    assert os.path.basename(migrations()[0][1]) == "0001_init.sql"


async def test_a_transaction_cancelled_while_waiting_for_the_lock_leaves_the_connection_usable(
    tmp_path: Path,
) -> None:
    import anyio

    from memoryd.store.db import immediate

    path = tmp_path / "s" / "memoryd.sqlite"
    conn = await open_db(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with anyio.move_on_after(0.3) as scope:
            async with immediate(conn) as c:
                await c.execute(
                    "INSERT INTO index_problems (path, reason, first_seen, last_seen) "
                    "VALUES ('x', 'r', 1, 1)"
                )
        assert scope.cancelled_caught
        blocker.execute("ROLLBACK")
        async with immediate(conn) as c:  # used to fail: "cannot start a transaction within..."
            await c.execute(
                "INSERT INTO index_problems (path, reason, first_seen, last_seen) "
                "VALUES ('y', 'r', 1, 1)"
            )
        rows = list(await conn.execute_fetchall("SELECT path FROM index_problems"))
        assert rows == [("y",)]
    finally:
        blocker.close()
        await conn.close()
