"""Build the configured stage-1 extractor."""

from __future__ import annotations

from memoryd.config import Config
from memoryd.errors import ConfigError
from memoryd.extract.base import Extractor


def make_extractor(cfg: Config, source: str = "<config>") -> Extractor:
    """The phase-1 backend named by ``phase1.backend``. An unknown name is refused with a
    config error naming the key, before any job is claimed."""
    name = cfg.phase1.backend
    if name == "offline":
        from memoryd.extract.offline import OfflineExtractor
        from memoryd.extract.offline.meaning import ModelMissing, from_setting

        try:
            return OfflineExtractor(from_setting(cfg.offline.meaning))
        except ModelMissing as e:
            raise ConfigError(source, "offline.meaning", str(e)) from None
    if name == "openai":
        from memoryd.extract.openai import OpenAIExtractor

        return OpenAIExtractor.from_config(cfg)
    if name == "chat":
        from memoryd.extract.chat import ChatExtractor

        return ChatExtractor.from_config(cfg, source)
    if name == "codex":
        from memoryd.extract.codex import CodexExtractor

        return CodexExtractor.from_config(cfg, source)
    raise ConfigError(source, "phase1.backend", f"unknown backend {name!r}")
