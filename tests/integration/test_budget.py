"""Token budgets (SPEC §5): a real state DB, real rollouts, the openai backends against a
loopback Responses server that reports a known usage per call, and a fake clock that crosses
00:00 UTC, when the daily budget resets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import msgspec
import pytest
from structlog.testing import capture_logs
from support.daemon import KEY_ENV
from support.fault_world import api_key_fixture, indexed_db  # noqa: F401
from support.responses_server import ReceivedRequest, Reply, ResponsesServer, function_call_item

from memoryd import clock
from memoryd.budget import Budget, budget_status, day_window
from memoryd.config import Config
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.consolidate.openai import OpenAIConsolidator
from memoryd.demo import install_examples
from memoryd.extract.offline import OfflineExtractor
from memoryd.extract.openai import OpenAIExtractor
from memoryd.phase1 import Phase1, Phase1Stats
from memoryd.phase2 import Consolidator
from memoryd.rollouts.indexer import Indexer
from memoryd.store import jobs

GOOD_REPLY = (
    '{"rollout_summary": "# Ran the tests", "rollout_slug": "ran-tests", '
    '"raw_memory": "---\\ndescription: ran tests\\n---\\n### Task 1\\nuse uv"}'
)
CALL = Reply(text=GOOD_REPLY, input_tokens=95, output_tokens=5)  # 100 tokens a call
COPIES = 2  # each bundled rollout is installed this many times: 3 * COPIES threads


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    """A clock one second before the next 00:00 UTC, when the daily budget resets."""
    _, reset_at = day_window(int(time.time()))
    fake = clock.FakeClock(now_ms=reset_at * 1000 - 1000)
    clock.set_clock(fake)
    try:
        yield fake
    finally:
        clock.set_clock(clock.SystemClock())


def install_threads(sessions: Path) -> None:
    """The bundled rollouts, each also under COPIES - 1 other thread ids."""
    for path in install_examples(sessions):
        tid = path.name[-len("01a2013d-497f-71f0-81b9-4c6d2314a10b.jsonl") : -len(".jsonl")]
        st = path.stat()
        for k in range(1, COPIES):
            other = tid[:-4] + f"{k:04x}"
            copy = path.with_name(path.name.replace(tid, other))
            copy.write_bytes(path.read_bytes().replace(tid.encode(), other.encode()))
            os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture
async def conn(tmp_path: Path, fake_clock: clock.FakeClock) -> AsyncIterator[aiosqlite.Connection]:
    home = tmp_path / "codex"
    install_threads(home / "sessions")
    async with indexed_db(tmp_path / "state" / "memoryd.sqlite", home) as c:
        yield c


def config(url: str = "http://127.0.0.1:9/v1", **budget: Any) -> Config:
    """openai for both phases against ``url``, one model call at a time, this ``[budget]``."""
    data = msgspec.to_builtins(Config())
    data["phase1"].update(backend="openai", model="m-extract", concurrency=1)
    data["phase2"].update(backend="openai", model="m-agent")
    data["backends"]["openai"].update(base_url=url, api_key_env=KEY_ENV, timeout_seconds=10)
    data["budget"].update(budget)
    return msgspec.convert(data, Config)


async def rows(conn: aiosqlite.Connection, sql: str, *args: object) -> list[tuple[Any, ...]]:
    async with conn.execute(sql, args) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def phase1_pass(conn: aiosqlite.Connection, cfg: Config, budget: Budget) -> Phase1Stats:
    ex = OpenAIExtractor.from_config(cfg)
    try:
        return await Phase1(conn, cfg, ex, budget=budget).run(until_idle=True)
    finally:
        await ex.aclose()


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name]


async def stage1_jobs(conn: aiosqlite.Connection) -> dict[str, tuple[Any, ...]]:
    """thread id -> (status, retry_remaining, last_error) of its stage-1 job, if it has one."""
    found = await rows(
        conn,
        "SELECT job_key, status, retry_remaining, last_error FROM jobs WHERE kind = ?",
        jobs.STAGE1,
    )
    return {r[0]: r[1:] for r in found}


async def test_daily_budget_makes_the_calls_that_fit_and_the_rest_wait_for_the_reset(
    conn: aiosqlite.Connection, fake_clock: clock.FakeClock
) -> None:
    threads = [t for (t,) in await rows(conn, "SELECT id FROM threads")]
    assert len(threads) == 3 * COPIES
    async with ResponsesServer(default=CALL) as srv:
        cfg = config(srv.url, daily_tokens=250)
        budget = Budget(conn, lambda: cfg)
        with capture_logs() as logs:
            first = await phase1_pass(conn, cfg, budget)
            # Calls start at 0, 100 and 200 tokens spent (below 250); the third overshoots
            # to 300 by its own use; no fourth call starts.
            assert len(srv.requests) == 3
            assert (first.succeeded, first.failed, first.waiting) == (3, 0, 3 * COPIES - 3)
            reset_at = day_window(clock.now_s())[1]
            assert first.budget_reset_at == reset_at
            assert "budget.daily_tokens spent (300 of 250 tokens)" in (first.budget_reason or "")
            states = await stage1_jobs(conn)
            done = [t for t, s in states.items() if s[0] == "done"]
            assert len(done) == 3
            for tid in set(threads) - set(done):  # waiting: unclaimed, not failed, no retry spent
                assert states.get(tid, ("pending", 3, None)) == ("pending", 3, None)

            again = await phase1_pass(conn, cfg, budget)  # still exhausted: claims nothing
            assert again.claimed == 0 and len(srv.requests) == 3
            assert again.waiting == 3 * COPIES - 3

            fake_clock.advance(2)  # 00:00:01 UTC: a new day
            after = await phase1_pass(conn, cfg, budget)
        assert after.succeeded == 3 and after.waiting == 0
        assert len(srv.requests) == 6

    # Once per exhaustion, not once per waiting job: the first day's, and the new day's
    # (its three calls spent it again).
    exhausted, again_spent = events(logs, "budget_exhausted")
    assert (exhausted["spent"], exhausted["limit"], exhausted["reset_at"]) == (300, 250, reset_at)
    assert exhausted["limit_key"] == "budget.daily_tokens"
    assert again_spent["reset_at"] == reset_at + 86_400
    (reset,) = events(logs, "budget_reset")
    assert reset["reason"] == "new day"
    ledger = await rows(conn, "SELECT phase, input_tokens, output_tokens FROM usage_ledger")
    assert ledger == [("phase1", 95, 5)] * 6


async def test_the_daemon_wakes_at_the_reset_and_runs_the_waiting_jobs(
    conn: aiosqlite.Connection, fake_clock: clock.FakeClock
) -> None:
    """No wake() and no polling: the idle daemon sleeps until 00:00 UTC (one fake second,
    one real second) and then claims what waited."""
    async with ResponsesServer(default=CALL) as srv:
        cfg = config(srv.url, daily_tokens=150)
        ex = OpenAIExtractor.from_config(cfg)
        phase1 = Phase1(conn, cfg, ex)
        with capture_logs() as logs:
            async with anyio.create_task_group() as tg:
                tg.start_soon(phase1.run)
                await srv.wait_for_requests(2)
                with anyio.fail_after(10):  # every claimed job ran or was given back
                    await phase1.wait_idle()
                assert len(srv.requests) == 2 and len(events(logs, "budget_exhausted")) == 1
                fake_clock.advance(1.5)
                await srv.wait_for_requests(4, within=10)
                with anyio.fail_after(10):
                    await phase1.wait_idle()
                tg.cancel_scope.cancel()
        await ex.aclose()
    # One per day (the new day's two calls spent it again), however many jobs wait.
    assert len(events(logs, "budget_exhausted")) == 2 and len(srv.requests) == 4
    assert [e["reason"] for e in events(logs, "budget_reset")] == ["new day"]
    states = await stage1_jobs(conn)
    assert sum(1 for s in states.values() if s[0] == "done") == 4
    assert all(s[0] in ("done", "pending") and s[1] == 3 for s in states.values())


def writing_model(req: ReceivedRequest) -> Reply:
    """A model that changes a file every turn and never stops (no loop guard trips)."""
    n = sum(1 for i in req.json["input"] if i.get("type") == "function_call")
    args = {"path": "notes.md", "content": f"note {n}\n"}
    item = function_call_item("write_file", args, f"t{n}_0")
    return Reply(text=None, items=[item], input_tokens=990, output_tokens=10)


async def offline_outputs(conn: aiosqlite.Connection) -> None:
    await Phase1(conn, Config(), OfflineExtractor()).run(until_idle=True)


def consolidator(
    conn: aiosqlite.Connection, tmp_path: Path, cfg: Config, agent: Any, budget: Budget
) -> Consolidator:
    home = tmp_path / "codex"
    return Consolidator(
        conn,
        cfg,
        agent,
        root=home / "memories",
        codex_home=home,
        worker_id="test",
        budget=budget,
    )


async def test_run_tokens_stop_the_phase2_agent_and_its_tokens_are_booked(
    conn: aiosqlite.Connection, tmp_path: Path
) -> None:
    await offline_outputs(conn)
    async with ResponsesServer(responder=writing_model) as srv:
        # phase2.run_tokens replaces the shared run_tokens for phase 2.
        cfg = config(
            srv.url,
            run_tokens=100,
            phase2={"run_tokens": 2500},
            prices={"m-agent": {"input_per_million": 2.0, "output_per_million": 8.0}},
        )
        async with OpenAIConsolidator.from_config(cfg) as agent:
            result = await consolidator(
                conn, tmp_path, cfg, agent, Budget(conn, lambda: cfg)
            ).run_once()
        # Turns start at 0, 1000 and 2000 tokens spent; 3000 is over 2500.
        assert len(srv.requests) == 3
    assert result.outcome == "failed" and (result.reason or "").startswith("token_limit")
    ((outcome, reason, tokens),) = await rows(
        conn, "SELECT outcome, reason, input_tokens + output_tokens FROM phase2_runs"
    )
    assert (outcome, reason.split(":")[0], tokens) == ("failed", "token_limit", 3000)
    ((run_id, backend, model, spent, cost),) = await rows(
        conn,
        "SELECT run_id, backend, model, input_tokens + output_tokens, cost_estimate "
        "FROM usage_ledger WHERE phase = 'phase2'",
    )
    assert (run_id, backend, model, spent) == (result.run_id, "openai", "m-agent", 3000)
    assert cost == pytest.approx((2970 * 2.0 + 30 * 8.0) / 1_000_000)


async def test_phase2_does_not_start_while_the_budget_is_spent(
    conn: aiosqlite.Connection, tmp_path: Path
) -> None:
    await offline_outputs(conn)
    async with ResponsesServer(responder=writing_model) as srv:
        cfg = config(srv.url, daily_tokens=1000)
        budget = Budget(conn, lambda: cfg)
        await budget.book([budget.row("phase1", "openai", "m-extract", 990, 10)])
        async with OpenAIConsolidator.from_config(cfg) as agent:
            with capture_logs() as logs:
                result = await consolidator(conn, tmp_path, cfg, agent, budget).run_once()
        assert srv.requests == []
    assert result.outcome == "budget"
    assert result.budget_reset_at == day_window(clock.now_s())[1]
    assert await rows(conn, "SELECT count(*) FROM phase2_runs") == [(0,)]
    assert await rows(conn, "SELECT status FROM jobs WHERE kind = ?", jobs.GLOBAL) == [("pending",)]
    (e,) = events(logs, "budget_exhausted")
    assert (e["phase"], e["spent"], e["limit"]) == ("phase2", 1000, 1000)


async def test_phase_limits_stop_one_phase_and_cap_the_other_at_what_is_left(
    conn: aiosqlite.Connection, tmp_path: Path
) -> None:
    async with ResponsesServer(default=CALL) as srv:
        cfg = config(
            srv.url,
            daily_tokens=10_000,
            phase1={"daily_tokens": 150},
            phase2={"daily_tokens": 2000},
        )
        budget = Budget(conn, lambda: cfg)
        stats = await phase1_pass(conn, cfg, budget)
        assert len(srv.requests) == 2 and stats.succeeded == 2
        assert stats.budget_reason is not None
        assert "budget.phase1.daily_tokens spent (200 of 150 tokens)" in stats.budget_reason
    status = await budget_status(conn, cfg, now_s=clock.now_s())
    p1, p2 = status.phases
    assert (p1.phase, p1.spent_today, p1.daily_limit, p1.exhausted) == ("phase1", 200, 150, True)
    assert (p2.phase, p2.spent_today, p2.daily_limit, p2.exhausted) == ("phase2", 0, 2000, False)
    assert (status.spent_today, status.exhausted) == (200, False)
    # Phase 2 still runs; its agent is capped at what is left of its own daily limit.
    assert await budget.run_allowance("phase2") == 2000
    result = await consolidator(conn, tmp_path, cfg, OfflineConsolidator(), budget).run_once()
    assert result.outcome == "succeeded"


async def test_budget_status_reports_spend_limits_reset_and_cost(
    conn: aiosqlite.Connection, fake_clock: clock.FakeClock
) -> None:
    cfg = config(
        daily_tokens=5000,
        run_tokens=700,
        phase1={"daily_tokens": 3000},
        prices={
            "m-extract": {"input_per_million": 1.0, "output_per_million": 4.0},
            "m-agent": {"input_per_million": 10.0, "output_per_million": 40.0},
        },
    )
    budget = Budget(conn, lambda: cfg)
    await budget.book([budget.row("phase1", "openai", "m-extract", 9_000, 1_000)])  # yesterday
    fake_clock.advance(2)  # 00:00:01 UTC
    now = clock.now_s()
    await budget.book(
        [
            budget.row("phase1", "openai", "m-extract", 2_000, 500, thread_id="t1"),
            budget.row("phase1", "chat", "unpriced", 300, 0, thread_id="t2"),
            budget.row("phase2", "openai", "m-agent", 1_000, 200, run_id="r1"),
        ]
    )
    status = await budget_status(conn, cfg, now_s=now)
    assert status.spent_today == 4_000 and status.daily_limit == 5000
    assert status.reset_at == now - 1 + 86_400 and status.exhausted is False
    assert status.resets == "daily at 00:00 UTC"
    p1_cost = (2_000 * 1.0 + 500 * 4.0) / 1e6
    p2_cost = (1_000 * 10.0 + 200 * 40.0) / 1e6
    assert status.cost_today == pytest.approx(p1_cost + p2_cost)
    p1, p2 = status.phases
    assert (p1.spent_today, p1.daily_limit, p1.run_limit, p1.exhausted) == (2_800, 3000, 700, False)
    assert p1.cost_today == pytest.approx(p1_cost)
    assert (p2.spent_today, p2.daily_limit, p2.run_limit) == (1_200, 0, 700)
    await budget.book([budget.row("phase1", "openai", "m-extract", 1_000, 0)])
    status = await budget_status(conn, cfg, now_s=now)
    assert status.exhausted is True and status.spent_today == 5_000
    assert [p.exhausted for p in status.phases] == [True, True]
    # Without prices there is no cost to show, rather than a cost of 0.
    plain = await budget_status(conn, config(daily_tokens=5000), now_s=now)
    assert plain.cost_today is None and plain.phases[0].cost_today is None


BAD_BUDGETS = [
    ("[budget]\ndaily_tokens = -5\n", "budget.daily_tokens", "expected int >= 0, got -5"),
    ("[budget.phase2]\nrun_tokens = -1\n", "budget.phase2.run_tokens", "expected int >= 0, got -1"),
    ("[budget]\ndaily_token = 5\n", "budget.daily_token", "unknown key"),
    ("[budget.phase1]\nhourly_tokens = 5\n", "budget.phase1.hourly_tokens", "unknown key"),
    (
        '[budget.prices."gpt-5.4"]\ninput_per_million = "cheap"\n',
        'budget.prices."gpt-5.4".input_per_million',
        "expected float, got str",
    ),
    (
        '[budget.prices."gpt-5.4"]\noutput_per_million = -1.5\n',
        'budget.prices."gpt-5.4".output_per_million',
        "expected float >= 0.0, got -1.5",
    ),
    ('[budget.prices]\n"gpt-5.4" = 3\n', 'budget.prices."gpt-5.4"', "expected a table, got 3"),
]


@pytest.mark.acceptance  # starts other processes
@pytest.mark.parametrize(("text", "key", "problem"), BAD_BUDGETS, ids=[b[1] for b in BAD_BUDGETS])
def test_a_bad_budget_config_is_one_line_naming_the_key(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    state = tmp_path / "state"
    env = {
        "HOME": str(tmp_path / "home"),
        "PATH": "/usr/bin:/bin",
        "CODEX_HOME": str(tmp_path / "codex"),
        "MEMORYD_STATE_DIR": str(state),
    }
    r = subprocess.run(
        [sys.executable, "-m", "memoryd", "--config", str(cfg), "run", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == f"memoryd: config error: {cfg}: {key}: {problem}"
    assert not state.exists()  # refused before touching anything


async def test_a_job_that_spent_its_run_tokens_starts_no_further_chunk(
    conn: aiosqlite.Connection, tmp_path: Path
) -> None:
    path = next(
        (tmp_path / "codex").rglob("rollout-*03-13-54-01a2013e-fb76-7c33-8cf6-bf19bdb58fd0.jsonl")
    )
    tid = "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0"
    st = path.stat()
    with path.open("a") as f:  # about 9000 tokens of tool output: two chunks of 5000
        for i in range(40):
            payload = {"type": "function_call_output", "call_id": f"p{i}", "output": "y" * 900}
            line = {"timestamp": "2026-11-22T03:13:56.000Z", "type": "response_item"}
            f.write(msgspec.json.encode({**line, "payload": payload}).decode() + "\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    await Indexer(conn, [tmp_path / "codex" / "sessions"], None).scan_all()
    async with ResponsesServer(default=CALL) as srv:
        data = msgspec.to_builtins(config(srv.url, phase1={"run_tokens": 100}))
        data["phase1"]["max_input_tokens"] = 5000
        cfg = msgspec.convert(data, Config)
        stats = await phase1_pass(conn, cfg, Budget(conn, lambda: cfg))
        assert len(srv.requests) == 3 * COPIES  # one call per job: the long one stopped after 1
    assert (stats.succeeded, stats.failed) == (3 * COPIES - 1, 1)
    status, retries, error = (await stage1_jobs(conn))[tid]
    assert status == "error" and retries == 2 and error.startswith("token_limit")
    assert await rows(
        conn, "SELECT input_tokens + output_tokens FROM usage_ledger WHERE thread_id = ?", tid
    ) == [(100,)]


@pytest.mark.acceptance  # starts other processes
async def test_run_once_reports_the_jobs_waiting_for_the_budget_and_the_reset(
    tmp_path: Path,
) -> None:
    """``memoryd run --once`` does not wait for midnight: it says what waits, and until when."""
    home = tmp_path / "codex"
    install_threads(home / "sessions")
    async with ResponsesServer(default=CALL) as srv:
        cfg = tmp_path / "memoryd.toml"
        cfg.write_text(
            f'[phase1]\nbackend = "openai"\nconcurrency = 1\n'
            f'[phase2]\nbackend = "openai"\n'
            f'[backends.openai]\nbase_url = "{srv.url}"\napi_key_env = "{KEY_ENV}"\n'
            f"[budget]\ndaily_tokens = 150\n"
        )
        env = {
            "HOME": str(tmp_path / "home"),
            "PATH": os.environ["PATH"],
            "CODEX_HOME": str(home),
            "MEMORYD_STATE_DIR": str(tmp_path / "state"),
            KEY_ENV: "dummy-key",
        }
        argv = [sys.executable, "-m", "memoryd", "--config", str(cfg), "run", "--once"]
        # The child reads the real clock, so the expected reset is the next 00:00 UTC of the
        # day the run happens on; a run that straddles midnight spends two days' budgets.
        day_before = day_window(int(time.time()))
        with anyio.fail_after(60):
            r = await anyio.run_process(argv, env=env, check=False)
        if day_window(int(time.time())) != day_before:
            pytest.skip("the run straddled 00:00 UTC, when the daily budget resets")
        assert len(srv.requests) == 2
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr.decode())
    _, reset_at = day_before
    resets = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(reset_at))
    assert (
        f"phase 1: {3 * COPIES - 2} jobs wait for the token budget (budget.daily_tokens spent "
        f"(200 of 150 tokens); resets at {resets}); they run after the reset"
    ) in out
    assert "phase 2: not started, the token budget is spent (budget.daily_tokens spent" in out
