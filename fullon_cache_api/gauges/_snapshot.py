"""What one collector run found: gauge families with bounded labels, and each part's health.

A family holds plain values (counts, lengths) or epoch timestamps (`ages=True`): those are
shown as ages at scrape time (``now - timestamp``), so an age is right whenever it is scraped,
not only when it was collected. Labels come from the cache's keys (exchange names, process
types, timeframes), which nothing bounds: `Labels` keeps the first `cap` distinct values of a
run and folds the rest under ``other``, and counts what it folded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["OTHER", "Family", "Labels", "PartResult", "Snapshot"]

OTHER = "other"

# How a family combines two values under one label: a sum (counts), the newest or the oldest
# timestamp (ages).
Merge = Literal["sum", "max", "min"]


@dataclass
class Family:
    """One gauge family of a run: name (without the ``fullon_cache_api_`` prefix), help text,
    label names, and a value per label values."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    merge: Merge = "sum"
    ages: bool = False
    values: dict[tuple[str, ...], float] = field(default_factory=dict)

    def put(self, key: tuple[str, ...], value: float) -> None:
        """Combine `value` into the series of `key` (sum, newest or oldest)."""
        old = self.values.get(key)
        if old is None:
            self.values[key] = value
        elif self.merge == "sum":
            self.values[key] = old + value
        elif self.merge == "max":
            self.values[key] = max(old, value)
        else:
            self.values[key] = min(old, value)


class Labels:
    """Bounded values of one label within a run: the first `cap` distinct ones, then
    ``other``."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept: set[str] = set()
        self.folded = 0  # entries shown under ``other`` because the cap was reached

    def __call__(self, value: str) -> str:
        if value in self.kept:
            return value
        if len(self.kept) < self.cap:
            self.kept.add(value)
            return value
        self.folded += 1
        return OTHER


@dataclass
class PartResult:
    """One part of a run (``tickers``, ``processes``, ``queues``, ``ohlcv``): its families,
    whether it was cut short (its time share spent, or labels folded) and the entries it left
    out (unreadable, of another Redis type)."""

    families: list[Family]
    truncated: bool = False
    skipped: int = 0


@dataclass
class Snapshot:
    """The last run: when it ended (epoch seconds), whether Redis answered its PING and how
    fast, and its parts (none when Redis did not answer)."""

    taken_at: float
    redis_up: bool
    ping_seconds: float | None = None
    parts: dict[str, PartResult] = field(default_factory=dict)
