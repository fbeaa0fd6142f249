"""What every model call returns or raises, whichever phase or backend makes it: token usage
and the transport error. Both phases' backends and the shared clients (http, codexcli) use
them, so they live below all of them."""

from __future__ import annotations

import msgspec

from memoryd.errors import MemorydError


class Usage(msgspec.Struct, kw_only=True):
    input_tokens: int = 0
    output_tokens: int = 0


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
