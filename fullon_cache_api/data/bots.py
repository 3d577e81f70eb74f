"""Reader of the bots domain (to be written)."""

from __future__ import annotations

from ._base import BaseReader

__all__ = ["BotReader"]


class BotReader(BaseReader):
    """Reads the bots domain."""
