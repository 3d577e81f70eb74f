"""Answers whose gateway Struct carries pre-encoded JSON (`msgspec.Raw`, spliced in by the
server for speed), decoded by the client into typed values: subclasses of the gateway's
Structs, so ``isinstance(page, TickerList)`` holds."""

from __future__ import annotations

from ..structs.ohlcv import OhlcvBars
from ..structs.tickers import Ticker, TickerList

__all__ = ["Bar", "BarPage", "TickerPage"]

# A bar as stored: [timestamp, open, high, low, close, volume, ...] (NaN answered as null).
Bar = list[int | float | None]


class TickerPage(TickerList, frozen=True, kw_only=True, omit_defaults=True):
    """`TickerList` with its tickers decoded as `Ticker` Structs."""

    tickers: list[Ticker]  # type: ignore[assignment]  # the Raw of the server, decoded


class BarPage(OhlcvBars, frozen=True, kw_only=True, omit_defaults=True):
    """`OhlcvBars` with its bars decoded as lists of numbers, oldest first."""

    bars: list[Bar]  # type: ignore[assignment]  # the Raw of the server, decoded
