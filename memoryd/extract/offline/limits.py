"""Size bounds of the offline extractor: every quote, list and field is capped."""

from __future__ import annotations

from memoryd.textutil import QUOTE_CHARS as QUOTE_CHARS  # the default length of quoted()

NAME = "offline"
MODEL = "offline-v1"

# Size bounds: every quote, list and field is capped, so one huge tool output or a
# thousand-turn rollout still gives a memory of a few kilobytes.
PROMPT_CHARS = 400
TITLE_CHARS = 120
COMMAND_CHARS = 200
MAX_TASKS = 12
MAX_STEPS = 14
MAX_PREFS = 8
MAX_FAILURES = 6
MAX_KNOWLEDGE = 14
MAX_TEXTS = 40  # assistant or user messages of one task read for durable statements
MAX_KEYWORDS = 14
MAX_FIELD_CHARS = 24_000
ANALYSE_CHARS = 20_000  # of one message or command: pasted logs need not be parsed in full
TRUNCATION_NOTE = "\n\n[... truncated by the memoryd offline extractor ...]\n"
