"""Text helpers shared across memoryd (the offline extractor and consolidator, error
messages): one-line clipping and excerpts, Markdown quoting, order-keeping de-duplication,
hashing. Pure and deterministic."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

QUOTE_CHARS = 300
_EXCERPT_CHARS = 80


# Values that belong to one run: a pid, a hash or id, a temporary path, a timestamp, a port
# picked at random.
TRANSIENT = re.compile(
    r"(?<![\w.:/=-])(?<!port )(?<!PORT )(?<!Port )\d{5,}(?![\w.:])"
    r"|\b(?:pid|process|job|session)\s*(?:id\s*)?[:#=]?\s*\d+"
    r"|\bkill\s+(?:-\w+\s+)?\d+|\b[0-9a-f]{10,}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-|/tmp/|/var/folders/"
    r"|\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\block[-_ ]?(?:id)?[:= ]\s*\w*\d"
    # A short commit or revision id: hex with both digits and letters.
    r"|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,9}\b",
    re.I,
)


def without_transient(text: str) -> str:
    """``text`` on one line without its values of one run (``TRANSIENT``): the word that holds
    each goes (a pid, a temp path, an id), the words around it stay, a label before it too
    ("did kill 48213, works" → "did kill, works"); '' when nothing else is left."""
    text = one_line(text)
    cuts: list[tuple[int, int]] = []
    for m in TRANSIENT.finditer(text):
        first = text.rfind(" ", 0, m.start()) + 1  # the word the match begins in
        last = text.rfind(" ", 0, m.end() - 1) + 1  # the word it ends in: the value
        start = last if text[first : m.start() + 1].isalpha() and first != last else first
        end = text.find(" ", m.end() - 1)
        end = len(text) if end < 0 else end
        word = text[start:end]
        start += len(word) - len(word.lstrip("(\"'`"))
        label = text[:start].rstrip()
        if label.endswith((":", "#", "=")):  # "lock id: 77af3": the label's mark goes too
            start = len(label) - 1
        end = start + len(text[start:end].rstrip(",.;:!?)\"'`"))
        cuts.append((start, end))
    if not cuts:
        return text
    for start, end in reversed(cuts):
        text = text[:start] + text[end:]
    text = re.sub(r"\s+([,.;:!?)])", r"\1", one_line(text))
    text = re.sub(r"\(\)|``|[,;:](?=[,;:.!?])", "", text)
    return text.strip(" ,;:-")


def one_line(text: str) -> str:
    return " ".join(text.split())


def error_line(e: BaseException) -> str:
    """An exception as one line for a log or a message: its text, or its type when empty."""
    return one_line(str(e)) or type(e).__name__


def excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    """A short, one-line, quoted rendering of ``text`` for error messages."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return json.dumps(flat, ensure_ascii=False)


def clip(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def md_code(text: str) -> str:
    """Inline Markdown code that survives backticks in the text."""
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``"


_ROLLOUT_DAY = re.compile(r"rollout-(\d{4}-\d{2}-\d{2})T")


def session_title(project: str, rollout_path: str = "", day: str = "") -> str:
    """The title of a task whose request names nothing and that did nothing to name it by:
    where and when its session ran ("Session in shop-api on 2026-11-22"). ``day`` defaults
    to the date in the rollout file's name (``rollout-2026-11-22T03-12-03-<id>.jsonl``)."""
    if not day:
        m = _ROLLOUT_DAY.search(rollout_path.rsplit("/", 1)[-1])
        day = m.group(1) if m else ""
    return "Session" + (f" in {project}" if project else "") + (f" on {day}" if day else "")


def quoted(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` clipped and in double quotes (inner double quotes become single ones)."""
    return '"' + clip(text, limit).replace('"', "'") + '"'


def dedupe(values: Iterable[str]) -> list[str]:
    """The non-empty values, first occurrence kept, in order."""
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


def dedupe_ci(values: Iterable[str]) -> list[str]:
    """Like ``dedupe``, ignoring case."""
    seen: set[str] = set()
    out: list[str] = []
    for v in values:
        k = v.lower()
        if v and k not in seen:
            seen.add(k)
            out.append(v)
    return out


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def norm_words(text: str) -> str:
    """Lower-case alphanumeric words joined by single spaces: a key that ignores case and
    punctuation."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def split_lines(text: str) -> list[str]:
    """The lines of ``text``; a final newline does not make an empty last line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# Words that carry no meaning of their own in a rule: "always use uv rather than pip" and
# "use uv, not pip" are the same rule.
FILLER = frozenset(
    "a an the to of in on for and or with this that it its is are be please always just "
    "use using used prefer rather than instead over not never no don't dont do does avoid "
    "keep make sure should must you we i here there from now on next time in future going "
    "forward when whenever every any all run before after only everywhere time times way "
    "things thing anything everything stuff by also as".split()
)


# A contraction's tail: "don't" is "do not", "it's" is "it"; cut at the apostrophe its
# pieces ("don", "t", "s") would be meaning words that any two negative rules share.
_NOT = re.compile(r"(?<=\w)n['’]t\b", re.I)
_IRREGULAR_NOT = re.compile(r"\b(ca|wo)n['’]t\b", re.I)
_CONTRACTED = re.compile(r"(?<=\w)['’](?:s|re|ve|ll|d|m)\b", re.I)


def content_words(text: str) -> set[str]:
    """The words of ``text`` that carry meaning (``FILLER`` left out), a contraction read as
    its words ("don't" is "do not")."""
    text = _IRREGULAR_NOT.sub(
        lambda m: "will not" if m.group(1).lower() == "wo" else "can not", text
    )
    text = _CONTRACTED.sub("", _NOT.sub(" not", text))
    return set(norm_words(text).split()) - FILLER


# What an English suffix adds to a stem: "lint" + "er", "indent" + "ation"; not "hand" + "ler".
_SUFFIX = re.compile(r"(?:e|e?r|or|ion|ation|ment|ing|e?d|e?s|ly|ity|i[sz]e|able|al)")


def akin(x: str, y: str) -> bool:
    """The same word, or one is the other plus a suffix."""
    if x == y or (x[-1:] in "yi" and y[-1:] in "yi" and x[:-1] == y[:-1] and len(x) >= 4):
        return True  # "reply" / "repli(es)"
    short, long = sorted((x, y), key=len)
    return (
        len(short) >= 4
        and long.startswith(short)
        and _SUFFIX.fullmatch(long[len(short) :]) is not None
    )


def overlap(a: Iterable[str], b: Iterable[str]) -> int:
    """How many words of ``a`` match a word of ``b`` (equal, or one begins the other)."""
    bs = list(b)
    return sum(1 for x in a if any(akin(x, y) for y in bs))


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2]:
                word = word[:-1]  # "debugging" -> "debug"
            break
    return word
