"""What every route module shares: `ApiRoute`, and the accessors from a request to the data
layer and to the caller's identity."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .._errors import Unauthenticated
from ..data import CacheReader
from ..http import AGED_SCOPE_KEY, Bound, Pattern
from ..observability import ROUTE_SCOPE_KEY
from ..security import IDENTITY_SCOPE_KEY, Authenticator, Identity, Ownership

__all__ = [
    "ROUTE_SCOPE_KEY",
    "Access",
    "ApiRoute",
    "identity_of",
    "is_operator",
    "ownership_of",
    "reader_from",
]

# Who may call a route: anyone, any authenticated identity (market data and process health),
# or an identity reading only what it owns (admins read everything).
Access = Literal["public", "market", "private"]


class ApiRoute(Route):
    """A GET (and HEAD) route that declares what its documentation needs.

    `response` is the Struct type of a 200 body, `query` the query parameters the endpoint
    reads (name -> the Pattern or Bound it validates with; path parameters are described by
    `_params.PATH_PATTERNS`, or by `path_patterns` where a route's parameter takes another
    shape), `access` who may call it. `misses`: it may answer 404 (by default when its path has
    a parameter; a query parameter may address a key too). `ages`: its answers carry ages
    (``…age_seconds``), so they revalidate with a weak ETag that leaves the ages out
    (`_http_cache`). While handling, the route puts itself in the scope so logging and metrics
    can name the route template, never the raw path.
    """

    # Metrics count its answers as cache lookups (hit: 2xx/304, miss: 404).
    cache_lookups = True

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        response: Any,
        query: Mapping[str, Pattern | Bound] | None = None,
        access: Access = "market",
        path_patterns: Mapping[str, Pattern] | None = None,
        ages: bool = False,
        misses: bool | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=["GET"])
        self.response = response
        self.query: dict[str, Pattern | Bound] = dict(query or {})
        self.access: Access = access
        self.path_patterns: dict[str, Pattern] = dict(path_patterns or {})
        self.ages = ages
        self.misses = "{" in path if misses is None else misses
        # A coroutine endpoint is called from `handle` itself: no Starlette wrapper, no frame.
        self._direct: Callable[[Request], Awaitable[Response]] | None = None
        self._respond_app: ASGIApp | None = None
        if inspect.iscoroutinefunction(endpoint):
            self.app = self._respond_app = _respond(endpoint)
            self._direct = endpoint

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[ROUTE_SCOPE_KEY] = self
        if self.ages:
            scope[AGED_SCOPE_KEY] = True
        if scope["method"] not in self.methods:  # type: ignore[operator]  # always: GET, HEAD
            await super().handle(scope, receive, send)  # 405
        elif self._direct is not None and self.app is self._respond_app:
            # `_respond` inlined (self.app unchanged: nothing wrapped it since).
            response = await self._direct(Request(scope, receive, send))
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _respond(endpoint: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    """The ASGI app of an endpoint, without Starlette's per-request exception wrapper (a
    closure around ``send``): errors go up to the app's handlers, which answer them the same.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


def reader_from(request: Request) -> CacheReader:
    """The app's read-only data layer (built by `create_app`, shared by all requests)."""
    reader: CacheReader = request.app.state.reader
    return reader


def identity_of(request: Request) -> Identity | None:
    """Who is asking (None only on public routes called without credentials)."""
    identity: Identity | None = request.scope.get(IDENTITY_SCOPE_KEY)
    return identity


def is_operator(request: Request) -> bool:
    """Whether the caller may see tenant-wide operational figures (admin or ``:ops`` key)."""
    identity = identity_of(request)
    return identity is not None and identity.operator


async def ownership_of(request: Request) -> Ownership | None:
    """What the caller may read of the private domains; None means everything (admin)."""
    identity: Identity | None = request.scope.get(IDENTITY_SCOPE_KEY)
    if identity is None:
        raise Unauthenticated("Not authenticated")
    if identity.admin:  # what `Authenticator.ownership` answers first, without its call
        return None
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.ownership(identity)
