"""Corrupt and surprising data under every route: skipped and counted in lists, 502 for a
single entry, never a 500.

Each case damages one key of the surface samples (tests/support/surface.py) and crawls every route.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import msgspec
import pytest

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.apps import in_process
from .support.credentials import ADMIN_KEY, HEADERS
from .support.faults.corrupt import CORRUPTIONS, HUGE, pad_valid, wrong_type
from .support.streams import serve, sse
from .support.surface import NOW, PROCESS_ID, SAMPLES, STREAM_SAMPLES, TRADE, seed_surface
from .support.ws_surface import crawl as ws_crawl
from .support.ws_surface import result as ws_result

pytestmark = pytest.mark.anyio

PROCESS_KEY = f"process:data:{PROCESS_ID}"

# Routes that read a key by name, and whether they answer one entry ("single": 502 when it is
# corrupt) or many ("list": 200, the entry skipped and counted). A key found by SCAN whose
# Redis type is wrong is never read there: it is skipped and counted (EXTRA_WRONG_TYPE).
READS: dict[str, dict[str, str]] = {
    "tickers:binance": {
        "/tickers/{exchange}": "list",
        "/tickers/{exchange}/{symbol:path}": "single",
    },
    "accounts": {"/accounts": "list", "/accounts/{ex_id}": "single"},
    "account_positions": {"/positions": "list", "/accounts/{ex_id}/positions": "single"},
    "order_status:binance": {
        "/orders/{account}": "list",
        "/orders/{account}/{order_id:path}": "single",
    },
    "bot_status": {"/bots": "list", "/bots/{bot_id}": "single"},
    "opening_position": {"/bots/opening-positions": "list"},
    "trades:binance:BTCUSDT": {"/trades/{exchange}/{symbol:path}": "list"},
    "user_trades:7:binance": {"/trades/users/{uid}/{exchange}": "list"},
    "ohlcv:BTC/USDT:1m": {"/ohlcv/{symbol:path}/{timeframe}": "list"},
    PROCESS_KEY: {
        "/processes": "list",
        "/processes/health": "list",
        "/processes/{process_id:path}": "single",
    },
}

# A key of the wrong type: these routes read it by name (HGET, HGETALL, LRANGE...) and answer
# 502. MGET reads a non-string as nil: /processes then checks its type and counts it skipped.
WRONG_TYPE_502: dict[str, set[str]] = {
    **{key: set(routes) for key, routes in READS.items() if key != PROCESS_KEY},
    "block_exchange": {"/bots/blocks"},
    PROCESS_KEY: {"/processes/{process_id:path}"},
}
# Keys whose damage no route notices (values are plain text, or the key is never read).
OTHER_KEYS = [
    "TRADE:STATUS:binance",
    "new_orders:L1",
    "process:active:tick",
    "process:components",
    "ticker_time:binance:BTC/USDT",
]


# The routes classified above (the domain routes). Routes added later (derived views,
# summaries) are crawled too and held to the general rule: 200, or a 502 problem.
CLASSIFIED = {
    "/health",
    *(f"/tickers{suffix}" for suffix in ("", "/{exchange}", "/{exchange}/{symbol:path}")),
    "/accounts",
    "/accounts/{ex_id}",
    "/accounts/{ex_id}/positions",
    "/positions",
    *(f"/orders{suffix}" for suffix in ("", "/queues", "/{account}", "/{account}/{order_id:path}")),
    *(f"/bots{suffix}" for suffix in ("", "/blocks", "/opening-positions", "/{bot_id}")),
    "/trades",
    "/trades/users/{uid}/{exchange}",
    "/trades/{exchange}/{symbol:path}",
    "/ohlcv",
    "/ohlcv/{symbol:path}/{timeframe}",
    "/processes",
    "/processes/health",
    "/processes/{process_id:path}",
}


# Keys found by SCAN, added with the wrong Redis type next to the surface data, and the list
# answers that must count each in `skipped` (no route reads these keys by name).
EXTRA_WRONG_TYPE: dict[str, tuple[str, ...]] = {
    "tickers:kraken": ("/tickers", "/tickers/status"),
    "ohlcv:ETH/USDT:1m": ("/ohlcv", "/ohlcv/status"),
    "order_status:kraken": (
        "/orders", "/orders?order_id=EX_1", "/orders/stats", "/orders/EX_1/status", "/me/summary",
    ),
    "new_orders:L9": ("/orders/queues", "/orders/stats", "/orders/queue/size"),
    "trades:kraken:BTCUSD": ("/trades", "/trades/stats", "/trades/queue/status"),
    "TRADE:STATUS:kraken": ("/trades", "/trades/stats", "/trades/queue/status"),
    "user_trades:9:kraken": ("/trades/stats", "/trades/queue/status"),
    "process:active:crawler": (
        "/processes", "/processes/health", "/processes/metrics", "/processes/status",
    ),
    "process:data:crawler:x:1.0": ("/processes/metrics",),
}  # fmt: skip
# Where the layout has a string, the wrong type is a hash; elsewhere a string.
_STRING_PREFIXES = ("TRADE:STATUS:", "process:data:")


def check_unclassified(template: str, response: httpx.Response) -> None:
    """The rule for every route: 200, or a 502 problem document; never a 500."""
    if response.status_code != 200:
        assert response.status_code == 502, (template, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def crawl(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
    """Every sample route's answer, by route template."""
    return {template: await client.get(path) for template, path in SAMPLES.items()}


def check_problem(response: httpx.Response, status: int, key: str) -> None:
    """A problem document of `status` whose detail names the damaged key."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert key in response.json()["detail"]


def skipped(response: httpx.Response) -> int:
    """The skip counter of a list answer."""
    assert response.status_code == 200, response.text
    count: int = response.json()["skipped"]
    return count


async def test_keys_are_the_ones_the_samples_write(
    writer: CacheWriter, flushed: RedisServer
) -> None:
    """The tables above name every key the surface seed writes (so no domain is left out)."""
    await seed_surface(writer)
    stored = {key.decode() async for key in writer.redis.scan_iter()}
    assert stored == set(READS) | set(WRONG_TYPE_502) | set(OTHER_KEYS)
    assert {route for routes in READS.values() for route in routes} | {
        route for routes in WRONG_TYPE_502.values() for route in routes
    } <= set(SAMPLES)


@pytest.mark.parametrize("key", sorted(WRONG_TYPE_502.keys() | set(OTHER_KEYS)))
async def test_wrong_key_type(client: httpx.AsyncClient, writer: CacheWriter, key: str) -> None:
    """A key of the wrong type: 502 naming it where it is read by name, 200 everywhere else."""
    await seed_surface(writer)
    await wrong_type(writer.redis, key)
    for template, response in (await crawl(client)).items():
        if template in WRONG_TYPE_502.get(key, set()):
            check_problem(response, 502, key)
            assert "wrong Redis type" in response.json()["detail"]
        elif template not in CLASSIFIED:
            check_unclassified(template, response)
        else:
            assert response.status_code == 200, (template, response.text)


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
@pytest.mark.parametrize("key", sorted([*READS, *OTHER_KEYS]))
async def test_undecodable_values(
    client: httpx.AsyncClient, writer: CacheWriter, key: str, corruption: str
) -> None:
    """Truncated JSON or 10 MiB of junk: lists skip and count it, single entries answer 502."""
    await seed_surface(writer)
    await CORRUPTIONS[corruption](writer.redis, key)
    for template, response in (await crawl(client)).items():
        kind = READS.get(key, {}).get(template)
        if kind == "single":
            check_problem(response, 502, key)
        elif kind == "list":
            assert skipped(response) >= 1, template
        elif template not in CLASSIFIED:
            check_unclassified(template, response)
        else:
            assert response.status_code == 200, (template, response.text)


async def seed_non_finite(writer: CacheWriter) -> None:
    """Every domain with NaN and ±Infinity where fullon_cache's json.dumps lets them through."""
    nan, inf = math.nan, math.inf
    await writer.set_ticker(
        "binance", "BTC/USDT", price=nan, volume=inf, bid=-inf, time=NOW.timestamp()
    )
    await writer.upsert_user_account(1, {"USDT": {"free": nan, "used": inf, "total": -inf}})
    await writer.upsert_positions(1, [{"symbol": "BTC/USDT", "volume": nan, "cost": inf}])
    await writer.save_order(
        "binance", {"ex_order_id": "EX_1", "ex_id": 1, "price": nan, "volume": inf}
    )
    await writer.push_open_order("EX_1", "L1")
    await writer.update_bot(42, {"feed_1": {"pnl": nan}, "roi": -inf})
    await writer.block_exchange(1, "BTC/USDT", 42)
    await writer.mark_opening_position(1, "BTC/USDT", 42)
    await writer.push_trade("binance", {**TRADE, "price": nan, "fee": inf})
    await writer.push_user_trade(7, "binance", {**TRADE, "cost": -inf})
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[1717584000, nan, inf, -inf, 1.5, nan]])
    await writer.register_process("tick", "binance:BTC/USDT", params={"x": nan}, now=NOW)


async def test_nan_and_infinity_are_served_as_strict_json(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """NaN/Infinity (valid fullon_cache output) decode, nothing is skipped, the JSON is strict."""
    await seed_non_finite(writer)
    for template, response in (await crawl(client)).items():
        assert response.status_code == 200, (template, response.text)
        body = msgspec.json.decode(response.content)  # strict: rejects NaN / Infinity tokens
        assert not isinstance(body, dict) or body.get("skipped", 0) == 0, template
    ticker = (await client.get(SAMPLES["/tickers/{exchange}/{symbol:path}"])).json()
    assert (ticker["price"], ticker["volume"], ticker["bid"]) == (None, None, None)


@asynccontextmanager
async def admin_client(settings: Settings, **limits: int) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of an app whose read limits (`max_value_bytes`...) are `limits`."""
    app = create_app(settings=msgspec.structs.replace(settings, **limits))
    async with (
        in_process(app, headers={"X-API-Key": ADMIN_KEY}) as http,
    ):
        yield http


@pytest.mark.parametrize("key", sorted(READS))
async def test_huge_valid_values_are_served(
    settings: Settings, writer: CacheWriter, key: str
) -> None:
    """A 10 MiB value that is still valid JSON, under a limit above its size, is read in time,
    with no 5xx on any route."""
    await seed_surface(writer)
    await pad_valid(writer.redis, key)
    started = time.monotonic()
    async with admin_client(settings, max_value_bytes=2 * HUGE) as client:
        for template, response in (await crawl(client)).items():
            assert response.status_code == 200, (template, response.text[:300])
    assert time.monotonic() - started < 10


# opening_position values are text, not JSON: padding would change nothing.
@pytest.mark.parametrize("key", sorted(set(READS) - {"opening_position"}))
async def test_oversized_values_are_skipped_undecoded(
    settings: Settings, writer: CacheWriter, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A valid value above FULLON_CACHE_API_MAX_VALUE_BYTES is never decoded: lists skip it as
    oversized and count it, single entries answer 502 saying so."""
    await seed_surface(writer)
    await pad_valid(writer.redis, key, size=8192)
    async with admin_client(settings, max_value_bytes=4096) as client:
        for template, response in (await crawl(client)).items():
            kind = READS[key].get(template)
            if kind == "single":
                check_problem(response, 502, key)
                assert "oversized" in response.json()["detail"]
            elif kind == "list":
                assert skipped(response) >= 1, template
            elif template not in CLASSIFIED:
                check_unclassified(template, response)
            else:
                assert response.status_code == 200, (template, response.text[:300])
    assert any("oversized" in record.getMessage() for record in caplog.records)


async def test_order_hashes_expiring_mid_request(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """order_status hashes expiring while they are listed or read: 200 or 404, never 5xx."""
    statuses: list[int] = []
    for _ in range(10):
        for account in range(40):
            await writer.save_order(
                account, {"ex_order_id": "EX_1", "ex_id": account, "status": "open"}
            )
        async with writer.redis.pipeline(transaction=False) as pipe:
            for account in range(40):
                pipe.pexpire(f"order_status:{account}", 1 + account % 8)
            await pipe.execute()
        async with anyio.create_task_group() as group:
            for path in ("/orders", "/orders?order_id=EX_1", "/orders/3", "/orders/3/EX_1") * 3:
                group.start_soon(_record, client, path, statuses)
        await anyio.sleep(0.01)
    assert set(statuses) <= {200, 404}
    assert 404 in statuses  # the race was really exercised: some keys were gone


async def _record(client: httpx.AsyncClient, path: str, statuses: list[int]) -> None:
    response = await client.get(path)
    statuses.append(response.status_code)
    if response.status_code == 200 and path == "/orders":
        body = response.json()
        assert body["count"] == len(body["hashes"])
        assert all(entry["orders"] >= 1 for entry in body["hashes"])


async def test_process_documents_expiring_mid_request(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """process:data keys expiring between HGETALL and MGET are counted as expired, not errors."""
    for index in range(30):
        await writer.register_process("tick", f"c{index}", now=NOW)
    keys = [key async for key in writer.redis.scan_iter("process:data:*")]
    for index, key in enumerate(keys):
        await writer.redis.pexpire(key, 1 + index % 5)
    answers = [await client.get("/processes?since_minutes=60") for _ in range(10)]
    assert {response.status_code for response in answers} == {200}
    for response in answers:
        body = response.json()
        assert body["count"] + body["expired"] + body["skipped"] == 30
    assert answers[-1].json()["expired"] == 30


@pytest.mark.parametrize("key", sorted(EXTRA_WRONG_TYPE))
async def test_scanned_key_of_wrong_type_is_counted(
    client: httpx.AsyncClient, writer: CacheWriter, key: str
) -> None:
    """A key of the wrong type among those a list finds by SCAN: skipped and counted (1),
    the rest of the answer intact; every other route still answers 200."""
    await seed_surface(writer)
    if key.startswith(_STRING_PREFIXES):
        await writer.redis.hset(key, "field", "value")
    else:
        await writer.redis.set(key, "not the right type")
    for path in EXTRA_WRONG_TYPE[key]:
        assert skipped(await client.get(path)) == 1, path
    for template, response in (await crawl(client)).items():
        assert response.status_code == 200, (template, response.text)
        body = response.json()
        counted = {template, SAMPLES[template]} & set(EXTRA_WRONG_TYPE[key])
        if not counted and isinstance(body, dict):
            assert body.get("skipped", 0) == 0, template


async def test_listed_keys_stay_listed_next_to_a_wrong_type_key(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """The wrong-type key is left out, the good one is still listed."""
    await seed_surface(writer)
    await writer.redis.set("tickers:kraken", "not a hash")
    body = (await client.get("/tickers")).json()
    assert body == {"count": 1, "skipped": 1, "exchanges": [{"exchange": "binance", "tickers": 1}]}


async def test_process_document_of_wrong_type_is_skipped_not_expired(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """An active process whose data key is a hash: MGET reads nil, but it is corrupt, not gone."""
    await seed_surface(writer)
    await wrong_type(writer.redis, PROCESS_KEY)
    body = (await client.get("/processes")).json()
    assert (body["count"], body["skipped"], body["expired"]) == (0, 1, 0)
    assert skipped(await client.get("/processes/health")) == 1
    await writer.redis.delete(PROCESS_KEY)  # now really gone: expired
    body = (await client.get("/processes")).json()
    assert (body["count"], body["skipped"], body["expired"]) == (0, 0, 1)


# The /ws/v2 samples (tests/support/ws_surface.py) whose answer lists the entries of a key: a bad
# entry there is skipped and counted. The v2 single-entry reads answer CACHE_ERROR.
WS_LISTS: dict[str, set[str]] = {
    "tickers:binance": {"v2/tickers/get_all_tickers"},
    "account_positions": {"v2/accounts/get_positions"},
    "order_status:binance": {"v2/orders/stream_order_queue"},
    "bot_status": {"v2/bots/get_bots", "v2/bots/stream_bot_status"},
    "trades:binance:BTCUSDT": {"v2/trades/get_trades", "v2/trades/stream_trade_updates"},
    "ohlcv:BTC/USDT:1m": {"v2/ohlcv/get_latest_ohlcv_bars", "v2/ohlcv/stream_ohlcv"},
    PROCESS_KEY: {"v2/process/get_active_processes", "v2/process/get_system_health"},
}
WS_SINGLES: dict[str, set[str]] = {
    "tickers:binance": {"v2/tickers/get_ticker"},
    "accounts": {"v2/accounts/get_balance"},
    "order_status:binance": {"v2/orders/get_order_status"},
    "bot_status": {"v2/bots/get_bot_status"},
}
# What a sample may answer besides success: a miss, or a corrupt entry (never an internal error).
_WS_ERRORS = {"CACHE_ERROR"} | {
    f"{domain}_NOT_FOUND" for domain in ("", "TICKER", "BALANCE", "ORDER", "BOT", "OHLCV")
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["oversized", "truncated"])
@pytest.mark.parametrize("key", sorted(set(READS) - {"opening_position"}))
async def test_websockets_and_stream_snapshots_skip_bad_values(
    settings: Settings, writer: CacheWriter, key: str, damage: str
) -> None:
    """A value above FULLON_CACHE_API_MAX_VALUE_BYTES (never decoded) or torn JSON under every
    WebSocket action of both dialects and every stream's first snapshot: lists skip and count
    it, single entries answer CACHE_ERROR, SSE streams start with a snapshot or a problem;
    nothing answers an internal error."""
    await seed_surface(writer)
    if damage == "oversized":
        await pad_valid(writer.redis, key, size=8192)
    else:
        await CORRUPTIONS["truncated"](writer.redis, key)
    limited = msgspec.structs.replace(settings, max_value_bytes=4096)
    async with serve(limited) as gateway:
        answers = await ws_crawl(gateway.ws_url, empty_within=1.0)
        async with httpx.AsyncClient(base_url=gateway.url, headers=HEADERS) as client:
            for path in STREAM_SAMPLES.values():
                async with sse(client, path) as events:
                    first = await events.next(within=10)
                    assert first.event in ("snapshot", "problem"), (path, first)
    for sample, frames in answers.items():
        reply = frames[0]
        assert reply.get("success") or reply.get("error_code") in _WS_ERRORS, (sample, frames)
        assert all(frame.get("error_code") != "INTERNAL_ERROR" for frame in frames), sample
        if sample in WS_LISTS.get(key, ()):
            assert ws_result(frames)["skipped"] >= 1, (sample, frames)
        if sample in WS_SINGLES.get(key, ()):
            assert reply.get("error_code") == "CACHE_ERROR", (sample, frames)
