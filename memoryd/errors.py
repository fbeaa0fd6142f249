"""One root exception; each subclass is one kind of failure a caller may handle."""

from __future__ import annotations

import errno
import os


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


# Out of file descriptors (this process's open-files limit or the system's): it passes once
# connections and other work close theirs, so phases 1 and 2 try again soon instead of after
# their retry_delay_seconds, phase 1 without spending a retry, and the stored reason says what
# to raise.
_DESCRIPTOR_ERRNOS = (errno.EMFILE, errno.ENFILE)
DESCRIPTOR_RETRY_SECONDS = 60
DESCRIPTOR_HINT = "out of file descriptors: raise the open-files limit (ulimit -n / LimitNOFILE)"


def out_of_descriptors(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it was raised from, is EMFILE or ENFILE. libgit2 says
    so in text only (a pygit2.GitError carries no errno), so the messages are read too."""
    texts = [os.strerror(n) for n in _DESCRIPTOR_ERRNOS]
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _DESCRIPTOR_ERRNOS:
            return True
        if any(t in str(e) for t in texts):
            return True
        e = e.__cause__ or e.__context__
    return False
