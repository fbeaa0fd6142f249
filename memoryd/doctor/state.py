"""Checks of the state: the SQLite file (read only: integrity, schema, mode), or on PostgreSQL
the DSN, the server, the schema and the hosts' clocks; and today's token budget."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import anyio

from memoryd import clock
from memoryd.budget import budget_status
from memoryd.config import Config, Settings
from memoryd.doctor.check import Check, fail, not_private, ok, warn
from memoryd.errors import ConfigError, StateDBError
from memoryd.store.db import migrations
from memoryd.store.hosts import (
    STALE_AFTER_DAYS,
    ServerProbe,
    inspect_pg,
    is_stale,
    probe_server,
)


def _ro_uri(path: Path) -> str:
    return path.as_uri() + "?mode=ro"


def check_state_db(settings: Settings) -> Check:
    path = settings.paths.db_path
    try:
        st = path.stat()
    except FileNotFoundError:
        return warn(
            "state_db",
            f"{path} does not exist yet",
            "it is created on the first run: memoryd run --once",
        )
    except OSError as e:
        return fail(
            "state_db", f"cannot read {path}: {e.strerror}", f"check the permissions of {path}"
        )
    try:
        conn = sqlite3.connect(_ro_uri(path), uri=True, timeout=5)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        return fail(
            "state_db",
            f"{path} cannot be read as a SQLite database: {e}",
            f"stop the daemon and move it aside (mv {path} {path}.broken); the next run "
            "builds a new one from the rollouts and extracts them again",
        )
    problems = [str(r[0]) for r in rows if r[0] != "ok"]
    if problems:
        return fail(
            "state_db",
            f"{path} fails PRAGMA integrity_check: {'; '.join(problems[:3])}",
            f"stop the daemon; try `sqlite3 {path} .recover | sqlite3 {path}.new`, or move it "
            "aside so the next run rebuilds it",
        )
    newest = migrations()[-1][0]
    if version > newest:
        return warn(
            "state_db",
            f"{path} has schema version {version}, newer than this memoryd knows ({newest})",
            "upgrade memoryd: an older one cannot use this DB",
        )
    problem = not_private(st)
    if problem:
        return warn(
            "state_db",
            f"{path} passes the integrity check but is {problem}",
            f"chmod 600 {path}",
        )
    return ok("state_db", f"{path} passes the integrity check (schema version {version})")


# The oldest PostgreSQL memoryd supports (still maintained upstream); the claims need
# FOR UPDATE SKIP LOCKED (9.5) and transaction-scoped advisory locks (9.1), which it has.
PG_MIN_VERSION = 13


CLOCK_SKEW_WARN_MS = 5000


def _pg_version(num: int) -> str:
    return f"{num // 10000}.{num % 10000}"


def check_state(settings: Settings) -> list[Check]:
    """The state DB line(s): the SQLite file, or on PostgreSQL the DSN variable, the server
    (reachable, its version), the schema version and the hosts' clocks."""
    if settings.config.state.backend != "postgres":
        return [check_state_db(settings)]
    name = settings.config.state.dsn_env
    try:
        probe = anyio.run(_probe, settings)
    except ConfigError as e:
        return [fail("pg_dsn", e.problem, f"export {name}=postgresql://user@host/db")]
    except StateDBError as e:
        return [
            ok("pg_dsn", f"the DSN is in ${name}"),
            fail(
                "pg_server",
                f"cannot connect to the PostgreSQL server in ${name}: {e}",
                f"check the server is up and that ${name} names its host, port, user and database",
            ),
        ]
    return [
        ok("pg_dsn", f"the DSN is in ${name}"),
        _check_pg_server(probe),
        _check_pg_schema(probe),
        _check_clock_skew(probe),
    ]


async def _probe(settings: Settings) -> ServerProbe:
    async with inspect_pg(settings) as conn:
        return await probe_server(conn)


def _check_pg_server(p: ServerProbe) -> Check:
    have = _pg_version(p.server_version)
    if p.server_version < PG_MIN_VERSION * 10000:
        return fail(
            "pg_server",
            f"PostgreSQL {have} answers, but memoryd needs {PG_MIN_VERSION} or newer (its "
            "claims use FOR UPDATE SKIP LOCKED and transaction-scoped advisory locks)",
            f"upgrade the server to PostgreSQL {PG_MIN_VERSION} or newer",
        )
    return ok(
        "pg_server",
        f"PostgreSQL {have} answers (>= {PG_MIN_VERSION}: FOR UPDATE SKIP LOCKED and advisory "
        "locks for the claims)",
    )


def _check_pg_schema(p: ServerProbe) -> Check:
    newest = migrations()[-1][0]
    if p.schema_version is None:
        return warn(
            "pg_schema",
            "the database holds no memoryd schema yet",
            "it is created on the first start: memoryd run --once, or start the daemon",
        )
    if p.schema_version > newest:
        return fail(
            "pg_schema",
            f"schema version {p.schema_version} is newer than this memoryd knows ({newest}): "
            "another host runs a newer memoryd",
            "upgrade memoryd on this host to the version the other hosts run",
        )
    if p.schema_version < newest:
        return warn(
            "pg_schema",
            f"schema version {p.schema_version}, older than this memoryd's ({newest})",
            "start this memoryd (it migrates the database); upgrade the other hosts too",
        )
    return ok("pg_schema", f"schema version {p.schema_version} (the bundled migrations)")


def _check_clock_skew(p: ServerProbe) -> Check:
    """Each host's clock against the server's (measured at its last heartbeat) and this
    machine's now: leases and retry times are compared across hosts, so clocks must agree. A
    stale host (no heartbeat for ``STALE_AFTER_DAYS``) is left out: its offset is a week old
    and it takes no leases, so it is no clock to synchronise but a host to forget."""
    offsets: list[tuple[str, int]] = []
    stale: list[str] = []
    for h, n, seen, o in p.hosts:
        # idle by the server's clock: its last heartbeat (the host's clock) less its offset
        if is_stale(p.now_ms - (seen - o)):
            stale.append(f"{n} ({h[:8]})")
        else:
            offsets.append((f"{n} ({h[:8]})", o))
    live = len(offsets)
    offsets.append(("this machine", clock.now_ms() - p.now_ms))
    worst, off = max(offsets, key=lambda x: abs(x[1]))
    spread = max(o for _, o in offsets) - min(o for _, o in offsets)
    detail = f"{live} host(s); most off: {worst}, {off / 1000:+.1f} s"
    if stale:
        detail += (
            f"; left out, not seen for {STALE_AFTER_DAYS} days or more: {', '.join(stale)}"
            " (`memoryd hosts forget` removes a machine that is gone)"
        )
    if abs(off) > CLOCK_SKEW_WARN_MS or spread > CLOCK_SKEW_WARN_MS:
        return warn(
            "clock_skew",
            f"clocks disagree with the server's by more than {CLOCK_SKEW_WARN_MS // 1000} s "
            f"({detail}, spread {spread / 1000:.1f} s): leases and retry times are compared "
            "across hosts",
            f"synchronise the clock of {worst} (NTP: timedatectl set-ntp true)",
        )
    return ok(
        "clock_skew", f"clocks agree with the server's within {spread / 1000:.1f} s ({detail})"
    )


async def _budget(path: Path, cfg: Config) -> Any:
    async with aiosqlite.connect(_ro_uri(path), uri=True) as conn:
        return await budget_status(conn, cfg, now_s=int(clock.now_s()))


async def _pg_budget(settings: Settings) -> Any:
    """Today's spending from the shared ledger (every host's); None before the schema."""
    async with inspect_pg(settings) as conn:
        if (await probe_server(conn)).schema_version is None:
            return None
        return await budget_status(conn, settings.config, now_s=int(clock.now_s()))


def check_budget(settings: Settings) -> Check:
    cfg = settings.config
    path = settings.paths.db_path
    limit = cfg.budget.daily_tokens
    if cfg.state.backend == "postgres":
        try:
            b = anyio.run(_pg_budget, settings)
        except (ConfigError, StateDBError) as e:
            return warn("budget", f"cannot read the usage ledger: {e}", "see the pg_ lines")
        if b is None:
            return ok("budget", "no model calls recorded yet")
    elif not path.exists():
        return ok("budget", "no model calls recorded yet")
    else:
        try:
            b = anyio.run(_budget, path, cfg)
        except (sqlite3.Error, OSError) as e:
            return warn("budget", f"cannot read the usage ledger: {e}", "see the state_db line")
    limit_text = f"of {limit:,}" if limit else "(no daily limit)"
    if b.exhausted:
        reset = datetime.fromtimestamp(b.reset_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return warn(
            "budget",
            f"today's budget is spent: {b.spent_today:,} tokens {limit_text}; model calls wait "
            f"until {reset}",
            "wait for the reset, or raise budget.daily_tokens and reload (systemctl --user "
            "reload memoryd, or SIGHUP)",
        )
    return ok("budget", f"{b.spent_today:,} tokens used today {limit_text}")
