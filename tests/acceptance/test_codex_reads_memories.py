"""The real Codex CLI reads memoryd's memories through the link and never writes them (issue
12, SPEC §1).

memoryd runs its whole pipeline on the bundled rollouts (idle ``cli`` sessions that Codex's
own writer would extract too) into a Codex home, which makes ``<codex_home>/memories`` a link
to memoryd's root. Then the Codex CLI (npm ``@openai/codex``), pointed at the loopback
Responses server with its ``memories`` feature on and its own writer left **on**
(``generate_memories`` at its default), starts a session:

* through the link it makes no stage-1 or consolidation request, leaves every file of
  memoryd's root byte-identical, and injects memoryd's summary;
* the control: with a real directory there instead (``memoryd unlink``), the same run does
  call its writer and rewrites the folder, so the link is what keeps Codex out;
* a note the session's model writes under ``memories/extensions/ad_hoc/notes/`` (where Codex's
  memory prompt says) lands in memoryd's root and is consolidated, once the memories folder is
  a writable root of Codex's workspace-write sandbox (the line ``memoryd doctor`` recommends);
  without it the default sandbox refuses the write wherever the folder lives.

Every test runs once per CLI listed in ``$MEMORYD_TEST_CODEX_VERSIONS`` (``.ci/run`` installs
0.169.0 and the newest release), see tests/support/mock_codex.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyio
import pytest
from support.mock_codex import codex_params, is_memory_request, run_codex, write_mock_config
from support.pipeline import example_home
from support.responses_server import (
    ReceivedRequest,
    Reply,
    ResponsesServer,
    function_call_item,
)

from memoryd.config import Settings
from memoryd.daemon.runonce import run_once
from memoryd.memroot.codexlink import unlink_to_directory

pytestmark = pytest.mark.parametrize("codex", codex_params())

STAGE1_ANSWER = json.dumps(
    {"rollout_summary": "Codex's own summary.", "rollout_slug": "own", "raw_memory": "own"}
)
# Codex's writer on (generate_memories at its default); idle rollouts count after one hour.
WRITER_ON = "\n[memories]\nmin_rollout_idle_hours = 1\n"
NOTE = "The user wants podman instead of docker in every project."


def all_files(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder``, ``.git`` included: byte-identical means all."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def texts(body: object) -> list[str]:
    items = body.get("input", []) if isinstance(body, dict) else []
    return [
        part.get("text", "")
        for item in items
        if isinstance(item, dict)
        for part in item.get("content", []) or []
        if isinstance(part, dict)
    ]


def injected_summary(requests: list[ReceivedRequest]) -> str | None:
    for req in requests:
        for t in texts(req.json):
            if "MEMORY_SUMMARY BEGINS" in t:
                section = t.split("MEMORY_SUMMARY BEGINS =========", 1)[1]
                return section.split("========= MEMORY_SUMMARY ENDS", 1)[0].strip()
    return None


def answer(req: ReceivedRequest) -> Reply:
    """Codex's own stage-1 requests get a valid extraction (so its writer would go on to
    consolidate); anything else a plain reply."""
    if is_memory_request(req.headers):
        return Reply(text=STAGE1_ANSWER)
    return Reply(text="Hello from the loopback model.")


def memoryd_home(tmp_path: Path) -> tuple[Path, Path, Settings]:
    """A Codex home with the idle example rollouts, after one ``memoryd run --once``."""
    home, _, settings = example_home(tmp_path)
    summary = anyio.run(run_once, settings)
    assert summary.phase2 is not None and summary.phase2.outcome == "succeeded"
    root = settings.paths.memory_root
    assert (home / "memories").resolve() == root
    return home, root, settings


async def codex_session(
    codex: str, base: Path, home: Path, extra: str, *, sandbox: str = "read-only"
) -> tuple[list[ReceivedRequest], str]:
    async with ResponsesServer(responder=answer) as srv:
        write_mock_config(home, srv.url, extra, sandbox=sandbox)
        work = base / "work"
        work.mkdir(exist_ok=True)
        proc = await anyio.to_thread.run_sync(
            lambda: run_codex(
                codex, srv.url, home=base, codex_home=home, cwd=work, prompt="Which tools?"
            )
        )
        requests = list(srv.requests)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert requests, "the Codex CLI sent no request to the loopback server"
    return requests, proc.stderr


def test_through_the_link_codex_reads_our_summary_and_writes_nothing(
    codex: str, tmp_path: Path
) -> None:
    home, root, _ = memoryd_home(tmp_path)
    before = all_files(root)
    ours = (root / "memory_summary.md").read_text()
    assert ours.startswith("v1\n") and "use uv rather than pip" in ours

    requests, _ = anyio.run(codex_session, codex, tmp_path, home, WRITER_ON)
    assert [r for r in requests if is_memory_request(r.headers)] == []
    assert all_files(root) == before
    assert (home / "memories").is_symlink()
    assert not (home / "memories.lock").exists()  # its writer never even took its lock
    assert injected_summary(requests) == ours.strip()


def test_control_a_real_directory_is_rewritten_by_codex(codex: str, tmp_path: Path) -> None:
    home, root, _ = memoryd_home(tmp_path)
    folder = unlink_to_directory(home, root)  # the way back: a plain directory, our files
    before = all_files(folder)
    assert before == {k: v for k, v in all_files(root).items() if not k.startswith(".git")}

    # Codex's writer runs in the background of a session, and the session's end cuts it off:
    # on a loaded machine it may not reach the model, or its phase 2 may not finish, within
    # one session, so up to three are run.
    ran = False
    for _ in range(3):
        requests, _ = anyio.run(codex_session, codex, tmp_path, home, WRITER_ON)
        ran = ran or any(is_memory_request(r.headers) for r in requests)
        after = all_files(folder)
        if after.get("raw_memories.md") != before["raw_memories.md"]:
            break
    assert ran, "Codex's writer never ran"
    assert after != before
    # Its phase 2 rewrote the files memoryd derives (raw_memories.md, rollout_summaries/) and
    # put its own baseline in; memoryd's root behind the former link stayed as it was.
    assert after.get("raw_memories.md") != before["raw_memories.md"]
    assert any(k.startswith((".git/", ".codex-baseline/")) for k in after)
    assert (root / "raw_memories.md").read_bytes() == before["raw_memories.md"]
    assert (home / "memories.lock").exists()


def note_writer(home: Path) -> object:
    """A model that, asked anything, writes one ad-hoc note with a shell command into the
    folder Codex's memory prompt names, then answers."""
    default = home / "memories" / "extensions" / "ad_hoc" / "notes"

    def respond(req: ReceivedRequest) -> Reply:
        if is_memory_request(req.headers):
            return Reply(text=STAGE1_ANSWER)
        items = req.json.get("input", []) if isinstance(req.json, dict) else []
        outputs = [i for i in items if isinstance(i, dict) and i.get("type", "").endswith("output")]
        if outputs:
            return Reply(text="Noted: " + json.dumps(outputs[-1].get("output", ""))[:2000])
        said = (re.search(r"Write your update in (\S+?)/?\n", t) for t in texts(req.json))
        where = next((m.group(1) for m in said if m), str(default))
        assert Path(where) == default  # Codex tells the agent the path through the link
        note = f"{where}/2026-12-06T10-00-00-podman.md"
        cmd = f"mkdir -p {where} && printf '%s\\n' '{NOTE}' > {note}; echo exit=$?"
        return Reply(text=None, items=[function_call_item("exec_command", {"cmd": cmd}, "c1")])

    return respond


@pytest.mark.parametrize(
    ("writable", "folder"),
    [(True, "link"), (False, "link"), (False, "plain-directory")],
    ids=["writable-root", "default-sandbox", "default-sandbox-plain-directory"],
)
def test_a_note_written_through_the_link_is_consolidated(
    codex: str, writable: bool, folder: str, tmp_path: Path
) -> None:
    """With the folder a writable root the note lands in memoryd's root and is consolidated.
    Without, Codex's default sandbox refuses it, and refuses it as much for a plain
    directory (Codex's own layout): it is the sandbox, not the link or where the root is."""
    home, root, settings = memoryd_home(tmp_path)
    if folder == "plain-directory":
        root = unlink_to_directory(home, root)
    # workspace-write, as Codex runs an interactive session; /tmp excluded, since a real home
    # is not under /tmp (the test's is).
    extra = "\n[sandbox_workspace_write]\nexclude_slash_tmp = true\nexclude_tmpdir_env_var = true\n"
    if writable:
        extra += f'writable_roots = ["{home / "memories"}"]\n'

    work = tmp_path / "work"  # the sandbox's writable workspace, outside home and root
    work.mkdir()

    async def session() -> list[ReceivedRequest]:
        async with ResponsesServer(responder=note_writer(home)) as srv:  # type: ignore[arg-type]
            write_mock_config(home, srv.url, extra, sandbox="workspace-write")
            proc = await anyio.to_thread.run_sync(
                lambda: run_codex(
                    codex, srv.url, home=tmp_path, codex_home=home, cwd=work, prompt="Remember"
                )
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
            return list(srv.requests)

    requests = anyio.run(session)
    notes = root / "extensions" / "ad_hoc" / "notes"
    outputs = [
        i.get("output", "")
        for r in requests
        for i in (r.json or {}).get("input", [])
        if isinstance(i, dict) and i.get("type", "").endswith("output")
    ]
    assert outputs, "the note command never ran"
    if not writable:
        assert not notes.exists() or not list(notes.iterdir())
        assert "Read-only file system" in outputs[-1]
        return
    assert "exit=0" in outputs[-1], outputs[-1]
    assert (notes / "2026-12-06T10-00-00-podman.md").read_text() == NOTE + "\n"
    assert (home / "memories").is_symlink()
    summary = anyio.run(run_once, settings)
    assert summary.phase2 is not None and summary.phase2.outcome == "succeeded"
    assert NOTE in (root / "MEMORY.md").read_text()
