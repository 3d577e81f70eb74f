"""Reader of ``ohlcv:{symbol}:{timeframe}`` lists (one JSON bar per element, oldest first).

The symbol in the key is whatever the writer passed (``BTC/USDT`` or ``BTCUSDT``; ccxt symbols
such as ``BTC/USDT:USDT`` add a ``:``), so keys are split at the last ``:`` and a lookup tries
both spellings. The exchange is not part of the key, and the timestamp unit (s or ms) is the
writer's choice.
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


class OhlcvReader(BaseReader):
    """Bar series of every symbol and timeframe, read without changing them."""

    async def series(self) -> OhlcvSeriesList:
        """Every series: SCAN ``ohlcv:*`` (list), then one pipeline of LLEN, LRANGE 0 0 and
        LRANGE -1 -1 per key."""
        keys = await self.scan_keys(f"{_PREFIX}*", "list")
        if not keys:
            return OhlcvSeriesList(count=0, series=[])
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
        return OhlcvSeriesList(count=len(found), series=found)

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
        bars: list[msgspec.Raw] = []
        for index, raw in enumerate(raws):
            try:
                bars.append(_bar(raw))
            except Undecodable as exc:
                self.skipped(f"bar #{index} of the window", key, exc)
        return OhlcvBars(
            symbol=symbol,
            timeframe=timeframe,
            key=key,
            length=length,
            count=len(bars),
            skipped=len(raws) - len(bars),
            bars=bars,
        )

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


def _bar(raw: bytes) -> msgspec.Raw:
    """A valid bar as JSON: the stored bytes when strict JSON, else re-encoded (NaN -> null)."""
    try:
        _strict_bar.decode(raw)
    except msgspec.MsgspecError:
        pass
    else:
        return msgspec.Raw(raw)
    bar: Any = decode(raw, _StoredBar)
    return msgspec.Raw(_encode(bar))
