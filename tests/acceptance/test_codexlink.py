"""One writer (issue 12, SPEC §1): ``<codex_home>/memories`` becomes a link to memoryd's root.

Real directories, real links, real processes: the take-over and the going-back are SIGKILLed
at each of their steps in a child process (the same step hook as the baseline-reset crash
tests in test_workspace.py, but a real kill), and whatever is left must be the old directory
or the finished link at ``memories``, and the next start must finish the job, losing nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from support.daemon import Serve
from support.mounts import cannot_mount, read_only
from support.pipeline import example_home

from memoryd.daemon.runonce import run_once
from memoryd.memroot import codexlink
from memoryd.memroot.codexlink import LinkError, ensure_link, inspect, unlink_to_directory
from memoryd.workspace.baseline import diff_against_baseline

REPO = Path(__file__).resolve().parents[2]

# A Codex v1 memory folder as Codex's own pipeline leaves it (reference §5).
CODEX_FOLDER = {
    "MEMORY.md": "# Task Group: proj-beta\n\n- Always run `make lint` before committing.\n",
    "memory_summary.md": "v1\n\n## User preferences\n\n- make lint before commits\n",
    "raw_memories.md": "# Raw Memories\n\nNo raw memories yet.\n",
    "rollout_summaries/2026-11-20T10-00-00-AbCd-lint.md": "thread_id: x\n\nRan make lint.\n",
    "skills/lint/SKILL.md": "---\nname: lint\n---\nRun make lint.\n",
    "extensions/ad_hoc/notes/2026-11-21T09-00-00-tabs.md": "The user prefers tabs in Go files.\n",
    ".git/HEAD": "ref: refs/heads/main\n",
    "phase2_workspace_diff.md": "# Memory Workspace Diff\n",
}


def make_codex_folder(codex_home: Path) -> dict[str, bytes]:
    folder = codex_home / "memories"
    for rel, text in CODEX_FOLDER.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return tree(folder)


def tree(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder``, relative path -> bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def listing(directory: Path) -> dict[str, str]:
    """``name -> kind`` of the entries of ``directory`` (links with their target)."""
    out = {}
    for p in sorted(directory.iterdir()):
        kind = "dir" if p.is_dir() else "file"
        out[p.name] = f"link:{os.readlink(p)}" if p.is_symlink() else kind
    return out


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "codex"
    h.mkdir()
    return h


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "state" / "memories"


def asides(home: Path) -> list[Path]:
    return sorted(home.glob("memories.before-memoryd-*"))


# ------------------------------------------------------------------------------ the link


def test_missing_folder_becomes_the_link_and_a_second_start_keeps_it(
    home: Path, root: Path
) -> None:
    first = ensure_link(home, root)
    assert first.action == "created"
    assert (home / "memories").is_symlink() and os.readlink(home / "memories") == str(root)
    assert root.is_dir() and not root.is_symlink()
    assert (root.stat().st_mode & 0o777) == 0o700
    again = ensure_link(home, root)
    assert again.action == "linked"
    assert listing(home) == {"memories": f"link:{root}"}


def test_a_missing_codex_home_is_created(tmp_path: Path, root: Path) -> None:
    home = tmp_path / "fresh" / "codex"
    ensure_link(home, root)
    assert os.readlink(home / "memories") == str(root)


def test_taking_over_codex_folder_imports_it_and_keeps_it_aside(home: Path, root: Path) -> None:
    before = make_codex_folder(home)
    result = ensure_link(home, root)
    assert result.action == "took_over"
    assert os.readlink(home / "memories") == str(root)
    # Kept aside, byte for byte, under a name that says what it is and when.
    [aside] = asides(home)
    assert result.aside == aside
    assert tree(aside) == before
    assert listing(home) == {"memories": f"link:{root}", aside.name: "dir"}
    # Imported: user-visible files at their own paths, Codex's derived files where phase 2
    # leaves them, never Codex's baseline or its transient diff.
    got = tree(root)
    for rel in (
        "MEMORY.md",
        "memory_summary.md",
        "skills/lint/SKILL.md",
        "extensions/ad_hoc/notes/2026-11-21T09-00-00-tabs.md",
    ):
        assert got[rel] == before[rel]
    assert got["imported/codex/raw_memories.md"] == before["raw_memories.md"]
    summary = "rollout_summaries/2026-11-20T10-00-00-AbCd-lint.md"
    assert got[f"imported/codex/{summary}"] == before[summary]
    assert summary not in got and "phase2_workspace_diff.md" not in got
    assert b"[memoryd]" in (root / ".git" / "config").read_bytes()  # memoryd's own baseline
    # Every imported file is a change against the root's baseline: the next run's input.
    assert set(diff_against_baseline(root).added) == set(result.imported)


def test_a_legacy_user_memory_folder_is_migrated_at_the_take_over(home: Path, root: Path) -> None:
    """SPEC §1's one-time legacy migration still happens: ``memories/user/memory/`` is copied
    into the root; the hashed per-cwd buckets stay in the folder kept aside."""
    legacy = home / "memories" / "user" / "memory"
    legacy.mkdir(parents=True)
    (legacy / "MEMORY.md").write_text("# legacy memory\n")
    bucket = home / "memories" / "user" / "3f2a9c"
    bucket.mkdir()
    (bucket / "notes.md").write_text("per-cwd\n")
    before = tree(home / "memories")
    ensure_link(home, root)
    assert (root / "MEMORY.md").read_text() == "# legacy memory\n"
    assert not (root / "user").exists()
    [aside] = asides(home)
    assert tree(aside) == before


def test_imported_folder_is_consolidated_like_user_edits(tmp_path: Path) -> None:
    """run --once on a home where Codex had its own folder: Codex's memory line and its note
    reach memoryd's consolidated MEMORY.md, which Codex reads through the link."""
    home, _, settings = example_home(tmp_path)
    make_codex_folder(home)
    summary = anyio.run(run_once, settings)
    assert summary.link is not None and summary.link.action == "took_over"
    assert summary.phase2 is not None and summary.phase2.outcome == "succeeded"
    memory = (home / "memories" / "MEMORY.md").read_text()
    assert "Always run `make lint` before committing." in memory
    assert "The user prefers tabs in Go files." in memory
    assert (tmp_path / "s" / "memories" / "MEMORY.md").read_text() == memory


def test_a_memoryd_folder_from_before_keeps_its_user_edit(tmp_path: Path) -> None:
    """memoryd's own root at <codex_home>/memories (before this change), with a line the user
    added by hand: the line survives the move into memoryd's own root."""
    home, _, settings = example_home(tmp_path)
    _, _, old = example_home(tmp_path, memory_root=str(tmp_path / "x"))
    anyio.run(run_once, old)
    # Put it where memoryd used to keep it, as a real directory, then edit it by hand.
    os.unlink(home / "memories")
    os.rename(tmp_path / "x", home / "memories")
    with (home / "memories" / "MEMORY.md").open("a") as f:
        f.write("- Deploys go through the staging cluster first.\n")
    summary = anyio.run(run_once, settings)
    assert summary.link is not None and summary.link.action == "took_over"
    memory = (tmp_path / "s" / "memories" / "MEMORY.md").read_text()
    assert "Deploys go through the staging cluster first." in memory
    # memoryd's derived files were its own: rebuilt from its DB, not imported a second time.
    assert not (tmp_path / "s" / "memories" / "imported").exists()


# ------------------------------------------------------------------------------ refusals


def _refused(home: Path, root: Path, match: str) -> str:
    before = listing(home)
    with pytest.raises(LinkError) as info:
        ensure_link(home, root)
    message = str(info.value)
    assert "\n" not in message and match in message
    assert listing(home) == before  # nothing changed
    assert not root.exists()
    return message


def test_a_link_elsewhere_is_refused(home: Path, root: Path, tmp_path: Path) -> None:
    other = tmp_path / "dotfiles" / "memories"
    other.mkdir(parents=True)
    os.symlink(other, home / "memories")
    msg = _refused(home, root, f"is a symbolic link to {other}, not to memoryd's memory root")
    assert f"rm {home / 'memories'}" in msg and f'memory_root = "{other}"' in msg


def test_a_broken_link_is_refused(home: Path, root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone", home / "memories")
    msg = _refused(home, root, "which does not exist")
    assert f"rm {home / 'memories'}" in msg


def test_a_file_is_refused(home: Path, root: Path) -> None:
    (home / "memories").write_text("not a folder\n")
    msg = _refused(home, root, "is not a directory or a link")
    assert f"mv {home / 'memories'} {home / 'memories'}.bak" in msg
    assert (home / "memories").read_text() == "not a folder\n"


def test_a_codex_home_that_is_a_file_is_refused(tmp_path: Path, root: Path) -> None:
    home = tmp_path / "codex"
    home.write_text("not a folder\n")
    with pytest.raises(LinkError, match=r"^the Codex home .* is not a directory memoryd can use"):
        ensure_link(home, root)
    assert home.read_text() == "not a folder\n" and not root.exists()


def test_memory_root_at_the_link_itself_is_refused(home: Path) -> None:
    with pytest.raises(LinkError, match=r"memory_root is .* itself, the folder Codex also writes"):
        ensure_link(home, home / "memories")
    with pytest.raises(LinkError, match="is inside"):
        ensure_link(home, home / "memories" / "mine")
    assert listing(home) == {}


@pytest.mark.skipif(cannot_mount() is not None, reason=str(cannot_mount()))
def test_a_codex_home_we_cannot_write_is_refused(home: Path, root: Path) -> None:
    """A read-only Codex home (root ignores permission bits; a read-only mount binds it)."""
    make_codex_folder(home)
    with read_only(home):
        msg = _refused(home, root, f"{home} is on a read-only file system")
    assert msg.endswith("remount it read-write and start memoryd again")


def memoryd_cli(home: Path, base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``memoryd ARGS`` in a child process, on Codex home ``home`` and state ``base/s``."""
    env = {
        **os.environ,
        "HOME": str(base),
        "CODEX_HOME": str(home),
        "MEMORYD_STATE_DIR": str(base / "s"),
        "MEMORYD_CONFIG": "",
        "XDG_CONFIG_HOME": str(base / "cfg"),
    }
    return subprocess.run(
        [sys.executable, "-m", "memoryd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_prints_the_refusal_on_one_line(home: Path, tmp_path: Path) -> None:
    (home / "memories").write_text("x")
    proc = memoryd_cli(home, tmp_path, "run", "--once")
    assert proc.returncode == 2  # like a config error: a service manager does not retry
    assert proc.stderr.strip().splitlines() == [
        f"memoryd: {home / 'memories'} is not a directory or a link (a file or a special file): "
        f"move it away (mv {home / 'memories'} {home / 'memories'}.bak) and start memoryd again"
    ]


# ------------------------------------------------------------------------------ going back


def test_unlink_turns_the_link_into_a_directory_with_our_memories(home: Path, root: Path) -> None:
    ensure_link(home, root)
    (root / "MEMORY.md").write_text("# ours\n")
    (root / "extensions" / "ad_hoc").mkdir(parents=True)
    (root / "extensions" / "ad_hoc" / "instructions.md").write_text("notes go here\n")
    (root / ".git").mkdir()
    folder = unlink_to_directory(home, root)
    assert folder == home / "memories" and folder.is_dir() and not folder.is_symlink()
    assert tree(folder) == {k: v for k, v in tree(root).items() if not k.startswith(".git")}
    assert listing(home) == {"memories": "dir"}
    assert (root / "MEMORY.md").read_text() == "# ours\n"  # memoryd's root is left as it was
    with pytest.raises(LinkError, match="already a plain directory"):
        unlink_to_directory(home, root)


def test_unlink_refuses_a_link_that_is_not_ours(home: Path, root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path, home / "memories")
    with pytest.raises(LinkError, match="is not memoryd's link"):
        unlink_to_directory(home, root)
    assert (home / "memories").is_symlink()


# ------------------------------------------------------------------------------ SIGKILL

_KILLER = """
import os, signal, sys
from pathlib import Path
from memoryd.memroot import codexlink
step, op, home, root, exchange = sys.argv[1:6]
def kill(at):
    if at == step:
        os.kill(os.getpid(), signal.SIGKILL)
codexlink._crash_hook = kill
if not exchange:
    codexlink._exchange = lambda a, b: False
fn = codexlink.ensure_link if op == "take" else codexlink.unlink_to_directory
fn(Path(home), Path(root))
"""


def kill_at(step: str, op: str, home: Path, root: Path, *, exchange: bool = True) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, step, op, str(home), str(root), "yes" * exchange],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


@pytest.mark.parametrize("step", ["imported", "link_ready", "swapped", "done"])
def test_take_over_killed_at_each_step(home: Path, root: Path, step: str) -> None:
    before = make_codex_folder(home)
    kill_at(step, "take", home, root)
    # What the kill left: the old directory, or the finished link, at memories; never neither.
    state = inspect(home, root)
    if step in ("imported", "link_ready"):
        assert state.kind == "dir" and tree(home / "memories") == before
    else:
        assert state.kind == "link"
    # The next start finishes it, and nothing was lost.
    result = ensure_link(home, root)
    assert result.action in ("took_over", "linked")
    assert os.readlink(home / "memories") == str(root)
    [aside] = asides(home)
    assert tree(aside) == before
    assert set(listing(home)) == {"memories", aside.name}
    assert tree(root)["MEMORY.md"] == before["MEMORY.md"]


@pytest.mark.parametrize("step", ["imported", "link_ready", "moved_aside", "done"])
def test_take_over_without_an_atomic_exchange_is_finished_by_the_next_start(
    home: Path, root: Path, step: str
) -> None:
    """Where renameat2(RENAME_EXCHANGE) is missing, a kill between the two renames leaves no
    memories for a moment; the next start completes the link, and the old folder is kept."""
    before = make_codex_folder(home)
    kill_at(step, "take", home, root, exchange=False)
    leftover = home / ".memories.memoryd-takeover"
    assert leftover.is_symlink() or not leftover.exists()  # at most the unfinished link
    ensure_link(home, root)
    assert os.readlink(home / "memories") == str(root)
    [aside] = asides(home)
    assert tree(aside) == before


@pytest.mark.parametrize("step", ["copied", "swapped"])
def test_unlink_killed_at_each_step(home: Path, root: Path, step: str) -> None:
    ensure_link(home, root)
    (root / "MEMORY.md").write_text("# ours\n")
    kill_at(step, "unlink", home, root)
    state = inspect(home, root)
    assert state.kind == ("link" if step == "copied" else "dir")
    # Running it again finishes the way back.
    if state.kind == "link":
        unlink_to_directory(home, root)
    else:
        codexlink._recover(home, root)
    assert listing(home) == {"memories": "dir"}
    assert (home / "memories" / "MEMORY.md").read_text() == "# ours\n"


# ------------------------------------------------------------------------------ serve


def test_serve_takes_over_at_start(serve: Serve) -> None:
    """The daemon links at every start, before any work: a Codex folder found there is
    imported and kept aside, and what Codex reads is memoryd's root."""
    before = make_codex_folder(serve.codex)
    serve.start_ready()
    link = serve.codex / "memories"
    assert os.readlink(link) == str(serve.state / "memories")
    [aside] = asides(serve.codex)
    assert tree(aside) == before
    note = "extensions/ad_hoc/notes/2026-11-21T09-00-00-tabs.md"
    assert (link / note).read_bytes() == before[note]  # imported, read through the link
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit() == 0


def test_serve_refuses_a_foreign_link_and_exits_2(serve: Serve, tmp_path: Path) -> None:
    serve.codex.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp_path, serve.codex / "memories")
    serve.start()
    assert serve.wait_exit() == 2
    assert f"is a symbolic link to {tmp_path}, not to memoryd's memory root" in serve.stderr()
    assert os.readlink(serve.codex / "memories") == str(tmp_path)


def test_an_import_that_cannot_finish_leaves_the_folder_where_it_was(
    home: Path, root: Path
) -> None:
    """A file in memoryd's root where the Codex folder has a directory (skills): the import
    stops with one line, and the Codex folder stays in place, whole."""
    before = make_codex_folder(home)
    root.mkdir(parents=True)
    (root / "skills").write_text("in the way\n")
    with pytest.raises(LinkError, match=r"^cannot import .* was left as it is") as info:
        ensure_link(home, root)
    assert "\n" not in str(info.value)
    assert inspect(home, root).kind == "dir" and tree(home / "memories") == before
    assert asides(home) == []


def test_memoryd_unlink_from_the_command_line(home: Path, tmp_path: Path) -> None:
    def memoryd(*args: str) -> subprocess.CompletedProcess[str]:
        return memoryd_cli(home, tmp_path, *args)

    assert "back into a plain" in memoryd("unlink", "--help").stdout
    root = tmp_path / "s" / "memories"
    ensure_link(home, root)
    (root / "MEMORY.md").write_text("# ours\n")
    done = memoryd("unlink")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{home / 'memories'} is a plain directory again")
    assert (home / "memories" / "MEMORY.md").read_text() == "# ours\n"
    again = memoryd("unlink")
    assert again.returncode == 2
    assert again.stderr == (
        f"memoryd: {home / 'memories'} is already a plain directory: nothing to do\n"
    )


_RACER = """
import sys, time
from pathlib import Path
from memoryd.memroot.codexlink import ensure_link
start, home, root = float(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
print(ensure_link(home, root).action)
"""


def test_processes_starting_together_take_over_once(home: Path, root: Path) -> None:
    """A daemon and several ``run --once`` starting at the same moment on a Codex folder: one
    of them takes it over, the others find the link; nothing fails, one folder is kept aside."""
    before = make_codex_folder(home)
    start = time.time() + 2.0
    argv = [sys.executable, "-c", _RACER, str(start), str(home), str(root)]
    procs = [
        subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    assert sorted(out.split()[-1] for out, _ in results) == ["linked"] * 5 + ["took_over"]
    assert os.readlink(home / "memories") == str(root)
    [aside] = asides(home)
    assert tree(aside) == before
    assert set(listing(home)) == {"memories", aside.name}
