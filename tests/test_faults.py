"""Redis misbehaving under the gateway: outages, slowness and exhausted pools.

Each test runs its own redis-server on loopback (never the session one), so killing or
slowing it disturbs nobody else. Load is bounded in clients and seconds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import anyio
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api.backend._near._link import LINK_CLIENT_NAME
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.faults.load import (
    GATEWAY_LINK_NAMES,
    GATEWAY_NAME,
    Load,
    gateway_client,
    gateway_connections,
    gateway_links,
)
from .support.faults.proxy import latency_proxy
from .support.surface import SAMPLES, seed_surface

pytestmark = pytest.mark.anyio

TIMEOUT = 1.0  # REDIS_SOCKET_TIMEOUT for these tests
MARGIN = 0.5  # scheduling slack on a loaded 2-core machine
DETECTION = 0.1  # a closed socket reaches the near cache's link within one loop turn


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A private redis-server this test may kill and restart."""
    with RedisServer() as server:
        yield server


def fault_app(url: str, *, timeout: float = TIMEOUT, max_connections: int = 50) -> Starlette:
    """A gateway (authentication off: not what these tests are about) with short timeouts."""
    settings = Settings(
        redis_url=url, redis_socket_timeout=timeout, redis_max_connections=max_connections
    )
    return create_app(settings=settings, auth=False)


async def seed(server: RedisServer) -> None:
    """The surface samples' data, written as fullon_cache writes it."""
    writer = CacheWriter(Redis(port=server.port))
    try:
        await seed_surface(writer)
    finally:
        await writer.redis.aclose()


@pytest.mark.slow
async def test_outage_under_load_is_503_then_recovers_without_leaks(own_redis: RedisServer) -> None:
    """Killed under 20 clients: only fast 503s; restarted: 200 within 2 s; no leaked connections."""
    await seed(own_redis)
    app = fault_app(own_redis.url, max_connections=10)
    async with gateway_client(app) as http:
        load = Load(http, list(SAMPLES.values()), clients=20)
        await load.run(1.0)
        before = await gateway_links(own_redis.port)
        async with anyio.create_task_group() as group:
            group.start_soon(load.run, 4.0)
            await anyio.sleep(1.0)
            own_redis.kill()  # SIGKILL, and waited for: it is gone when this returns
            killed = time.monotonic()
            await anyio.sleep(1.5)
            restarting = time.monotonic()  # it may accept connections before start() returns
            await anyio.to_thread.run_sync(own_redis.start)
            restarted = time.monotonic()
            await seed(own_redis)
            seeded = time.monotonic()
        await load.run(1.0)
        after = await links_once_relinked(own_redis.port, before)
        pool = app.state.reader.redis.connection_pool
    # The near cache answers from memory until its invalidation link sees the socket close:
    # a 200 right after the kill is allowed only within that detection time.
    served = [s for s in load.within(killed, restarting) if s.status == 200]
    assert all(s.started < killed + DETECTION for s in served)
    down = load.within(killed + DETECTION, restarting)  # began and ended while it was down
    assert down, "no request ran during the outage"
    assert {s.status for s in down} == {503}
    assert all(s.retry_after == "1" and s.content_type == "application/problem+json" for s in down)
    assert {s.status for s in load.samples} <= {200, 503, 404}
    # 404 only from the restarted Redis before the data is back (it has no persistence).
    empty = [s for s in load.samples if s.started + s.elapsed >= restarting and s.started < seeded]
    assert {s for s in load.samples if s.status == 404} <= set(empty)
    assert max(s.elapsed for s in load.samples) < TIMEOUT + MARGIN  # nobody hung
    first_ok = min(s.started for s in load.between(restarted, float("inf")) if s.status == 200)
    assert first_ok - restarted < 2.0
    assert {s.status for s in load.between(seeded, float("inf"))} == {200}
    # Every connection the gateway holds, by name (data pool, near-cache link, pub/sub), is back
    # at most at its pre-outage count: a reconnect that kept its old connection would show.
    assert before[LINK_CLIENT_NAME] == 1  # the near cache's link is up, so it is counted
    assert 0 < after[GATEWAY_NAME] <= before[GATEWAY_NAME] <= 10
    assert all(after[name] <= before[name] for name in GATEWAY_LINK_NAMES), (before, after)
    assert not pool._in_use_connections  # every borrowed connection went back


async def links_once_relinked(port: int, before: Counter[str]) -> Counter[str]:
    """The gateway's connections once its near-cache link is back after the restart (it
    reconnects with backoff, up to a few seconds), or as they are after 10 s."""
    relinked = before[LINK_CLIENT_NAME]
    with anyio.move_on_after(10):
        # Redis's client list has no event to wait on: poll it.
        while (links := await gateway_links(port))[LINK_CLIENT_NAME] < relinked:  # noqa: ASYNC110
            await anyio.sleep(0.05)
        return links
    return await gateway_links(port)


async def test_slow_redis_is_504_within_the_timeout_and_the_pool_recovers(
    own_redis: RedisServer,
) -> None:
    """Replies slower than the socket timeout: 504 in time; fast again: right answers, no stale."""
    await seed(own_redis)
    writer = CacheWriter(Redis(port=own_redis.port))
    await writer.set_ticker("binance", "ETH/USDT", price=3000.0, time=time.time())
    await writer.redis.aclose()
    async with latency_proxy(own_redis.port) as proxy:
        app = fault_app(proxy.url, timeout=0.5)
        async with gateway_client(app) as http:
            assert (await http.get("/tickers/binance/BTC/USDT")).status_code == 200
            proxy.latency = 1.5
            started = time.monotonic()
            slow = await http.get("/tickers/binance/BTC/USDT")
            elapsed = time.monotonic() - started
            proxy.latency = 0.0
            # The late BTC reply must not be taken for the answer to the next command.
            eth = await http.get("/tickers/binance/ETH/USDT")
            btc = await http.get("/tickers/binance/BTC/USDT")
    assert slow.status_code == 504
    assert slow.headers["content-type"] == "application/problem+json"
    assert "did not answer in time" in slow.json()["detail"]
    assert elapsed < 0.5 + MARGIN
    assert eth.status_code == 200 and eth.json()["symbol"] == "ETH/USDT"
    assert btc.status_code == 200 and btc.json()["price"] == 50000.0


async def test_pool_exhaustion_queues_requests_until_they_complete(own_redis: RedisServer) -> None:
    """50 concurrent requests over 2 connections and a slow link all complete with 200."""
    await seed(own_redis)
    async with latency_proxy(own_redis.port, latency=0.01) as proxy:
        app = fault_app(proxy.url, timeout=2.0, max_connections=2)
        async with gateway_client(app) as http:
            statuses: list[int] = []

            async def one() -> None:
                statuses.append((await http.get("/tickers/binance/BTC/USDT")).status_code)

            async with anyio.create_task_group() as group:
                for _ in range(50):
                    group.start_soon(one)
            opened = await gateway_connections(own_redis.port)
    assert statuses == [200] * 50
    assert opened <= 2


async def test_pool_exhaustion_beyond_the_timeout_answers_503_or_504_never_500(
    own_redis: RedisServer,
) -> None:
    """When the queue for 2 connections outlasts the timeout, waiters get problems, not 500s."""
    await seed(own_redis)
    async with latency_proxy(own_redis.port, latency=0.2) as proxy:
        app = fault_app(proxy.url, timeout=0.5, max_connections=2)
        async with gateway_client(app) as http:
            load = Load(http, ["/tickers/binance/BTC/USDT", "/orders"], clients=50, pause=0)
            started = time.monotonic()
            await load.run(0.1)
            elapsed = time.monotonic() - started
            proxy.latency = 0.0
            after = await http.get("/tickers/binance/BTC/USDT")
    statuses = {s.status for s in load.samples}
    assert 503 in statuses  # the queue really did overflow
    assert statuses <= {200, 503, 504}
    assert all(
        s.content_type == "application/problem+json" for s in load.samples if s.status >= 500
    )
    assert elapsed < 2 * (0.5 + MARGIN)  # a waiter gives up after one timeout, then one command
    assert after.status_code == 200
