#!/usr/bin/env python3
"""Benchmark the rollout indexer against a plain read of the same bytes.

Generates N synthetic rollouts shaped like the real Codex 0.169 fixtures (a ~20 KB
session_meta first line, ~50 KB per file) in a temp dir, then prints, from one run:

* cold index time (empty state DB) and the time to read the same bytes with plain Python
  (``open(path, "rb").read()`` for every file), and their ratio (target <= 2.0);
* the no-change re-scan time (target <= 1 s for 10,000 files);
* peak RSS of the indexing process (target <= 150 MB), and of the plain reader for scale.

Each measured step runs in its own child process, so peak RSS belongs to that step alone.
The page cache is warm for both the plain read and the index (the plain read runs first,
and once more after the index; the faster of its two runs is the baseline).

    python scripts/bench_index.py            # 10,000 files
    python scripts/bench_index.py -n 2000    # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "memoryd" / "examples"
TEMPLATE = "rollout-2026-11-22T03-13-54-01a2013e-fb76-7c33-8cf6-bf19bdb58fd0.jsonl"
TEMPLATE_ID = "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0"
TARGET_FILE_BYTES = 50_000


def _uuid7_like(i: int) -> str:
    """A UUIDv7-shaped id, unique per i."""
    ms = 1_795_317_234_000 + i * 1000
    rand = uuid.uuid4().int & ((1 << 74) - 1)
    value = (
        (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    )
    return str(uuid.UUID(int=value))


def generate(root: Path, n: int) -> tuple[int, int]:
    """Write n rollouts under root/sessions/YYYY/MM/DD. Returns (files, total bytes)."""
    template = (EXAMPLES / TEMPLATE).read_bytes()
    lines = template.splitlines(keepends=True)
    head, body = lines[0], b"".join(lines[1:])
    # Pad with realistic tool output lines until the file is ~50 KB.
    pad_line = (
        b'{"timestamp":"2026-11-22T03:13:54.858Z","ordinal":40,"type":"response_item",'
        b'"payload":{"type":"function_call_output","call_id":"call_0009","output":"'
        + b"Process exited with code 0\\nOutput:\\n"
        + b"src/module.py:12: def handler(event, context):  # noqa\\n" * 40
        + b'"}}\n'
    )
    pad = b""
    while len(head) + len(body) + len(pad) + len(pad_line) <= TARGET_FILE_BYTES:
        pad += pad_line
    total = 0
    for i in range(n):
        tid = _uuid7_like(i)
        day = (
            root
            / "sessions"
            / "2026"
            / f"{1 + (i // 2800) % 12:02d}"
            / f"{1 + (i // 100) % 28:02d}"
        )
        day.mkdir(parents=True, exist_ok=True)
        data = (head + body + pad).replace(TEMPLATE_ID.encode(), tid.encode())
        path = day / f"rollout-2026-11-22T03-13-{i % 60:02d}-{tid}.jsonl"
        path.write_bytes(data)
        total += len(data)
    return n, total


def _evict(root: str) -> None:
    """Drop the tree's pages from the page cache (posix_fadvise DONTNEED), so the next
    read comes from the disk, as on a daemon's first start. Dirty pages cannot be dropped,
    so everything is written back first."""
    os.sync()
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _child_plain_read(root: str, cold: bool = False) -> dict[str, float]:
    if cold:
        _evict(root)
    t0 = time.perf_counter()
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                total += len(f.read())
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "bytes": total}


def _child_index(root: str, cold: bool = False) -> dict[str, float]:
    import anyio

    from memoryd.rollouts.indexer import Indexer
    from memoryd.store.db import open_db

    async def main() -> dict[str, float]:
        state = Path(root).parent / ("state-cold" if cold else "state")
        conn = await open_db(state / "memoryd.sqlite")
        if cold:
            _evict(root)
        try:
            ix = Indexer(conn, [Path(root) / "sessions"], Path(root) / "archived_sessions")
            t0 = time.perf_counter()
            first = await ix.scan_all()
            cold_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = await ix.scan_all()
            rescan_s = time.perf_counter() - t0
            return {
                "cold_seconds": cold_s,
                "cold_bytes": first.bytes_read,
                "cold_files": first.files_read,
                "rescan_seconds": rescan_s,
                "rescan_bytes": again.bytes_read,
                "rescan_unchanged": again.files_unchanged,
            }
        finally:
            await conn.close()

    return anyio.run(main)


def _run_child(mode: str, root: Path, cold: bool = False) -> tuple[dict[str, float], float]:
    """Run one step in a fresh interpreter; return its result and its peak RSS in MB."""
    here = str(Path(__file__).parent)
    code = (
        f"import json, resource, sys; sys.path.insert(0, {here!r}); import bench_index as b; "
        f"r = b._child_{mode}({str(root)!r}, {cold!r}); "
        "r['rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
        "print(json.dumps(r))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result, float(result.pop("rss_mb"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10_000, help="number of rollouts (default 10000)")
    ap.add_argument("--keep", action="store_true", help="keep the generated tree")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="memoryd-bench-index-"))
    root = tmp / "codex"
    try:
        t0 = time.perf_counter()
        n, total = generate(root, args.n)
        print(
            f"generated {n:,} rollouts, {total / 1e6:,.1f} MB, in {time.perf_counter() - t0:.1f} s"
        )

        # Warm page cache: the plain read runs first (and loads the cache), then the index,
        # then the plain read again; the faster plain run is the baseline.
        plain1, plain_rss = _run_child("plain_read", root)
        idx, idx_rss = _run_child("index", root)
        plain2, _ = _run_child("plain_read", root)
        plain_s = min(plain1["seconds"], plain2["seconds"])
        # Cold page cache: every file evicted before each timed run (a fresh state DB).
        cplain, _ = _run_child("plain_read", root, cold=True)
        cidx, cidx_rss = _run_child("index", root, cold=True)
        assert plain1["bytes"] == total and idx["cold_bytes"] == total, (plain1, idx, total)
        assert cidx["cold_bytes"] == total, (cidx, total)

        mb = total / 1e6
        warm_ratio = idx["cold_seconds"] / plain_s
        cold_ratio = cidx["cold_seconds"] / cplain["seconds"]
        rescan = idx["rescan_seconds"]
        unchanged, rescan_bytes = idx["rescan_unchanged"], idx["rescan_bytes"]
        rss = max(idx_rss, cidx_rss)
        w = 36
        print(f"files: {n:,}; bytes: {mb:,.1f} MB")
        print(f"{'':{w}}warm page cache   cold page cache")
        print(f"{'plain read (open+read):':{w}}{plain_s:8.3f} s        {cplain['seconds']:8.3f} s")
        print(
            f"{'cold index (empty state DB):':{w}}{idx['cold_seconds']:8.3f} s        "
            f"{cidx['cold_seconds']:8.3f} s"
        )
        print(
            f"{'index / plain read:':{w}}{warm_ratio:8.2f}x         {cold_ratio:8.2f}x"
            "   (target <= 2.0)"
        )
        print(
            f"{'no-change re-scan:':{w}}{rescan:8.3f} s   ({unchanged:,.0f} files unchanged, "
            f"{rescan_bytes:,.0f} bytes read; target <= 1 s)"
        )
        print(f"{'peak RSS, indexer process:':{w}}{rss:8.1f} MB   (target <= 150 MB)")
        print(f"{'peak RSS, plain reader process:':{w}}{plain_rss:8.1f} MB   (for scale)")
    finally:
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
