"""The world most phase-2 tests start from: the bundled real rollouts in a Codex home, a real
state DB indexed from them, and offline phase 1 run until idle (so every thread has its
stage-1 output). Shared by the phase-2, HTTP-backend and attack tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from memoryd.config import Config
from memoryd.demo import install_examples
from memoryd.extract.offline import OfflineExtractor
from memoryd.phase1 import Phase1
from memoryd.rollouts.indexer import Indexer
from memoryd.store.db import open_db


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[aiosqlite.Connection, Path, Path]]:
    home = tmp_path / "codex"
    install_examples(home / "sessions")
    conn = await open_db(tmp_path / "state" / "memoryd.sqlite")
    await Indexer(conn, [home / "sessions"], home / "archived_sessions").scan_all()
    await Phase1(conn, Config(), OfflineExtractor()).run(until_idle=True)
    try:
        yield conn, home, home / "memories"
    finally:
        await conn.close()
