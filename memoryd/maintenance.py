"""``forget`` and ``clear`` (SPEC §7, issue 5): removing memories on the user's request.

``forget`` removes the memories of some threads and keeps them removed. The thread ids go into
``forgotten_threads`` (migration 0005), whose triggers hold the threads' ``memory_mode`` at
``forgotten`` whatever the indexer later reads from the rollout (so phase 1 never claims them
and phase 2 never selects them) and refuse any stage-1 output for them (so an extraction that
was already running when the user forgot the thread is dropped). Their stage-1 outputs, stage-1
jobs and the citations counted for them are deleted, and phase 2 is enqueued: the next
consolidation finds them in the last successful selection but not among the inputs, labels them
``removed``, deletes their rollout summaries and rebuilds the consolidated files without them.
Forgetting is permanent for that thread id (``clear`` keeps the marker too).

``clear`` is ``codex debug clear-memories`` for memoryd (reference §9): under the phase-2 lock,
so that no agent is writing the root meanwhile, it removes everything inside the memory root
(including its ``.git`` baseline; the directory itself stays) and then deletes the DB's memory
state in one transaction: stage-1 outputs, the last successful selection, the recorded
citations and the stage-1 and phase-2 job rows (the lock's own row with them, which releases
it). Thread rows, their ``memory_mode``, the forgotten markers, the usage ledger (budgets), the
run records and the run history are kept: a clear can be undone with ``memoryd rollback``.
Every thread is marked pending again, so phase 1 extracts the eligible ones afresh, as Codex
does after a clear. A root that is a symbolic link is refused before anything is touched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import aiosqlite
import anyio
import msgspec

from memoryd import clock
from memoryd.errors import MemorydError
from memoryd.store import phase2 as p2store
from memoryd.store.db import immediate
from memoryd.store.jobs import GLOBAL, STAGE1, enqueue_global
from memoryd.store.phase2 import GlobalClaimOutcome

FORGOTTEN = "forgotten"  # the memory_mode of a forgotten thread
CLEAR_WORKER = "memoryd-clear"


class NothingToForget(MemorydError):
    """No thread matches what forget was given (the control protocol answers ``not_found``)."""


class ForgetResult(msgspec.Struct, kw_only=True):
    threads: list[str]  # thread ids forgotten
    outputs_deleted: int


class ClearResult(msgspec.Struct, kw_only=True):
    outputs_deleted: int
    files_removed: int


async def forget(
    conn: aiosqlite.Connection, *, thread_id: str | None = None, cwd: str | None = None
) -> ForgetResult:
    """Delete those threads' memories, keep them from being extracted again, and enqueue
    phase 2 so the consolidated files drop them.

    ``thread_id``: one thread (known from its thread row, its output or the last selection).
    ``cwd``: an absolute path; every thread whose cwd is that directory or lies under it.
    Exactly one of the two is required. Nothing matching is NothingToForget, and nothing is
    changed then."""
    if (thread_id is None) == (cwd is None):
        raise MemorydError("forget needs exactly one of a thread id or a cwd")
    now = clock.now_s()
    async with immediate(conn) as c:
        if thread_id is not None:
            ids = await _known_thread(c, thread_id)
            if not ids:
                raise NothingToForget(
                    f"unknown thread {thread_id!r}: no such thread in the state DB"
                )
        else:
            assert cwd is not None
            ids = await _threads_under(c, cwd)
            if not ids:
                raise NothingToForget(f"no thread has its cwd at or under {cwd}")
        params = [(tid,) for tid in ids]
        await c.executemany(
            "INSERT INTO forgotten_threads (thread_id, forgotten_at) VALUES (?, ?) "
            "ON CONFLICT(thread_id) DO NOTHING",
            [(tid, now) for tid in ids],
        )
        await c.executemany(
            "UPDATE threads SET memory_mode = ?, stage1_pending = 0 WHERE id = ?",
            [(FORGOTTEN, tid) for tid in ids],
        )
        deleted = 0
        for tid in ids:
            rows = await c.execute_fetchall(
                "DELETE FROM stage1_outputs WHERE thread_id = ? RETURNING 1", (tid,)
            )
            deleted += len(list(rows))
        # Deleting the job also fences off a running extraction: its finish matches no row.
        await c.executemany(f"DELETE FROM jobs WHERE kind = '{STAGE1}' AND job_key = ?", params)
        await c.executemany("DELETE FROM memory_citations WHERE cited_thread_id = ?", params)
        await enqueue_global(c, now)
    return ForgetResult(threads=ids, outputs_deleted=deleted)


async def _known_thread(c: aiosqlite.Connection, thread_id: str) -> list[str]:
    rows = await c.execute_fetchall(
        """SELECT EXISTS (SELECT 1 FROM threads WHERE id = :t)
               OR EXISTS (SELECT 1 FROM stage1_outputs WHERE thread_id = :t)
               OR EXISTS (SELECT 1 FROM phase2_selection WHERE thread_id = :t)""",
        {"t": thread_id},
    )
    return [thread_id] if next(iter(rows))[0] else []


def _cwd_match(cwd: str) -> tuple[str, str]:
    """The normalised directory and the prefix of the paths under it (pure string work: the
    directory may no longer exist, and threads record the cwd as the session saw it)."""
    expanded = os.path.expanduser(cwd)
    if not cwd or not os.path.isabs(expanded):
        raise MemorydError(f"forget --cwd needs an absolute path, not {cwd!r}")
    path = os.path.normpath(expanded)
    if path.startswith("//"):  # normpath keeps a leading "//" (POSIX leaves it open)
        path = "/" + path.lstrip("/")
    return path, path if path.endswith("/") else path + "/"


async def _threads_under(c: aiosqlite.Connection, cwd: str) -> list[str]:
    path, prefix = _cwd_match(cwd)
    rows = await c.execute_fetchall(
        "SELECT id FROM threads WHERE cwd = :p OR substr(cwd, 1, length(:prefix)) = :prefix "
        "ORDER BY id",
        {"p": path, "prefix": prefix},
    )
    return [str(r[0]) for r in rows]


async def clear(
    conn: aiosqlite.Connection,
    root: Path,
    *,
    worker_id: str = CLEAR_WORKER,
    lease_seconds: int = 3600,
) -> ClearResult:
    """Wipe the DB's memory state (keeping thread rows) and the root's contents, under the
    phase-2 lock. Refuses (MemorydError, nothing touched) a symlinked root, a root that is
    not a directory, and a moment when a consolidation holds the lock."""
    root = Path(root)
    await anyio.to_thread.run_sync(_check_root, root)
    outcome, claim = await p2store.try_claim_global(
        conn,
        worker_id=worker_id,
        now_s=clock.now_s(),
        lease_seconds=lease_seconds,
        ignore_backoff=True,
    )
    if claim is None:
        raise MemorydError(locked_message(outcome, "clear"))
    try:
        files = await anyio.to_thread.run_sync(_clear_contents, root)
    except OSError as exc:
        await p2store.release_global(conn, claim)
        raise MemorydError(f"clearing {root} failed: {exc}") from exc
    async with immediate(conn) as c:
        deleted = len(list(await c.execute_fetchall("DELETE FROM stage1_outputs RETURNING 1")))
        await c.execute("DELETE FROM phase2_selection")
        await c.execute("DELETE FROM memory_citations")
        await c.execute(f"DELETE FROM jobs WHERE kind IN ('{STAGE1}', '{GLOBAL}')")
        await c.execute("UPDATE threads SET stage1_pending = 1 WHERE stage1_pending = 0")
    return ClearResult(outputs_deleted=deleted, files_removed=files)


def locked_message(outcome: GlobalClaimOutcome, action: str) -> str:
    """Why ``action`` cannot take the phase-2 lock now (it never waits for a run)."""
    assert outcome is not GlobalClaimOutcome.CLAIMED
    return (
        f"cannot {action} now: a consolidation holds the phase-2 lock "
        f"({outcome.value}); nothing was changed, try again when it has finished"
    )


def _check_root(root: Path) -> None:
    if root.is_symlink():
        raise MemorydError(
            f"refusing to clear a memory root that is a symbolic link: {root} -> "
            f"{os.readlink(root)} (nothing was changed)"
        )
    if root.exists() and not root.is_dir():
        raise MemorydError(f"the memory root is not a directory: {root} (nothing was changed)")


def _clear_contents(root: Path) -> int:
    """Remove everything inside ``root`` (links are removed, never followed); return the
    number of files removed. A missing root has nothing to clear."""
    if not root.exists():
        return 0
    removed = 0
    with os.scandir(root) as it:
        entries = list(it)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            for _dirpath, _dirs, names in os.walk(entry.path):
                removed += len(names)
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
            removed += 1
    return removed
