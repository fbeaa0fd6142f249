"""``memoryd demo``: the whole pipeline on bundled example rollouts, in a temporary home.

The examples are real rollouts written by the Codex CLI 0.169.0 under ``codex exec``. Codex
never takes memories from ``exec`` sessions, so the demo stores them as ``cli`` sessions (the
same edit the observed reference made to get real rollouts processed) and dates them 13 hours
back, past the default idle window. Built-in defaults are used; the user's config is not read.

The demo home is kept, and the output says so with the command that removes it: the point of
the demo is to look at the memory folder, the state DB and the log it made, which a removed
temporary directory would not allow (``--dir`` picks where it goes).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import anyio

from memoryd import clock
from memoryd import log as logsetup
from memoryd.config import Config, Settings, resolve_paths
from memoryd.daemon.runonce import RunSummary, run_once

IDLE_BACKDATE_SECONDS = 13 * 3600


def example_rollouts() -> list[tuple[str, bytes]]:
    folder = resources.files("memoryd") / "examples"
    return sorted((e.name, e.read_bytes()) for e in folder.iterdir() if e.name.endswith(".jsonl"))


def install_examples(sessions_dir: Path, now: float | None = None) -> list[Path]:
    """Write the bundled rollouts as idle ``cli`` sessions; return their paths."""
    now = clock.now_ms() / 1000 if now is None else now
    out: list[Path] = []
    for name, data in example_rollouts():
        # rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl -> sessions/YYYY/MM/DD/
        y, m, d = name[len("rollout-") :][:10].split("-")
        day = sessions_dir / y / m / d
        day.mkdir(parents=True, exist_ok=True)
        first, _, rest = data.partition(b"\n")
        first = first.replace(b'"source":"exec"', b'"source":"cli"', 1)
        path = day / name
        path.write_bytes(first + b"\n" + rest)
        t = now - IDLE_BACKDATE_SECONDS
        os.utime(path, (t, t))
        out.append(path)
    return out


def run_demo(
    directory: str | None,
    *,
    as_json: bool,
    print_summary: Callable[[RunSummary, bool], None],
) -> int:
    base = (
        Path(directory).absolute() if directory else Path(tempfile.mkdtemp(prefix="memoryd-demo-"))
    )
    base.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(base),
        "CODEX_HOME": str(base / "codex"),
        "MEMORYD_STATE_DIR": str(base / "state"),
        "MEMORYD_SOCKET": str(base / "state" / "memoryd.sock"),
    }
    cfg = Config()
    settings = Settings(config=cfg, source="<built-in defaults>", paths=resolve_paths(cfg, env))
    installed = install_examples(settings.paths.sessions_dirs[0])
    logsetup.configure("warning", settings.paths.log_dir)
    summary = anyio.run(run_once, settings)
    print_summary(summary, as_json)
    kept = f"the demo home stays for you to look at: {base} (remove it with `rm -rf {base}`)"
    if as_json:
        print(f"memoryd: {kept}", file=sys.stderr)
    else:
        print(f"demo home: {base}")
        print(f"example rollouts: {len(installed)} under {settings.paths.sessions_dirs[0]}")
        print(f"state DB: {settings.paths.db_path}")
        root = settings.paths.memory_root
        print(f"memory folder: {root}")
        for f in sorted(
            p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts
        ):
            print(f"  {f.relative_to(root)}  ({f.stat().st_size:,} bytes)")
        link = summary.link.link if summary.link else settings.paths.codex_home / "memories"
        if link.is_symlink():  # what Codex reads, and why it cannot write there (SPEC §1)
            print(f"Codex reads it through the link {link} -> {os.readlink(link)}")
        print(kept)
    return 0
