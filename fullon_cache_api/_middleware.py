"""Pure ASGI middleware: trailing-slash tolerance and one structured log line per request.

Pure ASGI rather than ``BaseHTTPMiddleware`` so streaming bodies pass straight through and a
client disconnect is never masked.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestLogMiddleware"]

_MAX_LOGGED_VALUE = 100


class RequestLogMiddleware:
    """Log operation, path parameters, latency_ms, cache_hit and status of each request.

    Records go to ``fullon.api.cache.{domain}`` as ``extra`` fields. Query strings are never
    logged (they may carry tokens). It also lets ``/tickers/`` route like ``/tickers``, with no
    redirect, by dropping one trailing slash before routing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        _drop_trailing_slash(scope)
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            _log_request(scope, status, (time.perf_counter() - started) * 1000.0)


def _drop_trailing_slash(scope: Scope) -> None:
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    route_path = path[len(root_path) :] if path.startswith(root_path) else path
    if len(route_path) > 1 and route_path.endswith("/"):
        scope["path"] = path[:-1]


def _log_request(scope: Scope, status: int, latency_ms: float) -> None:
    endpoint: Any = scope.get("endpoint")
    module = getattr(endpoint, "__module__", "") or ""
    domain = module.rsplit(".", 1)[-1] if module.startswith("fullon_cache_api.routes") else "http"
    operation = getattr(endpoint, "__name__", "unrouted")
    params = {
        name: str(value)[:_MAX_LOGGED_VALUE]
        for name, value in scope.get("path_params", {}).items()
    }
    logging.getLogger(f"fullon.api.cache.{domain}").info(
        "%s %s -> %d in %.2f ms",
        operation,
        params,
        status,
        latency_ms,
        extra={
            "operation": operation,
            "params": params,
            "latency_ms": round(latency_ms, 3),
            "cache_hit": 200 <= status < 300,
            "status": status,
        },
    )
