"""Facts read in what a successful command printed: versions, config settings, listeners."""

from __future__ import annotations

import re

from memoryd.extract.offline.facts import VERSION
from memoryd.extract.offline.judge import SECRET_NAME, is_probe, without_one_offs
from memoryd.extract.offline.sentences import strip_tail
from memoryd.extract.offline.tasks import Task
from memoryd.textutil import TRANSIENT, clip, dedupe, md_code

# Facts that show in the output of a successful command.
_VERSION_FLAG = re.compile(r"(?:^|\s)(?:--version|-V|version)(?:\s|$)")
_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]{2,})\s*[=:]\s*(\S[^#\n]{0,100})$", re.M
)
_CONFIG_FILE = re.compile(
    r"(?:^|/)(?:\.env[\w.-]*|[\w.-]+\.(?:toml|ini|cfg|conf|ya?ml|json|env|properties)"
    r"|settings\.py|config\.py|Makefile|Dockerfile|docker-compose[\w.-]*|Procfile)$"
)
_LISTENING = re.compile(
    r"\b(?:listening|running|serving|available|started|ready)\b[^\n]{0,20}?\b(?:on|at)\s+"
    r"(?P<where>https?://[\w.:\[\]-]+(?::\d+)?/?|[\w.-]+:\d{2,5}\b|port\s+\d{2,5}\b)",
    re.I,
)


def output_facts(task: Task) -> list[str]:
    """Versions a ``--version`` printed, settings a config file holds, where a server listens."""
    out: list[str] = []
    for cmd in task.commands:
        if cmd.tool == "orphan":
            continue
        # "kill 48213 && bin/dev serves on :3000": the server is the fact, not the kill
        text = without_one_offs(cmd.text)
        if not text:
            continue
        code = md_code(clip(text, 120))
        body = cmd.body
        if cmd.succeeded and _VERSION_FLAG.search(cmd.text):
            first = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
            if first and VERSION.search(first) and not TRANSIENT.search(first):
                out.append(f"{code} prints {md_code(clip(first, 80))}")
        if cmd.succeeded and is_probe(cmd) and any(_CONFIG_FILE.search(f) for f in cmd.files):
            source = next(f for f in cmd.files if _CONFIG_FILE.search(f))
            for m in list(_ASSIGNMENT.finditer(body))[:4]:
                name, value = m.group(1), strip_tail(m.group(2).strip().strip("'\""))
                if SECRET_NAME.search(name) or "REDACTED" in value or TRANSIENT.search(value):
                    continue
                out.append(f"{md_code(f'{name}={value}')} is set in {md_code(source)}")
        listening = _LISTENING.search(body) if not cmd.failed else None
        if listening and not TRANSIENT.search(listening.group("where")):
            out.append(f"{code} serves on {md_code(listening.group('where').rstrip('/'))}")
    return dedupe(out)
