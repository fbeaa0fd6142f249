"""Attacks on memoryd (issue 14, first half): a consolidation agent that misbehaves, links
planted in the memory root and the state dir, loose modes, and configuration aimed at the
user's own files. Each test names the attack and checks what memoryd does instead of the harm.

The loopback model (tests/support/responses_server.py) is scripted to attack; daemons and
``run --once`` are real subprocesses on a throw-away home (tests/support/daemon.py)."""

from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import pygit2
import pytest
import structlog
from support.daemon import KEY_ENV, daemon_env, scalar, serving, short_dir, wait_for
from support.fault_world import (
    api_key_fixture,  # noqa: F401 (a fixture)
    consolidator,
    openai_config,
    rows,
    world,
)
from support.phase2_env import env as env  # the real DB with phase-1 outputs, and a codex home
from support.protocols import model_turns
from support.responses_server import (
    Behaviour,
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)
from support.trees import plant_deep_tree, remove_deep_tree

from memoryd.config import Config, Phase2Config, load_settings, parse_config
from memoryd.consolidate.offline import OfflineConsolidator
from memoryd.consolidate.tools import MemoryRootTools
from memoryd.demo import install_examples
from memoryd.doctor.paths import check_memory_root
from memoryd.errors import ArtifactError, ConfigError
from memoryd.extract.openai import OpenAIExtractor
from memoryd.fsutil import atomic_write
from memoryd.memroot.artifacts import sync_artifacts
from memoryd.memroot.extensions import seed_ad_hoc
from memoryd.phase1 import Phase1
from memoryd.phase2 import Consolidator
from memoryd.workspace.baseline import (
    diff_against_baseline,
    ensure_baseline,
    reset_baseline,
    snapshot,
)

# (a+)+$ against 40 a's and a "!" backtracks through 2^40 ways to split the a's: hours in re.
BAIT = "a" * 40 + "!\n"
HOSTILE = "(a+)+$"


@pytest.fixture
def base() -> Iterator[Path]:
    with short_dir("mdatk-") as path:
        yield path


def search_call(path: str | None = None) -> str:
    return json.dumps({"pattern": HOSTILE, "path": path, "regex": True})


# --- a backtracking regex --------------------------------------------------------------------


def test_a_backtracking_regex_is_stopped_at_its_deadline(tmp_path: Path) -> None:
    (tmp_path / "bait.md").write_text(BAIT)
    tools = MemoryRootTools(tmp_path, search_seconds=0.5)
    out = tools.call("search", search_call())
    assert out == (
        "error: the regex search was stopped: it ran longer than 0.5s; simplify the pattern "
        "(nested repetition backtracks) or search for plain text"
    )
    # An ordinary regex still answers, through the same child process.
    ok = json.dumps({"pattern": r"a{3}!$", "path": None, "regex": True})
    assert tools.call("search", ok) == f"bait.md:1: {BAIT.strip()}"


def test_abort_stops_a_running_regex_search_at_once(tmp_path: Path) -> None:
    """A cancelled run aborts the tool in progress: the search with an hour's deadline ends
    as soon as ``abort`` is called, from another thread."""
    (tmp_path / "bait.md").write_text(BAIT)
    tools = MemoryRootTools(tmp_path, search_seconds=3600)
    answer: list[str] = []
    worker = threading.Thread(target=lambda: answer.append(tools.call("search", search_call())))
    worker.start()
    child = wait_for("the search child to start", lambda: tools._regex._child)
    tools.abort()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert child.returncode == -signal.SIGKILL  # killed and reaped, not left running
    assert answer == [
        "error: the regex search was stopped: aborted; simplify the pattern (nested repetition "
        "backtracks) or search for plain text"
    ]


def hostile_model(req: ReceivedRequest) -> Behaviour:
    """Phase 1: a valid memory. Phase 2: write the bait, then search it with a backtracking
    regex, turn after turn."""
    if "tools" not in req.json:
        return Reply(text='{"rollout_summary": "s", "rollout_slug": null, "raw_memory": "m"}')
    n = model_turns(req)
    if n == 0:
        args = {"path": "bait.md", "content": BAIT}
        return Reply(text=None, items=[function_call_item("write_file", args, "t0_0")])
    args2 = {"pattern": HOSTILE, "path": "bait.md", "regex": True}
    return Reply(text=None, items=[function_call_item("search", args2, f"t{n}_0")])


def hostile_config(url: str, **phase2: object) -> str:
    extra = "".join(f"{k} = {v}\n" for k, v in phase2.items())
    return (
        '[phase1]\nbackend = "openai"\n'
        f'[phase2]\nbackend = "openai"\nmin_interval_seconds = 0\n{extra}'
        f'[backends.openai]\nbase_url = "{url}"\napi_key_env = "{KEY_ENV}"\n'
        'timeout_seconds = 10\n[log]\nlevel = "debug"\n'
    )


async def test_run_once_keeps_to_max_seconds_during_a_hostile_search(base: Path) -> None:
    """The search's own deadline is 10 minutes; the run's is 3 s. ``run --once`` stops the agent
    at its wall-time limit (the child is killed) and exits, the run stored as time_limit."""
    install_examples(base / "codex" / "sessions")
    async with ResponsesServer(responder=hostile_model) as srv:
        (base / "memoryd.toml").write_text(
            hostile_config(srv.url, max_seconds=3, search_regex_seconds=600)
        )
        cmd = [sys.executable, "-m", "memoryd", "--config", str(base / "memoryd.toml")]
        done = await anyio.to_thread.run_sync(
            lambda: subprocess.run(
                [*cmd, "run", "--once"],
                env=daemon_env(base),
                cwd=base,
                capture_output=True,
                text=True,
                timeout=120,  # far below the search's 10 minutes; killed (by PID) past it
            )
        )
    # A failed phase makes run --once exit 1, with the reason on stderr.
    assert done.returncode == 1, done.stderr
    assert "phase 2: failed: time_limit: the agent did not finish within 3s" in done.stdout
    assert "memoryd: phase 2 failed: time_limit: " in done.stderr
    db = base / "state" / "memoryd.sqlite"
    assert scalar(db, "SELECT count(*) FROM phase2_runs WHERE reason LIKE 'time_limit:%'") == 1


async def test_sigterm_stops_the_daemon_during_a_hostile_search(base: Path) -> None:
    """SIGTERM while the agent's regex search runs (its deadline 10 minutes away): the daemon
    cancels the run, kills the search and exits within its grace period, status 0."""
    install_examples(base / "codex" / "sessions")
    async with ResponsesServer(responder=hostile_model) as srv:
        config = hostile_config(srv.url, search_regex_seconds=600) + (
            "[daemon]\nshutdown_grace_seconds = 2\n"
        )
        with serving(base, config) as daemon:
            proc = daemon.procs[0]

            def searching() -> bool:
                assert proc.poll() is None, daemon.stderr()
                return any(e.get("turn") == 2 for e in daemon.events("phase2_agent_turn"))

            await anyio.to_thread.run_sync(lambda: wait_for("the hostile search", searching, 60))
            await anyio.sleep(0.5)  # the search child is running now
            proc.send_signal(signal.SIGTERM)
            code = await anyio.to_thread.run_sync(lambda: proc.wait(timeout=60))
    assert code == 0, daemon.stderr()
    db = base / "state" / "memoryd.sqlite"
    assert scalar(db, "SELECT count(*) FROM phase2_runs WHERE reason = 'stopped'") == 1


# --- a file too big for the workspace ---------------------------------------------------------

LIMIT = 8192


def test_a_file_over_the_limit_is_in_no_baseline_diff_or_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "memories"
    root.mkdir()
    (root / "MEMORY.md").write_text("# memory\n")
    ensure_baseline(root, max_file_bytes=LIMIT)
    (root / "dump.bin").write_bytes(b"x" * (LIMIT + 1))
    (root / "ok.md").write_bytes(b"y" * LIMIT)
    diff = diff_against_baseline(root, max_file_bytes=LIMIT)
    assert diff.added == ["ok.md"] and diff.too_big == ("dump.bin",)
    assert set(snapshot(root, max_file_bytes=LIMIT)) == {"MEMORY.md", "ok.md"}
    reset_baseline(root, max_file_bytes=LIMIT)
    head = pygit2.Repository(str(root / ".git")).head.peel(pygit2.Commit)
    assert sorted(e.name for e in head.tree) == ["MEMORY.md", "ok.md"]
    # Left out, not deleted: the file is still there, and does not show up as a deletion.
    assert (root / "dump.bin").stat().st_size == LIMIT + 1
    assert diff_against_baseline(root, max_file_bytes=LIMIT).changes == ()


def test_a_baseline_from_before_the_limit_does_not_report_the_big_file_deleted(
    tmp_path: Path,
) -> None:
    root = tmp_path / "memories"
    root.mkdir()
    (root / "dump.bin").write_bytes(b"x" * (LIMIT + 1))
    ensure_baseline(root, max_file_bytes=LIMIT * 4)  # an older, larger limit took it in
    diff = diff_against_baseline(root, max_file_bytes=LIMIT)
    assert diff.changes == () and diff.too_big == ("dump.bin",)


async def test_phase2_leaves_a_big_user_file_out_of_the_baseline_and_history_with_a_warning(
    env: tuple[aiosqlite.Connection, Path, Path], tmp_path: Path
) -> None:
    conn, home, root = env
    cfg = Config(phase2=Phase2Config(max_file_bytes=LIMIT))
    root.mkdir(mode=0o700)
    (root / "video.mp4").write_bytes(b"\0" * (LIMIT * 3))
    hist = tmp_path / "history"
    c = Consolidator(
        conn, cfg, OfflineConsolidator(), root=root, codex_home=home, worker_id="t",
        history_dir=hist,
    )  # fmt: skip
    with structlog.testing.capture_logs() as logs:
        result = await c.run_once()
    assert result.outcome == "succeeded"
    assert "video.mp4" not in result.changed_paths
    warned = [e for e in logs if e["event"] == "phase2_files_too_big"]
    assert [e["files"] for e in warned] == [["video.mp4"]]
    head = pygit2.Repository(str(root / ".git")).head.peel(pygit2.Commit)
    assert "video.mp4" not in {e.name for e in head.tree}
    history = pygit2.Repository(str(hist))
    tree = history.head.peel(pygit2.Commit).tree
    assert "video.mp4" not in {e.name for e in tree} and "MEMORY.md" in {e.name for e in tree}
    assert (root / "video.mp4").stat().st_size == LIMIT * 3  # the user's file is untouched


def test_doctor_names_the_files_left_out(tmp_path: Path) -> None:
    root = tmp_path / "state" / "memories"  # memoryd's own root (the default)
    root.mkdir(parents=True, mode=0o700)
    (root / "memory_summary.md").write_text("v1\n")
    (root / "memory_summary.md").chmod(0o600)
    big = root / "dump.bin"
    big.write_bytes(b"x" * (LIMIT + 1))
    big.chmod(0o600)
    cfg = tmp_path / "memoryd.toml"
    cfg.write_text(f"[phase2]\nmax_file_bytes = {LIMIT}\n")
    settings = load_settings(cfg, env={"HOME": str(tmp_path), "CODEX_HOME": str(tmp_path / "codex"),
                                       "MEMORYD_STATE_DIR": str(tmp_path / "state")})  # fmt: skip
    check = check_memory_root(settings)
    assert (check.status, check.message) == (
        "warn",
        f"1 file(s) in {root} are larger than phase2.max_file_bytes ({LIMIT} bytes) and are "
        "left out of the baseline, the diff and the history: dump.bin",
    )
    assert check.fix == "move them out of the memory root, or raise phase2.max_file_bytes"


# --- links planted in the memory root and the state dir ---------------------------------------


def test_a_linked_extensions_folder_is_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "memories"
    root.mkdir()
    (root / "extensions").symlink_to(outside, target_is_directory=True)
    with pytest.raises(NotADirectoryError, match=r"symbolic link .*/memories/extensions inside"):
        seed_ad_hoc(root)
    assert list(outside.iterdir()) == []


def test_memoryd_own_writes_refuse_a_link_at_any_component(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "memories"
    (root / "skills").mkdir(parents=True)
    (root / "skills" / "deploy").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ArtifactError, match=r"symbolic link .*/skills/deploy inside"):
        atomic_write(root / "skills" / "deploy" / "SKILL.md", "x", root=root)
    (root / "rollout_summaries").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ArtifactError):
        sync_artifacts(root, [])
    assert list(outside.iterdir()) == []


def cli(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``memoryd --config base/memoryd.toml ARGS`` on the home under ``base``; killed (by PID)
    if it runs past a minute (a serve that was not refused)."""
    cfg = base / "memoryd.toml"
    if not cfg.exists():
        cfg.write_text("")
    return subprocess.run(
        [sys.executable, "-m", "memoryd", "--config", str(cfg), *args],
        env=daemon_env(base),
        cwd=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", [["run", "--once"], ["serve"]])
def test_a_linked_state_dir_is_refused_with_one_line(base: Path, command: list[str]) -> None:
    elsewhere = base / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    (base / "state").symlink_to(elsewhere, target_is_directory=True)
    done = cli(base, *command)
    assert done.returncode == 1
    assert done.stderr == (
        f"memoryd: {base / 'state'} is a symbolic link (to {elsewhere}); memoryd keeps its state "
        "only in a real directory: remove the link or point MEMORYD_STATE_DIR/state_dir at the "
        "real directory\n"
    )
    assert list(elsewhere.iterdir()) == [] and stat.S_IMODE(elsewhere.stat().st_mode) == 0o755


@pytest.mark.parametrize("dangling", [False, True], ids=["to_a_file", "dangling"])
def test_a_linked_state_db_is_refused_and_its_target_untouched(base: Path, dangling: bool) -> None:
    install_examples(base / "codex" / "sessions")
    target = base / "elsewhere.sqlite"
    if not dangling:
        target.write_bytes(b"not mine")
        target.chmod(0o644)
    (base / "state").mkdir(mode=0o700)
    (base / "state" / "memoryd.sqlite").symlink_to(target)
    done = cli(base, "run", "--once")
    assert done.returncode == 1
    assert done.stderr == (
        f"memoryd: state DB {base / 'state' / 'memoryd.sqlite'} is a symbolic link (to {target}); "
        "memoryd refuses to follow it: remove the link (the DB is created in the state dir)\n"
    )
    if dangling:
        assert not target.exists()
    else:
        assert target.read_bytes() == b"not mine" and stat.S_IMODE(target.stat().st_mode) == 0o644


def test_loose_modes_are_tightened_and_everything_is_created_private(base: Path) -> None:
    """A root and a state dir left 0777, and a umask of 000: after a run every directory
    memoryd owns is 0700 and every file it made 0600 (or 0700), the log and git's own files
    included."""
    install_examples(base / "codex" / "sessions")
    root, state = base / "codex" / "memories", base / "state"
    for d in (root, state):
        d.mkdir(parents=True)
        d.chmod(0o777)
    env = daemon_env(base)
    (base / "memoryd.toml").write_text("")
    done = subprocess.run(
        ["sh", "-c", 'umask 000 && exec "$0" -m memoryd --config "$1" run --once',
         sys.executable, str(base / "memoryd.toml")],
        env=env, cwd=base, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (root / "MEMORY.md").is_file() and (state / "logs" / "memoryd.log").is_file()
    loose = [
        f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}"
        for top in (root, state)
        for p in [top, *top.rglob("*")]
        if stat.S_IMODE(p.lstat().st_mode) & 0o077 and not p.is_symlink()
    ]
    assert loose == []


# --- configuration aimed at the user's files ------------------------------------------------


def refused_roots(base: Path) -> list[tuple[str, str]]:
    codex = base / "codex"
    return [
        ("/", "is the root of the file system"),
        (str(base), "is your home directory"),
        (str(base.parent), "contains your home directory"),
        (str(codex), "is codex_home itself, where Codex keeps its sessions and settings"),
        (str(codex / "sessions" / "2026"), f"is inside the rollout directory {codex / 'sessions'}"),
        (str(base / "state" / "logs"), f"is inside memoryd's state dir {base / 'state'}"),
        (str(base / "projects"), "is a non-empty directory without memory files (it holds "
                                 ".ssh, app, notes.txt, ...)"),
    ]  # fmt: skip


@pytest.mark.parametrize("command", [["run", "--once"], ["serve"]])
def test_a_memory_root_over_the_users_files_is_refused(base: Path, command: list[str]) -> None:
    install_examples(base / "codex" / "sessions")
    projects = base / "projects"
    for name in (".ssh", "app", "x"):
        (projects / name).mkdir(parents=True)
    (projects / "notes.txt").write_text("mine\n")
    (base / "state" / "logs").mkdir(parents=True)
    cfg = base / "memoryd.toml"
    for root, why in refused_roots(base):
        cfg.write_text(f"memory_root = {json.dumps(root)}\n")
        done = cli(base, *command)
        assert done.returncode == 2, (root, done.stderr)
        assert done.stderr == (
            f"memoryd: config error: {cfg}: memory_root: {root} {why}; memoryd would commit and "
            "rewrite what is there: set memory_root to an empty or new directory of its own\n"
        )
        assert not (Path(root) / ".git").exists() or root == "/"
    assert sorted(p.name for p in projects.iterdir()) == [".ssh", "app", "notes.txt", "x"]


def test_a_memory_root_of_its_own_is_accepted(base: Path) -> None:
    """The refusal leaves the normal cases alone: a new directory, an empty one, one holding
    memory files, and a memoryd baseline with nothing else yet."""
    install_examples(base / "codex" / "sessions")
    cfg = base / "memoryd.toml"
    (base / "empty").mkdir()
    (base / "held").mkdir()
    (base / "held" / "MEMORY.md").write_text("# mine\n")
    for root in (base / "new", base / "empty", base / "held"):
        cfg.write_text(f"memory_root = {json.dumps(str(root))}\n")
        # <codex_home>/memories still links to the previous root, and memoryd never re-aims a
        # link it finds pointing elsewhere (test_codexlink.py): the user removes it first.
        (base / "codex" / "memories").unlink(missing_ok=True)
        done = cli(base, "run", "--once")
        assert done.returncode == 0, done.stderr
        assert (root / "memory_summary.md").is_file()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("phase1.lease_seconds", 2**63 - 1),
        ("phase2.lease_seconds", 2**63 - 1),
        ("phase1.retry_delay_seconds", 2**62),
        ("phase2.min_interval_seconds", 2**62),
        ("phase2.max_seconds", 1e300),
        ("budget.daily_tokens", 2**63 - 1),
        ("daemon.shutdown_grace_seconds", 1e18),
        ("backends.openai.timeout_seconds", 1e300),
    ],
)
def test_extreme_durations_and_counts_are_config_errors(key: str, value: float) -> None:
    section, name = key.rsplit(".", 1)
    data: dict[str, Any] = {}
    cur = data
    for part in section.split("."):
        cur = cur.setdefault(part, {})
    cur[name] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data, "cfg.toml")
    assert info.value.key == key and "expected" in info.value.problem and "<=" in info.value.problem


# --- a model's rollout_slug ----------------------------------------------------------------

HOSTILE_SLUGS = ["../../../outside/x", "a\u0000b/c", "/etc/passwd", "..", "ＡＢ/..\\c", "-" * 300]
SAFE_SLUG = re.compile(r"[a-z0-9_-]{1,80}")
SAFE_STEM = re.compile(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-[0-9A-Za-z]{4}(-[a-z0-9_]{1,60})?\.md")


async def test_a_hostile_rollout_slug_never_shapes_a_file_name(tmp_path: Path) -> None:
    """Each rollout's stage-1 reply carries a path-like slug: what is stored is reduced to a
    safe character set, and every summary file lands directly in rollout_summaries/ under a
    safe name."""
    slugs = iter(HOSTILE_SLUGS)

    def model(req: ReceivedRequest) -> Behaviour:
        out = {"rollout_summary": "s", "rollout_slug": next(slugs), "raw_memory": "m"}
        return Reply(text=json.dumps(out))

    async with world(tmp_path) as w, ResponsesServer(responder=model) as srv:
        cfg = openai_config(srv.url)
        async with OpenAIExtractor(cfg) as ex:
            stats = await Phase1(w.conn, cfg, ex).run(until_idle=True)
        assert stats.succeeded == 3
        stored = [r[0] for r in await rows(w.conn, "SELECT rollout_slug FROM stage1_outputs")]
        result = await consolidator(w, Config(), OfflineConsolidator()).run_once()
    assert result.outcome == "succeeded"
    assert all(s is None or SAFE_SLUG.fullmatch(s) for s in stored), stored
    names = sorted(p.name for p in (w.root / "rollout_summaries").iterdir())
    assert len(names) == 3 and all(SAFE_STEM.fullmatch(n) for n in names), names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codex", "state"]


# --- a tree deeper than the recursion limit ---------------------------------------------------


async def test_a_deep_tree_in_the_root_neither_crashes_a_run_nor_keeps_the_lock(
    env: tuple[aiosqlite.Connection, Path, Path],
) -> None:
    """Folders nested past Python's recursion limit (written by an old agent or a user):
    phase 2 runs to a recorded outcome and gives the lock back, run after run (3.11's os.walk
    raised RecursionError, which escaped the run with the lock left running)."""
    conn, home, root = env
    root.mkdir(mode=0o700)
    plant_deep_tree(root, sys.getrecursionlimit() + 100)
    try:
        for _ in range(2):
            c = Consolidator(conn, Config(), OfflineConsolidator(), root=root, codex_home=home,
                             worker_id="t")  # fmt: skip
            result = await c.run_once()
            assert result.outcome in ("succeeded", "noop"), result.reason
            job = list(await conn.execute_fetchall("SELECT status FROM jobs WHERE kind = ?",
                                                   ("memory_consolidate_global",)))  # fmt: skip
            assert job == [("done",)]
    finally:
        remove_deep_tree(root)
