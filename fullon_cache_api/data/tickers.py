"""Reader of ``tickers:{exchange}`` hashes (field: symbol, value: ``Tick.to_dict()`` JSON).

Listing an exchange is the large read (500 tickers: ~90 KB of JSON). It is a page: a hash of up
to about `chunk` (1000) fields comes whole in one HSCAN reply and is answered sorted by symbol;
a bigger one is answered `limit` fields at a time, each page decoded reply by reply (see
``_chunks``) and sorted, with a ``next_cursor``.

A ticker's answer is a function of its stored value, except ``age_seconds`` which moves with
the clock. So the reader keeps, per exchange whose hash comes whole in one reply, what each
stored value became (its encoded answer up to the age, and its time in epoch milliseconds); a
request decodes only the values that changed since the last one, and closes every prepared
answer with its age, all ages encoded by one msgspec call.
"""

from __future__ import annotations

import time
from datetime import datetime

import msgspec

from .._errors import CorruptEntry, NotFound
from ..backend import translate_errors
from ..structs.tickers import ExchangeTickers, Ticker, TickerExchanges, TickerList
from ._base import BaseReader, Deadline, text
from ._chunks import HashWalk, pipelined
from ._codec import Invalid, decode, to_datetime
from ._cursor import decode_cursor, encode_cursor
from ._instrument import timed_read
from ._limits import ReadLimits
from ._pages import ENTRY_PAGE, KEY_PAGE
from ._skips import Skips

__all__ = ["TickerReader"]

# The data layer encodes a ticker once, ahead of its ages (msgspec's defaults, like the
# responses' encoder), so answers splice bytes instead of encoding per request.
encode = msgspec.json.Encoder().encode


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
# What a list read found: the prepared answers and their times, in symbol order.
_Found = tuple[list[bytes], list[int | None]]
# How an unaged Ticker's encoding ends: its head is all before (`age_seconds` is the last field).
_NO_AGE = b"null}"
# Exchanges whose prepared tickers are kept (each bounded by its hash's current fields, which
# came in one reply), and the largest stored value kept (a ticker is ~160 bytes).
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

    def answers(
        self, exchange: str, stored: dict[bytes, bytes], limits: ReadLimits, skips: Skips
    ) -> _Found:
        """Every stored ticker prepared, by symbol; values unchanged since the last read are
        not decoded again. Corrupt and oversized ones are added to `skips`."""
        heads: list[bytes] = []
        stamps: list[int | None] = []
        ranked = self.ranked_fields(stored)  # first: it may replace `self.prepared`
        prepared = self.prepared
        for field in ranked:
            raw = stored[field]
            entry = prepared.get(field)
            if entry is None or entry[0] != raw:
                found = _prepare(exchange, field, raw, limits)
                if isinstance(found, str):
                    skips.add(text(field), found)
                    continue
                entry = found
                if len(raw) <= _MAX_KEPT:
                    prepared[field] = entry
            heads.append(entry[1])
            stamps.append(entry[2])
        return heads, stamps


class TickerReader(BaseReader):
    """Tickers of every exchange, found by SCAN (not fullon_cache's five hard-coded names)."""

    _books: dict[str, _Book] | None = None

    @timed_read
    async def exchanges(
        self, *, cursor: str | None = None, limit: int = KEY_PAGE.default
    ) -> TickerExchanges:
        """Exchanges with a ``tickers:`` hash and their ticker counts (SCAN, then HLEN each), a
        page of about `limit` keys; a ``tickers:`` key of another Redis type is counted in
        `skipped`."""
        start = 0 if cursor is None else decode_cursor(cursor, "s", tuple[int])[0]
        deadline = Deadline(self.limits.budget)
        scanned = await self.scan_typed("tickers:*", "hash", deadline, start=start, limit=limit)
        keys = scanned.keys
        counts = await pipelined(
            self.redis, "ticker hashes", keys, lambda pipe, key: pipe.hlen(key), self.limits.chunk
        )
        found = [
            ExchangeTickers(exchange=key.removeprefix("tickers:"), tickers=count)
            for key, count in zip(keys, counts, strict=True)
            if isinstance(count, int) and count
        ]
        return TickerExchanges(
            count=len(found),
            skipped=len(scanned.wrong_type),
            next_cursor=_next("s", scanned.next),
            exchanges=found,
        )

    @timed_read
    async def all(
        self, exchange: str, *, cursor: str | None = None, limit: int = ENTRY_PAGE.default
    ) -> TickerList:
        """A page of the tickers of `exchange` (HSCAN), sorted by symbol; 404 when the exchange
        has none. A hash that fits the page comes whole; `next_cursor` continues a bigger one."""
        key = f"tickers:{exchange}"
        start = 0 if cursor is None else decode_cursor(cursor, "h", tuple[int])[0]
        walk = HashWalk(self.redis, key, self.limits, start=start, limit=limit)
        skips = Skips(key)
        heads: list[bytes] = []
        stamps: list[int | None] = []
        stored = await walk.reply()
        if stored is not None and walk.whole:  # one reply held the whole hash
            heads, stamps = self._book(exchange).answers(exchange, stored, self.limits, skips)
        elif stored is not None:
            prepared = self._prepared(exchange, stored, skips)
            while (stored := await walk.reply()) is not None:
                prepared.extend(self._prepared(exchange, stored, skips))
            prepared.sort()
            heads = [head for _, head, _ in prepared]
            stamps = [stamp for _, _, stamp in prepared]
        self.report(skips)
        if walk.whole and walk.read == 0:
            raise NotFound(f"no tickers cached for exchange {exchange!r}")
        tickers = _aged(heads, stamps, time.time())
        return TickerList(
            exchange=exchange,
            count=len(tickers),
            skipped=skips.count,
            next_cursor=_next("h", walk.next),
            tickers=tickers,
        )

    def _prepared(
        self, exchange: str, stored: dict[bytes, bytes], skips: Skips
    ) -> list[tuple[bytes, bytes, int | None]]:
        """(symbol, prepared answer, time) of each ticker of one reply; the rest in `skips`."""
        found: list[tuple[bytes, bytes, int | None]] = []
        for field, raw in stored.items():
            entry = _prepare(exchange, field, raw, self.limits)
            if isinstance(entry, str):
                skips.add(text(field), entry)
            else:
                found.append((field, entry[1], entry[2]))
        return found

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

    @timed_read
    async def one(self, exchange: str, symbol: str) -> Ticker:
        """The ticker of `symbol` on `exchange` (HGET) with its age."""
        key = f"tickers:{exchange}"
        with translate_errors(key):
            raw = await self.redis.hget(key, symbol)
        if not raw:
            raise NotFound(f"no ticker cached for {symbol!r} on {exchange!r}")
        stored = self.limits.decode(raw, _StoredTick)
        if isinstance(stored, Invalid):
            raise CorruptEntry(f"ticker {symbol!r} in {key} is not valid: {stored.reason}")
        return _from_stored(exchange, symbol, stored, time.time())


def _next(kind: str, cursor: int | None) -> str | None:
    """The next_cursor of a SCAN (``s``) or HSCAN (``h``) page that stopped at `cursor`."""
    return None if cursor is None else encode_cursor(kind, cursor)


def _ticker(exchange: str, symbol: str, raw: bytes | str, now: float | None) -> Ticker:
    """The ticker stored as `raw`, aged at `now` (no age when `now` is None); raises
    `Undecodable`."""
    return _from_stored(exchange, symbol, decode(raw, _StoredTick), now)


def _from_stored(exchange: str, symbol: str, stored: _StoredTick, now: float | None) -> Ticker:
    """The answer of a decoded ticker, aged at `now` (no age when `now` is None)."""
    # Like fullon_cache, trust the key and field over the JSON for exchange and symbol.
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


def _prepare(exchange: str, field: bytes, raw: bytes, limits: ReadLimits) -> _Prepared | str:
    """`raw` as its encoded answer cut before the age value, and its time in epoch ms; or why
    it is left out (oversized values are not decoded)."""
    stored = limits.decode(raw, _StoredTick)
    if isinstance(stored, Invalid):
        return stored.reason
    ticker = _from_stored(exchange, text(field), stored, None)
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
