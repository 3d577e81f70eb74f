"""A live feed for the demo: moves the seeded data exactly as fullon_cache's writers would.

Each step (4 a second by default) every ticker takes a small random-walk step and is written
with ``set_ticker`` (HSET, SET ``ticker_time``, PUBLISH on ``ticker_updates:{ex}:{symbol}``);
each OHLCV series gets a new bar when its period has completed (append-only, as fullon_cache:
the bar of a period is pushed once, after it ends); a few orders cycle through ``open``,
``partially_filled`` and ``filled``; live processes heartbeat.

What it moves is read from Redis when it starts (the tickers, series and processes that
exist), so it is bounded: no key or field is ever added after the first order cycle.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..backend import stop_if_cancelled
from .writer import CacheWriter

__all__ = ["Simulator"]

_log = logging.getLogger("fullon.api.cache.demo")

_TIMEFRAME = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ORDER_STATUSES = ("open", "partially_filled", "filled")  # never "canceled": it expires hashes
_ORDER_SLOTS = 3
_QUIET_STATUSES = frozenset({"error", "stopped"})  # processes that no longer heartbeat
_MS_THRESHOLD = 1e11  # epoch seconds stay below this until the year 5138


@dataclass
class _Quote:
    """A ticker being moved."""

    exchange: str
    symbol: str
    price: float
    volume: float


@dataclass
class _Series:
    """An OHLCV list being extended, and the bar building up for the running period."""

    symbol: str
    timeframe: str
    seconds: int
    last_stamp: int
    quote: _Quote | None
    unit: int = 1  # 1000 when the series' timestamps are milliseconds (writers choose)
    bar: list[float] = field(default_factory=list)  # open, high, low, close, volume


class Simulator:
    """Writes a live feed into a Redis that holds fullon_cache data (the demo's seed).

    `clock` gives ticker times and bar periods (tests drive it); `step()` does one round of
    every write that is due, `run()` steps until cancelled.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        tick_interval: float = 0.25,
        order_interval: float = 2.0,
        heartbeat_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
    ) -> None:
        self.writer = CacheWriter(redis)
        self.tick_interval = tick_interval
        self.order_interval = order_interval
        self.heartbeat_interval = heartbeat_interval
        self.clock = clock
        self.random = random.Random(seed)  # noqa: S311  # price noise, not cryptography
        self.quotes: list[_Quote] = []
        self.series: list[_Series] = []
        self.processes: list[str] = []
        self._orders_due = 0.0
        self._heartbeats_due = 0.0
        self._order_round = 0

    async def prepare(self) -> None:
        """Find the tickers, OHLCV series and live processes there are to move."""
        redis = self.writer.redis
        self.quotes = []
        for key in sorted([_text(k) async for k in redis.scan_iter("tickers:*", _type="hash")]):
            exchange = key.removeprefix("tickers:")
            for symbol, raw in sorted((await redis.hgetall(key)).items()):
                self.quotes.append(_quote(exchange, _text(symbol), _text(raw)))
        self.series = []
        for key in sorted([_text(k) async for k in redis.scan_iter("ohlcv:*", _type="list")]):
            series = await self._series(key)
            if series is not None:
                self.series.append(series)
        self.processes = []
        for process_id in sorted(map(_text, (await redis.hgetall("process:components")).values())):
            document = await redis.get(f"process:data:{process_id}")
            if document is not None and _status(_text(document)) not in _QUIET_STATUSES:
                self.processes.append(process_id)
        _log.info(
            "simulating %d tickers, %d OHLCV series, %d processes",
            len(self.quotes),
            len(self.series),
            len(self.processes),
        )

    async def _series(self, key: str) -> _Series | None:
        symbol, _, timeframe = key.removeprefix("ohlcv:").rpartition(":")
        found = _TIMEFRAME.fullmatch(timeframe)
        last = await self.writer.redis.lindex(key, -1)
        if found is None or last is None:
            return None
        bar = _bar(_text(last))
        if bar is None:
            return None
        compact = symbol.replace("/", "")
        quote = next((q for q in self.quotes if q.symbol.replace("/", "") == compact), None)
        seconds = int(found.group(1)) * _UNIT_SECONDS[found.group(2)]
        series = _Series(symbol, timeframe, seconds, int(bar[0]), quote)
        series.unit = 1000 if bar[0] > _MS_THRESHOLD else 1
        series.bar = [bar[4]] * 4 + [0.0]
        return series

    async def run(self) -> None:
        """Prepare, then step every `tick_interval` seconds until cancelled.

        A failed step (Redis restarted, say) is logged once per run of failures and the feed
        goes on.
        """
        await self.prepare()
        failing = False
        while True:
            started = time.monotonic()
            try:
                await self.step()
                failing = False
            except RedisError as exc:
                if not failing:
                    _log.warning("demo feed: a write failed (%s); retrying", exc)
                failing = True
            except Exception:  # a bug must show, but never end the feed silently
                if not failing:
                    _log.exception("demo feed: a step failed; retrying")
                failing = True
            # redis-py 8 can finish a command whose task was cancelled and return normally:
            # the cancel is then pending but never delivered, and the feed would run forever.
            stop_if_cancelled()
            await asyncio.sleep(max(0.0, self.tick_interval - (time.monotonic() - started)))

    async def step(self) -> None:
        """One round: every ticker moves; bars, orders and heartbeats when they are due."""
        now = self.clock()
        for quote in self.quotes:
            await self._tick(quote, now)
        for series in self.series:
            await self._extend(series, now)
        if now >= self._orders_due and self.quotes:
            self._orders_due = now + self.order_interval
            await self._orders()
        if now >= self._heartbeats_due:
            self._heartbeats_due = now + self.heartbeat_interval
            for process_id in self.processes:
                await self.writer.update_process(process_id)

    async def _tick(self, quote: _Quote, now: float) -> None:
        quote.price = _rounded(quote.price * math.exp(self.random.gauss(0.0, 0.0004)))
        quote.volume = round(quote.volume + self.random.uniform(0.0, 0.01) * quote.volume / 1000, 4)
        spread = _rounded(quote.price * 0.0001)
        await self.writer.set_ticker(
            quote.exchange,
            quote.symbol,
            price=quote.price,
            volume=quote.volume,
            time=round(now, 3),
            bid=_rounded(quote.price - spread),
            ask=_rounded(quote.price + spread),
            last=quote.price,
        )

    async def _extend(self, series: _Series, now: float) -> None:
        """Fold the current price into the running bar; push the bar once its period ended."""
        open_, high, low, close, volume = series.bar
        if series.quote is not None:
            close = series.quote.price
        else:
            close = _rounded(close * math.exp(self.random.gauss(0.0, 0.0004)))
        volume += self.random.uniform(0.0, 0.05)
        series.bar = [open_, max(high, close), min(low, close), close, volume]
        completed = (int(now // series.seconds) - 1) * series.seconds * series.unit
        if completed <= series.last_stamp:
            return
        bar = [completed, *(_rounded(v) for v in series.bar[:4]), round(series.bar[4], 4)]
        await self.writer.update_ohlcv_bars(series.symbol, series.timeframe, [bar])
        series.last_stamp = completed
        series.bar = [close, close, close, close, 0.0]

    async def _orders(self) -> None:
        """Advance one of a few simulated orders (fields ``SIM-1``..) to its next status."""
        slot = self._order_round % _ORDER_SLOTS
        status = _ORDER_STATUSES[(self._order_round // _ORDER_SLOTS) % len(_ORDER_STATUSES)]
        self._order_round += 1
        quote = self.quotes[slot % len(self.quotes)]
        filled = {"open": 0.0, "partially_filled": 0.5, "filled": 1.0}[status]
        side = "buy" if slot % 2 == 0 else "sell"
        order = {
            "ex_order_id": f"SIM-{slot + 1}",
            "symbol": quote.symbol,
            "side": side,
            "order_type": "limit",
            "volume": 1.0,
            "price": quote.price,
            "status": status,
            "bot_id": 1,
            "final_volume": filled,
            "exchange": quote.exchange,
            "uid": 1,
            "command": "open" if side == "buy" else "close",
            "reason": "signal",
            "plimit": None,
            "leverage": 1.0,
            "futures": False,
            "ex_id": 1,
            "tick": None,
        }
        await self.writer.save_order(quote.exchange, order)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# The stored JSON may hold NaN tokens (fullon_cache writes with json.dumps): the json module
# reads them, and the isfinite checks keep them out of the walk.
def _quote(exchange: str, symbol: str, raw: str) -> _Quote:
    try:
        stored = json.loads(raw)
        price, volume = float(stored.get("price") or 1.0), float(stored.get("volume") or 0.0)
    except (ValueError, TypeError, AttributeError):
        price, volume = 1.0, 0.0
    if not math.isfinite(price) or price <= 0:
        price = 1.0
    return _Quote(exchange, symbol, price, volume if math.isfinite(volume) else 0.0)


def _bar(raw: str) -> list[float] | None:
    try:
        bar = [float(value) for value in json.loads(raw)]
    except (ValueError, TypeError):
        return None
    return bar if len(bar) >= 6 and all(map(math.isfinite, bar)) else None


def _status(raw: str) -> str:
    try:
        return str(json.loads(raw).get("status", ""))
    except (ValueError, AttributeError):
        return ""


def _rounded(value: float) -> float:
    """Six significant digits, at least two decimals (prices of 0.52 and 64250.5 alike)."""
    if value == 0:
        return 0.0
    return round(value, max(2, 5 - math.floor(math.log10(abs(value)))))
