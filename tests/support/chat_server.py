"""A real HTTP/1.1 server on 127.0.0.1 that plays a Chat Completions endpoint for tests.

It is the loopback Responses server (tests/support/responses_server.py) speaking the other
protocol: the same behaviours (``Reply``, ``Events``, ``Status``, ``Cut``, ``Hang``, ``Garbage``),
the same request log and lifecycle, so one test can script either server in the same
protocol-neutral terms. A ``Reply`` streams as ``chat.completion.chunk`` objects on ``data:``
lines: the assistant role, the text as ``delta.content`` pieces, every ``function_call`` item
of ``Reply.items`` as ``delta.tool_calls`` pieces (the id and name first, then the arguments in
``delta_chars`` slices, all keyed by the call's index), a finish chunk (``tool_calls`` or
``stop``), a usage chunk with no choices (as ``stream_options.include_usage`` asks), and
``data: [DONE]``. ``Events`` sends chunk dicts as given; ``DONE`` in the list is the end marker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from support.responses_server import Reply, ResponsesServer

DONE: Final[Mapping[str, Any]] = {"__done__": True}


def chunk(response_id: str = "chatcmpl-1", **choice: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` whose choice 0 has the given ``delta`` / ``finish_reason``."""
    return {
        "id": response_id,
        "object": "chat.completion.chunk",
        "created": 1_790_000_000,
        "model": "served-model",
        "choices": [{"index": 0, "delta": {}, "finish_reason": None, **choice}],
    }


def usage_chunk(
    input_tokens: int, output_tokens: int, response_id: str = "chatcmpl-1"
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    }


def chat_reply_events(reply: Reply, response_id: str = "chatcmpl-1") -> list[dict[str, Any]]:
    """The chunks a Chat Completions server streams for ``reply``, ending with ``DONE``."""
    rid = response_id
    events = [chunk(rid, delta={"role": "assistant", "content": ""})]
    step = max(1, reply.delta_chars)
    if reply.text:
        pieces = (
            [reply.text[i : i + step] for i in range(0, len(reply.text), step)]
            if reply.deltas
            else [reply.text]
        )
        events += [chunk(rid, delta={"content": p}) for p in pieces]
    calls = [dict(i) for i in reply.items if i.get("type") == "function_call"]
    for index, call in enumerate(calls):
        head = {
            "index": index,
            "id": call.get("call_id"),
            "type": "function",
            "function": {"name": call.get("name"), "arguments": ""},
        }
        events.append(chunk(rid, delta={"tool_calls": [head]}))
        args = call.get("arguments")
        if not isinstance(args, str):  # a lax server: the object itself, in one piece
            events.append(
                chunk(
                    rid, delta={"tool_calls": [{"index": index, "function": {"arguments": args}}]}
                )
            )
            continue
        for i in range(0, len(args), step):
            piece = {"index": index, "function": {"arguments": args[i : i + step]}}
            events.append(chunk(rid, delta={"tool_calls": [piece]}))
    events.append(chunk(rid, finish_reason="tool_calls" if calls else "stop"))
    events.append(usage_chunk(reply.input_tokens, reply.output_tokens, rid))
    events.append(dict(DONE))
    return events


class ChatServer(ResponsesServer):
    """The loopback server speaking Chat Completions; requests go to ``{url}/chat/completions``."""

    def reply_events(self, reply: Reply, response_id: str) -> list[dict[str, Any]]:
        return chat_reply_events(reply, response_id.replace("resp_", "chatcmpl-"))

    def frame(self, event: Mapping[str, Any], seq: int) -> bytes:
        if event.get("__done__"):
            return b"data: [DONE]\n\n"
        return f"data: {json.dumps(event)}\n\n".encode()
