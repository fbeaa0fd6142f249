"""The command line as a user runs it: run --once, demo, config, --version (subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from memoryd import __version__


def _run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memoryd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "CODEX_HOME": str(tmp_path / "codex"),
        "MEMORYD_STATE_DIR": str(tmp_path / "state"),
    }


def test_version(tmp_path: Path) -> None:
    r = _run(["--version"], _env(tmp_path))
    assert r.returncode == 0 and r.stdout.strip() == f"memoryd {__version__}"


def test_run_once_without_codex_home_says_where_it_looked(tmp_path: Path) -> None:
    r = _run(["run", "--once"], _env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "No Codex rollouts found; looked in:" in r.stdout
    assert str(tmp_path / "codex" / "sessions") in r.stdout
    assert str(tmp_path / "codex" / "archived_sessions") in r.stdout
    assert not (tmp_path / "state" / "memoryd.sqlite").exists()


def test_run_once_indexes_rollouts_and_a_second_pass_reads_nothing(
    tmp_path: Path, fixture_rollouts: list[Path]
) -> None:
    day = tmp_path / "codex" / "sessions" / "2026" / "11" / "22"
    day.mkdir(parents=True)
    for f in fixture_rollouts:
        shutil.copy(f, day / f.name)
    env = _env(tmp_path)
    r = _run(["run", "--once"], env)
    assert r.returncode == 0, r.stderr
    assert "indexed 3 rollout files: 3 new or changed, 0 unchanged" in r.stdout
    assert "threads: 3 (0 with an index error)" in r.stdout
    r = _run(["run", "--once", "--json"], env)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["scan"]["files_unchanged"] == 3 and summary["scan"]["bytes_read"] == 0
    db = sqlite3.connect(tmp_path / "state" / "memoryd.sqlite")
    try:
        assert db.execute("SELECT count(*) FROM threads").fetchone() == (3,)
    finally:
        db.close()


def test_demo_runs_on_bundled_rollouts_in_a_temp_home(tmp_path: Path) -> None:
    env = _env(tmp_path)
    demo = tmp_path / "demo"
    r = _run(["demo", "--dir", str(demo)], env)
    assert r.returncode == 0, r.stderr
    assert f"memory folder: {demo / 'state' / 'memories'}" in r.stdout
    # The README's quick start shows the one-writer link.
    link = demo / "codex" / "memories"
    assert f"Codex reads it through the link {link} -> {demo / 'state' / 'memories'}" in r.stdout
    assert link.is_symlink()
    assert "indexed 3 rollout files" in r.stdout
    db = sqlite3.connect(demo / "state" / "memoryd.sqlite")
    try:
        rows = db.execute("SELECT source, preview FROM threads ORDER BY id").fetchall()
    finally:
        db.close()
    # The demo stores the exec-sourced examples as interactive sessions, so they are eligible.
    assert [s for s, _ in rows] == ["cli", "cli", "cli"]
    assert all(p for _, p in rows)
    # Nothing of the user's own home was touched.
    assert not (tmp_path / "codex").exists() and not (tmp_path / "state").exists()


def test_config_command_validates_and_shows_paths(tmp_path: Path) -> None:
    r = _run(["config", "--json"], _env(tmp_path))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["source"] == "<defaults>"
    assert data["paths"]["db_path"] == str(tmp_path / "state" / "memoryd.sqlite")
    assert data["config"]["phase1"]["concurrency"] == 8


def test_run_once_shows_phase1_progress_on_a_terminal(tmp_path: Path) -> None:
    import pty

    from memoryd.demo import install_examples

    install_examples(tmp_path / "codex" / "sessions")
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memoryd", "run", "--once"],
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
        )
        os.close(slave)
        out, _ = proc.communicate(timeout=120)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    assert proc.returncode == 0
    screen = b"".join(chunks).decode()
    assert "phase 1: 3 done, 0 no output, 0 failed, 0 remaining" in screen
    assert "phase 1: 3 extracted: 3 memories" in out
