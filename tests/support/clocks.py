"""Pinning memoryd's clock in tests that run the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from memoryd import clock


def ms(iso: str) -> int:
    """Epoch milliseconds of an ISO 8601 instant with its offset (``2026-12-01T12:00:00+00:00``)."""
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


@contextmanager
def pinned_clock(start_ms: int) -> Iterator[clock.PinnedClock]:
    """memoryd's wall clock starts at ``start_ms`` and runs at the real rate, so the real
    pipeline's waits still end while every date derived from "now" is the same on any day."""
    pinned = clock.PinnedClock(start_ms)
    clock.set_clock(pinned)
    try:
        yield pinned
    finally:
        clock.set_clock(clock.SystemClock())
