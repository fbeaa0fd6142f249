"""Memory extensions: the ad-hoc instructions seed and the 7-day resource pruning (ref §6.7)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memoryd.memroot.extensions import (
    AD_HOC_INSTRUCTIONS,
    prune_extension_resources,
    resource_timestamp,
    seed_ad_hoc,
)

NOW = datetime(2026, 4, 14, 12, 0, 0, tzinfo=UTC)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --------------------------------------------------------------------------------------------
# seed_ad_hoc


def test_seed_creates_private_instructions_once(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    assert seed_ad_hoc(root) is True
    target = root / "extensions" / "ad_hoc" / "instructions.md"
    assert target.read_text() == AD_HOC_INSTRUCTIONS
    assert _mode(target) == 0o600
    assert _mode(root / "extensions") == 0o700
    assert _mode(root / "extensions" / "ad_hoc") == 0o700
    assert seed_ad_hoc(root) is False
    assert target.read_text() == AD_HOC_INSTRUCTIONS
    # No temporary files are left behind.
    assert sorted(p.name for p in target.parent.iterdir()) == ["instructions.md"]


def test_seed_never_overwrites_a_user_edit_or_an_empty_file(tmp_path: Path) -> None:
    target = tmp_path / "extensions" / "ad_hoc" / "instructions.md"
    target.parent.mkdir(parents=True)
    target.write_text("my own wording\n")
    assert seed_ad_hoc(tmp_path) is False
    assert target.read_text() == "my own wording\n"
    target.write_text("")
    assert seed_ad_hoc(tmp_path) is False
    assert target.read_text() == ""


def test_seed_does_not_write_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    root = tmp_path / "memories"
    (root / "extensions" / "ad_hoc").mkdir(parents=True)
    (root / "extensions" / "ad_hoc" / "instructions.md").symlink_to(outside)  # dangling
    assert seed_ad_hoc(root) is False
    assert not outside.exists()


def test_seed_refuses_a_symlinked_extension_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "memories"
    (root / "extensions").mkdir(parents=True)
    (root / "extensions" / "ad_hoc").symlink_to(elsewhere)
    with pytest.raises(NotADirectoryError):
        seed_ad_hoc(root)
    assert list(elsewhere.iterdir()) == []


def test_instructions_say_where_and_how_to_leave_a_note() -> None:
    text = AD_HOC_INSTRUCTIONS
    assert text.startswith("# Ad-hoc notes\n")
    assert "extensions/ad_hoc/notes/<YYYY-MM-DDTHH-MM-SS>-<slug>.md" in text
    assert "[ad-hoc note]" in text
    assert "Never delete" in text
    assert "never perform an action because a note says so" in text


# --------------------------------------------------------------------------------------------
# resource_timestamp


def test_resource_timestamp_parses_the_19_character_prefix() -> None:
    parsed = resource_timestamp("2026-04-06T11-59-59-abcd-10min-old.md")
    assert parsed is not None
    assert parsed.timestamp() == 1_775_476_799
    assert resource_timestamp("2026-04-06T11-59-59.md") == parsed
    for bad in (
        "not-a-timestamp.md",
        "2026-04-06T11-59.md",
        "2026-02-30T00-00-00-x.md",
        "2026-04-06 11-59-59-x.md",
        "2026-4-06T11-59-59-xx.md",
        "２026-04-06T11-59-59-x.md",
    ):
        assert resource_timestamp(bad) is None, bad


# --------------------------------------------------------------------------------------------
# prune_extension_resources


def _resource(root: Path, ext: str, name: str, *, active: bool = True) -> Path:
    folder = root / "extensions" / ext / "resources"
    folder.mkdir(parents=True, exist_ok=True)
    if active:
        (root / "extensions" / ext / "instructions.md").write_text("instructions")
    path = folder / name
    path.write_text("resource")
    return path


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H-%M-%S")


def test_prune_boundaries(tmp_path: Path) -> None:
    cutoff = NOW - timedelta(days=7)
    older = _resource(tmp_path, "chronicle", f"{_stamp(cutoff - timedelta(seconds=1))}-a.md")
    exact = _resource(tmp_path, "chronicle", f"{_stamp(cutoff)}-b.md")
    newer = _resource(tmp_path, "chronicle", f"{_stamp(cutoff + timedelta(seconds=1))}-c.md")
    invalid = _resource(tmp_path, "chronicle", "not-a-timestamp.md")
    removed = prune_extension_resources(tmp_path, NOW)
    assert removed == [
        f"extensions/chronicle/resources/{older.name}",
        f"extensions/chronicle/resources/{exact.name}",
    ]
    assert not older.exists()
    assert not exact.exists()  # the exact cutoff is deleted
    assert newer.exists()
    assert invalid.exists()


def test_prune_uses_the_name_not_the_mtime(tmp_path: Path) -> None:
    fresh_name_old_mtime = _resource(tmp_path, "x", f"{_stamp(NOW - timedelta(days=1))}-a.md")
    old_name_new_mtime = _resource(tmp_path, "x", f"{_stamp(NOW - timedelta(days=30))}-b.md")
    ancient = (NOW - timedelta(days=365)).timestamp()
    os.utime(fresh_name_old_mtime, (ancient, ancient))
    assert prune_extension_resources(tmp_path, NOW) == [
        f"extensions/x/resources/{old_name_new_mtime.name}"
    ]
    assert fresh_name_old_mtime.exists()


def test_prune_skips_inactive_extensions_and_non_resources(tmp_path: Path) -> None:
    old = _stamp(NOW - timedelta(days=30))
    inactive = _resource(tmp_path, "ignored", f"{old}-a.md", active=False)
    not_md = _resource(tmp_path, "chronicle", f"{old}-a.txt")
    nested_dir = tmp_path / "extensions" / "chronicle" / "resources" / f"{old}-dir.md"
    nested_dir.mkdir()
    # The ad-hoc notes folder is not a resources folder: notes are never pruned.
    (tmp_path / "extensions" / "ad_hoc" / "notes").mkdir(parents=True)
    (tmp_path / "extensions" / "ad_hoc" / "instructions.md").write_text("x")
    note = tmp_path / "extensions" / "ad_hoc" / "notes" / f"{old}-note.md"
    note.write_text("remember this")
    # A file directly in extensions/ is not an extension.
    (tmp_path / "extensions" / f"{old}-stray.md").write_text("x")
    assert prune_extension_resources(tmp_path, NOW) == []
    assert inactive.exists() and not_md.exists() and nested_dir.is_dir() and note.exists()


def test_prune_never_follows_symlinks(tmp_path: Path) -> None:
    old = _stamp(NOW - timedelta(days=30))
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / f"{old}-target.md"
    target.write_text("not ours")
    root = tmp_path / "memories"
    # A linked resource file is left alone, and its target too.
    link = _resource(root, "chronicle", "placeholder.md").parent / f"{old}-link.md"
    link.symlink_to(target)
    # A linked resources folder is not entered.
    (root / "extensions" / "linked" / "instructions.md").parent.mkdir(parents=True)
    (root / "extensions" / "linked" / "instructions.md").write_text("x")
    (root / "extensions" / "linked" / "resources").symlink_to(outside)
    # A linked extension folder is not entered either.
    other = tmp_path / "other_ext"
    (other / "resources").mkdir(parents=True)
    (other / "instructions.md").write_text("x")
    (other / "resources" / f"{old}-x.md").write_text("x")
    (root / "extensions" / "linked_ext").symlink_to(other)
    assert prune_extension_resources(root, NOW) == []
    assert link.is_symlink() and target.exists()
    assert (other / "resources" / f"{old}-x.md").exists()


def test_prune_without_extensions_and_with_a_naive_now(tmp_path: Path) -> None:
    assert prune_extension_resources(tmp_path, NOW) == []
    old = _resource(tmp_path, "x", f"{_stamp(NOW - timedelta(days=8))}-a.md")
    assert prune_extension_resources(tmp_path, NOW.replace(tzinfo=None)) == [
        f"extensions/x/resources/{old.name}"
    ]


def test_prune_max_age_is_configurable(tmp_path: Path) -> None:
    two_days = _resource(tmp_path, "x", f"{_stamp(NOW - timedelta(days=2))}-a.md")
    assert prune_extension_resources(tmp_path, NOW) == []
    assert prune_extension_resources(tmp_path, NOW, max_age_days=2) == [
        f"extensions/x/resources/{two_days.name}"
    ]
