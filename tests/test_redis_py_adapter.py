"""The redis-py adapter (`backend._redis_py.RedisPy`): a caller cancelled at any point of a
command stops at once, nothing hangs, no pooled connection leaks, no reply is misread."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable

import httpx
import pytest
from redis.asyncio import Redis

from fullon_cache_api import Settings
from fullon_cache_api.backend._redis_py import RedisPy
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.credentials import HEADERS
from .support.streams import eventually, serve, sse

pytestmark = pytest.mark.anyio

PATHS = ("/tickers/binance/BTC/USDT/stream", "/accounts/1/stream", "/processes/stream")


def in_use(client: Redis) -> int:
    """Connections checked out of the client's pool (redis-py keeps no public count)."""
    return len(client.connection_pool._in_use_connections)


async def random_point(rng: random.Random) -> None:
    """A few loop turns or a fraction of a millisecond: before, during or after the reply."""
    if rng.random() < 0.5:
        for _ in range(rng.randint(0, 6)):
            await asyncio.sleep(0)
    else:
        await asyncio.sleep(rng.random() * 0.001)


async def test_cancels_at_random_points_are_honoured_and_leak_nothing(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """300 reads (single commands and pipelines) cancelled at random points: each cancel that
    was delivered ends its caller as cancelled within a bounded wait, no pooled connection
    stays checked out, and the client then answers every key with its own value."""
    await writer.redis.mset({f"k{n}": f"v{n}" for n in range(3)})
    await writer.redis.hset("h", mapping={"f": "1"})
    injected = Redis(port=flushed.port, socket_timeout=2.0)
    client = RedisPy(injected)
    rng = random.Random(14)

    async def piped() -> list[object]:
        async with client.pipeline(transaction=False) as pipe:
            pipe.get("k0")
            pipe.hlen("h")
            return await pipe.execute()

    def read(n: int) -> Awaitable[object]:
        if n % 3 == 0:
            return client.get(f"k{n // 3 % 3}")
        return client.hgetall("h") if n % 3 == 1 else piped()

    cancelled = 0
    try:
        for n in range(300):
            task = asyncio.ensure_future(read(n))
            await random_point(rng)
            delivered = task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, f"read {n} hung after its cancel"
            assert task.cancelled() == delivered, f"read {n}: the cancel was swallowed"
            cancelled += delivered
        assert cancelled >= 100  # the cancels did land mid-command, not only after it

        async def none_in_use() -> bool:
            return in_use(injected) == 0

        await eventually(none_in_use)
        for n in range(30):
            assert await client.get(f"k{n % 3}") == f"v{n % 3}".encode()
        assert await client.hgetall("h") == {b"f": b"1"}
    finally:
        await asyncio.wait_for(client.aclose(), 10)


async def test_streams_over_an_injected_client_leave_at_random_points(
    settings: Settings, writer: CacheWriter
) -> None:
    """SSE clients of an injected redis-py client leave at random points of the hub's reads:
    the hub lets everything go and no pooled connection stays checked out."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=1.0)
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0}})
    injected = Redis.from_url(settings.redis_url or "", socket_timeout=2.0)
    rng = random.Random(14)
    try:
        async with (
            serve(settings, redis=injected) as gateway,
            httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as http,
        ):
            for n in range(60):
                async with sse(http, PATHS[n % len(PATHS)]) as stream:
                    assert (await stream.next()).event == "snapshot"
                    await asyncio.sleep(rng.random() * 0.1)  # polls run every 0.05 s

            async def released() -> bool:
                stats = gateway.hub.stats()
                return (stats.clients, stats.sources, stats.feeds) == (0, 0, 0) and not in_use(
                    injected
                )

            await eventually(released)
    finally:
        await asyncio.wait_for(injected.aclose(), 10)
