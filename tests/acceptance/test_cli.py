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


def test_run_once_exits_non_zero_with_the_reason_when_a_phase_fails(tmp_path: Path) -> None:
    from memoryd.demo import install_examples

    env = _env(tmp_path)
    install_examples(tmp_path / "codex" / "sessions")
    # A directory where phase 2 must write MEMORY.md: phase 1 succeeds, phase 2 cannot finish.
    root = tmp_path / "state" / "memories"
    (root / "MEMORY.md").mkdir(parents=True)
    (root / "memory_summary.md").write_text("v1\n")
    r = _run(["run", "--once"], env)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "phase 1: 3 extracted: 3 memories" in r.stdout
    line = r.stderr.strip().splitlines()[-1]  # after the log's own warning line
    assert line.startswith(
        "memoryd: phase 2 failed: io_error: cannot write the memory files: [Errno 21] Is a "
        "directory: "
    ), line
    assert line.endswith(f" -> '{root / 'MEMORY.md'}'"), line
    (root / "MEMORY.md").rmdir()
    # A pass where nothing fails still exits 0.
    ok = _run(["run", "--once"], env)
    assert ok.returncode == 0, ok.stderr


def test_config_option_is_accepted_after_the_subcommand(tmp_path: Path) -> None:
    cfg = tmp_path / "mine.toml"
    cfg.write_text("[phase2]\nmin_interval_seconds = 60\n")
    for args in (["--config", str(cfg), "config"], ["config", "--config", str(cfg)]):
        r = _run([*args, "--json"], _env(tmp_path))
        assert r.returncode == 0, r.stderr
        shown = json.loads(r.stdout)
        assert shown["source"] == str(cfg)
        assert shown["config"]["phase2"]["min_interval_seconds"] == 60


def test_an_invalid_choice_in_the_config_lists_the_valid_values(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[phase1]\nbackend = "opnai"\n')
    r = _run(["config", "--config", str(cfg)], _env(tmp_path))
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == (
        f"memoryd: config error: {cfg}: phase1.backend: invalid value 'opnai'; "
        "valid values: 'chat', 'codex', 'offline', 'openai'"
    )


def test_every_subcommand_and_option_has_help_text() -> None:
    import argparse

    from memoryd.cli import _parser

    parser = _parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {c.dest: c.help for c in sub._choices_actions}
    assert set(helps) == set(sub.choices) and all(helps.values()), helps
    missing = [
        f"{name} {action.dest}"
        for name, sp in sub.choices.items()
        for action in sp._actions
        if not action.help
    ]
    assert missing == []


def test_demo_says_its_home_stays(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    r = _run(["demo", "--dir", str(demo)], _env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == (
        f"the demo home stays for you to look at: {demo} (remove it with `rm -rf {demo}`)"
    )
    j = _run(["demo", "--dir", str(tmp_path / "demo2"), "--json"], _env(tmp_path))
    assert j.returncode == 0 and json.loads(j.stdout)["memories"] == 3
    assert "the demo home stays for you to look at" in j.stderr


def test_a_broken_config_does_not_block_the_read_only_commands(tmp_path: Path) -> None:
    env = _env(tmp_path)
    cfg = tmp_path / "xdg-config" / "memoryd" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[phase1]\nbackend = "opnai"\n')
    error = (
        f"memoryd: config error: {cfg}: phase1.backend: invalid value 'opnai'; "
        "valid values: 'chat', 'codex', 'offline', 'openai'"
    )
    for args in (["status"], ["logs"], ["jobs"], ["history"]):
        r = _run(args, env)
        assert r.returncode == 0, (args, r.stderr)
        assert r.stderr.splitlines()[0] == error, args
    assert _run(["status"], env).stdout.startswith("daemon: not running")

    shown = _run(["config"], env)
    assert shown.returncode == 2 and shown.stderr.splitlines()[0] == error
    assert shown.stdout.splitlines()[0] == "config: <defaults> (invalid: see above)"
    assert f"state_dir: {tmp_path / 'state'}" in shown.stdout

    doc = _run(["doctor", "--json"], env)
    assert doc.returncode == 1 and doc.stderr.splitlines()[0] == error
    checks = {c["check"]: c for c in json.loads(doc.stdout)}
    assert checks["config"]["status"] == "fail"
    assert "phase1.backend: invalid value 'opnai'" in checks["config"]["message"]

    # What changes memories still refuses to run on a config it cannot read.
    forget = _run(["forget", "--thread", "x"], env)
    assert forget.returncode == 2 and forget.stderr.strip() == error


def test_run_once_and_status_say_which_rollouts_are_skipped_and_why(
    tmp_path: Path, fixture_rollouts: list[Path]
) -> None:
    env = _env(tmp_path)
    day = tmp_path / "codex" / "sessions" / "2026" / "11" / "22"
    day.mkdir(parents=True)
    for f in fixture_rollouts:  # real `codex exec` sessions
        shutil.copy(f, day / f.name)
    # An interactive session that never got a user message: only its session_meta line.
    meta = fixture_rollouts[0].read_text().splitlines()[0]
    old_id = fixture_rollouts[0].stem[-36:]
    new_id = "01a2013d-0000-7000-8000-000000000001"
    empty = day / f"rollout-2026-11-22T03-00-00-{new_id}.jsonl"
    meta = meta.replace(old_id, new_id).replace('"source":"exec"', '"source":"cli"')
    empty.write_text(meta + "\n")
    r = _run(["run", "--once"], env)
    assert r.returncode == 0, r.stderr
    assert (
        "skipped rollouts: 4, never extracted:\n"
        "  3 with a source not in phase1.allowed_sources (exec 3)\n"
        "  1 with no user message\n"
    ) in r.stdout
    st = _run(["status", "--json"], env)
    assert st.returncode == 0, st.stderr
    assert json.loads(st.stdout)["skipped"] == {
        "total": 4, "source_not_allowed": {"exec": 3}, "no_user_message": 1,
        "memory_mode_off": {},
    }  # fmt: skip

    # Allowing exec makes them eligible; a forgotten one is then "memory mode off".
    cfg = tmp_path / "xdg-config" / "memoryd" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[phase1]\nallowed_sources = ["cli", "vscode", "exec"]\n')
    assert _run(["forget", "--thread", old_id], env).returncode == 0
    text = _run(["status"], env).stdout
    assert "skipped rollouts: 2, never extracted:" in text
    assert "  1 with memory mode off (forgotten 1)" in text
    assert "source not in" not in text
