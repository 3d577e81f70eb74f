"""Structs of the tickers domain (``tickers:{exchange}`` hashes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

__all__ = ["ExchangeTickers", "Ticker", "TickerExchanges", "TickerJson", "TickerList"]


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


# A ticker of a list is spliced in as the encoded `Ticker` (the reader prepares each stored
# value once and only appends its age per request), so its schema is the Ticker component's.
TickerJson = Annotated[
    msgspec.Raw, msgspec.Meta(extra_json_schema={"$ref": "#/components/schemas/Ticker"})
]


class TickerList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the tickers of one exchange, sorted by symbol (the whole hash when it fits);
    corrupt and oversized entries are counted in `skipped`; `next_cursor` fetches the next
    page (null: this was the last)."""

    exchange: str
    count: int
    skipped: int
    next_cursor: str | None = None
    tickers: list[TickerJson]


class ExchangeTickers(msgspec.Struct, frozen=True, kw_only=True):
    """An exchange that has tickers in the cache, with how many."""

    exchange: str
    tickers: int


class TickerExchanges(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The exchanges found by scanning ``tickers:*`` (a page of keys, sorted); `skipped` counts
    ``tickers:`` keys of another Redis type than hash; `next_cursor` continues the scan."""

    count: int
    skipped: int
    next_cursor: str | None = None
    exchanges: list[ExchangeTickers]
