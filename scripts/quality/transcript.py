"""Sessions written as plain-text transcripts (corpus C's means of writing).

A transcript is what one would copy out of a terminal, one step per block:

    > what the user typed            (continued on lines indented by two spaces; an indented
                                      "- " line starts a list item on a line of its own)
    ~ a reasoning summary
    $ the command the agent ran
    its output, verbatim, any number of lines
    [exit 1]                         (or [exit 0 4.2s]: status and wall time; ends the output)
    *** Begin Patch                  (an apply_patch body, up to *** End Patch)
    < what the assistant answered    (continued like a user message)

Blank lines between blocks are ignored; inside a command's output they are kept.
"""

from __future__ import annotations

import re
import textwrap

from quality.model import Patch, Say, Sh, Step, Think, User

_EXIT = re.compile(r"^\[exit (\d+)(?: ([\d.]+)s)?\]$")


class TranscriptError(ValueError):
    pass


def parse(text: str) -> tuple[Step, ...]:
    lines = textwrap.dedent(text).strip("\n").split("\n")
    steps: list[Step] = []
    i = 0

    def message(first: str) -> str:
        # A wrapped line continues its sentence; a list item ("- ...") starts a line of its
        # own, as in the markdown an assistant writes.
        nonlocal i
        text = first
        while i < len(lines) and lines[i].startswith("  "):
            part = lines[i].strip()
            text += ("\n" if part.startswith("- ") else " ") + part
            i += 1
        return text

    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if line.startswith("> "):
            steps.append(User(message(line[2:])))
        elif line.startswith("< "):
            steps.append(Say(message(line[2:])))
        elif line.startswith("~ "):
            steps.append(Think(message(line[2:])))
        elif line.startswith("$ "):
            out: list[str] = []
            while i < len(lines) and not _EXIT.match(lines[i]):
                out.append(lines[i])
                i += 1
            if i == len(lines):
                raise TranscriptError(f"command {line[2:]!r} has no [exit N] line")
            m = _EXIT.match(lines[i])
            assert m is not None
            i += 1
            secs = float(m.group(2)) if m.group(2) else 0.8
            steps.append(Sh(line[2:], "\n".join(out), code=int(m.group(1)), secs=secs))
        elif line == "*** Begin Patch":
            body: list[str] = []
            while i < len(lines) and lines[i] != "*** End Patch":
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise TranscriptError("a patch has no *** End Patch line")
            i += 1
            steps.append(Patch("\n".join(body)))
        else:
            raise TranscriptError(f"cannot read transcript line {line!r}")
    return tuple(steps)
