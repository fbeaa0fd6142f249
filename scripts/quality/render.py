"""Render a ``Session`` as a Codex 0.169 rollout file, line for line as the real CLI writes it.

The shapes follow the three real rollouts in ``fixtures/codex-0.169/`` and
``reference/codex-cli-observed.md`` §2: the ``{"timestamp","ordinal","type","payload"}``
envelope; a first turn of ``session_meta`` (with ``git``), ``task_started``, the developer
permissions message, the ``<environment_context>`` user message, ``world_state``,
``turn_context`` and ``thread_settings_applied``; every later turn opened by
``thread_settings_applied``, ``task_started`` and ``turn_context``; user and assistant
messages as ``response_item`` plus an ``item_completed`` event; shell calls as
``function_call`` ``exec_command`` + ``CommandExecution`` event + ``function_call_output`` with
the unified-exec header; ``apply_patch`` as a ``custom_tool_call`` (freeform tool) and its
``custom_tool_call_output``; ``token_usage_record`` / ``token_count`` after each model
response; ``task_complete`` at the end of a turn. The session is stored as source ``cli``.

Everything is derived from the session and one ``start`` time, so the same input gives the
same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quality.model import Patch, Project, Say, Session, Sh, Think, User

CLI_VERSION = "0.169.0"
MODEL = "gpt-5.1-codex"
CONTEXT_WINDOW = 258400
BASE_INSTRUCTIONS = (
    "You are a coding agent running in the Codex CLI, a terminal-based coding assistant. "
    "Codex CLI is an open source project led by OpenAI. You are expected to be precise, safe, "
    "and helpful."
)
PERMISSIONS = (
    "<permissions instructions>\nFilesystem sandboxing defines which files can be read or "
    "written. `sandbox_mode` is `workspace-write`: The sandbox permits reading files, and "
    "editing files in `cwd` and `writable_roots`. Network access is restricted.\nApproval "
    "policy is currently on-request.\n</permissions instructions>"
)
PERMISSION_PROFILE = {
    "type": "managed",
    "file_system": {
        "type": "restricted",
        "entries": [
            {"path": {"type": "special", "value": {"kind": "root"}}, "access": "read"},
            {"path": {"type": "special", "value": {"kind": "cwd"}}, "access": "write"},
        ],
    },
    "network": "restricted",
}
COLLABORATION_MODE = {
    "mode": "default",
    "settings": {"model": MODEL, "reasoning_effort": None, "developer_instructions": None},
}
ZERO_USAGE = {
    "input_tokens": 0,
    "cached_input_tokens": 0,
    "cache_write_input_tokens": 0,
    "output_tokens": 0,
    "reasoning_output_tokens": 0,
    "total_tokens": 0,
}


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def uuid7(ms: int, *seed: str) -> str:
    """A UUIDv7 (Codex's thread and turn ids) with a deterministic random part."""
    rand = int.from_bytes(_digest(*seed)[:10], "big")
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62 | rand & (2**62 - 1)
    return str(uuid.UUID(int=value))


def thread_id(corpus: str, session: Session, start_ms: int) -> str:
    return uuid7(start_ms, corpus, session.key)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def rollout_relpath(tid: str, start_ms: int) -> Path:
    """``YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl`` (UTC: the bench runs TZ-free)."""
    t = datetime.fromtimestamp(start_ms / 1000, UTC)
    return Path(t.strftime("%Y/%m/%d")) / f"rollout-{t.strftime('%Y-%m-%dT%H-%M-%S')}-{tid}.jsonl"


def _environment_context(cwd: str, day: str) -> str:
    fs = (
        f"<filesystem><workspace_roots><root>{cwd}</root></workspace_roots>"
        '<permission_profile type="managed"><file_system type="restricted">'
        '<entry access="read"><special>:root</special></entry>'
        '<entry access="write"><special>:cwd</special></entry>'
        "</file_system></permission_profile></filesystem>"
    )
    return (
        f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <shell>bash</shell>\n"
        f"  <current_date>{day}</current_date>\n  <timezone>Etc/UTC</timezone>\n  {fs}\n"
        "</environment_context>"
    )


class _Writer:
    """Appends envelope lines with a running ordinal, clock and history sequence."""

    def __init__(self, corpus: str, session: Session, project: Project, start_ms: int) -> None:
        self.corpus = corpus
        self.session = session
        self.project = project
        self.ms = start_ms
        self.tid = thread_id(corpus, session, start_ms)
        self.lines: list[str] = []
        self.seq = 0
        self.sampled = 0
        self.input_order = 0
        self.n = 0  # counter for ids
        self.turn = ""
        self.turn_input = 0
        self.thread_usage = dict(ZERO_USAGE)
        self.turn_usage = dict(ZERO_USAGE)
        self.last_usage = dict(ZERO_USAGE)
        self.last_answer = ""
        self.turn_started_s = 0

    def tick(self, ms: int) -> int:
        self.ms += ms
        return self.ms

    def nid(self, tag: str) -> str:
        self.n += 1
        return uuid7(self.ms, self.corpus, self.session.key, tag, str(self.n))

    def emit(
        self, kind: str, payload: dict[str, Any], metadata: dict[str, Any] | None = None
    ) -> None:
        line: dict[str, Any] = {
            "timestamp": iso(self.ms),
            "ordinal": len(self.lines),
            "type": kind,
            "payload": payload,
        }
        if metadata is not None:
            line["metadata"] = metadata
        self.lines.append(json.dumps(line, separators=(",", ":"), ensure_ascii=False))

    def item(
        self,
        payload: dict[str, Any],
        *,
        ordered: bool = False,
        retained: str | None = None,
        **extra: Any,
    ) -> None:
        """A response item with its metadata in Codex's key order. ``ordered``: the item
        takes the next ``user_input_order``; ``retained``: the role of a message kept in the
        paginated history (``retained_source``)."""
        self.seq += 1
        metadata: dict[str, Any] = {
            "history_sequence": self.seq,
            "sampled_through_sequence": self.sampled,
        }
        if retained is not None:
            metadata["retained_source"] = {
                "id": {"message_id": payload["id"], "turn_id": self.turn, "role": retained},
                "revision": f"retained_{self.nid('retained')}",
                "complete": True,
            }
        metadata["client_authored"] = False
        if ordered:
            metadata["user_input_order"] = self.input_order
            self.input_order += 1
        metadata.update(extra)
        self.emit("response_item", payload, metadata)

    def event(self, payload: dict[str, Any]) -> None:
        self.emit("event_msg", payload)

    def completed(self, item: dict[str, Any], took_ms: int = 0) -> None:
        self.event(
            {
                "type": "item_completed",
                "thread_id": self.tid,
                "turn_id": self.turn,
                "item": item,
                "started_at_ms": self.ms - took_ms,
                "completed_at_ms": self.ms,
            }
        )

    def input_message(
        self, role: str, text: str, kind: str, provenance: dict[str, Any]
    ) -> dict[str, Any]:
        """A developer or user message as Codex stores it, one ``input_text`` part."""
        return {
            "type": "message",
            "id": f"msg_{self.nid(role)}",
            "role": role,
            "content": [{"type": "input_text", "text": text}],
            "internal_chat_message_metadata_passthrough": {
                "turn_id": self.turn,
                "create_time": self.ms / 1000,
                "content_item_kinds": [kind],
                "content_item_metadata": [{"provenance": provenance}],
            },
        }

    # -- the session's first line and the turn scaffolding
    def session_meta(self) -> None:
        p = self.project
        self.emit(
            "session_meta",
            {
                "account_scoped": True,
                "session_id": self.tid,
                "id": self.tid,
                "timestamp": iso(self.ms - 30),
                "cwd": p.cwd,
                "runtime_workspace_roots": [p.cwd],
                "originator": "codex_cli_rs",
                "cli_version": CLI_VERSION,
                "source": "cli",
                "thread_source": "user",
                "model_provider": "openai",
                "base_instructions": {
                    "text": BASE_INSTRUCTIONS,
                    "provenance": {"type": "model", "model": MODEL},
                },
                "history_mode": "paginated",
                "context_window": {"window_id": self.nid("window")},
                "git": {
                    "commit_hash": _digest(self.corpus, self.session.key, "sha").hex()[:40],
                    "branch": self.session.branch or p.branch,
                    "repository_url": p.repo_url,
                },
            },
        )

    def _settings(self) -> None:
        self.event(
            {
                "type": "thread_settings_applied",
                "thread_id": self.tid,
                "thread_settings": {
                    "model": MODEL,
                    "model_provider_id": "openai",
                    "approval_policy": "on-request",
                    "approvals_reviewer": "user",
                    "requested_approvals_reviewer": "user",
                    "permission_profile": PERMISSION_PROFILE,
                    "cwd": self.project.cwd,
                    "runtime_workspace_roots": [self.project.cwd],
                    "collaboration_mode": COLLABORATION_MODE,
                    "disabled_plugin_ids": [],
                },
            }
        )

    def _turn_context(self) -> None:
        self.emit(
            "turn_context",
            {
                "turn_id": self.turn,
                "root_turn_id": self.turn,
                "disabled_plugin_ids": [],
                "cwd": self.project.cwd,
                "approval_policy": "on-request",
                "approvals_reviewer": "user",
                "permission_profile": PERMISSION_PROFILE,
                "model": MODEL,
                "collaboration_mode": COLLABORATION_MODE,
                "multi_agent_version": "v1",
                "realtime_active": False,
                "summary": "none",
                "sandbox_policy": {
                    "type": "workspace-write",
                    "writable_roots": [],
                    "network_access": False,
                    "exclude_tmpdir_env_var": False,
                    "exclude_slash_tmp": False,
                },
            },
        )

    def start_turn(self, first: bool) -> None:
        if self.turn:
            self.end_turn()
            self.tick(45_000 + len(self.lines) * 937 % 120_000)
            self._settings()
            self.tick(9)
        self.turn = self.nid("turn")
        self.turn_usage = dict(ZERO_USAGE)
        self.turn_started_s = self.ms // 1000
        self.event(
            {
                "type": "task_started",
                "turn_attribution": {
                    "turn_id": self.turn,
                    "turn_trigger": "user",
                    "parent_turn_id": None,
                    "initiating_agent_path": None,
                    "root_turn_id": self.turn,
                },
                "turn_id": self.turn,
                "root_turn_id": self.turn,
                "started_at": self.ms // 1000,
                "model_context_window": CONTEXT_WINDOW,
                "collaboration_mode_kind": "default",
            }
        )
        if first:
            self.tick(28)
            self.item(
                self.input_message(
                    "developer", PERMISSIONS, "permissions.instructions", {"type": "harness"}
                )
            )
            day = iso(self.ms)[:10]
            self.item(
                self.input_message(
                    "user",
                    _environment_context(self.project.cwd, day),
                    "environments.environment_context",
                    {"type": "harness", "hook": False},
                )
            )
            self.tick(1)
            self.emit(
                "world_state",
                {
                    "full": True,
                    "state": {
                        "agents_md": {},
                        "apps_instructions": False,
                        "collaboration_mode": {"mode": "default", "model": MODEL},
                        "context_window_guidance": "",
                        "environments": {
                            "environments": {
                                "local": {
                                    "cwd": self.project.cwd,
                                    "status": "available",
                                    "shell": "bash",
                                }
                            }
                        },
                        "current_date": day,
                        "timezone": "Etc/UTC",
                        "environments_instructions": False,
                        "git_attribution": False,
                    },
                },
            )
        self.tick(1)
        self._turn_context()
        if first:
            self._settings()

    def usage(self, tokens: int) -> None:
        """A model response finished: Codex books its tokens in two places."""
        self.record(tokens)
        self.count()

    def record(self, tokens: int) -> None:
        out = max(tokens // 8, 5)
        last = {
            **ZERO_USAGE,
            "input_tokens": tokens,
            "output_tokens": out,
            "total_tokens": tokens + out,
        }
        for acc in (self.turn_usage, self.thread_usage):
            for k, v in last.items():
                acc[k] += v
        self.tick(1)
        self.emit(
            "token_usage_record",
            {
                "thread_id": self.tid,
                "turn_id": self.turn,
                "session_id": self.tid,
                "root_turn_id": self.turn,
                "response_id": f"resp_{self.nid('resp').replace('-', '')[:24]}",
                "usage": last,
                "turn_token_usage": dict(self.turn_usage),
                "thread_token_usage": dict(self.thread_usage),
            },
        )
        self.last_usage = last

    def count(self) -> None:
        self.event(
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": dict(self.thread_usage),
                    "last_token_usage": self.last_usage,
                    "last_usage_includes_reasoning": False,
                    "model_context_window": CONTEXT_WINDOW,
                },
                "rate_limits": {
                    "limit_id": "codex",
                    "limit_name": None,
                    "primary": None,
                    "secondary": None,
                    "credits": None,
                    "individual_limit": None,
                    "spend_control_reached": None,
                    "plan_type": None,
                    "rate_limit_reached_type": None,
                },
            }
        )

    def end_turn(self) -> None:
        self.tick(3)
        self.event(
            {
                "type": "task_complete",
                "root_turn_id": self.turn,
                "turn_id": self.turn,
                "last_agent_message": self.last_answer or None,
                "started_at": self.turn_started_s,
                "completed_at": self.ms // 1000,
                "duration_ms": self.ms - self.turn_started_s * 1000,
                "time_to_first_token_ms": 740,
            }
        )

    # -- steps
    def user(self, text: str, first: bool) -> None:
        self.start_turn(first)
        self.tick(6)
        self.item(
            self.input_message("user", text, "user.text", {"type": "user"}),
            ordered=True,
            retained="user",
            mcp_attribution={"status": "none"},
        )
        self.tick(2)
        self.completed(
            {
                "type": "UserMessage",
                "id": self.nid("user-item"),
                "content": [{"type": "text", "text": text, "text_elements": []}],
            }
        )
        self.sampled = self.seq
        self.last_answer = ""

    def think(self, text: str) -> None:
        self.tick(2_400)
        rid = f"rs_{self.nid('rs').replace('-', '')[:24]}"
        self.completed(
            {"type": "Reasoning", "id": rid, "summary_text": [text], "raw_content": []}, 0
        )
        self.tick(2)
        self.item(
            {
                "type": "reasoning",
                "id": rid,
                "summary": [{"type": "summary_text", "text": text}],
                "content": None,
                "encrypted_content": None,
                "internal_chat_message_metadata_passthrough": {"turn_id": self.turn},
            }
        )

    def shell(self, step: Sh) -> None:
        self.tick(1_800)
        call_id = f"call_{self.nid('call').replace('-', '')[:24]}"
        args = {"cmd": step.cmd, "workdir": self.project.cwd, "yield_time_ms": 10000}
        self.item(
            {
                "type": "function_call",
                "id": f"fc_{self.nid('fc').replace('-', '')[:24]}",
                "name": "exec_command",
                "arguments": json.dumps(args),
                "call_id": call_id,
                "internal_chat_message_metadata_passthrough": {"turn_id": self.turn},
            },
            ordered=True,
        )
        # the response that asked for the call is complete; its token_count event follows
        # the call's output, as in the real rollouts
        self.record(1800 + len(self.lines) * 31)
        took = int(step.secs * 1000)
        self.tick(took + 15)
        out = step.out if not step.out or step.out.endswith("\n") else step.out + "\n"
        self.completed(
            {
                "type": "CommandExecution",
                "id": call_id,
                "process_id": str(20000 + int.from_bytes(_digest(call_id)[:2], "big")),
                "command": ["/bin/bash", "-lc", step.cmd],
                "cwd": f"file://{self.project.cwd}",
                "parsed_cmd": [{"type": "unknown", "cmd": step.cmd}],
                "source": "unified_exec_startup",
                "status": "completed" if step.code == 0 else "failed",
                "aggregated_output": out,
                "exit_code": step.code,
                "duration": {"secs": took // 1000, "nanos": took % 1000 * 1_000_000},
            },
            took,
        )
        self.tick(2)
        header = (
            f"Chunk ID: {_digest(call_id).hex()[:6]}\nWall time: {step.secs:.4f} seconds\n"
            f"Process exited with code {step.code}\nOriginal token count: "
            f"{max(1, len(out) // 4)}\nOutput:\n"
        )
        self.item(
            {
                "type": "function_call_output",
                "id": f"fco_{self.nid('fco')}",
                "call_id": call_id,
                "output": header + out,
                "internal_chat_message_metadata_passthrough": {
                    "turn_id": self.turn,
                    "create_time": self.ms / 1000,
                },
            },
            fallback_token_limit_override=3000,
        )
        self.count()
        self.sampled = self.seq

    def patch(self, step: Patch) -> None:
        self.tick(3_100)
        call_id = f"call_{self.nid('call').replace('-', '')[:24]}"
        body = step.body.strip("\n")
        self.item(
            {
                "type": "custom_tool_call",
                "id": f"ctc_{self.nid('ctc').replace('-', '')[:24]}",
                "status": "completed",
                "call_id": call_id,
                "name": "apply_patch",
                "input": f"*** Begin Patch\n{body}\n*** End Patch\n",
                "internal_chat_message_metadata_passthrough": {"turn_id": self.turn},
            },
            ordered=True,
        )
        self.record(2100 + len(self.lines) * 29)
        self.tick(40)
        changed = [
            (
                "A"
                if ln.startswith("*** Add File: ")
                else "D"
                if ln.startswith("*** Delete")
                else "M"
            )
            + " "
            + ln.split(": ", 1)[1]
            for ln in body.splitlines()
            if ln.startswith(("*** Update File: ", "*** Add File: ", "*** Delete File: "))
        ]
        result = {
            "output": "Success. Updated the following files:\n" + "\n".join(changed) + "\n",
            "metadata": {"exit_code": 0, "duration_seconds": 0.0},
        }
        self.item(
            {
                "type": "custom_tool_call_output",
                "id": f"ctco_{self.nid('ctco')}",
                "call_id": call_id,
                "output": json.dumps(result),
                "internal_chat_message_metadata_passthrough": {
                    "turn_id": self.turn,
                    "create_time": self.ms / 1000,
                },
            }
        )
        self.count()
        self.sampled = self.seq

    def say(self, text: str) -> None:
        self.tick(4_200)
        mid = f"msg_{self.nid('msg').replace('-', '')[:24]}"
        self.completed(
            {"type": "AgentMessage", "id": mid, "content": [{"type": "Text", "text": text}]}
        )
        self.tick(3)
        self.item(
            {
                "type": "message",
                "id": mid,
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
                "internal_chat_message_metadata_passthrough": {
                    "turn_id": self.turn,
                    "content_item_kinds": ["unknown"],
                },
            },
            ordered=True,
            retained="assistant",
        )
        self.usage(2600 + len(self.lines) * 23)
        self.last_answer = text


def render_session(
    corpus: str, session: Session, project: Project, start_ms: int
) -> tuple[str, bytes, int]:
    """(thread id, the rollout's bytes, the time of its last line in ms)."""
    if not session.steps or not isinstance(session.steps[0], User):
        raise ValueError(f"session {session.key}: the first step must be a User message")
    w = _Writer(corpus, session, project, start_ms)
    w.session_meta()
    first = True
    for step in session.steps:
        if isinstance(step, User):
            w.user(step.text, first)
            first = False
        elif isinstance(step, Sh):
            w.shell(step)
        elif isinstance(step, Patch):
            w.patch(step)
        elif isinstance(step, Say):
            w.say(step.text)
        elif isinstance(step, Think):
            w.think(step.text)
    w.end_turn()
    return w.tid, ("\n".join(w.lines) + "\n").encode(), w.ms


def write_session(
    sessions_dir: Path, corpus: str, session: Session, project: Project, start_ms: int
) -> tuple[str, Path]:
    """Write the rollout under ``sessions_dir`` with its mtime at its last line (the thread's
    ``updated_at``, as Codex derives it); return (thread id, path)."""
    tid, data, end_ms = render_session(corpus, session, project, start_ms)
    path = sessions_dir / rollout_relpath(tid, start_ms)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (end_ms / 1000, end_ms / 1000))
    return tid, path
