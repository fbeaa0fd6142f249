"""The hosts sharing a PostgreSQL state (store/hosts.py): registered by the heartbeat, listed
by ``status`` with their running jobs, and ``doctor``'s checks of the DSN, the server, the
schema version and the hosts' clocks, on a real server. SQLite keeps its one host, unlisted."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from support import pg

from memoryd import __version__, clock, doctor
from memoryd.config import Config, Settings, StateConfig, resolve_paths
from memoryd.control import commands, render
from memoryd.control.results import StatusResult
from memoryd.doctor.check import Check
from memoryd.doctor.state import check_budget, check_state
from memoryd.store import hosts
from memoryd.store.db import migrations, open_db, open_state
from memoryd.store.engine import PgConnection
from memoryd.store.jobs import UsageRow, insert_usage

DSN_ENV = "MEMORYD_TEST_PG_DSN"


def pg_settings(tmp_path: Path) -> Settings:
    cfg = Config(state=StateConfig(backend="postgres", dsn_env=DSN_ENV))
    return Settings(cfg, "<test>", resolve_paths(cfg, {"HOME": str(tmp_path)}))


def lite_settings(tmp_path: Path) -> Settings:
    cfg = Config()
    return Settings(cfg, "<test>", resolve_paths(cfg, {"HOME": str(tmp_path)}))


async def _touch(conn: Any, now_ms: int, hostname: str = "laptop") -> bool:
    return await hosts.touch_host(
        conn, started_at_ms=now_ms - 60_000, now_ms=now_ms, hostname=hostname
    )


async def _status(settings: Settings) -> dict[str, Any]:
    out: list[Any] = []
    await commands.run_local(settings, "status", {}, out.append)
    assert len(out) == 1
    return dict(out[0])


async def test_status_lists_each_host_with_its_running_jobs(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, pg_dsn)
    settings = pg_settings(tmp_path)
    conn = await open_state(settings)
    try:
        assert isinstance(conn, PgConnection)
        now = clock.now_ms()
        assert await _touch(conn, now)
        # A second host (its own state dir, so its own host id) on the same database.
        other = await open_state(pg_settings(tmp_path / "other"))
        try:
            assert isinstance(other, PgConnection)
            assert await _touch(other, now - 30_000, hostname="devbox")
            await other.execute(
                "INSERT INTO threads (id, rollout_path, created_at, updated_at, host_id) "
                "VALUES ('t-dev', '/r/t-dev', 1, 1, ?)",
                (other.host_id,),
            )
        finally:
            await other.close()
        await conn.execute(
            "INSERT INTO jobs (kind, job_key, status, worker_id, retry_remaining) "
            "VALUES ('memory_stage1', 't-dev', 'running', 'devbox:1:x', 3), "
            "('memory_consolidate_global', 'global', 'running', 'laptop:2:y', 3)"
        )
        # A later heartbeat moves last_seen and keeps the row (one per host).
        assert await _touch(conn, now + 15_000)
    finally:
        await conn.close()

    data = await _status(settings)
    listed = {h["hostname"]: h for h in data["hosts"]}
    assert sorted(listed) == ["devbox", "laptop"]
    assert listed["laptop"]["last_seen"] == now + 15_000
    assert listed["laptop"]["running"] == 1  # the phase-2 lock
    assert listed["devbox"]["running"] == 1  # the extraction of its own thread
    assert listed["devbox"]["version"] == __version__
    lines = render.status(msgspec.convert(data, StatusResult))
    assert "hosts: 2" in lines
    devbox = next(ln for ln in lines if ln.strip().startswith("devbox"))
    assert f"memoryd {__version__}" in devbox and "1 running" in devbox
    assert "ago" in devbox  # last seen half a minute before now


async def test_sqlite_status_is_unchanged_and_writes_no_host(tmp_path: Path) -> None:
    settings = lite_settings(tmp_path)
    conn = await open_db(settings.paths.db_path)
    try:
        assert not await _touch(conn, clock.now_ms())
        assert await conn.execute_fetchall("SELECT count(*) FROM hosts") == [(0,)]
    finally:
        await conn.close()
    data = await _status(settings)
    assert "hosts" not in data  # the --json of SQLite gains no key
    lines = render.status(msgspec.convert(data, StatusResult))
    assert not any(ln.startswith("hosts") for ln in lines)


DAY_MS = 86_400_000


async def _host(base: Path, name: str, *, days_ago: float = 0, ahead_ms: int = 0) -> str:
    """Register another host (its own state dir, so its own host id) named ``name``, whose
    last heartbeat was ``days_ago`` days ago by the server's clock and whose clock then ran
    ``ahead_ms`` ahead of the server's; its id."""
    other = await open_state(pg_settings(base / name / str(len(list(base.glob(f"{name}/*"))))))
    try:
        assert isinstance(other, PgConnection)
        assert await _touch(other, clock.now_ms() + ahead_ms, hostname=name)
        # Its offset is measured at the heartbeat: the heartbeat itself was long ago.
        await other.execute(
            "UPDATE hosts SET last_seen = last_seen - ? WHERE host_id = ?",
            (int(days_ago * DAY_MS), other.host_id),
        )
        return other.host_id
    finally:
        await other.close()


async def _hosts_cmd(settings: Settings, **args: str) -> dict[str, Any]:
    out: list[Any] = []
    await commands.run_local(settings, "hosts", args, out.append)
    return dict(out[0])


async def _refused(settings: Settings, host: str) -> tuple[str, str]:
    with pytest.raises(commands.CommandError) as e:
        await _hosts_cmd(settings, action="forget", host=host)
    assert "\n" not in str(e.value)
    return e.value.code, str(e.value)


async def test_status_marks_a_host_not_seen_for_a_week_as_stale(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, pg_dsn)
    settings = pg_settings(tmp_path)
    conn = await open_state(settings)
    try:
        assert await _touch(conn, clock.now_ms())
    finally:
        await conn.close()
    gone = await _host(tmp_path, "oldbox", days_ago=hosts.STALE_AFTER_DAYS + 1)
    await _host(tmp_path, "weekend", days_ago=hosts.STALE_AFTER_DAYS - 1)

    data = await _status(settings)
    assert {h["hostname"]: h["stale"] for h in data["hosts"]} == {
        "laptop": False,
        "oldbox": True,
        "weekend": False,
    }
    lines = render.status(msgspec.convert(data, StatusResult))
    assert "hosts: 3 (1 stale: not seen for 7 days or more)" in lines
    (old,) = [ln for ln in lines if ln.startswith("  oldbox ")]
    assert "(8d0h ago)" in old or "(7d23h ago)" in old
    assert old.endswith(f"; stale: `memoryd hosts forget {gone[:8]}` removes it")
    (recent,) = [ln for ln in lines if ln.startswith("  weekend ")]
    assert "stale" not in recent


async def test_hosts_forget_removes_a_gone_host_and_keeps_its_memories(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, pg_dsn)
    settings = pg_settings(tmp_path)
    conn = await open_state(settings)
    try:
        assert isinstance(conn, PgConnection)
        me = conn.host_id
        assert await _touch(conn, clock.now_ms())
        gone = await _host(tmp_path, "oldbox", days_ago=30)
        await conn.execute(
            "INSERT INTO threads (id, rollout_path, created_at, updated_at, host_id) "
            "VALUES ('t-old', '/r/t-old', 1, 1, ?)",
            (gone,),
        )
        await conn.execute(
            "INSERT INTO stage1_outputs (thread_id, source_updated_at, raw_memory, "
            "rollout_summary, generated_at) VALUES ('t-old', 1, 'a memory', 'a summary', 1)"
        )
        twins = [await _host(tmp_path, "twin", days_ago=9) for _ in range(2)]
        await _host(tmp_path, "devbox")  # its heartbeat came just now: it runs

        done = await _hosts_cmd(settings, action="forget", host="oldbox")
        assert done["forgotten"]["host_id"] == gone
        assert sorted(h["hostname"] for h in done["hosts"]) == ["devbox", "laptop", "twin", "twin"]
        text = commands.COMMANDS["hosts"].render(commands.COMMANDS["hosts"].decode(done))
        assert text[0].startswith(f"forgot host oldbox ({gone[:8]}), last seen ")
        assert text[0].endswith(
            "no longer listed; the memories of its sessions stay, and it is listed again if "
            "it starts"
        )
        assert text[1] == "hosts: 4 (2 stale: not seen for 7 days or more)"
        # Only its row: its sessions and the memory extracted from them stay.
        assert await conn.execute_fetchall("SELECT host_id FROM threads") == [(gone,)]
        assert await conn.execute_fetchall("SELECT count(*) FROM stage1_outputs") == [(1,)]

        code, why = await _refused(settings, "twin")
        assert code == "bad_request"
        first, second = sorted(twins)
        assert why == (
            f"'twin' fits 2 hosts: twin ({first[:8]}), twin ({second[:8]}); "
            "name one by more of its id"
        )
        # By the start of its id, one of the two goes.
        done = await _hosts_cmd(settings, action="forget", host=twins[1][:6].upper())
        assert done["forgotten"]["host_id"] == twins[1]
        assert [h["host_id"] for h in done["hosts"] if h["hostname"] == "twin"] == [twins[0]]

        code, why = await _refused(settings, "laptop")
        assert code == "failed"
        assert why == (
            f"laptop ({me[:8]}) is this host (its state dir's host_id): a host forgets only "
            "other hosts"
        )
        code, why = await _refused(settings, "devbox")
        assert code == "failed"
        assert why.startswith("devbox (") and "s ago: its memoryd runs and would list it" in why
        assert why.endswith("stop memoryd there first")
        code, why = await _refused(settings, "nosuch")
        assert code == "not_found"
        assert why == (
            "no host is named 'nosuch' or has an id starting with it (`memoryd hosts` lists them)"
        )
        code, why = await _refused(settings, "  ")
        assert (code, why) == ("failed", "name the host to forget: its name or the start of its id")
        listed = await _hosts_cmd(settings)
        assert sorted(h["hostname"] for h in listed["hosts"]) == ["devbox", "laptop", "twin"]

        # A forgotten host that does start again registers again.
        back = await open_state(pg_settings(tmp_path / "oldbox" / "0"))
        try:
            assert await _touch(back, clock.now_ms(), hostname="oldbox")
        finally:
            await back.close()
        listed = await _hosts_cmd(settings)
        assert "oldbox" in [h["hostname"] for h in listed["hosts"]]
    finally:
        await conn.close()


async def test_hosts_on_sqlite_is_this_one_and_forgets_nothing(tmp_path: Path) -> None:
    settings = lite_settings(tmp_path)
    listed = await _hosts_cmd(settings)
    assert "hosts" not in listed and "forgotten" not in listed
    assert commands.COMMANDS["hosts"].render(commands.COMMANDS["hosts"].decode(listed)) == [
        "one host, this one: the state is a SQLite file (hosts share a state on PostgreSQL)"
    ]
    code, why = await _refused(settings, "laptop")
    assert code == "failed"
    assert why == (
        "there is no other host to forget: the state is a SQLite file only this host uses "
        '(hosts share a state with [state] backend = "postgres")'
    )
    with pytest.raises(commands.CommandError, match="hosts forget needs the host") as e:
        await _hosts_cmd(settings, action="forget")
    assert e.value.code == "bad_request"


def _state_checks(settings: Settings) -> dict[str, Check]:
    out = {c.check: c for c in check_state(settings)}
    for c in out.values():
        assert "\n" not in doctor.format_line(c)
    return out


async def _checks_in_thread(settings: Settings) -> dict[str, Check]:
    """Doctor is synchronous (it runs its own event loop): from an async test, in a thread."""
    return await anyio.to_thread.run_sync(_state_checks, settings)


def test_doctor_without_the_dsn_variable_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DSN_ENV, raising=False)
    checks = _state_checks(pg_settings(tmp_path))
    assert list(checks) == ["pg_dsn"]
    c = checks["pg_dsn"]
    assert c.status == "fail"
    assert f"environment variable {DSN_ENV} is not set" in c.message
    assert f"export {DSN_ENV}=" in c.fix


def test_doctor_reports_an_unreachable_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(DSN_ENV, f"postgresql://memoryd@127.0.0.1:{port}/memoryd")
    checks = _state_checks(pg_settings(tmp_path))
    assert checks["pg_dsn"].status == "ok"
    c = checks["pg_server"]
    assert c.status == "fail"
    assert c.message.startswith(f"cannot connect to the PostgreSQL server in ${DSN_ENV}: ")
    assert "refused" in c.message
    assert "pg_schema" not in checks


async def test_doctor_checks_server_and_schema_versions(
    tmp_path: Path, pg_cluster: pg.PgCluster, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, pg_dsn)
    settings = pg_settings(tmp_path)
    checks = await _checks_in_thread(settings)
    major = pg_cluster.psql("SHOW server_version_num")[:2]
    assert checks["pg_server"].status == "ok"
    assert f"PostgreSQL {int(major)}." in checks["pg_server"].message
    assert "SKIP LOCKED" in checks["pg_server"].message
    assert checks["pg_schema"].status == "warn"  # nothing has started on this database yet
    assert "no memoryd schema yet" in checks["pg_schema"].message
    assert not (settings.paths.state_dir / "host_id").exists()  # doctor makes nothing

    conn = await open_state(settings)
    await conn.close()
    newest = migrations()[-1][0]
    checks = await _checks_in_thread(settings)
    assert checks["pg_schema"].status == "ok"
    assert f"schema version {newest} " in checks["pg_schema"].message

    dbname = pg_dsn.rsplit("/", 1)[1]
    pg_cluster.psql(f"INSERT INTO memoryd_schema VALUES ({newest + 1})", dbname)
    c = (await _checks_in_thread(settings))["pg_schema"]
    assert c.status == "fail"
    assert f"schema version {newest + 1} is newer than this memoryd knows ({newest})" in c.message


async def test_doctor_warns_of_a_host_whose_clock_is_off(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, pg_dsn)
    settings = pg_settings(tmp_path)
    conn = await open_state(settings)
    try:
        assert await _touch(conn, clock.now_ms())
        assert (await _checks_in_thread(settings))["clock_skew"].status == "ok"
        # The same heartbeat from a host whose clock runs 9 s ahead of the server's.
        other = await open_state(pg_settings(tmp_path / "other"))
        try:
            assert await _touch(other, clock.now_ms() + 9_000, hostname="skewed")
        finally:
            await other.close()
    finally:
        await conn.close()
    c = (await _checks_in_thread(settings))["clock_skew"]
    assert c.status == "warn"
    assert "more than 5 s" in c.message
    assert "most off: skewed (" in c.message
    assert "+9." in c.message or "+8." in c.message  # the offset, give or take the run time
    assert "synchronise the clock of skewed" in c.fix


async def test_doctor_leaves_a_stale_hosts_old_clock_out_and_names_it(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, pg_dsn)
    settings = pg_settings(tmp_path)
    conn = await open_state(settings)
    try:
        assert await _touch(conn, clock.now_ms())
    finally:
        await conn.close()
    # A machine gone for eight days whose clock ran 9 s ahead at its last heartbeat.
    gone = await _host(tmp_path, "oldbox", days_ago=hosts.STALE_AFTER_DAYS + 1, ahead_ms=9_000)
    c = (await _checks_in_thread(settings))["clock_skew"]
    assert c.status == "ok"
    assert "(1 host(s); most off: " in c.message and "most off: oldbox" not in c.message
    assert f"left out, not seen for 7 days or more: oldbox ({gone[:8]})" in c.message
    assert "`memoryd hosts forget` removes a machine that is gone" in c.message


def test_doctor_on_sqlite_keeps_its_one_state_db_line(tmp_path: Path) -> None:
    assert [c.check for c in check_state(lite_settings(tmp_path))] == ["state_db"]


async def test_doctor_reads_todays_spending_from_the_shared_ledger(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, pg_dsn)
    settings = pg_settings(tmp_path)
    assert "no model calls recorded yet" in (await _budget_line(settings)).message
    conn = await open_state(settings)
    try:
        await insert_usage(conn, [UsageRow("phase1", "openai", "m", 1200, 34)], clock.now_ms())
    finally:
        await conn.close()
    c = await _budget_line(settings)
    assert c.status == "ok"
    assert c.message.startswith("1,234 tokens used today")


async def _budget_line(settings: Settings) -> Check:
    return await anyio.to_thread.run_sync(check_budget, settings)
