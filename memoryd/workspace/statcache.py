"""The baseline's stat cache: which files a diff need not read again.

Hashing every file of a large root on every diff costs more than git's own status, which
trusts its index when a file's stat data has not changed. libgit2's status does the same with
its index, but it cannot serve here: it reads the root through the repository's rules (a
``.gitignore`` or ``.gitattributes`` filter a user leaves in the memory root would change what
is listed or hashed, where the workspace hashes the raw bytes and ignores nothing: reference
§6.6), and it has no size limit (a file over ``[phase2] max_file_bytes`` must never be read).
So memoryd keeps its own cache, next to the baseline.

The baseline build records, for each file it read, the stat data the file had when it was read
and its blob id, in ``.git/memoryd-stat-cache``; a later walk (workspace/baseline.py) reuses the
id of a file whose lstat is identical (type and permission bits, size, mtime, ctime, inode,
device) and reads only the others. ctime cannot be set from user space, so any later write
changes it, unless the write lands in the same timestamp tick as the one recorded: a file whose
ctime or mtime was within ``RACY_MARGIN_NS`` of the moment it was read is recorded without stat
data ("racy", as git calls it) and is always re-read. The cache says what a file with that stat
data holds, whatever the baseline is; it is also a copy of the baseline's path -> (id, mode)
map, used only when its tree id is the baseline's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from memoryd.fsutil import atomic_write

STAT_CACHE = "memoryd-stat-cache"  # inside .git
VERSION = 1
RACY_MARGIN_NS = 3_000_000_000  # covers coarse timestamps (FAT: 2 s) and clock ticks

StatKey = tuple[int, int, int, int, int, int]  # st_mode, size, mtime_ns, ctime_ns, ino, dev
Known = tuple[StatKey, str, int]  # stat key, blob id, mode


class StatCache(msgspec.Struct, frozen=True, array_like=True):
    """The baseline's files, one list per field (decodes and indexes faster than a list of
    records)."""

    version: int
    tree: str  # the baseline tree these entries describe
    paths: list[str]
    oids: list[str]
    modes: list[int]
    stats: list[StatKey | None]  # None: racy when recorded, or content kept from before a run

    def entries(self) -> dict[str, tuple[str, int]]:
        """``path -> (blob id, mode)``: the baseline tree ``tree`` as the cache recorded it."""
        return dict(zip(self.paths, zip(self.oids, self.modes, strict=True), strict=True))

    def known(self) -> dict[str, Known]:
        """The files recorded with stat data (not racy)."""
        return {
            path: (key, oid, mode)
            for path, oid, mode, key in zip(
                self.paths, self.oids, self.modes, self.stats, strict=True
            )
            if key is not None
        }


_decode = msgspec.msgpack.Decoder(StatCache).decode


def stat_key(st: os.stat_result, read_at_ns: int) -> StatKey | None:
    """What the cache records for a file with stat data ``st`` read at ``read_at_ns`` (the
    file system's clock): None when it is racy."""
    if max(st.st_mtime_ns, st.st_ctime_ns) >= read_at_ns - RACY_MARGIN_NS:
        return None
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def load(git_dir: Path) -> StatCache | None:
    """The stat cache of ``git_dir``, or None if it is missing or unreadable (then every
    file is hashed: slower, never wrong)."""
    try:
        with open(git_dir / STAT_CACHE, "rb") as f:
            cache = _decode(f.read())
    except (OSError, msgspec.DecodeError):
        return None
    n = len(cache.paths)
    if cache.version != VERSION or not (
        len(cache.oids) == len(cache.modes) == len(cache.stats) == n
    ):
        return None
    return cache


def write(
    git_dir: Path,
    tree: str,
    entries: Mapping[str, tuple[str, int]],
    stats: Mapping[str, StatKey],
) -> None:
    """Record the baseline tree ``tree`` (``path -> (blob id, mode)``) and the stat keys of
    the files read to build it (atomically)."""
    paths = sorted(entries)
    cache = StatCache(
        version=VERSION,
        tree=tree,
        paths=paths,
        oids=[entries[p][0] for p in paths],
        modes=[entries[p][1] for p in paths],
        stats=[stats.get(p) for p in paths],
    )
    atomic_write(git_dir / STAT_CACHE, msgspec.msgpack.encode(cache))
