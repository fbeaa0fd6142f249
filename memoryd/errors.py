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


class LeaseLost(Exception):
    """A job this process had claimed is no longer its own: the lease ran out and another
    worker took the job over, or the row was reset. The owner stops working on it and writes
    nothing; the new owner's result is the one that counts.

    Not a MemorydError: it is never a run's failure to report, and the handlers that turn a
    MemorydError into a failed run must let it through."""


class LockLost(LeaseLost):
    """The phase-2 global lock (the one ``memory_consolidate_global`` job row) is no longer
    this process's: a consolidation stops, and its workspace is not made the new baseline."""
