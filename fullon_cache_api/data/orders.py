"""Reader of the orders domain (to be written)."""

from __future__ import annotations

from ._base import BaseReader

__all__ = ["OrderReader"]


class OrderReader(BaseReader):
    """Reads the orders domain."""
