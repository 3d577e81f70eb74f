"""Foundation promises not covered elsewhere: injected clients, REDIS_URL precedence, input
patterns on ticker paths, exchanges found by SCAN, and no PING in front of reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import msgspec
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.server import free_port

from .support.apps import in_process
from .support.monitor import monitored
from .support.surface import SAMPLES, seed_surface

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def http_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, over an in-process transport."""
    async with (
        in_process(app) as http,
    ):
        yield http


def test_an_injected_client_that_decodes_replies_is_refused(flushed: RedisServer) -> None:
    """decode_responses=True (fullon_cache's own setting) would break byte pass-through: a
    clear error at create_app, not a 500 on the first OHLCV read."""
    with pytest.raises(ValueError, match="decode_responses=False"):
        create_app(redis=Redis(port=flushed.port, decode_responses=True), auth=False)


async def test_an_injected_redis_py_client_serves_the_whole_surface(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """Every route answers 200 through a host's own redis-py client."""
    await seed_surface(writer)
    injected = Redis(port=flushed.port)
    try:
        async with http_client(create_app(redis=injected, auth=False)) as http:
            for template, path in SAMPLES.items():
                response = await http.get(path)
                assert response.status_code == 200, (template, response.text)
    finally:
        await injected.aclose()


async def test_redis_url_wins_over_host_and_port(flushed: RedisServer, writer: CacheWriter) -> None:
    """With REDIS_URL set, REDIS_HOST/REDIS_PORT (here a closed port) are ignored."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.5, time=1.0)
    settings = Settings.from_env(
        {"REDIS_URL": flushed.url, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(free_port())}
    )
    async with http_client(create_app(settings=settings, auth=False)) as http:
        response = await http.get("/tickers/binance/BTC/USDT")
    assert response.status_code == 200 and response.json()["price"] == 1.5


@pytest.mark.parametrize(
    "path",
    [
        "/tickers/bin*ance",
        "/tickers/binance/BTC*",
        "/tickers/-binance/BTC/USDT",
        "/tickers/binance/BTC/USDT[1]",
        "/tickers/" + "x" * 65,
    ],
)
async def test_ticker_paths_are_validated(client: httpx.AsyncClient, path: str) -> None:
    """A value outside the exchange/symbol patterns is a 422 problem naming the parameter."""
    response = await client.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "exchange" in detail or "symbol" in detail, detail


async def test_every_exchange_with_tickers_is_listed(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Exchanges come from SCAN, not from a fixed list: an unusual name is found."""
    for exchange in ("binance", "my-dex.v2", "Exchange_9"):
        await writer.set_ticker(exchange, "BTC/USDT", price=1.0, time=1.0)
    found = (await client.get("/tickers")).json()
    assert [entry["exchange"] for entry in found["exchanges"]] == [
        "Exchange_9",
        "binance",
        "my-dex.v2",
    ]


async def test_reads_are_not_preceded_by_ping(flushed: RedisServer, writer: CacheWriter) -> None:
    """fullon_cache PINGs before every call; the gateway does not: MONITOR sees no PING while
    every route but /health (whose job it is) is read."""
    await seed_surface(writer)
    settings = Settings(redis_url=flushed.url, near_cache_ttl=0.0)  # every read reaches Redis
    with monitored(flushed.port) as seen:
        async with http_client(create_app(settings=settings, auth=False)) as http:
            for template, path in SAMPLES.items():
                if template != "/health":
                    assert (await http.get(path)).status_code == 200, template
    commands = [command for _, command in seen]
    assert len(commands) >= len(SAMPLES), "MONITOR captured too little"
    assert "PING" not in commands, msgspec.json.encode(commands).decode()
