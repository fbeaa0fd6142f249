"""Fault: the wall clock jumps backwards (an NTP step, a fixed RTC, a VM restored from a
snapshot) while leases and backoffs recorded under the later time are in the DB.

Leases and backoffs are stored as absolute seconds. After a jump back of a day, a lease a dead
worker took "a minute ago" would look fresh for a day and ten minutes, and a one-hour backoff
would last a day and an hour; a jump back of years would strand the job for years. memoryd's
rule: no lease ends later than ``lease_seconds`` from now and no backoff later than
``retry_delay_seconds`` from now, so after a jump every deadline is at most its normal length
away, while a lease is still never taken over early (no double claim).

Time is memoryd's FakeClock (memoryd/clock.py); the DB, the phases and the model server are
real."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from support.claims import claim_batch
from support.fault_world import (
    GOOD_STAGE1,
    THREADS,
    World,
    api_key_fixture,  # noqa: F401 (a fixture)
    consolidating_model,
    consolidator,
    fake_clock_fixture,  # noqa: F401 (a fixture)
    global_job,
    openai_config,
    rows,
    stage1_jobs,
    world,
)
from support.responses_server import Reply, ResponsesServer, Status

from memoryd import clock
from memoryd.config import Config
from memoryd.consolidate.openai import OpenAIConsolidator
from memoryd.extract.offline import OfflineExtractor
from memoryd.extract.openai import OpenAIExtractor
from memoryd.phase1 import Phase1, eligibility
from memoryd.phase2.result import Phase2Result
from memoryd.store import jobs
from memoryd.store import phase2 as phase2_store

DAY = 86_400
LEASE = Config().phase1.lease_seconds  # 600
RETRY = Config().phase1.retry_delay_seconds  # 3600


@pytest.fixture
async def w(tmp_path: Path, fake: clock.FakeClock) -> AsyncIterator[World]:
    # Idle for days: still eligible at the earlier time the clock jumps back to.
    async with world(tmp_path, age_s=3 * DAY) as got:
        yield got


async def offline_pass(w: World) -> tuple[int, int]:
    stats = await Phase1(w.conn, Config(), OfflineExtractor()).run(until_idle=True)
    return stats.claimed, stats.succeeded


async def test_a_dead_workers_lease_ends_one_lease_after_the_jump_not_a_day_later(
    w: World, fake: clock.FakeClock
) -> None:
    (dead,) = await claim_batch(
        w.conn,
        eligibility(Config()),
        worker_id="dead-worker",
        now_ms=clock.now_ms(),
        lease_seconds=LEASE,
        max_running=64,
        max_claims=1,
    )
    fake.advance(-DAY)
    # Right after the jump the lease is still respected: the other threads only.
    assert await offline_pass(w) == (2, 2)
    fake.advance(LEASE - 1)
    assert await offline_pass(w) == (0, 0)
    fake.advance(2)
    assert await offline_pass(w) == (1, 1)  # a lease later, not a day and a lease later
    assert await rows(w.conn, "SELECT count(*), count(DISTINCT thread_id) FROM stage1_outputs") == [
        (3, 3)
    ]
    # The dead worker's late answer is dropped: its token no longer matches.
    assert not await jobs.heartbeat(w.conn, dead, now_s=clock.now_s(), lease_seconds=LEASE)


async def test_a_backoff_ends_one_delay_after_the_jump(w: World, fake: clock.FakeClock) -> None:
    async with ResponsesServer(default=Status(400, "bad request")) as srv:
        cfg = openai_config(srv.url)
        async with OpenAIExtractor(cfg) as ex:
            assert (await Phase1(w.conn, cfg, ex).run(until_idle=True)).failed == 3
    assert {j[:3] for j in await stage1_jobs(w.conn)} == {("error", 2, RETRY)}
    fake.advance(-DAY)
    assert await offline_pass(w) == (0, 0)  # still backing off ...
    fake.advance(RETRY + 1)
    assert await offline_pass(w) == (3, 3)  # ... for one delay, not a day and one delay
    assert {j[:2] for j in await stage1_jobs(w.conn)} == {("done", 2)}


async def test_a_live_job_keeps_its_lease_across_the_jump_and_finishes_once(
    w: World, fake: clock.FakeClock
) -> None:
    async with ResponsesServer(default=Reply(text=GOOD_STAGE1, latency=2.5)) as srv:
        cfg = openai_config(srv.url, heartbeat_seconds=1, concurrency=1)
        async with OpenAIExtractor(cfg) as ex:
            (claim,) = await claim_batch(
                w.conn,
                eligibility(cfg),
                worker_id="live",
                now_ms=clock.now_ms(),
                lease_seconds=LEASE,
                max_running=64,
                max_claims=1,
            )
            first = Phase1(w.conn, cfg, ex, worker_id="live")
            outcome: list[str] = []

            async def run_live() -> None:
                outcome.append(await first.run_job(claim))

            async with anyio.create_task_group() as tg:
                tg.start_soon(run_live)
                await srv.wait_for_requests(1)
                fake.advance(-DAY)
                rival = Phase1(w.conn, Config(), OfflineExtractor(), worker_id="rival")
                rival_stats = await rival.run(until_idle=True)
    assert outcome == ["succeeded"]
    assert (rival_stats.claimed, rival_stats.succeeded) == (2, 2)  # never the live one
    assert len(srv.requests) == 1
    outputs = await rows(w.conn, "SELECT thread_id, backend FROM stage1_outputs ORDER BY 1")
    assert len(outputs) == 3 and (claim.candidate.thread_id, "openai") in outputs


async def consolidate_after_the_jump(
    w: World, fake: clock.FakeClock, held: str, wait_s: int
) -> Phase2Result:
    """Move the clock a day back; a consolidation then still finds what it found before the
    jump (its outcome is ``held``), and the next one, ``wait_s`` + 1 seconds later, runs: its
    result."""
    fake.advance(-DAY)
    async with ResponsesServer(responder=consolidating_model()) as srv:
        cfg = openai_config(srv.url)
        async with OpenAIConsolidator(cfg) as agent:
            run = consolidator(w, cfg, agent)
            assert (await run.run_once()).outcome == held
            fake.advance(wait_s + 1)
            return await run.run_once()


async def test_the_phase2_lock_of_a_dead_consolidator_is_taken_over_one_lease_after_the_jump(
    w: World, fake: clock.FakeClock
) -> None:
    assert await offline_pass(w) == (3, 3)
    p2 = Config().phase2
    _, dead = await phase2_store.try_claim_global(
        w.conn, worker_id="dead", now_s=clock.now_s(), lease_seconds=p2.lease_seconds
    )
    assert dead is not None
    result = await consolidate_after_the_jump(w, fake, "running", p2.lease_seconds)
    assert (result.outcome, result.added) == ("succeeded", 3)
    assert (await global_job(w.conn))[:2] == ("done", None)
    assert sorted(THREADS) == sorted(
        t for (t,) in await rows(w.conn, "SELECT thread_id FROM stage1_outputs")
    )


async def test_a_phase2_backoff_ends_one_delay_after_the_jump(
    w: World, fake: clock.FakeClock
) -> None:
    assert await offline_pass(w) == (3, 3)
    retry = Config().phase2.retry_delay_seconds
    async with ResponsesServer(default=Status(400, "no such model")) as srv:
        cfg = openai_config(srv.url)
        async with OpenAIConsolidator(cfg) as agent:
            assert (await consolidator(w, cfg, agent).run_once()).outcome == "failed"
    assert (await global_job(w.conn))[2] == retry
    result = await consolidate_after_the_jump(w, fake, "backoff", retry)
    assert result.outcome == "succeeded"


async def test_phase2_interval_counts_from_now_after_the_jump(
    w: World, fake: clock.FakeClock
) -> None:
    assert await offline_pass(w) == (3, 3)
    interval = Config().phase2.min_interval_seconds
    async with ResponsesServer(responder=consolidating_model()) as srv:
        cfg = openai_config(srv.url)
        async with OpenAIConsolidator(cfg) as agent:
            run = consolidator(w, cfg, agent)
            assert (await run.run_once(min_interval_seconds=interval)).outcome == "succeeded"
            fake.advance(-DAY)
            assert (await run.run_once(min_interval_seconds=interval)).outcome == "cooldown"
            fake.advance(interval + 1)
            assert (await run.run_once(min_interval_seconds=interval)).outcome == "noop"
