"""Usage feedback: parsing ``<oai-mem-citation>`` blocks (Codex's citations tests, reference
§10.3) and counting them once per citing message (reference §10.1, SPEC §4)."""

from __future__ import annotations

import json
import uuid

import aiosqlite

from memoryd.rollouts import citations
from memoryd.rollouts.citations import Citation, CitationEntry, parse_citations
from memoryd.store import jobs, phase2
from memoryd.store.db import immediate
from memoryd.store.jobs import Candidate, OutputRow

NOW = 1_800_000_000
DAY = 86_400
T1 = "0194f5a6-1c2b-7d3e-8f40-5a6b7c8d9e01"
T2 = "0194f5a6-1c2b-7d3e-8f40-5a6b7c8d9e02"
T3 = "0194f5a6-1c2b-7d3e-8f40-5a6b7c8d9e03"
CITING = "0194f5a6-ffff-7d3e-8f40-5a6b7c8d9eff"


def block(entries: str = "", ids: str = "", tag: str = "rollout_ids") -> str:
    body = ""
    if entries:
        body += f"<citation_entries>\n{entries}\n</citation_entries>\n"
    if ids:
        body += f"<{tag}>\n{ids}\n</{tag}>\n"
    return f"<oai-mem-citation>\n{body}</oai-mem-citation>"


# --------------------------------------------------------------------------------------------
# Parsing


def test_extracts_entries_and_rollout_ids() -> None:
    text = "The answer.\n\n" + block(
        "MEMORY.md:1-2|note=[summary]\nrollout_summaries/foo.md:10-12|note=[details]",
        f"{T1}\n{T2}\n{T1}",
    )
    got = parse_citations(text)
    assert got == Citation(
        entries=(
            CitationEntry("MEMORY.md", 1, 2, "summary"),
            CitationEntry("rollout_summaries/foo.md", 10, 12, "details"),
        ),
        rollout_ids=(T1, T2),
        thread_ids=(T1, T2),
    )


def test_supports_legacy_thread_ids_and_drops_ids_that_are_not_uuids() -> None:
    got = parse_citations(block("MEMORY.md:1-2|note=[x]", f"{T1}\nnot-a-uuid\n{T2}", "thread_ids"))
    assert got is not None
    assert got.rollout_ids == (T1, "not-a-uuid", T2)
    assert got.thread_ids == (T1, T2)


def test_ids_alone_are_a_citation() -> None:
    got = parse_citations(block(ids=T1))
    assert got is not None and got.entries == () and got.thread_ids == (T1,)


def test_entries_alone_are_a_citation() -> None:
    got = parse_citations(block("MEMORY.md:3-4|note=[valid]"))
    assert got is not None and got.thread_ids == () and len(got.entries) == 1


def test_no_block_or_an_empty_block_is_no_citation() -> None:
    assert parse_citations("just an answer") is None
    assert parse_citations("") is None
    assert parse_citations("<oai-mem-citation>\n</oai-mem-citation>") is None
    assert parse_citations(block("not-a-citation")) is None
    assert parse_citations("<oai-mem-citation>\nhidden") is None
    # Sections outside a block do not count.
    assert parse_citations(f"<rollout_ids>{T1}</rollout_ids> oai-mem-citation") is None


def test_malformed_entries_are_skipped_valid_ones_kept() -> None:
    entries = "\n".join(
        [
            "not-a-citation",
            ":1-2|note=[empty path]",
            "   :1-2|note=[blank path]",
            "MEMORY.md:9-2|note=[reversed]",
            "MEMORY.md:x-2|note=[invalid number]",
            "MEMORY.md:-1-2|note=[negative]",
            "MEMORY.md:1-2|note=[missing bracket",
            r"C:\memories\MEMORY.md:2-4|note=[ valid ]",
            "MEMORY.md:3-4|note=[a note | with a pipe and [brackets]]",
        ]
    )
    got = parse_citations(block(entries))
    assert got is not None
    assert got.entries == (
        CitationEntry(r"C:\memories\MEMORY.md", 2, 4, "valid"),
        CitationEntry("MEMORY.md", 3, 4, "a note | with a pipe and [brackets]"),
    )


def test_lenient_about_whitespace_bullets_and_missing_pieces() -> None:
    text = (
        "answer\r\n< oai-mem-citation >\r\n"
        "  <citation_entries>\r\n"
        "   - MEMORY.md : 7 - 9 |note=[spaced]\r\n"
        "  * skills/x/SKILL.md:12\r\n"  # one line, no note
        "  <rollout_ids >\r\n"  # the entries section was never closed
        f"   - {T1.upper()}, {{{T2}}}  `{T3.replace('-', '')}`\r\n"
        "  </ rollout_ids>\r\n"
        "</oai-mem-citation >"
    )
    got = parse_citations(text)
    assert got is not None
    assert got.entries == (
        CitationEntry("MEMORY.md", 7, 9, "spaced"),
        CitationEntry("skills/x/SKILL.md", 12, 12, ""),
    )
    assert got.thread_ids == (T1, T2, T3)


def test_unterminated_block_runs_to_the_end() -> None:
    got = parse_citations(f"answer\n<oai-mem-citation>\n<rollout_ids>\n{T1}\n")
    assert got is not None and got.thread_ids == (T1,)


def test_blocks_are_merged_and_ids_deduplicated_in_order() -> None:
    text = block(ids=T2) + "\nmore\n" + block(ids=f"{T1}\n{T2}", tag="thread_ids")
    got = parse_citations(text)
    assert got is not None and got.thread_ids == (T2, T1)


def test_note_with_a_tag_does_not_cut_a_closed_section() -> None:
    got = parse_citations(
        block("MEMORY.md:1-2|note=[see <rollout_ids> above]\nX.md:3-3|note=[y]", T1)
    )
    assert got is not None
    assert [e.path for e in got.entries] == ["MEMORY.md", "X.md"]
    assert got.rollout_ids == got.thread_ids == (T1,)


def test_strip_citations_keeps_the_visible_answer() -> None:
    visible, bodies = citations.strip_citations("answer  \n" + block(ids=T1) + "\n")
    assert visible == "answer"
    assert len(bodies) == 1 and T1 in bodies[0]
    assert citations.strip_citations("plain") == ("plain", [])


def test_thread_id_forms() -> None:
    canonical = str(uuid.UUID(T1))
    for form in (T1, T1.upper(), T1.replace("-", ""), f"{{{T1}}}", f"urn:uuid:{T1}"):
        assert citations.thread_id_of(form) == canonical
    for bad in ("", "not-a-uuid", T1[:-1], T1 + "0", T1.replace("-", "", 1)):
        assert citations.thread_id_of(bad) is None


def rollout_line(
    text: str, *, role: str = "assistant", ts: str = "2027-01-15T08:00:00.123Z"
) -> bytes:
    line = {
        "timestamp": ts,
        "ordinal": 10,
        "type": "response_item",
        "payload": {
            "type": "message",
            "id": "msg_0001",
            "role": role,
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        },
    }
    return json.dumps(line, separators=(",", ":")).encode()


def test_cited_message_from_a_rollout_line() -> None:
    line = rollout_line("Use uv.\n" + block("MEMORY.md:1-2|note=[uv]", f"{T1}\n{T2}"))
    msg = citations.cited_message(line)
    assert msg is not None
    assert msg.at_s == NOW
    assert msg.citation.thread_ids == (T1, T2)
    assert msg.message_key == citations.message_key(line)
    assert citations.cited_message(line.decode() + "\n") == msg  # str input, trailing newline
    other = citations.cited_message(rollout_line("Again.\n" + block(ids=T1)))
    assert other is not None and other.message_key != msg.message_key


def test_only_assistant_response_items_count() -> None:
    text = "answer\n" + block(ids=T1)
    assert citations.cited_message(rollout_line(text, role="user")) is None
    event = {
        "timestamp": "2027-01-15T08:00:00Z",
        "type": "event_msg",
        "payload": {"type": "agent_message", "message": text},
    }
    assert citations.cited_message(json.dumps(event).encode()) is None
    done = {
        "timestamp": "2027-01-15T08:00:00Z",
        "type": "event_msg",
        "payload": {"type": "task_complete", "last_agent_message": text},
    }
    assert citations.cited_message(json.dumps(done).encode()) is None
    assert citations.cited_message(rollout_line("no citation here")) is None


def test_bad_lines_are_no_citation() -> None:
    good = rollout_line("a\n" + block(ids=T1))
    for bad in (
        good[:-5],  # torn
        b"\xff\xfe oai-mem-citation",
        b"[1, 2, 3] oai-mem-citation",
        b'{"type":"response_item","payload":"oai-mem-citation"}',
        b'{"type":"response_item","payload":{"type":"message","role":"assistant",'
        b'"content":[{"type":"output_text","text":7}]},"x":"oai-mem-citation"}',
    ):
        assert citations.cited_message(bad) is None
    no_time = rollout_line("a\n" + block(ids=T1), ts="yesterday")
    msg = citations.cited_message(no_time)
    assert msg is not None and msg.at_s is None


# --------------------------------------------------------------------------------------------
# Recording


async def add_output(
    conn: aiosqlite.Connection, tid: str, source_updated_at: int = NOW - DAY
) -> None:
    await conn.execute(
        "INSERT INTO threads (id, rollout_path, source, cwd, created_at, updated_at, preview) "
        "VALUES (?, ?, 'cli', '/w', 0, 0, 'hi')",
        (tid, f"/r/{tid}.jsonl"),
    )
    await conn.execute(
        "INSERT INTO stage1_outputs (thread_id, source_updated_at, raw_memory, rollout_summary, "
        "generated_at) VALUES (?, ?, 'raw', 'summary', ?)",
        (tid, source_updated_at, source_updated_at),
    )


async def usage(conn: aiosqlite.Connection) -> dict[str, tuple[int | None, int | None]]:
    rows = await conn.execute_fetchall(
        "SELECT thread_id, usage_count, last_usage FROM stage1_outputs"
    )
    return {str(r[0]): (r[1], r[2]) for r in rows}


async def test_record_usage_updates_usage_metadata(db: aiosqlite.Connection) -> None:
    for tid in (T1, T2, T3):
        await add_output(db, tid)
    await db.execute("UPDATE stage1_outputs SET usage_count = 4 WHERE thread_id = ?", (T2,))
    assert await citations.record_usage(db, CITING, "m1", [T1, T2, T3], NOW) == 3
    assert await usage(db) == {T1: (1, NOW), T2: (5, NOW), T3: (1, NOW)}


async def test_record_usage_is_idempotent_per_citing_message(db: aiosqlite.Connection) -> None:
    await add_output(db, T1)
    assert await citations.record_usage(db, CITING, "m1", [T1], NOW) == 1
    for _ in range(3):  # a re-scan sees the same message again
        assert await citations.record_usage(db, CITING, "m1", [T1], NOW + 60) == 0
    assert await usage(db) == {T1: (1, NOW)}
    # Another message, or the same key in another rollout, is another use.
    assert await citations.record_usage(db, CITING, "m2", [T1], NOW + 60) == 1
    assert await citations.record_usage(db, T2, "m1", [T1], NOW + 30) == 1
    assert await usage(db) == {T1: (3, NOW + 60)}


async def test_last_usage_never_goes_backwards(db: aiosqlite.Connection) -> None:
    await add_output(db, T1)
    assert await citations.record_usage(db, CITING, "late", [T1], NOW) == 1
    assert await citations.record_usage(db, CITING, "early", [T1], NOW - DAY) == 1
    assert await usage(db) == {T1: (2, NOW)}


async def test_duplicate_and_invalid_ids_count_once_or_not_at_all(db: aiosqlite.Connection) -> None:
    await add_output(db, T1)
    got = await citations.record_usage(db, CITING, "m", [T1, T1.upper(), "nope", ""], NOW)
    assert got == 1
    assert await usage(db) == {T1: (1, NOW)}
    assert await citations.record_usage(db, CITING, "m0", [], NOW) == 0


async def test_a_citation_waits_for_an_output_that_arrives_later(db: aiosqlite.Connection) -> None:
    # A fresh DB indexes old sessions that cite memories before phase 1 has rebuilt them.
    assert await citations.record_usage(db, CITING, "m1", [T1], NOW - 2 * DAY) == 0
    assert await citations.record_usage(db, CITING, "m2", [T1], NOW - DAY) == 0
    assert await citations.record_usage(db, CITING, "m2", [T1], NOW - DAY) == 0  # re-scan
    await db.execute(
        "INSERT INTO threads (id, rollout_path, source, cwd, created_at, updated_at, preview) "
        "VALUES (?, '/r/t1', 'cli', '/w', 0, 0, 'hi')",
        (T1,),
    )
    cand = Candidate(T1, "/r/t1", "/w", None, (NOW - 3 * DAY) * 1000)
    for s_ms in (cand.updated_at_ms, cand.updated_at_ms + 5000):
        c = Candidate(T1, "/r/t1", "/w", None, s_ms)
        _, job = await jobs.try_claim(
            db, c, worker_id="w", now_s=NOW, lease_seconds=600, max_running=64
        )
        assert job is not None
        out = OutputRow("raw", "summary", None, "/r/t1", 1, 2, "", "o", "m", 0, 0, 1)
        assert await jobs.finish_succeeded(db, job, out, now_s=NOW)
        # Counted when the output was inserted; the refresh (an upsert) counts nothing again.
        assert await usage(db) == {T1: (2, NOW - DAY)}
    # Once the output exists, new citations count at once.
    assert await citations.record_usage(db, CITING, "m3", [T1], NOW) == 1
    assert await usage(db) == {T1: (3, NOW)}


async def test_a_deleted_and_recreated_output_counts_only_new_citations(
    db: aiosqlite.Connection,
) -> None:
    await add_output(db, T1)
    assert await citations.record_usage(db, CITING, "m1", [T1], NOW - DAY) == 1
    await db.execute("DELETE FROM stage1_outputs")
    assert await citations.record_usage(db, CITING, "m2", [T1], NOW) == 0
    await db.execute(
        "INSERT INTO stage1_outputs (thread_id, source_updated_at, raw_memory, rollout_summary, "
        "generated_at) VALUES (?, 1, 'r', 's', 1)",
        (T1,),
    )
    assert await usage(db) == {T1: (1, NOW)}


async def test_record_usage_inside_the_callers_transaction(db: aiosqlite.Connection) -> None:
    await add_output(db, T1)
    async with immediate(db) as c:
        assert await citations.record_usage_in_tx(c, CITING, "m1", [T1], NOW) == 1
        assert await citations.record_usage_in_tx(c, CITING, "m1", [T1], NOW) == 0
    assert await usage(db) == {T1: (1, NOW)}


async def test_citations_in_a_rollout_raise_the_phase2_rank(db: aiosqlite.Connection) -> None:
    # Two memories, T2 the more recent: without usage T2 ranks first.
    await add_output(db, T1, NOW - 5 * DAY)
    await add_output(db, T2, NOW - DAY)
    sel = await phase2.select_inputs(db, limit=1, max_unused_days=30, now_s=NOW)
    assert [r.thread_id for r in sel.rows] == [T2]
    lines = [
        rollout_line("a\n" + block("MEMORY.md:1-2|note=[x]", T1), ts="2027-01-15T07:00:00Z"),
        rollout_line("b", ts="2027-01-15T07:01:00Z"),
    ]
    for line in lines:  # what the indexer does for each line holding the marker
        if citations.CITATION_MARKER in line:
            msg = citations.cited_message(line)
            assert msg is not None and msg.at_s is not None
            await citations.record_usage(
                db, CITING, msg.message_key, msg.citation.thread_ids, msg.at_s
            )
    sel = await phase2.select_inputs(db, limit=1, max_unused_days=30, now_s=NOW)
    assert [r.thread_id for r in sel.rows] == [T1]
    assert await usage(db) == {T1: (1, NOW - 3600), T2: (None, None)}
