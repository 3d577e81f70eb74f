"""The benchmark data set, written through `CacheWriter` exactly as fullon_cache writes it.

Sizes follow a busy fullon deployment: 500 tickers on one exchange, a 10000-bar and a 1000-bar
series, 1000 orders in one hash, positions, bots and processes. Values are deterministic (no
random source) so runs compare; only the clock moves.
"""

from __future__ import annotations

import math
import time
from typing import Any

import msgspec
from redis.asyncio import Redis

from fullon_cache_api.demo import CacheWriter

__all__ = ["DATA", "DataSet", "seed"]


class DataSet(msgspec.Struct, frozen=True, kw_only=True):
    """What the seeded database holds, and the keys the benchmark cases request."""

    exchange: str = "binance"
    tickers: int = 500
    symbol: str = "BTC/USDT"
    long_series: tuple[str, str, int] = ("BTC/USDT", "1m", 10000)
    short_series: tuple[str, str, int] = ("ETH/USDT", "1m", 1000)
    orders: int = 1000
    order_id: str = "9100000500"
    accounts: int = 20
    bots: int = 50
    bot_id: str = "7"
    processes: int = 100


DATA = DataSet()


async def seed(url: str, data: DataSet = DATA) -> None:
    """Write `data` into the Redis at `url` (database 0 of a private server)."""
    client = Redis.from_url(url)
    try:
        writer = CacheWriter(client)
        now = time.time()
        await _tickers(writer, data, now)
        await _ohlcv(writer, data, now)
        await _orders(writer, data)
        await _accounts(writer, data, now)
        await _bots(writer, data)
        for n in range(data.processes):
            kind = ("tick", "ohlcv", "bot", "account", "order")[n % 5]
            await writer.register_process(kind, f"{kind}_{n}", {"n": n}, status="running")
    finally:
        await client.aclose()


def _symbols(data: DataSet) -> list[str]:
    majors = [data.symbol, "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"]
    return majors + [f"C{n:03d}/USDT" for n in range(data.tickers - len(majors))]


async def _tickers(writer: CacheWriter, data: DataSet, now: float) -> None:
    for n, symbol in enumerate(_symbols(data)):
        price = round(100.0 + 997.13 * abs(math.sin(n + 1)), 4)
        spread = round(price * 0.0001, 6)
        await writer.set_ticker(
            data.exchange,
            symbol,
            price=price,
            volume=round(1000.0 + 12345.678 * abs(math.cos(n)), 3),
            time=round(now - n * 0.01, 3),
            bid=round(price - spread, 6),
            ask=round(price + spread, 6),
            last=price,
        )


async def _ohlcv(writer: CacheWriter, data: DataSet, now: float) -> None:
    for symbol, timeframe, count in (data.long_series, data.short_series):
        start = (int(now // 60) - count) * 60_000  # ccxt style: epoch milliseconds
        bars = [_bar(start + i * 60_000, i) for i in range(count)]
        await writer.update_ohlcv_bars(symbol, timeframe, bars)


def _bar(stamp: int, i: int) -> list[float | int]:
    close = round(64000.0 * (1 + 0.002 * (3 * math.sin(i / 23) + math.sin(i / 5))), 2)
    wick = round(64000.0 * 0.002 * (0.4 + 0.3 * abs(math.sin(i / 3))), 2)
    open_ = round(close - wick / 2, 2)
    volume = round(10 + 8 * abs(math.sin(i / 7)), 4)
    return [stamp, open_, round(close + wick, 2), round(open_ - wick, 2), close, volume]


async def _orders(writer: CacheWriter, data: DataSet) -> None:
    statuses = ("open", "filled", "partially_filled", "rejected")  # "canceled" would expire
    symbols = _symbols(data)
    for n in range(data.orders):
        order: dict[str, Any] = {
            "ex_order_id": str(9100000000 + n),
            "exchange": data.exchange,
            "symbol": symbols[n % len(symbols)],
            "order_type": "limit",
            "side": "buy" if n % 2 else "sell",
            "status": statuses[n % len(statuses)],
            "volume": round(0.01 * (n % 17 + 1), 4),
            "final_volume": 0.0,
            "price": round(100.0 + n * 0.37, 2),
            "plimit": None,
            "leverage": 1.0,
            "futures": False,
            "bot_id": n % data.bots,
            "uid": 1,
            "ex_id": 1,
            "command": "open",
            "reason": "signal",
            "tick": None,
        }
        await writer.save_order(data.exchange, order)


async def _accounts(writer: CacheWriter, data: DataSet, now: float) -> None:
    for ex_id in range(1, data.accounts + 1):
        balances = {"USDT": {"free": 25000.0, "used": 5000.0, "total": 30000.0}}
        await writer.upsert_user_account(ex_id, balances)
        positions = [
            {"symbol": symbol, "cost": 1000.0, "volume": 0.5, "price": 2000.0, "timestamp": now}
            for symbol in _symbols(data)[:10]
        ]
        await writer.upsert_positions(ex_id, positions)


async def _bots(writer: CacheWriter, data: DataSet) -> None:
    symbols = _symbols(data)
    for bot_id in range(data.bots):
        feeds = {
            f"feed_{n}": {"status": "running", "exchange": data.exchange, "symbol": symbol}
            for n, symbol in enumerate(symbols[bot_id % 50 : bot_id % 50 + 2])
        }
        document = {"name": f"bot_{bot_id}", "strategy": "trend", "live": True, **feeds}
        await writer.update_bot(bot_id, document)
