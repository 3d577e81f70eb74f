"""Reader of ``tickers:{exchange}`` hashes (field: symbol, value: ``Tick.to_dict()`` JSON)."""

from __future__ import annotations

import time
from datetime import datetime

import msgspec

from .._codec import Undecodable, decode, to_datetime
from .._errors import CorruptEntry, NotFound
from .._redis import translate_errors
from ..structs.tickers import ExchangeTickers, Ticker, TickerExchanges, TickerList
from ._base import BaseReader, text

__all__ = ["TickerReader"]


class _StoredTick(msgspec.Struct):
    """The keys of ``Tick.to_dict()`` we use; others are ignored."""

    price: float | None = None
    volume: float | None = None
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    time: float | str | None = None


class TickerReader(BaseReader):
    """Tickers of every exchange, found by SCAN (not fullon_cache's five hard-coded names)."""

    async def exchanges(self) -> TickerExchanges:
        """Exchanges with a ``tickers:`` hash and their ticker counts (SCAN, then HLEN each)."""
        keys = await self.scan_keys("tickers:*", "hash")
        with translate_errors("ticker hashes"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hlen(key)
                counts = await pipe.execute()
        found = [
            ExchangeTickers(exchange=key.removeprefix("tickers:"), tickers=count)
            for key, count in zip(keys, counts, strict=True)
            if count
        ]
        return TickerExchanges(count=len(found), exchanges=found)

    async def all(self, exchange: str) -> TickerList:
        """Every ticker of `exchange` (HGETALL); 404 when the exchange has none."""
        key = f"tickers:{exchange}"
        with translate_errors(key):
            stored = await self.redis.hgetall(key)
        if not stored:
            raise NotFound(f"no tickers cached for exchange {exchange!r}")
        now = time.time()
        tickers: list[Ticker] = []
        for field in sorted(stored):
            symbol = text(field)
            try:
                tickers.append(_ticker(exchange, symbol, stored[field], now))
            except Undecodable as exc:
                self.skipped(symbol, key, exc)
        return TickerList(
            exchange=exchange,
            count=len(tickers),
            skipped=len(stored) - len(tickers),
            tickers=tickers,
        )

    async def one(self, exchange: str, symbol: str) -> Ticker:
        """The ticker of `symbol` on `exchange` (HGET) with its age."""
        key = f"tickers:{exchange}"
        with translate_errors(key):
            raw = await self.redis.hget(key, symbol)
        if not raw:
            raise NotFound(f"no ticker cached for {symbol!r} on {exchange!r}")
        try:
            return _ticker(exchange, symbol, raw, time.time())
        except Undecodable as exc:
            raise CorruptEntry(f"ticker {symbol!r} in {key} is not valid JSON: {exc}") from None


def _ticker(exchange: str, symbol: str, raw: bytes | str, now: float) -> Ticker:
    # Like fullon_cache, trust the key and field over the JSON for exchange and symbol.
    stored = decode(raw, _StoredTick)
    when = to_datetime(stored.time)
    return Ticker(
        exchange=exchange,
        symbol=symbol,
        price=stored.price,
        volume=stored.volume,
        bid=stored.bid,
        ask=stored.ask,
        last=stored.last,
        time=when,
        age_seconds=_age(when, now),
    )


def _age(when: datetime | None, now: float) -> float | None:
    return None if when is None else round(now - when.timestamp(), 3)
