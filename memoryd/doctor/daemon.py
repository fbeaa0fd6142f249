"""The check of the running daemon (the service): its control socket, private, and answering."""

from __future__ import annotations

from memoryd.config import Settings
from memoryd.control import client
from memoryd.doctor.check import Check, fail, not_private, ok, warn

SOCKET_TIMEOUT_SECONDS = 3.0


def check_socket(settings: Settings) -> Check:
    path = settings.paths.socket_path
    parent = path.parent
    try:
        problem = not_private(parent.stat())
    except OSError:
        problem = None  # a missing dir is the "not running" case below
    if problem:
        return fail("socket", f"socket directory {parent} is {problem}", f"chmod 700 {parent}")
    try:
        result = client.request(path, "ping", timeout=SOCKET_TIMEOUT_SECONDS)
    except client.DaemonNotRunning:
        return warn(
            "socket",
            f"daemon not running (nothing answers on {path})",
            "start it: memoryd serve, or install the service with `memoryd service install`",
        )
    except client.ControlError as e:
        # It answered, so the socket works; an older daemon may not know `ping`.
        return ok("socket", f"daemon answers on {path} (ping: {e.code})")
    except (OSError, ValueError) as e:
        return fail(
            "socket",
            f"cannot talk to the daemon on {path}: {e}",
            f"check the owner and mode of {path}; restart the daemon",
        )
    detail = ""
    if isinstance(result, dict):
        detail = ", ".join(f"{k} {result[k]}" for k in ("pid", "version") if k in result)
    return ok("socket", f"daemon answers on {path}" + (f" ({detail})" if detail else ""))
