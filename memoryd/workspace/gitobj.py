"""The memory root's git objects, read checked and written in packs: the parts of git that
libgit2 (pygit2 1.21 wheels, libgit2 1.9) cannot be trusted with or has no API for.

* Reading: every object is read and checked here (inflated to the end, header, size and
  hash) before libgit2 may parse it, because libgit2 1.9 loops forever on a truncated loose
  object (libgit2 issue #7342) and trusts the size in a loose object's header (#7177).
* Writing: blobs go into one pack written here (pygit2 has no pack-writing API that takes
  objects one by one); libgit2 writes trees, commits and refs.

Used by the baseline (workspace/baseline.py) and the run history (workspace/history.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import zlib
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

from memoryd.errors import MemorydError
from memoryd.fsutil import fsync_dir

MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_LINK = 0o120000
GITLINK = 0o160000


class WorkspaceError(MemorydError):
    """The memory root cannot serve as a git workspace (symlinked root, unreadable file, ...)."""


# --------------------------------------------------------------------------------------------
# Reading objects. libgit2 1.9 loops forever on a truncated loose object (libgit2 issue
# #7342, fixed upstream after the pygit2 1.21 wheels were built) and trusts the size in a
# loose object's header (#7177), so it must never parse a loose object that is damaged: every
# object this module reads goes through _read_object, which reads and checks a loose object
# itself (inflate to the end, header, size, hash) before libgit2 may look at it. Packed
# objects are left to libgit2, which checks a pack's length against its index; their
# content is still hash-checked here.
#
# libgit2's own hash check on reads ("strict hash verification") uses a collision-detecting
# SHA-1 that costs ~5 ms per MB here, several times hashlib's; it is switched off and done
# here with hashlib instead (the same guarantee). The setting is process-wide; memoryd reads
# no other git repository through pygit2.
pygit2.settings.enable_strict_hash_verification(False)
_TYPE_CODES = {b"commit": 1, b"tree": 2, b"blob": 3, b"tag": 4}
_TYPE_NAMES = {v: k for k, v in _TYPE_CODES.items()}


def object_hash(type_code: int, data: bytes) -> str:
    h = hashlib.sha1(
        b"%s %d\x00" % (_TYPE_NAMES.get(type_code, b"?"), len(data)), usedforsecurity=False
    )
    h.update(data)
    return h.hexdigest()


def _read_loose(repo: pygit2.Repository, oid: str) -> tuple[int, bytes] | None:
    """A loose object's type and content, fully checked; None if it is not loose."""
    path = os.path.join(repo.path, "objects", oid[:2], oid[2:])
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WorkspaceError(f"cannot read baseline object {oid}: {exc}") from exc
    inflater = zlib.decompressobj()
    try:
        whole = inflater.decompress(raw)
    except zlib.error as exc:
        raise WorkspaceError(f"baseline object {oid} is corrupt: {exc}") from exc
    header, nul, data = whole.partition(b"\x00")
    type_name, _, size = header.partition(b" ")
    type_code = _TYPE_CODES.get(type_name)
    if (
        not inflater.eof
        or inflater.unused_data
        or not nul
        or type_code is None
        or not size.isdigit()
        or int(size) != len(data)
        or object_hash(type_code, data) != oid
    ):
        raise WorkspaceError(f"baseline object {oid} is corrupt")
    return type_code, data


def read_object(repo: pygit2.Repository, oid: str) -> tuple[int, bytes]:
    """An object's type and content, checked against its id (see above)."""
    loose = _read_loose(repo, oid)
    if loose is not None:
        return loose
    try:
        type_code, data = repo.odb.read(oid)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise WorkspaceError(f"cannot read baseline object {oid}: {exc}") from exc
    data = bytes(data)
    if object_hash(type_code, data) != oid:
        raise WorkspaceError(f"baseline object {oid} is corrupt")
    return type_code, data


def lookup(repo: pygit2.Repository, oid: str) -> pygit2.Object:
    """``repo[oid]``, once the object has been read and checked."""
    read_object(repo, oid)
    return repo[oid]


def head_commit(repo: pygit2.Repository) -> pygit2.Commit:
    target = repo.head.target  # resolving HEAD reads references only, no object
    commit = lookup(repo, str(target))
    if not isinstance(commit, pygit2.Commit):
        raise WorkspaceError(f"HEAD is not a commit: {target}")
    return commit


def read_tree(repo: pygit2.Repository, oid: pygit2.Oid | str) -> pygit2.Tree:
    tree = lookup(repo, str(oid))
    if not isinstance(tree, pygit2.Tree):
        raise WorkspaceError(f"not a tree: {oid}")
    return tree


def verify_tree(repo: pygit2.Repository, tree_id: pygit2.Oid) -> None:
    """Read and check every object under a tree, so a truncated or damaged object is found
    now rather than when a diff needs it."""
    stack = [read_tree(repo, tree_id)]
    while stack:
        t = stack.pop()
        for entry in t:
            mode = entry.filemode
            if mode == FileMode.TREE:
                stack.append(read_tree(repo, entry.id))
            elif mode != GITLINK:
                read_object(repo, str(entry.id))


def tree_entries(repo: pygit2.Repository, tree_id: pygit2.Oid) -> dict[str, tuple[str, int]]:
    """``path -> (blob id, mode)`` of every file under a tree (submodule links skipped)."""
    out: dict[str, tuple[str, int]] = {}
    stack: list[tuple[str, pygit2.Tree]] = [("", read_tree(repo, tree_id))]
    while stack:
        prefix, t = stack.pop()
        for entry in t:
            name = entry.name
            assert name is not None
            mode = int(entry.filemode)
            if mode == FileMode.TREE:
                stack.append((f"{prefix}{name}/", read_tree(repo, entry.id)))
            elif mode != GITLINK:
                out[prefix + name] = (str(entry.id), mode)
    return out


def read_blob(repo: pygit2.Repository, oid: str) -> bytes:
    return read_object(repo, oid)[1]


# Writing objects
#
# A baseline holds one blob per distinct file. Written as loose objects, each is a file of
# its own (libgit2 creates, fills and renames one per blob), which costs about a millisecond
# apiece here; a root of thousands of files would spend seconds on it after every run. So
# the blobs go into one pack file written here (format version 2, undeltified objects, index
# version 2, as documented in git's gitformat-pack(5)); libgit2 writes the few trees, the
# commit and the refs itself. The zlib streams use level 0 (stored blocks): every diff that
# touches a file reads its baseline blob back, inflating a stored stream is a copy while a
# compressed megabyte takes milliseconds, and a memory root is small enough that the disk
# space does not matter.


def _pack_object_header(type_code: int, size: int) -> bytes:
    out = bytearray()
    byte = (type_code << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


class PackWriter:
    """Blobs streamed into ``objects/pack/pack-<sha>.pack`` with its ``.idx``."""

    _BLOB = 3

    def __init__(self, pack_dir: Path) -> None:
        self._dir = pack_dir
        self._tmp = pack_dir / "tmp_pack_memoryd"
        self._f = open(self._tmp, "w+b")
        self._f.write(b"PACK" + struct.pack(">II", 2, 0))  # the count is filled in at the end
        self._offset = 12
        self._objects: dict[bytes, tuple[int, int]] = {}  # raw id -> (offset, crc32)

    def add(self, oid: str, data: bytes, type_code: int = _BLOB, level: int = 0) -> None:
        """``level`` 0 (stored) suits a baseline rebuilt every run; the run history
        (memoryd/workspace/history.py) keeps its packs, so it compresses, and adds trees too."""
        raw = bytes.fromhex(oid)
        if raw in self._objects:
            return
        header = _pack_object_header(type_code, len(data))
        body = zlib.compress(data, level)
        self._f.write(header)
        self._f.write(body)
        self._objects[raw] = (self._offset, zlib.crc32(body, zlib.crc32(header)))
        self._offset += len(header) + len(body)

    def abort(self) -> None:
        self._f.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()

    def finish(self) -> None:
        f = self._f
        if not self._objects:
            self.abort()
            return
        try:
            f.seek(8)
            f.write(struct.pack(">I", len(self._objects)))
            f.flush()
            f.seek(0)
            digest = hashlib.sha1(usedforsecurity=False)
            remaining = self._offset
            while remaining:
                chunk = f.read(min(remaining, 1 << 20))
                if not chunk:
                    raise WorkspaceError("pack file shorter than written")
                digest.update(chunk)
                remaining -= len(chunk)
            checksum = digest.digest()
            f.seek(self._offset)
            f.write(checksum)
            f.flush()
            os.fsync(f.fileno())
        finally:
            f.close()
        name = f"pack-{checksum.hex()}"
        idx_path = self._dir / f"{name}.idx"
        with open(idx_path, "wb") as out:
            out.write(self._index(checksum))
            out.flush()
            os.fsync(out.fileno())
        pack_path = self._dir / f"{name}.pack"
        os.rename(self._tmp, pack_path)
        for p in (pack_path, idx_path):
            os.chmod(p, 0o400)  # read-only, as git leaves its packs, and private
        fsync_dir(self._dir)

    def _index(self, pack_checksum: bytes) -> bytes:
        items = sorted(self._objects.items())
        counts = [0] * 256
        for raw, _ in items:
            counts[raw[0]] += 1
        fanout = []
        total = 0
        for c in counts:
            total += c
            fanout.append(total)
        offsets: list[int] = []
        large: list[int] = []
        for _, (offset, _crc) in items:
            if offset < 0x80000000:
                offsets.append(offset)
            else:
                offsets.append(0x80000000 | len(large))
                large.append(offset)
        n = len(items)
        body = b"".join(
            (
                b"\xfftOc",
                struct.pack(">I", 2),
                struct.pack(">256I", *fanout),
                b"".join(raw for raw, _ in items),
                struct.pack(f">{n}I", *(crc for _, (_off, crc) in items)),
                struct.pack(f">{n}I", *offsets),
                struct.pack(f">{len(large)}Q", *large),
                pack_checksum,
            )
        )
        return body + hashlib.sha1(body, usedforsecurity=False).digest()
