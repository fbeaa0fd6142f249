"""Many eligible rollouts for whole-daemon tests, made from the bundled real Codex rollouts.

Each copy gets a fresh thread id (in its file name and its ``session_meta``), is stored as a
``cli`` session (the examples were recorded under ``codex exec``, which memoryd never
extracts) and is dated ``idle_seconds`` back, so that it is idle and within the age window.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from memoryd.demo import example_rollouts

ID_LEN = 36  # a thread id at the end of the file stem


def write_idle_rollouts(
    sessions_dir: Path, n: int, *, idle_seconds: float = 13 * 3600, now: float | None = None
) -> dict[str, Path]:
    """Write ``n`` rollouts under ``sessions_dir/2026/11/DD/``; return thread id -> path.
    Their mtimes (the threads' ``updated_at``) are one second apart."""
    now = time.time() if now is None else now
    templates = []
    for name, data in example_rollouts():
        old_id = name.removesuffix(".jsonl")[-ID_LEN:]
        first, _, rest = data.partition(b"\n")
        first = first.replace(b'"source":"exec"', b'"source":"cli"', 1)
        templates.append((old_id, first + b"\n" + rest))
    out: dict[str, Path] = {}
    for i in range(n):
        old_id, data = templates[i % len(templates)]
        tid = str(uuid.uuid4())
        day = sessions_dir / "2026" / "11" / f"{1 + i // 500:02d}"
        day.mkdir(parents=True, exist_ok=True)
        path = day / f"rollout-2026-11-22T03-12-{i % 60:02d}-{tid}.jsonl"
        path.write_bytes(data.replace(old_id.encode(), tid.encode()))
        t = now - idle_seconds - i
        os.utime(path, (t, t))
        out[tid] = path
    return out
