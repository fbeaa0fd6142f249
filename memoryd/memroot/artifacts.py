"""Codex-compatible memory artifacts: ``rollout_summaries/<stem>.md`` and ``raw_memories.md``.

Everything here is a pure function of the stage-1 rows (reference §6.5), so the files can be
regenerated from the state DB at any time, by phase 1 or phase 2, and a re-sync of unchanged
rows touches nothing on disk. The byte layout, the file-name stem and the ordering follow
Codex's ``memories/write/src/storage.rs``; writes are atomic (temporary file in the same
directory, fsync, rename, fsync of the directory), so a crash or a full disk never leaves a
half-written memory file behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from memoryd.errors import MemorydError
from memoryd.redact import redact

ROLLOUT_SUMMARIES_DIR = "rollout_summaries"
RAW_MEMORIES_FILE = "raw_memories.md"
FILE_MODE = 0o600
DIR_MODE = 0o700

ROLLOUT_SLUG_MAX_LEN = 60
_SHORT_HASH_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SHORT_HASH_SPACE = 62**4  # 14,776,336
_STEM_TIME_FORMAT = "%Y-%m-%dT%H-%M-%S"

# The forms Rust's ``Uuid::parse_str`` accepts (Python's ``uuid.UUID`` is laxer: it takes
# hyphens anywhere).
_HEX = "[0-9a-fA-F]"
_UUID_FORMS = re.compile(
    rf"(?:urn:uuid:)?{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
    rf"|\{{{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\}}"
    rf"|{_HEX}{{32}}"
)
# 100-ns ticks between the Gregorian epoch (1582-10-15) and the Unix epoch.
_GREGORIAN_TO_UNIX_TICKS = 0x01B21DD213814000

# Rust's ``str::trim`` removes Unicode White_Space, which is not quite Python's ``isspace``
# (that one also counts U+001C..U+001F).
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class ArtifactError(MemorydError):
    """The memory root cannot hold the artifacts (e.g. a path that must be a directory is not)."""


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    """One selected stage-1 output joined with its thread, as the artifact files need it."""

    thread_id: str
    source_updated_at: int  # seconds since the epoch, UTC
    rollout_path: str
    cwd: str
    git_branch: str | None
    rollout_summary: str
    raw_memory: str
    rollout_slug: str | None = None

    @property
    def stem(self) -> str:
        return rollout_summary_stem(self.thread_id, self.source_updated_at, self.rollout_slug)


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one :func:`sync_artifacts` call did; ``written + unchanged`` = files it manages."""

    written: int
    deleted: int
    unchanged: int


# --------------------------------------------------------------------------------------------
# Rendering


def _parse_uuid(value: str) -> uuid.UUID | None:
    if _UUID_FORMS.fullmatch(value) is None:
        return None
    return uuid.UUID(value)


def _uuid_unix_seconds(u: uuid.UUID) -> int | None:
    """The time embedded in a v1, v6 or v7 UUID, in whole Unix seconds (uuid crate rules:
    the version nibble decides, the variant is not checked)."""
    n = u.int
    version = (n >> 76) & 0xF
    if version == 7:
        return (n >> 80) // 1000
    if version == 1:
        time_low = (n >> 96) & 0xFFFFFFFF
        time_mid = (n >> 80) & 0xFFFF
        time_hi = (n >> 64) & 0x0FFF
        ticks = (time_hi << 48) | (time_mid << 32) | time_low
    elif version == 6:
        time_high = (n >> 96) & 0xFFFFFFFF
        time_mid = (n >> 80) & 0xFFFF
        time_low = (n >> 64) & 0x0FFF
        ticks = (time_high << 28) | (time_mid << 12) | time_low
    else:
        return None
    # The uuid crate saturates times before 1970 to the epoch.
    return max(0, ticks - _GREGORIAN_TO_UNIX_TICKS) // 10_000_000


def _format_stem_time(seconds: int) -> str | None:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime(_STEM_TIME_FORMAT)
    except (OverflowError, OSError, ValueError):
        return None  # beyond year 9999: Python's datetime cannot render it


def _short_hash(seed: int) -> str:
    value = seed % _SHORT_HASH_SPACE
    chars = []
    for _ in range(4):
        chars.append(_SHORT_HASH_ALPHABET[value % 62])
        value //= 62
    return "".join(reversed(chars))


def sanitize_slug(raw_slug: str) -> str:
    """Codex's slug rule: lowercase ASCII alphanumerics, everything else ``_``, at most 60
    characters, trailing ``_`` stripped."""
    out: list[str] = []
    for ch in raw_slug:
        if len(out) >= ROLLOUT_SLUG_MAX_LEN:
            break
        out.append(ch.lower() if ch.isascii() and ch.isalnum() else "_")
    return "".join(out).rstrip("_")


def rollout_summary_stem(thread_id: str, source_updated_at: int, slug: str | None) -> str:
    """The file stem of a thread's rollout summary, exactly as Codex names it:
    ``<UTC time>-<4 base-62 chars>[-<slug>]``. The time is the one embedded in a v1/v6/v7
    UUID thread id, else ``source_updated_at``; the hash is the UUID's low 32 bits, or a
    31-multiplier wrapping hash of a non-UUID id."""
    fallback = _format_stem_time(source_updated_at) or _format_stem_time(0) or ""
    parsed = _parse_uuid(thread_id)
    if parsed is not None:
        seconds = _uuid_unix_seconds(parsed)
        stamp = _format_stem_time(seconds) if seconds is not None else None
        timestamp = stamp or fallback
        seed = parsed.int & 0xFFFFFFFF
    else:
        timestamp = fallback
        seed = 0
        for byte in thread_id.encode("utf-8"):
            seed = (seed * 31 + byte) & 0xFFFFFFFF
    prefix = f"{timestamp}-{_short_hash(seed)}"
    if slug is None:
        return prefix
    clean = sanitize_slug(slug)
    return f"{prefix}-{clean}" if clean else prefix


def rfc3339(seconds: int) -> str:
    """``2026-06-12T10:00:00+00:00``, as chrono's ``to_rfc3339`` writes whole UTC seconds."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _rust_trim(text: str) -> str:
    return text.strip(_WHITE_SPACE)


def render_rollout_summary(row: ArtifactRow) -> str:
    """The body of ``rollout_summaries/<stem>.md``: a header, a blank line, the summary
    verbatim and one newline."""
    lines = [
        f"thread_id: {row.thread_id}",
        f"updated_at: {rfc3339(row.source_updated_at)}",
        f"rollout_path: {row.rollout_path}",
        f"cwd: {row.cwd}",
    ]
    if row.git_branch is not None:
        lines.append(f"git_branch: {row.git_branch}")
    return "\n".join(lines) + "\n\n" + row.rollout_summary + "\n"


def render_raw_memories(rows: Sequence[ArtifactRow]) -> str:
    """The body of ``raw_memories.md``: every row's raw memory, trimmed, under a header that
    points at its summary file, in ascending thread-id order."""
    if not rows:
        return "# Raw Memories\n\nNo raw memories yet.\n"
    parts = [
        "# Raw Memories\n\n",
        "Merged stage-1 raw memories (stable ascending thread-id order):\n\n",
    ]
    for row in sorted(rows, key=lambda r: r.thread_id):
        parts.append(
            f"## Thread `{row.thread_id}`\n"
            f"updated_at: {rfc3339(row.source_updated_at)}\n"
            f"cwd: {row.cwd}\n"
            f"rollout_path: {row.rollout_path}\n"
            f"rollout_summary_file: {row.stem}.md\n"
            "\n"
            f"{_rust_trim(row.raw_memory)}\n\n"
        )
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# Writing


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (its entry, not the file's data)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked_dir(directory: Path) -> Iterator[None]:
    """An exclusive flock on ``directory`` itself, across threads and processes: no lock file
    appears inside it, and the kernel drops the lock if the process dies."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def atomic_write(
    path: Path, data: str | bytes, mode: int = FILE_MODE, *, root: Path | None = None
) -> None:
    """Replace ``path`` with ``data`` so that a reader (or a crash) sees either the old file
    or the complete new one: write a temporary file in the same directory with ``mode``,
    fsync it, rename it over ``path``, fsync the directory. On any error before the rename
    the temporary file is removed and the old file is untouched. With ``root``, refused
    (ArtifactError) when a directory between ``root`` and ``path`` is a symbolic link; a link
    at ``path`` itself is replaced, never followed."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    directory = path.parent
    if root is not None:
        refuse_links(root, directory)
    tmp = write_temp_file(path, payload, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(directory)


def write_all(fd: int, payload: bytes, mode: int) -> None:
    """Set ``mode`` on ``fd``, write all of ``payload`` (short writes included), fsync."""
    os.fchmod(fd, mode)
    view = memoryview(payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.fsync(fd)


def write_temp_file(path: Path, payload: bytes, mode: int) -> Path:
    """A complete, fsynced temporary file beside ``path``, ready to be renamed or linked into
    place; removed again if writing it fails (a killed process leaves it behind: see
    :func:`remove_stale_temp_files`)."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            write_all(fd, payload, mode)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def walk_tree(top: Path | str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(top)`` top-down, never following links, without recursion: Python 3.11's
    ``os.walk`` recurses once per level, so a tree deeper than the recursion limit (a few
    thousand nested folders someone planted in the memory root) raised RecursionError in every
    later run. Pruning ``dirnames`` in place works as with ``os.walk``; an unreadable or
    vanished directory is skipped."""
    stack = [os.fspath(top)]
    while stack:
        directory = stack.pop()
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(directory) as it:
                for entry in it:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError:
            continue
        yield directory, dirs, files
        stack.extend(os.path.join(directory, d) for d in reversed(dirs))


# ``write_temp_file``'s names: "." + the target's name + "." + mkstemp's 8 random characters
# + ".tmp".
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def remove_stale_temp_files(root: Path) -> list[str]:
    """Delete the temporary files of writes that never finished (the writer was killed
    between creating the file and renaming it); return their paths relative to ``root``.

    Only safe while nothing writes into ``root``: phase 2 calls it under the global lock.
    Without it such a file would be committed into the baseline and handed to the agent as
    a user's addition, and stay in the memory folder for good."""
    removed: list[str] = []
    for dirpath, dirnames, filenames in walk_tree(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            if _TEMP_NAME.match(name):
                path = os.path.join(dirpath, name)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed.append(os.path.relpath(path, root))
    return sorted(removed)


def refuse_links(root: Path, path: Path) -> None:
    """ArtifactError when a component of ``path`` below ``root`` (``root`` itself is checked
    where it is prepared) is a symbolic link: nothing memoryd writes under the memory root goes
    through a link a user or a program planted there, wherever it points."""
    here = root
    for part in path.relative_to(root).parts:
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return
        if stat.S_ISLNK(mode):
            raise ArtifactError(
                f"refused to write through the symbolic link {here} inside the memory root; "
                "memoryd never follows links there: replace it with a real directory"
            )


def _ensure_dir(path: Path, root: Path) -> None:
    try:
        make_private_dirs(path, root=root)
    except NotADirectoryError as e:
        raise ArtifactError(str(e)) from None


def make_private_dirs(path: Path, *, root: Path | None = None) -> None:
    """Create ``path`` (and missing parents) private to the user (0700); an existing directory
    keeps its mode. A symlink or a non-directory in the way raises NotADirectoryError: memory
    files are never written through a link out of the memory root. With ``root``, a link at
    any component between ``root`` and ``path`` is refused too (before anything is made)."""
    if root is not None:
        try:
            refuse_links(root, path)
        except ArtifactError as e:
            raise NotADirectoryError(str(e)) from None
    missing: list[Path] = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        else:
            os.chmod(d, DIR_MODE)
    if path.is_symlink() or not path.is_dir():
        raise NotADirectoryError(f"{path} is not a directory")


def read_regular_file(path: Path, limit: int = -1) -> bytes | None:
    """The bytes of ``path`` (at most ``limit`` of them) if it is a regular file (not a
    symlink, FIFO, ...), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit)
    finally:
        os.close(fd)


def _encode(text: str) -> bytes:
    """A file's bytes: redacted once more (SPEC §6: every file memoryd writes; stage-1
    outputs are already redacted, so this only matters if a secret slipped through), and a
    lone surrogate (possible in JSON-escaped model output) must not abort a whole sync."""
    return redact(text).encode("utf-8", "replace")


def _write_if_changed(path: Path, payload: bytes) -> bool:
    if read_regular_file(path) == payload:
        return False
    atomic_write(path, payload)
    return True


def sync_artifacts(root: Path, rows: Sequence[ArtifactRow]) -> SyncResult:
    """Make ``root`` hold exactly the artifacts of ``rows`` (the phase-2 selection): one
    ``rollout_summaries/<stem>.md`` per row, no other ``*.md`` in that folder (other files are
    left alone), and ``raw_memories.md``. Files whose content would not change are not
    rewritten, so an unchanged selection does no writes at all."""
    summaries_dir = root / ROLLOUT_SUMMARIES_DIR
    _ensure_dir(summaries_dir, root)

    seen: set[str] = set()
    selected: list[ArtifactRow] = []
    for row in rows:  # the same thread twice: the first (best-ranked) row wins
        if row.thread_id not in seen:
            seen.add(row.thread_id)
            selected.append(row)

    written = unchanged = deleted = 0
    keep: set[str] = set()
    for row in selected:
        stem = row.stem
        keep.add(stem)
        if _write_if_changed(summaries_dir / f"{stem}.md", _encode(render_rollout_summary(row))):
            written += 1
        else:
            unchanged += 1

    for entry in sorted(os.scandir(summaries_dir), key=lambda e: e.name):
        if not entry.name.endswith(".md") or entry.name[: -len(".md")] in keep:
            continue
        if entry.is_dir(follow_symlinks=False):
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        deleted += 1

    if _write_if_changed(root / RAW_MEMORIES_FILE, _encode(render_raw_memories(selected))):
        written += 1
    else:
        unchanged += 1
    if deleted:
        fsync_dir(summaries_dir)
    return SyncResult(written=written, deleted=deleted, unchanged=unchanged)
