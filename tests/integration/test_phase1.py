"""Phase 1 end to end: real rollouts, a real state DB, the offline backend and the openai backend
against a loopback Responses server; leases kept by heartbeats and taken over after a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import msgspec
import pytest
from support.claims import claim_batch
from support.daemon import KEY_ENV
from support.fault_world import api_key_fixture, fake_clock_fixture, indexed_db  # noqa: F401
from support.responses_server import Hang, ReceivedRequest, Reply, ResponsesServer, Status

from memoryd import clock
from memoryd.config import Config
from memoryd.demo import install_examples
from memoryd.extract.offline import OfflineExtractor
from memoryd.extract.openai import OpenAIExtractor
from memoryd.phase1 import Phase1, Phase1Stats
from memoryd.rollouts.indexer import Indexer
from memoryd.store import jobs

PROMPTS = {
    "01a2013d-497f-71f0-81b9-4c6d2314a10b": "Explain how to run the pytest suite in this repo",
    "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0": "Show me the files here",
    "01a2013e-ff1a-7c20-8973-b369527e3057": "Load the giant log file",
}
GOOD_REPLY = json.dumps(
    {
        "rollout_summary": "# Ran the tests\nUser prefers uv.",
        "rollout_slug": "ran-tests",
        "raw_memory": "---\ndescription: ran tests\n---\n### Task 1\nuse uv",
    }
)
SECRETS = [
    "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-1234567890-0987654321-abcdefghijklmnopqrstuvwx",
]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A Codex home holding the three real rollouts as idle cli sessions (as the demo does)."""
    install_examples(tmp_path / "codex" / "sessions")
    return tmp_path / "codex"


@pytest.fixture
async def conn(tmp_path: Path, home: Path) -> AsyncIterator[aiosqlite.Connection]:
    async with indexed_db(tmp_path / "state" / "memoryd.sqlite", home) as c:
        yield c


def openai_config(url: str, **phase1: object) -> Config:
    cfg = Config()
    data = msgspec.to_builtins(cfg)
    data["phase1"].update(backend="openai", **phase1)
    data["backends"]["openai"].update(base_url=url, api_key_env=KEY_ENV, timeout_seconds=10)
    return msgspec.convert(data, Config)


async def run_openai(
    conn: aiosqlite.Connection, *script: Any, default: Any = None, **phase1: object
) -> tuple[Phase1Stats, list[ReceivedRequest]]:
    """One phase-1 pass with the openai backend against a loopback server playing ``script``
    then ``default``; returns the stats and the requests the server received."""
    async with ResponsesServer(*script, default=default) as srv:
        cfg = openai_config(srv.url, **phase1)
        ex = OpenAIExtractor.from_config(cfg)
        try:
            stats = await Phase1(conn, cfg, ex).run(until_idle=True)
        finally:
            await ex.aclose()
        return stats, list(srv.requests)


async def rows(conn: aiosqlite.Connection, sql: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
    async with conn.execute(sql, args) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def test_offline_extracts_every_fixture_once(conn: aiosqlite.Connection) -> None:
    p1 = Phase1(conn, Config(), OfflineExtractor())
    stats = await p1.run(until_idle=True)
    assert (stats.claimed, stats.succeeded, stats.failed) == (3, 3, 0)
    out = dict(await rows(conn, "SELECT thread_id, raw_memory FROM stage1_outputs"))
    assert set(out) == set(PROMPTS)
    for tid, prompt in PROMPTS.items():
        assert prompt in out[tid]
    assert "ls -la && cat README.md" in out["01a2013e-fb76-7c33-8cf6-bf19bdb58fd0"]
    assert await rows(conn, "SELECT DISTINCT status FROM jobs WHERE kind = ?", jobs.STAGE1) == [
        ("done",)
    ]
    ((status, wm),) = await rows(
        conn, "SELECT status, input_watermark FROM jobs WHERE kind = ?", jobs.GLOBAL
    )
    assert status == "pending" and wm > 0
    again = await Phase1(conn, Config(), OfflineExtractor()).run(until_idle=True)
    assert again.claimed == 0


async def test_a_rollout_that_grows_is_extracted_again(
    conn: aiosqlite.Connection, home: Path
) -> None:
    await Phase1(conn, Config(), OfflineExtractor()).run(until_idle=True)
    path = next(home.rglob("rollout-*03-12-03-*.jsonl"))
    first = json.loads(path.read_text().splitlines()[7])  # the user's prompt line
    first["payload"]["content"][0]["text"] = "Also add a Makefile target for the tests."
    st = path.stat()
    with path.open("a") as f:
        f.write(json.dumps(first, separators=(",", ":")) + "\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    await Indexer(conn, [home / "sessions"], None).scan_all()
    stats = await Phase1(conn, Config(), OfflineExtractor()).run(until_idle=True)
    assert (stats.claimed, stats.succeeded) == (1, 1)
    ((raw,),) = await rows(
        conn,
        "SELECT raw_memory FROM stage1_outputs WHERE thread_id = ?",
        "01a2013d-497f-71f0-81b9-4c6d2314a10b",
    )
    assert "Makefile target" in raw


async def test_openai_end_to_end_and_planted_secrets_never_leave(
    conn: aiosqlite.Connection, home: Path
) -> None:
    # Plant secrets in a user message and in a tool output of one rollout.
    path = next(home.rglob("rollout-*03-13-54-*.jsonl"))
    lines = path.read_text().splitlines()
    planted = []
    for i, line in enumerate(lines):
        obj = json.loads(line)
        p = obj.get("payload", {})
        if p.get("type") == "function_call_output":
            p["output"] += "\nexport GITHUB_TOKEN=" + SECRETS[1] + "\naws " + SECRETS[2]
            planted.append(i)
        if p.get("type") == "message" and p.get("role") == "user" and "Thanks" in str(p):
            p["content"][0]["text"] += f" my key is {SECRETS[0]} and slack {SECRETS[3]}"
            planted.append(i)
        lines[i] = json.dumps(obj, separators=(",", ":"))
    assert len(planted) == 2
    st = path.stat()
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    await Indexer(conn, [home / "sessions"], None).scan_all()

    stats, requests = await run_openai(conn, default=Reply(text=GOOD_REPLY, input_tokens=120))
    bodies = [r.body.decode() for r in requests]
    assert stats.succeeded == 3 and len(bodies) == 3
    assert any("Show me the files here" in b for b in bodies)
    for secret in SECRETS:
        assert all(secret not in b for b in bodies), secret
    assert any("[REDACTED_SECRET]" in b for b in bodies)
    ledger = await rows(
        conn, "SELECT phase, backend, input_tokens, output_tokens FROM usage_ledger"
    )
    assert sorted(ledger) == [("phase1", "openai", 120, 5)] * 3
    ((backend, model, tokens),) = set(
        await rows(conn, "SELECT backend, model, input_tokens FROM stage1_outputs")
    )
    assert (backend, tokens) == ("openai", 120) and model


async def test_model_failure_is_stored_with_its_reason_and_backs_off(
    conn: aiosqlite.Connection,
) -> None:
    async with ResponsesServer(default=Status(400, message="model 'nope' does not exist")) as srv:
        cfg = openai_config(srv.url)
        ex = OpenAIExtractor.from_config(cfg)
        try:
            stats = await Phase1(conn, cfg, ex).run(until_idle=True)
            assert stats.failed == 3
            again = await Phase1(conn, cfg, ex).run(until_idle=True)
        finally:
            await ex.aclose()
    assert again.claimed == 0  # in backoff
    for status, remaining, retry_at, finished, err in await rows(
        conn,
        "SELECT status, retry_remaining, retry_at, finished_at, last_error FROM jobs "
        "WHERE kind = ?",
        jobs.STAGE1,
    ):
        assert (status, remaining, retry_at - finished) == ("error", 2, 3600)
        assert "400" in err and "does not exist" in err
    assert await rows(conn, "SELECT count(*) FROM stage1_outputs") == [(0,)]


async def test_empty_reply_means_no_output(conn: aiosqlite.Connection) -> None:
    empty = json.dumps({"rollout_summary": "", "rollout_slug": "", "raw_memory": ""})
    stats, _ = await run_openai(conn, default=Reply(text=empty))
    assert (stats.no_output, stats.succeeded) == (3, 0)
    assert await rows(conn, "SELECT count(*) FROM stage1_outputs") == [(0,)]
    assert await rows(conn, "SELECT count(*) FROM jobs WHERE kind = ?", jobs.GLOBAL) == [(0,)]


async def test_long_rollout_is_extracted_in_chunks_and_the_count_recorded(
    conn: aiosqlite.Connection, home: Path
) -> None:
    path = next(home.rglob("rollout-*03-13-54-*.jsonl"))
    lines = path.read_text().splitlines()
    extra = []
    for i in range(40):
        item = {
            "type": "function_call_output",
            "call_id": f"c{i}",
            "output": f"step {i} " + "x" * 900,
        }
        extra.append(
            json.dumps(
                {"timestamp": "2026-11-22T03:13:55.300Z", "type": "response_item", "payload": item},
                separators=(",", ":"),
            )
        )
    st = path.stat()
    path.write_text("\n".join(lines[:20] + extra + lines[20:]) + "\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    await Indexer(conn, [home / "sessions"], None).scan_all()

    stats, requests = await run_openai(conn, default=Reply(text=GOOD_REPLY), max_input_tokens=5000)
    bodies = [r.body.decode() for r in requests]
    assert stats.succeeded == 3
    ((chunks, raw),) = await rows(
        conn,
        "SELECT chunk_count, raw_memory FROM stage1_outputs WHERE thread_id = ?",
        "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0",
    )
    assert chunks >= 2
    assert "Part 1 of" in raw and f"Part {chunks} of {chunks}" in raw
    # The middle was sent, not dropped: every padding step reached the server.
    joined = "".join(bodies)
    assert all(f"step {i} " in joined for i in range(40))


async def test_heartbeat_keeps_the_lease_of_a_job_longer_than_it(
    conn: aiosqlite.Connection, fake: clock.FakeClock
) -> None:
    async with ResponsesServer(default=Reply(text=GOOD_REPLY, latency=4.0)) as srv:
        cfg = openai_config(srv.url, lease_seconds=10, heartbeat_seconds=1, concurrency=1)
        ex = OpenAIExtractor.from_config(cfg)
        try:
            p1 = Phase1(conn, cfg, ex, worker_id="w1")
            rules = jobs.Eligibility(("cli", "vscode"), 30, 12)
            (c,) = await claim_batch(
                conn,
                rules,
                worker_id="w1",
                now_ms=clock.now_ms(),
                lease_seconds=10,
                max_running=64,
                max_claims=1,
            )
            async with anyio.create_task_group() as tg:
                result: list[str] = []

                async def run() -> None:
                    result.append(await p1.run_job(c))

                tg.start_soon(run)
                for _ in range(3):  # 3 x 8 s of fake time: far past the 10 s lease
                    await anyio.sleep(1.2)
                    fake.advance(8)
                    outcome, _ = await jobs.try_claim(
                        conn,
                        c.candidate,
                        worker_id="w2",
                        now_s=clock.now_s(),
                        lease_seconds=10,
                        max_running=64,
                    )
                    assert outcome is jobs.ClaimOutcome.RUNNING
        finally:
            await ex.aclose()
    assert result == ["succeeded"]


async def test_a_job_whose_lease_is_taken_over_drops_its_result(conn: aiosqlite.Connection) -> None:
    async with ResponsesServer(default=Reply(text=GOOD_REPLY, latency=3.0)) as srv:
        cfg = openai_config(srv.url, lease_seconds=10, heartbeat_seconds=1)
        ex = OpenAIExtractor.from_config(cfg)
        try:
            rules = jobs.Eligibility(("cli", "vscode"), 30, 12)
            (c,) = await claim_batch(
                conn,
                rules,
                worker_id="w1",
                now_ms=clock.now_ms(),
                lease_seconds=10,
                max_running=64,
                max_claims=1,
            )
            p1 = Phase1(conn, cfg, ex, worker_id="w1")
            async with anyio.create_task_group() as tg:
                result: list[str] = []

                async def run() -> None:
                    result.append(await p1.run_job(c))

                tg.start_soon(run)
                await srv.wait_for_requests(1)
                await conn.execute(
                    "UPDATE jobs SET lease_until = 0 WHERE job_key = ?", (c.candidate.thread_id,)
                )
                outcome, _ = await jobs.try_claim(
                    conn,
                    c.candidate,
                    worker_id="w2",
                    now_s=clock.now_s(),
                    lease_seconds=600,
                    max_running=64,
                )
                assert outcome is jobs.ClaimOutcome.CLAIMED
        finally:
            await ex.aclose()
    assert result == ["lost"]
    assert await rows(conn, "SELECT count(*) FROM stage1_outputs") == [(0,)]
    assert await rows(
        conn, "SELECT status, worker_id FROM jobs WHERE job_key = ?", c.candidate.thread_id
    ) == [("running", "w2")]


def _run_once(tmp_path: Path, cfg_file: Path) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "h"),
        "CODEX_HOME": str(tmp_path / "codex"),
        "MEMORYD_STATE_DIR": str(tmp_path / "state"),
        KEY_ENV: "dummy-key",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "memoryd", "--config", str(cfg_file), "run", "--once"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).resolve().parents[2]),
    )


@pytest.mark.acceptance  # starts other processes
async def test_sigkilled_worker_is_taken_over_after_its_lease_and_completes_once(
    tmp_path: Path, home: Path
) -> None:
    async with ResponsesServer(Hang(), Hang(), Hang(), default=Reply(text=GOOD_REPLY)) as srv:
        cfg_file = tmp_path / "memoryd.toml"
        cfg_file.write_text(
            f'[phase1]\nbackend = "openai"\nlease_seconds = 600\n'
            f'[backends.openai]\nbase_url = "{srv.url}"\napi_key_env = "{KEY_ENV}"\n'
            "timeout_seconds = 300\n"
        )
        first = _run_once(tmp_path, cfg_file)
        try:
            await srv.wait_for_requests(3, within=60)
            first.send_signal(signal.SIGKILL)
        finally:
            if first.poll() is None:
                first.kill()
            await anyio.to_thread.run_sync(lambda: first.communicate(timeout=30))
        assert first.returncode == -signal.SIGKILL
        db = tmp_path / "state" / "memoryd.sqlite"
        con = sqlite3.connect(db)
        try:
            running = con.execute(
                "SELECT count(*) FROM jobs WHERE status = 'running' AND lease_until > ?",
                (int(time.time()),),
            ).fetchone()
            assert running == (3,)
        finally:
            con.close()
        # While the dead worker's leases are fresh, nobody else may take them.
        second = _run_once(tmp_path, cfg_file)
        out, err = await anyio.to_thread.run_sync(lambda: second.communicate(timeout=120))
        assert second.returncode == 0, err
        assert "phase 1: 0 extracted" in out
        # The leases run out (10 minutes, fast-forwarded in the DB): now they are taken over.
        con = sqlite3.connect(db)
        try:
            con.execute("UPDATE jobs SET lease_until = lease_until - 601")
            con.commit()
        finally:
            con.close()
        third = _run_once(tmp_path, cfg_file)
        out, err = await anyio.to_thread.run_sync(lambda: third.communicate(timeout=120))
        assert third.returncode == 0, err
        assert "phase 1: 3 extracted: 3 memories" in out
        assert len(srv.requests) == 6  # three hung calls, three completed ones
    con = sqlite3.connect(db)
    try:
        assert con.execute(
            "SELECT count(*), count(DISTINCT thread_id) FROM stage1_outputs"
        ).fetchone() == (3, 3)
        assert con.execute(
            "SELECT DISTINCT status FROM jobs WHERE kind = 'memory_stage1'"
        ).fetchall() == [("done",)]
    finally:
        con.close()


LEGACY_REPLY = json.dumps({"summary": "# Listed files", "rawMemory": "used ls"})


@pytest.mark.parametrize("accept", [True, False])
async def test_legacy_stage1_keys_are_accepted_unless_switched_off(
    conn: aiosqlite.Connection, accept: bool
) -> None:
    stats, _ = await run_openai(conn, default=Reply(text=LEGACY_REPLY), accept_legacy_keys=accept)
    if accept:
        assert stats.succeeded == 3
        assert set(await rows(conn, "SELECT rollout_summary, raw_memory FROM stage1_outputs")) == {
            ("# Listed files", "used ls")
        }
    else:
        assert stats.failed == 3
        (err,) = {e for (e,) in await rows(conn, "SELECT last_error FROM jobs")}
        assert "summary" in err


async def test_tokens_of_an_unusable_reply_are_still_counted(conn: aiosqlite.Connection) -> None:
    unusable = Reply(text="I cannot comply.", input_tokens=50, output_tokens=7)
    stats, _ = await run_openai(conn, default=unusable)
    assert stats.failed == 3
    assert await rows(conn, "SELECT input_tokens, output_tokens FROM usage_ledger") == [(50, 7)] * 3
    (err,) = {e for (e,) in await rows(conn, "SELECT last_error FROM jobs")}
    assert "I cannot comply" in err
