"""How far a ``.jsonl.zst`` rollout may expand while it is read (issue 14: a 64 KB file that
expands to gigabytes). Both readers, the indexer and the stage-1 renderer, stream the
decompressed bytes and check them against these limits as they go, so a bomb costs at most
the limit, never its full size: past ``max_bytes`` in all, or past ``max_ratio`` times the
compressed bytes consumed (once more than ``RATIO_FLOOR`` came out: small files compress
unevenly), the file is refused with the reason ``error`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memoryd.config import IndexConfig

RATIO_FLOOR = 16 * 1024 * 1024


@dataclass(frozen=True)
class ZstLimits:
    max_bytes: int = 1 << 30  # index.max_decompressed_bytes
    max_ratio: int = 200  # index.max_decompression_ratio

    @classmethod
    def of(cls, index: IndexConfig) -> ZstLimits:
        return cls(index.max_decompressed_bytes, index.max_decompression_ratio)

    def error(self, produced: int, consumed: int) -> str | None:
        """Why a stream that has produced ``produced`` bytes from ``consumed`` compressed
        bytes must stop, or None while it is within the limits."""
        if produced > self.max_bytes:
            return (
                f"zstd rollout expands past {self.max_bytes} bytes "
                "(index.max_decompressed_bytes); not read further"
            )
        if produced > RATIO_FLOOR and produced > consumed * self.max_ratio:
            return (
                f"zstd rollout expands more than {self.max_ratio} times ({produced} bytes "
                f"from {consumed}; index.max_decompression_ratio): a decompression bomb, "
                "not read further"
            )
        return None
