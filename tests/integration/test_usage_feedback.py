"""Usage feedback end to end: citations that the Codex CLI records in a rollout's assistant
messages are found by the indexer and counted once per citing message (SPEC §4)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import aiosqlite

from memoryd.config import Config
from memoryd.demo import install_examples
from memoryd.extract.offline import OfflineExtractor
from memoryd.phase1 import Phase1
from memoryd.rollouts.indexer import Indexer

CITED = "01a2013d-497f-71f0-81b9-4c6d2314a10b"  # the pytest/uv session
CITING = "01a2013e-fb76-7c33-8cf6-bf19bdb58fd0"


def citing_line(text: str, when: str = "2026-11-22T03:20:00.000Z") -> str:
    block = (
        "<oai-mem-citation>\n<citation_entries>\nMEMORY.md:3-4|note=[uv preference]\n"
        f"</citation_entries>\n<rollout_ids>\n{CITED}\n</rollout_ids>\n</oai-mem-citation>"
    )
    payload = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": f"{text}\n\n{block}", "annotations": []}],
    }
    return json.dumps(
        {"timestamp": when, "type": "response_item", "payload": payload}, separators=(",", ":")
    )


async def usage(conn: aiosqlite.Connection) -> tuple[int | None, int | None]:
    rows = list(
        await conn.execute_fetchall(
            "SELECT usage_count, last_usage FROM stage1_outputs WHERE thread_id = ?", (CITED,)
        )
    )
    assert len(rows) == 1
    return rows[0][0], rows[0][1]


async def test_citations_in_rollouts_count_once_per_message(
    tmp_path: Path, db: aiosqlite.Connection
) -> None:
    home = tmp_path / "codex"
    install_examples(home / "sessions")
    indexer = Indexer(db, [home / "sessions"], home / "archived_sessions")
    await indexer.scan_all()
    await Phase1(db, Config(), OfflineExtractor()).run(until_idle=True)
    assert await usage(db) == (None, None)

    citing = next(home.rglob(f"rollout-*{CITING}.jsonl"))

    def append(line: str) -> None:
        st = citing.stat()
        with citing.open("a") as f:
            f.write(line + "\n")
        os.utime(citing, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    append(citing_line("Use uv: you said you prefer it."))
    await indexer.scan_all()
    count, last = await usage(db)
    assert count == 1 and last is not None

    # Seen again (a full re-parse of a replaced file), the same message counts nothing.
    data = citing.read_bytes()
    citing.unlink()
    citing.write_bytes(data)
    stats = await indexer.scan_all()
    assert stats.files_read == 1
    assert await usage(db) == (1, last)

    # A second answer citing the same memory counts again, with its own time.
    append(citing_line("Again with uv.", when="2026-11-22T04:00:00.000Z"))
    await indexer.scan_all()
    count2, last2 = await usage(db)
    assert count2 == 2 and last2 is not None and last2 > last
