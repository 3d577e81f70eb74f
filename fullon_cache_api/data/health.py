"""Reader of the health domain (to be written)."""

from __future__ import annotations

from ._base import BaseReader

__all__ = ["HealthReader"]


class HealthReader(BaseReader):
    """Reads the health domain."""
