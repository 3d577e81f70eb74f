"""App factories served by the benchmarks (``uvicorn benchmarks.apps:NAME --factory``).

The Redis address comes from ``REDIS_URL`` (the suite sets it to its private server). The
ceilings do no I/O at all: they measure what uvicorn + the framework cost per request.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fullon_cache_api import create_app

__all__ = ["gateway", "raw_asgi", "starlette_json"]

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

    ``BENCH_METRICS=off`` builds the variant without metrics (what metrics cost); the near
    cache follows ``FULLON_CACHE_API_NEAR_CACHE_TTL`` like any deployment.
    """
    if os.environ.get("BENCH_METRICS") == "off":
        return create_app(auth=False, metrics=False)
    return create_app(auth=False)
