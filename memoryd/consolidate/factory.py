"""Build the configured consolidation agent."""

from __future__ import annotations

from memoryd.config import Config
from memoryd.consolidate.base import ConsolidationAgent
from memoryd.errors import ConfigError


def make_consolidator(cfg: Config, source: str = "<config>") -> ConsolidationAgent:
    """The phase-2 agent named by ``phase2.backend``; an unknown name is refused with a config
    error naming the key, before anything runs."""
    name = cfg.phase2.backend
    if name == "offline":
        from memoryd.consolidate.offline import OfflineConsolidator

        return OfflineConsolidator()
    if name == "openai":
        from memoryd.consolidate.openai import OpenAIConsolidator

        return OpenAIConsolidator.from_config(cfg)
    if name == "chat":
        from memoryd.consolidate.chat import ChatConsolidator

        return ChatConsolidator.from_config(cfg, source)
    if name == "codex":
        from memoryd.consolidate.codex import CodexConsolidator

        return CodexConsolidator.from_config(cfg, source)
    raise ConfigError(source, "phase2.backend", f"unknown backend {name!r}")
