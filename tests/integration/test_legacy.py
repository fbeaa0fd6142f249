"""SPEC §1 legacy migration: <codex_home>/memories/user/memory/ copied once into the root."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from memoryd.memroot.legacy import legacy_dir, migrate_legacy, root_has_memory_files


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "codex"
    legacy = legacy_dir(home)
    (legacy / "rollout_summaries").mkdir(parents=True)
    (legacy / "rollout_summaries" / "thread.md").write_text("summary")
    (legacy / "raw_memories.md").write_text("raw")
    (legacy / "MEMORY.md").write_text("# Task Group: old\n")
    (legacy / "skills" / "deploy").mkdir(parents=True)
    (legacy / "skills" / "deploy" / "SKILL.md").write_text("---\nname: deploy\n---\n")
    os.chmod(legacy / "MEMORY.md", 0o644)
    # An old hashed per-cwd bucket beside the user folder.
    bucket = home / "memories" / "3f2a9c" / "memory"
    bucket.mkdir(parents=True)
    (bucket / "MEMORY.md").write_text("bucket")
    return home


def _snapshot(path: Path) -> dict[str, bytes]:
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_copies_legacy_contents_into_the_root(home: Path) -> None:
    root = home / "memories"
    before_legacy = _snapshot(legacy_dir(home))
    before_bucket = _snapshot(root / "3f2a9c")
    copied = migrate_legacy(home, root)
    assert copied == [
        "MEMORY.md",
        "raw_memories.md",
        "rollout_summaries/thread.md",
        "skills/deploy/SKILL.md",
    ]
    assert (root / "rollout_summaries" / "thread.md").read_text() == "summary"
    assert (root / "raw_memories.md").read_text() == "raw"
    assert (root / "skills" / "deploy" / "SKILL.md").read_text().startswith("---")
    # Private modes whatever the legacy modes were; the mtime is kept.
    assert _mode(root / "MEMORY.md") == 0o600
    assert _mode(root / "rollout_summaries") == 0o700
    assert _mode(root / "skills" / "deploy") == 0o700
    assert (root / "MEMORY.md").stat().st_mtime_ns == (
        legacy_dir(home) / "MEMORY.md"
    ).stat().st_mtime_ns
    # The legacy folder and the per-cwd bucket are untouched (a copy, never a move).
    assert _snapshot(legacy_dir(home)) == before_legacy
    assert _snapshot(root / "3f2a9c") == before_bucket
    # No temporary files are left anywhere.
    assert not [p for p in root.rglob("*.tmp")]


def test_idempotent(home: Path) -> None:
    root = home / "memories"
    assert migrate_legacy(home, root)
    assert migrate_legacy(home, root) == []


def test_separate_memory_root(home: Path, tmp_path: Path) -> None:
    root = tmp_path / "elsewhere" / "memories"
    assert "MEMORY.md" in migrate_legacy(home, root)
    assert _mode(root) == 0o700
    assert (root / "MEMORY.md").read_text() == "# Task Group: old\n"


@pytest.mark.parametrize(
    "existing",
    ["MEMORY.md", "memory_summary.md", "raw_memories.md", "rollout_summaries/x.md"],
)
def test_root_with_memory_files_gets_nothing(home: Path, existing: str) -> None:
    root = home / "memories"
    (root / existing).parent.mkdir(parents=True, exist_ok=True)
    (root / existing).write_text("mine")
    assert root_has_memory_files(root)
    assert migrate_legacy(home, root) == []
    assert (root / existing).read_text() == "mine"
    assert not (root / "skills").exists()


def test_an_empty_summaries_folder_or_other_files_do_not_count(home: Path) -> None:
    root = home / "memories"
    (root / "rollout_summaries").mkdir()
    (root / "rollout_summaries" / "notes.txt").write_text("x")
    (root / "extensions" / "ad_hoc").mkdir(parents=True)
    (root / "extensions" / "ad_hoc" / "instructions.md").write_text("seeded")
    assert not root_has_memory_files(root)
    assert "rollout_summaries/thread.md" in migrate_legacy(home, root)


def test_never_overwrites_an_existing_destination(home: Path) -> None:
    root = home / "memories"
    (root / "skills" / "deploy").mkdir(parents=True)
    (root / "skills" / "deploy" / "SKILL.md").write_text("mine")
    copied = migrate_legacy(home, root)
    assert "skills/deploy/SKILL.md" not in copied
    assert (root / "skills" / "deploy" / "SKILL.md").read_text() == "mine"


def test_symlinks_inside_the_legacy_folder_are_not_followed(home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.md"
    secret.parent.mkdir()
    secret.write_text("outside the home")
    (secret.parent / "deep.md").write_text("deep")
    legacy = legacy_dir(home)
    (legacy / "memory_summary.md").symlink_to(secret)
    (legacy / "linked_dir").symlink_to(secret.parent)
    root = home / "memories"
    copied = migrate_legacy(home, root)
    assert "memory_summary.md" not in copied
    assert not os.path.lexists(root / "memory_summary.md")
    assert not os.path.lexists(root / "linked_dir")
    assert not [p for p in copied if "secret" in p or "deep" in p]


def test_a_symlinked_legacy_folder_is_not_migrated(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    real = tmp_path / "real_memory"
    real.mkdir()
    (real / "MEMORY.md").write_text("elsewhere")
    (home / "memories" / "user").mkdir(parents=True)
    (home / "memories" / "user" / "memory").symlink_to(real)
    assert migrate_legacy(home, home / "memories") == []
    assert not (home / "memories" / "MEMORY.md").exists()


def test_nothing_to_do_without_a_legacy_folder(tmp_path: Path) -> None:
    home = tmp_path / "codex"
    assert migrate_legacy(home, home / "memories") == []
    assert not (home / "memories").exists()


def test_a_nested_user_memory_subtree_is_not_copied_onto_the_legacy_folder(home: Path) -> None:
    legacy = legacy_dir(home)
    nested = legacy / "user" / "memory"
    nested.mkdir(parents=True)
    (nested / "MEMORY.md").write_text("nested")
    root = home / "memories"
    copied = migrate_legacy(home, root)
    assert not [p for p in copied if p.startswith("user/memory")]
    assert (legacy / "MEMORY.md").read_text() == "# Task Group: old\n"
