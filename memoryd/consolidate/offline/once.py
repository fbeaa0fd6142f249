"""The user's words said once in the summary: a line whose whole wording a line above already
holds, as its statement or inside its quote of the user, gives a new session nothing but takes
the room of a line that would."""

from __future__ import annotations

from collections.abc import Iterable

from memoryd.textutil import norm_words

MIN_WORDS = 3  # a shorter body ("avoid sudo") is too common to be another line's words


def held_whole(body: str, above: Iterable[str]) -> bool:
    """Whether one of the lines ``above`` holds ``body``'s every word in its order (word
    boundaries, case and punctuation aside)."""
    words = f" {norm_words(body)} "
    return len(words.split()) >= MIN_WORDS and any(words in f" {norm_words(o)} " for o in above)


def general_body(line: str) -> str:
    """A general rule's line without its bullet and its trailing "(stated in …)"."""
    return line.removeprefix("- ").rsplit(" (", 1)[0]
