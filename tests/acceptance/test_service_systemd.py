"""``memoryd service install`` under a real ``systemd --user`` manager: the installed unit
starts (Type=notify), writes the memory root and the state dir under ProtectSystem=strict,
answers on its socket, reloads, stops, starts again on a fresh machine (no state dir), is not
restarted after a config error (exit 2), and uninstalls.

The manager runs in a private mount namespace (tests/support/systemd_user.sh says why and what
it changes there), which needs root and ``unshare``; the test skips where that or systemd 252+
is missing. Two options, ProtectKernelTunables= and ProtectKernelLogs=, are switched off by a
drop-in because this container cannot set them up for any unit."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "support" / "systemd_user.sh"
SYSTEMD = Path("/lib/systemd/systemd")


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root for a private mount namespace"
    if not SYSTEMD.exists() or shutil.which("systemctl") is None:
        return "systemd is not installed (apt-get install systemd)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, timeout=30
    )
    if probe.returncode != 0:
        return f"cannot make a mount namespace here: {probe.stderr.decode().strip()}"
    return None


def test_the_installed_unit_runs_under_a_real_systemd_user_manager(tmp_path: Path) -> None:
    why = _why_not()
    if why is not None:
        pytest.skip(why)
    memoryd = Path(sys.executable).parent / "memoryd"
    if not memoryd.exists():
        pytest.skip(f"no memoryd executable beside {sys.executable}")
    pidfile = tmp_path / "manager.pid"
    proc = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", str(SCRIPT), str(memoryd),
         sys.executable, str(pidfile)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _stop_manager(pidfile)
    facts = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if facts.get("manager") in (None, "none"):
        pytest.skip(f"systemd --user did not start here: {out.strip()[-300:]}")
    assert facts["manager"].startswith("systemd 2"), out
    assert facts["install"] == "0", out
    assert facts["active"] == "active", out
    assert facts["memory_md"] == "yes", out  # the memory root is writable in the sandbox
    assert facts["status"] == "daemon: running", out
    assert facts["socket"] == "memoryd.sock", out
    assert int(facts["reloaded"]) >= 1, out
    assert facts["service_status"].endswith("): active"), out
    assert facts["stopped"] == "success", out
    assert facts["fresh_start"] == "0 active", out
    assert facts["config_error"] == "2 0 failed", out  # exit 2, no restart
    assert facts["uninstall"] == "0 gone", out


def _stop_manager(pidfile: Path) -> None:
    """SIGTERM the manager this test started (by its PID), which stops its units; SIGKILL if
    it does not exit."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pidfile.read_text().strip())
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)
