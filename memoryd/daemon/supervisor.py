"""``memoryd serve``: the daemon's lifetime — lock, logs, DB, side tasks, signals, sd_notify.

One anyio task group owns every side task (signal handler, control socket, watchdog ping,
file watcher, re-scan loop). A side task that raises, or returns while the daemon is not
stopping, stops the daemon with a non-zero exit code: the service manager restarts it,
nothing limps on.

Shutdown (first SIGTERM/SIGINT, or a failed side task): ``STOPPING=1``, no new work is started,
running work gets ``daemon.shutdown_grace_seconds`` to finish, then everything is cancelled
and the log names the work that was still running. The finalisers that then hand jobs back
run shielded, and wait as long as another process holds the state DB's write lock: they get
SHUTDOWN_HARD_DEADLINE_SECONDS more, then the process exits without them (exit code 1), as a
second SIGTERM/SIGINT does at once. Either way nothing is lost: a job not handed back keeps
its lease, which runs out, and the next claim takes the job over.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import anyio
import msgspec
import structlog
from anyio.abc import TaskGroup, TaskStatus

from memoryd import __version__, clock, maintenance
from memoryd import log as logsetup
from memoryd.budget import Budget
from memoryd.config import LogConfig, Paths, Settings, load_settings
from memoryd.consolidate.base import ConsolidationAgent
from memoryd.consolidate.factory import make_consolidator
from memoryd.control.commands import CommandError, Context
from memoryd.control.protocol import E_FAILED
from memoryd.control.results import PauseResult
from memoryd.control.server import ControlServer, bind_control_socket
from memoryd.daemon.sdnotify import Notifier, reloading_state
from memoryd.errors import AlreadyRunning, MemorydError
from memoryd.extract.base import Extractor
from memoryd.extract.factory import make_extractor
from memoryd.fsutil import ensure_private_dir
from memoryd.memroot.codexlink import ensure_link
from memoryd.phase1 import Phase1
from memoryd.phase2 import Consolidator
from memoryd.phase2.result import Phase2Outcome, Phase2Result
from memoryd.rollouts.indexer import Indexer
from memoryd.rollouts.limits import ZstLimits
from memoryd.rollouts.watch import RolloutWatch
from memoryd.store import hosts, jobs, listen
from memoryd.store import phase2 as phase2_store
from memoryd.store.db import open_state
from memoryd.store.engine import (
    EVENT_CLEAR,
    EVENT_LOCK,
    EVENT_OUTPUTS,
    EVENT_TREE,
    Connection,
    host_of,
)
from memoryd.workspace.history import history_dir

log = structlog.get_logger("memoryd.supervisor")

EXIT_OK = 0
EXIT_FAILURE = 1
LOCK_FILE_NAME = "memoryd.lock"
# The longest phase 2 waits for a running phase 1 to drain its backlog before consolidating
# what is there (see Daemon._defer_while_phase1_drains).
PHASE2_BACKLOG_DEFER_SECONDS = 600.0
# How long the shielded finalisers of a shutdown may take once the grace period is over (saq's
# cancellation_hard_deadline_s). Two busy_timeouts (store/db.py): a lock another process holds
# only briefly is waited out, one held longer (a backup, an open sqlite3 shell) is not.
SHUTDOWN_HARD_DEADLINE_SECONDS = 10.0
# A failed materialisation of another host's tree is tried again after this long (or at the
# next tree published, whichever comes first).
MATERIALISE_RETRY_SECONDS = 5.0
INDEX_WORK = "index_batch"  # the watcher's indexing of changed rollouts, as running work

# Libraries that log free text: aiosqlite every statement at DEBUG, watchfiles every batch
# at INFO ("4 changes detected"). Our own events (``watch_changes``, ``index_scan``) say the
# same with stable names.
_CHATTY_LOGGERS = {"aiosqlite": logging.INFO, "watchfiles": logging.WARNING}


def acquire_lock(state_dir: Path) -> int:
    """Hold ``<state_dir>/memoryd.lock`` for the life of the process and return its fd.

    ``flock`` is released by the kernel however the process ends, so a stale lock file never
    blocks a restart; the file is never deleted (deleting lock files races)."""
    ensure_private_dir(state_dir)
    path = state_dir / LOCK_FILE_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise MemorydError(f"cannot open lock file {path}: {e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise AlreadyRunning(
            f"another memoryd daemon{who} already owns state dir {state_dir}; "
            "stop it first, or use another MEMORYD_STATE_DIR"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


class InFlight:
    """The running work (what, and since when), so a graceful stop can wait for it to finish
    and say what did not."""

    def __init__(self) -> None:
        self._running: dict[object, tuple[str, float]] = {}
        self._idle = anyio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return len(self._running)

    def running(self) -> list[tuple[str, float]]:
        """What is running: its name and when it started (monotonic s). A copy made in one
        step, so another thread may ask too."""
        return list(self._running.values())

    @contextlib.asynccontextmanager
    async def track(self, what: str) -> AsyncIterator[None]:
        if not self._running:
            self._idle = anyio.Event()
        token = object()
        self._running[token] = (what, clock.get().monotonic())
        try:
            yield
        finally:
            del self._running[token]
            if not self._running:
                self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(old.keys() | new.keys()):
            out += changed_keys(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [prefix.rstrip(".")]


class Daemon:
    """The running daemon: its settings, its DB connection and its side tasks."""

    def __init__(
        self,
        settings: Settings,
        config_arg: str | None,
        conn: Connection,
        notifier: Notifier,
        extractor: Extractor,
        agent: ConsolidationAgent,
    ) -> None:
        self.settings = settings
        self.config_arg = config_arg
        self.notifier = notifier
        self.stop = anyio.Event()
        self.stop_reason = ""
        self.exit_code = EXIT_OK
        self.inflight = InFlight()
        paths = settings.paths
        self.indexer = Indexer(
            conn,
            paths.sessions_dirs,
            paths.archived_dir,
            max_line_bytes=settings.config.index.max_line_bytes,
            zst=ZstLimits.of(settings.config.index),
        )
        self.watch = RolloutWatch(
            self.indexer,
            lambda: self.settings.config.index,
            self.stop,
            busy=lambda: self.inflight.track(INDEX_WORK),
        )
        self.ready = anyio.Event()
        # One budget for both phases, so that one exhaustion is logged once (memoryd/budget.py).
        self.budget = Budget(conn, lambda: self.settings.config)
        self.phase1 = Phase1(conn, settings.config, extractor, budget=self.budget)
        self.consolidator = Consolidator(
            conn,
            settings.config,
            agent,
            root=paths.memory_root,
            codex_home=paths.codex_home,
            worker_id=self.phase1.worker_id,
            budget=self.budget,
            history_dir=history_dir(paths.state_dir),
            state_dir=paths.state_dir,
        )
        self.conn = conn
        self.phase2_wake = anyio.Event()
        self._phase2_bypass = False  # the next woken run ignores phase2.min_interval_seconds
        # The last run found no inputs at all (a first start, before phase 1 had extracted
        # anything; after a clear): the first phase-1 output need not wait out the interval.
        self._phase2_had_nothing = False
        # The last pass found the lock held (by another host, on a shared state): only then
        # does a NOTIFY of the lock given back wake phase 2. Woken by every one, hosts at
        # min_interval_seconds = 0 wake each other with no-op runs as fast as they finish.
        self._phase2_lock_busy = False
        self._resumed = anyio.Event()
        # Another host published a consolidated tree (PostgreSQL): materialise it here.
        self.tree_wake = anyio.Event()
        self.started_at = clock.now_s()
        self._tg: TaskGroup | None = None
        self._hard_timer: threading.Timer | None = None
        self.phase1.on_output = self._phase1_output
        # New or changed threads may be claimable: let phase 1 look again now.
        self.indexer.on_change = self.phase1.wake

    async def run(self) -> int:
        self.phase1.paused = await jobs.get_paused(self.conn)  # `memoryd pause` outlives us
        path = self.settings.paths.socket_path
        # Bound before any task starts, so a refused socket stops the daemon with its reason.
        server = ControlServer(
            bind_control_socket(path),
            path,
            self._context,
            lambda: self.settings.config.daemon.max_control_connections,
        )
        try:
            return await self._run(server)
        finally:
            server.close()

    async def _run(self, server: ControlServer) -> int:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            await tg.start(self._signals)  # handlers in place before anything slow starts
            await tg.start(self._side_started, "control", server.serve)
            if self.notifier.watchdog_seconds:
                tg.start_soon(self._side, "watchdog", self._watchdog)
            # The watcher is started before the first scan, so that no file written during
            # the scan is missed.
            tg.start_soon(self._side, "watcher", self.watch.watch)
            tg.start_soon(self._side, "indexer", self._index)
            tg.start_soon(self._side, "phase1", self._phase1)
            tg.start_soon(self._side, "phase2", self._phase2)
            tg.start_soon(self._side, "hosts", self._host_heartbeat)
            if listen.can_listen(self.conn):
                # Several hosts share the state: hear theirs, and take in their trees.
                await tg.start(self._side_started, "listen", self._listen)
                tg.start_soon(self._side, "materialise", self._materialise)
            await self.stop.wait()
            self.phase1.paused = True  # stop claiming; running jobs may finish in the grace
            self._resumed.set()  # a paused phase-2 loop wakes and sees the stop
            grace = self.settings.config.daemon.shutdown_grace_seconds
            log.info(
                "daemon_stopping",
                reason=self.stop_reason,
                running=self.inflight.count + self.phase1.running,
                grace_seconds=grace,
            )
            self._notify("STOPPING=1")
            with anyio.move_on_after(grace) as scope:
                await self.inflight.wait_idle()
                await self.phase1.wait_idle()
            if scope.cancelled_caught:
                log.warning(
                    "shutdown_grace_expired",
                    running=self.inflight.count + self.phase1.running,
                    grace_seconds=grace,
                    jobs=self.running_work(),
                )
            self._start_hard_deadline()
            tg.cancel_scope.cancel()
        return self.exit_code

    def running_work(self) -> list[dict[str, Any]]:
        """The work running now, longest first: each stage-1 job (by thread), a consolidation,
        an indexing batch, with how long it has run."""
        now = clock.get().monotonic()
        # Also read from the hard-deadline timer's thread: list() copies a dict in one step
        # under the GIL, so the loop's changes cannot break the iteration.
        active = list(self.phase1.active.items())
        since = {f"{jobs.STAGE1}:{tid}": t for tid, t in active}
        for what, t in self.inflight.running():
            since.setdefault(what, t)  # a forced stage-1 job is in both
        ordered = sorted(since.items(), key=lambda kv: kv[1])
        return [{"job": what, "running_seconds": round(now - t, 1)} for what, t in ordered]

    def _start_hard_deadline(self) -> None:
        """The work is being cancelled: its shielded finalisers get SHUTDOWN_HARD_DEADLINE_SECONDS,
        then the process exits without them (the module docstring says why that loses nothing).
        A timer thread, not a task: the task group that waits for the finalisers cannot be
        left while they run, and a thread fires even if the event loop is stuck."""
        self._hard_timer = threading.Timer(SHUTDOWN_HARD_DEADLINE_SECONDS, self._hard_exit)
        self._hard_timer.daemon = True
        self._hard_timer.start()

    def cancel_hard_deadline(self) -> None:
        """The shutdown finished in time."""
        if self._hard_timer is not None:
            self._hard_timer.cancel()

    def _hard_exit(self) -> None:
        log.error(
            "shutdown_hard_deadline_expired",
            deadline_seconds=SHUTDOWN_HARD_DEADLINE_SECONDS,
            jobs=self.running_work(),
            exit_code=EXIT_FAILURE,
        )
        logging.shutdown()
        os._exit(EXIT_FAILURE)

    def request_stop(self, reason: str, exit_code: int = EXIT_OK) -> None:
        self.exit_code = max(self.exit_code, exit_code)
        if not self.stop.is_set():
            self.stop_reason = reason
            self.stop.set()

    # ---------------------------------------------------------------------------- control

    def _context(self) -> Context:
        return Context(conn=self.conn, settings=self.settings, daemon=self)

    @property
    def paused(self) -> bool:
        return self.phase1.paused and not self.stop.is_set()

    def is_ready(self) -> bool:
        return self.ready.is_set()

    def is_stopping(self) -> bool:
        return self.stop.is_set()

    def wake_phase1(self) -> None:
        self.phase1.wake()

    async def set_paused(self, paused: bool) -> PauseResult:
        """``pause`` / ``resume``: stop or restart claiming new work (running jobs finish),
        persisted so that a restart keeps it."""
        if self.stop.is_set():
            raise CommandError(E_FAILED, "the daemon is stopping")
        await jobs.set_paused(self.conn, paused)
        self.phase1.paused = paused
        if not paused:
            self._resumed.set()
            self.phase1.wake()
        log.info("daemon_paused" if paused else "daemon_resumed", running=self.phase1.running)
        return PauseResult(paused=paused, running=self.phase1.running)

    async def trigger_phase2(self) -> Phase2Result:
        """One consolidation now, ignoring ``phase2.min_interval_seconds`` (not the lock)."""
        async with self.inflight.track(jobs.GLOBAL):
            result = await self.consolidator.run_once(min_interval_seconds=0)
        log.info("phase2_triggered", outcome=result.outcome, run_id=result.run_id)
        return result

    async def trigger_thread(self, cand: jobs.Candidate) -> jobs.ClaimOutcome:
        """Claim this thread now however recently it changed, and run it beside the pool.
        Returns the claim outcome (``claimed``, or why not: ``up_to_date``, ``running``...)."""
        p = self.settings.config.phase1
        outcome, claim = await jobs.try_claim(
            self.conn,
            cand,
            worker_id=self.phase1.worker_id,
            now_s=clock.now_s(),
            lease_seconds=p.lease_seconds,
            max_running=p.max_running,
            max_retries=p.max_retries,
        )
        if claim is not None:
            assert self._tg is not None
            self._tg.start_soon(self._forced_job, claim)
        log.info("phase1_triggered", thread_id=cand.thread_id, outcome=outcome.value)
        return outcome

    async def _forced_job(self, claim: jobs.Claim) -> None:
        async with self.inflight.track(f"{jobs.STAGE1}:{claim.candidate.thread_id}"):
            await self.phase1.run_job(claim)

    def wake_phase2(self, *, bypass_interval: bool = False) -> None:
        self._phase2_bypass = self._phase2_bypass or bypass_interval
        self.phase2_wake.set()

    # ---------------------------------------------------------------------------- side tasks

    async def _side_started(
        self,
        name: str,
        fn: Callable[..., Awaitable[None]],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """``_side`` for a task that reports when it is up (``tg.start``)."""
        await self._side(name, lambda: fn(task_status=task_status))

    async def _side(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        try:
            await fn()
        except Exception as e:
            leaf = _first_leaf(e)
            log.error(
                "side_task_failed", task=name, error=f"{type(leaf).__name__}: {leaf}", exc_info=e
            )
            self.request_stop("side_task_failed", EXIT_FAILURE)
        else:
            if not self.stop.is_set():
                log.error("side_task_failed", task=name, error="returned while running")
                self.request_stop("side_task_failed", EXIT_FAILURE)

    async def _index(self) -> None:
        stats = await self.watch.scan()
        if not self.stop.is_set():
            log.info(
                "daemon_ready",
                files_seen=stats.files_seen if stats else None,
                files_read=stats.files_read if stats else None,
                seconds=round(stats.seconds, 3) if stats else None,
            )
            self._notify("READY=1")
        self.ready.set()
        await self.watch.rescan_loop()

    def _phase1_output(self) -> None:
        self.phase2_wake.set()

    async def _phase2(self) -> None:
        """One consolidation whenever there is something to consolidate, at most once per
        ``phase2.min_interval_seconds``. A new phase-1 output wakes it; otherwise it looks
        again once the interval has passed (user edits in the memory root are found by the
        run's own diff; nothing changed is a cheap no-op). Never polls faster than that."""
        await self.ready.wait()
        while not self.stop.is_set():
            while self.paused:
                self._resumed = anyio.Event()
                await self._resumed.wait()
            interval = self.settings.config.phase2.min_interval_seconds
            if not self._phase2_bypass:
                await self._defer_while_phase1_drains()
            run_interval = 0 if self._phase2_bypass or self._phase2_had_nothing else interval
            self._phase2_bypass = False
            self.phase2_wake = anyio.Event()
            async with self.inflight.track(jobs.GLOBAL):
                result = await self.consolidator.run_once(min_interval_seconds=run_interval)
            self._phase2_had_nothing = result.outcome == Phase2Outcome.NOOP and not (
                result.added or result.retained or result.removed
            )
            now = clock.now_s()
            # Asleep until a lease held elsewhere ends (found held, or our own run's lock taken
            # over): the NOTIFY of that lock given back is what wakes this host (on_event).
            self._phase2_lock_busy = result.outcome == Phase2Outcome.RUNNING or (
                await phase2_store.lock_held(self.conn, now_s=now)
            )
            at = await phase2_store.next_claim_at(
                self.conn, now_s=now, min_interval_seconds=interval
            )
            wait = max(
                at - now,
                interval if result.outcome in (Phase2Outcome.NOOP, Phase2Outcome.SUCCEEDED) else 0,
            )
            if result.outcome == Phase2Outcome.FAILED:
                wait = max(wait, 1)
            if result.budget_reset_at is not None:  # the token budget is spent: wake at its reset
                wait = max(wait, result.budget_reset_at - now)
            log.debug("phase2_idle", outcome=result.outcome, sleep_seconds=wait)
            await self._phase2_pause(max(wait, 1))

    async def _listen(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await listen.listen(self.conn, self.on_event, task_status=task_status)

    def on_event(self, event: str, host: str) -> None:
        """A notification from a daemon on the shared database (memoryd/store/listen.py). Our
        own are skipped: in process, the tasks already woke each other."""
        if host == host_of(self.conn):
            return
        log.debug("notified", notify_event=event, from_host=host)
        if event == EVENT_OUTPUTS or (event == EVENT_LOCK and self._phase2_lock_busy):
            self.phase2_wake.set()  # input to consolidate, or the lock to take: interval holds
        elif event == EVENT_TREE:
            self.tree_wake.set()
        elif event == EVENT_CLEAR:  # empty this host's folder too (maintenance.follow_clear)
            self.tree_wake.set()
            self.wake_phase2(bypass_interval=True)
        elif event == listen.EVENT_RECONNECTED:  # what was sent meanwhile is lost: look again
            self.tree_wake.set()
            self.phase2_wake.set()

    async def _materialise(self) -> None:
        """Take in the newest tree another host published, and follow a ``clear`` made on
        another host: once at start (a host that was offline catches up), then at each
        notification of a new one. A materialisation that
        kept local edits wakes this host's phase 2, which consolidates them."""
        await self.ready.wait()
        while not self.stop.is_set():
            self.tree_wake = anyio.Event()
            try:
                async with self.inflight.track("materialise"):
                    # A clear made elsewhere first: the tree read next is from after it.
                    await maintenance.follow_clear(
                        self.conn, self.settings.paths.memory_root, self.settings.paths.state_dir
                    )
                    done = await self.consolidator.materialise()
            except Exception as e:  # the root unwritable, the server gone: try again later
                log.warning(
                    "materialise_failed",
                    error=f"{type(e).__name__}: {e}",
                    retry_seconds=MATERIALISE_RETRY_SECONDS,
                )
                with anyio.move_on_after(MATERIALISE_RETRY_SECONDS):
                    await self.tree_wake.wait()
                continue
            if done is not None and (done.kept or done.saved):
                self.wake_phase2(bypass_interval=True)
            await self.tree_wake.wait()

    async def _defer_while_phase1_drains(self) -> None:
        """While this daemon's phase 1 is working through a backlog, let it finish first (at
        most PHASE2_BACKLOG_DEFER_SECONDS): consolidating after every few extractions would
        rewrite the memory folder, and spend a model's tokens, once per batch instead of once
        for the whole backlog. A bypassing wake (``trigger phase2``, ``forget``) does not wait."""
        if self.phase1.running == 0:
            return
        log.info("phase2_deferred", running=self.phase1.running)
        with anyio.move_on_after(PHASE2_BACKLOG_DEFER_SECONDS):
            while self.phase1.running and not self._phase2_bypass:
                with anyio.move_on_after(1):  # a bypassing wake is seen within a second
                    await self.phase1.wait_idle()

    async def _phase2_pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less: a bypassing wake (``forget``) ends the wait at once, a
        phase-1 output once the interval since the last run has passed (at once after a
        ``clear``, which leaves no last run). Every wake is looked at, so a ``forget`` while
        an output waits out the interval is not lost, and the interval is read at each one,
        so a reload that shortens it applies to an output already waiting."""
        end = anyio.current_time() + seconds
        woken = False
        while not self._phase2_bypass:
            left = end - anyio.current_time()
            if woken and self._phase2_had_nothing:
                return  # the first inputs: no interval to wait out (see __init__)
            if woken:
                at = await phase2_store.next_claim_at(
                    self.conn,
                    now_s=clock.now_s(),
                    min_interval_seconds=self.settings.config.phase2.min_interval_seconds,
                )
                left = min(left, at - clock.now_s())
            if left <= 0:
                return
            with anyio.move_on_after(left):
                await self.phase2_wake.wait()
                self.phase2_wake = anyio.Event()
                woken = True

    async def _phase1(self) -> None:
        await self.ready.wait()  # claim only once the first scan has filled `threads`
        await self.phase1.run()

    async def _host_heartbeat(self) -> None:
        """This host's row in ``hosts`` (PostgreSQL: ``status`` lists it, ``doctor`` reads its
        clock), refreshed every HEARTBEAT_SECONDS; nothing is written on SQLite."""
        started_ms = int(self.started_at * 1000)
        while True:
            await hosts.touch_host(self.conn, started_at_ms=started_ms, now_ms=clock.now_ms())
            await anyio.sleep(hosts.HEARTBEAT_SECONDS)

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_seconds
        assert interval is not None
        while True:
            self._notify("WATCHDOG=1")
            await anyio.sleep(interval)

    async def _signals(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as sigs:
                task_status.started()
                async for signum in sigs:
                    if signum == signal.SIGHUP:
                        self.reload()
                    elif not self.stop.is_set():
                        self.request_stop(signum.name)
                    else:
                        # Someone wants us gone now: no grace, no cleanup. SQLite's WAL and
                        # the job leases make this safe; the log line says what happened.
                        log.error("daemon_forced_exit", signal=signum.name, exit_code=EXIT_FAILURE)
                        logging.shutdown()
                        os._exit(EXIT_FAILURE)
        except Exception as e:
            log.error(
                "side_task_failed", task="signals", error=f"{type(e).__name__}: {e}", exc_info=e
            )
            self.request_stop("side_task_failed", EXIT_FAILURE)

    # ---------------------------------------------------------------------------- helpers

    def _notify(self, state: str) -> None:
        try:
            self.notifier.notify(state)
        except OSError as e:
            log.warning("sd_notify_failed", state=state, error=str(e))

    def reload(self) -> None:
        """SIGHUP: read the config again, telling systemd ``RELOADING=1`` … ``READY=1`` (only
        once ready: a reload during the first scan must not announce readiness early)."""
        announce = self.ready.is_set()
        if announce:
            self._notify(reloading_state())
        try:
            self._reload()
        finally:
            if announce:
                self._notify("READY=1")

    def _reload(self) -> None:
        """A bad file keeps the old config. Path changes need a restart (the DB, lock, socket
        and watches are bound to them); everything else that is read at use time takes effect
        now."""
        try:
            new = load_settings(self.config_arg)
        except Exception as e:  # ConfigError names file and key; anything else: same answer
            log.error("config_reload_failed", error=str(e), kept=self.settings.source)
            return
        old = self.settings
        restart = [
            f.name
            for f in fields(Paths)
            if getattr(old.paths, f.name) != getattr(new.paths, f.name)
        ]
        changed = changed_keys(msgspec.to_builtins(old.config), msgspec.to_builtins(new.config))
        self.settings = Settings(config=new.config, source=new.source, paths=old.paths)
        self.indexer.max_line_bytes = new.config.index.max_line_bytes
        self.phase1.cfg = new.config
        self.consolidator.cfg = new.config
        self.phase1.wake()  # its loop applies a new phase1.concurrency to the model slots
        self.phase2_wake.set()  # a new interval or budget applies now, not at the next wake
        if new.config.log != old.config.log:
            configure_logging(new.config.log, old.paths.log_dir)
        log.info("config_reloaded", source=new.source, changed=changed)
        if restart:
            log.warning(
                "config_reload_needs_restart",
                paths=restart,
                message="path changes take effect after a restart",
            )


def _first_leaf(e: BaseException) -> BaseException:
    """The first real exception inside (nested) task-group exception groups."""
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return e


def configure_logging(c: LogConfig, log_dir: Path) -> None:
    logsetup.configure(c.level, log_dir, max_bytes=c.max_bytes, backups=c.backups)
    for name, level in _CHATTY_LOGGERS.items():
        logging.getLogger(name).setLevel(max(level, logging.getLogger().level))


async def _serve(settings: Settings, config_arg: str | None) -> int:
    notifier = Notifier.from_environ()
    paths = settings.paths
    log.info(
        "daemon_started",
        pid=os.getpid(),
        version=__version__,
        config=settings.source,
        state_dir=str(paths.state_dir),
        sessions_dirs=[str(d) for d in paths.sessions_dirs],
        event_loop=_loop_name(),
        sd_notify=notifier.enabled,
    )
    try:
        extractor = make_extractor(settings.config, settings.source)
        agent = make_consolidator(settings.config, settings.source)
        conn = await open_state(settings)
        daemon: Daemon | None = None
        try:
            daemon = Daemon(settings, config_arg, conn, notifier, extractor, agent)
            exit_code = await daemon.run()
        finally:
            with anyio.CancelScope(shield=True):
                await extractor.aclose()
                await agent.aclose()
                await conn.close()
            if daemon is not None:
                daemon.cancel_hard_deadline()
    finally:
        notifier.close()
    log.info("daemon_stopped", exit_code=exit_code)
    return exit_code


def _loop_name() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]  # "uvloop" or "asyncio"


def run_daemon(settings: Settings, config_arg: str | None = None) -> int:
    """Run the daemon in the foreground until it is stopped; return the exit code.

    Raises AlreadyRunning (before touching anything) if another daemon owns the state dir."""
    lock_fd = acquire_lock(settings.paths.state_dir)
    try:
        configure_logging(settings.config.log, settings.paths.log_dir)
        # Checked at every start, before any work: Codex reads memoryd's root through the link
        # and its own writer stays out. A refusal (LinkError) says what to fix.
        try:
            ensure_link(settings.paths.codex_home, settings.paths.memory_root)
        except MemorydError as e:
            log.error("codex_link_refused", error=str(e))
            raise
        options = {"use_uvloop": True} if importlib.util.find_spec("uvloop") else {}
        try:
            return anyio.run(
                _serve, settings, config_arg, backend="asyncio", backend_options=options
            )
        except MemorydError as e:
            log.error("daemon_failed", error=str(e))
            raise
    finally:
        os.close(lock_fd)
