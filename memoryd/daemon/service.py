"""``memoryd service install|uninstall|status``: memoryd as a per-user service.

Linux: the systemd user unit shipped in the package (``memoryd/share/memoryd.service``) is
written to ``$XDG_CONFIG_HOME/systemd/user/`` (else ``~/.config/systemd/user/``) with
``ExecStart`` pointing at the memoryd executable, ``Documentation=`` at the service guide
shipped beside it, and a block carrying the installing user's settings: every ``CODEX_HOME`` /
``MEMORYD_*`` variable set when it is installed (the config file given with ``--config`` as
``MEMORYD_CONFIG``) and the directories those settings resolve to (Codex home, memory root,
state dir, socket directory) as ``ReadWritePaths=``, which ``ProtectSystem=strict`` needs. The
directories are created now and by an unsandboxed ``ExecStartPre=+/bin/mkdir`` before every
start: systemd drops (or fails on) a ``ReadWritePaths=`` entry whose directory does not exist,
and the daemon could then not create it. Then ``systemctl --user daemon-reload``,
``enable`` and ``restart`` (so a re-install picks up a new executable or new settings).

macOS: the launchd agent (``memoryd/share/io.memoryd.agent.plist``) is written to
``~/Library/LaunchAgents/`` with the executable, log files under ``~/Library/Logs/memoryd/``,
the current ``PATH`` and the same settings in ``EnvironmentVariables``, then bootstrapped.

``uninstall`` stops and disables the service and removes the file; memoryd's state dir and
the memory folder are left as they are. ``--dry-run`` prints the file and the commands and
changes nothing. ``status`` prints where the file is, whether it matches what an install would
write now, and what the service manager says. ``scripts/install-service`` is a thin wrapper.
"""

from __future__ import annotations

import os
import plistlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from memoryd.config import Settings, load_settings
from memoryd.errors import MemorydError
from memoryd.memroot.codexlink import ensure_link, link_path

UNIT_NAME = "memoryd.service"
LAUNCHD_LABEL = "io.memoryd.agent"
UNIT_FILE = "memoryd.service"
PLIST_FILE = "io.memoryd.agent.plist"
GUIDE_FILE = "service.md"
# The variables a service must carry to see the same memoryd as the user who installed it.
CARRIED_ENV = ("CODEX_HOME", "MEMORYD_CONFIG", "MEMORYD_STATE_DIR", "MEMORYD_SOCKET")
SETTINGS_MARK = "# Written by `memoryd service install` from the installing user's settings:"


class ServiceError(MemorydError):
    pass


Command = tuple[list[str], bool]  # argv, and whether it may fail (e.g. stopping what is not loaded)


@dataclass
class Plan:
    """What an install or uninstall does: commands to run before the file changes, the file to
    write (or remove, when ``content`` is None), commands to run after."""

    target: Path
    content: bytes | None
    before: list[Command] = field(default_factory=list)
    after: list[Command] = field(default_factory=list)
    make_dirs: list[Path] = field(default_factory=list)


def default_platform() -> str:
    return "macos" if sys.platform == "darwin" else "linux"


def shipped(name: str) -> Path:
    """A file of ``memoryd/share/`` (the unit, the plist, the annotated config, the guide)."""
    return Path(str(resources.files("memoryd") / "share" / name))


def _unit_word(text: str, *, dollars: bool = False) -> str:
    """``text`` as one word of a unit file: ``%`` doubled (specifiers), ``$`` doubled where
    the line expands variables (``dollars``), quoted when it holds blanks, quotes or
    backslashes."""
    s = text.replace("%", "%%")
    if dollars:
        s = s.replace("$", "$$")
    if re.search(r"[\s\"'\\]", s):
        s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


def systemd_quote(path: str) -> str:
    """``path`` as one word of a systemd command line (ExecStart=)."""
    return _unit_word(path, dollars=True)


def carried_env(env: Mapping[str, str], config: str | None) -> dict[str, str]:
    """The CODEX_HOME / MEMORYD_* settings of the installing user, paths made absolute; the
    config file given with ``--config`` becomes MEMORYD_CONFIG."""
    out = {k: env[k] for k in CARRIED_ENV if env.get(k)}
    if config is not None:
        out["MEMORYD_CONFIG"] = config
    return {k: os.path.abspath(os.path.expanduser(v)) for k, v in out.items()}


def writable_dirs(settings: Settings, env: Mapping[str, str]) -> list[Path]:
    """The directories the daemon writes, as these settings resolve them. The socket's
    directory is left out when it is the unit's RuntimeDirectory= (systemd makes that one)."""
    p = settings.paths
    dirs = [p.codex_home, p.memory_root, p.state_dir]
    runtime = env.get("XDG_RUNTIME_DIR")
    if not (runtime and p.socket_path.parent == Path(runtime) / "memoryd"):
        dirs.append(p.socket_path.parent)
    out: list[Path] = []
    for d in dirs:
        d = Path(os.path.abspath(d))
        if d not in out:
            out.append(d)
    return out


def render_unit(template: str, memoryd: str, env: Mapping[str, str], dirs: list[Path]) -> str:
    out, n = re.subn(
        r"^ExecStart=.*$", f"ExecStart={systemd_quote(memoryd)} serve", template, flags=re.M
    )
    if n != 1:
        raise ServiceError(f"the unit template must have exactly one ExecStart= line, found {n}")
    guide = shipped(GUIDE_FILE)
    out = re.sub(r"^Documentation=.*$", f"Documentation=file://{guide}", out, count=1, flags=re.M)
    block = [SETTINGS_MARK]
    if env:
        block += [f"Environment={_unit_word(f'{k}={v}')}" for k, v in sorted(env.items())]
    else:
        block.append("# (no CODEX_HOME or MEMORYD_* variable was set: the defaults apply)")
    words = " ".join(_unit_word(str(d)) for d in dirs)
    block.append(f"ExecStartPre=+/bin/mkdir -p -m 0700 {words}")
    block.append(f"ReadWritePaths={words}")
    out, n = re.subn(
        r"^(ReadWritePaths=.*\n)", lambda m: m.group(1) + "\n".join(block) + "\n", out,
        count=1, flags=re.M,
    )  # fmt: skip
    if n != 1:
        raise ServiceError("the unit template has no ReadWritePaths= line")
    return out


def render_plist(
    template: bytes, memoryd: str, log_dir: Path, path_env: str, env: Mapping[str, str]
) -> bytes:
    data = plistlib.loads(template)
    data["ProgramArguments"] = [memoryd, "serve"]
    data["StandardOutPath"] = str(log_dir / "memoryd.out.log")
    data["StandardErrorPath"] = str(log_dir / "memoryd.err.log")
    variables = data.setdefault("EnvironmentVariables", {})
    variables["PATH"] = path_env
    variables.update(env)
    return plistlib.dumps(data)


def find_memoryd(given: str | None) -> str:
    """An absolute path to the memoryd executable (symlinks kept, so that an upgrade behind a
    pipx or Homebrew link keeps working)."""
    candidate = given or shutil.which("memoryd")
    if candidate is None:
        beside = Path(sys.executable).parent / "memoryd"  # run with the venv's python
        candidate = str(beside) if beside.exists() else None
    if candidate is None:
        raise ServiceError("memoryd not found on PATH; pass --memoryd /path/to/memoryd")
    path = os.path.abspath(os.path.expanduser(candidate))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ServiceError(f"{path} is not an executable file; pass --memoryd /path/to/memoryd")
    return path


def unit_path(home: Path, env: Mapping[str, str]) -> Path:
    config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return config_home / "systemd" / "user" / UNIT_NAME


def plist_path(home: Path) -> Path:
    return home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def linux_plan(
    home: Path, env: Mapping[str, str], memoryd: str | None, settings: Settings | None
) -> Plan:
    """``settings`` None: uninstall."""
    target = unit_path(home, env)
    ctl = ["systemctl", "--user"]
    if settings is None:
        # Disable before removing: systemctl needs the unit file to find what to disable.
        return Plan(
            target,
            None,
            before=[([*ctl, "disable", "--now", UNIT_NAME], True)],
            after=[([*ctl, "daemon-reload"], False)],
        )
    dirs = writable_dirs(settings, env)
    unit = render_unit(
        shipped(UNIT_FILE).read_text(encoding="utf-8"),
        find_memoryd(memoryd),
        carried_env(env, _given_config(settings)),
        dirs,
    )
    return Plan(
        target,
        unit.encode(),
        after=[
            ([*ctl, "daemon-reload"], False),
            ([*ctl, "enable", UNIT_NAME], False),
            ([*ctl, "restart", UNIT_NAME], False),  # a re-install runs the new ExecStart
        ],
        make_dirs=dirs,
    )


def macos_plan(
    home: Path, env: Mapping[str, str], memoryd: str | None, settings: Settings | None
) -> Plan:
    target = plist_path(home)
    domain = f"gui/{os.getuid()}"
    # Fails harmlessly when not loaded; on a re-install it stops the old one first.
    bootout = (["launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"], True)
    if settings is None:
        return Plan(target, None, before=[bootout])
    log_dir = home / "Library" / "Logs" / "memoryd"
    content = render_plist(
        shipped(PLIST_FILE).read_bytes(),
        find_memoryd(memoryd),
        log_dir,
        env.get("PATH", ""),
        carried_env(env, _given_config(settings)),
    )
    return Plan(
        target,
        content,
        before=[bootout],
        after=[(["launchctl", "bootstrap", domain, str(target)], False)],
        make_dirs=[log_dir, *writable_dirs(settings, env)],
    )


def _given_config(settings: Settings) -> str | None:
    """The config file to pin in the service: the one read now, unless it was found in the
    default place (which the service finds by itself, and where a later file should count)."""
    return None if settings.source.startswith("<") else settings.source


def write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_commands(commands: list[Command], dry_run: bool) -> None:
    for cmd, may_fail in commands:
        print("$ " + " ".join(cmd))
        if dry_run:
            continue
        try:
            done = subprocess.run(cmd, check=False)
        except FileNotFoundError:
            raise ServiceError(f"{cmd[0]} not found: is this the right platform?") from None
        if done.returncode != 0 and not may_fail:
            raise ServiceError(f"`{' '.join(cmd)}` failed with exit status {done.returncode}")


def execute(plan: Plan, dry_run: bool) -> None:
    if plan.content is None and not plan.target.exists():
        print(f"memoryd service is not installed ({plan.target} does not exist)")
        return
    run_commands(plan.before, dry_run)
    if plan.content is None:
        print(f"remove {plan.target}")
        if not dry_run:
            plan.target.unlink()
    else:
        for d in plan.make_dirs:
            if d.is_dir():
                continue
            print(f"mkdir -m 700 {d}")
            if not dry_run:
                d.mkdir(parents=True, exist_ok=True, mode=0o700)
        print(f"write {plan.target}:")
        print(plan.content.decode().rstrip("\n"))
        if not dry_run:
            write_atomically(plan.target, plan.content)
    run_commands(plan.after, dry_run)
    if dry_run:
        print("(dry run: nothing was changed)")
    elif plan.content is None:
        print("memoryd service removed; its state dir and the memory folder are kept")
    else:
        print(f"memoryd service installed: {plan.target}")


def status(plan: Plan, platform: str) -> int:
    """Print whether the service file is there and current, and what the manager says."""
    target = plan.target
    if not target.exists():
        print(f"memoryd service is not installed ({target} does not exist)")
        print("install it with `memoryd service install`")
        return 1
    print(f"installed: {target}")
    if plan.content is None:
        print("(no memoryd executable found to compare it with: pass --memoryd PATH)")
    elif target.read_bytes() != plan.content:
        print(
            "it differs from what `memoryd service install` would write now (another "
            "executable, other settings, or a newer memoryd): run it again to update"
        )
    else:
        print("it is what `memoryd service install` would write now")
    cmd = (
        ["systemctl", "--user", "is-active", UNIT_NAME]
        if platform == "linux"
        else ["launchctl", "print", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"]
    )
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        print(f"service manager: cannot ask ({cmd[0]}: {exc})")
        return 0
    answer = (done.stdout.strip() or done.stderr.strip()).splitlines()
    print(f"service manager ({' '.join(cmd)}): {answer[0] if answer else done.returncode}")
    return 0


def run(
    action: str,
    *,
    platform: str,
    config: str | None,
    memoryd: str | None = None,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
) -> int:
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    planner = macos_plan if platform == "macos" else linux_plan
    if action == "uninstall":
        try:
            execute(planner(home, env, memoryd, None), dry_run)
        except OSError as exc:
            raise ServiceError(f"service uninstall failed: {exc}") from exc
        return 0
    settings = load_settings(config, env)
    if action == "status":
        try:
            plan = planner(home, env, memoryd, settings)
        except ServiceError:  # no executable to compare with: still say what is there
            plan = Plan(plist_path(home) if platform == "macos" else unit_path(home, env), None)
        return status(plan, platform)
    plan = planner(home, env, memoryd, settings)
    # <codex_home>/memories becomes the link to memoryd's own root at install, so Codex's
    # writer is out even before the daemon's first start (which checks the link again).
    link = link_path(settings.paths.codex_home)
    if dry_run:
        print(f"would link {link} -> {settings.paths.memory_root}")
    try:
        execute(plan, dry_run)
    except OSError as exc:
        raise ServiceError(f"service {action} failed: {exc}") from exc
    if not dry_run:
        done = ensure_link(settings.paths.codex_home, settings.paths.memory_root)
        how = {"linked": "already linked", "created": "linked", "took_over": "took over"}
        aside = f" (the old folder is kept as {done.aside})" if done.aside else ""
        print(f"{how[done.action]}: {done.link} -> {done.root}{aside}")
    return 0
