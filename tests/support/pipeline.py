"""A whole memoryd pipeline in a temp dir for history/maintenance tests: the bundled real
rollouts, a real state DB, the real indexer, offline phase 1 and a Consolidator that keeps a
run history. Nothing here stands in for memoryd's own code."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from memoryd.config import Config, Settings, resolve_paths
from memoryd.consolidate.base import ConsolidationAgent
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.demo import install_examples
from memoryd.extract.offline import OfflineExtractor
from memoryd.phase1 import Phase1
from memoryd.phase2 import Consolidator
from memoryd.phase2.result import Phase2Result
from memoryd.rollouts.indexer import Indexer
from memoryd.store.db import open_db
from memoryd.workspace.history import history_dir

UV_THREAD = "01a2013d-497f-71f0-81b9-4c6d2314a10b"  # proj-alpha: "I prefer uv over pip"
TOOLS_THREAD = "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0"  # proj-tools: "use ripgrep ... grep"
COMPACT_THREAD = "01a2013e-ff1a-7c20-8973-b369527e3057"  # proj-compact: the giant log
UV_FACT = "use uv rather than pip"
TOOLS_FACT = "use ripgrep rather than grep"
COMPACT_FACT = "Load the giant log file"
SAMPLES_CWD = "/home/dev/code/samples-13uz"  # proj-tools and proj-compact live under it


@dataclass
class Pipeline:
    conn: aiosqlite.Connection
    home: Path
    state: Path
    held_back: list[Path]  # rollouts installed later by release()

    @property
    def root(self) -> Path:
        return self.home / "memories"

    @property
    def sessions(self) -> Path:
        return self.home / "sessions"

    def consolidator(self, agent: ConsolidationAgent | None = None) -> Consolidator:
        return Consolidator(
            self.conn,
            Config(),
            agent or OfflineConsolidator(),
            root=self.root,
            codex_home=self.home,
            worker_id="test",
            history_dir=history_dir(self.state),
        )

    async def index(self) -> None:
        await Indexer(self.conn, [self.sessions], self.home / "archived_sessions").scan_all()

    async def extract(self) -> None:
        """Index the sessions and run phase 1 until nothing is eligible."""
        await self.index()
        await Phase1(self.conn, Config(), OfflineExtractor()).run(until_idle=True)

    async def run(self, agent: ConsolidationAgent | None = None) -> Phase2Result:
        return await self.consolidator(agent).run_once()

    async def release(self) -> None:
        """Install the held-back rollouts (mtimes kept: they are idle) and extract them."""
        for path in self.held_back:
            shutil.move(path.with_suffix(".held"), path)
        self.held_back = []
        await self.extract()

    async def count(self, sql: str, *params: object) -> int:
        rows = list(await self.conn.execute_fetchall(sql, params))
        return int(rows[0][0])


async def open_pipeline(tmp: Path, *, hold_back: tuple[str, ...] = ()) -> Pipeline:
    """The pipeline with every bundled rollout extracted, except the threads in
    ``hold_back`` (their files wait beside the sessions until :meth:`Pipeline.release`)."""
    home = tmp / "codex"
    held: list[Path] = []
    for path in install_examples(home / "sessions"):
        if any(tid in path.name for tid in hold_back):
            os.rename(path, path.with_suffix(".held"))
            held.append(path)
    state = tmp / "state"
    conn = await open_db(state / "memoryd.sqlite")
    pipe = Pipeline(conn, home, state, held)
    await pipe.extract()
    return pipe


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except ``.git``: what a rollback must reproduce."""
    out: dict[str, bytes] = {}
    for dirpath, dirs, files in os.walk(root):
        if Path(dirpath) == root and ".git" in dirs:
            dirs.remove(".git")
        for name in files:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def example_home(base: Path, **config: object) -> tuple[Path, list[Path], Settings]:
    """A Codex home under ``base`` holding the bundled rollouts as idle ``cli`` sessions, and
    the Settings ``memoryd run --once`` uses on it (state in ``base/s``; ``config``: Config
    fields, e.g. ``memory_root``)."""
    home = base / "codex"
    rollouts = install_examples(home / "sessions")
    env = {"HOME": str(base), "CODEX_HOME": str(home), "MEMORYD_STATE_DIR": str(base / "s")}
    cfg = Config(**config)  # type: ignore[arg-type]
    return home, rollouts, Settings(cfg, "<test>", resolve_paths(cfg, env))
