"""The systemd unit, the launchd agent, ``memoryd service`` and scripts/install-service.

``systemd-analyze verify`` checks the unit as ``memoryd service install`` writes it (with a real
executable, in a path that needs quoting, with settings to carry). There is no user systemd or
launchd here, so the install and uninstall runs use a stand-in ``systemctl`` on PATH that
records its arguments; everything else (files written, directories made, modes, removal) is
real. The files come from the package (``memoryd/share/``): a wheel built from this tree is
checked to hold them and to install the service without the checkout.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "memoryd" / "share" / "memoryd.service"
PLIST = REPO / "memoryd" / "share" / "io.memoryd.agent.plist"
INSTALL = REPO / "scripts" / "install-service"
SETTINGS = ("CODEX_HOME", "MEMORYD_")


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


def clean_env(home: Path, path_prefix: Path | None = None, **extra: str) -> dict[str, str]:
    """This environment without XDG and memoryd settings, HOME=home, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", *SETTINGS))}
    env["HOME"] = str(home)
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def install(
    home: Path, *args: str, path_prefix: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run ``memoryd service ARGS`` (``install`` unless ARGS start with an action) with
    HOME=home (and ``path_prefix`` first on PATH, ``extra`` in the environment)."""
    action = [] if args and args[0] in ("install", "uninstall", "status") else ["install"]
    return subprocess.run(
        [sys.executable, "-m", "memoryd", "service", *action, *args],
        env=clean_env(home, path_prefix, **extra), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


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
    # Created before every start, outside the sandbox, so that ProtectSystem=strict does not
    # drop it on a fresh machine (StateDirectory= would be ~/.config before systemd 254).
    assert svc["ExecStartPre"] == ["+/bin/mkdir -p -m 0700 %h/.local/state/memoryd"]
    assert "StateDirectory" not in svc
    (doc,) = unit["Unit"]["Documentation"]
    assert "memoryd" in doc and "codex" not in doc.lower()
    assert svc["StandardError"] == ["journal"]
    assert unit["Install"]["WantedBy"] == ["default.target"]


def test_installed_unit_passes_systemd_analyze_verify(
    tmp_path: Path, home: Path, systemctl_log: Path
) -> None:
    # A directory name with a blank and a '%': the installer must quote and escape it, in
    # ExecStart= as in the settings it carries.
    exe = fake_memoryd(tmp_path / "my tools 100%")
    codex = tmp_path / "codex home 100%"
    done = install(home, "--memoryd", str(exe), path_prefix=tmp_path / "bin", CODEX_HOME=str(codex))
    assert done.returncode == 0, done.stderr
    unit = home / ".config" / "systemd" / "user" / "memoryd.service"
    text = unit.read_text()
    assert f'ExecStart="{str(exe).replace("%", "%%")}" serve\n' in text
    assert f'Environment="CODEX_HOME={str(codex).replace("%", "%%")}"\n' in text
    checked = systemd_verify(unit, tmp_path)
    # verify exits 0 even for unknown keys and unparsable values; those are printed instead.
    assert (checked.returncode, checked.stderr.strip(), checked.stdout.strip()) == (0, "", "")


def test_install_carries_the_users_settings_and_creates_the_writable_dirs(
    tmp_path: Path, home: Path, exe: Path, systemctl_log: Path
) -> None:
    """On a fresh machine none of the directories exist: install makes them (systemd drops a
    ReadWritePaths= entry that does not exist, leaving the daemon a read-only file system),
    and the unit sees the same CODEX_HOME / MEMORYD_* and config as the installing user."""
    codex, state = tmp_path / "elsewhere" / "codex", tmp_path / "elsewhere" / "state"
    root = tmp_path / "elsewhere" / "memories"
    cfg = tmp_path / "my.toml"
    cfg.write_text(f'memory_root = "{root}"\n')
    done = install(
        home, "--memoryd", str(exe), "--config", str(cfg), path_prefix=tmp_path / "bin",
        CODEX_HOME=str(codex), MEMORYD_STATE_DIR=str(state),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    svc = parse_unit((home / ".config/systemd/user/memoryd.service").read_text())["Service"]
    assert sorted(svc["Environment"]) == sorted([
        "PYTHONUNBUFFERED=1",
        f"CODEX_HOME={codex}",
        f"MEMORYD_CONFIG={cfg}",
        f"MEMORYD_STATE_DIR={state}",
    ])  # fmt: skip
    writable = " ".join(svc["ReadWritePaths"]).split()
    assert {str(codex), str(root), str(state)} <= set(writable)
    made = svc["ExecStartPre"][-1].split()
    assert made[:4] == ["+/bin/mkdir", "-p", "-m", "0700"]
    assert {str(codex), str(root), str(state)} <= set(made)
    for d in (codex, root, state):
        assert d.is_dir() and d.stat().st_mode & 0o777 == 0o700, d
        assert f"mkdir -m 700 {d}" in done.stdout
    # And Codex's memory folder is already the link to memoryd's root: one writer from now on.
    assert os.readlink(codex / "memories") == str(root)
    assert f"linked: {codex / 'memories'} -> {root}\n" in done.stdout


def test_install_takes_over_codexs_own_folder_and_a_dry_run_only_says_so(
    tmp_path: Path, home: Path, exe: Path, systemctl_log: Path
) -> None:
    codex = home / ".codex"
    (codex / "memories").mkdir(parents=True)
    (codex / "memories" / "MEMORY.md").write_text("# Codex's own\n")
    dry = install(home, "--memoryd", str(exe), "--dry-run", path_prefix=tmp_path / "bin")
    assert dry.returncode == 0, dry.stderr
    assert f"would link {codex / 'memories'} -> " in dry.stdout
    assert not (codex / "memories").is_symlink()
    done = install(home, "--memoryd", str(exe), path_prefix=tmp_path / "bin")
    assert done.returncode == 0, done.stderr
    assert (codex / "memories").is_symlink()
    (aside,) = codex.glob("memories.before-memoryd-*")
    assert (aside / "MEMORY.md").read_text() == "# Codex's own\n"
    assert f"took over: {codex / 'memories'} -> " in done.stdout


def test_install_without_settings_says_the_defaults_apply(
    tmp_path: Path, home: Path, exe: Path, systemctl_log: Path
) -> None:
    done = install(home, "--memoryd", str(exe), path_prefix=tmp_path / "bin")
    assert done.returncode == 0, done.stderr
    text = (home / ".config/systemd/user/memoryd.service").read_text()
    assert "# (no CODEX_HOME or MEMORYD_* variable was set: the defaults apply)\n" in text
    svc = parse_unit(text)["Service"]
    assert svc["Environment"] == ["PYTHONUNBUFFERED=1"]
    writable = " ".join(svc["ReadWritePaths"]).split()
    assert {str(home / ".codex"), str(home / ".local/state/memoryd")} <= set(writable)
    assert (home / ".local" / "state" / "memoryd").is_dir()


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
    # launchd restarts any non-zero exit; a config error must not be retried every 10 s.
    assert agent["EnvironmentVariables"]["MEMORYD_CONFIG_ERROR_STATUS"] == "0"


@pytest.mark.parametrize("agent_env", [False, True], ids=["systemd", "launchd-agent"])
def test_a_config_error_exits_so_that_launchd_does_not_restart(
    tmp_path: Path, home: Path, agent_env: bool
) -> None:
    """Exit 2 (RestartPreventExitStatus=2 under systemd); with the agent's variable, exit 0,
    which KeepAlive {SuccessfulExit: false} does not restart. The error is printed either way."""
    with PLIST.open("rb") as f:
        agent_vars = plistlib.load(f)["EnvironmentVariables"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[phase1]\nbackend = "opnai"\n')
    extra = {"MEMORYD_CONFIG_ERROR_STATUS": agent_vars["MEMORYD_CONFIG_ERROR_STATUS"]}
    done = subprocess.run(
        [sys.executable, "-m", "memoryd", "--config", str(bad), "serve"],
        env=clean_env(home, **(extra if agent_env else {})),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == (0 if agent_env else 2)
    assert "config error" in done.stderr and "phase1.backend" in done.stderr


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
    text = target.read_text()
    assert text.startswith(UNIT.read_text().split("ExecStart=")[0].split("Documentation=")[0])
    assert f"ExecStart={exe} serve\n" in text
    guide = REPO / "memoryd" / "share" / "service.md"
    assert f"Documentation=file://{guide}\n" in text and guide.is_file()
    assert target.stat().st_mode & 0o777 == 0o644
    assert log.read_text().splitlines() == [
        "--user daemon-reload", "--user enable memoryd.service", "--user restart memoryd.service",
    ]  # fmt: skip
    assert f"memoryd service installed: {target}" in done.stdout

    # A dry-run uninstall names what it would do and leaves everything in place.
    log.unlink()
    dry = install(home, "uninstall", "--dry-run", path_prefix=tmp_path / "bin")
    assert dry.returncode == 0, dry.stderr
    assert f"remove {target}" in dry.stdout
    assert target.exists() and not log.exists()

    done = install(home, "uninstall", path_prefix=tmp_path / "bin")
    assert done.returncode == 0, done.stderr
    assert not target.exists()
    assert log.read_text().splitlines() == [
        "--user disable --now memoryd.service", "--user daemon-reload",
    ]  # fmt: skip
    assert "its state dir and the memory folder are kept" in done.stdout

    again = install(home, "uninstall", path_prefix=tmp_path / "bin")
    assert again.returncode == 0
    assert "memoryd service is not installed" in again.stdout


def test_install_without_a_memoryd_executable_fails_clearly(tmp_path: Path, home: Path) -> None:
    missing = tmp_path / "nowhere" / "memoryd"
    done = install(home, "--memoryd", str(missing))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"memoryd: {missing} is not an executable file; pass --memoryd /path/to/memoryd"
    )
    assert files_under(home) == []


def test_a_failing_systemctl_is_reported(tmp_path: Path, home: Path, exe: Path) -> None:
    log = tmp_path / "systemctl.log"
    fake_systemctl(tmp_path / "bin", log, fail_on="enable")
    done = install(home, "--memoryd", str(exe), path_prefix=tmp_path / "bin")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "memoryd: `systemctl --user enable memoryd.service` failed with exit status 1"
    )
    assert log.read_text().splitlines() == [
        "--user daemon-reload", "--user enable memoryd.service",
    ]  # fmt: skip  # stopped there: no restart of a unit that is not enabled


def test_status_says_whether_it_is_installed_and_current(
    tmp_path: Path, home: Path, exe: Path, systemctl_log: Path
) -> None:
    bin_dir = tmp_path / "bin"
    missing = install(home, "status", "--memoryd", str(exe), path_prefix=bin_dir)
    assert missing.returncode == 1
    assert "memoryd service is not installed" in missing.stdout
    assert install(home, "--memoryd", str(exe), path_prefix=bin_dir).returncode == 0
    current = install(home, "status", "--memoryd", str(exe), path_prefix=bin_dir)
    assert current.returncode == 0, current.stderr
    target = home / ".config" / "systemd" / "user" / "memoryd.service"
    assert current.stdout.splitlines()[:2] == [
        f"installed: {target}", "it is what `memoryd service install` would write now",
    ]  # fmt: skip
    assert "--user is-active memoryd.service" in systemctl_log.read_text()
    # Another setting now than at the install: status says to install again.
    moved = install(
        home, "status", "--memoryd", str(exe), path_prefix=bin_dir, CODEX_HOME=str(tmp_path)
    )
    assert "it differs from what `memoryd service install` would write now" in moved.stdout


def test_the_checkout_script_is_a_thin_wrapper(
    tmp_path: Path, home: Path, exe: Path, systemctl_log: Path
) -> None:
    env = clean_env(home, tmp_path / "bin")
    run = [sys.executable, str(INSTALL), "--memoryd", str(exe)]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    target = home / ".config" / "systemd" / "user" / "memoryd.service"
    assert f"memoryd service installed: {target}" in done.stdout
    gone = subprocess.run(
        [*run, "--uninstall"], env=env, capture_output=True, text=True, timeout=60
    )
    assert gone.returncode == 0 and not target.exists()


def test_a_wheel_ships_the_service_files_and_installs_without_the_checkout(
    tmp_path: Path, home: Path, exe: Path
) -> None:
    """What pip and pipx users get: the wheel holds the unit, the agent, the annotated config
    and the guide, and `memoryd service install --dry-run` and `memoryd config --example` work
    from it alone (the unpacked wheel first on sys.path, run outside the checkout)."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "w"),
         str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip().splitlines()[-1:]}")
    (wheel,) = (tmp_path / "w").glob("memoryd-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    shipped = {"memoryd.service", "io.memoryd.agent.plist", "memoryd.toml", "service.md"}
    assert {f"memoryd/share/{n}" for n in shipped} <= names
    env = clean_env(home, PYTHONPATH=str(tmp_path / "site"))
    dry = subprocess.run(
        [sys.executable, "-m", "memoryd", "service", "install", "--dry-run", "--memoryd",
         str(exe)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    guide = tmp_path / "site" / "memoryd" / "share" / "service.md"
    assert f"Documentation=file://{guide}" in dry.stdout and "Type=notify" in dry.stdout
    example = subprocess.run(
        [sys.executable, "-m", "memoryd", "config", "--example"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert example.returncode == 0
    assert example.stdout == (REPO / "config" / "memoryd.toml").read_text()
