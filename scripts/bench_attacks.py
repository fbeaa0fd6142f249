"""Figures for the attack table of docs/reliability.md (issue 14), each against a baseline
measured in the same run:

* peak RSS of ``memoryd run --once`` when a user has dropped a big file (default 200 MB) into
  the memory root, against the same run without it; and what the baseline repository weighs;
* time from SIGTERM to exit of ``memoryd serve`` while the consolidation agent's regex search
  backtracks (a loopback model scripted to send ``(a+)+$``), against an idle daemon.

``--src DIR`` runs the memoryd found in another checkout (e.g. main) for comparison.

    .venv/bin/python scripts/bench_attacks.py [--big-mb 200] [--src /work/main]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.daemon import KEY_ENV, daemon_env, read_log  # noqa: E402
from support.protocols import model_turns  # noqa: E402
from support.responses_server import (  # noqa: E402
    Behaviour,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)

from memoryd.demo import install_examples  # noqa: E402

# Runs a command and prints the peak RSS (KiB) of it and its children.
_PEAK = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)


def _env(base: Path, src: Path | None) -> dict[str, str]:
    env = daemon_env(base)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def _du(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def run_once_peak(big_bytes: int, src: Path | None) -> tuple[float, float]:
    """(peak RSS MB of the second ``run --once``, size MB of the root's .git after it), with a
    ``big_bytes`` file dropped into the root between the two runs (none when 0)."""
    base = Path(tempfile.mkdtemp(prefix="mdbench-atk-", dir="/tmp"))
    try:
        install_examples(base / "codex" / "sessions")
        env = _env(base, src)
        cmd = [sys.executable, "-m", "memoryd", "run", "--once"]
        subprocess.run(cmd, env=env, cwd=base, check=True, capture_output=True)
        root = base / "codex" / "memories"
        if not root.is_dir():  # a checkout whose root lives in the state dir
            root = base / "state" / "memories"
        if big_bytes:
            with open(root / "video.mp4", "wb") as f:
                chunk = b"\x5a" * (1 << 20)
                for _ in range(big_bytes >> 20):
                    f.write(chunk)
        (root / "MEMORY.md").write_text(
            (root / "MEMORY.md").read_text() + "\n- a user's edit\n"
        )  # so that both runs consolidate
        out = subprocess.run(
            [sys.executable, "-c", _PEAK, *cmd], env=env, cwd=base, check=True,
            capture_output=True, text=True,
        )  # fmt: skip
        peak_kib = int(out.stdout.strip().splitlines()[-1])
        return peak_kib / 1024, _du(root / ".git") / 1e6
    finally:
        shutil.rmtree(base, ignore_errors=True)


BAIT = "a" * 40 + "!\n"


def hostile_model(req: ReceivedRequest) -> Behaviour:
    if "tools" not in req.json:
        return Reply(text='{"rollout_summary": "s", "rollout_slug": null, "raw_memory": "m"}')
    n = model_turns(req)
    if n == 0:
        args = {"path": "bait.md", "content": BAIT}
        return Reply(text=None, items=[function_call_item("write_file", args, "t0_0")])
    args2 = {"pattern": "(a+)+$", "path": "bait.md", "regex": True}
    return Reply(text=None, items=[function_call_item("search", args2, f"t{n}_0")])


async def time_to_stop(hostile: bool, src: Path | None, grace: float) -> float:
    """Seconds from SIGTERM to exit of ``memoryd serve``: during the hostile search, or idle
    after its first pass; inf when it has not exited ``2 * grace + 30`` s after the signal."""
    give_up = 2 * grace + 30
    base = Path(tempfile.mkdtemp(prefix="mdbench-atk-", dir="/tmp"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        install_examples(base / "codex" / "sessions")
        async with ResponsesServer(responder=hostile_model) as srv:
            backend = "openai" if hostile else "offline"
            (base / "memoryd.toml").write_text(
                f'[phase1]\nbackend = "{backend}"\n'
                f'[phase2]\nbackend = "{backend}"\nmin_interval_seconds = 0\n'
                # the search's own deadline out of the way (a checkout without the key: none)
                + ("search_regex_seconds = 600\n" if src is None else "")
                + f'[backends.openai]\nbase_url = "{srv.url}"\napi_key_env = "{KEY_ENV}"\n'
                f'[log]\nlevel = "debug"\n[daemon]\nshutdown_grace_seconds = {grace}\n'
            )
            env = _env(base, src)
            cfg = str(base / "memoryd.toml")
            proc = subprocess.Popen(
                [sys.executable, "-m", "memoryd", "--config", cfg, "serve"], env=env, cwd=base,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            log = base / "state" / "logs" / "memoryd.log"
            wanted = "phase2_agent_turn" if hostile else "phase2_nothing_changed"

            def ready() -> bool:
                events = read_log(log)
                if hostile:
                    return any(e.get("event") == wanted and e.get("turn") == 2 for e in events)
                return any(e.get("event") in (wanted, "phase2_succeeded") for e in events)

            deadline = time.monotonic() + 120
            while not ready():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the daemon did not reach the point to stop at")
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            while proc.poll() is None:
                if time.monotonic() - start > give_up:
                    return float("inf")  # killed (by PID) on the way out
                await asyncio.sleep(0.01)
            return time.monotonic() - start
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--big-mb", type=int, default=200)
    ap.add_argument("--grace", type=float, default=10.0, help="shutdown_grace_seconds")
    ap.add_argument("--src", type=Path, default=None, help="run the memoryd of this checkout")
    args = ap.parse_args()
    os.environ.setdefault(KEY_ENV, "dummy-key")

    base_rss, base_git = run_once_peak(0, args.src)
    big_rss, big_git = run_once_peak(args.big_mb << 20, args.src)
    print(f"run --once peak RSS, no big file:        {base_rss:8.1f} MB  (.git {base_git:.2f} MB)")
    print(f"run --once peak RSS, {args.big_mb} MB file in root: {big_rss:8.1f} MB  "
          f"(.git {big_git:.2f} MB)")  # fmt: skip
    print(f"ratio (big / none): {big_rss / base_rss:.2f}x")

    idle = asyncio.run(time_to_stop(False, args.src, args.grace))
    hostile = asyncio.run(time_to_stop(True, args.src, args.grace))
    print(f"SIGTERM to exit, idle daemon:            {idle:8.2f} s")
    shown = f"{hostile:8.2f} s" if hostile != float("inf") else f"> {2 * args.grace + 30:g} s"
    print(f"SIGTERM to exit, during a hostile regex: {shown}  (grace {args.grace:g} s)")
    print(f"ratio (hostile / idle): {hostile / idle:.2f}x")


if __name__ == "__main__":
    main()
