"""Checks of what Codex sees: the link to memoryd's root (one writer), the summary it injects,
its config (memories read), and its sandbox (ad-hoc notes)."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from memoryd.config import Settings
from memoryd.doctor.check import Check, fail, ok, warn
from memoryd.layout import SUMMARY_FILE
from memoryd.memroot.codexlink import inspect as inspect_link

# The Codex CLI injects memory_summary.md into every prompt, cutting a longer file to its first
# and last 5,000 bytes (reference: codex-cli-observed.md §6).
INJECT_HEAD_BYTES = 5000


INJECT_TAIL_BYTES = 5000


_CODEX_MEMORY_SETTINGS = "[features] memories = true (and keep [memories] use_memories = true)"


def check_codex_link(settings: Settings) -> Check:
    """The one-writer guarantee (SPEC §1): ``<codex_home>/memories`` is the link to memoryd's
    root. Codex reads through it, and its own writer refuses a linked folder."""
    name = "codex_link"
    home, root = settings.paths.codex_home, settings.paths.memory_root
    state = inspect_link(home, root)
    link = state.link
    start = "start memoryd (memoryd run --once, or the daemon)"
    if state.kind == "link":
        return ok(
            name,
            f"{link} -> {root}: Codex reads memoryd's memories through the link, and its own "
            "memory writer refuses a linked folder, so memoryd is the one writer",
        )
    if state.kind == "missing":
        return warn(
            name,
            f"{link} does not exist: Codex does not see memoryd's memories",
            f"{start}: it creates the link",
        )
    if state.kind == "dir":
        return fail(
            name,
            f"{link} is a real directory, not the link to {root}: Codex's own memory writer "
            "rewrites it and memoryd's memories are not what Codex reads",
            f"{start}: it imports that folder into its own, keeps it as "
            f"{link.name}.before-memoryd-<time> and links {link}",
        )
    if state.kind == "foreign_link":
        return fail(
            name,
            f"{link} is a symbolic link to {state.target}, not to memoryd's root {root}",
            f'rm {link} and {start}, or set memory_root = "{state.target}" in the memoryd config',
        )
    if state.kind == "broken_link":
        return fail(
            name,
            f"{link} is a symbolic link to {state.target}, which does not exist",
            f"rm {link} and {start}: it links memoryd's root there",
        )
    return fail(
        name,
        f"{link} is neither a directory nor a link",
        f"move it away (mv {link} {link}.bak) and {start}",
    )


def check_summary(settings: Settings) -> Check:
    path = settings.paths.memory_root / SUMMARY_FILE
    name = "memory_summary"
    try:
        st = path.lstat()
    except FileNotFoundError:
        return warn(
            name,
            f"{path} does not exist yet: Codex has nothing to inject",
            "it is written by the first consolidation: memoryd run --once",
        )
    except OSError as e:  # the root is a file, or cannot be searched
        return fail(
            name,
            f"cannot read {path}: {e.strerror or e}",
            "see the memory_root line",
        )
    if stat.S_ISLNK(st.st_mode):
        return fail(
            name,
            f"{path} is a symbolic link: Codex does not inject a linked summary",
            "replace it by a regular file (memoryd trigger phase2 rewrites it)",
        )
    try:
        data = path.read_bytes()
    except OSError as e:
        return fail(name, f"cannot read {path}: {e.strerror}", f"check the permissions of {path}")
    if not data.strip():
        return warn(name, f"{path} is empty: Codex injects nothing", "memoryd trigger phase2")
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if first != b"v1":
        found = first[:40].decode(errors="replace")
        return fail(
            name,
            f"{path} does not start with the line v1 (found {found!r}): Codex rejects it as "
            "an invalid consolidation",
            "memoryd trigger phase2 rewrites it; if you edit it by hand, keep v1 as the first line",
        )
    window = INJECT_HEAD_BYTES + INJECT_TAIL_BYTES
    size = len(data)
    if size > window:
        cut = size - window
        return warn(
            name,
            f"{path} is {size:,} bytes: Codex injects only the first {INJECT_HEAD_BYTES:,} and "
            f"last {INJECT_TAIL_BYTES:,}, cutting {cut:,} bytes (~{cut // 4:,} tokens) from "
            "the middle",
            f"shorten it to under {window:,} bytes (move detail into MEMORY.md, which Codex "
            "reads on demand)",
        )
    return ok(name, f"{path}: v1, {size:,} bytes (within the {window:,}-byte window Codex injects)")


def _codex_toml(path: Path) -> tuple[dict[str, Any] | None, Check | None]:
    """Codex's config, or the warning to give instead (named ``codex_config``)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, warn(
            "codex_config",
            f"{path} does not exist: Codex's memories feature is off, so Codex "
            "does not read the memories memoryd writes",
            f"add to {path}: {_CODEX_MEMORY_SETTINGS}",
        )
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        return None, warn(
            "codex_config", f"cannot read {path}: {e}", f"fix {path} so Codex can read it too"
        )


def check_codex_config(settings: Settings) -> Check:
    """Codex reads our memories only with its memories feature and use_memories on. Its own
    writer needs no setting: it refuses the linked folder (see the codex_link line);
    ``generate_memories = false`` alone would not keep it out (it only marks new sessions)."""
    name = "codex_config"
    path = settings.paths.codex_home / "config.toml"
    data, problem = _codex_toml(path)
    if data is None:
        assert problem is not None
        return problem
    features = data.get("features")
    memories = data.get("memories")
    feature_on = isinstance(features, dict) and features.get("memories") is True
    mem = memories if isinstance(memories, dict) else {}
    generate = mem.get("generate_memories", True) is not False
    use = mem.get("use_memories", True) is not False
    if not generate and settings.config.phase1.honor_codex_generate_memories:
        # Codex marks every new rollout "memory_mode": "disabled" under this setting.
        return warn(
            name,
            f"[memories] generate_memories = false in {path} marks every new session as "
            "disabled, and phase1.honor_codex_generate_memories = true makes memoryd skip "
            "them: nothing new is extracted",
            "set phase1.honor_codex_generate_memories = false in the memoryd config",
        )
    if not feature_on:
        return warn(
            name,
            f"Codex's memories feature is off in {path}: Codex does not read the memories "
            "memoryd writes",
            f"add to {path}: {_CODEX_MEMORY_SETTINGS}",
        )
    if not use:
        return warn(
            name,
            f"[memories] use_memories = false in {path}: Codex does not read the memories "
            "memoryd writes",
            f"set [memories] use_memories = true in {path}",
        )
    return ok(
        name,
        f"{path}: Codex reads the memories; its own writer stays out because the folder is "
        "a link (generate_memories does not matter)",
    )


def check_codex_notes(settings: Settings) -> Check:
    """Codex's memory prompt has the agent add notes under ``memories/extensions/ad_hoc/
    notes/``; its workspace-write sandbox refuses that write (whatever the folder is) unless
    the folder is one of its writable roots (observed with 0.169.0 and 0.171.0)."""
    name = "codex_notes"
    path = settings.paths.codex_home / "config.toml"
    link = settings.paths.codex_home / "memories"
    data, _ = _codex_toml(path)
    section = (data or {}).get("sandbox_workspace_write")
    roots = section.get("writable_roots") if isinstance(section, dict) else None
    wanted = {os.path.normpath(link), os.path.normpath(settings.paths.memory_root)}
    if isinstance(roots, list) and any(
        isinstance(r, str) and os.path.normpath(os.path.expanduser(r)) in wanted for r in roots
    ):
        return ok(name, f"Codex sessions can leave notes in {link}/extensions/ad_hoc/notes/")
    return warn(
        name,
        "Codex's workspace-write sandbox refuses the ad-hoc notes its memory prompt asks for "
        f"(under {link}/extensions/ad_hoc/notes/): the folder is not a writable root",
        f'add to {path}: [sandbox_workspace_write] writable_roots = ["{link}"]',
    )
