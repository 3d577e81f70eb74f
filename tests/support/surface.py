"""The whole HTTP surface: a concrete sample request per route, and data that makes each 200.

`SAMPLES` is keyed by route template; `test_surface.py` checks that every route of the route
table has a sample, so a new route cannot be left out of the crawls built on it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fullon_cache_api.demo import CacheWriter

NOW = datetime.now(UTC)
PROCESS_ID = f"tick:binance:BTC/USDT:{NOW.timestamp()}"

SAMPLES = {
    "/health": "/health",
    "/tickers": "/tickers",
    "/tickers/{exchange}": "/tickers/binance",
    "/tickers/{exchange}/{symbol:path}": "/tickers/binance/BTC/USDT",
    "/accounts": "/accounts",
    "/accounts/{ex_id}": "/accounts/1",
    "/accounts/{ex_id}/positions": "/accounts/1/positions",
    "/positions": "/positions",
    "/orders": "/orders",
    "/orders/queues": "/orders/queues",
    "/orders/{account}": "/orders/binance",
    "/orders/{account}/{order_id:path}": "/orders/binance/EX_1",
    "/bots": "/bots",
    "/bots/blocks": "/bots/blocks",
    "/bots/opening-positions": "/bots/opening-positions",
    "/bots/{bot_id}": "/bots/42",
    "/trades": "/trades",
    "/trades/users/{uid}/{exchange}": "/trades/users/7/binance",
    "/trades/{exchange}/{symbol:path}": "/trades/binance/BTC/USDT",
    "/ohlcv": "/ohlcv",
    "/ohlcv/{symbol:path}/{timeframe}": "/ohlcv/BTC/USDT/1m",
    "/processes": "/processes",
    "/processes/health": "/processes/health",
    "/processes/{process_id:path}": f"/processes/{PROCESS_ID}",
    "/status": "/status",
    "/accounts/summary": "/accounts/summary",
    "/accounts/{ex_id}/summary": "/accounts/1/summary?exchange=binance",
    "/tickers/status": "/tickers/status",
    "/ohlcv/status": "/ohlcv/status",
    "/orders/stats": "/orders/stats",
    "/trades/stats": "/trades/stats",
    "/bots/activity": "/bots/activity",
    "/processes/metrics": "/processes/metrics",
    # The original specification's paths, as spelled.
    "/orders/queue/size": "/orders/queue/size",
    "/orders/{order_id}/status": "/orders/EX_1/status",
    "/bots/blocks/{ex_id}/{symbol:path}": "/bots/blocks/1/BTC/USDT",
    "/bots/{bot_id}/status": "/bots/42/status",
    "/trades/queue/status": "/trades/queue/status",
    "/processes/status": "/processes/status",
    "/users/{uid}/summary": "/users/7/summary",
    "/me/summary": "/me/summary",
}

# Server-Sent Events routes (template -> sample path): crawled by the stream tests, not by the
# request/response crawls (they never end by themselves).
STREAM_SAMPLES: dict[str, str] = {
    "/tickers/{exchange}/stream": "/tickers/binance/stream",
    "/tickers/{exchange}/{symbol:path}/stream": "/tickers/binance/BTC/USDT/stream",
    "/processes/stream": "/processes/stream",
    "/accounts/{ex_id}/stream": "/accounts/1/stream",
    "/accounts/{ex_id}/positions/stream": "/accounts/1/positions/stream",
    "/orders/{account}/stream": "/orders/binance/stream",
    "/bots/stream": "/bots/stream",
    "/ohlcv/{symbol:path}/{timeframe}/stream": "/ohlcv/BTC/USDT/1m/stream",
}

# The docs (OpenAPI document, Swagger UI, ReDoc, their assets): they never read Redis, so they
# are left out of the data crawls; tests/test_openapi.py covers them.
DOC_PATHS = {"/openapi.json", "/docs", "/redoc", "/docs/assets/{name}"}

# WebSocket route templates.
WEBSOCKET_PATHS: set[str] = {
    f"{base}{domain}"
    for base in ("/ws", "/ws/v2")
    for domain in (
        "",
        *(
            f"/{domain}/{{connection_id}}"
            for domain in ("tickers", "orders", "trades", "accounts", "bots", "ohlcv", "process")
        ),
    )
}

TRADE = {
    "trade_id": 1,
    "ex_trade_id": "T1",
    "ex_order_id": "EX_1",
    "uid": 7,
    "ex_id": 1,
    "symbol": "BTC/USDT",
    "side": "buy",
    "volume": 0.1,
    "price": 50000.0,
    "cost": 5000.0,
    "fee": 5.0,
    "time": 1717584000.5,
}


async def seed_surface(writer: CacheWriter) -> None:
    """One entry per domain, addressed by the samples above."""
    await writer.set_ticker("binance", "BTC/USDT", price=50000.0, volume=1.0, time=NOW.timestamp())
    await writer.upsert_user_account(1, {"USDT": {"free": 10.0, "used": 0.0, "total": 10.0}})
    await writer.upsert_positions(1, [{"symbol": "BTC/USDT", "volume": 0.1, "cost": 5000.0}])
    await writer.save_order("binance", {"ex_order_id": "EX_1", "ex_id": 1, "status": "open"})
    await writer.push_open_order("EX_1", "L1")
    await writer.update_bot(42, {"feed_1": {"status": "running"}, "name": "bot"})
    await writer.block_exchange(1, "BTC/USDT", 42)
    await writer.mark_opening_position(1, "BTC/USDT", 42)
    await writer.push_trade("binance", TRADE)
    await writer.push_user_trade(7, "binance", TRADE)
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[1717584000, 1, 2, 0.5, 1.5, 10.0]])
    await writer.register_process("tick", "binance:BTC/USDT", now=NOW)
    # A fresh heartbeat: the id (in SAMPLES) keeps NOW, but a process registered at import
    # time would leave the default 5-minute window of the process routes in a long session.
    await writer.update_process(PROCESS_ID)
