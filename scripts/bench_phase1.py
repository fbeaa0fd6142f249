#!/usr/bin/env python3
"""Benchmark phase 1 against its ideal throughput.

K eligible rollouts (shaped like the real fixtures), the loopback Responses server (in its own
process, so it does not share our event loop) answering every request after a fixed latency
L, and C workers. The ideal is C / L jobs per second: every worker always waiting on the
model, nothing else costing time. Printed, from one run: achieved jobs/s, the ideal, their
ratio (target >= 0.90); the same against a lone model call measured in this run (the loopback
stack itself adds a few ms to L); and the DB time per job -- its claim and finaliser
transactions plus its share of the candidate scans (target <= 2 ms).

    python scripts/bench_phase1.py                 # K=2000, L=100 ms, C=8
    python scripts/bench_phase1.py -k 400 -l 0.05
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))

REPLY = json.dumps(
    {
        "rollout_summary": "# Benchmark rollout\nThe user asked for a listing.",
        "rollout_slug": "bench",
        "raw_memory": "---\ndescription: bench\n---\n### Task 1\nlisted files",
    }
)

SERVER = """
import asyncio, sys
sys.path.insert(0, {tests!r})
from support.responses_server import ResponsesServer, Reply
async def main():
    async with ResponsesServer(default=Reply(text={reply!r}), latency={latency!r}) as srv:
        print(srv.url, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


def make_rollouts(root: Path, k: int, age_seconds: float = 13 * 3600) -> None:
    """k ``cli`` rollouts (bench_index's generator) last active ``age_seconds`` ago: idle and
    eligible by default; with 0 too recent to extract for another 12 hours."""
    import bench_index

    bench_index.generate(root, k)
    mtime = time.time() - age_seconds
    for path in root.rglob("rollout-*.jsonl"):
        data = path.read_bytes().replace(b'"source":"exec"', b'"source":"cli"', 1)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", type=int, default=2000, help="eligible rollouts (default 2000)")
    ap.add_argument("-l", type=float, default=0.100, help="model latency in s (default 0.1)")
    ap.add_argument("-c", type=int, default=8, help="phase1.concurrency (default 8)")
    args = ap.parse_args()

    import anyio
    import msgspec

    from memoryd.config import Config
    from memoryd.extract.base import ExtractionRequest
    from memoryd.extract.openai import OpenAIExtractor
    from memoryd.phase1 import Phase1
    from memoryd.rollouts.indexer import Indexer
    from memoryd.rollouts.render import render_rollout
    from memoryd.store import jobs
    from memoryd.store.db import open_db

    tmp = Path(tempfile.mkdtemp(prefix="memoryd-bench-phase1-"))
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER.format(tests=str(REPO / "tests"), reply=REPLY, latency=args.l),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        make_rollouts(tmp / "codex", args.k)

        # DB cost per job, as work done rather than time spent queueing behind other tasks:
        # each transaction is timed from BEGIN to COMMIT (inside the connection's lock), and
        # each scan query on its own; a job's share is its claim transaction, its finaliser's
        # transaction and its share of the scan that found it.
        claim_tx: list[float] = []
        finish_tx: list[float] = []
        scans: list[tuple[float, int]] = []
        tx_kind: contextvars.ContextVar[list[float]] = contextvars.ContextVar(
            "tx_kind", default=claim_tx
        )
        real_immediate, real_scan = jobs.immediate, jobs.scan_candidates
        real_finish = jobs.finish_succeeded

        @contextlib.asynccontextmanager
        async def timed_immediate(conn: Any) -> AsyncIterator[Any]:
            async with real_immediate(conn) as c:
                t0 = time.perf_counter()
                yield c
            tx_kind.get().append(time.perf_counter() - t0)

        async def timed_scan(*a: Any, **kw: Any) -> list[jobs.Candidate]:
            t0 = time.perf_counter()
            found = await real_scan(*a, **kw)
            scans.append((time.perf_counter() - t0, len(found)))
            return found

        async def timed_finish(*a: Any, **kw: Any) -> bool:
            tx_kind.set(finish_tx)  # this task's transactions from here on are finalisers
            return await real_finish(*a, **kw)

        jobs.immediate = timed_immediate  # type: ignore[assignment]
        jobs.scan_candidates = timed_scan  # type: ignore[assignment]
        jobs.finish_succeeded = timed_finish  # type: ignore[assignment]

        data = msgspec.to_builtins(Config())
        data["phase1"].update(backend="openai", concurrency=args.c, max_running=max(64, args.c))
        data["backends"]["openai"].update(base_url=url, api_key_env="BENCH_KEY")
        cfg = msgspec.convert(data, Config)
        os.environ["BENCH_KEY"] = "dummy"

        async def round_trip(ex: OpenAIExtractor) -> float:
            """One lone model call with a real rendered rollout: what the loopback stack
            (client, loopback TCP, test server) costs on top of L, measured in this run."""
            path = next((tmp / "codex").rglob("rollout-*.jsonl"))
            chunk = render_rollout(path).chunks[0]
            req = ExtractionRequest(
                thread_id="t", rollout_path=str(path), cwd="/", rollout_contents=chunk
            )
            times = []
            for _ in range(7):
                t0 = time.perf_counter()
                await ex.extract(req)
                times.append(time.perf_counter() - t0)
            return statistics.median(times)

        async def run() -> tuple[float, int, float]:
            conn = await open_db(tmp / "state" / "memoryd.sqlite")
            try:
                codex = tmp / "codex"
                await Indexer(conn, [codex / "sessions"], codex / "archived_sessions").scan_all()
                ex = OpenAIExtractor.from_config(cfg)
                try:
                    lone = await round_trip(ex)
                    t0 = time.perf_counter()
                    stats = await Phase1(conn, cfg, ex).run(until_idle=True)
                    return time.perf_counter() - t0, stats.succeeded, lone
                finally:
                    await ex.aclose()
            finally:
                await conn.close()

        from memoryd import log as logsetup

        logsetup.configure("warning", None)
        seconds, done, lone = anyio.run(run, backend_options={"use_uvloop": True})
        assert done == args.k, (done, args.k)
        rate = done / seconds
        ideal = args.c / args.l
        claims_ms = statistics.median(claim_tx) * 1000
        finish_ms = statistics.median(finish_tx) * 1000 if finish_tx else 0.0
        scan_ms = sum(t for t, _ in scans) / max(done, 1) * 1000
        overhead = claims_ms + finish_ms + scan_ms
        print(f"jobs: {done:,}   latency L: {args.l * 1000:.0f} ms   concurrency C: {args.c}")
        print(f"wall time:              {seconds:8.2f} s")
        print(f"achieved:               {rate:8.1f} jobs/s")
        print(f"ideal C/L:              {ideal:8.1f} jobs/s")
        print(f"achieved / ideal:       {rate / ideal:8.2f}   (target >= 0.90)")
        print(
            f"a lone model call took  {lone * 1000:8.1f} ms here (L + the loopback stack), so"
            f" C/that = {args.c / lone:.1f} jobs/s; achieved / that = {rate * lone / args.c:.2f}"
        )
        print(
            f"DB time per job:        {overhead:8.2f} ms (target <= 2 ms): claim transaction"
            f" {claims_ms:.2f} + finaliser transaction {finish_ms:.2f} (medians, BEGIN to"
            f" COMMIT) + share of the candidate scans {scan_ms:.2f} (wall time, which includes"
            " waiting behind other statements on the shared connection)"
        )
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
