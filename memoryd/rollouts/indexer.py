"""The rollout indexer: one ``threads`` row per rollout file, kept current incrementally.

For every file it remembers size, mtime, inode and the byte offset parsed so far. A re-scan
of an unchanged file reads nothing but its ``stat``; a file that grew is read from the offset
where the last complete line ended (a torn last line is left for the next scan); a file that
shrank or was replaced (new inode, or same size with a different first line) is parsed again
from the start. Files are read and parsed in a worker thread; rows are written in batches.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
import msgspec
import structlog
import zstandard

from memoryd import clock
from memoryd.rollouts.limits import ZstLimits
from memoryd.rollouts.parse import (
    LineParser,
    ThreadMeta,
    created_ms_from_file_name,
    id_from_file_name,
)
from memoryd.rollouts.reconcile import (
    FileInfo,
    FileResult,
    Holder,
    Known,
    ReadAs,
    Scan,
    compressed_source,
    reconcile,
    to_read,
    unchanged,
)
from memoryd.store import threads as threads_store
from memoryd.store.engine import Connection
from memoryd.store.index_plan import VANISHED as VANISHED  # re-exported: tests and callers
from memoryd.store.index_plan import apply_plan
from memoryd.store.jobs import NO_USER_MESSAGE

log = structlog.get_logger("memoryd.indexer")

CHUNK_BYTES = 4 * 1024 * 1024
HEAD_BYTES = 4096
PREFETCH_FILES = 32


def is_rollout_name(name: str) -> bool:
    return name.startswith("rollout-") and (name.endswith(".jsonl") or name.endswith(".jsonl.zst"))


@dataclass
class ScanStats:
    """What one scan did. ``bytes_read`` counts every byte read from rollout files."""

    files_seen: int = 0
    files_unchanged: int = 0
    files_read: int = 0
    bytes_read: int = 0
    rows_written: int = 0
    problems: int = 0
    vanished: int = 0
    seconds: float = 0.0
    problem_paths: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# discovery (sync, runs in a worker thread)


def _stat_file(path: str, archived: bool) -> FileInfo | str:
    """A FileInfo for a regular file, or the reason it cannot be one."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        try:
            os.lstat(path)
        except FileNotFoundError:
            return "vanished before it could be read"
        return "broken symbolic link"
    except OSError as e:
        return f"cannot stat: {e.strerror or e}"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return FileInfo(path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, archived)


def discover(roots: Sequence[tuple[Path, bool]]) -> tuple[list[FileInfo], list[tuple[str, str]]]:
    """Walk each (root, archived) for rollout files. Directory symlinks are followed, but each
    directory is visited once, so a symlink loop cannot trap the walk."""
    files: list[FileInfo] = []
    problems: list[tuple[str, str]] = []
    visited: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for root, archived in roots:
        stack = [str(root)]
        while stack:
            d = stack.pop()
            try:
                st = os.stat(d)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in visited:
                continue
            visited.add(key)
            try:
                with os.scandir(d) as it:
                    entries = list(it)
            except FileNotFoundError:
                continue
            except OSError as e:
                problems.append((d, f"cannot list directory: {e.strerror or e}"))
                continue
            for entry in entries:
                name = entry.name
                if is_rollout_name(name):
                    if entry.path in seen_files:
                        continue
                    seen_files.add(entry.path)
                    info = _stat_file(entry.path, archived)
                    if isinstance(info, str):
                        if not (info.startswith("not a regular") and _is_dir(entry)):
                            problems.append((entry.path, info))
                            continue
                    else:
                        files.append(info)
                        continue
                if _is_dir(entry):
                    stack.append(entry.path)
    return files, problems


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# reading one file (sync)


def _head_hash(head: bytes) -> str | None:
    """sha256 of the first line, or of the first HEAD_BYTES when the line is longer."""
    nl = head.find(b"\n", 0, HEAD_BYTES)
    if nl >= 0:
        return hashlib.sha256(head[: nl + 1]).hexdigest()
    if len(head) >= HEAD_BYTES:
        return hashlib.sha256(head[:HEAD_BYTES]).hexdigest()
    return None  # first line not complete yet


class _Reader:
    """Streams bytes into a LineParser, holding back an incomplete last line."""

    def __init__(self, parser: LineParser, start_offset: int, first_line_no: int) -> None:
        self.parser = parser
        self.offset = start_offset  # byte offset just past the last complete line
        self.line_no = first_line_no
        self.pending = b""
        self.skipping = 0  # > 0: inside an oversized line, this many bytes so far
        self.head = b""
        self.want_head = start_offset == 0

    def feed(self, chunk: bytes) -> None:
        if self.want_head and len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        limit = self.parser.max_line_bytes
        if self.skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                self.skipping += len(chunk)
                return
            self.skipping += nl
            self.parser.feed_oversized(self.line_no, self.skipping)
            self.line_no += 1
            self.offset += self.skipping + 1
            self.skipping = 0
            chunk = chunk[nl + 1 :]
        data = self.pending + chunk if self.pending else chunk
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            self.pending = data
        else:
            self.line_no += self.parser.feed_block(data[: last_nl + 1], self.line_no)
            self.offset += last_nl + 1
            self.pending = data[last_nl + 1 :]
        if len(self.pending) > limit:
            self.skipping = len(self.pending)
            self.pending = b""

    def finish_complete_stream(self) -> None:
        """For a finished stream (zstd): a last line without a newline is still a line."""
        if self.skipping:
            self.parser.feed_oversized(self.line_no, self.skipping)
            self.offset += self.skipping
        elif self.pending:
            self.parser.feed_line(self.pending, self.line_no)
            self.offset += len(self.pending)
        self.pending = b""
        self.skipping = 0


def _prefetch(batch: Sequence[tuple[FileInfo, Known | None]]) -> None:
    """Ask the kernel to start reading the next files while this thread parses the current
    ones, so a cold-cache index overlaps disk reads with parsing instead of taking turns.
    (A reader thread did no better here and slowed the warm case through the GIL.)"""
    if not hasattr(os, "posix_fadvise"):
        return
    for info, known in batch:
        try:
            fd = os.open(info.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            start = known.parsed_offset if known is not None and _resumable(known) else 0
            os.posix_fadvise(fd, start, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def _fresh_meta(path: str) -> ThreadMeta:
    name = os.path.basename(path)
    return ThreadMeta(id=id_from_file_name(name), created_at=created_ms_from_file_name(name))


def _resumable(known: Known | None) -> bool:
    """Whether a re-scan may read on from where the last one stopped: the file was read
    without error (lacking a user message so far is no error in the file)."""
    return known is not None and known.index_error in (None, NO_USER_MESSAGE)


def _usable_error(meta: ThreadMeta, size: int, torn: int, head: bytes = b"") -> str | None:
    """A reason the file gave nothing usable, or None. ``head``: the file's first bytes."""
    if meta.lines_parsed:
        return None
    if size == 0:
        return "empty session file"
    if torn and not meta.lines_skipped:
        if head.lstrip()[:1] not in (b"", b"{"):
            return f"not a rollout: {torn} bytes without a newline that do not start a JSON object"
        return f"first line incomplete ({torn} bytes, no newline yet)"
    if meta.last_skip_reason is None:
        return "empty session file (only blank lines)"
    return f"no usable lines ({meta.lines_skipped} skipped; last: {meta.last_skip_reason})"


class FileReader:
    """Reads one rollout file given what was known about it. Counts bytes read."""

    def __init__(self, max_line_bytes: int, zst: ZstLimits | None = None) -> None:
        self.max_line_bytes = max_line_bytes
        self.zst = zst or ZstLimits()
        self.bytes_read = 0

    def process(self, info: FileInfo, known: Known | None) -> FileResult | None:
        """None when the file is unchanged and nothing was read."""
        zst = info.path.endswith(".zst")
        if unchanged(info, known):
            return None
        if known is not None and _resumable(known):
            replaced = (known.inode, known.dev) != (info.inode, info.dev)
            if not replaced and not zst and info.size >= known.parsed_offset:
                if info.size == known.size:
                    return self._touched_or_rewritten(info, known)
                return self._parse(info, msgspec.structs.replace(known.meta), known)
        return self._parse(info, _fresh_meta(info.path), None)

    def _touched_or_rewritten(self, info: FileInfo, known: Known) -> FileResult:
        try:
            with open(info.path, "rb") as f:
                head = f.read(HEAD_BYTES)
        except OSError as e:
            return self._error_result(info, _fresh_meta(info.path), e)
        self.bytes_read += len(head)
        if _head_hash(head) == known.first_line_sha256:
            return FileResult(
                info,
                "touched",
                meta=known.meta,
                parsed_offset=known.parsed_offset,
                first_line_sha256=known.first_line_sha256,
            )
        return self._parse(info, _fresh_meta(info.path), None)

    def _error_result(self, info: FileInfo, meta: ThreadMeta, e: OSError) -> FileResult:
        if isinstance(e, FileNotFoundError):
            return FileResult(info, "problem", problem="vanished before it could be read")
        reason = f"cannot read: {e.strerror or e}"
        if meta.id is None:
            return FileResult(info, "problem", problem=reason)
        return FileResult(info, "parsed", meta=meta, index_error=reason)

    def _parse(self, info: FileInfo, meta: ThreadMeta, known: Known | None) -> FileResult:
        start = known.parsed_offset if known is not None else 0
        parser = LineParser(meta, self.max_line_bytes)
        reader = _Reader(parser, start, meta.lines_parsed + meta.lines_skipped + 1)
        index_error: str | None = None
        try:
            with open(info.path, "rb") as f:
                if info.path.endswith(".zst"):
                    index_error = self._read_zst(f, reader)
                else:
                    f.seek(start)
                    remaining = info.size - start
                    while remaining > 0:
                        chunk = f.read(min(CHUNK_BYTES, remaining))
                        if not chunk:
                            break
                        self.bytes_read += len(chunk)
                        remaining -= len(chunk)
                        reader.feed(chunk)
        except OSError as e:
            return self._error_result(info, meta, e)
        torn = len(reader.pending) + reader.skipping
        if index_error is None:
            index_error = _usable_error(meta, info.size, torn, reader.head)
        first_hash = known.first_line_sha256 if known is not None else _head_hash(reader.head)
        if meta.id is None:
            no_id = "no thread id: no session_meta id and no UUID in the file name"
            return FileResult(info, "problem", problem=index_error or no_id)
        complete_zst = info.path.endswith(".zst") and index_error is None
        offset = info.size if complete_zst else reader.offset
        if index_error is None and not meta.preview:
            # Phase 1 skips a thread without a preview: store why, instead of leaving it
            # silently ineligible. The file is still read on from here when it grows.
            index_error = NO_USER_MESSAGE
        return FileResult(
            info,
            "parsed",
            meta=meta,
            parsed_offset=offset,
            first_line_sha256=first_hash,
            index_error=index_error,
            cited=parser.cited,
            content_bytes=reader.offset if complete_zst else None,
        )

    def _read_zst(self, f: BinaryIO, reader: _Reader) -> str | None:
        dctx = zstandard.ZstdDecompressor()
        produced = 0
        try:
            with dctx.stream_reader(f, read_across_frames=True, closefd=False) as zr:
                while True:
                    chunk = zr.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    produced += len(chunk)
                    if (too_much := self.zst.error(produced, f.tell())) is not None:
                        return too_much
                    reader.feed(chunk)
        except zstandard.ZstdError as e:
            return f"cannot decompress zstd rollout: {e}"
        finally:
            self.bytes_read += f.tell()
        truncated, n = _zst_truncated(f)
        self.bytes_read += n
        if truncated:  # the streaming decoder stops quietly at the end of the input
            return "cannot decompress zstd rollout: the file ends inside a zstd frame (truncated)"
        reader.finish_complete_stream()
        return None


def _zst_truncated(f: BinaryIO) -> tuple[bool, int]:
    """Whether a zstd file ends inside a frame, found by walking the frame and block headers
    and seeking over block contents; and how many bytes that read."""
    size = os.fstat(f.fileno()).st_size
    pos = read = 0
    while pos < size:
        f.seek(pos)
        head = f.read(18)  # the longest frame header
        read += len(head)
        if len(head) >= 8 and int.from_bytes(head[:4], "little") & 0xFFFFFFF0 == 0x184D2A50:
            pos += 8 + int.from_bytes(head[4:8], "little")  # a skippable frame
            continue
        try:
            pos += zstandard.frame_header_size(head)
            checksum = zstandard.get_frame_parameters(head).has_checksum
        except zstandard.ZstdError:
            return True, read
        last = False
        while not last:
            f.seek(pos)
            block = f.read(3)
            read += len(block)
            if len(block) < 3:
                return True, read
            v = int.from_bytes(block, "little")
            last = bool(v & 1)
            pos += 3 + (1 if (v >> 1) & 3 == 1 else v >> 3)  # an RLE block holds one byte
        pos += 4 if checksum else 0
    return pos > size, read


# --------------------------------------------------------------------------------------------
# the indexer (async: DB access through aiosqlite, file work in a thread)


def _int(value: object) -> int:
    """An integer column of a stored row (both engines return Python ints)."""
    if not isinstance(value, int):
        raise TypeError(f"expected an integer column, got {type(value).__name__}")
    return value


def _known_from_row(row: Sequence[object]) -> Known:
    (
        tid,
        path,
        source,
        thread_source,
        cwd,
        git_branch,
        git_sha,
        git_origin_url,
        cli_version,
        model_provider,
        created_at,
        _updated_at,
        preview,
        archived,
        mm_start,
        mm,
        size,
        mtime_ns,
        inode,
        dev,
        offset,
        head,
        lines_parsed,
        lines_skipped,
        last_skip,
        has_meta,
        index_error,
        _indexed_at,
    ) = row
    meta = ThreadMeta(
        id=str(tid),
        has_session_meta=bool(has_meta),
        source=str(source),
        thread_source=thread_source if isinstance(thread_source, str) else None,
        cwd=str(cwd),
        git_branch=git_branch if isinstance(git_branch, str) else None,
        git_sha=git_sha if isinstance(git_sha, str) else None,
        git_origin_url=git_origin_url if isinstance(git_origin_url, str) else None,
        cli_version=str(cli_version),
        model_provider=model_provider if isinstance(model_provider, str) else None,
        created_at=int(created_at) if isinstance(created_at, int) else None,
        preview=str(preview),
        memory_mode_at_start=mm_start if isinstance(mm_start, str) else None,
        memory_mode="enabled" if mm == "polluted" else str(mm),
        lines_parsed=_int(lines_parsed),
        lines_skipped=_int(lines_skipped),
        last_skip_reason=last_skip if isinstance(last_skip, str) else None,
    )
    return Known(
        id=str(tid),
        path=str(path),
        size=_int(size),
        mtime_ns=_int(mtime_ns),
        inode=_int(inode),
        dev=_int(dev),
        parsed_offset=_int(offset),
        first_line_sha256=head if isinstance(head, str) else None,
        index_error=index_error if isinstance(index_error, str) else None,
        archived=bool(archived),
        meta=meta,
    )


class Indexer:
    """Keeps ``threads`` in step with the rollout files under the configured directories."""

    def __init__(
        self,
        conn: Connection,
        sessions_dirs: Sequence[Path],
        archived_dir: Path | None,
        max_line_bytes: int = 16 * 1024 * 1024,
        zst: ZstLimits | None = None,
    ) -> None:
        self.conn = conn
        # Absolute and normalised, as index_paths() spells paths: one file, one rollout_path.
        self.roots: list[tuple[Path, bool]] = [
            (Path(os.path.abspath(d)), False) for d in sessions_dirs
        ]
        if archived_dir is not None:
            self.roots.append((Path(os.path.abspath(archived_dir)), True))
        self.max_line_bytes = max_line_bytes
        self.zst = zst or ZstLimits()
        self._lock = anyio.Lock()
        # Called after a scan that added, changed or lost rows (the daemon wakes phase 1).
        self.on_change: Callable[[], None] | None = None

    def watched_dirs(self) -> list[Path]:
        return [root for root, _ in self.roots]

    def _archived_for(self, path: str) -> bool:
        p = os.path.abspath(path)
        for root, archived in self.roots:
            r = os.path.abspath(root)
            if p == r or p.startswith(r.rstrip(os.sep) + os.sep):
                return archived
        return False

    async def scan_all(self) -> ScanStats:
        """Walk every root, index new and changed files, flag files that disappeared."""
        async with self._lock:
            t0 = clock.perf()
            known = await self._load_known(None)
            files, problems = await anyio.to_thread.run_sync(discover, self.roots)
            stats = await self._index(files, problems, known, full=True)
            stats.seconds = clock.perf() - t0
            return stats

    async def index_paths(self, paths: Iterable[str | os.PathLike[str]]) -> ScanStats:
        """Index just these files (from file-system events); non-rollout paths are ignored."""
        # abspath does no I/O beyond getcwd(): fine on the event loop.
        wanted = sorted(
            {os.path.abspath(p) for p in paths if is_rollout_name(os.path.basename(p))}  # noqa: ASYNC240
        )
        if not wanted:
            return ScanStats()
        async with self._lock:
            t0 = clock.perf()
            known = await self._load_known(wanted)

            def stat_all() -> tuple[list[FileInfo], list[tuple[str, str]], list[str]]:
                files, problems, gone = [], [], []
                for p in wanted:
                    info = _stat_file(p, self._archived_for(p))
                    if isinstance(info, FileInfo):
                        files.append(info)
                    elif info == "not a regular file" and os.path.isdir(p):
                        continue
                    elif info.startswith("vanished"):
                        gone.append(p)
                    else:
                        problems.append((p, info))
                return files, problems, gone

            files, problems, gone = await anyio.to_thread.run_sync(stat_all)
            stats = await self._index(files, problems, known, full=False, gone=gone)
            stats.seconds = clock.perf() - t0
            return stats

    async def _load_known(self, paths: list[str] | None) -> dict[str, Known]:
        out: dict[str, Known] = {}
        for row in await threads_store.thread_rows(self.conn, paths):
            k = _known_from_row(row)
            out[k.path] = k
        return out

    async def _index(
        self,
        files: list[FileInfo],
        problems: list[tuple[str, str]],
        known: dict[str, Known],
        *,
        full: bool,
        gone: Sequence[str] = (),
    ) -> ScanStats:
        """Read what changed, reconcile (rollouts/reconcile.py), apply the plan at once."""
        stats = ScanStats(files_seen=len(files))
        reader = FileReader(self.max_line_bytes, self.zst)

        def work() -> list[FileResult]:
            out = []
            todo = to_read(files, known)
            for n, (info, k) in enumerate(todo):
                if n % PREFETCH_FILES == 0:
                    _prefetch(todo[n + PREFETCH_FILES : n + 2 * PREFETCH_FILES])
                try:
                    r = reader.process(info, k)
                except Exception as e:  # one bad file gets a stored reason, never more
                    log.error("index_file_failed", path=info.path, error=repr(e), exc_info=e)
                    r = FileResult(info, "problem", problem=f"internal error: {e!r}")
                if r is not None:
                    out.append(r)
            return out

        results = await anyio.to_thread.run_sync(work)
        stats.bytes_read = reader.bytes_read
        stats.files_read = len(results)
        stats.files_unchanged = len(files) - len(results)

        # The rows already holding the thread ids read, whether their files still exist, and
        # what the rows of possibly compressed-away originals recorded.
        parsed = [r for r in results if r.kind != "problem" and r.meta is not None]
        holders = {
            tid: Holder(path, archived, mtime)
            for tid, (path, archived, mtime) in (
                await threads_store.holders(
                    self.conn, [r.meta.id for r in parsed if r.meta and r.meta.id is not None]
                )
            ).items()
        }
        others = {h.path for h in holders.values()}
        present = await anyio.to_thread.run_sync(
            lambda: frozenset(p for p in others if os.path.exists(p))
        )
        read_as: dict[tuple[str, str], ReadAs] = {}
        for r in parsed:
            old = compressed_source(r.info.path)
            if old is None or r.content_bytes is None or r.meta is None or r.meta.id is None:
                continue
            row = await threads_store.read_as(self.conn, r.meta.id, old)
            if row is not None:
                read_as[(r.meta.id, old)] = ReadAs(int(row[0]), row[1], int(row[2]))

        plan = reconcile(
            Scan(
                now_ms=clock.now_ms(),
                full=full,
                files=files,
                known=known,
                results=results,
                problems=problems,
                gone=gone,
                holders=holders,
                present=present,
                read_as=read_as,
            )
        )
        if plan.renamed:
            log.info("index_compressed_renames", files=len(plan.renamed))
        stats.problems = len(plan.problems)
        stats.problem_paths = [p.path for p in plan.problems]
        stats.rows_written = plan.rows_written
        stats.vanished = await apply_plan(self.conn, plan)

        if self.on_change is not None and plan.changes_threads:
            self.on_change()
        if results or plan.vanished or plan.problems:
            log.info(
                "index_scan",
                full=full,
                files_seen=stats.files_seen,
                files_read=stats.files_read,
                bytes_read=stats.bytes_read,
                rows_written=stats.rows_written,
                problems=stats.problems,
                vanished=stats.vanished,
            )
        return stats
