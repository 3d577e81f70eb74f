"""Reader of ``tickers:{exchange}`` hashes (field: symbol, value: ``Tick.to_dict()`` JSON).

Listing an exchange is the large read (500 tickers: ~90 KB of JSON). A ticker's answer is a
function of its stored value, except ``age_seconds`` which moves with the clock. So the reader
keeps, per exchange, what each stored value became (its encoded answer up to the age, and its
time in epoch milliseconds); a request decodes only the values that changed since the last
one, and closes every prepared answer with its age, all ages encoded by one msgspec call.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import msgspec

from .._codec import Undecodable, decode, to_datetime
from .._errors import CorruptEntry, NotFound
from .._redis import translate_errors
from .._responses import encode
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


# A prepared ticker: (stored value, its answer up to the age, its time in epoch ms or None).
_Prepared = tuple[bytes, bytes, int | None]
# What a list read found: the prepared answers and times, and the corrupt values (symbol, why).
_Found = tuple[list[bytes], list[int | None], list[tuple[str, Undecodable]]]
# How an unaged Ticker's encoding ends: its head is all before (`age_seconds` is the last field).
_NO_AGE = b"null}"
# Exchanges whose prepared tickers are kept (each bounded by its hash's current fields), and
# the largest stored value kept (a ticker is ~160 bytes; a huge one is prepared every time).
_MAX_BOOKS = 64
_MAX_KEPT = 4096


class _Book:
    """What one exchange's stored tickers became on the last read."""

    __slots__ = ("order", "prepared", "ranked")

    def __init__(self) -> None:
        self.order: list[bytes] = []
        self.ranked: list[bytes] = []
        self.prepared: dict[bytes, _Prepared] = {}

    def ranked_fields(self, stored: dict[bytes, bytes]) -> list[bytes]:
        """The fields of `stored` sorted; sorted again only when Redis's order changed."""
        order = list(stored)
        if order != self.order:
            # Fields came or went (or Redis rehashed): sort again, forget the fields gone.
            self.order, self.ranked = order, sorted(order)
            self.prepared = {f: p for f, p in self.prepared.items() if f in stored}
        return self.ranked

    def answers(self, exchange: str, stored: dict[bytes, bytes]) -> _Found:
        """Every stored ticker prepared, by symbol; values unchanged since the last read are
        not decoded again."""
        heads: list[bytes] = []
        stamps: list[int | None] = []
        corrupt: list[tuple[str, Undecodable]] = []
        ranked = self.ranked_fields(stored)  # first: it may replace `self.prepared`
        prepared = self.prepared
        for field in ranked:
            raw = stored[field]
            entry = prepared.get(field)
            if entry is None or entry[0] != raw:
                try:
                    entry = _prepare(exchange, text(field), raw)
                except Undecodable as exc:
                    corrupt.append((text(field), exc))
                    continue
                if len(raw) <= _MAX_KEPT:
                    prepared[field] = entry
            heads.append(entry[1])
            stamps.append(entry[2])
        return heads, stamps, corrupt


class TickerReader(BaseReader):
    """Tickers of every exchange, found by SCAN (not fullon_cache's five hard-coded names)."""

    _books: dict[str, _Book] | None = None

    async def exchanges(self) -> TickerExchanges:
        """Exchanges with a ``tickers:`` hash and their ticker counts (SCAN, then HLEN each);
        a ``tickers:`` key of another Redis type is counted in `skipped`."""
        scanned = await self.scan_typed("tickers:*", "hash")
        keys = scanned.keys
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
        return TickerExchanges(count=len(found), skipped=len(scanned.wrong_type), exchanges=found)

    async def all(self, exchange: str) -> TickerList:
        """Every ticker of `exchange` (HGETALL); 404 when the exchange has none."""
        key = f"tickers:{exchange}"
        with translate_errors(key):
            # Fields and values are bytes: the gateway's client never decodes replies.
            stored: dict[Any, Any] = await self.redis.hgetall(key)
        if not stored:
            raise NotFound(f"no tickers cached for exchange {exchange!r}")
        heads, stamps, corrupt = self._book(exchange).answers(exchange, stored)
        for symbol, exc in corrupt:
            self.skipped(symbol, key, exc)
        tickers = _aged(heads, stamps, time.time())
        return TickerList(
            exchange=exchange,
            count=len(tickers),
            skipped=len(stored) - len(tickers),
            tickers=tickers,
        )

    def _book(self, exchange: str) -> _Book:
        """The prepared tickers of `exchange` (the oldest exchange is dropped beyond 64)."""
        books = self._books
        if books is None:
            books = self._books = {}
        book = books.get(exchange)
        if book is None:
            if len(books) >= _MAX_BOOKS:
                del books[next(iter(books))]
            book = books[exchange] = _Book()
        return book

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


def _ticker(exchange: str, symbol: str, raw: bytes | str, now: float | None) -> Ticker:
    """The ticker stored as `raw`, aged at `now` (no age when `now` is None)."""
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
        age_seconds=None if when is None or now is None else _age(_millis(when), now),
    )


def _millis(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def _age(stamp: int, now: float) -> float:
    # Whole milliseconds divided once: the float nearest the 3-decimal age, cheaper than round().
    return (round(now * 1000) - stamp) / 1000


def _prepare(exchange: str, symbol: str, raw: bytes) -> _Prepared:
    """`raw` as its encoded answer cut before the age value, and its time in epoch ms."""
    ticker = _ticker(exchange, symbol, raw, None)
    stamp = None if ticker.time is None else _millis(ticker.time)
    return raw, encode(ticker)[: -len(_NO_AGE)], stamp


def _aged(heads: list[bytes], stamps: list[int | None], now: float) -> list[msgspec.Raw]:
    """Each prepared answer closed with its age (ms resolution, like one ticker's)."""
    if not heads:
        return []
    now_ms = round(now * 1000)  # as `_age` computes it, inlined: this loop runs per ticker
    ages = [None if stamp is None else (now_ms - stamp) / 1000 for stamp in stamps]
    # One encode for every age (floats and null never hold a comma), then split.
    encoded = encode(ages)[1:-1].split(b",")
    return [msgspec.Raw(head + age + b"}") for head, age in zip(heads, encoded, strict=True)]
