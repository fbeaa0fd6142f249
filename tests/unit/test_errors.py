"""The lost-lease signal (memoryd/errors.py): one public class, with the phase-2 lock as a kind
of it, outside the MemorydError tree."""

from __future__ import annotations

import pytest

from memoryd.errors import LeaseLost, LockLost, MemorydError


def test_a_lost_lock_is_a_lost_lease() -> None:
    with pytest.raises(LeaseLost):
        raise LockLost


@pytest.mark.parametrize("cls", [LeaseLost, LockLost])
def test_a_lost_lease_passes_the_handlers_that_record_a_failed_run(cls: type[Exception]) -> None:
    """phase2.Consolidator turns ``(OSError, MemorydError)`` into a failed run with the error
    as its reason; a lost lock must get past that handler to the one that records it as
    ``lease lost`` (and never resets the baseline)."""
    with pytest.raises(cls):
        try:
            raise cls
        except (OSError, MemorydError):
            pytest.fail(f"{cls.__name__} was caught as a MemorydError")
