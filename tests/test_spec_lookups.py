"""The specification's lookups in detail: one open-order queue by name, the trade queue
status, the per-pair block check, and process status; edge cases the demo data lacks."""

from __future__ import annotations

import httpx
import pytest
from redis.asyncio import Redis

from fullon_cache_api import Ownership
from fullon_cache_api.data.queues import QueueReader
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.monitor import monitored

pytestmark = pytest.mark.anyio


async def test_queue_size_of_one_queue(
    client: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer
) -> None:
    """`?local_oid=` answers that queue alone without a SCAN; absent is an empty list, a key
    of another type is counted in `skipped`; without it every queue is listed."""
    for oid in ("1", "2", "3"):
        await writer.push_open_order(oid, "bot_1")
    await writer.push_open_order("9", "bot_2")
    await writer.redis.set("new_orders:odd", "not a list")
    with monitored(flushed.port) as seen:
        one = (await client.get("/orders/queue/size?local_oid=bot_1")).json()
    assert one == {"count": 1, "skipped": 0, "queues": [{"local_oid": "bot_1", "length": 3}]}
    assert "SCAN" not in {command for _, command in seen}
    absent = (await client.get("/orders/queue/size?local_oid=bot_9")).json()
    assert absent == {"count": 0, "skipped": 0, "queues": []}
    odd = (await client.get("/orders/queue/size?local_oid=odd")).json()
    assert odd == {"count": 0, "skipped": 1, "queues": []}
    every = (await client.get("/orders/queue/size")).json()
    assert every == (await client.get("/orders/queues")).json()
    assert [(q["local_oid"], q["length"]) for q in every["queues"]] == [("bot_1", 3), ("bot_2", 1)]
    bad = await client.get("/orders/queue/size?local_oid=bot*")
    assert bad.status_code == 422


async def test_trade_queue_status_in_detail(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Queues are listed with their exchange's status (null when it has none), a status
    without queues is still listed, wrong-type keys are counted, nothing is consumed."""
    await writer.push_trade("binance", {"symbol": "BTC/USDT:USDT", "uid": 1})
    await writer.redis.rpush("trades:kraken:XBTEUR", '{"symbol": "XBT/EUR"}')  # no status
    await writer.push_user_trade(7, "kraken", {"symbol": "XBT/EUR"})
    await writer.update_trade_status("bybit")
    await writer.redis.set("trades:odd:KEY", "not a list")
    body = (await client.get("/trades/queue/status")).json()
    rows = [(q["key"], q["kind"], q["exchange"], q["symbol_key"], q["uid"], q["length"])
            for q in body["queues"]]  # fmt: skip
    assert rows == [
        ("trades:binance:BTCUSDT:USDT", "trades", "binance", "BTCUSDT:USDT", None, 1),
        ("trades:kraken:XBTEUR", "trades", "kraken", "XBTEUR", None, 1),
        ("user_trades:7:kraken", "user_trades", "kraken", None, "7", 1),
    ]
    assert [q["status_updated_at"] is not None for q in body["queues"]] == [True, False, False]
    assert [s["key"] for s in body["statuses"]] == ["binance", "bybit"]
    assert (body["count"], body["skipped"], body["partial"]) == (3, 1, False)
    assert await writer.redis.llen("trades:binance:BTCUSDT:USDT") == 1


async def test_trade_queue_status_for_an_owner_and_within_budget(
    writer: CacheWriter, flushed: RedisServer
) -> None:
    """A non-admin sees its own user queues (with their exchange's status) and no status
    list; a spent budget scans nothing and says partial."""
    await writer.push_trade("binance", {"symbol": "BTC/USDT", "uid": 7})
    await writer.push_user_trade(7, "binance", {"symbol": "BTC/USDT"})
    await writer.push_user_trade(8, "binance", {"symbol": "BTC/USDT"})
    client = Redis(port=flushed.port)
    try:
        reader = QueueReader(client)
        mine = await reader.trade_queues(only=Ownership(uids=frozenset({"7"})))
        spent = await reader.trade_queues(budget=0)
    finally:
        await client.aclose()
    assert [(q.key, q.status_updated_at is not None) for q in mine.queues] == [
        ("user_trades:7:binance", True)
    ]
    assert mine.statuses == []
    assert (spent.count, spent.partial) == (0, True)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/bots/blocks/1/BTC/USDT:USDT", (True, "42")),  # ':' in the symbol
        ("/bots/blocks/1/BTC%2FUSDT:USDT", (True, "42")),  # '/' sent as %2F
        ("/bots/blocks/1/BTC/USDT", (False, None)),
        ("/bots/blocks/kraken/BTC/USD", (False, None)),  # an empty holder is no block
    ],
)
async def test_block_check(
    client: httpx.AsyncClient, writer: CacheWriter, path: str, expected: tuple[bool, str]
) -> None:
    """The pair is looked up as stored (`{ex_id}:{symbol}`); 200 whether blocked or not."""
    await writer.block_exchange(1, "BTC/USDT:USDT", 42)
    await writer.redis.hset("block_exchange", "kraken:BTC/USD", "")
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert (response.json()["blocked"], response.json()["bot"]) == expected


async def test_block_check_validates_the_pair(client: httpx.AsyncClient) -> None:
    """Glob characters never reach Redis: a 422 naming the parameter."""
    for path, name in (("/bots/blocks/1*/BTC/USDT", "ex_id"), ("/bots/blocks/1/BTC*", "symbol")):
        response = await client.get(path)
        assert response.status_code == 422, path
        assert name in response.json()["detail"]


async def test_bot_status_and_process_status(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """/bots/{id}/status answers /bots/{id}'s document (404 when unknown); /processes/status
    answers /processes' entries in brief and /processes/health's summary."""
    await writer.update_bot(42, {"name": "b", "feed": {"status": "running"}})
    await writer.register_process("tick", "binance", status="running")
    await writer.register_process("crawler", "news", status="error")
    assert (await client.get("/bots/42/status")).json() == (await client.get("/bots/42")).json()
    assert (await client.get("/bots/43/status")).status_code == 404
    body = (await client.get("/processes/status?since_minutes=10")).json()
    listed = (await client.get("/processes?since_minutes=10")).json()
    assert [p["process_id"] for p in body["processes"]] == [
        p["process_id"] for p in listed["processes"]
    ]
    assert set(body["processes"][0]) == {
        "process_id", "process_type", "component", "status", "message",
        "heartbeat", "heartbeat_age_seconds", "heartbeat_stale",
    }  # fmt: skip
    health = (await client.get("/processes/health")).json()
    assert body["health"] == health and health["error_processes"] == 1
    assert (body["since_minutes"], body["count"]) == (10, 2)
