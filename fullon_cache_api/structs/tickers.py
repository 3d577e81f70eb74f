"""Structs of the tickers domain (``tickers:{exchange}`` hashes)."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["ExchangeTickers", "Ticker", "TickerExchanges", "TickerList"]


class Ticker(msgspec.Struct, frozen=True, kw_only=True):
    """One cached ticker; `time` is when the feed wrote it, `age_seconds` how long ago."""

    exchange: str
    symbol: str
    price: float | None
    volume: float | None
    bid: float | None
    ask: float | None
    last: float | None
    time: datetime | None
    age_seconds: float | None


class TickerList(msgspec.Struct, frozen=True, kw_only=True):
    """Every ticker of one exchange, sorted by symbol; corrupt entries are counted in `skipped`."""

    exchange: str
    count: int
    skipped: int
    tickers: list[Ticker]


class ExchangeTickers(msgspec.Struct, frozen=True, kw_only=True):
    """An exchange that has tickers in the cache, with how many."""

    exchange: str
    tickers: int


class TickerExchanges(msgspec.Struct, frozen=True, kw_only=True):
    """Every exchange found by scanning ``tickers:*``."""

    count: int
    exchanges: list[ExchangeTickers]
