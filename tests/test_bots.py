"""Bots: ``bot_status``, ``block_exchange`` and ``opening_position`` hashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from fullon_cache_api.demo import CacheWriter

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"


def rfc3339(iso: str) -> str:
    """The RFC 3339 UTC form the gateway gives a stored ISO time."""
    return datetime.fromisoformat(iso).astimezone(UTC).isoformat().replace("+00:00", "Z")


async def stored_stamp(writer: CacheWriter, bot_id: str, feed: str) -> str:
    """The ISO timestamp fullon_cache stamped on one feed of a stored bot."""
    raw = await writer.redis.hget("bot_status", bot_id)
    assert raw is not None
    stamp: str = json.loads(raw)[feed]["timestamp"]
    return stamp


async def test_one_bot_splits_feeds_and_fields(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """A bot's object values become feeds with RFC 3339 timestamps; the rest are fields."""
    await writer.update_bot(
        42,
        {"feed_1": {"status": "running", "symbols": ["BTC/USDT"]}, "name": "mybot", "pnl": 1.5},
    )
    stamp = rfc3339(await stored_stamp(writer, "42", "feed_1"))
    response = await client.get("/bots/42")
    assert response.status_code == 200
    assert response.json() == {
        "bot_id": "42",
        "updated": stamp,
        "feeds": {
            "feed_1": {"timestamp": stamp, "data": {"status": "running", "symbols": ["BTC/USDT"]}}
        },
        "fields": {"name": "mybot", "pnl": 1.5},
    }


async def test_list_bots_sorted_with_mixed_timestamps(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Bots list in id order (9 before 10) with epoch, offset and naive feed times normalised."""
    await writer.update_bot("BOT_001", {"feed": {"status": "idle"}})
    document = {
        "a": {"timestamp": 1717584000.25, "value": float("nan")},
        "b": {"timestamp": "2025-06-05T14:00:00+02:00"},
        "c": {"timestamp": "2025-06-05T12:00:00.5"},
        "d": {"status": "no time"},
        "strategy": None,
    }
    await writer.redis.hset("bot_status", "10", json.dumps(document))
    await writer.update_bot(9, {"name": "nine"})
    stamp = rfc3339(await stored_stamp(writer, "BOT_001", "feed"))
    for path in ("/bots", "/bots/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        body = response.json()
        assert [bot["bot_id"] for bot in body["bots"]] == ["9", "10", "BOT_001"]
        assert (body["count"], body["skipped"]) == (3, 0)
    nine, ten, named = body["bots"]
    assert nine == {"bot_id": "9", "updated": None, "feeds": {}, "fields": {"name": "nine"}}
    assert ten["updated"] == "2025-06-05T12:00:00.500000Z"
    assert ten["feeds"] == {
        "a": {"timestamp": "2024-06-05T10:40:00.250000Z", "data": {"value": None}},
        "b": {"timestamp": "2025-06-05T12:00:00Z", "data": {}},
        "c": {"timestamp": "2025-06-05T12:00:00.500000Z", "data": {}},
        "d": {"timestamp": None, "data": {"status": "no time"}},
    }
    assert ten["fields"] == {"strategy": None}
    assert named["feeds"]["feed"] == {"timestamp": stamp, "data": {"status": "idle"}}


async def test_corrupt_bot_skipped_in_list_and_502_alone(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Invalid JSON or a non-object document is skipped in the list and a 502 when addressed."""
    await writer.update_bot(1, {"name": "good"})
    await writer.redis.hset("bot_status", "2", "{not json")
    await writer.redis.hset("bot_status", "3", "[1, 2]")
    body = (await client.get("/bots")).json()
    assert (body["count"], body["skipped"]) == (1, 2)
    assert body["bots"][0]["bot_id"] == "1"
    for bot_id in ("2", "3"):
        response = await client.get(f"/bots/{bot_id}")
        assert response.status_code == 502
        assert response.headers["content-type"] == PROBLEM


async def test_wrong_type_keys_are_502(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A BotCache key of the wrong Redis type answers a 502 problem for the whole list."""
    await writer.redis.set("bot_status", "{}")
    await writer.redis.rpush("block_exchange", "1:BTC/USDT")
    await writer.redis.set("opening_position", "x")
    for path in ("/bots", "/bots/42", "/bots/blocks", "/bots/opening-positions"):
        response = await client.get(path)
        assert response.status_code == 502, path
        assert response.headers["content-type"] == PROBLEM


async def test_missing_bot_is_404(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """An unknown bot id, with or without a ``bot_status`` hash, answers a problem 404."""
    response = await client.get("/bots/BOT_001")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    await writer.update_bot(42, {"name": "other"})
    response = await client.get("/bots/BOT_001")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("bot_id", ["a*b", "a%3Fb", "%5Bab%5D", "-x", "b" * 65])
async def test_invalid_bot_id_is_422(client: httpx.AsyncClient, bot_id: str) -> None:
    """Glob characters, a leading dash and overlong ids are rejected before Redis."""
    response = await client.get(f"/bots/{bot_id}")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_empty_lists(client: httpx.AsyncClient) -> None:
    """With no BotCache keys every list is empty, not a 404."""
    assert (await client.get("/bots")).json() == {"count": 0, "skipped": 0, "bots": []}
    assert (await client.get("/bots/blocks/")).json() == {"count": 0, "skipped": 0, "blocks": []}
    assert (await client.get("/bots/opening-positions")).json() == {
        "count": 0,
        "skipped": 0,
        "opening_positions": [],
    }


async def test_blocks_split_at_first_colon(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Block fields split at the first ``:``, so ccxt symbols keep theirs; bad fields skipped."""
    await writer.block_exchange("binance", "BTC/USDT:USDT", "BOT_001")
    await writer.block_exchange(10, "ETH/USDT", 7)
    await writer.block_exchange(2, "BTC/USDT", 42)
    await writer.redis.hset("block_exchange", mapping={"nocolon": "1", ":BTC/USDT": "2"})
    response = await client.get("/bots/blocks")
    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "skipped": 2,
        "blocks": [
            {"ex_id": "2", "symbol": "BTC/USDT", "bot_id": "42"},
            {"ex_id": "10", "symbol": "ETH/USDT", "bot_id": "7"},
            {"ex_id": "binance", "symbol": "BTC/USDT:USDT", "bot_id": "BOT_001"},
        ],
    }


async def test_opening_positions(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Opening marks split field and value at the first ``:``; malformed ones are skipped."""
    await writer.mark_opening_position("bybit", "BTC/USDT:USDT", "BOT_001")
    raw = await writer.redis.hget("opening_position", "bybit:BTC/USDT:USDT")
    assert raw is not None
    since = rfc3339(raw.decode().partition(":")[2])
    await writer.redis.hset(
        "opening_position",
        mapping={
            "1:ETH/USDT": "42:2025-06-05T12:00:00.008199+00:00",
            "3:SOL/USDT": "7:2025-06-05T12:00:00",
            "nocolon": "1:2025-06-05T12:00:00+00:00",
            "4:BTC/USDT": "no-time-here",
            "5:BTC/USDT": "42:not a time",
            "6:BTC/USDT": ":2025-06-05T12:00:00+00:00",
        },
    )
    response = await client.get("/bots/opening-positions")
    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "skipped": 4,
        "opening_positions": [
            {
                "ex_id": "1",
                "symbol": "ETH/USDT",
                "bot_id": "42",
                "since": "2025-06-05T12:00:00.008199Z",
            },
            {"ex_id": "3", "symbol": "SOL/USDT", "bot_id": "7", "since": "2025-06-05T12:00:00Z"},
            {"ex_id": "bybit", "symbol": "BTC/USDT:USDT", "bot_id": "BOT_001", "since": since},
        ],
    }


async def test_reads_leave_hashes_unchanged(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Reading every bots route changes nothing in the three hashes."""
    await writer.update_bot(1, {"feed": {"status": "running"}})
    await writer.block_exchange(1, "BTC/USDT", 1)
    await writer.mark_opening_position(1, "BTC/USDT", 1)
    keys = ("bot_status", "block_exchange", "opening_position")
    before = [await writer.redis.hgetall(key) for key in keys]
    for path in ("/bots", "/bots/1", "/bots/blocks", "/bots/opening-positions"):
        assert (await client.get(path)).status_code == 200, path
    assert [await writer.redis.hgetall(key) for key in keys] == before


async def test_polled_bot_follows_every_write(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """One bot polled across writes: each answer is its stored document (answers are reused
    per stored value only), and the same document under another id names that id."""
    for step in (1, 2, 1):
        await writer.update_bot(5, {"feed": {"step": step}, "mode": f"m{step}"})
        for _ in range(2):
            body = (await client.get("/bots/5")).json()
            assert body["feeds"]["feed"]["data"] == {"step": step}
            assert body["fields"] == {"mode": f"m{step}"}
    raw = await writer.redis.hget("bot_status", "5")
    await writer.redis.hset("bot_status", "6", raw)
    assert (await client.get("/bots/6")).json()["bot_id"] == "6"
