"""Skipped entries: counted per answer, logged once per key per interval with the count.

A list endpoint leaves corrupt, oversized or wrong-type entries out and counts them in its
``skipped``. A hash of 100,000 corrupt fields must not write 100,000 log lines per request:
each request adds its `Skips` to the reader's `SkipLog`, which writes one line per key at most
once per `interval` (the first at once) with how many were skipped since the last line and
one example, and holds the rest back for the next line of that key.
"""

from __future__ import annotations

import logging
import time

__all__ = ["SKIP_LOG_INTERVAL", "SkipLog", "Skips"]

# Seconds between two log lines about the same key.
SKIP_LOG_INTERVAL = 60.0
# Keys whose last line time is remembered (the oldest are forgotten first).
_MAX_KEYS = 1024

_log = logging.getLogger("fullon.api.cache.data")


class Skips:
    """The entries one read of `key` left out: how many, and the first one and why."""

    __slots__ = ("count", "first", "key", "reason")

    def __init__(self, key: str) -> None:
        self.key = key
        self.count = 0
        self.first = ""
        self.reason = ""

    def add(self, what: str, reason: object) -> None:
        """One more entry left out (only the first one's name and reason are kept)."""
        if not self.count:
            self.first, self.reason = what, str(reason)[:200]
        self.count += 1


class SkipLog:
    """One warning per key per `interval`, carrying the count of skipped entries."""

    def __init__(self, interval: float = SKIP_LOG_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}  # key -> monotonic time of its last line
        self._held: dict[str, Skips] = {}  # key -> what was skipped since that line

    def report(self, skips: Skips) -> None:
        """Log `skips` now, or hold them until the key's interval has passed."""
        if not skips.count:
            return
        key, now = skips.key, time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            held = self._held.setdefault(key, Skips(key))
            if not held.count:
                held.first, held.reason = skips.first, skips.reason
            held.count += skips.count
            return
        held = self._held.pop(key, skips)
        total = skips.count + (held.count if held is not skips else 0)
        _log.warning(
            "skipped %d entries of %s since the last report (e.g. %s: %s)",
            total,
            key,
            skips.first,
            skips.reason,
            extra={"key": key, "skipped": total},
        )
        self._last.pop(key, None)  # re-inserted last: the dict's order is the forget order
        self._last[key] = now
        while len(self._last) > _MAX_KEYS:
            oldest = next(iter(self._last))
            del self._last[oldest]
            self._held.pop(oldest, None)
