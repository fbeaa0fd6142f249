"""Fault: the model misbehaves for good — 429, 500, garbage bytes, a cut stream, an empty
stream, no answer at all — during phase 1 and during the phase-2 agent.

How the HTTP client reacts to one bad reply (retry, Retry-After, jitter, which errors are
permanent) is covered reply by reply in test_backend_openai.py and test_agent_openai.py. Here
the fault lasts past the in-job retries, and the tests check what is left behind: each job (or
run) ends with its reason stored, the in-job retry happened, the job waits out its backoff
(``retry_at``, ``retry_remaining`` counted down once), no output is stored or half-written, and
once the model answers again the work completes exactly once."""

from __future__ import annotations

import pytest
from support.fault_world import (
    GOOD_STAGE1,
    MEMORY_TEXT,
    RecordingSleep,
    World,
    api_key_fixture,  # noqa: F401 (a fixture)
    consolidating_model,
    consolidator,
    fake_clock_fixture,  # noqa: F401 (a fixture)
    global_job,
    openai_config,
    rows,
    stage1_jobs,
    world_fixture,  # noqa: F401 (a fixture)
)
from support.responses_server import (
    Behaviour,
    Cut,
    Events,
    Garbage,
    Hang,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    Status,
)

from memoryd import clock
from memoryd.config import Config
from memoryd.consolidate.openai import OpenAIConsolidator
from memoryd.extract.offline import OfflineExtractor
from memoryd.extract.openai import OpenAIExtractor
from memoryd.phase1 import Phase1
from memoryd.store import phase2 as phase2_store
from memoryd.workspace.baseline import diff_against_baseline

# (fault, what the stored reason says). Each is the server's answer to every request; every
# reason also ends with "(gave up after 2 attempts)": the in-job retry happened.
FAULTS: dict[str, tuple[Behaviour, str]] = {
    "429": (Status(429, "Rate limit reached", retry_after="2"), "HTTP 429"),
    "500": (Status(500, "The server had an error"), "HTTP 500"),
    "garbage": (Garbage(), "stream ended mid-event before response.completed"),
    "cut_stream": (Cut(after_events=2), "broke after"),
    "empty_stream": (Events([]), "stream ended before response.completed"),
    "no_answer": (Hang(), "timed out after 0.5s"),
}
GAVE_UP = "(gave up after 2 attempts)"
TIMEOUT_S = 0.5  # for the hung server; far below the default 120 s


class Switch:
    """The server's answer to every request: ``fault`` until ``heal()``, then ``good``."""

    def __init__(self, fault: Behaviour, good: object) -> None:
        self.fault = fault
        self.good = good
        self.healed = False

    def heal(self) -> None:
        self.healed = True

    def __call__(self, req: ReceivedRequest) -> Behaviour:
        if not self.healed:
            return self.fault
        return self.good(req) if callable(self.good) else self.good  # type: ignore[no-any-return]


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_phase1_job_fails_with_its_reason_backs_off_then_completes_once(
    w: World, fake: clock.FakeClock, fault: str
) -> None:
    behaviour, says = FAULTS[fault]
    switch = Switch(behaviour, Reply(text=GOOD_STAGE1))
    async with ResponsesServer(responder=switch) as srv:
        cfg = openai_config(srv.url, timeout=TIMEOUT_S, transient_retries=1)
        sleep = RecordingSleep()
        ex = OpenAIExtractor(cfg, sleep=sleep)
        try:
            stats = await Phase1(w.conn, cfg, ex).run(until_idle=True)
            assert (stats.claimed, stats.failed, stats.succeeded) == (3, 3, 0)
            assert len(srv.requests) == 6  # one in-job retry per thread ...
            assert len(sleep.calls) == 3  # ... after a backoff
            if fault == "429":
                assert sleep.calls == [2.0] * 3  # Retry-After honoured
            for status, remaining, backoff, err in await stage1_jobs(w.conn):
                assert (status, remaining, backoff) == ("error", 2, 3600)
                assert says in err and err.endswith(GAVE_UP), err
            assert await rows(w.conn, "SELECT count(*) FROM stage1_outputs") == [(0,)]
            # Inside the backoff nothing is claimed, even with the model healthy again.
            switch.heal()
            assert (await Phase1(w.conn, cfg, ex).run(until_idle=True)).claimed == 0
            fake.advance(3601)
            again = await Phase1(w.conn, cfg, ex).run(until_idle=True)
        finally:
            await ex.aclose()
        assert len(srv.requests) == 9  # three more calls: each thread extracted once
    assert (again.claimed, again.succeeded) == (3, 3)
    assert await rows(w.conn, "SELECT count(*), count(DISTINCT thread_id) FROM stage1_outputs") == [
        (3, 3)
    ]
    assert {j[0] for j in await stage1_jobs(w.conn)} == {"done"}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_phase2_run_fails_with_its_reason_keeps_the_baseline_then_succeeds(
    w: World, fake: clock.FakeClock, fault: str
) -> None:
    await Phase1(w.conn, Config(), OfflineExtractor()).run(until_idle=True)
    behaviour, says = FAULTS[fault]
    switch = Switch(behaviour, consolidating_model())
    async with ResponsesServer(responder=switch) as srv:
        cfg = openai_config(srv.url, timeout=TIMEOUT_S)
        sleep = RecordingSleep()
        async with OpenAIConsolidator(cfg, sleep=sleep, transient_retries=1) as agent:
            run = consolidator(w, cfg, agent)
            failed = await run.run_once()
            assert failed.outcome == "failed" and failed.reason and says in failed.reason
            assert failed.reason.endswith(GAVE_UP)
            assert len(srv.requests) == 2 and len(sleep.calls) == 1
            status, err, backoff = await global_job(w.conn)
            assert (status, err, backoff) == ("error", failed.reason, 3600)
            assert failed.run_id is not None
            record = await phase2_store.get_run(w.conn, failed.run_id)
            assert record is not None
            assert (record.outcome.value, record.reason) == ("failed", failed.reason)
            # No half-consolidated folder: the agent wrote nothing, the inputs stay pending.
            assert not (w.root / "MEMORY.md").exists()
            assert not diff_against_baseline(w.root).is_empty
            switch.heal()
            assert (await run.run_once()).outcome == "backoff"
            fake.advance(3601)
            ok = await run.run_once()
    assert (ok.outcome, ok.added) == ("succeeded", 3)
    assert (w.root / "MEMORY.md").read_text() == MEMORY_TEXT
    assert diff_against_baseline(w.root).is_empty
    assert (await global_job(w.conn))[:2] == ("done", None)
    outcomes = await rows(w.conn, "SELECT outcome FROM phase2_runs ORDER BY started_at")
    assert outcomes == [("failed",), ("succeeded",)]
