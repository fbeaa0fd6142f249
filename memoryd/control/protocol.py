"""The control protocol: newline-delimited JSON over the daemon's Unix socket (SPEC §7).

Every request is one line, a JSON object::

    {"v": 1, "id": 7, "cmd": "status", "args": {}}

and gets one response line with the same ``id``::

    {"v": 1, "id": 7, "ok": true, "result": {...}}
    {"v": 1, "id": 7, "ok": false, "error": {"code": "unknown_command", "message": "..."}}

A streaming command (``logs`` with ``follow``) answers with several lines, each with
``"more": true`` except the last. A bad request of any kind gets an error response and the
connection stays usable for the next line; a line longer than ``MAX_LINE_BYTES`` is answered
with ``too_large`` and skipped up to its newline.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

PROTOCOL_VERSION: Final = 1
MAX_LINE_BYTES: Final = 1 << 20  # 1 MiB: a request is small; a response line may be larger

# Stable error codes (clients and scripts match on these, never on the message).
E_BAD_JSON: Final = "bad_json"  # the line is not a JSON object
E_TOO_LARGE: Final = "too_large"  # the line exceeds MAX_LINE_BYTES
E_BAD_REQUEST: Final = "bad_request"  # valid JSON, wrong shape or bad args
E_BAD_VERSION: Final = "bad_version"  # "v" is not PROTOCOL_VERSION
E_UNKNOWN_COMMAND: Final = "unknown_command"
E_NOT_FOUND: Final = "not_found"  # e.g. a run id or thread id that does not exist
E_FAILED: Final = "failed"  # the command ran and failed; the message says why
E_PERMISSION: Final = "permission_denied"  # peer uid differs (sent before closing)
E_BUSY: Final = "busy"  # daemon.max_control_connections are being served (sent before closing)

Id = int | str | None


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    v: int
    cmd: str
    args: dict[str, Any] = {}
    id: Id = None


class ErrorBody(msgspec.Struct, kw_only=True):
    code: str
    message: str


class Response(msgspec.Struct, kw_only=True, omit_defaults=True):
    ok: bool
    v: int = PROTOCOL_VERSION
    id: Id = None
    result: Any = None
    error: ErrorBody | None = None
    more: bool = False  # True on every line of a stream except the last


_encoder = msgspec.json.Encoder()
_request_decoder = msgspec.json.Decoder(Request)
_response_decoder = msgspec.json.Decoder(Response)


def encode(msg: Request | Response) -> bytes:
    """One protocol line, newline included."""
    return _encoder.encode(msg) + b"\n"


def decode_request(line: bytes) -> Request:
    """Raise msgspec.DecodeError (bad JSON) or msgspec.ValidationError (bad shape)."""
    return _request_decoder.decode(line)


def decode_response(line: bytes) -> Response:
    return _response_decoder.decode(line)


def error(code: str, message: str, id: Id = None) -> Response:
    return Response(ok=False, id=id, error=ErrorBody(code=code, message=message))


def ok(result: Any = None, id: Id = None, *, more: bool = False) -> Response:
    return Response(ok=True, id=id, result=result, more=more)
