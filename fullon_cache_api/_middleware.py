"""Pure ASGI middleware: trailing-slash tolerance and one structured log line per request.

Pure ASGI rather than ``BaseHTTPMiddleware`` so streaming bodies pass straight through and a
client disconnect is never masked.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._auth import ANONYMOUS, IDENTITY_SCOPE_KEY, PUBLIC_PATHS, Authenticator, Identity
from ._errors import Unauthenticated
from ._responses import ProblemResponse
from .routes._common import ROUTE_SCOPE_KEY

__all__ = ["AuthMiddleware", "RequestLogMiddleware", "route_template"]

_auth_log = logging.getLogger("fullon.api.cache.auth")

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
    route_path = _route_path(scope)
    if len(route_path) > 1 and route_path.endswith("/"):
        scope["path"] = scope["path"][:-1]


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request (never the raw path)."""
    route = scope.get(ROUTE_SCOPE_KEY)
    return getattr(route, "path", None) or "unrouted"


def _log_request(scope: Scope, status: int, latency_ms: float) -> None:
    endpoint: Any = scope.get("endpoint")
    module = getattr(endpoint, "__module__", "") or ""
    domain = module.rsplit(".", 1)[-1] if module.startswith("fullon_cache_api.routes") else "http"
    operation = getattr(endpoint, "__name__", "unrouted")
    params = {
        name: str(value)[:_MAX_LOGGED_VALUE] for name, value in scope.get("path_params", {}).items()
    }
    logging.getLogger(f"fullon.api.cache.{domain}").info(
        "%s %s -> %d in %.2f ms",
        operation,
        params,
        status,
        latency_ms,
        extra={
            "operation": operation,
            "route": route_template(scope),
            "params": params,
            "latency_ms": round(latency_ms, 3),
            "cache_hit": 200 <= status < 300 or status == 304,
            "status": status,
        },
    )


class AuthMiddleware:
    """Attach the caller's identity to the scope; refuse non-public requests without one.

    HTTP refusals are 401 problem documents with ``WWW-Authenticate: Bearer``; WebSockets are
    closed with code 1008. With authentication turned off every caller is an anonymous admin,
    and the first request logs a warning saying so.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        try:
            identity = self._identity(scope)
        except Unauthenticated as refusal:
            await _refuse(scope, receive, send, refusal)
            return
        scope[IDENTITY_SCOPE_KEY] = identity
        await self.app(scope, receive, send)

    def _identity(self, scope: Scope) -> Identity | None:
        if not self.authenticator.config.enabled:
            if not self._warned:
                self._warned = True
                _auth_log.warning("authentication is OFF: every caller reads everything")
            return ANONYMOUS
        public = _route_path(scope) in PUBLIC_PATHS
        streaming = scope["type"] == "websocket" or _route_path(scope).endswith("/stream")
        try:
            identity = self.authenticator.identify(scope, allow_query_token=streaming)
        except Unauthenticated:
            if public:
                return None
            raise
        if identity is None and not public:
            raise Unauthenticated("Not authenticated")
        return identity


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: Unauthenticated) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": refusal.detail[:120]})
        return
    await ProblemResponse.from_error(refusal)(scope, receive, send)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path
