"""Processes: ``process:active:{type}`` hashes and ``process:data:{id}`` documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from fullon_cache_api.data.processes import split_process_id
from fullon_cache_api.demo import CacheWriter, RedisServer

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"


def _ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _ids(body: dict[str, Any]) -> list[str]:
    return [process["process_id"] for process in body["processes"]]


def test_split_process_id() -> None:
    """Type ends at the first ':', epoch starts after the last; the component keeps ':' and '/'."""
    assert split_process_id("tick:kraken:BTC/USD:1717584000.023568") == (
        "tick",
        "kraken:BTC/USD",
        "1717584000.023568",
    )
    assert split_process_id("bot:arb_1:1717584000.0") == ("bot", "arb_1", "1717584000.0")
    assert split_process_id("tick:1717584000.0") is None
    assert split_process_id("nonsense") is None


async def test_active_processes_newest_first(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Active processes come with RFC 3339 times, newest update first; reading changes nothing."""
    first = _ago(seconds=60)
    second = first + timedelta(seconds=10)
    tick = await writer.register_process(
        "tick",
        "kraken:BTC/USD",
        {"exchange": "kraken", "spread": float("nan")},
        "hello",
        status="running",
        now=first,
    )
    bot = await writer.register_process("bot", "arb_1", now=second)
    response = await client.get("/processes")
    assert response.status_code == 200
    body = response.json()
    assert (body["since_minutes"], body["count"], body["skipped"], body["expired"]) == (5, 2, 0, 0)
    assert _ids(body) == [bot, tick]
    listed = body["processes"][0]
    age = listed.pop("heartbeat_age_seconds")
    assert 50 <= age < 60
    assert listed == {
        "process_id": bot,
        "process_type": "bot",
        "component": "arb_1",
        "params": {},
        "status": "starting",
        "message": "Process arb_1 registered",
        "created_at": _rfc3339(second),
        "updated_at": _rfc3339(second),
        "heartbeat": _rfc3339(second),
        "heartbeat_stale": False,
    }
    assert body["processes"][1]["params"] == {"exchange": "kraken", "spread": None}
    assert await writer.update_process(tick, status="processing", message="batch 1/10")
    body = (await client.get("/processes/")).json()
    assert _ids(body) == [tick, bot]
    assert body["processes"][0]["status"] == "processing"
    assert body["processes"][0]["message"] == "batch 1/10"
    assert body["processes"][0]["created_at"] == _rfc3339(first)
    assert await writer.redis.hlen("process:active:tick") == 1
    assert await writer.redis.ttl(f"process:data:{bot}") > 86000


async def test_filters_type_and_component(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """`type` and `component` filter; types beyond fullon_cache's eight are found by SCAN."""
    kraken_tick = await writer.register_process("tick", "kraken:BTC/USD", now=_ago(seconds=40))
    binance_tick = await writer.register_process("tick", "binance:ETH/USDT", now=_ago(seconds=30))
    kraken_bot = await writer.register_process("bot", "kraken:BTC/USD", now=_ago(seconds=20))
    custom = await writer.register_process("custom_feed", "feed-1", now=_ago(seconds=10))
    cases = {
        "": [custom, kraken_bot, binance_tick, kraken_tick],
        "?type=tick": [binance_tick, kraken_tick],
        "?type=custom_feed": [custom],
        "?type=ohlcv": [],
        "?component=kraken:BTC/USD": [kraken_bot, kraken_tick],
        "?type=tick&component=kraken%3ABTC%2FUSD": [kraken_tick],
        "?component=kraken": [],
    }
    for query, expected in cases.items():
        response = await client.get(f"/processes{query}")
        assert response.status_code == 200, query
        assert _ids(response.json()) == expected, query
        assert response.json()["count"] == len(expected), query


async def test_since_minutes_cutoff(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Entries last active before the window are left out; a wider window brings them back."""
    old = await writer.register_process("ohlcv", "binance:BTC/USDT:1m", now=_ago(minutes=20))
    fresh = await writer.register_process("ohlcv", "binance:BTC/USDT:1h", now=_ago(minutes=1))
    assert _ids((await client.get("/processes")).json()) == [fresh]
    body = (await client.get("/processes?since_minutes=30")).json()
    assert body["since_minutes"] == 30
    assert _ids(body) == [fresh, old]
    assert body["processes"][1]["component"] == "binance:BTC/USDT:1m"
    assert body["processes"][1]["heartbeat_stale"] is False


async def test_stale_heartbeat(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """An update without heartbeat keeps a process active with a heartbeat older than the window."""
    pid = await writer.register_process("account", "7", now=_ago(minutes=10))
    await writer.update_process(pid, status="idle", heartbeat=False)
    body = (await client.get("/processes")).json()
    assert _ids(body) == [pid]
    process = body["processes"][0]
    assert process["heartbeat_stale"] is True
    assert 600 <= process["heartbeat_age_seconds"] < 660
    assert process["status"] == "idle"
    wider = (await client.get("/processes?since_minutes=30")).json()
    assert wider["processes"][0]["heartbeat_stale"] is False
    one = (await client.get(f"/processes/{pid}")).json()
    assert one["heartbeat_stale"] is True
    one = (await client.get(f"/processes/{pid}?since_minutes=15")).json()
    assert one["heartbeat_stale"] is False


async def test_expired_data_key_is_not_corrupt(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """An active entry whose data key expired is dropped and counted as expired, not skipped."""
    kept = await writer.register_process("order", "binance", now=_ago(seconds=20))
    gone = await writer.register_process("order", "kraken", now=_ago(seconds=10))
    await writer.redis.delete(f"process:data:{gone}")  # what the 24 h TTL does
    body = (await client.get("/processes")).json()
    assert (body["count"], body["skipped"], body["expired"]) == (1, 0, 1)
    assert _ids(body) == [kept]
    assert (await client.get("/processes?component=binance")).json()["expired"] == 0
    response = await client.get(f"/processes/{gone}")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_corrupt_entries_are_skipped(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Bad JSON and unreadable active times are skipped and counted; the document alone is 502."""
    good = await writer.register_process("crawler", "news", now=_ago(seconds=30))
    now = datetime.now(UTC).isoformat()
    bad_json = "crawler:broken:1717584000.5"
    await writer.redis.hset("process:active:crawler", bad_json, now)
    await writer.redis.set(f"process:data:{bad_json}", '{"process_id": "crawler:broken:')
    bad_time = "crawler:clock:1717584000.5"
    await writer.redis.hset("process:active:crawler", bad_time, "not a time")
    await writer.redis.set("process:active:bot", "a string, not a hash")
    body = (await client.get("/processes")).json()
    # bad JSON, the unreadable time, and the string process:active:bot
    assert (body["count"], body["skipped"], body["expired"]) == (1, 3, 0)
    assert _ids(body) == [good]
    # A key of the wrong type cannot be filtered by component: it is still counted.
    assert (await client.get("/processes?component=news")).json()["skipped"] == 1
    response = await client.get(f"/processes/{bad_json}")
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM
    health = (await client.get("/processes/health")).json()
    assert (health["total_processes"], health["skipped"]) == (1, 3)


async def test_one_process_with_colon_and_slash(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """A component holding ':' and '/' is addressed by the whole id; the document is exact."""
    registered = datetime(2024, 6, 5, 10, 40, 0, 23568, tzinfo=UTC)
    pid = await writer.register_process(
        "tick",
        "kraken:BTC/USD",
        {"exchange": "kraken", "depth": float("inf")},
        "hello",
        now=registered,
    )
    assert pid == "tick:kraken:BTC/USD:1717584000.023568"
    response = await client.get(f"/processes/{pid}")
    assert response.status_code == 200
    body = response.json()
    assert body.pop("heartbeat_age_seconds") > 3600 * 24 * 300
    assert body == {
        "process_id": pid,
        "process_type": "tick",
        "component": "kraken:BTC/USD",
        "params": {"exchange": "kraken", "depth": None},
        "status": "starting",
        "message": "hello",
        "created_at": "2024-06-05T10:40:00.023568Z",
        "updated_at": "2024-06-05T10:40:00.023568Z",
        "heartbeat": "2024-06-05T10:40:00.023568Z",
        "heartbeat_stale": True,
    }
    assert (await client.get("/processes")).json()["count"] == 0  # active long ago


async def test_tolerant_document(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Missing keys fall back to the id, unknown keys are ignored, naive and epoch times parse."""
    pid = "bot_status_service:main:1717584000.5"
    stamp = datetime.now(UTC)
    document = {
        "process_type": "bot_status_service",
        "status": "running",
        "updated_at": stamp.timestamp(),
        "heartbeat": stamp.replace(tzinfo=None).isoformat(),
        "extra": [1, 2],
    }
    await writer.redis.set(f"process:data:{pid}", json.dumps(document))
    await writer.redis.hset("process:active:bot_status_service", pid, stamp.isoformat())
    body = (await client.get("/processes")).json()
    assert body["count"] == 1
    process = body["processes"][0]
    assert process["component"] == "main"
    assert process["params"] == {}
    assert process["message"] is None
    assert process["created_at"] == "2024-06-05T10:40:00.500000Z"
    assert process["heartbeat"] == _rfc3339(stamp)
    assert process["heartbeat_stale"] is False
    assert datetime.fromisoformat(process["updated_at"]) == stamp


async def test_missing_process_is_404(client: httpx.AsyncClient) -> None:
    """An id with no document answers a problem 404."""
    response = await client.get("/processes/tick:kraken:BTC/USD:1717584000.023568")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/processes?since_minutes=0",
        "/processes?since_minutes=10081",
        "/processes?since_minutes=five",
        "/processes?type=TICK*",
        "/processes?type=tick*",
        "/processes?component=kraken%20BTC",
        "/processes?component=kraken:*",
        "/processes/nonsense",
        "/processes/tick:kraken:BTC/USD:not-an-epoch",
        "/processes/tick:kraken:BTC/USD:1717584000.5?since_minutes=0",
    ],
)
async def test_invalid_input_is_422(client: httpx.AsyncClient, path: str) -> None:
    """Out-of-bound windows, glob characters and malformed ids are rejected before Redis."""
    response = await client.get(path)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_system_health(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Counts over the last hour; any error status or stale heartbeat makes it unhealthy."""
    empty = (await client.get("/processes/health")).json()
    assert empty == {
        "healthy": True,
        "total_processes": 0,
        "by_type": {},
        "by_status": {},
        "stale_processes": 0,
        "error_processes": 0,
        "skipped": 0,
    }
    await writer.register_process("tick", "kraken:BTC/USD", status="running", now=_ago(minutes=30))
    await writer.register_process("tick", "binance:BTC/USDT", status="running", now=_ago(minutes=1))
    await writer.register_process("bot", "arb_1", status="idle", now=_ago(minutes=2))
    await writer.register_process("bot", "ancient", status="error", now=_ago(minutes=90))
    healthy = (await client.get("/processes/health")).json()
    assert healthy == {
        "healthy": True,
        "total_processes": 3,
        "by_type": {"bot": 1, "tick": 2},
        "by_status": {"idle": 1, "running": 2},
        "stale_processes": 0,
        "error_processes": 0,
        "skipped": 0,
    }
    await writer.register_process("order", "kraken", status="error", now=_ago(seconds=5))
    stale = await writer.register_process("account", "7", status="running", now=_ago(minutes=70))
    await writer.update_process(stale, status="running", heartbeat=False)
    unhealthy = (await client.get("/processes/health")).json()
    assert unhealthy == {
        "healthy": False,
        "total_processes": 5,
        "by_type": {"account": 1, "bot": 1, "order": 1, "tick": 2},
        "by_status": {"error": 1, "idle": 1, "running": 3},
        "stale_processes": 1,
        "error_processes": 1,
        "skipped": 0,
    }


async def test_outage_is_503(client: httpx.AsyncClient, flushed: RedisServer) -> None:
    """With Redis stopped every processes route answers 503, and 200/404 once it is back."""
    flushed.stop()
    for path in ("/processes", "/processes/health", "/processes/bot:arb_1:1717584000.5"):
        response = await client.get(path)
        assert response.status_code == 503, path
        assert response.headers["retry-after"] == "1"
    flushed.start()
    assert (await client.get("/processes")).status_code == 200
    assert (await client.get("/processes/bot:arb_1:1717584000.5")).status_code == 404
