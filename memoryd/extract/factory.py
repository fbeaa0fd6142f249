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


def meaning_status(cfg: Config) -> tuple[bool, str]:
    """Whether extraction uses the offline extractor's meaning model under ``cfg``, and why,
    in a line for doctor and ``memoryd config``. Only the offline phase-1 backend runs it:
    openai, chat and codex extract with their own model, and no consolidation uses it."""
    from memoryd.extract.offline.meaning import status

    backend = cfg.phase1.backend
    if backend != "offline":
        return False, (
            f"not used: phase 1 extracts with the {backend} backend's model; "
            f'offline.meaning = "{cfg.offline.meaning}" applies to the offline backend only'
        )
    return status(cfg.offline.meaning)
