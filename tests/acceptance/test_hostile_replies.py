"""What a model returns is data (issue 14): a lone surrogate in a stage-1 reply is stored as
U+FFFD instead of killing ``run --once`` or the daemon, and a streamed reply larger than
``backends.openai.max_reply_bytes`` fails its call with a stored reason while it streams,
memory bounded (peak RSS of the real process). Replies come from the loopback Responses
server."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import anyio
from support.daemon import (
    KEY_ENV,
    Serve,
    daemon_env,
    short_dir,
    stage1_count,
    wait_for,
    write_config,
)
from support.peak import run_measured
from support.responses_server import ReceivedRequest, Reply, ResponsesServer
from support.rollouts import write_idle_rollouts

MIB = 1024 * 1024
SURROGATE_REPLY = json.dumps(  # json.dumps escapes the lone surrogates: "\ud800"
    {
        "rollout_summary": "# Session\nran the tests \ud800 and left",
        "rollout_slug": "tests\udfff",
        "raw_memory": "---\ndescription: ran tests\n---\n### Task 1\nuse uv \udc80",
    }
)


def _config(url: str, extra: str = "") -> str:
    return (
        f'[phase1]\nbackend = "openai"\n[backends.openai]\nbase_url = "{url}"\n'
        f'api_key_env = "{KEY_ENV}"\ntimeout_seconds = 20\n{extra}'
    )


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _run_once(env: dict[str, str], cwd: Path) -> tuple[int, str, str, float]:
    m = run_measured([sys.executable, "-m", "memoryd", "run", "--once"], env, cwd, timeout=300)
    return m.returncode, m.stdout, m.stderr, m.peak_mib


async def test_a_lone_surrogate_in_a_stage1_reply_is_stored_as_a_replacement_char() -> None:
    async with ResponsesServer(responder=lambda _: Reply(text=SURROGATE_REPLY)) as srv:
        with short_dir() as base:
            env = daemon_env(base)
            write_config(Serve(base, env), _config(srv.url))
            write_idle_rollouts(base / "codex" / "sessions", 2)
            code, out, err, _ = await anyio.to_thread.run_sync(_run_once, env, base)
            assert code == 0, err
            assert "Traceback" not in err and "2 extracted" in out
            rows = _rows(
                base / "state" / "memoryd.sqlite",
                "SELECT rollout_summary, raw_memory FROM stage1_outputs",
            )
    assert len(rows) == 2
    for summary, raw in rows:
        assert "ran the tests \ufffd and left" in str(summary) and "use uv \ufffd" in str(raw)


async def test_the_daemon_survives_a_lone_surrogate_in_a_stage1_reply(short_serve: Serve) -> None:
    async with ResponsesServer(responder=lambda _: Reply(text=SURROGATE_REPLY)) as srv:
        write_config(short_serve, _config(srv.url))
        write_idle_rollouts(short_serve.codex / "sessions", 3)
        proc = short_serve.start_ready()
        await anyio.to_thread.run_sync(
            lambda: wait_for("three stage-1 outputs", lambda: stage1_count(short_serve) == 3)
        )
        assert proc.poll() is None, short_serve.stderr()
        assert not short_serve.events("side_task_failed")


async def test_a_huge_streamed_reply_fails_the_call_while_it_streams() -> None:
    big = "x" * (64 * MIB)  # 64 MiB in 64 events: without a cap all of it is held, twice

    def respond(req: ReceivedRequest) -> Reply:
        return Reply(text=big, delta_chars=MIB)

    async with ResponsesServer(responder=respond) as srv:
        with short_dir() as base:
            env = daemon_env(base)
            write_config(Serve(base, env), _config(srv.url, f"max_reply_bytes = {MIB}\n"))
            write_idle_rollouts(base / "codex" / "sessions", 1)
            code, out, err, peak = await anyio.to_thread.run_sync(_run_once, env, base)
            assert code == 1, err  # a failed extraction makes run --once exit 1, with why
            assert "1 failed" in out, out
            assert "(backends.openai.max_reply_bytes)" in err.splitlines()[-1], err
            (reason,) = _rows(
                base / "state" / "memoryd.sqlite",
                "SELECT last_error FROM jobs WHERE kind = 'memory_stage1'",
            )[0]
    assert f"larger than {MIB} bytes (backends.openai.max_reply_bytes)" in str(reason)
    print(f"peak RSS with a 64 MiB reply and a 1 MiB cap: {peak:.0f} MiB")
    assert peak < 150, f"peak RSS {peak} MiB"
