"""App factories served by the benchmarks (``uvicorn benchmarks.apps:NAME --factory``).

The Redis address comes from ``REDIS_URL`` (the suite sets it to its private server). The
ceilings do no I/O at all: they measure what uvicorn + the framework cost per request.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fullon_cache_api import create_app

from ._hiredis import HiredisPool, HiredisShim

__all__ = ["gateway", "gateway_hiredis", "raw_asgi", "starlette_json"]

_BODY = b'{"status":"ok"}'


def raw_asgi() -> Any:
    """The ceiling of uvicorn itself: a bare ASGI callable sending a constant body."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to set up
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"15")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": _BODY})

    return app


def starlette_json() -> Starlette:
    """The framework ceiling: a Starlette route returning constant JSON (``JSONResponse``)."""

    async def constant(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/", constant)])


def gateway() -> Starlette:
    """The gateway as shipped, authentication off (``REDIS_URL`` from the environment).

    ``BENCH_METRICS=off`` and ``BENCH_STRIP`` (see `_strip`) build variants that measure what
    each layer of the stack costs.
    """
    return _strip(_create(None))


def _create(redis: Any) -> Starlette:
    if os.environ.get("BENCH_METRICS") == "off":
        return create_app(redis=redis, auth=False, metrics=False)
    return create_app(redis=redis, auth=False)


def _strip(app: Starlette) -> Starlette:
    """Drop the middleware classes named in ``BENCH_STRIP`` (comma-separated; ``*``: all).

    A name that is not in the stack is an error, so a renamed middleware cannot make a
    variant silently measure the full stack.
    """
    names = {name for name in os.environ.get("BENCH_STRIP", "").split(",") if name}
    present = {entry.cls.__name__ for entry in app.user_middleware}  # type: ignore[attr-defined]
    if names - present - {"*"}:
        raise RuntimeError(f"BENCH_STRIP names {sorted(names - present)}; stack: {sorted(present)}")
    app.user_middleware = [
        entry
        for entry in app.user_middleware
        if "*" not in names and entry.cls.__name__ not in names  # type: ignore[attr-defined]
    ]
    return app


def gateway_hiredis() -> Starlette:
    """The gateway on the hiredis prototype (multiplexed): a projection for single-key reads.

    Only HGET, HGETALL and PING are provided, enough for health, one ticker, one order and
    one bot; other routes would fail.
    """
    target = urlsplit(os.environ["REDIS_URL"])
    mode = os.environ.get("BENCH_HIREDIS_MODE", "multiplexed")
    pool = HiredisPool(
        target.hostname or "127.0.0.1", target.port or 6379, multiplexed=mode == "multiplexed"
    )
    app = _strip(_create(cast(Any, HiredisShim(pool))))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await pool.aclose()

    app.router.lifespan_context = lifespan
    return app
