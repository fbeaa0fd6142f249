"""memoryd.workspace.baseline: the git baseline of the memory root, the diff against it, and
the diff file (SPEC §4 steps 2, 6, 7, 10; reference §6.6 and §10.3).

Every test works on a real repository in a temp dir. Repositories are set up through pygit2;
the git command line only inspects results (log, ls-files, status, fsck, cat-file) or checks
that a rendered diff is a patch git itself applies.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import stat
import struct
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from memoryd.layout import DIFF_FILE
from memoryd.workspace import baseline as workspace
from memoryd.workspace import diff as wsdiff
from memoryd.workspace import gitobj, statcache
from memoryd.workspace.baseline import (
    BASELINE_MESSAGE,
    STAGING_NEW,
    STAGING_OLD,
    STAGING_TMP,
    blob_id,
    diff_against_baseline,
    ensure_baseline,
    remove_diff_file,
    reset_baseline,
    snapshot,
    write_diff_file,
)
from memoryd.workspace.diff import WorkspaceDiff
from memoryd.workspace.gitobj import WorkspaceError
from memoryd.workspace.statcache import STAT_CACHE

GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}
HAVE_GIT = shutil.which("git") is not None
needs_git = pytest.mark.skipif(not HAVE_GIT, reason="the git command line is not installed")


def git(root: Path, *args: str) -> str:
    """Run the git command line to inspect ``root`` (never writing to it)."""
    return subprocess.run(
        ["git", "--no-optional-locks", "-C", str(root), *args],
        check=True,
        capture_output=True,
        text=True,
        env=GIT_ENV,
    ).stdout


def write(root: Path, rel: str, data: str | bytes, mode: int | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    if mode is not None:
        os.chmod(path, mode)
    return path


def tree_of(root: Path) -> dict[str, tuple[str, int]]:
    """path -> (blob id, mode) of the baseline commit, read with pygit2."""
    repo = pygit2.Repository(str(root / ".git"))
    return gitobj.tree_entries(repo, repo.head.peel(pygit2.Commit).tree_id)


def git_dir_listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under .git with its size and mtime: to prove nothing was written."""
    out = {}
    for dirpath, _dirs, files in os.walk(root / ".git"):
        for name in files:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "memories"
    r.mkdir(mode=0o700)
    return r


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the stat cache trust files written a moment ago (in real use the baseline is
    taken minutes after its files were written; tests cannot wait)."""
    monkeypatch.setattr(statcache, "RACY_MARGIN_NS", 0)


# --------------------------------------------------------------------------------------------
# Baseline creation


@needs_git
def test_fresh_baseline_is_one_commit_on_main_of_the_current_tree(tmp_path: Path) -> None:
    root = tmp_path / "codex" / "memories"  # does not exist yet
    commit = ensure_baseline(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert (root / ".git").is_dir()
    assert git(root, "rev-parse", "HEAD").strip() == commit
    assert git(root, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert git(root, "rev-list", "--all", "--count").strip() == "1"
    assert git(root, "log", "-1", "--format=%P").strip() == ""  # no parents
    assert git(root, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B") == (
        f"memoryd <memoryd@localhost>|memoryd <memoryd@localhost>|{BASELINE_MESSAGE}\n"
    )
    assert git(root, "config", "memoryd.baseline-version").strip() == "1"
    assert git(root, "ls-files") == ""
    assert diff_against_baseline(root).is_empty


@needs_git
def test_existing_folder_is_the_baseline_not_a_change(root: Path) -> None:
    write(root, "MEMORY.md", "# Memory\n")
    write(root, "rollout_summaries/a.md", "summary a\n")
    write(root, "skills/run/run.sh", "#!/bin/sh\n", 0o755)
    os.symlink("MEMORY.md", root / "link.md")
    write(root, DIFF_FILE, "stale diff\n")
    ensure_baseline(root)
    assert git(root, "ls-files").splitlines() == [
        "MEMORY.md",
        "link.md",
        "rollout_summaries/a.md",
        "skills/run/run.sh",
    ]
    assert git(root, "ls-files", "-s", "skills/run/run.sh").startswith("100755 ")
    assert git(root, "ls-files", "-s", "link.md").startswith("120000 ")
    assert git(root, "status", "--porcelain", "--untracked-files=all") == f"?? {DIFF_FILE}\n"
    assert diff_against_baseline(root).is_empty
    git(root, "fsck", "--full", "--strict")


@needs_git
def test_reset_creates_a_fresh_baseline_index_present_and_status_clean(root: Path) -> None:
    write(root, "a.md", "one\n")
    ensure_baseline(root)
    write(root, "b.md", "two\n")
    commit = reset_baseline(root)
    assert (root / ".git" / "index").is_file()
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(root, "ls-files").splitlines() == ["a.md", "b.md"]
    assert git(root, "rev-parse", "HEAD").strip() == commit
    assert diff_against_baseline(root).is_empty


@needs_git
def test_reset_drops_previous_history(root: Path) -> None:
    # A repository with two commits and a second branch, made with pygit2.
    write(root, "a.md", "one\n")
    repo = pygit2.init_repository(str(root), initial_head="main")
    sig = pygit2.Signature("someone", "someone@example.com")
    repo.index.add("a.md")
    repo.index.write()
    first = repo.create_commit("HEAD", sig, sig, "first", repo.index.write_tree(), [])
    write(root, "a.md", "secret that was forgotten\n")
    repo.index.add("a.md")
    repo.index.write()
    second = repo.create_commit("HEAD", sig, sig, "second", repo.index.write_tree(), [first])
    repo.branches.local.create("other", repo[first].peel(pygit2.Commit))
    forgotten = blob_id(b"secret that was forgotten\n")
    assert ensure_baseline(root) == str(second)  # an intact repository is kept

    write(root, "a.md", "now\n")
    commit = reset_baseline(root)
    assert git(root, "rev-list", "--all", "--count").strip() == "1"
    assert git(root, "log", "-1", "--format=%P").strip() == ""
    assert git(root, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]
    for gone in (str(first), str(second), forgotten):
        r = subprocess.run(
            ["git", "-C", str(root), "cat-file", "-e", gone], env=GIT_ENV, capture_output=True
        )
        assert r.returncode != 0, f"{gone} survived the reset"
    assert not (root / ".git" / "logs").exists()
    assert git(root, "rev-parse", "HEAD").strip() == commit


def test_baseline_commit_is_a_function_of_the_tree(tmp_path: Path) -> None:
    roots = [tmp_path / "one", tmp_path / "two"]
    for r in roots:
        write(r, "MEMORY.md", "same\n")
        write(r, "skills/x/SKILL.md", "same too\n")
    assert ensure_baseline(roots[0]) == ensure_baseline(roots[1])
    assert reset_baseline(roots[0]) == ensure_baseline(roots[0])


def test_ensure_keeps_an_intact_repository(root: Path) -> None:
    write(root, "a.md", "one\n")
    commit = ensure_baseline(root)
    marker = root / ".git" / "kept-marker"
    marker.write_text("x")
    assert ensure_baseline(root) == commit
    assert marker.exists()


# --------------------------------------------------------------------------------------------
# Recovery: unborn, missing, corrupt


def test_ensure_recovers_from_an_unborn_repository(root: Path) -> None:
    write(root, "a.md", "one\n")
    pygit2.init_repository(str(root), initial_head="main")  # HEAD points at no commit
    commit = ensure_baseline(root)
    assert tree_of(root) == {"a.md": (blob_id(b"one\n"), 0o100644)}
    assert pygit2.Repository(str(root / ".git")).head.target == pygit2.Oid(hex=commit)


def test_ensure_recovers_from_a_deleted_git_dir(root: Path) -> None:
    write(root, "a.md", "one\n")
    ensure_baseline(root)
    write(root, "b.md", "added since\n")
    shutil.rmtree(root / ".git")
    ensure_baseline(root)
    # Pending changes are folded into the fresh baseline (Codex does the same).
    assert set(tree_of(root)) == {"a.md", "b.md"}
    assert diff_against_baseline(root).is_empty


def _garbage_head(root: Path) -> None:
    (root / ".git" / "HEAD").write_bytes(b"\x00garbage\xff\n")


def _head_to_missing_commit(root: Path) -> None:
    (root / ".git" / "refs" / "heads" / "main").write_text("1" * 40 + "\n")


def _truncated_commit_object(root: Path) -> None:
    head = pygit2.Repository(str(root / ".git")).head.target
    loose = root / ".git" / "objects" / str(head)[:2] / str(head)[2:]
    os.chmod(loose, 0o644)
    loose.write_bytes(loose.read_bytes()[:10])


def _truncated_pack(root: Path) -> None:
    for pack in (root / ".git" / "objects" / "pack").glob("*.pack"):
        os.chmod(pack, 0o644)
        with open(pack, "r+b") as f:
            f.truncate(pack.stat().st_size // 2)


def _damaged_blob(root: Path) -> None:
    # Same length, one byte flipped in the middle of the stored blobs: only a hash check
    # finds this one.
    for pack in (root / ".git" / "objects" / "pack").glob("*.pack"):
        os.chmod(pack, 0o644)
        data = bytearray(pack.read_bytes())
        i = data.index(b"needle")
        data[i] ^= 0x01
        pack.write_bytes(bytes(data))


def _git_is_a_file(root: Path) -> None:
    shutil.rmtree(root / ".git")
    (root / ".git").write_text("gitdir: /nonexistent/elsewhere\n")


def _git_is_garbage_dir(root: Path) -> None:
    shutil.rmtree(root / ".git")
    (root / ".git").mkdir()
    (root / ".git" / "junk").write_text("not a repository")


def _config_garbage(root: Path) -> None:
    (root / ".git" / "config").write_text("[core\nthis is not ini ===\n")


@pytest.mark.parametrize(
    "damage",
    [
        _garbage_head,
        _head_to_missing_commit,
        _truncated_commit_object,
        _truncated_pack,
        _damaged_blob,
        _git_is_a_file,
        _git_is_garbage_dir,
        _config_garbage,
    ],
)
def test_ensure_recovers_from_a_corrupt_git_dir(root: Path, damage: Callable[[Path], None]) -> None:
    write(root, "a.md", "a needle in a haystack\n")
    write(root, "b.md", "two\n")
    ensure_baseline(root)
    write(root, "b.md", "edited\n")
    damage(root)
    commit = ensure_baseline(root)
    assert tree_of(root) == {
        "a.md": (blob_id(b"a needle in a haystack\n"), 0o100644),
        "b.md": (blob_id(b"edited\n"), 0o100644),
    }
    assert diff_against_baseline(root).baseline == commit
    assert diff_against_baseline(root).is_empty
    assert workspace._usable_head(root) == commit


def test_git_symlink_is_replaced_and_its_target_left_alone(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write(other, "theirs.md", "not ours\n")
    ensure_baseline(other)
    before = git_dir_listing(other)
    write(root, "a.md", "one\n")
    os.symlink(other / ".git", root / ".git")
    ensure_baseline(root)
    assert not (root / ".git").is_symlink()
    assert set(tree_of(root)) == {"a.md"}
    assert git_dir_listing(other) == before


def test_diff_without_a_baseline_is_an_error(root: Path) -> None:
    with pytest.raises(WorkspaceError, match="no usable git baseline"):
        diff_against_baseline(root)


# --------------------------------------------------------------------------------------------
# Hooks never run


def test_no_hook_ever_runs(root: Path, tmp_path: Path) -> None:
    marker_dir = tmp_path / "hook-ran"
    marker_dir.mkdir()
    hook_names = [
        "pre-commit",
        "prepare-commit-msg",
        "commit-msg",
        "post-commit",
        "post-checkout",
        "post-index-change",
        "reference-transaction",
        "pre-auto-gc",
        "post-rewrite",
        "fsmonitor-watchman",
    ]

    def install(hooks_dir: Path) -> None:
        hooks_dir.mkdir(parents=True, exist_ok=True)
        for name in hook_names:
            write(hooks_dir, name, f"#!/bin/sh\ntouch '{marker_dir}/{name}'\n", 0o755)

    write(root, "a.md", "one\n")
    ensure_baseline(root)
    install(root / ".git" / "hooks")
    install(tmp_path / "hooks-path")
    repo = pygit2.Repository(str(root / ".git"))
    repo.config["core.hooksPath"] = str(tmp_path / "hooks-path")
    repo.config["core.fsmonitor"] = str(tmp_path / "hooks-path" / "fsmonitor-watchman")
    del repo

    ensure_baseline(root)
    write(root, "b.md", "two\n")
    diff = diff_against_baseline(root)
    write_diff_file(root, diff)
    snapshot(root)
    reset_baseline(root)
    remove_diff_file(root)
    # And once more on the fresh repository, whose config must not have kept the hooks.
    write(root, "c.md", "three\n")
    ensure_baseline(root)
    reset_baseline(root)
    assert list(marker_dir.iterdir()) == []
    assert "hookspath" not in (root / ".git" / "config").read_text().lower()


# --------------------------------------------------------------------------------------------
# What the diff sees


def test_diff_reports_added_modified_and_deleted_files(root: Path) -> None:
    write(root, "MEMORY.md", "v1\n")
    write(root, "rollout_summaries/a.md", "a\n")
    write(root, "rollout_summaries/b.md", "b\n")
    write(root, "skills/x/SKILL.md", "x\n")
    base = ensure_baseline(root)
    write(root, "MEMORY.md", "v2\n")
    (root / "rollout_summaries" / "b.md").unlink()
    shutil.rmtree(root / "skills")
    write(root, "rollout_summaries/c.md", "c\n")
    write(root, "extensions/ad_hoc/notes/n.md", "note\n")
    diff = diff_against_baseline(root)
    assert diff.baseline == base
    assert diff.added == ["extensions/ad_hoc/notes/n.md", "rollout_summaries/c.md"]
    assert diff.modified == ["MEMORY.md"]
    assert diff.deleted == ["rollout_summaries/b.md", "skills/x/SKILL.md"]
    assert not diff.is_empty
    assert [c.path for c in diff.changes] == sorted(c.path for c in diff.changes)


def test_a_file_replaced_by_a_directory_and_back(root: Path, no_racy_window: None) -> None:
    write(root, "x", "a file\n")
    write(root, "y/inner.md", "in a directory\n")
    ensure_baseline(root)
    (root / "x").unlink()
    write(root, "x/inner.md", "now a directory\n")
    shutil.rmtree(root / "y")
    write(root, "y", "now a file\n")
    diff = diff_against_baseline(root)
    assert diff.added == ["x/inner.md", "y"]
    assert diff.deleted == ["x", "y/inner.md"]
    assert diff.modified == []


def test_executable_bit_change_is_a_modification(root: Path) -> None:
    write(root, "run.sh", "#!/bin/sh\necho hi\n")
    ensure_baseline(root)
    os.chmod(root / "run.sh", 0o755)
    diff = diff_against_baseline(root)
    assert diff.modified == ["run.sh"]
    assert "old mode 100644\nnew mode 100755\n" in diff.render()
    reset_baseline(root)
    assert tree_of(root)["run.sh"][1] == 0o100755
    os.chmod(root / "run.sh", 0o644)
    assert diff_against_baseline(root).modified == ["run.sh"]


def test_empty_directories_do_not_count(root: Path) -> None:
    (root / "skills" / "empty" / "deeper").mkdir(parents=True)
    write(root, "a.md", "one\n")
    ensure_baseline(root)
    assert set(tree_of(root)) == {"a.md"}
    (root / "more" / "empty").mkdir(parents=True)
    shutil.rmtree(root / "skills")
    assert diff_against_baseline(root).is_empty


def test_diff_file_is_never_committed_nor_diffed(root: Path) -> None:
    write(root, "a.md", "one\n")
    write(root, DIFF_FILE, "old diff\n")
    ensure_baseline(root)
    assert DIFF_FILE not in tree_of(root)
    write(root, "a.md", "two\n")
    diff = diff_against_baseline(root)
    path = write_diff_file(root, diff)
    assert path == root / DIFF_FILE
    assert diff_against_baseline(root).modified == ["a.md"]
    assert DIFF_FILE not in snapshot(root)
    reset_baseline(root)
    assert DIFF_FILE not in tree_of(root)
    assert path.exists()  # reset leaves the working tree alone
    # Only the top-level file is the diff file; the same name deeper is a workspace file.
    write(root, f"notes/{DIFF_FILE}", "mine\n")
    assert diff_against_baseline(root).added == [f"notes/{DIFF_FILE}"]


def test_gitignore_is_not_honoured(root: Path) -> None:
    write(root, ".gitignore", "*.md\nextensions/\n")
    write(root, "a.md", "one\n")
    write(root, "extensions/ad_hoc/instructions.md", "read me\n")
    ensure_baseline(root)
    assert set(tree_of(root)) == {".gitignore", "a.md", "extensions/ad_hoc/instructions.md"}
    write(root, "b.md", "two\n")
    assert diff_against_baseline(root).added == ["b.md"]


def test_symlinks_are_their_target_text_and_never_followed(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "secret.md", "outside the root\n")
    os.symlink(outside, root / "out")  # a link to a directory out of the root
    os.symlink("a.md", root / "link")
    write(root, "a.md", "one\n")
    ensure_baseline(root)
    assert tree_of(root) == {
        "a.md": (blob_id(b"one\n"), 0o100644),
        "link": (blob_id(b"a.md"), 0o120000),
        "out": (blob_id(os.fsencode(outside)), 0o120000),
    }
    write(outside, "secret.md", "changed outside\n")
    assert diff_against_baseline(root).is_empty
    (root / "link").unlink()
    os.symlink("b.md", root / "link")
    diff = diff_against_baseline(root)
    assert diff.modified == ["link"]
    assert "-a.md\n\\ No newline at end of file\n+b.md\n\\ No newline at end of file\n" in (
        diff.render()
    )


def test_nested_git_dirs_and_special_files_are_left_out(root: Path) -> None:
    write(root, "skills/tool/.git/config", "[core]\n")
    write(root, "skills/tool/.GIT/x", "x\n")
    write(root, "skills/tool/SKILL.md", "tool\n")
    os.mkfifo(root / "pipe")
    bad_name = os.fsencode(root) + b"/bad-\xff-name.md"
    fd = os.open(bad_name, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    ensure_baseline(root)
    assert set(tree_of(root)) == {"skills/tool/SKILL.md"}
    assert diff_against_baseline(root).is_empty  # and the FIFO never blocked a read


def test_binary_files_and_type_changes_render_like_git(root: Path) -> None:
    write(root, "blob.bin", b"\x00\x01\x02")
    write(root, "kind", "a file\n")
    ensure_baseline(root)
    write(root, "blob.bin", b"\x00\x01\x03")
    (root / "kind").unlink()
    os.symlink("target", root / "kind")
    text = diff_against_baseline(root).render()
    assert (
        "diff --git a/blob.bin b/blob.bin\nBinary files a/blob.bin and b/blob.bin differ\n" in text
    )
    assert (
        "diff --git a/kind b/kind\ndeleted file mode 100644\n--- a/kind\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-a file\n"
        "diff --git a/kind b/kind\nnew file mode 120000\n--- /dev/null\n+++ b/kind\n"
        "@@ -0,0 +1 @@\n+target\n\\ No newline at end of file\n"
    ) in text


def test_diffing_writes_nothing(root: Path, no_racy_window: None) -> None:
    for i in range(20):
        write(root, f"rollout_summaries/{i}.md", f"summary {i}\n")
    ensure_baseline(root)
    before = git_dir_listing(root)
    objects = sum(1 for _ in (root / ".git" / "objects").rglob("*"))
    write(root, "rollout_summaries/3.md", "changed\n")
    write(root, "new.md", "an added file is hashed, never stored\n")
    (root / "rollout_summaries" / "4.md").unlink()
    diff = diff_against_baseline(root)
    diff.render()
    snapshot(root)
    assert git_dir_listing(root) == before
    assert sum(1 for _ in (root / ".git" / "objects").rglob("*")) == objects
    repo = pygit2.Repository(str(root / ".git"))
    assert blob_id(b"an added file is hashed, never stored\n") not in repo.odb
    assert sorted(p.name for p in root.iterdir()) == [".git", "new.md", "rollout_summaries"]


def test_snapshot_is_blob_ids_of_the_workspace(root: Path) -> None:
    write(root, "a.md", "one\n")
    write(root, "dir/b.md", b"\x00bin")
    os.symlink("a.md", root / "link")
    write(root, DIFF_FILE, "diff\n")
    assert snapshot(root) == {
        "a.md": blob_id(b"one\n"),
        "dir/b.md": blob_id(b"\x00bin"),
        "link": blob_id(b"a.md"),
    }
    ensure_baseline(root)
    write(root, "a.md", "two\n")
    assert snapshot(root)["a.md"] == blob_id(b"two\n")
    assert blob_id(b"one\n") == pygit2.hash(b"one\n").__str__()


@needs_git
def test_blob_ids_match_git(root: Path) -> None:
    write(root, "a.md", "é and more\r\n")
    out = subprocess.run(
        ["git", "hash-object", "--no-filters", str(root / "a.md")],
        check=True,
        capture_output=True,
        text=True,
        env=GIT_ENV,
    ).stdout.strip()
    assert snapshot(root) == {"a.md": out}


# --------------------------------------------------------------------------------------------
# The stat cache


def test_stat_cache_skips_unchanged_files_and_never_hides_a_change(
    root: Path, no_racy_window: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(10):
        write(root, f"s/{i}.md", f"summary {i}\n")
    ensure_baseline(root)
    assert (root / ".git" / STAT_CACHE).is_file()
    reads: list[str] = []
    real = workspace._read_regular

    def counting(path: str, max_bytes: int) -> tuple[bytes, int, tuple[int, ...] | None] | None:
        reads.append(Path(path).name)
        return real(path, max_bytes)

    monkeypatch.setattr(workspace, "_read_regular", counting)
    assert diff_against_baseline(root).is_empty
    assert reads == []  # every file was vouched for by its stat data

    # Same size, same mtime, different content: ctime still gives it away.
    p = root / "s" / "3.md"
    st = p.stat()
    p.write_text("summary X\n")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_size == st.st_size and p.stat().st_mtime_ns == st.st_mtime_ns
    assert diff_against_baseline(root).modified == ["s/3.md"]
    assert reads == ["3.md"]

    # A file replaced by another (new inode) with the same content is unchanged.
    reads.clear()
    tmp = root / "s" / "5.tmp"
    tmp.write_text("summary 5\n")
    os.replace(tmp, root / "s" / "5.md")
    assert diff_against_baseline(root).modified == ["s/3.md"]
    assert reads == ["3.md", "5.md"]


def test_files_written_just_before_the_baseline_are_always_reread(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(root, "fresh.md", "just written\n")
    ensure_baseline(root)  # within the racy window: recorded without stat data
    reads: list[str] = []
    real = workspace._read_regular

    def counting(path: str, max_bytes: int) -> tuple[bytes, int, tuple[int, ...] | None] | None:
        reads.append(path)
        return real(path, max_bytes)

    monkeypatch.setattr(workspace, "_read_regular", counting)
    assert diff_against_baseline(root).is_empty
    assert len(reads) == 1


def test_stat_cache_of_another_tree_is_not_taken_for_the_baseline(
    root: Path, no_racy_window: None
) -> None:
    write(root, "a.md", "one\n")
    write(root, "b.md", "two\n")
    ensure_baseline(root)
    # Someone commits a different tree on main behind memoryd's back (b.md dropped).
    repo = pygit2.Repository(str(root / ".git"))
    index = pygit2.Index()
    index.add(
        pygit2.IndexEntry("a.md", pygit2.Oid(hex=blob_id(b"one\n")), pygit2.enums.FileMode.BLOB)
    )
    sig = pygit2.Signature("someone", "someone@example.com")
    repo.create_commit(
        "refs/heads/main", sig, sig, "other", index.write_tree(repo), [repo.head.target]
    )
    assert diff_against_baseline(root).added == ["b.md"]


def test_a_missing_or_broken_stat_cache_only_costs_time(root: Path, no_racy_window: None) -> None:
    write(root, "a.md", "one\n")
    write(root, "b.md", "two\n")
    ensure_baseline(root)
    cache = root / ".git" / STAT_CACHE
    cache.write_bytes(b"\x93garbage")
    write(root, "b.md", "changed\n")
    assert diff_against_baseline(root).modified == ["b.md"]
    cache.unlink()
    assert diff_against_baseline(root).modified == ["b.md"]
    assert snapshot(root)["b.md"] == blob_id(b"changed\n")


# --------------------------------------------------------------------------------------------
# The diff file


def test_render_exact_text_for_a_small_change(root: Path) -> None:
    write(root, "MEMORY.md", "# Memory\n\none\ntwo\nthree\nfour\nfive\nsix\nseven\n")
    write(root, "old.md", "gone\n")
    write(root, "run.sh", "#!/bin/sh\n")
    ensure_baseline(root)
    write(root, "MEMORY.md", "# Memory\n\none\ntwo\nTHREE\nfour\nfive\nsix\nseven\neight")
    (root / "old.md").unlink()
    write(root, "new.md", "hello\nworld\n")
    os.chmod(root / "run.sh", 0o755)
    assert diff_against_baseline(root).render() == (
        "# Memory Workspace Diff\n"
        "\n"
        "Generated by memoryd before Phase 2 memory consolidation. "
        "Read this file first and do not edit it.\n"
        "\n"
        "## Status\n"
        "- M MEMORY.md\n"
        "- A new.md\n"
        "- D old.md\n"
        "- M run.sh\n"
        "\n"
        "## Diff\n"
        "\n"
        "```diff\n"
        "diff --git a/MEMORY.md b/MEMORY.md\n"
        "--- a/MEMORY.md\n"
        "+++ b/MEMORY.md\n"
        "@@ -2,8 +2,9 @@\n"
        " \n"
        " one\n"
        " two\n"
        "-three\n"
        "+THREE\n"
        " four\n"
        " five\n"
        " six\n"
        " seven\n"
        "+eight\n"
        "\\ No newline at end of file\n"
        "diff --git a/new.md b/new.md\n"
        "new file mode 100644\n"
        "--- /dev/null\n"
        "+++ b/new.md\n"
        "@@ -0,0 +1,2 @@\n"
        "+hello\n"
        "+world\n"
        "diff --git a/old.md b/old.md\n"
        "deleted file mode 100644\n"
        "--- a/old.md\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        "-gone\n"
        "diff --git a/run.sh b/run.sh\n"
        "old mode 100644\n"
        "new mode 100755\n"
        "```\n"
    )


def test_render_of_no_change_says_none() -> None:
    assert WorkspaceDiff("0" * 40, ()).render() == (
        "# Memory Workspace Diff\n\nGenerated by memoryd before Phase 2 memory consolidation."
        " Read this file first and do not edit it.\n\n## Status\n- none\n"
    )


def test_render_cap_cuts_on_a_character_boundary_and_says_what_was_left_out(
    root: Path,
) -> None:
    ensure_baseline(root)
    limit = wsdiff.DIFF_LIMIT_BYTES
    header = (
        len(
            wsdiff._render_change(
                wsdiff.FileChange("big.md", "A", None, 0o100644, None, b"x\n")
            ).encode()
        )
        - 2
    )
    # Two-byte characters, shifted by one ASCII byte if needed so that 4 MiB falls in the
    # middle of one: the cut must back off to the character's start.
    pad = "x" if (limit - header) % 2 == 0 else ""
    write(root, "big.md", pad + "é" * 3_000_000 + "\n")
    diff = diff_against_baseline(root)
    text = diff.render()
    head, _, rest = text.partition("```diff\n")
    assert head.endswith("## Status\n- A big.md\n\n## Diff\n\n")
    body, _, tail = rest.rpartition("```\n")
    assert tail == ""
    full = wsdiff._render_change(diff.changes[0]).encode()
    kept, _, notice = body.rpartition("\n\n[workspace diff truncated at ")
    kept_bytes = kept.encode()
    assert len(kept_bytes) == limit - 1
    assert full.startswith(kept_bytes)
    assert notice == f"4194304 bytes; {len(full) - len(kept_bytes)} bytes left out]\n"


def test_render_cap_small_limit_is_exact() -> None:
    change = wsdiff.FileChange("a.md", "A", None, 0o100644, None, "αβγ\n".encode())
    full = wsdiff._render_change(change)
    assert full.endswith("+αβγ\n")
    limit = len(full.encode()) - 4  # inside "γ" (two bytes) + "\n" is 3; cut inside "β"
    text = WorkspaceDiff("0" * 40, (change,)).render(limit)
    body = text.split("```diff\n", 1)[1]
    kept_bytes = full.encode()[: len(full.encode()) - 5]  # back to the start of "β"
    assert body == (
        kept_bytes.decode()
        + "\n\n[workspace diff truncated at "
        + f"{limit} bytes; 5 bytes left out]\n```\n"
    )
    # A limit the body fits exactly is not a truncation.
    assert "truncated" not in WorkspaceDiff("0" * 40, (change,)).render(len(full.encode()))


def test_write_diff_file_is_private_and_atomic(root: Path) -> None:
    write(root, "a.md", "one\n")
    ensure_baseline(root)
    write(root, "a.md", "two\n")
    diff = diff_against_baseline(root)
    path = write_diff_file(root, diff)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == diff.render()
    assert [p.name for p in root.iterdir() if p.name.startswith(f".{DIFF_FILE}")] == []
    remove_diff_file(root)
    remove_diff_file(root)  # absent is fine
    assert not path.exists()


def _patch_of(root: Path) -> str:
    """The unified diff inside the rendered diff file (what ``git apply`` is given)."""
    return diff_against_baseline(root).render().split("```diff\n", 1)[1].rsplit("```\n", 1)[0]


def _apply(patch: str, cwd: Path, tmp_path: Path, *options: str) -> None:
    (tmp_path / "p.diff").write_text(patch)
    subprocess.run(
        ["git", "apply", "--whitespace=nowarn", *options, str(tmp_path / "p.diff")],
        cwd=cwd,
        check=True,
        env=GIT_ENV,
        capture_output=True,
    )


@needs_git
def test_rendered_diff_is_a_patch_git_applies(root: Path, tmp_path: Path) -> None:
    lines = [f"line {i}" for i in range(400)]
    para = "\n\n".join("\n".join(lines[i : i + 7]) for i in range(0, 400, 7)) + "\n"
    write(root, "raw_memories.md", para)
    write(root, "MEMORY.md", "a\nb\nc\n")
    write(root, "gone.md", "bye\n")
    write(root, "tail.md", "no newline")
    ensure_baseline(root)
    check = tmp_path / "check"
    check.mkdir()
    for rel in ("raw_memories.md", "MEMORY.md", "gone.md", "tail.md"):
        write(check, rel, (root / rel).read_bytes())
    edited = para.replace("line 20\n", "line twenty\n").replace("line 300\n", "")
    edited = edited.replace("line 399\n", "line 399\nline 400\n") + "\nmore\n"
    write(root, "raw_memories.md", edited)
    write(root, "MEMORY.md", "a\nc\nd")
    (root / "gone.md").unlink()
    write(root, "tail.md", "no newline\n")
    write(root, "skills/new/SKILL.md", "new skill\n")
    _apply(_patch_of(root), check, tmp_path)
    for rel in ("raw_memories.md", "MEMORY.md", "tail.md", "skills/new/SKILL.md"):
        assert (check / rel).read_bytes() == (root / rel).read_bytes(), rel
    assert not (check / "gone.md").exists()


@needs_git
def test_rendered_diff_of_random_edits_is_a_patch_git_applies(root: Path, tmp_path: Path) -> None:
    """Whatever the edits (blank runs, repeated lines, a last line without a newline, files
    emptied or made empty), the diff file rebuilds every new file exactly (seeded)."""
    rng = random.Random(7)
    vocab = ["", "", "", "x", "## Thread", "updated_at: 1", "é ü", "- ran pytest -q"]
    vocab += [f"line {i}" for i in range(40)]

    def text(n: int) -> str:
        data = "\n".join(rng.choice(vocab) for _ in range(n))
        return data + "\n" if data and rng.random() < 0.7 else data

    news: dict[str, str] = {}
    for k in range(120):
        old = text(rng.randint(0, 300))
        lines = old.split("\n")
        for _ in range(rng.randint(0, 8)):
            at = rng.randint(0, len(lines))
            if rng.random() < 0.5:
                lines.insert(at, rng.choice(vocab))
            elif lines:
                lines.pop(min(at, len(lines) - 1))
        new = "\n".join(lines) if rng.random() < 0.9 else text(rng.randint(0, 300))
        write(root, f"f{k:03d}.md", old)
        news[f"f{k:03d}.md"] = new
    ensure_baseline(root)
    check = tmp_path / "check"
    shutil.copytree(root, check, ignore=shutil.ignore_patterns(".git"))
    for rel, new in news.items():
        write(root, rel, new)
    _apply(_patch_of(root), check, tmp_path)
    for rel in news:
        assert (check / rel).read_bytes() == (root / rel).read_bytes(), rel


def _memory_file(seed: int) -> str:
    """A MEMORY.md-like text whose lines repeat a lot (the same headings and bullets)."""
    rng = random.Random(seed)
    bullets = ["- uses uv [Task 1]", "- prefers small commits [Task 1]", "- cwd /home/dev/project"]
    out: list[str] = []
    for g in range(40):
        out += [f"# Task Group: g{g % 5}", "", "## Task 1: tests", "", "- ran pytest -q [Task 1]"]
        out += ["- ran ruff check [Task 1]", ""]
        out += [rng.choice(bullets) for _ in range(rng.randint(1, 4))]
        out.append("")
    return "\n".join(out) + "\n"


@needs_git
def test_a_rewrite_of_repetitive_text_gives_no_more_lines_than_git(
    root: Path, tmp_path: Path
) -> None:
    """The phase-2 model reads (and pays for) every diff line: a rewrite of a file whose lines
    repeat gives hunks about as long as git's own diff of the same two texts (the old
    hand-written diff gave a third more), and they apply."""
    old, new = _memory_file(1), _memory_file(2)
    write(root, "MEMORY.md", old)
    ensure_baseline(root)
    write(root, "MEMORY.md", new)
    patch = _patch_of(root)
    check = tmp_path / "check"
    write(check, "MEMORY.md", old)
    _apply(patch, check, tmp_path)
    assert (check / "MEMORY.md").read_text() == new
    write(tmp_path / "git", "a", old)
    write(tmp_path / "git", "b", new)
    theirs = subprocess.run(
        ["git", "diff", "--no-index", "--no-color", "a", "b"],
        cwd=tmp_path / "git",
        capture_output=True,
        text=True,
        env=GIT_ENV,
    ).stdout

    def hunk_lines(text: str) -> int:
        return len(text[text.index("\n@@ ") + 1 :].splitlines())

    # git slides hunks by its indent heuristic, which can merge or split a hunk: a margin.
    assert 100 < hunk_lines(patch) <= hunk_lines(theirs) * 1.1


# --------------------------------------------------------------------------------------------
# keep=: edits made while the agent ran


def test_keep_records_pre_run_content_so_the_users_edit_is_in_the_next_diff(root: Path) -> None:
    write(root, "MEMORY.md", "before the run\n")
    write(root, "notes/user.md", "user notes v1\n")
    ensure_baseline(root)
    # The agent rewrites MEMORY.md; meanwhile the user edits notes/user.md and adds a file.
    write(root, "MEMORY.md", "written by the agent\n")
    write(root, "notes/user.md", "user notes v2\n")
    write(root, "notes/new.md", "made by the user mid-run\n")
    reset_baseline(root, keep={"notes/user.md": b"user notes v1\n", "notes/new.md": None})
    # The working tree is untouched...
    assert (root / "notes" / "user.md").read_text() == "user notes v2\n"
    assert (root / "notes" / "new.md").exists()
    # ...the agent's output is the new baseline, the user's edits are the next diff.
    diff = diff_against_baseline(root)
    assert diff.modified == ["notes/user.md"]
    assert diff.added == ["notes/new.md"]
    assert diff.deleted == []
    text = diff.render()
    assert "-user notes v1\n+user notes v2\n" in text


def test_keep_of_a_file_the_user_deleted_mid_run(root: Path) -> None:
    write(root, "a.md", "one\n")
    ensure_baseline(root)
    (root / "a.md").unlink()
    reset_baseline(root, keep={"a.md": b"one\n"})
    assert diff_against_baseline(root).deleted == ["a.md"]


def test_keep_keeps_the_file_mode_and_displaces_what_is_in_its_way(root: Path) -> None:
    write(root, "run.sh", "#!/bin/sh\nv2\n", 0o755)
    write(root, "x/inner.md", "the user made x a directory\n")
    ensure_baseline(root)
    reset_baseline(root, keep={"run.sh": b"#!/bin/sh\nv1\n", "x": b"x was a file\n"})
    base = tree_of(root)
    assert base["run.sh"] == (blob_id(b"#!/bin/sh\nv1\n"), 0o100755)
    assert base["x"] == (blob_id(b"x was a file\n"), 0o100644)
    assert "x/inner.md" not in base
    diff = diff_against_baseline(root)
    assert diff.modified == ["run.sh"]
    assert diff.added == ["x/inner.md"]
    assert diff.deleted == ["x"]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/abs.md",
        "../out.md",
        "a/../b.md",
        "./a.md",
        "a//b.md",
        "a/",
        ".git/config",
        DIFF_FILE,
        STAGING_NEW + "/x",
    ],
)
def test_keep_rejects_paths_outside_the_workspace(root: Path, bad: str) -> None:
    ensure_baseline(root)
    with pytest.raises(ValueError, match="not a workspace path"):
        reset_baseline(root, keep={bad: b"x"})


# --------------------------------------------------------------------------------------------
# Symlinked root


def test_symlinked_root_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write(real, "a.md", "one\n")
    link = tmp_path / "memories"
    os.symlink(real, link)
    for call in (ensure_baseline, diff_against_baseline, reset_baseline, snapshot):
        with pytest.raises(WorkspaceError, match="memory root cannot be a symbolic link"):
            call(link)
    assert not (real / ".git").exists()


# --------------------------------------------------------------------------------------------
# Crash safety


class _Crash(BaseException):
    """A simulated crash: not an Exception, so no clean-up handler runs, as after a kill."""


STEPS = ["objects_written", "built", "renamed_new", "moved_old", "swapped"]


@needs_git
@pytest.mark.parametrize("step", STEPS)
def test_crash_in_the_middle_of_reset_is_recovered_by_ensure(
    root: Path, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(root, "a.md", "one\n")
    old = ensure_baseline(root)
    write(root, "a.md", "two\n")
    write(root, "b.md", "new\n")

    def crash(at: str) -> None:
        if at == step:
            raise _Crash(at)

    monkeypatch.setattr(workspace, "_crash_hook", crash)
    with pytest.raises(_Crash):
        reset_baseline(root)
    monkeypatch.setattr(workspace, "_crash_hook", None)

    commit = ensure_baseline(root)
    new_tree = {"a.md": (blob_id(b"two\n"), 0o100644), "b.md": (blob_id(b"new\n"), 0o100644)}
    if step == "swapped":
        assert tree_of(root) == new_tree  # past the commit point: the new baseline
        assert commit != old
    else:
        assert commit == old  # before it: the old baseline, the run's diff unchanged
        assert diff_against_baseline(root).modified == ["a.md"]
    for name in (STAGING_TMP, STAGING_NEW, STAGING_OLD):
        assert not os.path.lexists(root / name)
    git(root, "fsck", "--full", "--strict")
    # Whatever the crash left, the leftovers never showed up in a diff or a snapshot.
    assert set(snapshot(root)) == {"a.md", "b.md"}


def test_half_swapped_leftovers_are_recovered(root: Path) -> None:
    write(root, "a.md", "one\n")
    old = ensure_baseline(root)
    # Crashed between the two renames: no .git, the old one aside, a complete new one ready.
    os.rename(root / ".git", root / STAGING_OLD)
    shutil.copytree(root / STAGING_OLD, root / STAGING_NEW)
    (root / STAGING_TMP).mkdir()
    assert set(snapshot(root)) == {"a.md"}
    assert ensure_baseline(root) == old
    assert sorted(p.name for p in root.iterdir()) == [".git", "a.md"]


def test_a_failed_reset_leaves_the_old_baseline_in_place(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(root, "a.md", "one\n")
    old = ensure_baseline(root)
    write(root, "a.md", "two\n")

    def fail(at: str) -> None:
        if at == "moved_old":
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(workspace, "_crash_hook", fail)
    with pytest.raises(WorkspaceError, match="No space left"):
        reset_baseline(root)
    # Put back at once, not only at the next call.
    assert sorted(p.name for p in root.iterdir()) == [".git", "a.md"]
    monkeypatch.setattr(workspace, "_crash_hook", None)
    assert diff_against_baseline(root).baseline == old
    assert diff_against_baseline(root).modified == ["a.md"]


def test_concurrent_ensures_agree(root: Path) -> None:
    for i in range(50):
        write(root, f"s/{i}.md", f"{i}\n")
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(ensure_baseline(root))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    assert diff_against_baseline(root).is_empty


# --------------------------------------------------------------------------------------------
# The pack


@needs_git
def test_pack_holds_every_kind_of_blob_and_passes_fsck(root: Path) -> None:
    write(root, "empty.md", b"")
    write(root, "dup1.md", "same\n")
    write(root, "dup2.md", "same\n")
    write(root, "bin", bytes(range(256)) * 300)
    write(root, "big.md", "x" * 70_000)  # size header of several bytes
    write(root, "exec.sh", "#!/bin/sh\n", 0o700)
    os.symlink("empty.md", root / "link")
    ensure_baseline(root)
    git(root, "fsck", "--full", "--strict")
    verify = git(root, "verify-pack", "-v", *map(str, (root / ".git/objects/pack").glob("*.idx")))
    assert "non delta: 6 objects" in verify  # duplicates stored once
    assert git(root, "cat-file", "-p", "HEAD:big.md") == "x" * 70_000


def test_pack_index_uses_the_large_offset_table_past_2_gib(tmp_path: Path) -> None:
    writer = gitobj.PackWriter.__new__(gitobj.PackWriter)
    small, large = bytes([1]) + bytes(19), bytes([2]) + bytes(19)
    writer._objects = {large: (2**31 + 7, 0xDEADBEEF), small: (12, 0x01020304)}
    idx = writer._index(b"\xaa" * 20)
    n = 2
    offsets_at = 8 + 256 * 4 + n * 20 + n * 4
    assert struct.unpack(">2I", idx[offsets_at : offsets_at + 8]) == (12, 0x80000000)
    assert struct.unpack(">Q", idx[offsets_at + 8 : offsets_at + 16]) == (2**31 + 7,)
    assert struct.unpack(">2I", idx[8 + 256 * 4 + 40 : 8 + 256 * 4 + 48]) == (
        0x01020304,
        0xDEADBEEF,
    )


@needs_git
def test_a_change_redaction_hides_leaves_the_diff_a_valid_patch(root: Path, tmp_path: Path) -> None:
    """A file where only a secret changed reads the same on both sides once redacted: it is in
    the status list, and the diff (which git apply --check accepts) shows no header for it,
    or only its mode change; the offline agent still sees it as changed with nothing to show."""
    from memoryd.consolidate.offline.edits import parse_workspace_diff

    def pem(letters: str) -> str:
        body = [c * 64 for c in letters]
        return "\n".join(
            ["-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----"]
        )

    write(root, "notes.md", 'intro\npassword = "hunter2-old-value"\noutro\n')
    write(root, "pem.md", f"keys\n{pem('ABCD')}\nend\n")
    write(root, "run.sh", "TOKEN=abcdefghijklmnop\n")
    write(root, "MEMORY.md", "a\nb\n")
    ensure_baseline(root)
    check = tmp_path / "check"
    for rel in ("notes.md", "pem.md", "run.sh", "MEMORY.md"):
        write(check, rel, (root / rel).read_bytes())
    write(root, "notes.md", 'intro\npassword = "another-secret-value"\noutro\n')
    # A multi-line key replaced by another: the whole block is one secret on both sides.
    write(root, "pem.md", f"keys\n{pem('EFGHIJ')}\nend\n")
    write(root, "run.sh", "TOKEN=zyxwvutsrqponmlk\n", 0o755)
    write(root, "MEMORY.md", "a\nb\nc\n")
    text = diff_against_baseline(root).render()
    assert "- M notes.md\n- M pem.md\n- M run.sh\n\n" in text
    assert (
        f"{wsdiff.REDACTED_ONLY}notes.md\n{wsdiff.REDACTED_ONLY}pem.md\n"
        f"{wsdiff.REDACTED_ONLY}run.sh\n\n## Diff\n" in text
    )
    patch = _patch_of(root)
    assert "notes.md" not in patch and "pem.md" not in patch
    assert "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n" in patch
    assert "+++ b/run.sh" not in patch and "hunter2" not in text and "BBBB" not in text
    _apply(patch, check, tmp_path, "--check")  # raises if git apply rejects the patch
    files = parse_workspace_diff(text)
    assert files["notes.md"] == [] and files["pem.md"] == [] and files["run.sh"] == []
    assert files["MEMORY.md"] is not None and len(files["MEMORY.md"]) == 1


def test_redaction_of_a_blob_is_cached_by_its_id(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering the same diff again redacts nothing again: each side is cached by its blob
    id, the redacted copy for a text with a secret and a mark for a clean one; a blob id
    unknown (None) is never cached."""
    calls: list[bytes] = []
    real = wsdiff.redact_bytes

    def counting(data: bytes) -> bytes:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(wsdiff, "redact_bytes", counting)
    wsdiff.clear_redaction_cache()
    write(root, "secret.md", "x\n")
    write(root, "clean.md", "one\n")
    ensure_baseline(root)
    write(root, "secret.md", "x\napi_key = abcdefgh12345678\n")
    write(root, "clean.md", "two\n")
    diff = diff_against_baseline(root)
    first = diff.render()
    assert "abcdefgh12345678" not in first and "+api_key = [REDACTED_SECRET]" in first
    assert len(calls) == 4
    assert diff.render() == first
    assert len(calls) == 4  # all four sides came from the cache
    bare = WorkspaceDiff(
        diff.baseline,
        tuple(dataclasses.replace(c, old_oid=None, new_oid=None) for c in diff.changes),
    )
    assert bare.render() == first
    assert len(calls) == 8
    wsdiff.clear_redaction_cache()
    assert diff.render() == first
    assert len(calls) == 12


def test_a_long_file_redacts_only_its_new_blocks_and_still_finds_their_secrets(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a long file's blocks (cut before `#` lines) were found clean, a text made of them
    and a few new blocks has only the new ones redacted; a secret in a new block, even one
    whose value starts right after a cut, sends the whole text to the redactor, as before."""
    sizes: list[int] = []
    real = wsdiff.redact_bytes

    def counting(data: bytes) -> bytes:
        sizes.append(len(data))
        return real(data)

    monkeypatch.setattr(wsdiff, "redact_bytes", counting)
    wsdiff.clear_redaction_cache()
    blocks = [f"## Thread `{i:04d}`\nran pytest -q; fixed the parser\n" * 4 for i in range(900)]
    old = "# Raw Memories\n\n" + "".join(blocks)
    write(root, "raw_memories.md", old)
    ensure_baseline(root)

    def render_fresh(text: str) -> str:
        """The render of ``text`` as the new side, its blob id unknown (not cached)."""
        write(root, "raw_memories.md", text)
        diff = diff_against_baseline(root)
        fresh = tuple(dataclasses.replace(c, new_oid=None) for c in diff.changes)
        return WorkspaceDiff(diff.baseline, fresh).render()

    clean_new = old.replace(blocks[10], blocks[10] + "## Thread `new`\nran ruff\n")
    render_fresh(clean_new)
    assert len(old) > 100_000 and sizes[0] == len(old.encode())  # the baseline, whole
    sizes.clear()
    assert "+ran ruff" in render_fresh(clean_new + "# more\n")
    assert max(sizes) < 200  # the new blocks alone
    sizes.clear()
    secret = "# more\ntoken =\n#abcdefgh12345678\n"
    text = render_fresh(old.replace(blocks[500], blocks[500] + secret))
    assert "abcdefgh12345678" not in text and "+token =\n+[REDACTED_SECRET]\n" in text
    assert max(sizes) > len(old)  # found a secret: the whole text went to the redactor
