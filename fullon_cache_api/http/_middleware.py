"""The gateway's one pure-ASGI pass: limits, authentication, errors, HTTP caching, metrics and
one structured log line per request, around the router.

One pass rather than a middleware per concern: each layer cost a call frame, a closure
wrapping ``send`` and a scope lookup or two per request, and five of them (plus Starlette's
two exception layers) cost more than Starlette itself. The logic stays in its modules as plain
functions (`_limits.Limits.check`, `identify`, `Metrics.observe`, `log_request`,
`_http_cache`); this module calls them in order, wrapping ``send`` once (`_exchange.Exchange`).

Pure ASGI rather than ``BaseHTTPMiddleware`` so streaming bodies pass straight through and a
client disconnect is never masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, ExceptionHandler, Receive, Scope, Send
from starlette.websockets import WebSocket

from .._errors import Unauthenticated
from ..observability import ROUTE_SCOPE_KEY, log_request
from ..security import (
    ANONYMOUS,
    BEARER_SUBPROTOCOL,
    FROM_QUERY,
    IDENTITY_SCOPE_KEY,
    Authenticator,
    Identity,
)
from ._asgi import is_async_callable
from ._exchange import Exchange
from ._http_cache import HTTP_CACHE_SCOPE_KEY, WANTED
from ._identity import choosing_bearer, drop_trailing_slash, identify
from ._limits import Limits, close_refused, refuse
from ._responses import MsgspecResponse, ProblemResponse

if TYPE_CHECKING:
    from ..observability import Metrics, Runtime

__all__ = ["GatewayMiddleware"]

_auth_log = logging.getLogger("fullon.api.cache.auth")


class RouteFinder(Protocol):
    """What the middleware asks the router: the route a request will match, if any."""

    def find(self, scope: Scope) -> BaseRoute | None: ...


# A WebSocket route accepts ``?token=`` (and the subprotocol token, read on every socket).
_SOCKET_CREDENTIALS = frozenset({FROM_QUERY})
_NO_CREDENTIALS: frozenset[str] = frozenset()
_clock = time.perf_counter


class GatewayMiddleware:
    """Everything the gateway does around routing, in one pass per request.

    HTTP: drop one trailing slash (``/tickers/`` routes like ``/tickers``, no redirect), refuse
    requests over the limits (`_limits`) then those without a required identity (401 with
    ``WWW-Authenticate: Bearer``), route, turn errors into problem documents (`handlers` by
    exception class; `unexpected` answers anything else with a 500 and re-raises, as
    Starlette's ServerErrorMiddleware does), negotiate HTTP caching for answers that did not
    do it themselves, then record metrics and log. WebSockets: limits and identity (a refused
    socket is accepted, then closed with 1008 and the reason), then the handlers. With
    authentication off every caller is an anonymous admin, and the first request logs a
    warning saying so.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        metrics: Metrics | None,
        handlers: Mapping[Any, ExceptionHandler],
        status_handlers: Mapping[int, ExceptionHandler],
        unexpected: ExceptionHandler | None,
        limits: Limits | None = None,
        runtime: Runtime | None = None,
        router: RouteFinder | None = None,
    ) -> None:
        self.app = app
        self.runtime = runtime
        # Which route a request will match, asked before routing: for the credentials its
        # route accepts (``?token=`` on streams only), and to name the route of a 401.
        self.router = router
        self.authenticator = authenticator
        self.metrics = metrics
        self.handlers = dict(handlers)
        self.status_handlers = dict(status_handlers)
        self.unexpected = unexpected
        self.limits = limits or Limits()
        # What Starlette's ExceptionMiddleware leaves in the scope for the routes it wraps
        # (request_response, websocket_session): ours, even under a host's own.
        self._scope_handlers = (self.handlers, self.status_handlers)
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if self.runtime is not None:
            self.runtime.ensure()  # the loop monitor and the shutdown watch, from the first request
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        drop_trailing_slash(scope)
        started = _clock()
        exchange = Exchange(scope, send)
        try:
            # The common answer (admitted, no error) here; the rest in `_serve`: one frame less.
            refused: Response | None = None
            try:
                refused = self._admit(scope)
                if refused is None:
                    scope["starlette.exception_handlers"] = self._scope_handlers
                    scope[HTTP_CACHE_SCOPE_KEY] = WANTED
                    await self.app(scope, receive, exchange.send)
            except Exception as exc:
                await self._serve(scope, receive, exchange, exc)
            else:
                if refused is not None:
                    await self._serve(scope, receive, exchange, refused)
        except asyncio.CancelledError:
            await self._cancelled(scope, receive, exchange)
            raise
        finally:
            seconds = _clock() - started
            if self.metrics is not None:
                self.metrics.observe(scope, exchange.status, seconds, exchange.streamed)
            log_request(scope, exchange.status, seconds * 1000.0)

    async def _cancelled(self, scope: Scope, receive: Receive, exchange: Exchange) -> None:
        """A request cancelled while the process shuts down (the server's grace period ran
        out, e.g. waiting on a frozen Redis) answers 503, not the server's plain-text 500."""
        if exchange.started or self.runtime is None or not self.runtime.stopping:
            return
        response = ProblemResponse.from_status(
            503, "The gateway is shutting down; retry on another instance.", {"Retry-After": "1"}
        )
        response.negotiate = False
        exchange.status, exchange.started = 503, True
        with contextlib.suppress(Exception):  # the client may be gone: the cancel goes on
            await response(scope, receive, exchange.downstream)

    def _admit(self, scope: Scope) -> Response | None:
        """The refusal of a request over the limits or without a required identity."""
        refusal = self.limits.check(scope)
        if refusal is not None:
            return refusal.response()
        try:
            scope[IDENTITY_SCOPE_KEY] = self._identity(scope)
        except Unauthenticated as exc:
            self._name_route(scope)
            response = ProblemResponse.from_error(exc)
            response.negotiate = False
            return response
        return None

    def _name_route(self, scope: Scope) -> None:
        """Record the route a refused request would have reached, so metrics and the log name
        its template rather than ``unrouted`` (nothing of the route runs)."""
        route = self.router.find(scope) if self.router is not None else None
        if route is not None and getattr(route, "path", None):
            scope["route"] = scope[ROUTE_SCOPE_KEY] = route
            scope["endpoint"] = getattr(route, "endpoint", None)

    def _accepts(self, scope: Scope) -> frozenset[str]:
        """The credentials outside the headers the request's route takes (`Accepts`)."""
        if scope["type"] == "websocket":
            return _SOCKET_CREDENTIALS
        route = self.router.find(scope) if self.router is not None else None
        credentials: frozenset[str] = getattr(route, "credentials", _NO_CREDENTIALS)
        return credentials

    async def _serve(
        self, scope: Scope, receive: Receive, exchange: Exchange, event: Response | Exception
    ) -> None:
        """Send a refusal (`event` a Response), or answer an error raised while serving."""
        try:
            try:
                if not isinstance(event, Response):
                    raise event  # its traceback goes on from where it was raised
                # A refusal is sent as built: no caching layer ever saw refusals.
                exchange.status, exchange.started = event.status_code, True
                await event(scope, receive, exchange.downstream)
            except Exception as exc:
                await self._handle(scope, receive, exchange, exc)
        except Exception as exc:
            if self.unexpected is None:  # debug: ServerErrorMiddleware, outside, answers
                raise
            if not exchange.started:
                response = await _call(self.unexpected, Request(scope), exc)
                if isinstance(response, MsgspecResponse):
                    response.negotiate = False  # as Starlette's outermost layer sends it
                if response is not None:
                    await response(scope, receive, exchange.downstream)
            raise  # as ServerErrorMiddleware does: the server logs it, test clients see it

    async def _handle(
        self, scope: Scope, receive: Receive, exchange: Exchange, exc: Exception
    ) -> None:
        """Answer a known exception with its handler (Starlette's rules), else re-raise."""
        handler = self._handler_for(exc)
        if handler is None:
            raise exc
        if exchange.started:
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        response = await _call(handler, Request(scope, receive), exc)
        if response is not None:
            await response(scope, receive, exchange.send)
        exc.__traceback__ = None  # a reused exception instance would accumulate tracebacks

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        """The handler of `exc`, by Starlette's rules: an HTTPException's status first, then
        the nearest class in its MRO."""
        if isinstance(exc, HTTPException) and exc.status_code in self.status_handlers:
            return self.status_handlers[exc.status_code]
        return next((self.handlers[cls] for cls in type(exc).__mro__ if cls in self.handlers), None)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if BEARER_SUBPROTOCOL in (scope.get("subprotocols") or ()):
            send = choosing_bearer(send)
        refusal = self.limits.check(scope)
        if refusal is not None:
            await refuse(scope, receive, send, refusal)
            return
        try:
            scope[IDENTITY_SCOPE_KEY] = self._identity(scope)
        except Unauthenticated as exc:
            await close_refused(receive, send, exc.detail)
            return
        scope["starlette.exception_handlers"] = self._scope_handlers
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            # What Starlette's websocket_session wrapper does, owned: a socket never started an
            # HTTP response, so a known exception always reaches its handler.
            handler = self._handler_for(exc)
            if handler is None:
                raise
            response = await _call(handler, WebSocket(scope, receive, send), exc)
            if response is not None:
                await response(scope, receive, send)
            exc.__traceback__ = None

    def _identity(self, scope: Scope) -> Identity | None:
        if not self.authenticator.config.enabled:
            if not self._warned:
                self._warned = True
                _auth_log.warning("authentication is OFF: every caller reads everything")
            return ANONYMOUS
        return identify(self.authenticator, scope, self._accepts)


_AsyncHandler = Callable[[Request | WebSocket, Exception], Awaitable[Response | None]]


async def _call(
    handler: ExceptionHandler, request: Request | WebSocket, exc: Exception
) -> Response | None:
    """Run an exception handler as Starlette does (a sync one in the thread pool)."""
    if is_async_callable(handler):
        return await cast("_AsyncHandler", handler)(request, exc)
    return await run_in_threadpool(handler, request, exc)  # type: ignore[arg-type]
