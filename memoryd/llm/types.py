"""What every model call returns or raises, whichever phase or backend makes it: token usage
and the transport error. Both phases' backends and the shared clients (http, codexcli) use
them, so they live below all of them."""

from __future__ import annotations

import msgspec

from memoryd.errors import MemorydError


class Usage(msgspec.Struct, kw_only=True):
    input_tokens: int = 0
    output_tokens: int = 0
    # The server sent no counts: these are estimates from the text's size (4 bytes a token).
    estimated: bool = False


def estimate_usage(sent: str | bytes, received: str | bytes) -> Usage:
    """Usage for a call whose reply carried none (llama-cpp-python's streams): the request's
    and the reply's size at 4 bytes a token, the rule the rollout renderer budgets with, so a
    budget still trips."""
    size_in = len(sent.encode("utf-8") if isinstance(sent, str) else sent)
    size_out = len(received.encode("utf-8") if isinstance(received, str) else received)
    return Usage(input_tokens=-(-size_in // 4), output_tokens=-(-size_out // 4), estimated=True)


class BackendError(MemorydError):
    """A model call failed (HTTP status, connection, timeout, torn stream)."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
