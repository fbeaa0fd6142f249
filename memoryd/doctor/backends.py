"""Checks of the backends in use: each one reached the way its phases call it, and the offline
extractor's meaning model."""

from __future__ import annotations

import os

import anyio
import httpx

from memoryd.config import Config
from memoryd.doctor.check import Check, fail, ok, warn
from memoryd.llm.codexcli import codex_version, find_codex

BACKEND_TIMEOUT_SECONDS = 5.0


def _http_backend(name: str, phases: str, base_url: str, key_env: str, key_required: bool) -> Check:
    check = "backend"
    label = f"{name} ({phases})"
    key = os.environ.get(key_env, "").strip() if key_env else ""
    if key_required and not key_env:
        return fail(
            check,
            f"{label}: backends.{name}.api_key_env is empty",
            f"set backends.{name}.api_key_env to the name of the variable holding your key",
        )
    if key_env and not key:
        return fail(
            check,
            f"{label}: the environment variable {key_env} is not set",
            f"export {key_env}=... (for the systemd service: put {key_env}=... in "
            "~/.config/memoryd/env, mode 0600)",
        )
    url = base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(timeout=BACKEND_TIMEOUT_SECONDS) as http:
            resp = http.get(url, headers=headers)
    except httpx.HTTPError as e:
        reason = str(e) or type(e).__name__
        return fail(
            check,
            f"{label}: cannot reach {url}: {reason}",
            f"is the server running and is backends.{name}.base_url right?",
        )
    code = resp.status_code
    if code in (401, 403):
        return fail(
            check,
            f"{label}: {url} rejected the key in {key_env or '(none)'} (HTTP {code})",
            f"check the key in {key_env}" if key_env else f"set backends.{name}.api_key_env",
        )
    if code >= 400:
        return warn(
            check,
            f"{label}: {url} answered HTTP {code}",
            f"the server is up; check that backends.{name}.base_url is its API root",
        )
    return ok(
        check,
        f"{label}: {url} answers (HTTP {code})" + (f", key from {key_env}" if key_env else ""),
    )


def _chat_backend(cfg: Config, phases: list[str]) -> Check:
    """The chat backend, probed with the requests its phases really send: a one-token
    stage-1 call with its response format, a one-token agent turn with its tools (a server
    may answer ``/models`` and still refuse, or 404, every call phase 1 makes)."""
    from memoryd.consolidate.chat import TOOLS_DROPPED, probe_phase2
    from memoryd.errors import MemorydError
    from memoryd.extract.chat import probe_phase1

    label = f"chat ({', '.join(phases)})"
    c = cfg.backends.chat
    key_env = c.api_key_env
    if key_env and not os.environ.get(key_env, "").strip():
        return _http_backend("chat", ", ".join(phases), c.base_url, key_env, False)
    found: list[str] = []
    for phase in phases:
        probe = probe_phase1 if phase == "phase1" else probe_phase2
        try:
            found.append(anyio.run(probe, cfg))
        except MemorydError as e:  # the server's answer, or the config the call needs
            if TOOLS_DROPPED in str(e):
                # With the fallback phase 2 still gives a folder (the offline one): a warning.
                fallback = cfg.phase2.offline_fallback
                return (warn if fallback else fail)(
                    "backend",
                    f"{label}: {e}",
                    "every phase-2 run ends with no_tool_calls"
                    + (" and falls back to offline" if fallback else "")
                    + ": give the server a chat template with tool support (llama-server: "
                    "--jinja --chat-template-file; see docs/backends.md)",
                )
            return fail(
                "backend",
                f"{label}: the {phase} request failed: {e}",
                f"check backends.chat.base_url and {phase}.model; see docs/backends.md for "
                "the server flags memoryd needs",
            )
    return ok("backend", f"{label}: {c.base_url}: " + "; ".join(found))


def _codex_backend(phases: str, binary: str) -> Check:
    version = codex_version(binary)
    if version is None:
        return fail(
            "backend",
            f"codex ({phases}): the Codex CLI `{binary}` cannot be run",
            "install it (npm install -g @openai/codex) or set backends.codex.binary",
        )
    return ok("backend", f"codex ({phases}): {find_codex(binary)} version {version}")


def check_meaning(cfg: Config) -> Check:
    """Whether extraction uses the offline extractor's meaning model (``offline.meaning``):
    only with the offline phase-1 backend, whatever phase 2 runs on."""
    from memoryd.extract.factory import meaning_status

    used, text = meaning_status(cfg)
    if not used and cfg.offline.meaning == "on" and cfg.phase1.backend == "offline":
        return fail("meaning", text, 'install it, or set offline.meaning = "auto"')
    return ok("meaning", text)


def check_backends(cfg: Config) -> list[Check]:
    """One line per backend in use, naming the phases that use it."""
    used: dict[str, list[str]] = {}
    for phase, name in (("phase1", cfg.phase1.backend), ("phase2", cfg.phase2.backend)):
        used.setdefault(name, []).append(phase)
    out = []
    for backend, phase_list in used.items():
        phases = ", ".join(phase_list)
        if backend == "offline":
            out.append(ok("backend", f"offline ({phases}): nothing to reach, no network used"))
        elif backend == "openai":
            o = cfg.backends.openai
            out.append(_http_backend("openai", phases, o.base_url, o.api_key_env, True))
        elif backend == "chat":
            out.append(_chat_backend(cfg, phase_list))
        else:
            out.append(_codex_backend(phases, cfg.backends.codex.binary))
    out.append(check_meaning(cfg))
    return out
