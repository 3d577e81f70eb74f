"""Structs of the OHLCV domain (``ohlcv:{symbol}:{timeframe}`` lists of JSON bars)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

__all__ = ["Bar", "Bars", "OhlcvBars", "OhlcvSeries", "OhlcvSeriesList"]

_BAR_SCHEMA = {
    "description": "[timestamp, open, high, low, close, volume, ...] as stored (NaN as null)",
    "type": "array",
    "items": {"type": ["number", "null"]},
    "minItems": 6,
}
# A bar is sent as the stored JSON array (``msgspec.Raw``), so its schema is spelled out here.
Bar = Annotated[msgspec.Raw, msgspec.Meta(extra_json_schema=_BAR_SCHEMA)]
# The bars of an answer: one JSON array joined from the stored bars (1000 bars cost one
# splice, not 1000 Raw objects), documented as the array of `Bar` it is.
Bars = Annotated[
    msgspec.Raw, msgspec.Meta(extra_json_schema={"type": "array", "items": _BAR_SCHEMA})
]


class OhlcvSeries(msgspec.Struct, frozen=True, kw_only=True):
    """One cached bar series; `first`/`last` are the stored timestamps of its end bars."""

    symbol: str
    timeframe: str
    bars: int
    first: int | float | None
    last: int | float | None
    first_time: datetime | None
    last_time: datetime | None


class OhlcvSeriesList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the series found by scanning ``ohlcv:*``, sorted by key; `skipped` counts
    ``ohlcv:`` keys of another Redis type than list; `next_cursor` continues the scan."""

    count: int
    skipped: int
    next_cursor: str | None = None
    series: list[OhlcvSeries]


class OhlcvBars(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the newest bars of one series, oldest first; `key` is the spelling found in
    Redis; `next_cursor` fetches the page of older bars (null: none)."""

    symbol: str
    timeframe: str
    key: str
    length: int
    count: int
    skipped: int
    next_cursor: str | None = None
    bars: Bars
