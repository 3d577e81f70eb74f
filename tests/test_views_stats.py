"""Statistics views: ``/orders/stats`` and ``/trades/stats``, hand-computed; queues peeked."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from fullon_cache_api.data.views import stats
from fullon_cache_api.demo import CacheWriter

pytestmark = pytest.mark.anyio

NAN = float("nan")


def near(seconds: float) -> Any:
    """An age measured at request time, a moment after seeding."""
    return pytest.approx(seconds, abs=3)


def stamp(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()


async def seed_orders(writer: CacheWriter) -> None:
    def order(oid: str, symbol: str, side: str, status: str, volume: float) -> dict[str, Any]:
        return {"ex_order_id": oid, "symbol": symbol, "side": side, "status": status,
                "volume": volume, "ex_id": 1}  # fmt: skip

    await writer.save_order("binance", order("EX_1", "BTC/USDT", "buy", "open", 0.1))
    await writer.save_order("binance", order("EX_2", "BTC/USDT", "sell", "Partially_Filled", 0.2))
    await writer.save_order("binance", order("EX_3", "ETH/USDT", "buy", "filled", 1.0))
    await writer.save_order("binance", order("EX_4", "ETH/USDT", "buy", "pending", NAN))
    await writer.save_order("binance", order("EX_5", "BTC/USDT", "buy", "new", 0.4))
    await writer.redis.hset("order_status:binance", "BAD", "{not json")
    await writer.save_order(1, order("O1", "BTC/USDT", "sell", "canceled", 5.0))  # TTL 1 h
    await writer.push_open_order("EX_1", "L1")
    await writer.push_open_order("EX_5", "L1")


async def test_order_stats(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Counts by status and side per hash; open volume summed exactly; queue lengths."""
    assert 0.1 + 0.2 + 0.4 != 0.7
    await seed_orders(writer)
    body = (await client.get("/orders/stats")).json()
    one, binance = body["keys"]
    assert 3590 <= one.pop("ttl_seconds") <= 3600
    assert one == {
        "key": "1", "orders": 1, "skipped": 0,
        "by_status": {"canceled": 1}, "by_side": {"sell": 1},
        "open_orders": 0, "open_unsized": 0, "open_volume": {},
    }  # fmt: skip
    assert binance == {
        "key": "binance", "orders": 5, "skipped": 1, "ttl_seconds": None,
        "by_status": {"Partially_Filled": 1, "filled": 1, "new": 1, "open": 1, "pending": 1},
        "by_side": {"buy": 4, "sell": 1},
        # open, Partially_Filled, pending (NaN volume: unsized) and new; 0.1 + 0.2 + 0.4.
        "open_orders": 4, "open_unsized": 1, "open_volume": {"BTC/USDT": 0.7},
    }  # fmt: skip
    assert {k: body[k] for k in ("count", "orders", "queue_count", "queued", "queues")} == {
        "count": 2, "orders": 6, "queue_count": 1, "queued": 2,
        "queues": [{"local_oid": "L1", "length": 2}],
    }  # fmt: skip


async def test_order_stats_empty(client: httpx.AsyncClient) -> None:
    """No orders and no queues: all zero."""
    body = (await client.get("/orders/stats")).json()
    assert body == {
        "count": 0,
        "orders": 0,
        "keys": [],
        "queue_count": 0,
        "queued": 0,
        "skipped": 0,
        "partial": False,
        "queues": [],
    }


async def seed_trades(writer: CacheWriter, now: float) -> None:
    def trade(side: str | None, volume: float, when: float | str) -> dict[str, Any]:
        return {"symbol": "BTC/USDT", "side": side, "volume": volume, "time": when, "ex_id": 1}

    for item in (
        trade("buy", 0.1, now - 100),
        trade("buy", 0.2, now - 50),
        trade("sell", 0.5, now - 80),
        trade("BUY", 0.4, datetime.fromtimestamp(now - 10, UTC).isoformat()),
        trade(None, 9.0, now - 20),
    ):
        await writer.push_trade("binance", item)
    await writer.redis.rpush("trades:binance:BTCUSDT", "oops")
    await writer.push_trade("kraken", {**trade("sell", NAN, now - 30), "symbol": "ETH/USD"})
    await writer.update_trade_status("bybit")
    await writer.redis.set("TRADE:STATUS:okx", "garbage")
    for _ in range(2):
        await writer.push_user_trade(7, "binance", trade("buy", 1.5, now - 5))


async def test_trade_stats(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Per queue: length, time span, buy/sell counts and exact volumes, status age."""
    now = time.time()
    await seed_trades(writer, now)
    body = (await client.get("/trades/stats")).json()
    assert (body["count"], body["trades"]) == (3, 6 + 1 + 2)
    binance, kraken, user = body["queues"]
    span = (stamp(binance.pop("oldest_time")), stamp(binance.pop("newest_time")))
    assert span == (pytest.approx(now - 100, abs=1e-3), pytest.approx(now - 10, abs=1e-3))
    assert binance == {
        "key": "trades:binance:BTCUSDT", "kind": "trades", "exchange": "binance",
        "symbol_key": "BTCUSDT", "uid": None, "length": 6, "scanned": 6, "partial": False,
        "skipped": 1, "buy_count": 3, "buy_volume": 0.7, "sell_count": 1, "sell_volume": 0.5,
        "other": 1, "status_age_seconds": near(0),
    }  # fmt: skip
    assert (kraken["exchange"], kraken["sell_count"], kraken["sell_volume"]) == ("kraken", 1, 0.0)
    assert (user["kind"], user["uid"], user["exchange"], user["symbol_key"]) == (
        "user_trades", "7", "binance", None,
    )  # fmt: skip
    assert (user["length"], user["buy_count"], user["buy_volume"]) == (2, 2, 3.0)
    assert user["status_age_seconds"] is None
    statuses = {s["key"]: s["age_seconds"] for s in body["statuses"]}
    assert statuses == {"binance": near(0), "bybit": near(0), "kraken": near(0), "okx": None}


async def test_trade_stats_empty(client: httpx.AsyncClient) -> None:
    """No queue at all (an emptied queue no longer exists in Redis): zero queues."""
    body = (await client.get("/trades/stats")).json()
    assert body == {
        "count": 0, "trades": 0, "skipped": 0, "partial": False, "queues": [], "statuses": []
    }  # fmt: skip


async def test_trade_stats_windows_and_cap(
    client: httpx.AsyncClient, writer: CacheWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue longer than one LRANGE window is read whole; past the cap only its newest
    trades are read and the queue is flagged partial."""
    sides = ("buy", "sell", "sell", "sell", "sell")
    rows = [{"symbol": "BTC/USDT", "side": sides[n % 5], "volume": 1.0} for n in range(2500)]
    await writer.redis.rpush("trades:binance:BTCUSDT", *map(json.dumps, rows))
    [whole] = (await client.get("/trades/stats")).json()["queues"]
    assert (whole["length"], whole["scanned"], whole["partial"]) == (2500, 2500, False)
    assert (whole["buy_count"], whole["sell_count"], whole["buy_volume"]) == (500, 2000, 500.0)
    monkeypatch.setattr(stats, "TRADE_SCAN_CAP", 1000)
    [capped] = (await client.get("/trades/stats")).json()["queues"]
    assert (capped["length"], capped["scanned"], capped["partial"]) == (2500, 1000, True)
    assert (capped["buy_count"], capped["sell_count"]) == (200, 800)


async def test_trade_stats_age_of_an_old_status(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """An old ``TRADE:STATUS`` mark: its age is the request time minus its stored time."""
    written = datetime(2024, 6, 5, 12, 0, 0, 250000, tzinfo=UTC)
    await writer.push_trade("bitget", {"symbol": "BTC/USDT", "side": "buy", "volume": 1.0})
    # push_trade stamps the status now; set it back (ISO, as fullon_cache writes it).
    await writer.redis.set("TRADE:STATUS:bitget", written.isoformat())
    before = time.time()
    body = (await client.get("/trades/stats")).json()
    after = time.time()
    # e.g. asked at 2026-01-01T00:00:00Z: 1767225600 - 1717588800.25 = 49636799.75 s
    low, high = before - written.timestamp(), after - written.timestamp()
    [status] = body["statuses"]
    assert status["key"] == "bitget" and stamp(status["updated_at"]) == written.timestamp()
    assert low - 0.001 <= status["age_seconds"] <= high + 0.001
    [queue] = body["queues"]
    assert queue["status_age_seconds"] == status["age_seconds"]
