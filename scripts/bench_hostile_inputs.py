#!/usr/bin/env python3
"""Peak memory of ``memoryd run --once`` on hostile rollouts at full size (issue 14), against a
clean run measured in the same run.

Three homes, each with one ordinary rollout (a copy of a real Codex fixture), with the
default configuration:

* clean: nothing else (the baseline);
* huge line: the rollout also holds a 300 MB single line (a tool output nobody should keep),
  skipped while streaming (``index.max_line_bytes``, 16 MiB);
* zstd bomb: beside it a small ``.jsonl.zst`` whose valid lines expand to 2 GB, refused once
  it expands past ``index.max_decompression_ratio`` (or ``index.max_decompressed_bytes``).

Printed: each run's peak RSS (``wait4`` of the real process) and its ratio to the clean run,
the stored reason, and the wall time.

    python scripts/bench_hostile_inputs.py
    python scripts/bench_hostile_inputs.py --line-mb 100 --bomb-gb 1
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import zstandard  # noqa: E402
from support.daemon import daemon_env  # noqa: E402
from support.peak import Measured, run_measured  # noqa: E402
from support.rollouts import write_idle_rollouts  # noqa: E402

MB = 1_000_000
TS = b'{"timestamp":"2026-11-22T03:12:00.000Z",'


# A user-message line: HEAD, its text, TAIL.
HEAD = (
    TS + b'"type":"response_item","payload":{"type":"message","role":"user","content":'
    b'[{"type":"input_text","text":"'
)
TAIL = b'"}]}}\n'


def huge_line_home(base: Path, size: int) -> None:
    ((_, path),) = write_idle_rollouts(base / "codex" / "sessions", 1).items()
    st = path.stat()
    first, _, rest = path.read_bytes().partition(b"\n")
    chunk = b"x" * MB
    with path.open("wb") as f:
        f.write(first + b"\n" + HEAD)
        for _ in range(size // MB):
            f.write(chunk)
        f.write(TAIL + rest)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def bomb_home(base: Path, expanded: int) -> int:
    """The bomb beside one ordinary rollout; returns its compressed size."""
    ((_, good),) = write_idle_rollouts(base / "codex" / "sessions", 1).items()
    ((tid, template),) = write_idle_rollouts(base / "scratch", 1).items()
    first = template.read_bytes().partition(b"\n")[0] + b"\n"
    block = (HEAD + b"y" * 4000 + TAIL) * 256
    bomb = good.parent / f"rollout-2026-11-22T03-12-59-{tid}.jsonl.zst"
    with bomb.open("wb") as f, zstandard.ZstdCompressor(level=19).stream_writer(f) as w:
        w.write(first)
        for _ in range(expanded // len(block)):
            w.write(block)
    t = good.stat().st_mtime
    os.utime(bomb, (t, t))
    return bomb.stat().st_size


def reasons(base: Path) -> str:
    conn = sqlite3.connect(base / "state" / "memoryd.sqlite")
    try:
        rows = conn.execute(
            "SELECT coalesce(index_error, last_skip_reason) FROM threads "
            "WHERE index_error IS NOT NULL OR last_skip_reason IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    return "; ".join(str(r[0]) for r in rows) or "-"


def run(base: Path) -> tuple[Measured, float]:
    started = time.monotonic()
    m = run_measured(
        [sys.executable, "-m", "memoryd", "run", "--once"], daemon_env(base), base, timeout=3600
    )
    if m.returncode != 0:
        raise SystemExit(f"run --once failed in {base}: {m.stderr[-2000:]}")
    return m, time.monotonic() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--line-mb", type=int, default=300, help="the single line (default 300 MB)")
    ap.add_argument("--bomb-gb", type=float, default=2.0, help="the bomb expanded (default 2 GB)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mdhostile-", dir="/tmp") as tmp:
        clean, line, bomb = (Path(tmp) / n for n in ("clean", "line", "bomb"))
        write_idle_rollouts(clean / "codex" / "sessions", 1)
        huge_line_home(line, args.line_mb * MB)
        packed = bomb_home(bomb, int(args.bomb_gb * 1000 * MB))
        cases = [
            ("clean", clean),
            (f"{args.line_mb} MB line", line),
            (f"{args.bomb_gb:g} GB zstd bomb ({packed / 1000:.0f} kB)", bomb),
        ]
        results = [(name, home, *run(home)) for name, home in cases]
        base_peak = results[0][2].peak_mib
        print(f"{'case':34} {'peak RSS':>12} {'x clean':>8} {'wall':>7}  stored reason")
        for name, home, m, wall in results:
            print(
                f"{name:34} {m.peak_mib:8.1f} MiB {m.peak_mib / base_peak:7.2f}x {wall:6.1f}s  "
                f"{reasons(home)[:150]}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
