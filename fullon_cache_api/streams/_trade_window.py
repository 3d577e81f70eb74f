"""The newest trades of a queue as a trade stream's poller keeps them between loads.

fullon_cache appends trades at the tail (RPUSH) and its consumers take them from the head (the
whole queue with LRANGE + DEL, or LPOP). A stream needs the newest `OWNED_WINDOW` entries (an
admin's view shows the newest `count`, a non-admin's its own trades among them). The first
load reads them in LRANGE windows of at most `chunk` (the data layer's `ListWalk`); a later
load checks, in one pipeline, that the element it held newest is still where it was (LLEN and
an LRANGE from there of at most `chunk` + 1 elements) and then reads only the trades pushed
since, `chunk` per LRANGE. Anything else (the queue taken, popped, or more than the window
pushed) reads the window again. Entries are decoded at most once, when a view first needs them,
and keep their decoding across loads.
"""

from __future__ import annotations

from typing import Any, cast

from ..backend import CacheClient, translate_errors
from ..data import (
    OWNED_WINDOW,
    CacheReader,
    Invalid,
    ListWalk,
    StoredTrade,
    TradeReader,
    fingerprint,
    trade_from_stored,
)
from ..structs.trades import Trade

__all__ = ["TradeQueueWindow", "TradeTail"]

_UNREAD: Any = object()  # an entry not decoded yet


class TradeQueueWindow:
    """The newest `OWNED_WINDOW` entries of a trade queue and its length; each entry is
    decoded at most once, when a view first needs it."""

    __slots__ = ("_decoded", "_reader", "key", "length", "raws")

    def __init__(
        self,
        reader: TradeReader,
        key: str,
        length: int,
        raws: list[bytes],
        decoded: list[Any] | None = None,
    ) -> None:
        self._reader = reader
        self.key = key
        self.length = length
        self.raws = raws
        self._decoded: list[Any] = decoded if decoded is not None else [_UNREAD] * len(raws)

    def trades(self, start: int) -> list[Trade | None]:
        """The entries from `start` on, oldest first; None for one that does not decode."""
        return [self._trade(index) for index in range(max(start, 0), len(self.raws))]

    def _trade(self, index: int) -> Trade | None:
        found = self._decoded[index]
        if found is _UNREAD:
            stored = self._reader.limits.decode(self.raws[index], StoredTrade)
            if isinstance(stored, Invalid):
                self._reader.skipped(f"trade #{index} of the window", self.key, stored.reason)
                found = None
            else:
                found = trade_from_stored(stored)
            self._decoded[index] = found
        return cast(Trade | None, found)

    def decodings(self) -> list[Any]:
        """What each entry decoded to so far (for the next window's entries in common)."""
        return self._decoded


class TradeTail:
    """The load of one trade queue's poller: the window, read again only where it changed."""

    def __init__(self, key: str, width: int = OWNED_WINDOW) -> None:
        self.key = key
        self.width = width
        self._held: TradeQueueWindow | None = None
        self._newest = ""  # fingerprint of the newest element held

    async def load(self, reader: CacheReader) -> TradeQueueWindow:
        """The queue's newest `width` entries and length (LLEN and LRANGE only: nothing is
        consumed)."""
        held = self._held
        window = None
        if held is not None and held.raws:
            window = await self._grown(reader, held)
        if window is None:
            window = await self._whole(reader)
        self._held = window
        self._newest = fingerprint(window.raws[-1]) if window.raws else ""
        return window

    async def _whole(self, reader: CacheReader) -> TradeQueueWindow:
        walk = ListWalk(reader.redis, self.key, reader.limits, limit=self.width)
        await walk.open()
        windows = [raws async for raws in walk.windows()]
        raws = [raw for window in reversed(windows) for raw in window]
        return TradeQueueWindow(reader.trades, self.key, walk.length, raws)

    async def _grown(self, reader: CacheReader, held: TradeQueueWindow) -> TradeQueueWindow | None:
        """The held window with the trades pushed since; None when the queue changed otherwise
        (or grew by more than the window)."""
        chunk, top = reader.limits.chunk, held.length - 1
        with translate_errors(self.key):
            async with reader.redis.pipeline(transaction=False) as pipe:
                pipe.llen(self.key)
                pipe.lrange(self.key, top, top + chunk)
                length, first = cast(tuple[int, list[bytes]], await pipe.execute())
        length = int(length)
        if not first or fingerprint(first[0]) != self._newest or length - held.length > self.width:
            return None
        new = list(first[1:])
        new += await _range(reader.redis, self.key, held.length + len(new), length - 1, chunk)
        raws = [*held.raws, *new]
        decoded = [*held.decodings(), *[_UNREAD] * len(new)]
        cut = max(0, len(raws) - self.width)
        return TradeQueueWindow(reader.trades, self.key, length, raws[cut:], decoded[cut:])


async def _range(redis: CacheClient, key: str, start: int, stop: int, chunk: int) -> list[bytes]:
    """Elements `start`..`stop` (inclusive), one pipeline of LRANGEs of at most `chunk`."""
    if start > stop:
        return []
    with translate_errors(key):
        async with redis.pipeline(transaction=False) as pipe:
            for low in range(start, stop + 1, chunk):
                pipe.lrange(key, low, min(stop, low + chunk - 1))
            windows = cast(list[list[bytes]], await pipe.execute())
    return [raw for window in windows for raw in window]
