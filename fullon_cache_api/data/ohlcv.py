"""Reader of ``ohlcv:{symbol}:{timeframe}`` lists (one JSON bar per element, oldest first).

The symbol in the key is whatever the writer passed (``BTC/USDT`` or ``BTCUSDT``; ccxt symbols
such as ``BTC/USDT:USDT`` add a ``:``), so keys are split at the last ``:`` and a lookup tries
both spellings. The exchange is not part of the key, and the timestamp unit (s or ms) is the
writer's choice.

Bars are history: once written, only the newest one still moves. So the reader remembers which
stored bars it has found valid (`_KnownBars`, bounded), a request decodes only the bars it has
not seen, and the window is answered as the stored bytes joined into one JSON array.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from .._codec import Undecodable, decode, to_datetime
from .._errors import NotFound
from .._redis import translate_errors
from ..structs.ohlcv import OhlcvBars, OhlcvSeries, OhlcvSeriesList
from ._base import BaseReader

__all__ = ["OhlcvReader"]

_PREFIX = "ohlcv:"

# fullon_cache keeps only lists of at least 6 items; numbers keep their JSON type. Nulls are
# admitted because fullon_cache's reader only checks the length (a None volume is written).
_StoredBar = Annotated[list[int | float | None], msgspec.Meta(min_length=6)]
_strict_bar = msgspec.json.Decoder(_StoredBar)
_encode = msgspec.json.Encoder().encode
_NONE: frozenset[bytes] = frozenset()
# Bars remembered as valid: per series at most two full windows (older versions of the moving
# bar pile up until then), in all at most _BUDGET, each at most _MAX_KEPT bytes (a bar is ~60).
_SERIES_CAP = 20_000
_BUDGET = 50_000
_MAX_KEPT = 512


class _KnownBars:
    """Stored bars already found valid (strict JSON arrays of 6+ numbers), per series key."""

    def __init__(self) -> None:
        self._sets: dict[str, set[bytes]] = {}
        self._total = 0

    def of(self, key: str) -> set[bytes] | frozenset[bytes]:
        """The bars of `key` known to be valid."""
        return self._sets.get(key, _NONE)

    def learn(self, key: str, valid: list[bytes]) -> None:
        """Remember `valid` (bars of `key`'s current window) too; oldest series go first."""
        known = self._sets.pop(key, set())
        self._total -= len(known)
        known.update(valid)
        if len(known) > _SERIES_CAP:
            known = set(valid)
        while self._sets and self._total + len(known) > _BUDGET:
            self._total -= len(self._sets.pop(next(iter(self._sets))))
        self._sets[key] = known
        self._total += len(known)


class OhlcvReader(BaseReader):
    """Bar series of every symbol and timeframe, read without changing them."""

    _known: _KnownBars | None = None

    async def series(self) -> OhlcvSeriesList:
        """Every series: SCAN ``ohlcv:*`` (list), then one pipeline of LLEN, LRANGE 0 0 and
        LRANGE -1 -1 per key."""
        scanned = await self.scan_typed(f"{_PREFIX}*", "list")
        found = await self.series_of(scanned.keys)
        return OhlcvSeriesList(count=len(found), skipped=len(scanned.wrong_type), series=found)

    async def series_of(self, keys: list[str]) -> list[OhlcvSeries]:
        """The series of `keys` (lists): one pipeline of LLEN, LRANGE 0 0, LRANGE -1 -1 each."""
        if not keys:
            return []
        with translate_errors("ohlcv series"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                    pipe.lrange(key, 0, 0)
                    pipe.lrange(key, -1, -1)
                # A key retyped since SCAN answers error replies; it is left out below.
                replies = await pipe.execute(raise_on_error=False)
        found: list[OhlcvSeries] = []
        for index, key in enumerate(keys):
            length, head, tail = replies[3 * index : 3 * index + 3]
            # Split at the LAST ':' (the symbol may hold one, the timeframe never does).
            symbol, _, timeframe = key.removeprefix(_PREFIX).rpartition(":")
            if isinstance(length, int) and length and symbol and timeframe:
                found.append(self._series(key, symbol, timeframe, int(length), head, tail))
        return found

    async def bars(self, symbol: str, timeframe: str, limit: int) -> OhlcvBars:
        """The newest `limit` bars, oldest first. One pipeline of LLEN and LRANGE -limit -1 on
        ``ohlcv:{symbol}:{tf}`` and, when the symbol has a ``/``, on the slash-less spelling;
        the first key that exists wins."""
        keys = _spellings(symbol, timeframe)
        with translate_errors(keys[0]):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                    pipe.lrange(key, -limit, -1)
                # Per-command errors come back unwrapped, so WRONGTYPE reads as such (502).
                replies = await pipe.execute()
        for index, key in enumerate(keys):
            length, raws = replies[2 * index : 2 * index + 2]
            if length:
                return self._bars(symbol, timeframe, key, int(length), raws)
        raise NotFound(f"no {timeframe} bars cached for {symbol!r}")

    def _bars(
        self, symbol: str, timeframe: str, key: str, length: int, raws: list[bytes]
    ) -> OhlcvBars:
        known = self._known
        if known is None:
            known = self._known = _KnownBars()
        # Usually every bar was seen before: one C-level pass, no decoding.
        bars = raws if known.of(key).issuperset(raws) else self._checked(key, raws, known)
        return OhlcvBars(
            symbol=symbol,
            timeframe=timeframe,
            key=key,
            length=length,
            count=len(bars),
            skipped=len(raws) - len(bars),
            bars=msgspec.Raw(b"[" + b",".join(bars) + b"]"),
        )

    def _checked(self, key: str, raws: list[bytes], known: _KnownBars) -> list[bytes]:
        """The valid bars of `raws` as JSON (NaN re-encoded as null); the rest logged, left out."""
        seen = known.of(key)
        bars: list[bytes] = []
        valid: list[bytes] = []
        for index, raw in enumerate(raws):
            try:
                bar = raw if raw in seen else _bar(raw)
            except Undecodable as exc:
                self.skipped(f"bar #{index} of the window", key, exc)
                continue
            bars.append(bar)
            if bar is raw and len(raw) <= _MAX_KEPT:
                valid.append(raw)
        known.learn(key, valid)
        return bars

    def _series(
        self,
        key: str,
        symbol: str,
        timeframe: str,
        length: int,
        head: list[bytes] | Exception,
        tail: list[bytes] | Exception,
    ) -> OhlcvSeries:
        first = self._timestamp(key, head)
        last = self._timestamp(key, tail)
        return OhlcvSeries(
            symbol=symbol,
            timeframe=timeframe,
            bars=length,
            first=first,
            last=last,
            first_time=to_datetime(first),
            last_time=to_datetime(last),
        )

    def _timestamp(self, key: str, raws: list[bytes] | Exception) -> int | float | None:
        if isinstance(raws, Exception) or not raws:
            return None
        try:
            stamp: int | float | None = decode(raws[0], _StoredBar)[0]
        except Undecodable as exc:
            self.skipped("an end bar", key, exc)
            return None
        return stamp


def _spellings(symbol: str, timeframe: str) -> list[str]:
    keys = [f"{_PREFIX}{symbol}:{timeframe}"]
    if "/" in symbol:
        keys.append(f"{_PREFIX}{symbol.replace('/', '')}:{timeframe}")
    return keys


def _bar(raw: bytes) -> bytes:
    """A valid bar as JSON: `raw` itself when strict JSON, else re-encoded (NaN -> null)."""
    try:
        _strict_bar.decode(raw)
    except msgspec.MsgspecError:
        pass
    else:
        return raw
    bar: Any = decode(raw, _StoredBar)
    return _encode(bar)
