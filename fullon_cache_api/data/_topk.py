"""The `k` smallest of a stream, in memory bounded by `k`: how a sorted page of a whole key is
computed chunk by chunk (the newest orders, the most recent processes).

Candidates are kept until there are twice `k` of them, then cut back to the `k` smallest; the
largest kept key becomes a threshold that most later candidates fail with one comparison. So
a stream of n entries costs about n comparisons plus O(k log k) per cut, and never holds more
than 2k entries.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

__all__ = ["TopK"]

V = TypeVar("V")
Key = tuple[Any, ...]


class TopK(Generic[V]):
    """The `k` entries with the smallest keys among those offered; one per `name`."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._kept: dict[Hashable, tuple[Key, V]] = {}
        self._threshold: Key | None = None  # the k-th smallest key after the last cut

    def offer(self, name: Hashable, key: Key, value: V) -> None:
        """Keep (`key`, `value`) under `name` if it may be among the `k` smallest.

        A `name` offered twice (Redis repeats a field while a hash shrinks) is kept once.
        """
        threshold = self._threshold
        if threshold is not None and not key < threshold:
            return
        self._kept[name] = (key, value)
        if len(self._kept) >= 2 * self.k:
            self._cut()

    def _cut(self) -> None:
        best = heapq.nsmallest(self.k, self._kept.items(), key=lambda item: item[1][0])
        self._kept = dict(best)
        self._threshold = best[-1][1][0] if len(best) >= self.k else None

    def smallest(self) -> list[tuple[Key, V]]:
        """The kept entries with the `k` smallest keys, smallest first."""
        return sorted(self._kept.values(), key=lambda entry: entry[0])[: self.k]
