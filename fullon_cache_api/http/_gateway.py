"""`GatewayApp`: a Starlette application whose whole stack is one pass around an indexed router.

Starlette builds ServerErrorMiddleware -> user middleware -> ExceptionMiddleware -> Router:
two exception layers, each wrapping ``send``, around whatever the app adds. Here the stack is
`GatewayMiddleware` (limits, identity, the exception handlers, the 500 answer, HTTP caching,
metrics, logging) -> user middleware -> `SegmentRouter`, with the same exception-to-answer
rules. It is still a `Starlette` instance: ``routes``, ``state``, ``url_path_for``,
``add_middleware``, ``exception_handlers``, lifespan and mounting in a host work as usual.
``debug=True`` keeps Starlette's ServerErrorMiddleware outside, for its traceback pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException, WebSocketException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, ExceptionHandler, Lifespan
from starlette.websockets import WebSocket

from ..observability import Metrics, Runtime
from ..security import Authenticator
from ._limits import Limits
from ._middleware import GatewayMiddleware
from ._router import SegmentRouter

__all__ = ["GatewayApp"]


class GatewayApp(Starlette):
    """The gateway's application: Starlette with the lean stack described above."""

    def __init__(
        self,
        *,
        routes: Sequence[BaseRoute],
        authenticator: Authenticator,
        metrics: Metrics | None,
        exception_handlers: Mapping[Any, ExceptionHandler],
        lifespan: Lifespan[Any],
        limits: Limits | None = None,
        runtime: Runtime | None = None,
        debug: bool = False,
    ) -> None:
        super().__init__(
            debug=debug, routes=routes, exception_handlers=exception_handlers, lifespan=lifespan
        )
        self.router = SegmentRouter(routes, redirect_slashes=False, lifespan=lifespan)
        self.authenticator = authenticator
        self.metrics = metrics
        self.limits = limits or Limits()
        self.runtime = runtime

    def build_middleware_stack(self) -> ASGIApp:
        unexpected: ExceptionHandler | None = None
        status_handlers: dict[int, ExceptionHandler] = {}
        # Starlette's ExceptionMiddleware defaults, then ours (ours win, as there).
        handlers: dict[Any, ExceptionHandler] = {
            HTTPException: _plain_http_exception,
            WebSocketException: _close_websocket,
        }
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                unexpected = value
            elif isinstance(key, int):
                status_handlers[key] = value
            else:
                handlers[key] = value
        app: ASGIApp = self.router
        if self.max_body_size is not None:
            app = RequestBodyLimitMiddleware(app, max_body_size=self.max_body_size)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        app = GatewayMiddleware(
            app,
            authenticator=self.authenticator,
            metrics=self.metrics,
            handlers=handlers,
            status_handlers=status_handlers,
            unexpected=None if self.debug else unexpected,
            limits=self.limits,
            runtime=self.runtime,
            router=self.router if isinstance(self.router, SegmentRouter) else None,
        )
        if self.debug:
            app = ServerErrorMiddleware(app, handler=unexpected, debug=True)
        return app


async def _plain_http_exception(request: Any, exc: Exception) -> Any:
    """Starlette's default for HTTPException (replaced by the gateway's problem handler)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in {204, 304}:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def _close_websocket(websocket: Any, exc: Exception) -> None:
    """Starlette's default for WebSocketException: close with its code and reason."""
    assert isinstance(websocket, WebSocket) and isinstance(exc, WebSocketException)
    await websocket.close(code=exc.code, reason=exc.reason)
