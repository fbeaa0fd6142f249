"""A loopback model for whole-daemon runs: stage-1 extractions and a scripted phase-2 agent.

One ``ResponsesServer`` answers both of memoryd's ``openai`` backends: a request that offers
tools is a turn of the consolidation agent, any other is a stage-1 extraction. Every answer
comes after a latency drawn uniformly from ``[min_latency, max_latency]``.

The agent's script is read off the request (how many tool-calling replies it already got), so
a consolidation killed half-way and started again simply plays the script from the top: read
``raw_memories.md``, write ``MEMORY.md``, write ``memory_summary.md``, answer "Done.".

Run it in its own process (benchmarks, crash tests: it must not share an event loop with what
it measures, and it must outlive the daemons that get killed)::

    python tests/support/fake_model.py --min-latency 0.02 --max-latency 0.2 --log calls.jsonl

It prints its base URL on the first line of stdout, then serves until killed. With ``--log``
it appends one JSON line per request as it arrives: ``{"kind": "phase1" | "phase2", "t": ...}``,
plus ``"thread"`` (the thread id) for a stage-1 request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

if __package__ in (None, ""):  # run as a script: make ``support`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.responses_server import (
    Behaviour,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)

STAGE1_REPLY = json.dumps(
    {
        "rollout_summary": "# Listing a project\nThe user asked for the files; the agent ran ls.",
        "rollout_slug": "listing-files",
        "raw_memory": "---\ndescription: listing files\n---\n### Task 1\nran ls in the project",
    }
)
MEMORY_MD = "# Memory\n\n## Projects\n- The user lists project files before editing.\n"
SUMMARY_MD = "v1\n\n## User Profile\nLists files first.\n"

# The consolidation agent's turns; the last one ends the run.
AGENT_STEPS: list[tuple[str, dict[str, Any]] | str] = [
    ("read_file", {"path": "raw_memories.md", "offset": None, "limit": 40}),
    ("write_file", {"path": "MEMORY.md", "content": MEMORY_MD}),
    ("write_file", {"path": "memory_summary.md", "content": SUMMARY_MD}),
    "Done.",
]


_ROLLOUT_ID = re.compile(
    rb"rollout-[0-9T-]+-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl"
)


def request_thread(req: ReceivedRequest) -> str | None:
    """The thread a stage-1 request is about: the id in the first rollout file name it names
    (the stage-1 message starts with the rollout's path)."""
    m = _ROLLOUT_ID.search(req.body)
    return m.group(1).decode() if m else None


def request_kind(req: ReceivedRequest) -> str:
    """``phase2`` for an agent turn (the request offers tools), else ``phase1``."""
    body = req.json if isinstance(req.json, dict) else {}
    return "phase2" if body.get("tools") else "phase1"


def agent_turn(req: ReceivedRequest) -> int:
    """How many tool-calling replies the agent got before this request."""
    items = req.json.get("input", []) if isinstance(req.json, dict) else []
    return sum(1 for i in items if isinstance(i, dict) and i.get("type") == "function_call")


class FakeModel:
    """The responder: a stage-1 JSON reply, or the next step of the agent script."""

    def __init__(
        self, min_latency: float, max_latency: float, log: IO[str] | None = None, seed: int = 0
    ) -> None:
        self.min_latency = min_latency
        self.max_latency = max_latency
        self.log = log
        self.rng = random.Random(seed)
        self.counts = {"phase1": 0, "phase2": 0}

    def __call__(self, req: ReceivedRequest) -> Behaviour:
        kind = request_kind(req)
        self.counts[kind] += 1
        if self.log is not None:
            entry = {"kind": kind, "t": time.time()}
            if kind == "phase1":
                entry["thread"] = request_thread(req)
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()
        latency = self.rng.uniform(self.min_latency, self.max_latency)
        if kind == "phase1":
            return Reply(text=STAGE1_REPLY, input_tokens=1000, output_tokens=60, latency=latency)
        n = agent_turn(req)
        step = AGENT_STEPS[min(n, len(AGENT_STEPS) - 1)]
        if isinstance(step, str):
            return Reply(text=step, input_tokens=2000, output_tokens=5, latency=latency)
        name, args = step
        call = function_call_item(name, args, f"t{n}_0")
        return Reply(text=None, items=[call], input_tokens=2000, output_tokens=40, latency=latency)


async def serve(min_latency: float, max_latency: float, log_path: Path | None) -> None:
    log = log_path.open("a", encoding="utf-8") if log_path else None
    try:
        model = FakeModel(min_latency, max_latency, log)
        async with ResponsesServer(responder=model) as srv:
            print(srv.url, flush=True)
            await asyncio.Event().wait()
    finally:
        if log is not None:
            log.close()


@contextlib.contextmanager
def running(
    min_latency: float, max_latency: float, log: Path | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """This module as a server process, for the ``with`` block: yields it and its base URL,
    then kills it (by its pid)."""
    cmd = [sys.executable, __file__, "--min-latency", str(min_latency)]
    cmd += ["--max-latency", str(max_latency)]
    if log is not None:
        cmd += ["--log", str(log)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            if not url.startswith("http://127.0.0.1:"):
                raise RuntimeError(f"fake model server did not start (printed {url!r})")
            yield proc, url
        finally:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-latency", type=float, default=0.1, help="seconds (default 0.1)")
    ap.add_argument("--max-latency", type=float, default=0.1, help="seconds (default 0.1)")
    ap.add_argument("--log", type=Path, default=None, help="append one JSON line per request")
    args = ap.parse_args()
    try:
        asyncio.run(serve(args.min_latency, args.max_latency, args.log))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
