"""The app factory: no I/O at build time, mounting in hosts, the public API."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
import redis
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

import fullon_cache_api
from fullon_cache_api import Settings, create_app, lifespan
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.server import free_port

from .support.apps import in_process
from .support.credentials import ADMIN_KEY

pytestmark = pytest.mark.anyio


def test_public_api_is_pinned() -> None:
    """The package exports exactly its documented names."""
    assert sorted(fullon_cache_api.__all__) == [
        "CacheAPIError",
        "CacheTimeout",
        "CacheUnavailable",
        "CorruptEntry",
        "Identity",
        "InvalidInput",
        "NotFound",
        "Ownership",
        "OwnershipHook",
        "Problem",
        "RedactSecrets",
        "Settings",
        "SettingsError",
        "TooManyStreams",
        "Unauthenticated",
        "__version__",
        "create_app",
        "lifespan",
    ]


def test_import_and_create_app_leave_process_state_alone() -> None:
    """Importing main (which builds `app`) touches no env var, log or signal handler, loop
    policy, and does no I/O."""
    script = textwrap.dedent(
        """
        import asyncio, logging, os, signal, socket
        env = dict(os.environ)
        signals = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        handlers = list(logging.getLogger().handlers)
        policy = asyncio.get_event_loop_policy()
        def no_network(*args, **kwargs):
            raise AssertionError("network I/O at import")
        socket.socket.connect = no_network
        from fullon_cache_api.main import app, create_app
        create_app()
        assert dict(os.environ) == env
        assert logging.getLogger().handlers == handlers
        assert asyncio.get_event_loop_policy() is policy
        assert {sig: signal.getsignal(sig) for sig in signals} == signals
        assert app.routes and all(route.path for route in app.routes)
        print("clean")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"REDIS_PORT": str(free_port()), "PATH": ""},
        check=False,
    )
    assert result.stdout.strip() == "clean", result.stderr


async def test_unreachable_redis_answers_503_not_raise() -> None:
    """create_app() with nothing listening builds fine; requests answer 503 with Retry-After."""
    app = create_app(
        settings=Settings(redis_port=free_port(), redis_socket_timeout=1.0), auth=False
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        response = await c.get("/tickers")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["status"] == 503
    await app.state.reader.redis.aclose()


async def test_unknown_path_is_a_problem(client: httpx.AsyncClient) -> None:
    """Routing errors are problem documents too, never an HTML or plain-text page."""
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    response = await client.post("/tickers")
    assert response.status_code == 405


async def _seed_ticker(writer: CacheWriter) -> None:
    await writer.set_ticker("binance", "BTC/USDT", price=1.5, time=1717584000.0)


@pytest.mark.parametrize("host_kind", ["starlette", "fastapi"])
async def test_mounted_in_host_without_our_lifespan(
    host_kind: str, settings: Settings, writer: CacheWriter
) -> None:
    """Mounted under /api/v1/cache in a host with its own lifespan, ours never run: it works."""
    await _seed_ticker(writer)
    cache_app = create_app(settings=settings)
    events: list[str] = []

    @asynccontextmanager
    async def host_lifespan(host: object) -> AsyncIterator[None]:
        events.append("host-started")
        yield
        events.append("host-stopped")

    host: Starlette
    if host_kind == "fastapi":
        host = FastAPI(lifespan=host_lifespan)
        host.mount("/api/v1/cache", cache_app)
    else:
        host = Starlette(routes=[Mount("/api/v1/cache", cache_app)], lifespan=host_lifespan)
    async with (
        in_process(host, headers={"X-API-Key": ADMIN_KEY}) as c,
    ):
        one = await c.get("/api/v1/cache/tickers/binance/BTC/USDT")
        listed = await c.get("/api/v1/cache/tickers/")
    assert one.status_code == 200 and one.json()["price"] == 1.5
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert events == ["host-started", "host-stopped"]
    await cache_app.state.reader.redis.aclose()


async def test_host_can_enter_our_lifespan_for_clean_shutdown(
    redis_server: RedisServer, settings: Settings
) -> None:
    """Entering the exported lifespan from a host closes the pool we built on exit."""
    cache_app = create_app(settings=settings)

    @asynccontextmanager
    async def host_lifespan(host: object) -> AsyncIterator[None]:
        async with lifespan(cache_app):
            yield

    host = Starlette(routes=[Mount("/api/v1/cache", cache_app)], lifespan=host_lifespan)
    async with (
        in_process(host, headers={"X-API-Key": ADMIN_KEY}) as c,
    ):
        assert (await c.get("/api/v1/cache/tickers")).status_code == 200
        assert _gateway_connections(redis_server) == 1
    assert await _eventually(lambda: _gateway_connections(redis_server) == 0)


def _gateway_connections(server: RedisServer) -> int:
    with redis.Redis(port=server.port) as admin:
        return sum(1 for c in admin.client_list() if c.get("name") == "fullon_cache_api")


async def _eventually(check: Callable[[], bool], seconds: float = 2.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():
            return True
        await anyio.sleep(0.05)
    return check()


async def test_injected_client_is_never_closed(settings: Settings) -> None:
    """A Redis client passed in stays usable after our lifespan ends."""
    from redis.asyncio import Redis

    injected = Redis.from_url(settings.redis_url or "")
    app = create_app(redis=injected)
    async with app.router.lifespan_context(app):
        pass
    assert await injected.ping() is True
    await injected.aclose()
