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

Writes are bounded (``WriteLimits``, the ``[phase2] agent_*`` keys): a file's size, its path's
depth and length; and per run, the bytes written and the files created. No write or edit goes
through a symbolic link at any component of its path, even one pointing inside the root (reads
may); ``delete_file`` removes a link itself.

The checks are made when the tool runs. The agent has no way to create a symlink, so only the
user could swap a directory for a link between the check and the write; that race is accepted.
A regex search runs in a child process with a deadline (``search_seconds``) and is killed past
it or when the run is cancelled (memoryd/consolidate/search.py): a backtracking pattern costs
seconds, never the daemon.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, ClassVar, Final, assert_never

import msgspec
from msgspec import Meta

from memoryd.config import Phase2Config
from memoryd.consolidate.search import RegexSearch, SearchTimeout, grep, split_lines
from memoryd.fsutil import atomic_write, walk_tree
from memoryd.layout import DIFF_FILE
from memoryd.redact import REDACTED, redact
from memoryd.workspace.baseline import blob_id as git_blob_id

_P2 = Phase2Config()
MAX_CONTENT_BYTES: Final = _P2.agent_max_file_bytes  # the default per-file write bound
MAX_EDIT_INPUT_BYTES: Final = 4 * 1024 * 1024  # a file larger than this is not edited
MAX_READ_BYTES: Final = 64 * 1024  # text one read_file call returns
MAX_READABLE_FILE_BYTES: Final = 16 * 1024 * 1024  # read_file pages through files up to this
DEFAULT_READ_LINES: Final = 2000
MAX_LIST_ENTRIES: Final = 1000
MAX_SEARCH_RESULTS: Final = 100
MAX_SHOWN_LINE_CHARS: Final = 300
MAX_PATTERN_CHARS: Final = 500
FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700

_GIT = ".git"


class ToolError(Exception):
    """A refused or failed tool call; the message is what the model is shown."""


@dataclass(frozen=True)
class WriteLimits:
    """What the agent may write (the ``[phase2] agent_*`` keys). A write past a per-file bound
    (``file_bytes``, ``path_depth``, ``path_chars``) is refused; one past a per-run bound
    (``bytes_written``, ``files_created``) is refused and sets ``limit_hit``, which stops the
    run (reason ``write_limit``)."""

    file_bytes: int = _P2.agent_max_file_bytes
    bytes_written: int = _P2.agent_max_bytes_written
    files_created: int = _P2.agent_max_files_created
    path_depth: int = _P2.agent_max_path_depth
    path_chars: int = _P2.agent_max_path_chars

    @classmethod
    def from_config(cls, p: Phase2Config) -> WriteLimits:
        return cls(
            file_bytes=p.agent_max_file_bytes,
            bytes_written=p.agent_max_bytes_written,
            files_created=p.agent_max_files_created,
            path_depth=p.agent_max_path_depth,
            path_chars=p.agent_max_path_chars,
        )


# --- the tools' arguments: one struct each; the schema the model is sent and the decoding
# of what it calls with both come from these (msgspec). Optional arguments are nullable and
# may be left out (a lax server omits nulls); unknown keys are ignored.

_PATH_NOTE = "Relative to the memory root, for example `MEMORY.md` or `skills/deploy/SKILL.md`."
_Path = Annotated[str, Meta(description=_PATH_NOTE)]


class ListFilesArgs(msgspec.Struct, frozen=True):
    name: ClassVar[str] = "list_files"
    description: ClassVar[str] = (
        "List the files under a directory of the memory folder, recursively, with their sizes. "
        "Paths in the answer are relative to the memory root."
    )
    path: Annotated[
        str | None, Meta(description="Directory to list; null or `.` for the whole folder.")
    ] = None


class ReadFileArgs(msgspec.Struct, frozen=True):
    name: ClassVar[str] = "read_file"
    description: ClassVar[str] = (
        "Read a text file of the memory folder. Long files come in pages: the answer ends with "
        "a note giving the offset to continue from."
    )
    path: _Path
    offset: Annotated[
        int | None, Meta(description="First line to return, counting from 1 (null: 1).")
    ] = None
    limit: Annotated[
        int | None,
        Meta(description=f"How many lines to return at most (null: {DEFAULT_READ_LINES})."),
    ] = None


class SearchArgs(msgspec.Struct, frozen=True):
    name: ClassVar[str] = "search"
    description: ClassVar[str] = (
        "Find lines containing a pattern in the files under a path of the memory folder, "
        "ignoring letter case. Answers `path:line: text` lines."
    )
    pattern: Annotated[str, Meta(description="The text (or regex) to look for.")]
    path: Annotated[
        str | None, Meta(description="File or directory to search; null for everything.")
    ] = None
    regex: Annotated[
        bool | None, Meta(description="Treat the pattern as a Python regex (null: false).")
    ] = None


class WriteFileArgs(msgspec.Struct, frozen=True):
    name: ClassVar[str] = "write_file"
    description: ClassVar[str] = (
        "Create or replace a file of the memory folder with the given content (missing "
        "directories are created). Use it for new files and complete rewrites."
    )
    path: _Path
    content: Annotated[str, Meta(description="The complete new file content.")]


class EditFileArgs(msgspec.Struct, frozen=True):
    name: ClassVar[str] = "edit_file"
    description: ClassVar[str] = (
        "Replace one exact occurrence of `old` with `new` in a file of the memory folder. "
        "`old` must appear exactly once: copy it from read_file, whitespace included, with "
        "enough surrounding text to be unique."
    )
    path: _Path
    old: Annotated[str, Meta(description="The exact text to replace.")]
    new: Annotated[str, Meta(description="The replacement text.")]


class DeleteFileArgs(msgspec.Struct, frozen=True):
    name: ClassVar[str] = "delete_file"
    description: ClassVar[str] = (
        "Delete one file of the memory folder (not a directory; directories left empty are "
        "removed)."
    )
    path: _Path


ToolArgs = ListFilesArgs | ReadFileArgs | SearchArgs | WriteFileArgs | EditFileArgs | DeleteFileArgs
TOOL_ARGS: Final[dict[str, type[ToolArgs]]] = {
    t.name: t
    for t in (ListFilesArgs, ReadFileArgs, SearchArgs, WriteFileArgs, EditFileArgs, DeleteFileArgs)
}


def _strict_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """msgspec's schema of an arguments struct in the strict function-tool form (Responses and
    Chat Completions): every property required, an optional one nullable (``"type": [kind,
    "null"]``, no default), no other property allowed, no title."""
    properties: dict[str, Any] = {}
    for key, prop in schema["properties"].items():
        kinds = [alt["type"] for alt in prop["anyOf"]] if "anyOf" in prop else prop["type"]
        properties[key] = {"type": kinds, "description": prop["description"]}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _definitions() -> list[dict[str, Any]]:
    refs, components = msgspec.json.schema_components(TOOL_ARGS.values())
    out = []
    for ref, args in zip(refs, TOOL_ARGS.values(), strict=True):
        schema = components[ref["$ref"].rsplit("/", 1)[-1]]
        out.append(
            {
                "type": "function",
                "name": args.name,
                "description": args.description,
                "strict": True,
                "parameters": _strict_parameters(schema),
            }
        )
    return out


# Responses-API function tools (strict: every property is required; optional ones are null).
TOOL_DEFINITIONS: Final[list[dict[str, Any]]] = _definitions()
_PARAMETERS: Final = {t["name"]: t["parameters"] for t in TOOL_DEFINITIONS}

_KINDS: Final = {"string": "a string", "integer": "an integer", "boolean": "true or false"}
_MISSING = re.compile(r"missing required field `([^`]+)`")
_AT_KEY = re.compile(r" - at `\$\.([^`.\[]+)`$")


def _arguments_error(name: str, e: msgspec.ValidationError) -> str:
    """What the model is told about arguments that do not fit the tool's schema, in the
    schema's words: which argument, and what it must be."""
    message = str(e)
    found = _MISSING.search(message) or _AT_KEY.search(message)
    prop = _PARAMETERS[name]["properties"].get(found[1]) if found else None
    if found is None or prop is None:
        if message.startswith("Expected `object`"):
            return "the arguments must be a JSON object"
        return f"the arguments do not fit {name}: {message}"
    kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    if "null" in kinds:
        kind = " or ".join(_KINDS[k] for k in kinds if k != "null")
        kind = kind.replace("true or false", "true, false") + " or null"
        return f"argument {found[1]!r} must be {kind}"
    return f"argument {found[1]!r} is required and must be {_KINDS[kinds[0]]}"


def _is_git(part: str) -> bool:
    # .git, and the staging copies the workspace builds beside it during a baseline reset
    folded = part.casefold()
    return folded == _GIT or folded.startswith(_GIT + ".memoryd-")


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class MemoryRootTools:
    """The sandboxed file tools over one memory root (see the module doc)."""

    definitions: Final = TOOL_DEFINITIONS

    def __init__(
        self,
        root: Path,
        limits: WriteLimits | None = None,
        *,
        search_seconds: float = _P2.search_regex_seconds,
    ) -> None:
        resolved = Path(os.path.realpath(root))
        if not resolved.is_dir():
            raise NotADirectoryError(f"memory root {root} is not a directory")
        self.root = resolved
        self.limits = limits or WriteLimits()
        self.bytes_written = 0
        self.files_created = 0
        self.limit_hit: str | None = None  # why a per-run write bound stopped the run
        self.search_seconds = search_seconds
        self._regex = RegexSearch()
        self._written: dict[str, None] = {}  # insertion-ordered sets
        self._deleted: dict[str, None] = {}
        self._written_ids: dict[str, str] = {}  # path -> blob id of the last write
        self.changes = 0

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
        args_type = TOOL_ARGS.get(name)
        if args_type is None:
            known = ", ".join(TOOL_ARGS)
            return f"error: there is no tool named {name!r}; the tools are {known}"
        try:
            args = msgspec.json.decode(arguments.strip() or "{}", type=args_type)
        except msgspec.ValidationError as e:
            return f"error: {_arguments_error(name, e)}"
        except msgspec.DecodeError as e:
            return f"error: the arguments are not valid JSON ({e})"
        try:
            return self._run(args)
        except ToolError as e:
            return f"error: {e}"
        except OSError as e:
            what = e.strerror or type(e).__name__
            return f"error: {name} failed: {what}"

    def _run(self, args: ToolArgs) -> str:
        match args:
            case ListFilesArgs():
                return self.list_files(args.path or ".")
            case ReadFileArgs():
                return self.read_file(args.path, offset=args.offset, limit=args.limit)
            case SearchArgs():
                return self.search(args.pattern, args.path or ".", regex=bool(args.regex))
            case WriteFileArgs():
                return self.write_file(args.path, args.content)
            case EditFileArgs():
                return self.edit_file(args.path, args.old, args.new)
            case DeleteFileArgs():
                return self.delete_file(args.path)
        assert_never(args)

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

    def _locate_for_write(self, path: object, *, deleting: bool = False) -> tuple[Path, str]:
        """Like ``_locate``, and refused unless the path names no symbolic link at any
        component (when ``deleting``, but the last: a link is removed itself) and a new file
        stays within the path bounds."""
        _resolved, rel = self._locate(path)
        if rel == ".":
            raise ToolError("refused: that is the memory root itself, not a file")
        if rel.casefold() == DIFF_FILE.casefold():
            raise ToolError(
                f"refused: {DIFF_FILE} is generated by memoryd for you to read; it cannot be "
                "changed"
            )
        parts = self._parts(path)
        self._check_no_links(str(path), parts[:-1] if deleting else parts)
        if deleting:
            return self.root.joinpath(*parts), rel
        limits = self.limits
        if len(parts) > limits.path_depth:
            raise ToolError(
                f"refused: {path!r} is {len(parts)} levels deep; memory files stay within "
                f"{limits.path_depth} levels of the root"
            )
        joined = "/".join(parts)
        if len(joined) > limits.path_chars:
            raise ToolError(
                f"refused: the path is {len(joined)} characters long; at most "
                f"{limits.path_chars} are allowed"
            )
        return self.root.joinpath(*parts), rel

    def _check_no_links(self, path: str, parts: list[str]) -> None:
        """Refuse a path that goes through a symbolic link (a planted link must never be
        written through, even to a place inside the root)."""
        here = self.root
        for part in parts:
            here = here / part
            try:
                mode = os.lstat(here).st_mode
            except (FileNotFoundError, NotADirectoryError):
                return  # nothing below a missing component (or a file) exists either
            if stat.S_ISLNK(mode):
                rel = here.relative_to(self.root).as_posix()
                raise ToolError(
                    f"refused: {path!r} goes through the symbolic link {rel!r}; memory files "
                    "are never written through links"
                )

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
        for dirpath, dirnames, filenames in walk_tree(top):
            dirnames[:] = sorted(d for d in dirnames if not _is_git(d))
            here = Path(dirpath)
            entries: list[tuple[str, Path, str]] = []
            for name in filenames:  # a symlinked directory is listed here, not entered
                p = here / name
                kind = "link" if p.is_symlink() else "file"
                entries.append((p.relative_to(self.root).as_posix(), p, kind))
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
        lines = split_lines(redact(target.read_bytes().decode("utf-8", errors="replace")))
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
                re.compile(pattern, re.IGNORECASE)
            except re.error as e:
                raise ToolError(f"invalid regex: {e}") from None
        target, rel = self._locate(path, allow_root=True)
        if not target.exists():
            raise ToolError(f"{path!r} does not exist")
        if target.is_dir():
            found = [(r, p) for r, p, kind in self._walk(target) if kind != "dir"]
        else:
            found = [(rel, target)]
        files = [(r, str(p)) for r, p in ((r, self._searchable(p)) for r, p in found) if p]
        if regex:
            try:
                hits, total = self._regex.run(
                    pattern, files, MAX_SEARCH_RESULTS, self.search_seconds
                )
            except SearchTimeout as e:
                raise ToolError(
                    f"the regex search was stopped: {e}; simplify the pattern (nested "
                    "repetition backtracks) or search for plain text"
                ) from None
        else:
            folded = pattern.casefold()
            hits, total = grep(files, lambda line: folded in line.casefold(), MAX_SEARCH_RESULTS)
        if not hits:
            return f"no matches for {pattern!r} under {rel}"
        shown: list[str] = []
        for file_rel, lineno, line in hits:
            text = line[:MAX_SHOWN_LINE_CHARS]
            if len(line) > MAX_SHOWN_LINE_CHARS:
                text += "…"
            shown.append(f"{file_rel}:{lineno}: {text}")
        if total > len(hits):
            shown.append(
                f"[search: {len(hits)} of {total} matching lines shown; narrow the pattern "
                "or the path]"
            )
        return "\n".join(shown)

    def _searchable(self, p: Path) -> Path | None:
        """Where a file found under the searched path really is, or None when that is out of
        bounds (a symlink leaving the root or into .git)."""
        resolved = Path(os.path.realpath(p))
        try:
            self._check_resolved(str(p), resolved)
        except ToolError:
            return None
        return resolved

    def abort(self) -> None:
        """Stop a regex search in progress (the run is being cancelled)."""
        self._regex.abort()

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
        # A symlink must point inside the root too; its parents must be real directories.
        self._locate_for_write(path, deleting=True)
        parts = self._parts(path)
        # The entry itself, the final component as it is (a symlink is removed, not the file
        # it points to).
        entry = self.root.joinpath(*parts)
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

    def _checked_content(self, content: object) -> str:
        if not isinstance(content, str):
            raise ToolError("the content must be a string")
        if "\0" in content:
            raise ToolError("refused: the content contains a NUL byte")
        size = len(content.encode("utf-8", errors="surrogatepass"))
        if size > self.limits.file_bytes:
            raise ToolError(
                f"the content is {size} bytes; a memory file may hold at most "
                f"{self.limits.file_bytes} bytes"
            )
        return content

    def _check_run_bounds(self, target: Path, size: int) -> None:
        """Refuse a write past this run's bounds, and mark the run stopped (``limit_hit``)."""
        limits = self.limits
        problem = None
        if not os.path.lexists(target) and self.files_created >= limits.files_created:
            problem = f"this run already created {self.files_created} files, the most it may"
        elif self.bytes_written + size > limits.bytes_written:
            problem = (
                f"this run already wrote {self.bytes_written} bytes; another {size} would pass "
                f"the run's limit of {limits.bytes_written}"
            )
        if problem is not None:
            self.limit_hit = problem
            raise ToolError(f"refused: {problem}; the run stops here (write_limit)")

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
        if self._holds(target, payload):
            return f"{rel} already has this content; nothing changed{note}"
        self._check_run_bounds(target, len(payload))
        self._make_parents(target.parent)
        created = not os.path.lexists(target)
        atomic_write(target, payload, FILE_MODE)
        self.files_created += created
        self.bytes_written += len(payload)
        self._record_write(rel, payload)
        return f"{verb} {rel} ({len(payload)} bytes){note}"

    @staticmethod
    def _holds(target: Path, payload: bytes) -> bool:
        """Whether the file at ``target`` is exactly ``payload``; read only when the sizes
        agree (a huge file a user left there is never read whole)."""
        try:
            if target.stat().st_size != len(payload) or not target.is_file():
                return False
        except OSError:
            return False
        return target.read_bytes() == payload

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
