"""Reader of the trades domain (to be written)."""

from __future__ import annotations

from ._base import BaseReader

__all__ = ["TradeReader"]


class TradeReader(BaseReader):
    """Reads the trades domain."""
