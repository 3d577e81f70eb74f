"""Reads at any key size: no Redis reply holds more than about a chunk of entries, a corrupt
entry costs one count and no log line of its own, and nothing keeps a big value alive after
the request that read it."""

from __future__ import annotations

import gc
import json
import logging
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.lowlevel
import httpx
import msgspec
import pytest
import redis
from redis.asyncio import Redis

from fullon_cache_api import Settings, SettingsError
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.big_keys import app_client, seed_big
from .support.credentials import ADMIN_KEY
from .support.faults.replies import ReplySizes
from .support.metrics import P, scrape, value
from .support.monitor import monitored
from .support.streams import serve, sse
from .support.surface import SAMPLES, STREAM_SAMPLES, TRADE, seed_surface
from .support.ws_surface import crawl

pytestmark = pytest.mark.anyio

CHUNK = 20
# More fields than hash-max-listpack-entries (128 by default, 512 in some builds): a hash Redis
# stores compactly comes whole in one HSCAN reply whatever COUNT (bounded by that setting).
ENTRIES = 600


def bounded(settings: Settings, url: str | None = None, **limits: object) -> Settings:
    """`settings` with the near cache off, a chunk of CHUNK, and `limits`."""
    changes = {"near_cache_ttl": 0.0, "read_chunk": CHUNK, **limits}
    if url is not None:
        changes["redis_url"] = url
    return msgspec.structs.replace(settings, **changes)


async def test_no_reply_holds_more_than_about_a_chunk(
    settings: Settings, writer: CacheWriter, flushed: RedisServer
) -> None:
    """Every route over keys of 600 entries, pages up to their maximum included: no Redis reply
    carries more than twice FULLON_CACHE_API_READ_CHUNK entries, and no HGETALL is sent."""
    await seed_surface(writer)
    seed_big(flushed.port, ENTRIES)
    paths = [*SAMPLES.values(), "/tickers/binance?limit=10000", "/orders/binance?limit=10000"]
    paths += ["/trades/binance/BTC/USDT?limit=10000", "/ohlcv/BTC/USDT/1m?limit=10000"]
    paths += ["/accounts?limit=1000", "/bots?limit=1000", "/processes?limit=10000"]
    async with ReplySizes(flushed.port) as proxy:
        with monitored(flushed.port) as commands:
            async with app_client(bounded(settings, proxy.url)) as (client, _):
                for path in paths:
                    response = await client.get(path)
                    assert response.status_code == 200, (path, response.text[:200])
    # HSCAN and HGETALL replies hold two items per entry (field, value).
    assert max(proxy.sizes) <= 2 * 2 * CHUNK, sorted(proxy.sizes)[-5:]
    assert sum(size >= CHUNK for size in proxy.sizes) >= 50  # big keys were read, in chunks
    assert "HGETALL" not in {name for _, name in commands}


@pytest.mark.slow
async def test_websocket_actions_and_first_snapshots_hold_no_more_than_about_a_chunk(
    settings: Settings, writer: CacheWriter, flushed: RedisServer
) -> None:
    """Every WebSocket action of both dialects and the first snapshot of every stream (each
    WebSocket stream action, each SSE route) over keys of 600 entries: no Redis reply carries
    more than twice FULLON_CACHE_API_READ_CHUNK entries, and no HGETALL is sent."""
    await seed_surface(writer)
    seed_big(flushed.port, ENTRIES)
    async with ReplySizes(flushed.port) as proxy:
        with monitored(flushed.port) as commands:
            async with serve(bounded(settings, proxy.url)) as gateway:
                answers = await crawl(gateway.ws_url)
                headers = {"X-API-Key": ADMIN_KEY}
                async with httpx.AsyncClient(base_url=gateway.url, headers=headers) as client:
                    for path in STREAM_SAMPLES.values():
                        async with sse(client, path) as events:
                            assert (await events.next(within=20)).event == "snapshot", path
    for sample, frames in answers.items():
        assert frames[0].get("success") is True, (sample, frames)
    assert max(proxy.sizes) <= 2 * 2 * CHUNK, sorted(proxy.sizes)[-5:]
    assert sum(size >= CHUNK for size in proxy.sizes) >= 50  # big keys were read, in chunks
    assert "HGETALL" not in {name for _, name in commands}


async def test_corrupt_entries_are_logged_once_per_key_per_interval(
    settings: Settings, flushed: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """600 corrupt tickers read three times: skipped 600 each time, one log line with the count
    (none per entry); the next line, once the interval has passed, carries what was held."""
    with redis.Redis(port=flushed.port) as admin:
        torn = {f"S{i}/USDT": '{"price": 1.5, "time"' for i in range(ENTRIES)}
        admin.hset("tickers:binance", mapping={**torn, "OK/USDT": '{"price": 1.0}'})
    caplog.set_level(logging.WARNING, "fullon.api.cache.data")
    async with app_client(bounded(settings)) as (client, app):
        for _ in range(3):
            response = await client.get("/tickers/binance")
            assert (response.json()["count"], response.json()["skipped"]) == (1, ENTRIES)
        lines = [r.getMessage() for r in caplog.records if r.name == "fullon.api.cache.data"]
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"skipped {ENTRIES} entries of tickers:binance")
        app.state.reader.tickers.skip_log.interval = 0.0
        await client.get("/tickers/binance")
        lines = [r.getMessage() for r in caplog.records if r.name == "fullon.api.cache.data"]
        assert len(lines) == 2, lines
        assert lines[1].startswith(f"skipped {4 * ENTRIES - ENTRIES} entries of tickers:binance")
        samples = await scrape(client)
    assert value(samples, P + "corrupt_entries_skipped_total", domain="tickers") == 4 * ENTRIES


@asynccontextmanager
async def retained() -> AsyncIterator[list[int]]:
    """Python memory still allocated at the end of the block, beyond what it started with,
    with the cyclic garbage collector off (a reference cycle keeps its memory)."""
    found: list[int] = []
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        yield found
        # In-process, the app runs in the test's task: end the loop step whose wake-up handle
        # still holds the last Redis reply, as a server's loop would after the response.
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
        found.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()
        gc.enable()


# A value that looks like a JSON object at both ends and is malformed inside (parsed, fails;
# near cache off: a whole hash under the value limit is kept there for up to a second, by
# design), and one above the default 1 MiB limit (never parsed, never kept: near cache on).
BAD_VALUES = {
    "malformed": (b'{"price": 1.5, "note": "' + b"x" * 600_000 + b"}", 0.0),
    "oversized": (b"{" + b"x" * 1_500_000 + b"}", 1.0),
}


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
async def test_a_corrupt_value_is_not_kept_alive_after_the_request(
    settings: Settings, flushed: RedisServer, kind: str
) -> None:
    """Three reads of a hash holding a big corrupt value: it is skipped each time, and the
    memory it took is free when the requests end (no exception traceback, nor the near cache,
    keeps it)."""
    value, near_cache_ttl = BAD_VALUES[kind]
    async with Redis(port=flushed.port) as admin:
        await admin.hset("tickers:binance", "BAD/USDT", value)
        await admin.hset("tickers:binance", "OK/USDT", '{"price": 1.0, "time": 1.0}')
    near = msgspec.structs.replace(settings, near_cache_ttl=near_cache_ttl)
    async with app_client(near) as (client, _):
        assert (await client.get("/tickers/binance")).json()["skipped"] == 1
        async with retained() as memory:
            for _ in range(3):
                assert (await client.get("/tickers/binance")).json()["skipped"] == 1
    assert memory[0] < 300_000, memory


async def test_whole_small_hashes_are_near_cached_pages_and_big_values_are_not(
    settings: Settings, flushed: RedisServer
) -> None:
    """The near cache answers a hash that comes whole in one HSCAN reply, never a page of a
    bigger hash, and never keeps a value above FULLON_CACHE_API_MAX_VALUE_BYTES."""
    with redis.Redis(port=flushed.port) as admin:
        admin.hset("tickers:small", "A/USDT", '{"price": 1.0, "time": 1.0}')
        admin.hset("tickers:big", mapping={f"S{i}/USDT": "{}" for i in range(ENTRIES)})
        admin.hset("tickers:binance", "BIG/USDT", b"{" + b"x" * (2 * 2**20) + b"}")
    near = msgspec.structs.replace(settings, read_chunk=CHUNK)
    async with app_client(near) as (client, app):
        store = app.state.reader.redis.store
        for _ in range(100):  # the first read starts the link; it confirms tracking soon after
            await client.get("/tickers/small")
            if store.active:
                break
        assert store.active
        await client.get("/tickers/small")  # kept now
        sent: dict[str, list[str]] = {}
        for path in ("/tickers/small", "/tickers/big", "/tickers/binance/BIG/USDT"):
            with monitored(flushed.port) as commands:
                statuses = [(await client.get(path)).status_code for _ in range(2)]
            sent[path] = [name for _, name in commands]
            assert statuses == [502, 502] if "BIG" in path else [200, 200], path
        assert store.bytes < 2**20
    assert sent["/tickers/small"].count("HSCAN") == 0
    pages = sent["/tickers/big"].count("HSCAN")
    assert pages >= 2 * 2 and pages % 2 == 0, pages  # every reply of both reads from Redis
    assert sent["/tickers/binance/BIG/USDT"].count("HGET") == 2


def test_read_limits_come_from_the_environment() -> None:
    """FULLON_CACHE_API_READ_CHUNK, _MAX_VALUE_BYTES and _READ_BUDGET land in the settings
    (defaults 1000, 1 MiB, 0.9 s); an unusable value names its variable."""
    defaults = Settings.from_env({})
    assert (defaults.read_chunk, defaults.max_value_bytes, defaults.read_budget) == (
        1000,
        1024 * 1024,
        0.9,
    )
    env = {
        "FULLON_CACHE_API_READ_CHUNK": "50",
        "FULLON_CACHE_API_MAX_VALUE_BYTES": "4096",
        "FULLON_CACHE_API_READ_BUDGET": "0.25",
    }
    settings = Settings.from_env(env)
    assert (settings.read_chunk, settings.max_value_bytes, settings.read_budget) == (50, 4096, 0.25)
    for name, bad in [*((name, "0") for name in env), ("FULLON_CACHE_API_READ_CHUNK", "x")]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: bad})


async def test_other_tasks_run_between_the_windows_of_a_page(
    settings: Settings, flushed: RedisServer
) -> None:
    """A page of 600 trades comes in windows of 20 (the newest with LLEN, the rest in one more
    pipeline): the event loop runs other tasks between the windows it decodes, not only while
    Redis answers."""
    with redis.Redis(port=flushed.port) as admin:
        trades = (json.dumps({**TRADE, "trade_id": i}) for i in range(ENTRIES))
        admin.rpush("trades:binance:BTCUSDT", *trades)
    path = f"/trades/binance/BTC/USDT?limit={ENTRIES}"
    async with app_client(bounded(settings)) as (client, _):
        turns = 0

        async def count_turns() -> None:
            nonlocal turns
            while True:
                await anyio.lowlevel.checkpoint()
                turns += 1

        async with anyio.create_task_group() as group:
            group.start_soon(count_turns)
            await anyio.lowlevel.checkpoint()
            assert (await client.get(path)).json()["count"] == ENTRIES
            group.cancel_scope.cancel()
    assert turns >= ENTRIES // CHUNK - 1
