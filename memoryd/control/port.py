"""What a control command may ask of the running daemon: the port between the commands
(control/commands.py) and the daemon that serves them (daemon/supervisor.py).

The commands sit below the daemon: they are run by it for a socket request and by the CLI
when no daemon answers. They see the daemon only through this protocol, so they never import
it, nor reach into its events, its phase-1 loop or its task group.
"""

from __future__ import annotations

from typing import Protocol

from memoryd.config import Settings
from memoryd.control.results import PauseResult
from memoryd.phase2 import Consolidator
from memoryd.phase2.result import Phase2Result
from memoryd.store.jobs import Candidate, ClaimOutcome


class DaemonPort(Protocol):
    @property
    def started_at(self) -> int: ...

    @property
    def settings(self) -> Settings:
        """The settings in force (a reload replaces them)."""
        ...

    @property
    def consolidator(self) -> Consolidator:
        """The daemon's phase-2 runner: a rollback goes through it, under the phase-2 lock."""
        ...

    @property
    def paused(self) -> bool: ...

    def is_ready(self) -> bool:
        """The daemon has finished starting (its first index pass, its side tasks)."""
        ...

    def is_stopping(self) -> bool: ...

    async def set_paused(self, paused: bool) -> PauseResult: ...

    async def trigger_phase2(self) -> Phase2Result: ...

    async def trigger_thread(self, cand: Candidate) -> ClaimOutcome: ...

    def wake_phase1(self) -> None:
        """Let an idle claim loop look for pending threads now."""
        ...

    def wake_phase2(self, *, bypass_interval: bool = False) -> None: ...
