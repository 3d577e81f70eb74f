"""A cache whose health is known: what the domain gauges must show for it (`EXPECTED`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fullon_cache_api.demo import CacheWriter

# (family, labels) -> value; ages are checked within `AGE_SLACK` seconds of these.
EXPECTED: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {
    ("tickers", (("exchange", "binance"),)): 3,
    ("tickers_stale", (("exchange", "binance"),)): 1,
    ("tickers", (("exchange", "kraken"),)): 1,
    ("tickers_stale", (("exchange", "kraken"),)): 0,
    ("processes", (("process_type", "tick"),)): 2,
    ("processes_stale", (("process_type", "tick"),)): 1,
    ("processes", (("process_type", "ohlcv"),)): 1,
    ("processes_stale", (("process_type", "ohlcv"),)): 0,
    ("processes", (("process_type", "bot"),)): 0,
    ("trade_queue_length", (("exchange", "binance"), ("kind", "trades"))): 3,
    ("trade_queue_length", (("exchange", "kraken"), ("kind", "user_trades"))): 1,
    ("order_queue_length", ()): 3,
    ("ohlcv_series", (("timeframe", "1m"),)): 2,
    ("ohlcv_series_stale", (("timeframe", "1m"),)): 1,
    ("ohlcv_series", (("timeframe", "1h"),)): 1,
    ("ohlcv_series_stale", (("timeframe", "1h"),)): 0,
    ("gauges_skipped_entries", (("part", "tickers"),)): 1,
}
AGES: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {
    ("ticker_newest_age_seconds", (("exchange", "binance"),)): 5,
    ("ticker_oldest_age_seconds", (("exchange", "binance"),)): 600,
    ("process_oldest_heartbeat_age_seconds", (("process_type", "tick"),)): 600,
    ("ohlcv_oldest_last_bar_age_seconds", (("timeframe", "1m"),)): 600,
}
# Seconds an age may grow between the seeding and the check (the machine may be busy).
AGE_SLACK = 60.0


async def seed_health(writer: CacheWriter) -> None:
    """Tickers (one stale, one corrupt), processes (one stale heartbeat), queues and bars."""
    now = time.time()
    for symbol, age in (("BTC/USDT", 5), ("ETH/USDT", 20), ("SOL/USDT", 600)):
        await writer.set_ticker("binance", symbol, price=1.0, time=now - age)
    await writer.set_ticker("kraken", "BTC/USD", price=1.0, time=now - 10)
    await writer.redis.hset("tickers:kraken", "BAD/USD", "{not json")
    await writer.register_process("tick", "binance:BTC/USDT")
    old = datetime.fromtimestamp(now - 600, UTC)
    await writer.register_process("tick", "kraken:BTC/USD", now=old)
    await writer.register_process("ohlcv", "binance:BTC/USDT:1m")
    for n, symbol in enumerate(("BTC/USDT", "BTC/USDT", "ETH/USDT")):
        await writer.push_trade("binance", {"trade_id": n, "symbol": symbol, "time": now})
    await writer.push_user_trade(7, "kraken", {"trade_id": 9, "symbol": "BTC/USD", "time": now})
    for oid, local in (("o1", "abc"), ("o2", "abc"), ("o3", "def")):
        await writer.push_open_order(oid, local)
    minute = int(now // 60 * 60)
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[minute, 1, 2, 0.5, 1.5, 10.0]])
    await writer.update_ohlcv_bars("ETH/USDT", "1m", [[now - 600, 1, 2, 0.5, 1.5, 10.0]])
    await writer.update_ohlcv_bars("BTC/USDT", "1h", [[int(now // 3600 * 3600), 1, 2, 1, 1, 1]])
