"""The near cache's memory: replies by key and slot, bounded, dropped by invalidations.

An entry is the reply of one read command on one key (``slot`` tells which command and
arguments). Entries are grouped by key because Redis invalidates keys, not fields: one write
to ``tickers:binance`` drops its HGETALL and every HGET of it at once.

Correctness rests on three rules:

- entries are served only while the invalidation link is `active` (tracking accepted and the
  subscription confirmed); going down flushes everything;
- a read marks its key pending before it is sent; an invalidation of the key while the read
  is in flight (or a flush, which bumps `epoch`) spoils it and the reply is not kept;
- every entry expires `ttl` seconds after its read was sent, which bounds staleness even if an
  invalidation is lost without the link noticing.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Any, Final

__all__ = ["MISS", "Store"]

MISS: Final[Any] = object()  # not None: a missing key or field (None) is cached too
_OVERHEAD = 96  # rough bytes per entry beyond its payload (tuple, dict slot, objects)

Entry = tuple[Any, float, int]  # (reply, expires at (monotonic), counted bytes)


class Store:
    """Replies by key then slot, with entry/byte bounds and pending-read book-keeping.

    A reply of more than `max_entry_bytes` is never kept: one big value must not hold memory
    (or push out every hot key) after the request that read it.
    """

    def __init__(
        self, *, ttl: float, max_entries: int, max_bytes: int, max_entry_bytes: int | None = None
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes if max_entry_bytes is None else max_entry_bytes
        self.active = False  # the link confirmed tracking: entries may be served and kept
        self.epoch = 0  # bumped by every flush; a read spanning a flush is not kept
        self.hits = 0
        self.misses = 0
        self.entries = 0
        self.bytes = 0
        self._keys: dict[str, dict[Hashable, Entry]] = {}
        self._pending: dict[str, int] = {}  # key -> reads in flight
        self._spoiled: set[str] = set()  # pending keys invalidated while in flight

    def get(self, key: str, slot: Hashable) -> Any:
        """The cached reply (a copy when mutable), or `MISS`."""
        slots = self._keys.get(key)
        if slots is not None and self.active:
            entry = slots.get(slot)
            if entry is not None:
                if entry[1] > time.monotonic():
                    self.hits += 1
                    return _copy(entry[0])
                self._drop_slot(key, slots, slot)
        self.misses += 1
        return MISS

    def begin(self, key: str) -> tuple[int, float]:
        """Mark a read of `key` in flight; the ticket goes back to `end`."""
        self._pending[key] = self._pending.get(key, 0) + 1
        return self.epoch, time.monotonic()

    def end(self, key: str, slot: Hashable, ticket: tuple[int, float], reply: Any) -> None:
        """The read is over: keep `reply` unless it was spoiled (`MISS`: it failed)."""
        left = self._pending[key] - 1
        spoiled = key in self._spoiled
        if left:
            self._pending[key] = left
        else:
            del self._pending[key]
            self._spoiled.discard(key)
        epoch, sent = ticket
        if reply is MISS or spoiled or epoch != self.epoch or not self.active:
            return
        self._put(key, slot, reply, sent + self.ttl)

    def invalidate(self, keys: Iterable[str]) -> None:
        """Redis says these keys changed: drop them, and spoil reads of them in flight."""
        for key in keys:
            self._drop_key(key)
            if key in self._pending:
                self._spoiled.add(key)

    def flush(self) -> None:
        """Drop everything and spoil every read in flight."""
        self._keys.clear()
        self.entries = self.bytes = 0
        self.epoch += 1

    def _put(self, key: str, slot: Hashable, reply: Any, expires: float) -> None:
        size = _size(reply) + _OVERHEAD
        if size > min(self.max_bytes, self.max_entry_bytes):
            return  # too big to keep: it would only push hot keys out
        slots = self._keys.setdefault(key, {})
        old = slots.get(slot)
        if old is not None:
            self.entries -= 1
            self.bytes -= old[2]
        slots[slot] = (reply, expires, size)
        self.entries += 1
        self.bytes += size
        self._evict()

    def _evict(self) -> None:
        # Oldest keys first (dict order is insertion order): O(1) per eviction, no LRU upkeep.
        while (self.entries > self.max_entries or self.bytes > self.max_bytes) and self._keys:
            self._drop_key(next(iter(self._keys)))

    def _drop_key(self, key: str) -> None:
        slots = self._keys.pop(key, None)
        if slots is not None:
            self.entries -= len(slots)
            self.bytes -= sum(entry[2] for entry in slots.values())

    def _drop_slot(self, key: str, slots: dict[Hashable, Entry], slot: Hashable) -> None:
        entry = slots.pop(slot)
        self.entries -= 1
        self.bytes -= entry[2]
        if not slots:
            del self._keys[key]


def _size(reply: Any) -> int:
    """Payload bytes of a reply (bytes, str, int, None, or lists/dicts of them)."""
    if isinstance(reply, bytes | str):
        return len(reply)
    if isinstance(reply, dict):
        return sum(_size(field) + _size(value) for field, value in reply.items())
    if isinstance(reply, list | tuple):
        return sum(_size(item) for item in reply)
    return 8


def _copy(reply: Any) -> Any:
    # Callers own what they get: a shared dict or list could be changed under the cache.
    if isinstance(reply, dict):
        return dict(reply)
    if isinstance(reply, list):
        return list(reply)
    if isinstance(reply, tuple):  # HSCAN's (cursor, fields)
        return tuple(_copy(part) for part in reply)
    return reply
