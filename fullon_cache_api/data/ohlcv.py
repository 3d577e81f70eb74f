"""Reader of ``ohlcv:{symbol}:{timeframe}`` lists (one JSON bar per element, oldest first).

The symbol in the key is whatever the writer passed (``BTC/USDT`` or ``BTCUSDT``; ccxt symbols
such as ``BTC/USDT:USDT`` add a ``:``), so keys are split at the last ``:`` and a lookup tries
both spellings. The exchange is not part of the key, and the timestamp unit (s or ms) is the
writer's choice.

Bars are history: once written, only the newest one still moves. So the reader remembers which
stored bars it has found valid (`_KnownBars`, bounded), a request decodes only the bars it has
not seen, and the window is answered as the stored bytes joined into one JSON array. A series
is read in LRANGE windows of `chunk` bars, newest first (see ``_lists``), and answered a page
at a time with a ``next_cursor`` to older bars.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from .._errors import NotFound
from ..structs.ohlcv import OhlcvBars, OhlcvSeries, OhlcvSeriesList
from ._base import BaseReader, Deadline
from ._chunks import pipelined
from ._codec import Invalid, attempt, to_datetime
from ._cursor import decode_cursor, encode_cursor
from ._instrument import timed_read
from ._lists import ListWalk, newest_windows
from ._pages import BAR_PAGE, KEY_PAGE
from ._skips import Skips

__all__ = ["BAR_PAGE", "OhlcvReader"]

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

    @timed_read
    async def series(
        self, *, cursor: str | None = None, limit: int = KEY_PAGE.default
    ) -> OhlcvSeriesList:
        """A page of series: SCAN ``ohlcv:*`` (list), then LLEN, LRANGE 0 0 and LRANGE -1 -1
        per key, `chunk` commands per round trip."""
        start = 0 if cursor is None else decode_cursor(cursor, "s", tuple[int])[0]
        deadline = Deadline(self.limits.budget)
        scanned = await self.scan_typed(f"{_PREFIX}*", "list", deadline, start=start, limit=limit)
        found = await self.series_of(scanned.keys)
        return OhlcvSeriesList(
            count=len(found),
            skipped=len(scanned.wrong_type),
            next_cursor=None if scanned.next is None else encode_cursor("s", scanned.next),
            series=found,
        )

    @timed_read
    async def series_of(self, keys: list[str]) -> list[OhlcvSeries]:
        """The series of `keys` (lists): LLEN, LRANGE 0 0, LRANGE -1 -1 each, pipelined."""
        replies = await pipelined(
            self.redis, "ohlcv series", keys, _queue_ends, max(1, self.limits.chunk // 3)
        )
        skips = Skips("ohlcv series")
        found: list[OhlcvSeries] = []
        for index, key in enumerate(keys):
            length, head, tail = replies[3 * index : 3 * index + 3]
            # Split at the LAST ':' (the symbol may hold one, the timeframe never does).
            symbol, _, timeframe = key.removeprefix(_PREFIX).rpartition(":")
            # A key retyped since SCAN answers error replies; it is left out.
            if isinstance(length, int) and length and symbol and timeframe:
                found.append(self._series(key, symbol, timeframe, int(length), head, tail, skips))
        self.report(skips)
        return found

    @timed_read
    async def bars(
        self,
        symbol: str,
        timeframe: str,
        limit: int = BAR_PAGE.default,
        *,
        cursor: str | None = None,
    ) -> OhlcvBars:
        """The newest `limit` bars older than `cursor`, oldest first. ``ohlcv:{symbol}:{tf}``
        and, when the symbol has a ``/``, the slash-less spelling are tried in one pipeline
        (LLEN and the newest window of each); the first key that exists wins."""
        ListWalk.checked(cursor)  # a cursor that is no list position: 422 before any read
        keys = _spellings(symbol, timeframe)
        width = max(1, min(limit, self.limits.chunk))
        if cursor is None:
            firsts = await newest_windows(self.redis, keys, width)
        else:  # the page continues below the cursor: only the lengths are needed here
            lengths = await pipelined(
                self.redis, keys[0], keys, lambda pipe, key: pipe.llen(key), len(keys)
            )
            firsts = [(length if isinstance(length, int) else 0, []) for length in lengths]
        for key, first in zip(keys, firsts, strict=True):
            if first[0]:
                return await self._bars(symbol, timeframe, key, limit, cursor, first)
        raise NotFound(f"no {timeframe} bars cached for {symbol!r}")

    async def _bars(
        self,
        symbol: str,
        timeframe: str,
        key: str,
        limit: int,
        cursor: str | None,
        first: tuple[int, list[bytes]],
    ) -> OhlcvBars:
        known = self._known
        if known is None:
            known = self._known = _KnownBars()
        walk = ListWalk(self.redis, key, self.limits, limit=limit, cursor=cursor)
        await walk.open(first if cursor is None else None)
        skips = Skips(key)
        only = walk.only_window()
        if only is not None:  # the usual page: the newest window, already read
            windows = [self._valid(key, only, known, skips)]
        else:
            windows = [self._valid(key, raws, known, skips) async for raws in walk.windows()]
        self.report(skips)
        bars = windows[0] if len(windows) == 1 else [b for w in reversed(windows) for b in w]
        return OhlcvBars(
            symbol=symbol,
            timeframe=timeframe,
            key=key,
            length=walk.length,
            count=len(bars),
            skipped=skips.count,
            next_cursor=walk.next_cursor,
            bars=msgspec.Raw(b"[" + b",".join(bars) + b"]"),
        )

    def _valid(self, key: str, raws: list[bytes], known: _KnownBars, skips: Skips) -> list[bytes]:
        """The valid bars of one window (usually every bar was seen before: one C-level pass,
        no decoding)."""
        return raws if known.of(key).issuperset(raws) else self._checked(key, raws, skips)

    def _checked(self, key: str, raws: list[bytes], skips: Skips) -> list[bytes]:
        """The valid bars of `raws` as JSON (NaN re-encoded as null); the rest in `skips`."""
        known = self._known
        assert known is not None
        seen = known.of(key)
        bars: list[bytes] = []
        valid: list[bytes] = []
        for raw in raws:
            bar = raw if raw in seen else _bar(raw, self.limits.max_value_bytes)
            if isinstance(bar, Invalid):
                skips.add("a bar", bar.reason)
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
        skips: Skips,
    ) -> OhlcvSeries:
        first = self._timestamp(key, head, skips)
        last = self._timestamp(key, tail, skips)
        return OhlcvSeries(
            symbol=symbol,
            timeframe=timeframe,
            bars=length,
            first=first,
            last=last,
            first_time=to_datetime(first),
            last_time=to_datetime(last),
        )

    def _timestamp(
        self, key: str, raws: list[bytes] | Exception, skips: Skips
    ) -> int | float | None:
        if isinstance(raws, Exception) or not raws:
            return None
        bar = self.limits.decode(raws[0], _StoredBar)
        if isinstance(bar, Invalid):
            skips.add(f"an end bar of {key}", bar.reason)
            return None
        stamp: int | float | None = bar[0]
        return stamp


def _queue_ends(pipe: Any, key: str) -> None:
    pipe.llen(key)
    pipe.lrange(key, 0, 0)
    pipe.lrange(key, -1, -1)


def _spellings(symbol: str, timeframe: str) -> list[str]:
    keys = [f"{_PREFIX}{symbol}:{timeframe}"]
    if "/" in symbol:
        keys.append(f"{_PREFIX}{symbol.replace('/', '')}:{timeframe}")
    return keys


def _bar(raw: bytes, max_bytes: int) -> bytes | Invalid:
    """A valid bar as JSON: `raw` itself when strict JSON, else re-encoded (NaN -> null); or
    why it is not one (an oversized value is not decoded)."""
    if len(raw) > max_bytes:
        return Invalid(f"oversized: {len(raw)} bytes, above the {max_bytes}-byte limit")
    try:
        _strict_bar.decode(raw)
    except msgspec.MsgspecError:
        pass
    else:
        return raw
    bar: Any = attempt(raw, _StoredBar)  # NaN or Infinity (re-encoded as null), or corrupt
    return bar if isinstance(bar, Invalid) else _encode(bar)
