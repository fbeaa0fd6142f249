"""The only place memoryd reads the time, so tests can swap in a fake clock.

Everything that decides *when* (idleness, leases, backoffs, budgets' days, dates written into
memory files) asks the swappable clock: ``now_ms``/``now_s``/``monotonic``. Three reads are
deliberately not swappable, because what they are compared with comes from the kernel, not from
memoryd: ``fs_time_ns`` (compared with file ctimes), ``kernel_monotonic_usec`` (systemd's
``MONOTONIC_USEC``) and ``perf`` (durations reported in statistics). A test greps the package
for clock reads outside this module.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class PinnedClock:
    """Wall time that starts at a chosen instant and then runs at the real rate.

    For tests that run the real pipeline (which waits on real time) but assert dates derived
    from "now": the dates are those of the pinned instant on any day the test runs."""

    def __init__(self, start_ms: int) -> None:
        self._start_ms = start_ms
        self._mono0 = time.monotonic()

    def now_ms(self) -> int:
        return self._start_ms + int((time.monotonic() - self._mono0) * 1000)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self._now_ms = now_ms
        self._mono = 0.0

    def now_ms(self) -> int:
        return self._now_ms

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now_ms += int(seconds * 1000)
        self._mono += seconds


_clock: Clock = SystemClock()


def get() -> Clock:
    return _clock


def set_clock(clock: Clock) -> None:
    global _clock
    _clock = clock


def now_ms() -> int:
    return _clock.now_ms()


def now_s() -> int:
    return _clock.now_ms() // 1000


def fs_time_ns() -> int:
    """The kernel's wall clock, for comparisons with file-system timestamps (never faked: a
    file's ctime comes from the kernel, whatever clock a test swaps in)."""
    return time.time_ns()


def kernel_monotonic_usec() -> int:
    """``CLOCK_MONOTONIC`` in microseconds, as systemd's notify protocol requires."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def perf() -> float:
    """A high-resolution counter for durations reported in statistics (not for deciding)."""
    return time.perf_counter()
