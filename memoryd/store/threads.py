"""The rollout index in the state DB: the ``threads`` rows and ``index_problems`` the indexer
(rollouts/indexer.py) reads and writes, and what ``run --once`` reports of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from memoryd.store.db import immediate
from memoryd.store.engine import Connection, PgConnection, host_of
from memoryd.store.usage import record_citations

WRITE_BATCH = 1000  # rows per executemany

THREAD_COLS = (
    "id, rollout_path, source, thread_source, cwd, git_branch, git_sha, git_origin_url, "
    "cli_version, model_provider, created_at, updated_at, preview, archived, "
    "memory_mode_at_start, memory_mode, file_size, file_mtime_ns, file_inode, file_dev, "
    "parsed_offset, first_line_sha256, lines_parsed, lines_skipped, last_skip_reason, "
    "has_session_meta, index_error, indexed_at"
)

# Each row is THREAD_COLS' values and then the host id (store/engine.py: host_of).
UPSERT = f"""
INSERT INTO threads ({THREAD_COLS}, host_id)
VALUES ({", ".join("?" * 29)})
ON CONFLICT(id) DO UPDATE SET
    rollout_path = excluded.rollout_path, source = excluded.source,
    thread_source = excluded.thread_source, cwd = excluded.cwd,
    git_branch = excluded.git_branch, git_sha = excluded.git_sha,
    git_origin_url = excluded.git_origin_url, cli_version = excluded.cli_version,
    model_provider = excluded.model_provider, created_at = excluded.created_at,
    stage1_pending = CASE WHEN excluded.updated_at <> threads.updated_at THEN 1
                          ELSE threads.stage1_pending END,
    updated_at = excluded.updated_at, preview = excluded.preview, archived = excluded.archived,
    memory_mode_at_start = excluded.memory_mode_at_start,
    memory_mode = CASE WHEN threads.memory_mode = 'polluted' THEN 'polluted'
                       ELSE excluded.memory_mode END,
    file_size = excluded.file_size, file_mtime_ns = excluded.file_mtime_ns,
    file_inode = excluded.file_inode, file_dev = excluded.file_dev,
    parsed_offset = excluded.parsed_offset, first_line_sha256 = excluded.first_line_sha256,
    lines_parsed = excluded.lines_parsed, lines_skipped = excluded.lines_skipped,
    last_skip_reason = excluded.last_skip_reason, has_session_meta = excluded.has_session_meta,
    index_error = excluded.index_error, indexed_at = excluded.indexed_at
"""

# What a shared (PostgreSQL) row holds instead of the preview: the first user message stays
# on its host (phase 1 reads it from the rollout there). Non-empty, as the preview of a thread
# with a user message is: eligibility (store/jobs.py) tests for ''.
SHARED_PREVIEW = "(kept on its host)"
_PREVIEW = THREAD_COLS.split(", ").index("preview")


def shareable(conn: Connection, row: tuple[object, ...]) -> tuple[object, ...]:
    """``row`` (THREAD_COLS' values) as this engine may store it. On PostgreSQL, which every
    host reads, the preview (a piece of the raw transcript, if redacted and cut) is replaced:
    only thread metadata and redacted stage-1 outputs leave the host."""
    if not isinstance(conn, PgConnection) or not row[_PREVIEW]:
        return row
    return (*row[:_PREVIEW], SHARED_PREVIEW, *row[_PREVIEW + 1 :])


UPSERT_PROBLEM = """
INSERT INTO index_problems (path, reason, first_seen, last_seen, host_id) VALUES (?, ?, ?, ?, ?)
ON CONFLICT(host_id, path) DO UPDATE SET reason = excluded.reason, last_seen = excluded.last_seen
"""


async def thread_rows(conn: Connection, paths: Sequence[str] | None) -> list[Sequence[object]]:
    """The ``THREAD_COLS`` of this host's rows of these rollout paths (all its rows with
    None)."""
    host = host_of(conn)
    sql = f"SELECT {THREAD_COLS} FROM threads WHERE host_id = ?"
    if paths is None:
        async with conn.execute(sql, (host,)) as cur:
            return list(await cur.fetchall())
    out: list[Sequence[object]] = []
    for i in range(0, len(paths), 500):
        part = list(paths[i : i + 500])
        q = f"{sql} AND rollout_path IN ({','.join('?' * len(part))})"
        async with conn.execute(q, [host, *part]) as cur:
            out.extend(await cur.fetchall())
    return out


async def read_as(
    conn: Connection, thread_id: str | None, path: str
) -> tuple[int, str, int] | None:
    """(file_size, first_line_sha256, updated_at) of a thread's row at ``path``, if it was
    indexed without an error."""
    async with conn.execute(
        "SELECT file_size, first_line_sha256, updated_at FROM threads "
        "WHERE id = ? AND rollout_path = ? AND host_id = ? AND index_error IS NULL",
        (thread_id, path, host_of(conn)),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else (row[0], row[1], row[2])


async def holders(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, bool, int]]:
    """id -> (rollout_path, archived, mtime_ns) for rows that already hold these ids."""
    out: dict[str, tuple[str, bool, int]] = {}
    for i in range(0, len(ids), 500):
        part = list(ids[i : i + 500])
        q = (
            "SELECT id, rollout_path, archived, file_mtime_ns FROM threads "
            f"WHERE host_id = ? AND id IN ({','.join('?' * len(part))})"
        )
        async with conn.execute(q, [host_of(conn), *part]) as cur:
            for tid, path, archived, mtime in await cur.fetchall():
                out[str(tid)] = (str(path), bool(archived), int(mtime))
    return out


@dataclass
class IndexWrite:
    """What one index pass writes, decided by the indexer; :func:`write_index` applies it in
    one transaction."""

    stale_paths: list[str] = field(default_factory=list)  # rows whose file names another id
    rows: Sequence[tuple[object, ...]] = field(default_factory=list)  # THREAD_COLS values
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # new path, id, old path
    # (citing thread id, message key, cited thread ids, at_s): one per citing message
    citations: list[tuple[str, str, list[str], int]] = field(default_factory=list)
    # (mtime_ns, updated_at, now, path) of files whose content did not change
    touches: list[tuple[object, ...]] = field(default_factory=list)
    vanished: list[tuple[str, int, str]] = field(default_factory=list)  # error, now, path
    ok_paths: Sequence[tuple[object, ...]] = field(default_factory=list)  # indexed cleanly
    problem_rows: list[tuple[str, str, int, int]] = field(default_factory=list)
    full: bool = False  # a full scan: forget the problems of files not seen


async def write_index(conn: Connection, w: IndexWrite) -> int:
    """Apply one index pass; returns how many vanished rows were marked (a file that moved
    took its row along, so it is not counted)."""
    vanished = 0
    host = host_of(conn)
    async with immediate(conn, wait_out_locks=False) as c:  # the watcher defers
        if w.stale_paths:
            await c.executemany(
                "DELETE FROM threads WHERE rollout_path = ? AND host_id = ?",
                [(p, host) for p in w.stale_paths],
            )
        for i in range(0, len(w.rows), WRITE_BATCH):
            await c.executemany(
                UPSERT, [(*shareable(c, r), host) for r in w.rows[i : i + WRITE_BATCH]]
            )
        if w.renamed:  # provenance follows the file
            await c.executemany(
                "UPDATE stage1_outputs SET rollout_path = ? "
                "WHERE thread_id = ? AND rollout_path = ?",
                w.renamed,
            )
        for citing, key, ids, at in w.citations:
            await record_citations(c, citing, key, ids, at)
        if w.touches:
            await c.executemany(
                "UPDATE threads SET file_mtime_ns = ?1, stage1_pending = CASE "
                "WHEN updated_at <> ?2 THEN 1 ELSE stage1_pending END, updated_at = ?2, "
                "indexed_at = ?3 WHERE rollout_path = ?4 AND host_id = ?5",
                [(*t, host) for t in w.touches],
            )
        if w.vanished:
            cur = await c.executemany(
                "UPDATE threads SET index_error = ?, indexed_at = ? "
                "WHERE rollout_path = ? AND host_id = ?",
                [(*v, host) for v in w.vanished],
            )
            # A file that moved (to archived_sessions/, say) took its row along: not gone.
            vanished = cur.rowcount
        if w.ok_paths:
            await c.executemany(
                "DELETE FROM index_problems WHERE path = ? AND host_id = ?",
                [(*p, host) for p in w.ok_paths],
            )
        if w.problem_rows:
            await c.executemany(UPSERT_PROBLEM, [(*p, host) for p in w.problem_rows])
        if w.full:
            # Problems of files that are gone, or that now index cleanly, are forgotten.
            keep = {p for p, *_ in w.problem_rows}
            async with c.execute(
                "SELECT path FROM index_problems WHERE host_id = ?", (host,)
            ) as cur:
                old = [str(r[0]) for r in await cur.fetchall()]
            drop = [(p, host) for p in old if p not in keep]
            if drop:
                await c.executemany(
                    "DELETE FROM index_problems WHERE path = ? AND host_id = ?", drop
                )
    return vanished


@dataclass(frozen=True, slots=True)
class IndexCounts:
    threads: int
    threads_with_errors: int  # rows with an ``index_error``
    problems: int  # ``index_problems`` rows: files that gave no thread
    memories: int  # ``stage1_outputs`` rows


async def index_counts(conn: Connection) -> IndexCounts:
    """This host's index; the memories of every host."""
    host = (host_of(conn),)
    async with conn.execute(
        "SELECT count(*), count(index_error) FROM threads WHERE host_id = ?", host
    ) as cur:
        row = await cur.fetchone()
    threads, with_errors = (int(row[0]), int(row[1])) if row else (0, 0)
    async with conn.execute("SELECT count(*) FROM index_problems WHERE host_id = ?", host) as cur:
        row = await cur.fetchone()
    problems = int(row[0]) if row else 0
    async with conn.execute("SELECT count(*) FROM stage1_outputs") as cur:
        row = await cur.fetchone()
    memories = int(row[0]) if row else 0
    return IndexCounts(threads, with_errors, problems, memories)
