"""Seeding the scale benchmark's big keys: fullon_cache's layout, written in pipelines.

Every value is what fullon_cache writes (``ticker_value`` / ``order_value`` are the demo
writer's own, ``json.dumps`` with its defaults); only the transport differs: fields go out a
thousand per HSET / RPUSH and ten commands per pipeline round trip, so a million entries take
seconds, not the minutes one command per entry would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import redis

from fullon_cache_api.demo.writer import order_value, ticker_value

__all__ = [
    "BOTS_KEY",
    "CORRUPT_KEY",
    "EXCHANGE",
    "OHLCV_KEY",
    "ORDERS_KEY",
    "PROBE_KEY",
    "TICKERS_KEY",
    "TRADES_KEY",
    "bot_value",
    "order_fields",
    "seed_size",
]

EXCHANGE = "scale"
TICKERS_KEY = f"tickers:{EXCHANGE}"
CORRUPT_KEY = "tickers:corrupt"
PROBE_KEY = "tickers:probe"
ORDERS_KEY = f"order_status:{EXCHANGE}"
TRADES_KEY = f"trades:{EXCHANGE}:BTCUSDT"
OHLCV_KEY = "ohlcv:SCALE/USDT:1m"
BOTS_KEY = "bot_status"
_PER_COMMAND = 1000
_PER_PIPELINE = 10


def seed_size(client: redis.Redis, size: int) -> float:
    """Write every big key with `size` entries (plus the probe's one ticker); seconds taken."""
    started = time.monotonic()
    now = time.time()
    client.delete(TICKERS_KEY, CORRUPT_KEY, ORDERS_KEY, TRADES_KEY, OHLCV_KEY, BOTS_KEY)
    ticker = ticker_value("probe", "BTC/USDT", price=64000.0, volume=1.0, time=now, last=64000.0)
    client.hset(PROBE_KEY, "BTC/USDT", ticker)
    _hash(client, TICKERS_KEY, size, lambda i: (_symbol(i), _ticker(i, now)))
    _hash(client, CORRUPT_KEY, size, lambda i: (_symbol(i), _corrupt(i)))
    first = datetime.now(UTC) - timedelta(milliseconds=size)  # one order per millisecond
    _hash(client, ORDERS_KEY, size, lambda i: order_value(order_fields(i), _stamp(first, i)))
    stamp = first.isoformat()
    _hash(client, BOTS_KEY, size, lambda i: (str(1 + i), bot_value(i, stamp)))
    _list(client, TRADES_KEY, size, lambda i: json.dumps(_trade(i, now)))
    minute = int(now // 60) * 60
    _list(client, OHLCV_KEY, size, lambda i: json.dumps(_bar(minute - (size - i) * 60, i)))
    return time.monotonic() - started


def _batches(size: int) -> Iterator[range]:
    for start in range(0, size, _PER_COMMAND):
        yield range(start, min(size, start + _PER_COMMAND))


def _hash(
    client: redis.Redis, key: str, size: int, entry: Callable[[int], tuple[str, str]]
) -> None:
    pipe = client.pipeline(transaction=False)
    for number, batch in enumerate(_batches(size), 1):
        pipe.hset(key, mapping=dict(entry(i) for i in batch))
        if number % _PER_PIPELINE == 0:
            pipe.execute()
    pipe.execute()


def _list(client: redis.Redis, key: str, size: int, element: Callable[[int], str]) -> None:
    pipe = client.pipeline(transaction=False)
    for number, batch in enumerate(_batches(size), 1):
        pipe.rpush(key, *(element(i) for i in batch))
        if number % _PER_PIPELINE == 0:
            pipe.execute()
    pipe.execute()


def _symbol(i: int) -> str:
    return f"S{i:07d}/USDT"


def _ticker(i: int, now: float) -> str:
    price = 1.0 + (i % 9973) / 7.0
    return ticker_value(
        EXCHANGE,
        _symbol(i),
        price=price,
        volume=1000.0 + i,
        time=round(now - (i % 600) * 0.1, 3),
        bid=round(price * 0.9999, 6),
        ask=round(price * 1.0001, 6),
        last=price,
    )


def _corrupt(i: int) -> str:
    """What a torn or foreign write looks like: truncated JSON, or not JSON at all."""
    whole = ticker_value(EXCHANGE, _symbol(i), price=1.5, volume=2.0, time=1.0e9)
    return whole[: 20 + i % 40] if i % 2 else f"<garbage {i}>"


def _stamp(first: datetime, i: int) -> str:
    """Order write times one millisecond apart, the newest for the highest number."""
    return (first + timedelta(milliseconds=i)).isoformat()


def bot_value(i: int, stamp: str) -> str:
    """A ``bot_status`` document as ``update_bot`` writes it (each feed stamped)."""
    feed = {"status": "running", "symbols": ["BTC/USDT"], "timestamp": stamp}
    return json.dumps({"feed_1": feed, "name": f"bot {i}", "uid": 1 + i % 100})


def order_fields(i: int) -> dict[str, object]:
    """The fields of order number `i` (``save_order`` adds ``order_id`` and ``timestamp``)."""
    side = "buy" if i % 2 else "sell"
    return {
        "ex_order_id": str(9_000_000_000 + i),
        "exchange": EXCHANGE,
        "symbol": "BTC/USDT",
        "side": side,
        "order_type": "limit",
        "volume": 0.01 + (i % 100) / 1000.0,
        "final_volume": 0.0,
        "price": 60000.0 + i % 5000,
        "status": ("open", "filled", "cancelled", "partially_filled")[i % 4],
        "command": "open",
        "reason": "signal",
        "plimit": None,
        "leverage": 1.0,
        "futures": False,
        "bot_id": 1 + i % 50,
        "uid": 1,
        "ex_id": 1,
        "tick": None,
    }


def _trade(i: int, now: float) -> dict[str, object]:
    volume = 0.01 + (i % 100) / 1000.0
    price = 60000.0 + i % 5000
    cost = round(volume * price, 4)
    return {
        "trade_id": i + 1,
        "ex_trade_id": f"T{i}",
        "ex_order_id": str(9_000_000_000 + i),
        "uid": 1,
        "ex_id": 1,
        "symbol": "BTC/USDT",
        "order_type": "limit",
        "side": "buy" if i % 2 else "sell",
        "volume": volume,
        "price": price,
        "cost": cost,
        "fee": round(cost * 0.001, 6),
        "time": round(now - 0.001 * i, 3),
    }


def _bar(stamp: int, i: int) -> list[float]:
    base = 60000.0 + (i % 1000)
    return [stamp, base, base + 12.5, base - 11.25, base + 3.0, 10.0 + i % 7]
