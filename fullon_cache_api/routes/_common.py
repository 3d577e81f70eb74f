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
from ..http import AGED_SCOPE_KEY, PATH_PATTERNS, Bound, Pattern
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
    reads (name -> the Pattern or Bound it validates with), `access` who may call it. Path
    parameters are validated by the route itself, once, before its endpoint runs, against
    `_params.PATH_PATTERNS` or `path_patterns` where a route's parameter takes another shape;
    the endpoint reads them validated from ``request.path_params``. `misses`: it may answer
    404 (by default when its path has a parameter; a query parameter may address a key too).
    `ages`: its answers carry ages (``…age_seconds``), so they revalidate with a weak ETag
    that leaves the ages out (`_http_cache`). While handling, the route puts itself in the
    scope so logging and metrics can name the route template, never the raw path.
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
        # Every path parameter with the pattern it is validated by, once, in `handle`: the
        # route's own shape, else `_params.PATH_PATTERNS`; a parameter with neither is refused
        # here, when the route table is built, so an unvalidated one cannot exist.
        self.path_patterns: dict[str, Pattern] = {
            name: _pattern_of(path, name, path_patterns or {}) for name in self.param_convertors
        }
        self._path_checks = tuple(self.path_patterns.items())
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
            return
        if self._path_checks:
            params = scope["path_params"]
            for name, pattern in self._path_checks:
                value = params[name]
                params[name] = pattern.check(name, value if type(value) is str else str(value))
        if self._direct is not None and self.app is self._respond_app:
            # `_respond` inlined (self.app unchanged: nothing wrapped it since).
            response = await self._direct(Request(scope, receive, send))
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _pattern_of(path: str, name: str, own: Mapping[str, Pattern]) -> Pattern:
    """The pattern path parameter `name` of `path` is validated by; none is an error."""
    pattern = own.get(name) or PATH_PATTERNS.get(name)
    if pattern is None:
        raise ValueError(
            f"route {path}: path parameter {name!r} has no pattern (declare it in the route's "
            "path_patterns or in _params.PATH_PATTERNS)"
        )
    return pattern


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
