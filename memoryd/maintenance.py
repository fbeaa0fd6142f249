"""``forget`` and ``clear`` (SPEC §7, issue 5): removing memories on the user's request.

``forget`` removes the memories of some threads and keeps them removed. The thread ids go into
``forgotten_threads`` (migration 0005), whose triggers hold the threads' ``memory_mode`` at
``forgotten`` whatever the indexer later reads from the rollout (so phase 1 never claims them
and phase 2 never selects them) and refuse any stage-1 output for them (so an extraction that
was already running when the user forgot the thread is dropped). Their stage-1 outputs, stage-1
jobs and the citations counted for them are deleted, and phase 2 is enqueued: the next
consolidation finds them in the last successful selection but not among the inputs, labels them
``removed``, deletes their rollout summaries and rebuilds the consolidated files without them.
Forgetting is permanent for that thread id (``clear`` keeps the marker too). The forget also
marks the run history for a purge (``control_state`` key ``history_purge_pending``): the next
successful consolidation, once the live files no longer hold the threads, cuts them out of
every recorded run (memoryd/workspace/history.py ``purge``); until then, and after,
``rollback`` refuses a run whose selection holds a forgotten thread (``rollback_refusal``).

``clear`` is ``codex debug clear-memories`` for memoryd (reference §9): under the phase-2 lock,
so that no agent is writing the root meanwhile, it removes what memoryd wrote inside the memory
root (the known layout, ``CLEARED_TOP``: the consolidated files, ``raw_memories.md``,
``rollout_summaries/``, ``skills/``, the ``ad_hoc`` extension memoryd seeds, the ``.git``
baseline and memoryd's staging and temporary names; anything else a user put there stays and
is reported) and then deletes the DB's memory state in one transaction: stage-1 outputs, the
last successful selection, the recorded citations and the stage-1 and phase-2 job rows (the
lock's own row with them, which releases it). Thread rows, their ``memory_mode``, the
forgotten markers, the usage ledger (budgets), the run records and the run history are kept.

A clear means "forget everything so far", and stays done: every thread known at the clear is
marked extracted (``stage1_pending = 0``), so phase 1 takes it again only when its rollout
changes afterwards; new sessions are extracted as usual. ``reextract=True`` is the explicit
opposite (Codex's behaviour): every thread is pending again. The moment of the clear is kept
(``control_state`` key ``cleared_at_ms``) so that a rollback never restores a run recorded
before it. A root that is a symbolic link is refused before anything is touched.

On PostgreSQL (several hosts, one state) a clear empties every host's folder: the clear's
NOTIFY, or the daemon's start, makes each other host compare the shared ``cleared_at_ms`` with
the last clear it applied (``<state_dir>/cleared_seen``) and, if newer, empty its own root the
same way under the phase-2 lock (``follow_clear``). A host with no such file yet adopts the
shared value: it has no folder from before a clear it never knew.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import anyio
import msgspec
import structlog

from memoryd import clock
from memoryd.errors import MemorydError
from memoryd.fsutil import atomic_write
from memoryd.layout import (
    DIFF_FILE,
    EXTENSIONS_DIR,
    MEMORY_FILE,
    RAW_MEMORIES_FILE,
    ROLLOUT_SUMMARIES_DIR,
    SKILLS_DIR,
    SUMMARY_FILE,
)
from memoryd.memroot.extensions import AD_HOC
from memoryd.store import control_state, published
from memoryd.store import forget as forget_store
from memoryd.store import phase2 as p2store
from memoryd.store.db import immediate
from memoryd.store.engine import Connection
from memoryd.store.phase2 import GlobalClaimOutcome
from memoryd.workspace.baseline import GIT_DIR, STAGING_NEW, STAGING_OLD, STAGING_TMP

log = structlog.get_logger("memoryd.maintenance")

CLEAR_WORKER = "memoryd-clear"
CLEARED_AT_KEY = "cleared_at_ms"  # control_state: when the last clear happened
# control_state: a forget happened since the run history was last purged (a token, so that
# a forget during a purge is not marked done by it)
PURGE_KEY = "history_purge_pending"
# What memoryd (or the consolidation agent it runs) writes at the top of the memory root: a
# clear removes these and nothing else. The workspace's own names (.git, its staging names,
# the transient diff file) are listed by memoryd/workspace/baseline.py.
CLEARED_TOP = frozenset(
    {MEMORY_FILE, SUMMARY_FILE, RAW_MEMORIES_FILE, ROLLOUT_SUMMARIES_DIR, SKILLS_DIR, DIFF_FILE}
)
# Also memoryd's: the user-edit copies phase 2 saves (``MEMORY.user-edit-<run>.md``) and the
# temporary files of interrupted writes (``.<name>.<8 random>.tmp``).
_CLEARED_PATTERN = re.compile(
    r"^(?:(?:MEMORY|memory_summary)\.user-edit-.+\.md|\..+\.[a-z0-9_]{8}\.tmp)$"
)


class NothingToForget(MemorydError):
    """No thread matches what forget was given (the control protocol answers ``not_found``)."""


class ForgetResult(msgspec.Struct, kw_only=True):
    threads: list[str]  # thread ids forgotten
    outputs_deleted: int


class ClearResult(msgspec.Struct, kw_only=True):
    outputs_deleted: int
    files_removed: int
    threads: int  # threads known at the clear
    reextract: bool  # True: they are all extracted again; False: only once they change
    kept: list[str]  # entries of the root that memoryd did not write, left in place


async def forget(
    conn: Connection, *, thread_id: str | None = None, cwd: str | None = None
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
            ids = await forget_store.known_thread(c, thread_id)
            if not ids:
                raise NothingToForget(
                    f"unknown thread {thread_id!r}: no such thread in the state DB"
                )
        else:
            assert cwd is not None
            ids = await forget_store.threads_under(c, *_cwd_match(cwd))
            if not ids:
                raise NothingToForget(f"no thread has its cwd at or under {cwd}")
        deleted = await forget_store.forget_threads(
            c, ids, now_s=now, purge_key=PURGE_KEY, purge_token=uuid.uuid4().hex
        )
        # The trees published so far hold them too: the next one published prunes them.
        await published.note_forget(c)
    return ForgetResult(threads=ids, outputs_deleted=deleted)


async def pending_purge(conn: Connection) -> tuple[str, list[str]] | None:
    """(token, every forgotten thread id) when the run history still has to be purged of
    forgotten memories (memoryd/workspace/history.py ``purge``), else None."""
    token = await control_state.get_state(conn, PURGE_KEY)
    if token is None:
        return None
    return token, await forget_store.forgotten_threads(conn)


async def purge_done(conn: Connection, token: str) -> None:
    """The purge for ``token`` is done; a forget since then keeps its own token pending."""
    async with immediate(conn) as c:
        await control_state.delete_state(c, PURGE_KEY, token)


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


async def clear(
    conn: Connection,
    root: Path,
    *,
    reextract: bool = False,
    worker_id: str = CLEAR_WORKER,
    lease_seconds: int = 3600,
) -> ClearResult:
    """Wipe the DB's memory state (keeping thread rows) and what memoryd wrote in the root,
    under the phase-2 lock. Refuses (MemorydError, nothing touched) a symlinked root, a root
    that is not a directory, and a moment when a consolidation holds the lock."""
    root = Path(root)
    await anyio.to_thread.run_sync(_check_root, root)
    now_ms = clock.now_ms()
    outcome, claim = await p2store.try_claim_global(
        conn,
        worker_id=worker_id,
        now_s=now_ms // 1000,
        lease_seconds=lease_seconds,
        ignore_backoff=True,
    )
    if claim is None:
        raise MemorydError(locked_message(outcome, "clear"))
    try:
        files, kept = await anyio.to_thread.run_sync(_clear_contents, root)
    except OSError as exc:
        await p2store.release_global(conn, claim)
        raise MemorydError(f"clearing {root} failed: {exc}") from exc
    async with immediate(conn) as c:
        deleted, threads = await forget_store.clear_memory_state(
            c, reextract=reextract, cleared_key=CLEARED_AT_KEY, now_ms=now_ms
        )
    result = ClearResult(
        outputs_deleted=deleted,
        files_removed=files,
        threads=threads,
        reextract=reextract,
        kept=kept,
    )
    log.info("clear", root=str(root), **msgspec.to_builtins(result))
    return result


CLEAR_SEEN_FILE = "cleared_seen"


def _seen(state_dir: Path) -> int | None:
    try:
        text = (state_dir / CLEAR_SEEN_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else 0


def mark_clear_seen(state_dir: Path, at_ms: int) -> None:
    """Record that this host's root reflects the clear of ``at_ms`` (PostgreSQL: the other
    hosts follow a clear they have not seen; see ``follow_clear``)."""
    atomic_write(state_dir / CLEAR_SEEN_FILE, f"{at_ms}\n".encode())


async def clear_to_follow(conn: Connection, state_dir: Path) -> int | None:
    """The moment (ms) of a ``clear`` made on another host that this host's root does not
    reflect yet, or None (none since the last one seen, SQLite, or a first start, which adopts
    the shared value: it has no folder from before a clear it never knew)."""
    if not published.shared(conn):
        return None
    cleared = await cleared_at_ms(conn) or 0
    seen = await anyio.to_thread.run_sync(_seen, state_dir)
    if seen is None:
        await anyio.to_thread.run_sync(mark_clear_seen, state_dir, cleared)
    return cleared if seen is not None and cleared > seen else None


def apply_clear(root: Path, state_dir: Path, cleared_ms: int) -> int:
    """Under the phase-2 lock: empty ``root`` as the local clear does, for the clear of
    ``cleared_ms`` made on another host, and remember it; the number of files removed."""
    _check_root(root)
    try:
        files, kept = _clear_contents(root)
        mark_clear_seen(state_dir, cleared_ms)
    except OSError as exc:
        raise MemorydError(f"clearing {root} failed: {exc}") from exc
    log.info(
        "clear_followed", root=str(root), cleared_at_ms=cleared_ms, files_removed=files, kept=kept
    )
    return files


async def follow_clear(
    conn: Connection, root: Path, state_dir: Path, *, worker_id: str = CLEAR_WORKER
) -> int | None:
    """Empty this host's root after a ``clear`` made on another host, once per clear, under
    the phase-2 lock (:func:`apply_clear`); None when there is none to follow
    (:func:`clear_to_follow`). MemorydError while a consolidation holds the lock: the caller
    tries again later (a consolidation of this host's follows the clear itself)."""
    cleared = await clear_to_follow(conn, state_dir)
    if cleared is None:
        return None
    outcome, claim = await p2store.try_claim_global(
        conn, worker_id=worker_id, now_s=clock.now_s(), lease_seconds=3600, ignore_backoff=True
    )
    if claim is None:
        raise MemorydError(locked_message(outcome, "follow another host's clear"))
    try:
        return await anyio.to_thread.run_sync(apply_clear, root, state_dir, cleared)
    finally:
        await p2store.release_global(conn, claim)


async def cleared_at_ms(conn: Connection) -> int | None:
    """When the last ``clear`` happened (ms), or None if there never was one."""
    value = await control_state.get_state(conn, CLEARED_AT_KEY)
    return int(value) if value is not None and value.isdigit() else None


async def rollback_refusal(
    conn: Connection, run_id: str, at_ms: int, threads: list[str]
) -> str | None:
    """Why a rollback to the run ``run_id`` (recorded at ``at_ms``, consolidating ``threads``)
    must not happen, or None: it would bring back what a clear or a forget removed."""
    cleared = await cleared_at_ms(conn)
    if cleared is not None and at_ms < cleared:
        return (
            f"cannot roll back to {run_id}: it was recorded before `memoryd clear` "
            f"({_iso(cleared)}), and a rollback never brings back cleared memories; "
            "nothing was changed"
        )
    forgotten = await forget_store.forgotten_among(conn, threads)
    if forgotten:
        return (
            f"cannot roll back to {run_id}: it holds memories of {len(forgotten)} forgotten "
            f"thread(s) ({', '.join(forgotten[:3])}{', ...' if len(forgotten) > 3 else ''}), "
            "and a rollback never brings back forgotten memories; roll back to a run recorded "
            "after the forget (`memoryd history`); nothing was changed"
        )
    return None


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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


def _written_by_memoryd(name: str) -> bool:
    return (
        name in CLEARED_TOP
        or name in (GIT_DIR, STAGING_TMP, STAGING_NEW, STAGING_OLD)
        or _CLEARED_PATTERN.match(name) is not None
    )


def _clear_contents(root: Path) -> tuple[int, list[str]]:
    """Remove what memoryd wrote inside ``root`` (links are removed, never followed); return
    the number of files removed and the entries left in place because memoryd did not write
    them. A missing root has nothing to clear."""
    if not root.exists():
        return 0, []
    doomed: list[str] = []
    kept: list[str] = []
    for name in sorted(os.listdir(root)):
        if name == EXTENSIONS_DIR and (root / name).is_dir() and not (root / name).is_symlink():
            # The ad_hoc extension is memoryd's (seeded by phase 2; its notes are memories);
            # any other extension is someone else's.
            others = sorted(n for n in os.listdir(root / name) if n != AD_HOC)
            if os.path.lexists(root / name / AD_HOC):
                doomed.append(f"{name}/{AD_HOC}")
            kept.extend(f"{name}/{n}" for n in others)
            if not others:
                doomed.append(name)
        elif _written_by_memoryd(name):
            doomed.append(name)
        else:
            kept.append(name)
    removed = 0
    for rel in doomed:
        path = root / rel
        if not os.path.lexists(path):
            continue  # extensions/ad_hoc, removed with extensions/
        if path.is_dir() and not path.is_symlink():
            for _dirpath, _dirs, names in os.walk(path):
                removed += len(names)
            shutil.rmtree(path)
        else:
            os.unlink(path)
            removed += 1
    return removed, kept
