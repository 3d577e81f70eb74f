"""Realistic sample data for all seven fullon_cache domains, written through `CacheWriter`.

Every value is fixed except the clock: tickers, positions, bars and processes are stamped
relative to "now", so the demo looks live (fresh ages, bars ending at the current minute).
"""

from __future__ import annotations

import math
import time
from typing import Any

import msgspec

from .writer import CacheWriter

__all__ = ["SeedSummary", "seed"]

# exchange -> (symbol, price, 24h volume)
_TICKERS = {
    "binance": [
        ("BTC/USDT", 64250.5, 18234.7),
        ("ETH/USDT", 3412.25, 152301.2),
        ("SOL/USDT", 148.37, 2210934.0),
        ("BNB/USDT", 587.1, 401233.5),
        ("XRP/USDT", 0.5231, 98123001.0),
        ("BTC/USDT:USDT", 64262.0, 95311.4),
    ],
    "kraken": [
        ("BTC/USD", 64230.1, 3120.5),
        ("ETH/USD", 3410.8, 28760.3),
        ("SOL/USD", 148.2, 190233.0),
        ("XBT/EUR", 59410.0, 1501.2),
    ],
}
_ACCOUNTS = {
    1: {"USDT": (25000.0, 5000.0), "BTC": (0.35, 0.05), "ETH": (4.2, 0.0)},
    2: {"USD": (12000.0, 1500.0), "BTC": (0.1, 0.0)},
}
# ex_id -> (symbol, volume, entry price)
_POSITIONS = {
    1: [("BTC/USDT", 0.05, 63120.0), ("ETH/USDT", -1.5, 3455.5)],
    2: [("BTC/USD", 0.1, 61800.0)],
}
# order_status key (exchange name or ex_id), then _ORDER_KEYS
_ORDER_KEYS = ("ex_order_id", "symbol", "side", "order_type", "volume", "price", "status", "bot_id")
_ORDERS = [
    ("binance", "8231974401", "BTC/USDT", "buy", "limit", 0.05, 63900.0, "open", 1),
    ("binance", "8231974402", "ETH/USDT", "sell", "limit", 1.5, 3455.5, "filled", 2),
    ("binance", "8231974403", "SOL/USDT", "buy", "limit", 20.0, 140.0, "partially_filled", 1),
    ("binance", "8231974404", "BNB/USDT", "buy", "market", 2.0, 586.9, "cancelled", 2),
    ("1", "8231974401", "BTC/USDT", "buy", "limit", 0.05, 63900.0, "open", 1),
    ("1", "8231974402", "ETH/USDT", "sell", "limit", 1.5, 3455.5, "filled", 2),
    ("1", "8231974405", "XRP/USDT", "sell", "limit", 5000.0, 0.55, "rejected", 2),
]
# bot_id -> (name, exchange, feed symbols, feed status)
_BOTS = {
    1: ("trend_follower", "binance", ["BTC/USDT", "SOL/USDT"], "running"),
    2: ("mean_reversion", "binance", ["ETH/USDT"], "running"),
    3: ("kraken_grid", "kraken", ["BTC/USD"], "stopped"),
}
_TRADE_KEYS = ("ex_order_id", "symbol", "side", "volume", "price")
_TRADES = [
    ("8231974401", "BTC/USDT", "buy", 0.02, 64180.0),
    ("8231974401", "BTC/USDT", "buy", 0.03, 64210.5),
    ("8231974407", "BTC/USDT", "sell", 0.01, 64255.0),
    ("8231974402", "ETH/USDT", "sell", 1.5, 3455.5),
]
# (type, component, params, status, message)
_PROCESSES: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("tick", "binance", {"exchange": "binance"}, "running", "streaming 6 tickers"),
    ("tick", "kraken", {"exchange": "kraken"}, "running", "streaming 4 tickers"),
    ("ohlcv", "binance:BTC/USDT", {"timeframe": "1m"}, "idle", "bars up to date"),
    ("bot", "bot_1", {"bot_id": 1}, "processing", "evaluating BTC/USDT"),
    ("account", "account_1", {"ex_id": 1}, "running", "balances refreshed"),
    ("order", "orders:binance", {"ex_id": 1}, "running", "1 open order"),
    ("crawler", "news", {"source": "rss"}, "error", "feed timed out after 30 s"),
]


class SeedSummary(msgspec.Struct, frozen=True, kw_only=True):
    """How many entries `seed` wrote per domain."""

    tickers: int
    accounts: int
    positions: int
    orders: int
    bots: int
    trades: int
    ohlcv_bars: int
    processes: int


async def seed(writer: CacheWriter) -> SeedSummary:
    """Write the sample data set (adds to whatever the database already holds)."""
    now = time.time()
    await _tickers(writer, now)
    await _accounts(writer, now)
    await _orders(writer)
    await _bots(writer)
    await _trades(writer, now)
    bars = await _ohlcv(writer, now)
    for kind, component, params, status, message in _PROCESSES:
        await writer.register_process(kind, component, params, message, status)
    return SeedSummary(
        tickers=sum(map(len, _TICKERS.values())),
        accounts=len(_ACCOUNTS),
        positions=sum(map(len, _POSITIONS.values())),
        orders=len(_ORDERS),
        bots=len(_BOTS),
        trades=len(_TRADES),
        ohlcv_bars=bars,
        processes=len(_PROCESSES),
    )


async def _tickers(writer: CacheWriter, now: float) -> None:
    for exchange, rows in _TICKERS.items():
        for n, (symbol, price, volume) in enumerate(rows):
            spread, when = round(price * 0.0001, 6), round(now - n * 0.7, 3)
            quote = {"bid": round(price - spread, 6), "ask": round(price + spread, 6)}
            await writer.set_ticker(
                exchange, symbol, price=price, volume=volume, time=when, last=price, **quote
            )


async def _accounts(writer: CacheWriter, now: float) -> None:
    for ex_id, balances in _ACCOUNTS.items():
        account = {
            currency: {"free": free, "used": used, "total": round(free + used, 8)}
            for currency, (free, used) in balances.items()
        }
        await writer.upsert_user_account(ex_id, account)
    for ex_id, rows in _POSITIONS.items():
        positions = []
        for symbol, volume, price in rows:
            cost = round(abs(volume) * price, 2)
            position = {"symbol": symbol, "cost": cost, "volume": volume, "price": price}
            position |= {"fee": round(cost * 0.001, 4), "count": 1.0, "timestamp": now - 3600}
            positions.append(position)
        await writer.upsert_positions(ex_id, positions)


async def _orders(writer: CacheWriter) -> None:
    for key, *row in _ORDERS:
        order: dict[str, Any] = dict(zip(_ORDER_KEYS, row, strict=True))
        done = {"filled": 1.0, "partially_filled": 0.5}.get(order["status"], 0.0)
        order |= {"final_volume": order["volume"] * done, "exchange": "binance", "uid": 1}
        order |= {"command": "open" if order["side"] == "buy" else "close", "reason": "signal"}
        order |= {"plimit": None, "leverage": 1.0, "futures": False, "ex_id": 1, "tick": None}
        await writer.save_order(key, order)
    await writer.push_open_order("8231974401", "bot_1")
    await writer.push_open_order("8231974406", "bot_1")


async def _bots(writer: CacheWriter) -> None:
    for bot_id, (name, exchange, symbols, status) in _BOTS.items():
        feeds = {
            f"feed_{n}": {"status": status, "exchange": exchange, "symbols": [symbol]}
            for n, symbol in enumerate(symbols)
        }
        await writer.update_bot(bot_id, {"name": name, "strategy": name, "live": True, **feeds})
    await writer.block_exchange(1, "BTC/USDT", 1)
    await writer.block_exchange("binance", "ETH/USDT", 2)  # callers pass names here too
    await writer.mark_opening_position(1, "BTC/USDT", 1)


async def _trades(writer: CacheWriter, now: float) -> None:
    for n, row in enumerate(_TRADES):
        trade: dict[str, Any] = {"trade_id": n + 1, "ex_trade_id": f"T{9100 + n}", "uid": 1}
        trade |= dict(zip(_TRADE_KEYS, row, strict=True))
        cost = round(trade["volume"] * trade["price"], 4)
        trade |= {"ex_id": 1, "order_type": "limit", "cost": cost, "fee": round(cost * 0.001, 6)}
        trade["time"] = round(now - 60.0 * (len(_TRADES) - n), 3)
        await writer.push_trade("binance", trade)
        if trade["symbol"] == "BTC/USDT":
            await writer.push_user_trade(1, "binance", trade)
    await writer.update_user_trade_status("1:binance")


async def _ohlcv(writer: CacheWriter, now: float) -> int:
    minute = int(now // 60) * 60
    hour = int(now // 3600) * 3600
    btc = _bars(minute - 299 * 60, 60, 300, 64000.0, 0.002)
    eth = _bars(hour - 167 * 3600, 3600, 168, 3400.0, 0.01)
    await writer.update_ohlcv_bars("BTC/USDT", "1m", btc)
    await writer.update_ohlcv_bars("ETHUSDT", "1h", eth)
    return len(btc) + len(eth)


def _bars(start: int, step: int, count: int, base: float, swing: float) -> list[list[float]]:
    """A smooth deterministic walk: bar i depends only on i, never on a random source."""
    bars: list[list[float]] = []
    close = base
    for i in range(count):
        open_ = close
        close = round(base * (1 + swing * (3 * math.sin(i / 23) + math.sin(i / 5))), 2)
        wick = base * swing * (0.4 + 0.3 * abs(math.sin(i / 3)))
        high = round(max(open_, close) + wick, 2)
        low = round(min(open_, close) - wick, 2)
        volume = round(10 + 8 * abs(math.sin(i / 7)), 4)
        bars.append([start + i * step, open_, high, low, close, volume])
    return bars
