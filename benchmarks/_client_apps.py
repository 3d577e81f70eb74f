"""One-HGET Starlette apps, one per Redis client candidate (``uvicorn ...:NAME --factory``).

Each serves ``GET /tickers/{exchange}/{symbol}`` with one HGET and sends the stored JSON as is,
so the client is the only thing that differs; ``GET /version`` names the client actually
imported (the harness checks it, so a shadowed redis-py cannot slip through). Only the
``resp_*`` factories import gateway code (our own client, `fullon_cache_api.backend._resp`):
the other candidates run with another redis-py first on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

__all__ = [
    "coredis_client",
    "memory",
    "redis_py",
    "redis_py_default",
    "resp_coalesced",
    "resp_pooled",
]

Hget = Callable[[str, str], Awaitable[Any]]


def _app(
    hget: Hget,
    version: str,
    context: AbstractAsyncContextManager[Any],
    close: Callable[[], Awaitable[Any]],
) -> Starlette:
    async def ticker(request: Request) -> Response:
        params = request.path_params
        raw = await hget(f"tickers:{params['exchange']}", params["symbol"])
        if raw is None:
            return Response(b'{"detail":"not found"}', 404, media_type="application/json")
        return Response(raw, media_type="application/json")

    async def about(request: Request) -> Response:
        return PlainTextResponse(version)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with context:
            try:
                yield
            finally:
                await close()

    routes = [Route("/version", about), Route("/tickers/{exchange}/{symbol:path}", ticker)]
    return Starlette(routes=routes, lifespan=lifespan)


def redis_py() -> Starlette:
    """redis-py configured as the gateway's `build_client` does (blocking pool, one retry)."""
    import redis
    from redis import exceptions
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    pool = BlockingConnectionPool.from_url(
        os.environ["REDIS_URL"],
        max_connections=50,
        timeout=5.0,
        socket_timeout=5.0,
        socket_connect_timeout=5.0,
        retry=Retry(NoBackoff(), 1, supported_errors=(exceptions.ConnectionError,)),
        client_name="fullon_cache_api",
    )
    client = Redis.from_pool(pool)
    version = f"redis-py {redis.__version__}"
    return _app(client.hget, version, nullcontext(), client.aclose)


def redis_py_default() -> Starlette:
    """redis-py with its defaults (``Redis.from_url``: unbounded non-blocking pool)."""
    import redis
    from redis.asyncio import Redis

    client = Redis.from_url(os.environ["REDIS_URL"])
    version = f"redis-py {redis.__version__} (defaults)"
    return _app(client.hget, version, nullcontext(), client.aclose)


def coredis_client() -> Starlette:
    """coredis (anyio based; its client must be entered before use)."""
    import coredis  # type: ignore[import-not-found,unused-ignore]  # a candidate, from --target

    client: Any = coredis.Redis.from_url(os.environ["REDIS_URL"])

    async def hget(key: str, field: str) -> Any:
        return await client.hget(key, field)

    async def nothing() -> None:
        return None

    return _app(hget, f"coredis {coredis.__version__}", client, nothing)


def _resp_client() -> Any:
    """Our own client configured as the gateway's `build_client` configures it."""
    from fullon_cache_api._settings import Settings
    from fullon_cache_api.backend._redis import build_client

    return build_client(Settings(redis_url=os.environ["REDIS_URL"]))


def resp_pooled() -> Starlette:
    """The gateway's own read-only client (asyncio + hiredis, pooled), from `build_client`."""
    import hiredis

    client = _resp_client()
    return _app(client.hget, f"resp {hiredis.__version__} pooled", nullcontext(), client.aclose)


def resp_coalesced() -> Starlette:
    """Our client with single-flight: concurrent identical HGETs share one call.

    Under wrk every request asks for the same key, so this shows the ceiling of coalescing.
    """
    import asyncio

    import hiredis

    client = _resp_client()
    inflight: dict[tuple[str, str], asyncio.Future[Any]] = {}

    async def hget(key: str, field: str) -> Any:
        wanted = (key, field)
        shared = inflight.get(wanted)
        if shared is None:
            shared = asyncio.ensure_future(client.hget(key, field))
            inflight[wanted] = shared
            shared.add_done_callback(lambda _: inflight.pop(wanted, None))
        return await asyncio.shield(shared)

    version = f"resp {hiredis.__version__} coalesced"
    return _app(hget, version, nullcontext(), client.aclose)


def memory() -> Starlette:
    """The value read once, then served from a dict: a near cache's hit (upper bound)."""
    from redis.asyncio import Redis

    client = Redis.from_url(os.environ["REDIS_URL"])
    stored: dict[tuple[str, str], Any] = {}

    async def hget(key: str, field: str) -> Any:
        if (key, field) not in stored:  # never invalidated: this bounds a near cache
            stored[key, field] = await client.hget(key, field)
        return stored[key, field]

    return _app(hget, "memory", nullcontext(), client.aclose)
