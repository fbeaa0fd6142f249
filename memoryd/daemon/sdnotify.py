"""The systemd notification protocol (sd_notify(3)), without libsystemd.

A service started with ``Type=notify`` finds a datagram socket in ``$NOTIFY_SOCKET``: a path,
or an abstract-namespace name written with a leading ``@``. ``WATCHDOG_USEC`` (and optionally
``WATCHDOG_PID``) ask for ``WATCHDOG=1`` pings at least that often.

The daemon sends ``READY=1`` after its first index scan, ``WATCHDOG=1`` every half timeout from
its event loop (a stuck loop stops the pings and systemd restarts the service), ``RELOADING=1``
… ``READY=1`` around a SIGHUP reload and ``STOPPING=1`` when it shuts down.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, MutableMapping

from memoryd import clock

_ENV_KEYS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def socket_address(value: str) -> str | bytes | None:
    """The address to ``sendto`` for a ``$NOTIFY_SOCKET`` value, or None if it is unusable."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None  # systemd also allows vsock:..., which a user service never gets


def reloading_state() -> str:
    """The ``RELOADING=1`` message, with the ``CLOCK_MONOTONIC`` time that systemd >= 253
    requires beside it (older versions ignore the extra line). Follow it with ``READY=1``."""
    usec = clock.kernel_monotonic_usec()
    return f"RELOADING=1\nMONOTONIC_USEC={usec}"


def watchdog_interval(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half the timeout, as systemd advises), or None."""
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None  # meant for another process (e.g. a wrapper that exec'd us is gone)
    return int(usec) / 1_000_000 / 2


class Notifier:
    """Sends state lines to the service manager; a no-op when there is no ``NOTIFY_SOCKET``."""

    def __init__(self, address: str | bytes | None, watchdog: float | None) -> None:
        self.address = address
        self.watchdog_seconds = watchdog
        self._sock: socket.socket | None = None

    @classmethod
    def from_environ(cls, environ: MutableMapping[str, str] | None = None) -> Notifier:
        """Read and then unset the variables, so that child processes (a backend CLI, git)
        cannot send notifications in our name."""
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        address = socket_address(raw) if raw else None
        watchdog = watchdog_interval(env, os.getpid()) if address is not None else None
        for key in _ENV_KEYS:
            env.pop(key, None)
        return cls(address, watchdog)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, state: str) -> None:
        """Send one datagram such as ``READY=1``. Raises OSError if the socket refuses it."""
        if self.address is None:
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # Never block the event loop on a full receive queue of the service manager.
            self._sock.setblocking(False)
        self._sock.sendto(state.encode(), self.address)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
