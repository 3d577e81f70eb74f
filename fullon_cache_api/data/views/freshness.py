"""Freshness views: the ticker feed of each exchange and the tail of each OHLCV series."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ...backend import CacheClient
from ...structs.ohlcv import OhlcvSeries
from ...structs.views import OhlcvFreshness, OhlcvStatus, TickerFeedStatus, TickerStatus
from .._base import BaseReader, Deadline, Scanned
from .._codec import Invalid, to_datetime
from .._cursor import decode_cursor, encode_cursor
from .._limits import DEFAULT_LIMITS, ReadLimits
from .._pages import KEY_PAGE
from .._skips import Skips
from ..ohlcv import OhlcvReader
from ..tickers import _StoredTick
from ._scan import age_of, hash_batches

__all__ = ["FreshnessReader", "interval_seconds"]

_TICKERS = "tickers:"
_OHLCV = "ohlcv:"
_STALE_SYMBOLS_SHOWN = 100
# Seconds per timeframe unit; a month and a year are taken as 30 and 365 days.
_UNIT_SECONDS = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "M": 2592000,
    "y": 31536000,
}
# Epoch values above this are milliseconds (as in _codec: 1e11 s is the year 5138).
_MS_THRESHOLD = 1e11


def interval_seconds(timeframe: str) -> int | None:
    """Seconds per bar of ``{n}{unit}`` (``1m``, ``4h``, ``1d``, ``1w``, ``1M``), else None."""
    match = re.fullmatch(r"([0-9]{1,4})([smhdwMy])", timeframe)
    if match is None or int(match[1]) == 0:
        return None
    return int(match[1]) * _UNIT_SECONDS[match[2]]


@dataclass
class _Feed:
    """Running counts over one exchange's tickers (bounded: no ticker is kept)."""

    symbols: int = 0
    stale: int = 0
    undated: int = 0
    skipped: int = 0
    newest: datetime | None = None
    oldest: datetime | None = None
    stale_symbols: list[str] = field(default_factory=list)

    def add(self, symbol: str, when: datetime | None, cutoff: float) -> None:
        self.symbols += 1
        if when is None:
            self.undated += 1
            return
        self.newest = when if self.newest is None else max(self.newest, when)
        self.oldest = when if self.oldest is None else min(self.oldest, when)
        if when.timestamp() < cutoff:
            self.stale += 1
            self.stale_symbols.append(symbol)
            if len(self.stale_symbols) > 2 * _STALE_SYMBOLS_SHOWN:  # keep memory bounded
                self.stale_symbols = sorted(self.stale_symbols)[:_STALE_SYMBOLS_SHOWN]


class FreshnessReader(BaseReader):
    """Ticker feed status and OHLCV series freshness."""

    def __init__(self, redis: CacheClient, limits: ReadLimits = DEFAULT_LIMITS) -> None:
        super().__init__(redis, limits)
        self._ohlcv = OhlcvReader(redis, limits)

    async def tickers(
        self,
        stale_after: int,
        deadline: Deadline,
        *,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
    ) -> TickerStatus:
        """A page of about `limit` ``tickers:*`` hashes (SCAN from `cursor`), each read whole in
        HSCAN replies, until done or `deadline` spent; ``tickers:`` keys of another Redis type
        are counted in `skipped`."""
        now = time.time()
        feeds: list[TickerFeedStatus] = []
        scanned = await self._page(f"{_TICKERS}*", "hash", deadline, cursor, limit)
        for key in scanned.keys:
            if deadline.spent():
                break
            feed, skips = _Feed(), Skips(key)
            async for batch in hash_batches(self.redis, key, self.limits, deadline):
                for symbol, raw in batch:
                    stored = self.limits.decode(raw, _StoredTick)
                    if isinstance(stored, Invalid):
                        skips.add(symbol, stored.reason)
                        feed.symbols += 1
                        feed.skipped += 1
                        continue
                    feed.add(symbol, to_datetime(stored.time), now - stale_after)
            self.report(skips)
            if feed.symbols:
                feeds.append(_feed_status(key.removeprefix(_TICKERS), feed, now))
        return TickerStatus(
            stale_after=stale_after,
            count=len(feeds),
            symbols=sum(feed.symbols for feed in feeds),
            stale=sum(feed.stale for feed in feeds),
            skipped=len(scanned.wrong_type),
            partial=deadline.cut,
            next_cursor=_next(scanned),
            exchanges=feeds,
        )

    async def ohlcv(
        self, deadline: Deadline, *, cursor: str | None = None, limit: int = KEY_PAGE.default
    ) -> OhlcvStatus:
        """A page of about `limit` series of the domain reader (SCAN ``ohlcv:*`` from `cursor`,
        then LLEN and end bars), read `chunk` commands per pipeline until done or `deadline`
        spent."""
        now = time.time()
        scanned = await self._page(f"{_OHLCV}*", "list", deadline, cursor, limit)
        series: list[OhlcvFreshness] = []
        step = max(1, self.limits.chunk // 3)  # 3 commands per series
        for start in range(0, len(scanned.keys), step):
            if deadline.spent():
                break
            chunk = scanned.keys[start : start + step]
            series.extend(_freshness(found, now) for found in await self._ohlcv.series_of(chunk))
        return OhlcvStatus(
            count=len(series),
            stale=sum(bool(found.stale) for found in series),
            skipped=len(scanned.wrong_type),
            partial=deadline.cut,
            next_cursor=_next(scanned),
            series=series,
        )

    async def _page(
        self, pattern: str, key_type: str, deadline: Deadline, cursor: str | None, limit: int
    ) -> Scanned:
        """The keys of a page: SCAN from `cursor` until about `limit` keys were found."""
        start = 0 if cursor is None else decode_cursor(cursor, "s", tuple[int])[0]
        return await self.scan_typed(pattern, key_type, deadline, start=start, limit=limit)


def _next(scanned: Scanned) -> str | None:
    return None if scanned.next is None else encode_cursor("s", scanned.next)


def _feed_status(exchange: str, feed: _Feed, now: float) -> TickerFeedStatus:
    return TickerFeedStatus(
        exchange=exchange,
        symbols=feed.symbols,
        stale=feed.stale,
        undated=feed.undated,
        skipped=feed.skipped,
        newest_age_seconds=age_of(feed.newest, now),
        oldest_age_seconds=age_of(feed.oldest, now),
        newest_time=feed.newest,
        oldest_time=feed.oldest,
        stale_symbols=sorted(feed.stale_symbols)[:_STALE_SYMBOLS_SHOWN],
    )


def _freshness(series: OhlcvSeries, now: float) -> OhlcvFreshness:
    interval = interval_seconds(series.timeframe)
    age = age_of(series.last_time, now)
    missing: int | None = None
    if interval is not None and age is not None:
        # Bars that opened after the last stored one and have closed by now.
        missing = max(0, math.floor(age / interval) - 1)
    last = series.last
    unit: Literal["s", "ms"] | None = None
    if last is not None and series.last_time is not None:
        unit = "ms" if abs(last) > _MS_THRESHOLD else "s"
    return OhlcvFreshness(
        symbol=series.symbol,
        timeframe=series.timeframe,
        bars=series.bars,
        last=last,
        unit=unit,
        last_time=series.last_time,
        age_seconds=age,
        interval_seconds=interval,
        missing_bars=missing,
        stale=None if missing is None else missing > 0,
    )
