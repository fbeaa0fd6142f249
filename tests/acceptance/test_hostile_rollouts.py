"""Hostile rollouts (issue 14): JSON nested thousands of levels deep, a single line of hundreds
of megabytes, a small ``.jsonl.zst`` that expands to gigabytes. Each costs that one file a
stored reason; ``run --once`` prints no traceback, ``serve`` stays up and extracts the others,
and peak memory stays bounded by configuration (measured with ``wait4`` on the real process).
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest
import zstandard
from support.daemon import Serve, daemon_env, short_dir, stage1_count, wait_for, write_config
from support.peak import run_measured
from support.rollouts import write_idle_rollouts

from memoryd.rollouts.limits import ZstLimits
from memoryd.rollouts.render import RolloutUnusable, render_rollout

MIB = 1024 * 1024
DEPTH = 5000
TS = b'{"timestamp":"2026-11-22T03:12:00.000Z",'


def _deep_line() -> bytes:
    deep = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
    return TS + b'"type":"response_item","payload":' + deep + b"}\n"


def _item_line(text: str) -> bytes:
    return (
        TS + b'"type":"response_item","payload":{"type":"message","role":"user","content":'
        b'[{"type":"input_text","text":"' + text.encode() + b'"}]}}\n'
    )


def _insert_after_meta(path: Path, lines: bytes) -> None:
    """``lines`` right after the session_meta line, the file's mtime kept (still idle)."""
    st = path.stat()
    first, _, rest = path.read_bytes().partition(b"\n")
    path.write_bytes(first + b"\n" + lines + rest)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _thread(db: Path, tid: str) -> dict[str, object]:
    conn = sqlite3.connect(db)
    try:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM threads WHERE id = ?", (tid,)).fetchone())
    finally:
        conn.close()


# The memory bounds below are what a hostile input may cost; the offline extractor's meaning
# model is a fixed ~120 MB of its own whatever the input (scripts/bench_meaning.py measures
# it), so these runs leave it off.
RULES_ONLY = '[offline]\nmeaning = "off"\n'


def _run_once(env: dict[str, str], cwd: Path) -> tuple[int, str, str, float]:
    """``memoryd run --once``: (exit code, stdout, stderr, peak RSS in MiB)."""
    m = run_measured([sys.executable, "-m", "memoryd", "run", "--once"], env, cwd, timeout=300)
    return m.returncode, m.stdout, m.stderr, m.peak_mib


def test_deeply_nested_rollout_costs_one_line_and_run_once_goes_on() -> None:
    with short_dir() as base:
        env = daemon_env(base)
        rollouts = write_idle_rollouts(base / "codex" / "sessions", 3)
        bad_id, bad = next(iter(rollouts.items()))
        _insert_after_meta(bad, _deep_line())
        code, out, err, _ = _run_once(env, base)
        assert code == 0, err
        assert "Traceback" not in err and "RecursionError" not in err
        assert "3 extracted" in out
        row = _thread(base / "state" / "memoryd.sqlite", bad_id)
        assert row["index_error"] is None
        assert "line 2: JSON nested too deeply" in str(row["last_skip_reason"])
        assert (base / "codex" / "memories" / "memory_summary.md").exists()


def test_serve_stays_up_through_a_deeply_nested_rollout(short_serve: Serve) -> None:
    rollouts = write_idle_rollouts(short_serve.codex / "sessions", 3)
    bad_id, bad = next(iter(rollouts.items()))
    _insert_after_meta(bad, _deep_line())
    proc = short_serve.start_ready()
    wait_for("three extractions", lambda: stage1_count(short_serve) == 3)
    wait_for("memory_summary.md", (short_serve.codex / "memories" / "memory_summary.md").exists)
    assert proc.poll() is None
    row = short_serve.thread_row(bad_id)
    assert row is not None and "nested too deeply" in str(row["last_skip_reason"])
    assert not short_serve.events("side_task_failed")


def test_a_huge_single_line_is_skipped_while_streaming_with_bounded_memory() -> None:
    with short_dir() as base:
        env = daemon_env(base)
        rollouts = write_idle_rollouts(base / "codex" / "sessions", 1)
        tid, path = next(iter(rollouts.items()))
        # 200 MB on one line (a tool output nobody should keep), with the line limit at 1 MiB.
        huge = _item_line("x" * (200 * MIB))
        _insert_after_meta(path, huge)
        del huge
        write_config(Serve(base, env), f"{RULES_ONLY}[index]\nmax_line_bytes = {MIB}\n")
        code, out, err, peak = _run_once(env, base)
        assert code == 0, err
        assert "1 extracted" in out
        row = _thread(base / "state" / "memoryd.sqlite", tid)
        assert "line 2:" in str(row["last_skip_reason"])
        assert f"longer than the {MIB}-byte limit" in str(row["last_skip_reason"])
        print(f"peak RSS with a 200 MiB line: {peak} MiB")
        assert peak < 150, f"peak RSS {peak} MiB for a 200 MiB line"


def _bomb(day: Path, expanded: int, scratch: Path) -> tuple[str, Path]:
    """A small .jsonl.zst rollout in ``day`` whose valid lines expand to ``expanded`` bytes:
    (its thread id, its path)."""
    ((tid, template),) = write_idle_rollouts(scratch, 1).items()
    first = template.read_bytes().partition(b"\n")[0] + b"\n"
    path = day / f"rollout-2026-11-22T03-12-59-{tid}.jsonl.zst"
    line = _item_line("y" * 4000)
    cctx = zstandard.ZstdCompressor(level=1)
    with path.open("wb") as f, cctx.stream_writer(f) as w:
        w.write(first)
        block = line * 256
        for _ in range(expanded // len(block)):
            w.write(block)
    return tid, path


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ("", "index.max_decompression_ratio"),  # the defaults: the ratio trips first
        (
            f"[index]\nmax_decompression_ratio = {1 << 20}\nmax_decompressed_bytes = {32 * MIB}\n",
            "index.max_decompressed_bytes",
        ),
    ],
)
def test_a_zstd_bomb_is_refused_with_a_stored_reason(config: str, reason: str) -> None:
    with short_dir() as base:
        env = daemon_env(base)
        good = write_idle_rollouts(base / "codex" / "sessions", 2)
        day = next(iter(good.values())).parent
        tid, bomb = _bomb(day, 512 * MIB, base / "scratch")
        assert bomb.stat().st_size < 2 * MIB
        t = next(iter(good.values())).stat().st_mtime
        os.utime(bomb, (t, t))
        write_config(Serve(base, env), RULES_ONLY + config)
        code, out, err, peak = _run_once(env, base)
        assert code == 0, err
        assert "2 extracted" in out
        row = _thread(base / "state" / "memoryd.sqlite", tid)
        assert reason in str(row["index_error"])
        print(f"peak RSS with a 512 MiB zstd bomb: {peak} MiB")
        assert peak < 150, f"peak RSS {peak} MiB"

        # The stage-1 reader refuses it the same way, should it ever be asked to read it.
        limits = ZstLimits(max_bytes=32 * MIB) if config else ZstLimits()
        with pytest.raises(RolloutUnusable, match=reason.replace(".", r"\.")):
            render_rollout(bomb, zst_limits=limits)
