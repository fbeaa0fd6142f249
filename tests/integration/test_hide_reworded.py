"""A generated line the user deleted stays deleted when memoryd later words the same memory item
differently (issue 13 item 7: "user edits kept, … the hide ledger"), and only that item.

Real Codex 0.169 rollouts (written by the quality corpora's renderer), the real command line
(``memoryd run --once`` and ``memoryd forget`` as subprocesses: indexer, offline phase 1, phase
2 with the git workspace), and the user's edit made in the memory folder between two passes.

The rewording here is one memoryd really makes: a rule stated in two projects is one general
rule, worded as the project used most recently said it; a later session in the other project
(about something else) changes which wording that is, while the two sessions behind the rule
stay the same."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.daemon import daemon_env

from memoryd.layout import MEMORY_FILE, SUMMARY_FILE

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from quality.model import Project, Say, Session, Sh, User  # noqa: E402
from quality.render import write_session  # noqa: E402

DAY_MS = 86_400_000
PROJECTS = {
    "ledger": Project("ledger", "/home/dev/src/ledger", "git@example.invalid:dev/ledger.git"),
    "webapp": Project("webapp", "/home/dev/src/webapp", "git@example.invalid:dev/webapp.git"),
    # another checkout with the same directory name: both groups then name their cwd
    "old-ledger": Project("ledger", "/home/dev/old/ledger", "git@example.invalid:dev/ledger.git"),
}
FIRST = (
    Session(
        "ledger-search",
        "ledger",
        3.0,
        (
            User(
                "Use rg rather than grep when you look for things, grep is painfully slow in here."
            ),
            Sh("rg -n 'def post_entry' src", "src/ledger/post.py:12:def post_entry(entry):"),
            User("Always run `make check` before you commit."),
            User("And never commit anything under .venv, it is local."),
            Sh("make check", "ok: 41 passed"),
            Say("Found `post_entry` in src/ledger/post.py; `make check` passes."),
        ),
    ),
    Session(
        "webapp-login",
        "webapp",
        2.0,
        (
            User("Search with rg, not grep -r — grep crawls through .venv for minutes."),
            Sh("rg -n 'login' app", "app/auth.py:3:def login():"),
            User("Don't commit the .venv folder."),
            Say("The login view is in app/auth.py."),
        ),
    ),
)
# In ledger again, about something else: ledger is now the project used last.
LATER = Session(
    "ledger-export",
    "ledger",
    1.0,
    (
        User("The CSV export is slow, can you profile it?"),
        Sh(
            "python -m cProfile -s cumtime scripts/export.py",
            "   ncalls  tottime  percall\n  1  2.1  2.1 export.py:10(write_rows)",
        ),
        Say(
            "Most time goes to write_rows in scripts/export.py; the CSV export reads "
            "`LEDGER_EXPORT_DIR` for its output folder, and `rg` is installed in the dev container."
        ),
    ),
)
OLD_LEDGER = Session(
    "old-ledger-build",
    "old-ledger",
    1.0,
    (
        User("How do I build the old ledger release?"),
        Sh("make release", "built dist/ledger-1.4.tar.gz"),
        Say("The old ledger builds its release tarball with `make release` into dist/."),
    ),
    later=True,
)
# The general rule about rg, as the first pass words it (webapp's words) and as the pass after
# LATER words it (ledger's).
RG_WEBAPP = "- Search with rg, not grep -r — grep crawls through .venv for minutes."
RG_LEDGER = "- use rg rather than grep when you look for things"
# The other general rule of the same two sessions, sharing ".venv" with the rg rule.
VENV_WEBAPP = "- do not commit the .venv folder"
VENV_LEDGER = "- do not commit anything under .venv, it is local"
# LATER's new fact, sharing "rg" with the deleted rule.
NEW_FACT = "`rg` is installed in the dev container"
HIDE = re.compile(r"(?m)^hide (S:[0-9a-f]{16}) [0-9a-f]{12}( [0-9a-f]{16})?$")


class Home:
    def __init__(self, base: Path) -> None:
        self.env = daemon_env(base)
        self.sessions = base / "codex" / "sessions"
        self.root = base / "state" / "memories"
        self.now = int(time.time() * 1000)
        self.threads: dict[str, str] = {}

    def write(self, *sessions: Session) -> None:
        for s in sessions:
            start = self.now - int(s.days_ago * DAY_MS)
            self.threads[s.key], _ = write_session(
                self.sessions, "hide", s, PROJECTS[s.project], start
            )

    def cli(self, *args: str) -> Any:
        p = subprocess.run(
            [sys.executable, "-m", "memoryd", *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def run(self) -> None:
        self.cli("run", "--once")

    @property
    def summary(self) -> str:
        return (self.root / SUMMARY_FILE).read_text()

    @property
    def memory(self) -> str:
        return (self.root / MEMORY_FILE).read_text()

    def preferences(self) -> list[str]:
        """The summary's general rules: the lines of its ``## User preferences``."""
        body = self.summary.split("## User preferences\n", 1)[1].split("\n## ", 1)[0]
        return [ln for ln in body.split("\n") if ln.startswith("- ")]

    def delete_summary_line(self, start: str) -> str:
        text = self.summary
        (line,) = [ln for ln in text.split("\n") if ln.startswith(start)]
        (self.root / SUMMARY_FILE).write_text(text.replace(line + "\n", ""))
        return line


@pytest.fixture
def home(tmp_path: Path) -> Home:
    h = Home(tmp_path)
    h.write(*FIRST)
    h.run()
    prefs = h.preferences()
    # the setting the tests rely on: both general rules, in webapp's words
    assert [p.split(" (stated in")[0] for p in prefs] == [VENV_WEBAPP, RG_WEBAPP], prefs
    return h


def _says_rg(lines: list[str]) -> list[str]:
    return [ln for ln in lines if re.search(r"\brg\b", ln)]


def assert_only_the_deleted_rule_is_gone(home: Home) -> None:
    """After LATER: the deleted rg rule is in neither wording, while the other rule of the
    same two sessions (reworded too) and LATER's new fact sharing "rg" are shown."""
    prefs = home.preferences()
    assert not _says_rg(prefs), prefs
    assert any(p.startswith(VENV_LEDGER) for p in prefs), prefs
    assert NEW_FACT in home.summary
    assert len(HIDE.findall(home.memory)) == 1


def test_a_deleted_summary_line_stays_gone_when_its_rule_is_reworded(home: Home) -> None:
    home.delete_summary_line(RG_WEBAPP)
    home.run()  # the pass that reads the deletion
    assert not _says_rg(home.preferences())
    assert HIDE.search(home.memory)

    home.write(LATER)
    home.run()

    assert_only_the_deleted_rule_is_gone(home)
    # the deletion was in the summary only: MEMORY.md keeps the rule, in its new words
    general = home.memory.split("# General rules (for every project)\n", 1)[1]
    assert RG_LEDGER in general


def test_a_line_deleted_in_the_pass_that_rewords_it_stays_gone(home: Home) -> None:
    """The deletion and the session that rewords the rule reach the same pass: the line the
    user deleted is named as the last pass worded it, and its item is found in the new one."""
    home.delete_summary_line(RG_WEBAPP)
    home.write(LATER)
    home.run()
    assert_only_the_deleted_rule_is_gone(home)


def test_an_edited_line_is_hidden_and_kept_as_a_note_when_reworded_the_same_pass(
    home: Home,
) -> None:
    """An edit of a generated line is its deletion plus the user's own line: the user's words
    are kept among the notes, the generated line stays gone in its new wording."""
    text = home.summary
    mine = "- rg for searching, except in vendored code"
    (home.root / SUMMARY_FILE).write_text(
        "\n".join(mine if ln.startswith(RG_WEBAPP) else ln for ln in text.split("\n"))
    )
    home.write(LATER)
    home.run()
    assert _says_rg(home.preferences()) == []
    assert mine in home.summary.split("## User notes\n", 1)[1]


def test_a_record_from_before_item_identities_keeps_hiding_and_then_follows_the_item(
    home: Home,
) -> None:
    """``hide S:<key> <fp>`` (three fields, by wording only) as the ledger wrote it before: it
    still hides its line, gains the line's item identity at the next pass, and from then on
    follows a rewording."""
    home.delete_summary_line(RG_WEBAPP)
    home.run()
    memory = home.memory
    m = HIDE.search(memory)
    assert m is not None and m.group(2)
    old = m.group(0).removesuffix(m.group(2))
    (home.root / MEMORY_FILE).write_text(memory.replace(m.group(0), old))

    home.run()
    assert not _says_rg(home.preferences())
    upgraded = HIDE.search(home.memory)
    assert upgraded is not None and upgraded.group(0) == m.group(0)

    home.write(LATER)
    home.run()
    assert_only_the_deleted_rule_is_gone(home)


def test_a_record_from_before_item_identities_follows_a_rewording_in_its_first_pass(
    home: Home,
) -> None:
    """The first pass of this version over an old record may already word its line otherwise:
    the record is named as the last pass worded it, and keeps hiding the item."""
    home.delete_summary_line(RG_WEBAPP)
    home.run()
    memory = home.memory
    m = HIDE.search(memory)
    assert m is not None and m.group(2)
    (home.root / MEMORY_FILE).write_text(memory.replace(m.group(0), m.group(0)[: -len(m.group(2))]))
    home.write(LATER)
    home.run()
    assert_only_the_deleted_rule_is_gone(home)


def test_forget_drops_the_record_with_the_rule_it_hid(home: Home) -> None:
    """The rule's sessions are its inputs: once one is forgotten, the general rule is gone,
    and so is the record that hid it; what the other session said shows as that project's."""
    home.delete_summary_line(RG_WEBAPP)
    home.run()
    home.write(LATER)
    home.run()
    home.cli("forget", "--thread", home.threads["webapp-login"])
    home.run()
    assert not HIDE.search(home.memory)
    assert "webapp" not in home.summary
    assert not _says_rg(home.preferences())
    assert "- ledger: use rg rather than grep" in home.summary


def test_a_deleted_task_group_stays_gone_when_its_heading_names_its_directory(home: Home) -> None:
    """A project's heading gains its directory once another checkout has the same name: the
    group the user deleted stays gone, the other checkout's group (a new project that shares
    the name) shows."""
    memory = home.memory
    start = memory.index("# Task Group: ledger\n")
    end = memory.index("\n# ", start + 1) + 1
    (home.root / MEMORY_FILE).write_text(memory[:start] + memory[end:])
    home.run()
    assert "# Task Group: ledger" not in home.memory
    assert "### ledger: how to work here" not in home.summary

    home.write(OLD_LEDGER)
    home.run()
    memory, summary = home.memory, home.summary
    assert "# Task Group: ledger (cwd=/home/dev/old/ledger)" in memory
    assert "# Task Group: ledger (cwd=/home/dev/src/ledger)" not in memory
    assert "### ledger: how to work here (cwd=/home/dev/old/ledger)" in summary
    assert "(cwd=/home/dev/src/ledger)" not in summary
    assert "`make release`" in summary
