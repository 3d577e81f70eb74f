"""Fixtures only: a real redis-server per session, a clean database per test, the app, its
builder and a client. Helpers live in ``tests/support/``.

Slow tests (real server processes, browsers, benchmarks, big data) carry the ``slow`` marker:
``pytest -m "not slow"`` skips them for a quick loop; the default run and CI run everything."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis
from redis.asyncio import Redis
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.security._auth import hash_api_key

from .support import streams
from .support.apps import AppBuilder, in_process
from .support.credentials import ADMIN_KEY, HEADERS


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server on a free loopback port for the whole session."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def flushed(redis_server: RedisServer) -> RedisServer:
    """The session server, with an empty database 0 (restarted first if a test stopped it)."""
    if not redis_server.running:
        redis_server.start()
    with redis.Redis(port=redis_server.port) as admin:
        admin.flushall()
    return redis_server


@pytest.fixture
def settings(flushed: RedisServer) -> Settings:
    """Settings for the test server, with authentication on and one admin API key."""
    admin = ApiKey(name="tests", sha256=hash_api_key(ADMIN_KEY), admin=True)
    return Settings(
        redis_url=flushed.url, redis_socket_timeout=2.0, auth=AuthConfig(api_keys=(admin,))
    )


@pytest.fixture
async def writer(flushed: RedisServer) -> AsyncIterator[CacheWriter]:
    """Writes fullon_cache-layout data to the test database."""
    client = Redis(port=flushed.port)
    try:
        yield CacheWriter(client)
    finally:
        await client.aclose()


@pytest.fixture
def app(settings: Settings) -> Starlette:
    """The app on the test settings (its lifespan is run by `client`)."""
    return create_app(settings=settings)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An admin HTTP client calling the app in-process; the app's lifespan closes its pool."""
    async with in_process(app, headers=HEADERS) as http:
        yield http


@pytest.fixture
async def make_app(settings: Settings) -> AsyncIterator[AppBuilder]:
    """Builds apps (``create_app`` on the test settings unless told otherwise); every app
    built is closed at teardown."""
    builder = AppBuilder(settings=settings)
    try:
        yield builder
    finally:
        await builder.aclose()


@pytest.fixture(params=["uvicorn", "granian"])
def each_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test under uvicorn, then under granian (`support.streams.serve_asgi`)."""
    streams.SERVER = request.param
    try:
        yield request.param
    finally:
        streams.SERVER = "uvicorn"
