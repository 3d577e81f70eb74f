"""Reader of the accounts domain (to be written)."""

from __future__ import annotations

from ._base import BaseReader

__all__ = ["AccountReader"]


class AccountReader(BaseReader):
    """Reads the accounts domain."""
