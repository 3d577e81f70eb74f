"""Reader of the processes domain (to be written)."""

from __future__ import annotations

from ._base import BaseReader

__all__ = ["ProcessReader"]


class ProcessReader(BaseReader):
    """Reads the processes domain."""
