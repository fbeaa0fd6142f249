"""One root exception; each subclass is one kind of failure a caller may handle."""

from __future__ import annotations


class MemorydError(Exception):
    """Base class of every error memoryd raises on purpose."""


class ConfigError(MemorydError):
    """The configuration file or environment is invalid; the message names the key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"config error: {where}: {problem}")


class StateDBError(MemorydError):
    """The state DB cannot be opened or migrated."""


class ArtifactError(MemorydError):
    """The memory root cannot hold the artifacts (e.g. a path that must be a directory is not)."""


class AlreadyRunning(MemorydError):
    """Another memoryd daemon already owns this state directory."""


class LinkError(MemorydError):
    """``<codex_home>/memories`` cannot be made the link to memoryd's root
    (memoryd/memroot/codexlink.py): the message says what was found there and what to do;
    nothing was changed."""
