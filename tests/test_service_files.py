"""The systemd unit, the launchd agent and scripts/install-service.

``systemd-analyze verify`` checks the unit as install-service writes it (with a real executable,
in a path that needs quoting). There is no user systemd or launchd here, so the install and
uninstall runs use a stand-in ``systemctl`` on PATH that records its arguments; everything else
(files written, modes, removal) is real.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "memoryd.service"
PLIST = REPO / "config" / "io.memoryd.agent.plist"
INSTALL = REPO / "scripts" / "install-service"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections → key → values (a key may repeat in a unit file)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in text.splitlines():
        ln = raw.strip()
        if not ln or ln.startswith(("#", ";")):
            continue
        if ln.startswith("["):
            section = ln.strip("[]")
            out.setdefault(section, {})
            continue
        key, _, value = ln.partition("=")
        out[section].setdefault(key, []).append(value)
    return out


def fake_memoryd(directory: Path) -> Path:
    """An executable named memoryd (a real file, so systemd-analyze accepts the path)."""
    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / "memoryd"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return exe


def fake_systemctl(bin_dir: Path, log: Path, fail_on: str = "") -> None:
    """A systemctl that appends its arguments to ``log`` (and fails for ``fail_on``)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "systemctl"
    fail = f'case "$*" in *"{fail_on}"*) exit 1;; esac\n' if fail_on else ""
    script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n{fail}exit 0\n')
    script.chmod(0o755)


def install(
    home: Path, *args: str, path_prefix: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run scripts/install-service with HOME=home (and ``path_prefix`` first on PATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, str(INSTALL), *args], env=env, capture_output=True, text=True, timeout=60
    )


def systemd_verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze --user verify`` (skips the test when systemd-analyze is absent)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd; .ci/run does)")
    runtime = tmp_path / "run"  # a user manager needs one, even offline
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime)}
    return subprocess.run(
        [analyze, "--user", "--man=no", "verify", str(unit)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME for install-service."""
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def exe(tmp_path: Path) -> Path:
    return fake_memoryd(tmp_path / "venv" / "bin")


@pytest.fixture
def systemctl_log(tmp_path: Path) -> Path:
    """The stand-in systemctl's log; the stand-in is in ``tmp_path / "bin"``."""
    log = tmp_path / "systemctl.log"
    fake_systemctl(tmp_path / "bin", log)
    return log


def files_under(p: Path) -> list[Path]:
    return sorted(x for x in p.rglob("*"))


# ------------------------------------------------------------------------------------ the unit


def test_unit_is_a_hardened_notify_user_service() -> None:
    unit = parse_unit(UNIT.read_text())
    svc = unit["Service"]
    assert svc["Type"] == ["notify"]
    assert svc["NotifyAccess"] == ["main"]
    assert int(svc["WatchdogSec"][0]) > 0
    assert svc["Restart"] == ["on-failure"]
    assert svc["ExecStart"][0].endswith("/memoryd serve")
    assert svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectKernelTunables": "yes",
        "LockPersonality": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "UMask": "0077",
    }.items():
        assert svc[key] == [value], key
    writable = " ".join(svc["ReadWritePaths"]).split()
    assert {"-%h/.codex", "-%h/.local/state/memoryd"} <= set(writable)
    assert svc["RuntimeDirectory"] == ["memoryd"]  # %t/memoryd, for the control socket
    assert svc["StandardError"] == ["journal"]
    assert unit["Install"]["WantedBy"] == ["default.target"]


def test_installed_unit_passes_systemd_analyze_verify(
    tmp_path: Path, home: Path, systemctl_log: Path
) -> None:
    # A directory name with a blank and a '%': install-service must quote and escape it.
    exe = fake_memoryd(tmp_path / "my tools 100%")
    done = install(home, "--memoryd", str(exe), path_prefix=tmp_path / "bin")
    assert done.returncode == 0, done.stderr
    unit = home / ".config" / "systemd" / "user" / "memoryd.service"
    text = unit.read_text()
    assert f'ExecStart="{str(exe).replace("%", "%%")}" serve\n' in text
    checked = systemd_verify(unit, tmp_path)
    # verify exits 0 even for unknown keys and unparsable values; those are printed instead.
    assert (checked.returncode, checked.stderr.strip(), checked.stdout.strip()) == (0, "", "")


def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key and a missing executable are reported."""
    broken = tmp_path / "memoryd.service"
    broken.write_text(
        UNIT.read_text().replace("ProtectSystem=", "ProtectSystm=")
        .replace("%h/.local/bin/memoryd", str(tmp_path / "nowhere"))
    )  # fmt: skip
    checked = systemd_verify(broken, tmp_path)
    assert checked.returncode != 0
    assert "Unknown key 'ProtectSystm'" in checked.stderr
    assert "is not executable" in checked.stderr


# ------------------------------------------------------------------------------------ launchd


def test_plist_parses_and_runs_memoryd_serve() -> None:
    with PLIST.open("rb") as f:
        agent = plistlib.load(f)
    assert agent["Label"] == "io.memoryd.agent"
    assert agent["ProgramArguments"][1:] == ["serve"]
    assert Path(agent["ProgramArguments"][0]).name == "memoryd"
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}  # restart after a crash only
    assert agent["StandardOutPath"].endswith(".log")
    assert agent["StandardErrorPath"].endswith(".log")
    assert agent["Umask"] == 0o077


def test_macos_dry_run_fills_in_the_real_paths_and_writes_nothing(home: Path, exe: Path) -> None:
    done = install(home, "--platform", "macos", "--dry-run", "--memoryd", str(exe))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    target = home / "Library" / "LaunchAgents" / "io.memoryd.agent.plist"
    assert f"write {target}:" in out
    xml = out[out.index("<?xml") : out.index("</plist>") + len("</plist>")]
    agent = plistlib.loads(xml.encode())
    assert agent["ProgramArguments"] == [str(exe), "serve"]
    logs = home / "Library" / "Logs" / "memoryd"
    assert agent["StandardOutPath"] == str(logs / "memoryd.out.log")
    assert agent["StandardErrorPath"] == str(logs / "memoryd.err.log")
    assert agent["EnvironmentVariables"]["PATH"] == os.environ["PATH"]
    uid = os.getuid()
    assert f"$ launchctl bootstrap gui/{uid} {target}" in out
    assert out.rstrip().endswith("(dry run: nothing was changed)")
    assert files_under(home) == []


# ------------------------------------------------------------------------------------ installer


def test_linux_dry_run_prints_the_unit_and_commands_and_writes_nothing(
    home: Path, exe: Path
) -> None:
    done = install(home, "--platform", "linux", "--dry-run", "--memoryd", str(exe))
    assert done.returncode == 0, done.stderr
    target = home / ".config" / "systemd" / "user" / "memoryd.service"
    assert f"write {target}:" in done.stdout
    assert f"ExecStart={exe} serve" in done.stdout
    assert "Type=notify" in done.stdout
    commands = [ln for ln in done.stdout.splitlines() if ln.startswith("$ ")]
    assert commands == [
        "$ systemctl --user daemon-reload",
        "$ systemctl --user enable memoryd.service",
        "$ systemctl --user restart memoryd.service",
    ]
    assert files_under(home) == []


def test_linux_install_then_uninstall(
    tmp_path: Path, home: Path, exe: Path, systemctl_log: Path
) -> None:
    log = systemctl_log
    target = home / ".config" / "systemd" / "user" / "memoryd.service"

    done = install(home, "--memoryd", str(exe), path_prefix=tmp_path / "bin")
    assert done.returncode == 0, done.stderr
    expected = UNIT.read_text().replace("ExecStart=%h/.local/bin/memoryd serve",
                                        f"ExecStart={exe} serve")  # fmt: skip
    assert target.read_text() == expected
    assert target.stat().st_mode & 0o777 == 0o644
    assert log.read_text().splitlines() == [
        "--user daemon-reload", "--user enable memoryd.service", "--user restart memoryd.service",
    ]  # fmt: skip
    assert f"memoryd service installed: {target}" in done.stdout

    # A dry-run uninstall names what it would do and leaves everything in place.
    log.unlink()
    dry = install(home, "--uninstall", "--dry-run", path_prefix=tmp_path / "bin")
    assert dry.returncode == 0, dry.stderr
    assert f"remove {target}" in dry.stdout
    assert target.exists() and not log.exists()

    done = install(home, "--uninstall", path_prefix=tmp_path / "bin")
    assert done.returncode == 0, done.stderr
    assert not target.exists()
    assert log.read_text().splitlines() == [
        "--user disable --now memoryd.service", "--user daemon-reload",
    ]  # fmt: skip
    assert "its state dir and the memory folder are kept" in done.stdout

    again = install(home, "--uninstall", path_prefix=tmp_path / "bin")
    assert again.returncode == 0
    assert "memoryd service is not installed" in again.stdout


def test_install_without_a_memoryd_executable_fails_clearly(tmp_path: Path, home: Path) -> None:
    missing = tmp_path / "nowhere" / "memoryd"
    done = install(home, "--memoryd", str(missing))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"install-service: {missing} is not an executable file; pass --memoryd "
        "/path/to/memoryd"
    )
    assert files_under(home) == []


def test_a_failing_systemctl_is_reported(tmp_path: Path, home: Path, exe: Path) -> None:
    log = tmp_path / "systemctl.log"
    fake_systemctl(tmp_path / "bin", log, fail_on="enable")
    done = install(home, "--memoryd", str(exe), path_prefix=tmp_path / "bin")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "install-service: `systemctl --user enable memoryd.service` failed with exit status 1"
    )
    assert log.read_text().splitlines() == [
        "--user daemon-reload", "--user enable memoryd.service",
    ]  # fmt: skip  # stopped there: no restart of a unit that is not enabled
