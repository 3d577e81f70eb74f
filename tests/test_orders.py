"""Orders: ``order_status:{key}`` hashes (exchange name or ex_id keys) and ``new_orders:*``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from fullon_cache_api.demo import CacheWriter, RedisServer

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
Infinity = float("inf")


def order(ex_order_id: str | None, **extra: Any) -> dict[str, Any]:
    """An ``Order.to_dict()`` as fullon_orm produces it, before the cache rewrites ids/time."""
    body: dict[str, Any] = {
        "order_id": None,
        "ex_order_id": ex_order_id,
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "order_type": "limit",
        "side": "buy",
        "volume": 0.1,
        "final_volume": None,
        "price": 50000.0,
        "plimit": None,
        "leverage": 1.0,
        "status": "open",
        "command": "open_long",
        "reason": None,
        "futures": False,
        "bot_id": 1,
        "uid": 3,
        "ex_id": 7,
        "cat_ex_id": 1,
        "tick": None,
    }
    body.update(extra)
    return body


def iso(value: str) -> datetime:
    """An RFC 3339 response timestamp as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def put(writer: CacheWriter, key: str, field: str, value: str | dict[str, Any]) -> None:
    """HSET a raw value, for data fullon_cache's save_order would not write by itself."""
    raw = value if isinstance(value, str) else json.dumps(value)
    await writer.redis.hset(f"order_status:{key}", field, raw)


async def test_one_order_exact(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """One order comes back with the hash field as id and the write time as timestamp."""
    before = datetime.now(UTC)
    await writer.save_order("binance", order("EX_1", price=float("nan"), fee=0.25))
    response = await client.get("/orders/binance/EX_1")
    assert response.status_code == 200
    body = response.json()
    written = iso(body.pop("timestamp"))
    assert before <= written <= datetime.now(UTC)
    assert body == {
        "key": "binance",
        "order_id": "EX_1",
        "ex_order_id": "EX_1",
        "stored_order_id": "EX_1",
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "order_type": "limit",
        "side": "buy",
        "status": "open",
        "command": "open_long",
        "reason": None,
        "volume": 0.1,
        "final_volume": None,
        "price": None,  # NaN is stored as a bare token and answered as null
        "plimit": None,
        "leverage": 1.0,
        "fee": 0.25,
        "cost": None,
        "futures": False,
        "bot_id": 1,
        "uid": 3,
        "ex_id": 7,
        "cat_ex_id": 1,
        "tick": None,
    }


async def test_keys_by_name_and_by_ex_id(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Hashes keyed by exchange name and by ex_id are both listed and both readable."""
    await writer.save_order("binance", order("EX_1"))
    await writer.save_order("binance", order("EX_2", side="sell"))
    await writer.save_order(7, order("EX_3", symbol="ETH/USDT"))
    response = await client.get("/orders")
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "skipped": 0,
        "hashes": [
            {"key": "7", "orders": 1, "ttl_seconds": None},
            {"key": "binance", "orders": 2, "ttl_seconds": None},
        ],
    }
    by_id = (await client.get("/orders/7")).json()
    assert (by_id["key"], by_id["count"], by_id["skipped"]) == ("7", 1, 0)
    assert [(o["key"], o["order_id"], o["symbol"]) for o in by_id["orders"]] == [
        ("7", "EX_3", "ETH/USDT")
    ]
    by_name = (await client.get("/orders/binance")).json()
    assert {o["order_id"] for o in by_name["orders"]} == {"EX_1", "EX_2"}


async def test_order_stored_under_none(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """An order without ids lives under the field "None" and is addressable as such."""
    field = await writer.save_order("kraken", order(None, exchange="kraken"))
    assert field == "None"
    body = (await client.get("/orders/kraken/None")).json()
    assert body["order_id"] == "None"
    assert body["stored_order_id"] == "None"
    assert body["ex_order_id"] is None
    listed = (await client.get("/orders/kraken")).json()
    assert [o["order_id"] for o in listed["orders"]] == ["None"]


async def test_order_id_flipped_to_int(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """After update_order the stored order_id is an int; the hash field stays the id."""
    await put(
        writer,
        "binance",
        "EX_12345",
        {**order("EX_12345"), "order_id": 12345, "timestamp": "2025-01-02T03:04:05+00:00"},
    )
    body = (await client.get("/orders/binance/EX_12345")).json()
    assert body["order_id"] == "EX_12345"
    assert body["stored_order_id"] == 12345
    assert body["ex_order_id"] == "EX_12345"
    assert body["timestamp"] == "2025-01-02T03:04:05Z"


async def test_canceled_order_ttl(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A canceled save gives the whole hash a TTL; "cancelled" (two Ls) does not."""
    await writer.save_order("binance", order("EX_1"))
    await writer.save_order("binance", order("EX_2", status="canceled"))
    await writer.save_order("kraken", order("EX_3", status="cancelled"))
    hashes = {h["key"]: h for h in (await client.get("/orders")).json()["hashes"]}
    assert 3590 <= hashes["binance"]["ttl_seconds"] <= 3600
    assert hashes["binance"]["orders"] == 2
    assert hashes["kraken"]["ttl_seconds"] is None
    listed = (await client.get("/orders/binance")).json()
    assert 3590 <= listed["ttl_seconds"] <= 3600
    assert (await client.get("/orders/kraken")).json()["ttl_seconds"] is None


async def test_tolerant_values(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Odd stored values null (or convert) one field instead of failing the order."""
    stored = {
        **order("EX_1"),
        "order_id": "EX_1",
        "cost": "None",
        "fee": "0.5",
        "volume": "abc",
        "futures": "true",
        "cat_ex_id": "binance",
        "bot_id": 2.0,
        "reason": 5,
        "tick": Infinity,
        "surprise": {"new": "key"},
    }
    await put(writer, "binance", "EX_1", stored)
    body = (await client.get("/orders/binance/EX_1")).json()
    picked = {name: body[name] for name in ("cost", "fee", "volume", "futures", "cat_ex_id")}
    assert picked == {
        "cost": None,
        "fee": 0.5,
        "volume": None,
        "futures": True,
        "cat_ex_id": "binance",
    }
    assert (body["bot_id"], body["reason"], body["tick"], body["timestamp"]) == (2, "5", None, None)


async def test_sorted_newest_first(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Lists are newest write first, ties by order id, orders without a time last."""
    await put(writer, "7", "B", {"status": "open", "timestamp": "2025-01-02T00:00:00+00:00"})
    await put(writer, "7", "A", {"status": "open", "timestamp": "2025-01-02T00:00:00+00:00"})
    await put(writer, "7", "C", {"status": "open", "timestamp": 1735776000.0})  # 2025-01-02
    await put(writer, "7", "D", {"status": "open", "timestamp": "2025-01-03T00:00:00"})
    await put(writer, "7", "E", {"status": "open"})
    body = (await client.get("/orders/7")).json()
    assert [o["order_id"] for o in body["orders"]] == ["D", "A", "B", "C", "E"]
    assert body["orders"][0]["timestamp"] == "2025-01-03T00:00:00Z"


async def test_filters(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """status (case-insensitive) and symbol filter; no match is an empty 200 list."""
    await writer.save_order("binance", order("EX_1", status="filled"))
    await writer.save_order("binance", order("EX_2", status="open"))
    await writer.save_order("binance", order("EX_3", status="filled", symbol="ETH/USDT"))

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/orders/binance?{query}")
        assert response.status_code == 200, query
        return sorted(o["order_id"] for o in response.json()["orders"])

    assert await ids("status=filled") == ["EX_1", "EX_3"]
    assert await ids("status=FILLED") == ["EX_1", "EX_3"]
    assert await ids("symbol=BTC/USDT") == ["EX_1", "EX_2"]
    assert await ids("status=filled&symbol=ETH/USDT") == ["EX_3"]
    assert await ids("status=rejected") == []
    assert await ids("status=&symbol=") == ["EX_1", "EX_2", "EX_3"]


async def test_limit(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """limit keeps the newest orders; matched counts every order that passed the filters."""
    for n in range(1, 4):
        await writer.save_order("binance", order(f"EX_{n}"))
    body = (await client.get("/orders/binance?limit=2")).json()
    assert (body["count"], body["matched"]) == (2, 3)
    assert [o["order_id"] for o in body["orders"]] == ["EX_3", "EX_2"]
    assert (await client.get("/orders/binance?limit=10000")).json()["count"] == 3
    for bad in ("0", "10001", "-1", "two", "1.5"):
        response = await client.get(f"/orders/binance?limit={bad}")
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == PROBLEM


async def test_search_across_keys(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """?order_id= finds the order in every hash, name and ex_id keys alike."""
    await writer.save_order("binance", order("EX_1"))
    await writer.save_order(7, order("EX_1", status="filled"))
    await writer.save_order("kraken", order("EX_2"))
    response = await client.get("/orders", params={"order_id": "EX_1"})
    assert response.status_code == 200
    body = response.json()
    assert (body["order_id"], body["count"], body["skipped"]) == ("EX_1", 2, 0)
    assert [(o["key"], o["order_id"], o["status"]) for o in body["orders"]] == [
        ("7", "EX_1", "filled"),
        ("binance", "EX_1", "open"),
    ]


async def test_search_miss_corrupt_and_invalid(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Search: 404 when no hash holds the id, corrupt matches counted, bad ids 422."""
    await writer.save_order("binance", order("EX_1"))
    missing = await client.get("/orders?order_id=EX_9")
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    await put(writer, "kraken", "EX_1", "{not json")
    body = (await client.get("/orders?order_id=EX_1")).json()
    assert (body["count"], body["skipped"]) == (1, 1)
    assert body["orders"][0]["key"] == "binance"
    for bad in ("EX*", "a b", "x" * 129):
        response = await client.get("/orders", params={"order_id": bad})
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == PROBLEM


async def test_misses_are_404(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """An absent key or field answers a problem 404."""
    await writer.save_order("binance", order("EX_1"))
    for path in ("/orders/kraken", "/orders/kraken/EX_1", "/orders/binance/EX_2"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM


async def test_invalid_path_input_is_422(client: httpx.AsyncClient) -> None:
    """Accounts and order ids outside their patterns, and bad filters, answer 422."""
    paths = [
        "/orders/bin*ance",
        "/orders/bin:ance",
        "/orders/_x",
        "/orders/binance/EX%2A1",
        "/orders/binance/EX%201",
        "/orders/binance?status=open1",
        "/orders/binance?symbol=BTC*",
    ]
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 422, path
        assert response.headers["content-type"] == PROBLEM


async def test_corrupt_entries(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Corrupt orders are skipped and counted in lists and answer 502 alone."""
    await writer.save_order("binance", order("EX_1"))
    await put(writer, "binance", "BAD_JSON", "{oops")
    await put(writer, "binance", "BAD_SHAPE", "[1, 2]")
    await put(writer, "binance", "EMPTY", "")
    body = (await client.get("/orders/binance")).json()
    assert (body["count"], body["matched"], body["skipped"]) == (1, 1, 3)
    assert [o["order_id"] for o in body["orders"]] == ["EX_1"]
    for field in ("BAD_JSON", "BAD_SHAPE", "EMPTY"):
        response = await client.get(f"/orders/binance/{field}")
        assert response.status_code == 502, field
        assert response.headers["content-type"] == PROBLEM


async def test_wrong_type_key(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A non-hash order_status key is not listed but counted as skipped (also by a search for
    an order, which it might hold), and addressing it answers 502."""
    await writer.redis.set("order_status:ghost", "x")
    assert (await client.get("/orders")).json() == {"count": 0, "skipped": 1, "hashes": []}
    found = (await client.get("/orders?order_id=EX_1")).json()
    assert (found["count"], found["skipped"]) == (0, 1)
    for path in ("/orders/ghost", "/orders/ghost/EX_1"):
        response = await client.get(path)
        assert response.status_code == 502, path
        assert response.headers["content-type"] == PROBLEM


async def test_queues_not_consumed(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Queues list their lengths and keep every id after being read."""
    await writer.push_open_order("EX_1", "L1")
    await writer.push_open_order("EX_2", "L1")
    await writer.push_open_order("EX_3", "L2")
    await writer.save_order("queues", order("EX_9"))  # must not shadow the static route
    for path in ("/orders/queues", "/orders/queues/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json() == {
            "count": 2,
            "skipped": 0,
            "queues": [{"local_oid": "L1", "length": 2}, {"local_oid": "L2", "length": 1}],
        }
    assert await writer.redis.lrange("new_orders:L1", 0, -1) == [b"EX_1", b"EX_2"]
    assert await writer.redis.llen("new_orders:L2") == 1


async def test_empty_collections(client: httpx.AsyncClient) -> None:
    """With nothing cached, the collections answer empty 200 lists (with or without slash)."""
    for path in ("/orders", "/orders/"):
        assert (await client.get(path)).json() == {"count": 0, "skipped": 0, "hashes": []}
    assert (await client.get("/orders/queues")).json() == {"count": 0, "skipped": 0, "queues": []}


async def test_redis_down_then_back(
    client: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer
) -> None:
    """A stopped Redis answers 503 (never 404), and reads recover once it is back."""
    flushed.stop()
    try:
        for path in ("/orders", "/orders/queues", "/orders/binance", "/orders/binance/EX_1"):
            response = await client.get(path)
            assert response.status_code == 503, path
            assert response.headers["content-type"] == PROBLEM
    finally:
        flushed.start()
    assert (await client.get("/orders")).status_code == 200


async def test_polled_order_follows_every_write(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """One order polled across writes: each answer is the stored value, never a remembered
    decode of an older one (answers are reused per stored value only)."""
    for status in ("open", "filled", "open"):
        await writer.save_order("binance", order("EX_9", status=status))
        for _ in range(2):
            response = await client.get("/orders/binance/EX_9")
            assert response.json()["status"] == status
    await writer.save_order(7, order("EX_9", status="canceled"))
    assert (await client.get("/orders/7/EX_9")).json()["key"] == "7"
