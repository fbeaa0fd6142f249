"""Checks of the config file in effect and of memoryd's own directories: the state directory
and the memory root (private, a real directory, no file too big for the baseline)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from memoryd.config import Settings
from memoryd.doctor.check import Check, fail, not_private, ok, warn
from memoryd.errors import ConfigError
from memoryd.fsutil import walk_tree
from memoryd.workspace.baseline import oversized_files


def check_config(settings: Settings, error: ConfigError | None = None) -> Check:
    """Loading the settings already validated the file; say which one is in effect, or what
    is wrong with it (``error``: the other checks then ran on the built-in defaults)."""
    if error is not None:
        return fail(
            "config",
            f"{error.source}: {error.key}: {error.problem} (the checks below used the built-in "
            "defaults)",
            "correct that key; the daemon refuses to start until then, and `memoryd config` "
            "checks the file again",
        )
    if settings.source == "<defaults>":
        return ok("config", "no config file, using the built-in defaults")
    return ok("config", f"{settings.source} is valid")


def _private_dir(name: str, path: Path, missing: str, *, link_ok: bool = True) -> Check:
    """A directory that must be 0700 and ours; a missing one is only a warning. With
    ``link_ok=False`` a symbolic link is a failure (the memory root: Codex's rule)."""
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) and not link_ok:
            target = os.readlink(path)
            return fail(
                name,
                f"{path} is a symbolic link to {target}; memoryd refuses to write through one "
                "(and so does Codex)",
                f"put the directory itself in its place: rm {path} && mv {target} {path}",
            )
        st = path.stat()
    except FileNotFoundError:
        return warn(name, f"{path} does not exist yet", missing)
    except OSError as e:
        return fail(name, f"cannot read {path}: {e.strerror}", f"check the permissions of {path}")
    if not stat.S_ISDIR(st.st_mode):
        return fail(name, f"{path} is not a directory", f"move {path} aside")
    problem = not_private(st)
    if problem:
        return fail(name, f"{path} is {problem}", f"chmod 700 {path}")
    return ok(name, f"{path} (private)")


def check_state_dir(settings: Settings) -> Check:
    return _private_dir(
        "state_dir",
        settings.paths.state_dir,
        "it is created on the first run: memoryd run --once, or start the daemon",
    )


def _loose_files(root: Path, skip: set[str], limit: int = 3) -> Iterator[Path]:
    """Up to ``limit`` files or dirs under ``root`` that others could read if the root were."""
    found = 0
    for dirpath, dirnames, filenames in walk_tree(root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for entry in dirnames + filenames:
            p = Path(dirpath, entry)
            try:
                mode = p.lstat().st_mode
            except OSError:
                continue
            if mode & 0o077 and not stat.S_ISLNK(mode):  # a link's own mode means nothing
                yield p
                found += 1
            if found >= limit:
                return


def check_memory_root(settings: Settings) -> Check:
    root = settings.paths.memory_root
    result = _private_dir(
        "memory_root",
        root,
        "it is created at the first start: memoryd run --once, or start the daemon",
        link_ok=False,
    )
    if result.status != "ok":
        return result
    # Git keeps its objects world-readable by design; the 0700 root already hides them.
    loose = list(_loose_files(root, {".git", ".codex-baseline"}))
    if loose:
        names = ", ".join(str(p.relative_to(root)) for p in loose)
        return warn(
            "memory_root",
            f"{root} is private, but entries inside it are not (e.g. {names}): they would be "
            "exposed if the folder were ever opened up or copied",
            f"chmod -R go= {root}",
        )
    limit = settings.config.phase2.max_file_bytes
    big = oversized_files(root, limit)
    if big:
        names = ", ".join(big[:3]) + (f" and {len(big) - 3} more" if len(big) > 3 else "")
        return warn(
            "memory_root",
            f"{len(big)} file(s) in {root} are larger than phase2.max_file_bytes ({limit} "
            f"bytes) and are left out of the baseline, the diff and the history: {names}",
            "move them out of the memory root, or raise phase2.max_file_bytes",
        )
    return ok("memory_root", f"{root} (private, a real directory)")
