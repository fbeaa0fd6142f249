"""Codex-compatible artifact files: stems, byte-exact bodies, sync and atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from memoryd.errors import ArtifactError
from memoryd.fsutil import atomic_write
from memoryd.layout import rollout_summary_stem, sanitize_slug
from memoryd.memroot import artifacts
from memoryd.memroot.artifacts import (
    SyncResult,
    render_raw_memories,
    render_rollout_summary,
    sync_artifacts,
)
from memoryd.store.phase2 import ArtifactRow

FIXED_ID = "0194f5a6-89ab-7cde-8123-456789abcdef"
FIXED_PREFIX = "2025-02-11T15-35-19-jqmb"


def row(
    thread_id: str = FIXED_ID,
    *,
    updated: int = 1_781_258_400,  # 2026-06-12T10:00:00Z
    slug: str | None = "run_tests",
    branch: str | None = None,
    summary: str = "# Ran the tests\n\nRollout context: x",
    raw: str = "---\ndescription: d\n---\n\n### Task 1: t",
    cwd: str = "/home/u/proj",
) -> ArtifactRow:
    return ArtifactRow(
        thread_id=thread_id,
        source_updated_at=updated,
        rollout_path=f"/home/u/.codex/sessions/2026/06/12/rollout-2026-06-12T10-00-00-{thread_id}.jsonl",
        cwd=cwd,
        git_branch=branch,
        rollout_summary=summary,
        raw_memory=raw,
        rollout_slug=slug,
    )


# --------------------------------------------------------------------------------------------
# Stem


def test_stem_reference_check_value_without_slug() -> None:
    assert rollout_summary_stem(FIXED_ID, 123, None) == FIXED_PREFIX


def test_stem_reference_check_value_long_slug() -> None:
    stem = rollout_summary_stem(
        FIXED_ID,
        123,
        "Unsafe Slug/With Spaces & Symbols + EXTRA_LONG_12345_67890_ABCDE_fghij_klmno",
    )
    slug = stem.removeprefix(FIXED_PREFIX + "-")
    assert slug == "unsafe_slug_with_spaces___symbols___extra_long_12345_67890_a"
    assert len(slug) == 60


@pytest.mark.parametrize("slug", ["", "___", "-", "é"])
def test_stem_empty_sanitised_slug_gives_bare_prefix(slug: str) -> None:
    assert rollout_summary_stem(FIXED_ID, 123, slug) == FIXED_PREFIX


def test_slug_sanitising_rules() -> None:
    assert sanitize_slug("Fix-CI_now!!") == "fix_ci_now"
    assert sanitize_slug("über straße") == "_ber_stra_e"  # non-ASCII → "_", leading kept
    assert sanitize_slug("a" * 59 + "-b") == "a" * 59  # cut at 60, then trailing "_" stripped


@pytest.mark.parametrize(
    ("thread_id", "stem"),
    [
        # Stems of real Codex 0.1xx outputs, as published in users' raw_memories.md files.
        ("019f3b7b-6b62-7a90-ac3a-e36d61298c86", "2026-07-07T07-29-32-jMPA"),
        ("019eca40-a8ff-72e2-a7da-43b8f9befc65", "2026-06-15T07-48-15-yZEx"),
        ("019df196-8715-7ab2-84c7-33cd1d9b96de", "2026-05-04T06-04-27-CfIq"),
        ("019ee348-662d-7fa0-99c8-3138aa86db2f", "2026-06-20T04-27-13-CjBd"),
    ],
)
def test_stem_matches_stems_codex_wrote(thread_id: str, stem: str) -> None:
    assert rollout_summary_stem(thread_id, 0, None) == stem


def test_stem_of_the_bundled_fixture_thread() -> None:
    # The fixture rollout file is named with local time == UTC (TZ=Etc/UTC in that run):
    # rollout-2026-11-22T03-12-03-01a2013d-497f-71f0-81b9-4c6d2314a10b.jsonl
    stem = rollout_summary_stem("01a2013d-497f-71f0-81b9-4c6d2314a10b", 0, "mock rollout")
    assert stem.startswith("2026-11-22T03-12-03-")
    assert stem.endswith("-mock_rollout")


@pytest.mark.parametrize(
    "thread_id",
    [
        # RFC 9562 appendix A test vectors: all three encode 2022-02-22T19:22:22Z.
        "C232AB00-9414-11EC-B3C8-9F6BDECED846",  # v1
        "1EC9414C-232A-6B00-B3C8-9F6BDECED846",  # v6
        "017F22E2-79B0-7CC3-98C4-DC0C0C07398F",  # v7
    ],
)
def test_stem_time_from_v1_v6_v7(thread_id: str) -> None:
    stem = rollout_summary_stem(thread_id, 0, None)
    assert stem.startswith("2022-02-22T19-22-22-")
    low32 = int(thread_id.replace("-", ""), 16) & 0xFFFFFFFF
    assert stem.endswith("-" + _base62_4(low32 % 62**4))


def test_stem_v4_uses_source_updated_at() -> None:
    stem = rollout_summary_stem("9b2c1f7e-3d4a-4b5c-8d6e-7f8091a2b3c4", 1_781_258_400, None)
    assert stem.startswith("2026-06-12T10-00-00-")


def test_stem_non_uuid_id_uses_wrapping_31_hash() -> None:
    # h("abc") = (97*31 + 98)*31 + 99 = 96354 = 0*62^3 + 25*62^2 + 4*62 + 6 -> "0p46"
    assert rollout_summary_stem("abc", 1_781_258_400, None) == "2026-06-12T10-00-00-0p46"
    long_id = "x" * 100  # overflows 32 bits many times
    h = 0
    for b in long_id.encode():
        h = (h * 31 + b) % 2**32
    assert rollout_summary_stem(long_id, 0, None) == "1970-01-01T00-00-00-" + _base62_4(h % 62**4)


def test_stem_rejects_uuid_forms_rust_does_not_parse() -> None:
    # Python's uuid.UUID would accept hyphens in odd places; Rust's parser does not, so this
    # id is hashed as a plain string and dated by source_updated_at.
    odd = "0194f5a689ab-7cde-8123-456789abcdef"
    assert rollout_summary_stem(odd, 0, None).startswith("1970-01-01T00-00-00-")
    # The simple and braced forms are UUIDs to Rust too.
    assert rollout_summary_stem(FIXED_ID.replace("-", ""), 0, None) == FIXED_PREFIX
    assert rollout_summary_stem("{" + FIXED_ID + "}", 0, None) == FIXED_PREFIX


def _base62_4(n: int) -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(4):
        out = alphabet[n % 62] + out
        n //= 62
    return out


# --------------------------------------------------------------------------------------------
# Bodies


def test_rollout_summary_body_byte_exact() -> None:
    r = row(branch="main", summary="# Title\n\nbody text")
    assert render_rollout_summary(r) == (
        f"thread_id: {FIXED_ID}\n"
        "updated_at: 2026-06-12T10:00:00+00:00\n"
        f"rollout_path: {r.rollout_path}\n"
        "cwd: /home/u/proj\n"
        "git_branch: main\n"
        "\n"
        "# Title\n\nbody text\n"
    )


def test_rollout_summary_body_omits_null_branch_and_keeps_summary_verbatim() -> None:
    r = row(branch=None, summary="  padded \n\n")
    assert render_rollout_summary(r) == (
        f"thread_id: {FIXED_ID}\n"
        "updated_at: 2026-06-12T10:00:00+00:00\n"
        f"rollout_path: {r.rollout_path}\n"
        "cwd: /home/u/proj\n"
        "\n"
        "  padded \n\n\n"
    )


def test_raw_memories_empty_form() -> None:
    assert render_raw_memories([]) == "# Raw Memories\n\nNo raw memories yet.\n"


def test_raw_memories_byte_exact_sorted_by_thread_id_and_trimmed() -> None:
    a = row("01a2013e-fb76-7c33-8cf6-bf19bdb58fd0", slug="b slug", raw="\n  raw B  \n\n")
    b = row("01a2013d-497f-71f0-81b9-4c6d2314a10b", slug=None, raw="raw A", branch="dev")
    text = render_raw_memories([a, b])  # given out of order
    assert text == (
        "# Raw Memories\n"
        "\n"
        "Merged stage-1 raw memories (stable ascending thread-id order):\n"
        "\n"
        "## Thread `01a2013d-497f-71f0-81b9-4c6d2314a10b`\n"
        "updated_at: 2026-06-12T10:00:00+00:00\n"
        "cwd: /home/u/proj\n"
        f"rollout_path: {b.rollout_path}\n"
        "rollout_summary_file: 2026-11-22T03-12-03-PvUD.md\n"
        "\n"
        "raw A\n"
        "\n"
        "## Thread `01a2013e-fb76-7c33-8cf6-bf19bdb58fd0`\n"
        "updated_at: 2026-06-12T10:00:00+00:00\n"
        "cwd: /home/u/proj\n"
        f"rollout_path: {a.rollout_path}\n"
        "rollout_summary_file: 2026-11-22T03-13-54-oFLq-b_slug.md\n"
        "\n"
        "raw B\n"
        "\n"
    )
    assert rollout_summary_stem(a.thread_id, 0, "b slug") == "2026-11-22T03-13-54-oFLq-b_slug"


def test_raw_memories_trim_is_rusts_not_pythons() -> None:
    # U+001F is whitespace to Python's str.strip but not to Rust's str::trim.
    text = render_raw_memories([row(raw="\x1fkeep\u3000")])
    assert "\n\x1fkeep\n\n" in text


# --------------------------------------------------------------------------------------------
# Sync


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_sync_writes_files_with_private_modes(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    rows = [row(), row("01a2013e-ff1a-7c20-8973-b369527e3057", slug=None, branch="main")]
    result = sync_artifacts(root, rows)
    assert result == SyncResult(written=3, deleted=0, unchanged=0)

    summaries = root / "rollout_summaries"
    names = sorted(p.name for p in summaries.iterdir())
    assert names == sorted(f"{r.stem}.md" for r in rows)
    for r in rows:
        assert (summaries / f"{r.stem}.md").read_text() == render_rollout_summary(r)
        assert _mode(summaries / f"{r.stem}.md") == 0o600
    assert (root / "raw_memories.md").read_bytes() == render_raw_memories(rows).encode()
    assert _mode(root / "raw_memories.md") == 0o600
    assert _mode(root) == 0o700
    assert _mode(summaries) == 0o700
    assert not [p for p in root.rglob("*.tmp")]


def test_sync_keeps_existing_root_mode(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    sync_artifacts(root, [row()])
    assert _mode(root) == 0o755
    assert _mode(root / "rollout_summaries") == 0o700


def test_sync_removes_stale_summaries_and_leaves_other_files(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    summaries = root / "rollout_summaries"
    summaries.mkdir(parents=True)
    (summaries / "2020-01-01T00-00-00-abcd-old.md").write_text("stale")
    (summaries / "notes.txt").write_text("keep me")
    (summaries / "draft.md.bak").write_text("keep me too")
    (summaries / "folder.md").mkdir()

    r = row()
    result = sync_artifacts(root, [r])
    assert result == SyncResult(written=2, deleted=1, unchanged=0)
    assert sorted(p.name for p in summaries.iterdir()) == sorted(
        [f"{r.stem}.md", "notes.txt", "draft.md.bak", "folder.md"]
    )
    assert (summaries / "notes.txt").read_text() == "keep me"

    # A slug change renames the file: the old stem is now stale.
    r2 = row(slug="renamed")
    result = sync_artifacts(root, [r2])
    assert result == SyncResult(written=2, deleted=1, unchanged=0)
    assert (summaries / f"{r2.stem}.md").exists()
    assert not (summaries / f"{r.stem}.md").exists()


def test_unchanged_resync_does_no_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "memories"
    rows = [row(), row("01a2013e-ff1a-7c20-8973-b369527e3057")]
    sync_artifacts(root, rows)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}

    calls: list[Path] = []
    real = artifacts.atomic_write

    def spy(path: Path, data: str | bytes, mode: int = 0o600) -> None:
        calls.append(path)
        real(path, data, mode)

    monkeypatch.setattr(artifacts, "atomic_write", spy)
    assert sync_artifacts(root, rows) == SyncResult(written=0, deleted=0, unchanged=3)
    assert calls == []
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before

    # One changed summary rewrites that file and raw_memories.md only if its text changed.
    changed = [row(summary="new summary"), rows[1]]
    assert sync_artifacts(root, changed) == SyncResult(written=1, deleted=0, unchanged=2)
    assert calls == [root / "rollout_summaries" / f"{changed[0].stem}.md"]


def test_sync_restores_a_hand_edited_or_deleted_summary(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    r = row()
    sync_artifacts(root, [r])
    path = root / "rollout_summaries" / f"{r.stem}.md"
    path.write_text("edited by hand")
    assert sync_artifacts(root, [r]) == SyncResult(written=1, deleted=0, unchanged=1)
    assert path.read_text() == render_rollout_summary(r)
    path.unlink()
    assert sync_artifacts(root, [r]).written == 1
    assert path.read_text() == render_rollout_summary(r)


def test_sync_replaces_a_symlinked_summary_instead_of_writing_through_it(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    r = row()
    sync_artifacts(root, [r])
    outside = tmp_path / "outside.md"
    outside.write_text(render_rollout_summary(r))  # even with identical content
    path = root / "rollout_summaries" / f"{r.stem}.md"
    path.unlink()
    path.symlink_to(outside)
    assert sync_artifacts(root, [r]).written == 1
    assert not path.is_symlink()
    assert outside.read_text() == render_rollout_summary(r)


def test_sync_refuses_a_symlinked_summaries_dir(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "rollout_summaries").symlink_to(elsewhere)
    with pytest.raises(ArtifactError):
        sync_artifacts(root, [row()])
    assert list(elsewhere.iterdir()) == []


def test_empty_selection_clears_summaries_and_writes_placeholder(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    sync_artifacts(root, [row()])
    (root / "MEMORY.md").write_text("left for the agent")
    result = sync_artifacts(root, [])
    assert result == SyncResult(written=1, deleted=1, unchanged=0)
    assert list((root / "rollout_summaries").iterdir()) == []
    assert (root / "raw_memories.md").read_text() == "# Raw Memories\n\nNo raw memories yet.\n"
    assert (root / "MEMORY.md").read_text() == "left for the agent"


def test_duplicate_thread_rows_keep_the_first(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    first, second = row(summary="first"), row(summary="second", slug="other")
    sync_artifacts(root, [first, second])
    files = list((root / "rollout_summaries").iterdir())
    assert [p.name for p in files] == [f"{first.stem}.md"]
    assert files[0].read_text().endswith("\nfirst\n")
    assert (root / "raw_memories.md").read_text().count("## Thread") == 1


def test_lone_surrogate_does_not_abort_the_sync(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    sync_artifacts(root, [row(summary="bad \ud800 char")])
    assert "bad ? char" in next((root / "rollout_summaries").iterdir()).read_text()


def test_sync_redacts_what_it_writes(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    key = "sk-abcdefghijklmnopqrstuvwxyz123456"
    r = row(summary=f"used {key} here", raw=f'token: "{key}"')
    sync_artifacts(root, [r])
    summary = (root / "rollout_summaries" / f"{r.stem}.md").read_text()
    raw = (root / "raw_memories.md").read_text()
    for text in (summary, raw):
        assert key not in text
        assert "[REDACTED_SECRET]" in text
    assert summary == render_rollout_summary(r).replace(key, "[REDACTED_SECRET]")
    assert FIXED_ID in raw  # ids are not secrets
    assert sync_artifacts(root, [r]) == SyncResult(written=0, deleted=0, unchanged=2)


# --------------------------------------------------------------------------------------------
# Atomic write


def test_atomic_write_replaces_content_and_sets_mode(tmp_path: Path) -> None:
    p = tmp_path / "f.md"
    p.write_text("old")
    os.chmod(p, 0o644)
    atomic_write(p, "new ✓")
    assert p.read_text(encoding="utf-8") == "new ✓"
    assert _mode(p) == 0o600
    atomic_write(p, b"\x00bytes", mode=0o640)
    assert p.read_bytes() == b"\x00bytes"
    assert _mode(p) == 0o640
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.md"]


def test_atomic_write_failed_fsync_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "raw_memories.md"
    p.write_text("old content")

    def no_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", no_fsync)
    with pytest.raises(OSError):
        atomic_write(p, "new content")
    assert p.read_text() == "old content"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["raw_memories.md"]


def test_atomic_write_disk_full_mid_write_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "summary.md"
    p.write_text("old content")
    real_write = os.write
    calls = 0

    def short_then_enospc(fd: int, data: bytes | memoryview) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, bytes(data)[:10])  # a short write, as the kernel may do
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_enospc)
    with pytest.raises(OSError, match="No space"):
        atomic_write(p, "x" * 100_000)
    assert calls == 2
    assert p.read_text() == "old content"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["summary.md"]


def test_atomic_write_handles_short_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def dribble(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data)[:7])

    monkeypatch.setattr(os, "write", dribble)
    p = tmp_path / "f"
    atomic_write(p, "0123456789" * 10)
    assert p.read_text() == "0123456789" * 10


def test_atomic_write_failed_rename_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "f.md"
    p.write_text("old")

    def no_replace(src: object, dst: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(OSError):
        atomic_write(p, "new")
    assert p.read_text() == "old"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.md"]


def test_atomic_write_unencodable_text_touches_nothing(tmp_path: Path) -> None:
    p = tmp_path / "f.md"
    p.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write(p, "\ud800")
    assert p.read_text() == "old"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.md"]


def test_sync_failure_leaves_previous_files_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "memories"
    r = row()
    sync_artifacts(root, [r])
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    def no_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_fsync)
    with pytest.raises(OSError):
        sync_artifacts(root, [row(summary="changed")])
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
