"""The consolidation agent's only tools: list, read, search, write, edit and delete files inside
the memory root (SPEC §5 ``openai`` phase 2, §6).

Every path the model gives is relative to the memory root. A path is refused, with an error
string the model sees, when it is absolute, has a ``..`` component, contains a NUL byte, names
anything under ``.git`` (read or write, in any letter case, at any depth), or resolves — after
following symlinks at every component, the final one included — to a place outside the root or
inside its ``.git``. ``phase2_workspace_diff.md`` can be read but not written, edited or
deleted. Operations act on the resolved location, so a symlink inside the root that points to
another file inside it reads and writes that file, and the resolved path is what is recorded.
``delete_file`` removes a symlink itself, never its target.

Writes are atomic (a temporary file in the same directory, fsync, rename, fsync of the
directory), files are created 0600 and missing directories 0700, and every text written is
passed through memoryd's secret redaction (SPEC §6: every file memoryd writes). So is every
text the tools show the model (read, search, and the file an edit works on): the user's own
edits to memory files may hold secrets. Writing a file with the content it already has
changes nothing and is not recorded.

``written`` and ``deleted`` list the root-relative paths the agent created or changed, and
deleted; ``changes`` counts the operations that changed the tree (the agent loop's progress
signal).

The checks are made when the tool runs. The agent has no way to create a symlink, so only the
user could swap a directory for a link between the check and the write; that race is accepted.
Regex search runs Python's ``re`` on lines of at most ``MAX_SEARCH_LINE_CHARS`` characters with
a pattern of at most ``MAX_PATTERN_CHARS``; a pathological pattern can still be slow.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Final

from memoryd.agent.base import DIFF_FILE
from memoryd.artifacts import atomic_write
from memoryd.redact import REDACTED, redact
from memoryd.workspace import blob_id as git_blob_id

MAX_CONTENT_BYTES: Final = 1024 * 1024  # write_file content, and a file edit_file produces
MAX_EDIT_INPUT_BYTES: Final = 4 * 1024 * 1024  # a file larger than this is not edited
MAX_READ_BYTES: Final = 64 * 1024  # text one read_file call returns
MAX_READABLE_FILE_BYTES: Final = 16 * 1024 * 1024  # read_file pages through files up to this
DEFAULT_READ_LINES: Final = 2000
MAX_LIST_ENTRIES: Final = 1000
MAX_SEARCH_RESULTS: Final = 100
MAX_SEARCH_FILE_BYTES: Final = 4 * 1024 * 1024
MAX_SEARCH_LINE_CHARS: Final = 4000  # a longer line is searched (and shown) only this far
MAX_SHOWN_LINE_CHARS: Final = 300
MAX_PATTERN_CHARS: Final = 500
FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700

_GIT = ".git"


class ToolError(Exception):
    """A refused or failed tool call; the message is what the model is shown."""


def _nullable(kind: str, description: str) -> dict[str, Any]:
    return {"type": [kind, "null"], "description": description}


def _tool(name: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "description": description,
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        },
    }


_PATH_NOTE = "Relative to the memory root, for example `MEMORY.md` or `skills/deploy/SKILL.md`."

# Responses-API function tools (strict: every property is required; optional ones are null).
TOOL_DEFINITIONS: Final[list[dict[str, Any]]] = [
    _tool(
        "list_files",
        "List the files under a directory of the memory folder, recursively, with their sizes. "
        "Paths in the answer are relative to the memory root.",
        {"path": _nullable("string", "Directory to list; null or `.` for the whole folder.")},
    ),
    _tool(
        "read_file",
        "Read a text file of the memory folder. Long files come in pages: the answer ends with "
        "a note giving the offset to continue from.",
        {
            "path": {"type": "string", "description": _PATH_NOTE},
            "offset": _nullable("integer", "First line to return, counting from 1 (null: 1)."),
            "limit": _nullable(
                "integer", f"How many lines to return at most (null: {DEFAULT_READ_LINES})."
            ),
        },
    ),
    _tool(
        "search",
        "Find lines containing a pattern in the files under a path of the memory folder, "
        "ignoring letter case. Answers `path:line: text` lines.",
        {
            "pattern": {"type": "string", "description": "The text (or regex) to look for."},
            "path": _nullable("string", "File or directory to search; null for everything."),
            "regex": _nullable("boolean", "Treat the pattern as a Python regex (null: false)."),
        },
    ),
    _tool(
        "write_file",
        "Create or replace a file of the memory folder with the given content (missing "
        "directories are created). Use it for new files and complete rewrites.",
        {
            "path": {"type": "string", "description": _PATH_NOTE},
            "content": {"type": "string", "description": "The complete new file content."},
        },
    ),
    _tool(
        "edit_file",
        "Replace one exact occurrence of `old` with `new` in a file of the memory folder. "
        "`old` must appear exactly once: copy it from read_file, whitespace included, with "
        "enough surrounding text to be unique.",
        {
            "path": {"type": "string", "description": _PATH_NOTE},
            "old": {"type": "string", "description": "The exact text to replace."},
            "new": {"type": "string", "description": "The replacement text."},
        },
    ),
    _tool(
        "delete_file",
        "Delete one file of the memory folder (not a directory; directories left empty are "
        "removed).",
        {"path": {"type": "string", "description": _PATH_NOTE}},
    ),
]


_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def _lines(text: str) -> list[str]:
    """The lines of ``text`` with their newlines, split at LF only (as grep and editors number
    them; str.splitlines also splits at form feeds and other separators)."""
    return _LINE.findall(text)


def _is_git(part: str) -> bool:
    # .git, and the staging copies the workspace builds beside it during a baseline reset
    folded = part.casefold()
    return folded == _GIT or folded.startswith(_GIT + ".memoryd-")


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class MemoryRootTools:
    """The sandboxed file tools over one memory root (see the module doc)."""

    definitions: Final = TOOL_DEFINITIONS

    def __init__(self, root: Path) -> None:
        resolved = Path(os.path.realpath(root))
        if not resolved.is_dir():
            raise NotADirectoryError(f"memory root {root} is not a directory")
        self.root = resolved
        self._written: dict[str, None] = {}  # insertion-ordered sets
        self._deleted: dict[str, None] = {}
        self._written_ids: dict[str, str] = {}  # path -> blob id of the last write
        self.changes = 0
        self._dispatch: dict[str, Callable[[dict[str, Any]], str]] = {
            "list_files": lambda a: self.list_files(_opt_str(a, "path") or "."),
            "read_file": lambda a: self.read_file(
                _str(a, "path"), offset=_opt_int(a, "offset"), limit=_opt_int(a, "limit")
            ),
            "search": lambda a: self.search(
                _str(a, "pattern"),
                _opt_str(a, "path") or ".",
                regex=bool(_opt_bool(a, "regex")),
            ),
            "write_file": lambda a: self.write_file(_str(a, "path"), _str(a, "content")),
            "edit_file": lambda a: self.edit_file(_str(a, "path"), _str(a, "old"), _str(a, "new")),
            "delete_file": lambda a: self.delete_file(_str(a, "path")),
        }

    @property
    def written(self) -> list[str]:
        """Root-relative paths created or changed (and not deleted afterwards), sorted."""
        return sorted(self._written)

    @property
    def written_ids(self) -> dict[str, str]:
        """Root-relative path -> git blob id of what this tool set last wrote there."""
        return dict(self._written_ids)

    @property
    def deleted(self) -> list[str]:
        """Root-relative paths deleted (and not written again afterwards), sorted."""
        return sorted(self._deleted)

    # -- dispatch -----------------------------------------------------------------------------

    def call(self, name: str, arguments: str) -> str:
        """Run one model tool call; the answer is the tool's result, or ``error: ...`` when it
        was refused or failed (the model sees either)."""
        tool = self._dispatch.get(name)
        if tool is None:
            known = ", ".join(self._dispatch)
            return f"error: there is no tool named {name!r}; the tools are {known}"
        try:
            args = json.loads(arguments) if arguments.strip() else {}
        except ValueError as e:
            return f"error: the arguments are not valid JSON ({e})"
        if not isinstance(args, dict):
            return "error: the arguments must be a JSON object"
        try:
            return tool(args)
        except ToolError as e:
            return f"error: {e}"
        except OSError as e:
            what = e.strerror or type(e).__name__
            return f"error: {name} failed: {what}"

    # -- paths --------------------------------------------------------------------------------

    def _parts(self, path: object, *, allow_root: bool = False) -> list[str]:
        """The components of a model-given path, after the lexical checks."""
        if not isinstance(path, str):
            raise ToolError("the path must be a string")
        if "\0" in path:
            raise ToolError("refused: the path contains a NUL byte")
        if path.startswith(("/", "\\")) or PurePosixPath(path).is_absolute():
            raise ToolError(
                f"refused: {path!r} is an absolute path; give a path relative to the memory root"
            )
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ToolError(f"refused: {path!r} has a '..' component; paths stay inside the root")
        if any(_is_git(p) for p in parts):
            raise ToolError(f"refused: {path!r} is inside .git, which is off limits")
        if not parts and not allow_root:
            raise ToolError("the path is empty; name a file relative to the memory root")
        return parts

    def _check_resolved(self, path: str, resolved: Path) -> str:
        if not _within(resolved, self.root):
            raise ToolError(f"refused: {path!r} resolves outside the memory root (symlink)")
        rel = resolved.relative_to(self.root)
        if any(_is_git(p) for p in rel.parts):
            raise ToolError(f"refused: {path!r} resolves into .git, which is off limits")
        return rel.as_posix() if rel.parts else "."

    def _locate(self, path: object, *, allow_root: bool = False) -> tuple[Path, str]:
        """(resolved absolute path, root-relative path) of a model-given path, symlinks
        followed at every component; ToolError when it is refused."""
        parts = self._parts(path, allow_root=allow_root)
        resolved = Path(os.path.realpath(self.root.joinpath(*parts)))
        return resolved, self._check_resolved(str(path), resolved)

    def _locate_for_write(self, path: object) -> tuple[Path, str]:
        target, rel = self._locate(path)
        if rel == ".":
            raise ToolError("refused: that is the memory root itself, not a file")
        if rel.casefold() == DIFF_FILE.casefold():
            raise ToolError(
                f"refused: {DIFF_FILE} is generated by memoryd for you to read; it cannot be "
                "changed"
            )
        return target, rel

    def _record_write(self, rel: str, payload: bytes) -> None:
        self._written[rel] = None
        self._written_ids[rel] = git_blob_id(payload)
        self._deleted.pop(rel, None)
        self.changes += 1

    # -- tools --------------------------------------------------------------------------------

    def list_files(self, path: str = ".") -> str:
        target, rel = self._locate(path, allow_root=True)
        if not os.path.lexists(target):
            raise ToolError(f"{path!r} does not exist")
        if not target.is_dir():
            return f"{rel}  ({target.stat().st_size} bytes)"
        lines: list[str] = []
        total = 0
        for entry_rel, entry, kind in self._walk(target):
            total += 1
            if len(lines) >= MAX_LIST_ENTRIES:
                continue
            if kind == "dir":
                lines.append(f"{entry_rel}/  (empty directory)")
            elif kind == "link":
                lines.append(f"{entry_rel}  (symlink)")
            else:
                lines.append(f"{entry_rel}  ({entry.stat(follow_symlinks=False).st_size} bytes)")
        if not lines:
            return f"{rel}: no files"
        if total > len(lines):
            lines.append(
                f"[list_files: {len(lines)} of {total} entries shown; list a subdirectory]"
            )
        return "\n".join(lines)

    def _walk(self, top: Path) -> Iterator[tuple[str, Path, str]]:
        """(root-relative path, path, kind) of every file, symlink and empty directory under
        ``top``, sorted, never descending into ``.git`` or through a symlinked directory."""
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not _is_git(d))
            here = Path(dirpath)
            entries: list[tuple[str, Path, str]] = []
            for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
                p = here / name
                kind = "link" if p.is_symlink() else "file"
                entries.append((p.relative_to(self.root).as_posix(), p, kind))
            dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
            if not filenames and not dirnames and here != top:
                entries.append((here.relative_to(self.root).as_posix(), here, "dir"))
            yield from sorted(entries)

    def read_file(self, path: str, offset: int | None = None, limit: int | None = None) -> str:
        target, rel = self._locate(path)
        if not target.exists():
            raise ToolError(f"{rel} does not exist")
        if target.is_dir():
            raise ToolError(f"{rel} is a directory; use list_files")
        if not target.is_file():
            raise ToolError(f"{rel} is not a regular file")
        start = 1 if offset is None else offset
        count = DEFAULT_READ_LINES if limit is None else limit
        if start < 1:
            raise ToolError("offset counts lines from 1")
        if count < 1:
            raise ToolError("limit must be at least 1")
        if target.stat().st_size > MAX_READABLE_FILE_BYTES:
            raise ToolError(f"{rel} is larger than {MAX_READABLE_FILE_BYTES} bytes; use search")
        # Redacted like everything a model is sent: the user's own edits may hold a secret.
        lines = _lines(redact(target.read_bytes().decode("utf-8", errors="replace")))
        if not lines:
            return f"({rel} is empty)"
        if start > len(lines):
            raise ToolError(f"offset {start} is past the end: {rel} has {len(lines)} lines")
        out: list[str] = []
        size = 0
        end = start - 1  # the last line returned
        cut_line = False
        for line in lines[start - 1 : start - 1 + count]:
            n = len(line.encode("utf-8"))
            if size + n > MAX_READ_BYTES:
                if not out:  # one line longer than the cap: return its head
                    out.append(line.encode("utf-8")[:MAX_READ_BYTES].decode("utf-8", "ignore"))
                    end += 1
                    cut_line = True
                break
            out.append(line)
            size += n
            end += 1
        text = "".join(out)
        if end < len(lines) or cut_line:
            note = f"[read_file: lines {start}-{end} of {len(lines)} shown"
            if cut_line:
                note += f"; line {end} was cut at {MAX_READ_BYTES} bytes"
            if end < len(lines):
                note += f"; continue with offset={end + 1}"
            text += ("" if text.endswith("\n") else "\n") + note + "]"
        return text

    def search(self, pattern: str, path: str = ".", *, regex: bool = False) -> str:
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("the pattern is empty")
        if "\0" in pattern:
            raise ToolError("refused: the pattern contains a NUL byte")
        if len(pattern) > MAX_PATTERN_CHARS:
            raise ToolError(f"the pattern is longer than {MAX_PATTERN_CHARS} characters")
        if regex:
            try:
                rx = re.compile(pattern, re.IGNORECASE)
            except re.error as e:
                raise ToolError(f"invalid regex: {e}") from None
            matches: Callable[[str], bool] = lambda line: rx.search(line) is not None  # noqa: E731
        else:
            folded = pattern.casefold()
            matches = lambda line: folded in line.casefold()  # noqa: E731
        target, rel = self._locate(path, allow_root=True)
        if not target.exists():
            raise ToolError(f"{path!r} does not exist")
        if target.is_dir():
            files = [(r, p) for r, p, kind in self._walk(target) if kind != "dir"]
        else:
            files = [(rel, target)]
        hits: list[str] = []
        total = 0
        for file_rel, p in files:
            for lineno, line in self._search_lines(p):
                if matches(line):
                    total += 1
                    if len(hits) < MAX_SEARCH_RESULTS:
                        shown = line[:MAX_SHOWN_LINE_CHARS]
                        if len(line) > MAX_SHOWN_LINE_CHARS:
                            shown += "…"
                        hits.append(f"{file_rel}:{lineno}: {shown}")
        if not hits:
            return f"no matches for {pattern!r} under {rel}"
        if total > len(hits):
            hits.append(
                f"[search: {len(hits)} of {total} matching lines shown; narrow the pattern "
                "or the path]"
            )
        return "\n".join(hits)

    def _search_lines(self, p: Path) -> Iterator[tuple[int, str]]:
        """The numbered lines of one text file, or nothing for a file that is out of bounds
        (a symlink leaving the root or into .git), too big, or binary."""
        resolved = Path(os.path.realpath(p))
        try:
            self._check_resolved(str(p), resolved)
            st = resolved.stat()
        except (ToolError, OSError):
            return
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SEARCH_FILE_BYTES:
            return
        try:
            data = resolved.read_bytes()
        except OSError:
            return
        if b"\0" in data:
            return
        text = redact(data.decode("utf-8", errors="replace"))
        for n, line in enumerate(_lines(text), 1):
            yield n, line.rstrip("\r\n")[:MAX_SEARCH_LINE_CHARS]

    def write_file(self, path: str, content: str) -> str:
        target, rel = self._locate_for_write(path)
        return self._write(target, rel, self._checked_content(content), verb="wrote")

    def edit_file(self, path: str, old: str, new: str) -> str:
        target, rel = self._locate_for_write(path)
        if not isinstance(old, str) or not old:
            raise ToolError("`old` is empty; give the exact text to replace")
        if not isinstance(new, str):
            raise ToolError("`new` must be a string")
        if "\0" in new:
            raise ToolError("refused: `new` contains a NUL byte")
        if old == new:
            raise ToolError("`old` and `new` are the same; nothing to change")
        text = self._read_text_for_edit(target, rel)
        found = text.count(old)
        if found == 0:
            raise ToolError(
                f"`old` was not found in {rel}; read the file and copy the exact text, "
                "whitespace included"
            )
        if found > 1:
            raise ToolError(
                f"`old` occurs {found} times in {rel}; include more surrounding text so it "
                "matches exactly once"
            )
        updated = self._checked_content(text.replace(old, new, 1))
        return self._write(target, rel, updated, verb="edited")

    def delete_file(self, path: str) -> str:
        self._locate_for_write(path)  # a symlink must point inside the root too
        parts = self._parts(path)
        # The entry itself: its parent resolved, the final component as it is (a symlink is
        # removed, not the file it points to).
        parent = Path(os.path.realpath(self.root.joinpath(*parts[:-1])))
        entry = parent / parts[-1]
        entry_rel = self._check_resolved(path, entry)
        if entry_rel.casefold() == DIFF_FILE.casefold():
            raise ToolError(f"refused: {DIFF_FILE} is generated by memoryd; it cannot be deleted")
        if not os.path.lexists(entry):
            raise ToolError(f"{entry_rel} does not exist")
        if entry.is_dir() and not entry.is_symlink():
            raise ToolError(f"{entry_rel} is a directory; delete the files in it one by one")
        entry.unlink()
        self._prune_empty_dirs(entry.parent)
        self._written.pop(entry_rel, None)
        self._written_ids.pop(entry_rel, None)
        self._deleted[entry_rel] = None
        self.changes += 1
        return f"deleted {entry_rel}"

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _checked_content(content: object) -> str:
        if not isinstance(content, str):
            raise ToolError("the content must be a string")
        if "\0" in content:
            raise ToolError("refused: the content contains a NUL byte")
        size = len(content.encode("utf-8", errors="surrogatepass"))
        if size > MAX_CONTENT_BYTES:
            raise ToolError(
                f"the content is {size} bytes; a memory file may hold at most "
                f"{MAX_CONTENT_BYTES} bytes"
            )
        return content

    @staticmethod
    def _read_text_for_edit(target: Path, rel: str) -> str:
        if not target.exists():
            raise ToolError(f"{rel} does not exist; use write_file to create it")
        if not target.is_file():
            raise ToolError(f"{rel} is not a regular file")
        if target.stat().st_size > MAX_EDIT_INPUT_BYTES:
            raise ToolError(f"{rel} is too large to edit; rewrite it with write_file")
        try:  # the text read_file showed: `old` is copied from it (the result is redacted too)
            return redact(target.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            raise ToolError(f"{rel} is not UTF-8 text; rewrite it with write_file") from None

    def _write(self, target: Path, rel: str, content: str, *, verb: str) -> str:
        clean = redact(content)
        payload = clean.encode("utf-8", errors="replace")
        if target.is_dir():
            raise ToolError(f"{rel} is a directory")
        if os.path.lexists(target) and not target.is_file():
            raise ToolError(f"{rel} is not a regular file")
        note = ""
        if clean != content:
            note = f" (secret-looking values were replaced with {REDACTED})"
        if target.is_file() and target.read_bytes() == payload:
            return f"{rel} already has this content; nothing changed{note}"
        self._make_parents(target.parent)
        atomic_write(target, payload, FILE_MODE)
        self._record_write(rel, payload)
        return f"{verb} {rel} ({len(payload)} bytes){note}"

    def _make_parents(self, directory: Path) -> None:
        missing: list[Path] = []
        d = directory
        while not os.path.lexists(d):
            missing.append(d)
            d = d.parent
        if not d.is_dir():
            raise ToolError(f"{d.relative_to(self.root).as_posix()} is a file, not a directory")
        for m in reversed(missing):
            m.mkdir(mode=DIR_MODE)
            os.chmod(m, DIR_MODE)  # whatever the umask

    def _prune_empty_dirs(self, directory: Path) -> None:
        d = directory
        while d != self.root and _within(d, self.root):
            try:
                d.rmdir()
            except OSError:
                return
            d = d.parent


# --- argument access (strict schemas make these checks cheap insurance) ----------------------


def _str(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str):
        raise ToolError(f"argument {key!r} is required and must be a string")
    return value


def _opt_str(args: dict[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is not None and not isinstance(value, str):
        raise ToolError(f"argument {key!r} must be a string or null")
    return value


def _opt_int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ToolError(f"argument {key!r} must be an integer or null")
    return value


def _opt_bool(args: dict[str, Any], key: str) -> bool | None:
    value = args.get(key)
    if value is not None and not isinstance(value, bool):
        raise ToolError(f"argument {key!r} must be true, false or null")
    return value
