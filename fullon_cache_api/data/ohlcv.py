"""Reader of the ohlcv domain (to be written)."""

from __future__ import annotations

from ._base import BaseReader

__all__ = ["OhlcvReader"]


class OhlcvReader(BaseReader):
    """Reads the ohlcv domain."""
