"""Many eligible rollouts for whole-daemon tests, made from the bundled real Codex rollouts.

Each copy gets a fresh thread id (in its file name and its ``session_meta``), is stored as a
``cli`` session (the examples were recorded under ``codex exec``, which memoryd never
extracts) and is dated ``idle_seconds`` back, so that it is idle and within the age window.
"""

from __future__ import annotations

import json
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


def append_user_turn(path: Path, text: str) -> None:
    """The user came back to the session in ``path`` and asked ``text``: a copy of its first
    user message with that text is appended and the file's mtime moves one second on (still
    idle), so the thread changes."""
    lines = path.read_text().splitlines()
    for line in lines:
        obj = json.loads(line)
        p = obj.get("payload", {})
        if p.get("type") == "message" and p.get("role") == "user":
            content = p["content"][0]
            if content.get("type") == "input_text" and not content["text"].startswith("<"):
                content["text"] = text
                break
    else:
        raise AssertionError(f"no user message in {path}")
    st = path.stat()
    with path.open("a") as f:
        f.write(json.dumps(obj, separators=(",", ":")) + "\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
