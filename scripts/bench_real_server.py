"""Per-extraction latency and tokens of the ``chat`` backend against a real llama-server running
a real small model (SmolLM2-135M-Instruct), on the bundled example rollouts.

Needs what ``.ci/install-llama`` builds (``eval "$(bash .ci/install-llama)"`` exports the two
paths). Starts llama-server on 127.0.0.1 exactly as tests/test_real_server.py does, extracts
each example once with the ``chat`` extractor (``phase1.max_output_tokens`` as given), and, as
the baseline measured in the same run, the ``offline`` extractor on the same chunks. Prints one
line per extraction, a JSON summary, and the first stored memory in full.

    .venv/bin/python scripts/bench_real_server.py [--max-tokens 512]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.llama_server import MODEL_ENV, MODEL_NAME, SERVER_ENV, running  # noqa: E402

from memoryd.config import parse_config  # noqa: E402
from memoryd.demo import example_rollouts  # noqa: E402
from memoryd.extract.base import ExtractionRequest  # noqa: E402
from memoryd.extract.chat import ChatExtractor  # noqa: E402
from memoryd.extract.offline import OfflineExtractor  # noqa: E402
from memoryd.rollouts.render import render_rollout  # noqa: E402


async def extract_all(url: str, max_tokens: int, folder: Path) -> list[dict[str, object]]:
    cfg = parse_config(
        {
            "phase1": {"backend": "chat", "model": MODEL_NAME, "max_output_tokens": max_tokens},
            "backends": {"chat": {"base_url": url, "timeout_seconds": 600}},
        },
        "bench",
    )
    rows: list[dict[str, object]] = []
    offline = OfflineExtractor()
    async with ChatExtractor(cfg) as chat:
        limit = await chat.input_token_limit() or cfg.phase1.max_input_tokens
        for name, data in example_rollouts():
            path = folder / name
            path.write_bytes(data)
            rendered = render_rollout(path, max_tokens=limit)
            for i, contents in enumerate(rendered.chunks):
                req = ExtractionRequest(
                    thread_id=name[-42:-6],
                    rollout_path=str(path),
                    cwd="/home/dev",
                    rollout_contents=contents,
                    chunk_index=i,
                    chunk_count=len(rendered.chunks),
                )
                t0 = time.perf_counter()
                await offline.extract(req)
                base = time.perf_counter() - t0
                t0 = time.perf_counter()
                try:
                    result = await chat.extract(req)
                    outcome, memory = "ok", result.output.raw_memory
                    usage = result.usage
                except Exception as e:  # the figure is what happened, whatever it was
                    outcome, memory = f"{type(e).__name__}: {e}", ""
                    usage = getattr(e, "usage", None)
                seconds = time.perf_counter() - t0
                rows.append(
                    {
                        "rollout": name[-42:-6],
                        "chunk": f"{i + 1}/{len(rendered.chunks)}",
                        "seconds": round(seconds, 2),
                        "offline_seconds": round(base, 4),
                        "input_tokens": getattr(usage, "input_tokens", 0),
                        "output_tokens": getattr(usage, "output_tokens", 0),
                        "estimated": getattr(usage, "estimated", False),
                        "outcome": outcome[:200],
                        "memory": memory,
                    }
                )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-tokens", type=int, default=512)
    args = ap.parse_args()
    if not os.environ.get(SERVER_ENV) or not os.environ.get(MODEL_ENV):
        print(f'set {SERVER_ENV} and {MODEL_ENV}: eval "$(bash .ci/install-llama)"')
        return 2
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp)) as server:
        rows = asyncio.run(extract_all(server.url, args.max_tokens, Path(tmp)))
    for r in rows:
        print(
            f"{r['rollout']} chunk {r['chunk']}: {r['seconds']:.2f}s "
            f"(offline {r['offline_seconds']:.4f}s), {r['input_tokens']} in / "
            f"{r['output_tokens']} out tokens{' (estimated)' if r['estimated'] else ''}: "
            f"{r['outcome']}"
        )
    secs = [float(str(r["seconds"])) for r in rows]
    outs = [int(str(r["output_tokens"])) for r in rows]
    base = sum(float(str(r["offline_seconds"])) for r in rows)
    summary = {
        "model": MODEL_NAME,
        "max_tokens": args.max_tokens,
        "extractions": len(rows),
        "ok": sum(r["outcome"] == "ok" for r in rows),
        "median_seconds": round(statistics.median(secs), 2),
        "max_seconds": round(max(secs), 2),
        "output_tokens_per_second": round(sum(outs) / sum(secs), 1),
        "ratio_to_offline": round(sum(secs) / base, 1) if base else None,
    }
    print(json.dumps(summary))
    first = next((r for r in rows if r["memory"]), None)
    if first is not None:
        print(f"--- raw_memory of {first['rollout']} chunk {first['chunk']}:")
        print(first["memory"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
