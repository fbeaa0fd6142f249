"""Both state engines for the store tests: a *target* names one state DB, a SQLite file path
or a PostgreSQL DSN, and ``open_target`` opens a connection to it the way the daemon does
(``store.db.open_state``), so that tests and their helper processes parametrise over engines
instead of copying tests."""

from __future__ import annotations

from pathlib import Path

from memoryd.config import Config, Settings, StateConfig, resolve_paths
from memoryd.store.db import open_state
from memoryd.store.engine import Connection

ENGINES = ("sqlite", "postgres")
DSN_ENV = "MEMORYD_TEST_PG_DSN"


def is_dsn(target: str) -> bool:
    return target.startswith("postgresql://")


def settings_for(target: str, pool_size: int = 4) -> Settings:
    """Settings whose state is ``target`` (its DSN read from DSN_ENV: see ``open_target``)."""
    if is_dsn(target):
        state = StateConfig(backend="postgres", dsn_env=DSN_ENV, pool_size=pool_size)
        cfg = Config(state=state)
    else:
        cfg = Config(state_dir=str(Path(target).parent))
    return Settings(cfg, "<test>", resolve_paths(cfg, {"HOME": "/nonexistent"}))


async def open_target(target: str, pool_size: int = 4) -> Connection:
    """A new connection to the state DB ``target`` names, migrated."""
    env = {DSN_ENV: target} if is_dsn(target) else {}
    return await open_state(settings_for(target, pool_size), env)
