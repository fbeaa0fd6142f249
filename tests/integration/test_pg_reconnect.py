"""A PostgreSQL connection lost under a transaction (the server cut it, as a restart or a
failover does): the transaction is replayed on a new connection and carries on when every
statement returns what it returned before, and fails in one line when the state changed."""

from __future__ import annotations

import psycopg
import pytest
from support.engines import open_target
from support.pgproxy import AFTER, BEFORE, pg_proxy

from memoryd.errors import StateDBError
from memoryd.store.db import immediate
from memoryd.store.engine import PgConnection, execute_last
from memoryd.store.jobs import UsageRow, insert_usage


def cut_connections(dsn: str) -> int:
    """Terminate every other session on the database, as a server shutdown does."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def set_retry(dsn: str, value: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE jobs SET retry_remaining = %s WHERE job_key = 'k'", (value,))


async def open_with_job(dsn: str) -> PgConnection:
    conn = await open_target(dsn)
    assert isinstance(conn, PgConnection)
    await conn.execute(
        "INSERT INTO jobs (kind, job_key, status, retry_remaining) VALUES ('t', 'k', 'pending', 3)"
    )
    return conn


async def test_a_transaction_whose_connection_was_cut_is_replayed_and_commits(
    pg_dsn: str,
) -> None:
    conn = await open_with_job(pg_dsn)
    try:
        async with immediate(conn) as c:
            (row,) = await c.execute_fetchall(
                "SELECT retry_remaining FROM jobs WHERE job_key = 'k' FOR UPDATE"
            )
            assert cut_connections(pg_dsn) >= 1
            await c.execute(
                "UPDATE jobs SET retry_remaining = ? WHERE job_key = 'k'", (row[0] - 1,)
            )
        # A statement outside a transaction finds its way to the server again, too.
        cut_connections(pg_dsn)
        rows = await conn.execute_fetchall("SELECT retry_remaining FROM jobs")
        assert rows == [(2,)]
    finally:
        await conn.close()


async def test_a_cut_transaction_whose_rows_changed_meanwhile_fails_in_one_line(
    pg_dsn: str,
) -> None:
    conn = await open_with_job(pg_dsn)
    try:
        with pytest.raises(StateDBError, match="lost mid-transaction") as e:
            async with immediate(conn) as c:
                await c.execute_fetchall("SELECT retry_remaining FROM jobs WHERE job_key = 'k'")
                cut_connections(pg_dsn)
                set_retry(pg_dsn, 7)  # another host wrote the row while we were away
                await c.execute("UPDATE jobs SET retry_remaining = 0 WHERE job_key = 'k'")
        assert "\n" not in str(e.value)
        # Nothing of the abandoned transaction landed.
        assert await conn.execute_fetchall("SELECT retry_remaining FROM jobs") == [(7,)]
    finally:
        await conn.close()


async def test_the_last_statement_commits_with_it_and_survives_a_cut(pg_dsn: str) -> None:
    conn = await open_with_job(pg_dsn)
    try:
        async with immediate(conn) as c:
            await c.execute_fetchall(
                "SELECT retry_remaining FROM jobs WHERE job_key = 'k' FOR UPDATE"
            )
            cut_connections(pg_dsn)
            n = await execute_last(c, "UPDATE jobs SET retry_remaining = 1 WHERE job_key = 'k'")
            # Committed with the statement: its locks are gone before the block ends.
            with psycopg.connect(pg_dsn) as other:
                row = other.execute(
                    "SELECT retry_remaining FROM jobs WHERE job_key = 'k' FOR UPDATE NOWAIT"
                ).fetchone()
            assert row == (1,)
        assert n == 1
    finally:
        await conn.close()


BOOKING = UsageRow("phase1", "openai", "m", 1200, 300, thread_id="t1")


def ledger_and_retries(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as c:
        (n,) = c.execute("SELECT count(*) FROM usage_ledger").fetchone() or (0,)
        (r,) = c.execute("SELECT retry_remaining FROM jobs WHERE job_key = 'k'").fetchone() or (0,)
    return int(n), int(r)


@pytest.mark.parametrize("how", [AFTER, BEFORE])
async def test_a_booking_whose_commit_lost_its_connection_is_booked_once(
    pg_dsn: str, how: str
) -> None:
    """AFTER: the server applied the COMMIT and only its reply was lost; replaying the
    insert would book the tokens twice. BEFORE: it never arrived, so it must be replayed."""
    with pg_proxy(pg_dsn) as proxy:
        conn = await open_with_job(proxy.dsn(pg_dsn))
        try:
            proxy.lose = how
            async with immediate(conn) as c:
                await c.execute("UPDATE jobs SET retry_remaining = retry_remaining - 1")
                await insert_usage(c, [BOOKING], 1)
            assert proxy.lost == 1
            assert ledger_and_retries(pg_dsn) == (1, 2)
        finally:
            await conn.close()


@pytest.mark.parametrize("how", [AFTER, BEFORE])
async def test_a_last_statement_whose_commit_lost_its_connection_runs_once(
    pg_dsn: str, how: str
) -> None:
    with pg_proxy(pg_dsn) as proxy:
        conn = await open_with_job(proxy.dsn(pg_dsn))
        try:
            proxy.lose = how
            async with immediate(conn) as c:
                await c.execute("UPDATE jobs SET retry_remaining = retry_remaining - 1")
                n = await execute_last(
                    c,
                    "INSERT INTO usage_ledger (at, phase, backend, model, input_tokens, "
                    "output_tokens) VALUES (1, 'phase2', 'openai', 'm', 10, 5)",
                )
            assert proxy.lost == 1
            assert ledger_and_retries(pg_dsn) == (1, 2)
            assert n == (-1 if how == AFTER else 1)  # the applied statement's reply was lost
        finally:
            await conn.close()
