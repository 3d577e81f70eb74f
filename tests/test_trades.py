"""Trades: ``trades:{ex}:{symbol}`` and ``user_trades:{uid}:{ex}`` queues, ``TRADE:STATUS:*``."""

from __future__ import annotations

import httpx
import pytest

from fullon_cache_api.demo import CacheWriter

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"


def _trade(trade_id: int, **extra: object) -> dict[str, object]:
    """A trade as ``Trade.to_dict()`` writes it (epoch time unless overridden)."""
    return {
        "trade_id": trade_id,
        "ex_trade_id": f"T{trade_id}",
        "ex_order_id": f"EX_{trade_id}",
        "uid": 1,
        "ex_id": 7,
        "symbol": "BTC/USDT",
        "order_type": "limit",
        "side": "buy",
        "volume": 0.1,
        "price": 50000.0,
        "cost": 5000.0,
        "fee": 5.0,
        "time": 1717584000.5,
        **extra,
    }


def _expected(trade_id: int, **extra: object) -> dict[str, object]:
    """The response form of `_trade(trade_id)` (legacy keys null, time as RFC 3339)."""
    body = {
        **_trade(trade_id),
        "bot_id": None,
        "leverage": None,
        "roi": None,
        "roi_pct": None,
        "reason": None,
        "time": "2024-06-05T10:40:00.500000Z",
    }
    return {**body, **extra}


async def test_symbol_queue_exact(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A symbol queue comes back oldest first with exact values, mixed time forms and NaN."""
    await writer.push_trade("binance", _trade(1))
    await writer.push_trade("binance", _trade(2, time="2024-06-05T10:41:00+00:00", bot_id=3))
    await writer.push_trade("binance", _trade(3, fee=float("nan"), time="2024-06-05T10:42:00"))
    response = await client.get("/trades/binance/BTC/USDT")
    assert response.status_code == 200
    assert response.json() == {
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "key": "trades:binance:BTCUSDT",
        "length": 3,
        "count": 3,
        "skipped": 0,
        "trades": [
            _expected(1),
            _expected(2, time="2024-06-05T10:41:00Z", bot_id=3),
            _expected(3, fee=None, time="2024-06-05T10:42:00Z"),
        ],
    }


async def test_symbol_queue_is_not_consumed(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Reading a trade queue leaves every element in place (LRANGE, never DEL)."""
    for trade_id in range(4):
        await writer.push_trade("binance", _trade(trade_id))
    before = await writer.redis.lrange("trades:binance:BTCUSDT", 0, -1)
    for _ in range(2):
        assert (await client.get("/trades/binance/BTC/USDT")).json()["count"] == 4
    assert await writer.redis.lrange("trades:binance:BTCUSDT", 0, -1) == before


async def test_symbol_queue_limit_window(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """`limit` keeps the newest trades, oldest first, and `length` is the whole queue."""
    for trade_id in range(5):
        await writer.push_trade("binance", _trade(trade_id))
    body = (await client.get("/trades/binance/BTCUSDT", params={"limit": 2})).json()
    assert (body["length"], body["count"]) == (5, 2)
    assert [trade["trade_id"] for trade in body["trades"]] == [3, 4]


async def test_symbol_queue_with_ccxt_symbol(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """A ccxt symbol keeps its ':' in the key; only '/' is removed."""
    await writer.push_trade("bybit", _trade(1, symbol="BTC/USDT:USDT"))
    body = (await client.get("/trades/bybit/BTC/USDT:USDT")).json()
    assert body["key"] == "trades:bybit:BTCUSDT:USDT"
    assert body["trades"][0]["symbol"] == "BTC/USDT:USDT"


async def test_corrupt_trades_are_skipped(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Elements that are not JSON objects of trade fields are skipped and counted."""
    await writer.push_trade("binance", _trade(1))
    await writer.redis.rpush(
        "trades:binance:BTCUSDT", "not json", "[1, 2]", '{"volume": {"x": 1}}', '{"side": "sell"}'
    )
    body = (await client.get("/trades/binance/BTC/USDT")).json()
    assert (body["length"], body["count"], body["skipped"]) == (5, 2, 3)
    assert body["trades"][1]["side"] == "sell"
    assert body["trades"][1]["trade_id"] is None


async def test_missing_queues_are_404(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """An absent symbol or user queue answers a problem 404."""
    await writer.push_trade("binance", _trade(1))
    for path in ("/trades/binance/ETH/USDT", "/trades/kraken/BTC/USDT", "/trades/users/1/binance"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM


async def test_invalid_input_is_422(client: httpx.AsyncClient) -> None:
    """Glob characters, bad ids and out-of-range limits are rejected before Redis."""
    for path in (
        "/trades/binance/BTC*",
        "/trades/bin*ance/BTC/USDT",
        "/trades/binance/BTC/USDT?limit=0",
        "/trades/binance/BTC/USDT?limit=10001",
        "/trades/binance/BTC/USDT?limit=ten",
        "/trades/users/abc/binance",
        "/trades/users/1/bin%3Fnance",
        "/trades/users/1/binance?limit=0",
        "/trades/users/1/binance?limit=10001",
    ):
        response = await client.get(path)
        assert response.status_code == 422, path
        assert response.headers["content-type"] == PROBLEM


async def test_wrong_key_type_is_502(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A trade key that is not a list is a corrupt entry."""
    await writer.redis.hset("trades:binance:BTCUSDT", "a", "b")
    response = await client.get("/trades/binance/BTC/USDT")
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM


async def test_user_queue_exact(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A user's queue comes back oldest first, limited, corrupt entries skipped, not popped."""
    await writer.push_user_trade(42, "kraken", _trade(1, uid=42))
    await writer.redis.rpush("user_trades:42:kraken", "{bad")
    await writer.push_user_trade(42, "kraken", _trade(2, uid=42, time=1717584060000))
    response = await client.get("/trades/users/42/kraken")
    assert response.status_code == 200
    assert response.json() == {
        "uid": "42",
        "exchange": "kraken",
        "key": "user_trades:42:kraken",
        "length": 3,
        "count": 2,
        "skipped": 1,
        "trades": [_expected(1, uid=42), _expected(2, uid=42, time="2024-06-05T10:41:00Z")],
    }
    window = (await client.get("/trades/users/42/kraken?limit=1")).json()
    assert [trade["trade_id"] for trade in window["trades"]] == [2]
    assert await writer.redis.llen("user_trades:42:kraken") == 3


async def test_overview_exact(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Queues (lists only) with lengths, and statuses under ``TRADE:STATUS:`` only."""
    await writer.push_trade("binance", _trade(1))
    await writer.push_trade("binance", _trade(2))
    await writer.push_trade("bybit", _trade(1, symbol="ETH/USDT:USDT"))
    await writer.push_user_trade(1, "binance", _trade(3))
    await writer.redis.hset("trades:kraken:BTCUSD", "not", "a list")
    await writer.redis.set("TRADE:STATUS:binance", "2025-06-05T12:00:00.997397+00:00")
    await writer.redis.set("TRADE:STATUS:bybit", "2025-06-05T12:00:00+00:00")
    await writer.redis.set("TRADE:STATUS:broken", "yesterday")
    await writer.redis.set("TRADE:STATUSX", "2025-06-05T12:00:00+00:00")
    await writer.update_user_trade_status("binance")
    for path in ("/trades", "/trades/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json() == {
            "queue_count": 2,
            "queues": [
                {"exchange": "binance", "symbol_key": "BTCUSDT", "length": 2},
                {"exchange": "bybit", "symbol_key": "ETHUSDT:USDT", "length": 1},
            ],
            "status_count": 2,
            "status_skipped": 1,
            "skipped": 1,  # the hash trades:kraken:BTCUSD
            "statuses": [
                {"key": "binance", "updated_at": "2025-06-05T12:00:00.997397Z"},
                {"key": "bybit", "updated_at": "2025-06-05T12:00:00Z"},
            ],
        }
    assert await writer.redis.llen("trades:binance:BTCUSDT") == 2


async def test_overview_of_empty_cache(client: httpx.AsyncClient) -> None:
    """With no trade keys the overview is empty, not a 404."""
    response = await client.get("/trades")
    assert response.status_code == 200
    assert response.json() == {
        "queue_count": 0,
        "queues": [],
        "status_count": 0,
        "status_skipped": 0,
        "skipped": 0,
        "statuses": [],
    }
