"""No leaks: after many connect/disconnect cycles (mid-stream, abrupt, under a host's
``BaseHTTPMiddleware``) no task, feed, source, subscription or connection is left behind."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from websockets.asyncio.client import connect

from fullon_cache_api import Settings, create_app, lifespan
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.streams import Hub

from .support.credentials import ADMIN_KEY, HEADERS
from .support.streams import (
    eventually,
    fast_streams,
    pubsub_connections,
    pubsub_counts,
    serve,
    serve_asgi,
    sse,
)

pytestmark = pytest.mark.anyio

PATHS = (
    "/tickers/binance/BTC/USDT/stream",
    "/tickers/binance/stream",
    "/accounts/1/stream",
    "/processes/stream",
)
CHANNEL = "ticker_updates:binance:BTC/USDT"


async def seed(writer: CacheWriter) -> None:
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=1.0)
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0}})


@asynccontextmanager
async def ticking(writer: CacheWriter) -> AsyncIterator[None]:
    """Publish ticks all along, so clients leave while their stream is busy. The publisher is
    stopped by a flag, not cancelled: cancelling a bare redis-py client mid-command can hang
    (see `backend._redis_py`)."""
    stop = asyncio.Event()

    async def tick() -> None:
        price = 0.0
        while not stop.is_set():
            price += 1
            await writer.set_ticker("binance", "BTC/USDT", price=price, time=1.0)
            await asyncio.sleep(0.002)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def assert_clean(hub: Hub, writer: CacheWriter, baseline: int) -> None:
    """Nothing held by the hub (nor admitted), no subscription, one pub/sub connection, no
    extra task."""

    async def hub_empty() -> bool:
        stats = hub.stats()
        held = (stats.clients, stats.sources, stats.feeds)
        admitted = (stats.streams, stats.identities, stats.polled_keys)
        return held == (0, 0, 0) and admitted == (0, 0, 0)

    async def unsubscribed() -> bool:
        return await pubsub_counts(writer.redis) == (0, [])

    async def tasks_back() -> bool:
        return len(asyncio.all_tasks()) <= baseline

    await eventually(hub_empty)
    await eventually(unsubscribed)
    await eventually(tasks_back)
    assert await writer.redis.pubsub_numsub(CHANNEL) == [(CHANNEL.encode(), 0)]
    assert await pubsub_connections(writer.redis) == 1


@pytest.mark.slow
async def test_100_sse_cycles_leave_nothing_behind(settings: Settings, writer: CacheWriter) -> None:
    """100 SSE clients connect, read their snapshot and leave mid-stream: all is released."""
    await seed(writer)
    async with (
        serve(settings) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as http,
    ):
        async with sse(http, PATHS[0]) as stream:  # warm-up: starts the pub/sub link
            await stream.next()
        await assert_clean(gateway.hub, writer, baseline=len(asyncio.all_tasks()) + 1)
        baseline = len(asyncio.all_tasks())
        async with ticking(writer):
            for n in range(100):
                async with sse(http, PATHS[n % len(PATHS)]) as stream:
                    assert (await stream.next()).event == "snapshot"
        await assert_clean(gateway.hub, writer, baseline)


@pytest.mark.slow
async def test_100_websocket_cycles_leave_nothing_behind(
    settings: Settings, writer: CacheWriter
) -> None:
    """100 sockets open streams and leave (politely, without unsubscribing, or abruptly)."""
    await seed(writer)
    async with serve(settings) as gateway:
        url = f"{gateway.ws_url}/ws/v2/tickers/leak?token={ADMIN_KEY}"
        await websocket_cycle(url, 0)  # warm-up: starts the pub/sub link and the housekeeping
        await assert_clean(gateway.hub, writer, baseline=len(asyncio.all_tasks()) + 1)
        baseline = len(asyncio.all_tasks())
        async with ticking(writer):
            for n in range(100):
                await websocket_cycle(url, n)
        await assert_clean(gateway.hub, writer, baseline)


async def websocket_cycle(url: str, n: int) -> None:
    """Open a ticker stream, read its snapshot, and leave in one of three ways."""
    async with connect(url, close_timeout=0.2) as ws:
        params = {"exchange": "binance", "symbols": ["BTC/USDT"]}
        await ws.send(json.dumps({"action": "stream_tickers", "request_id": n, "params": params}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["success"] is True
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["snapshot"] is True
        if n % 3 == 0:
            await ws.send('{"action": "unsubscribe", "request_id": "u"}')
        elif n % 3 == 1:
            ws.transport.abort()  # no close frame at all


class HostMiddleware(BaseHTTPMiddleware):
    """Like the master's JWTMiddleware: a BaseHTTPMiddleware around the mounted gateway."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return await call_next(request)


async def test_disconnects_are_seen_under_base_http_middleware(
    settings: Settings, writer: CacheWriter
) -> None:
    """Mounted in a host with BaseHTTPMiddleware: clients leaving are still noticed and
    everything is released."""
    await seed(writer)
    cache = create_app(settings=settings, streams=fast_streams())

    @asynccontextmanager
    async def host_lifespan(app: Starlette) -> AsyncIterator[None]:
        async with lifespan(cache):  # the host enters our lifespan from its own
            yield

    host = Starlette(
        routes=[Mount("/api/v1/cache", app=cache)],
        middleware=[Middleware(HostMiddleware)],
        lifespan=host_lifespan,
    )
    async with (
        serve_asgi(host) as url,
        httpx.AsyncClient(base_url=f"{url}/api/v1/cache", headers=HEADERS, timeout=10) as http,
    ):
        hub: Hub = cache.state.hub
        async with sse(http, PATHS[0]) as stream:
            await stream.next()
        await assert_clean(hub, writer, baseline=len(asyncio.all_tasks()) + 1)
        baseline = len(asyncio.all_tasks())
        async with ticking(writer):
            for n in range(30):
                async with sse(http, PATHS[n % len(PATHS)]) as stream:
                    assert (await stream.next()).event == "snapshot"
        await assert_clean(hub, writer, baseline)
