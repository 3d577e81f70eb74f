"""A Redis slower than the socket timeout answers 504 on the specification's paths too (the
specification's 408 would blame the client; here the cache was slow)."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import RedisServer
from fullon_cache_api.demo.seed import seed
from fullon_cache_api.demo.writer import CacheWriter

from .support.faults.load import gateway_client
from .support.faults.proxy import latency_proxy

pytestmark = pytest.mark.anyio

TIMEOUT = 0.3  # REDIS_SOCKET_TIMEOUT here
MARGIN = 1.0  # scheduling slack on a loaded 2-core machine

SPECIFIED = [
    "/orders/8231974404/status",
    "/orders/queue/size",
    "/bots/1/status",
    "/trades/queue/status",
    "/processes/status",
    "/bots/blocks/1/BTC/USDT",
    "/users/1/summary",
    "/me/summary",
]


@pytest.mark.slow
async def test_a_slow_redis_is_504_on_every_specified_path(flushed: RedisServer) -> None:
    """Replies slower than the socket timeout: each path answers a 504 problem (never 408)
    within about one timeout; once Redis is fast again it answers 200."""
    writer = CacheWriter(Redis(port=flushed.port))
    try:
        await seed(writer)
    finally:
        await writer.redis.aclose()
    async with latency_proxy(flushed.port) as proxy:
        # No near cache: every request must reach Redis through the slow link.
        settings = Settings(redis_url=proxy.url, redis_socket_timeout=TIMEOUT, near_cache_ttl=0)
        async with gateway_client(create_app(settings=settings, auth=False)) as http:
            assert (await http.get("/health")).status_code == 200  # a pooled connection
            proxy.latency = TIMEOUT * 3
            for path in SPECIFIED:
                started = time.monotonic()
                slow = await http.get(path)
                elapsed = time.monotonic() - started
                assert slow.status_code == 504, (path, slow.text)
                assert slow.headers["content-type"] == "application/problem+json", path
                assert "did not answer in time" in slow.json()["detail"], path
                assert elapsed < TIMEOUT * 2 + MARGIN, (path, elapsed)
            proxy.latency = 0.0
            for path in SPECIFIED:
                assert (await http.get(path)).status_code == 200, path
