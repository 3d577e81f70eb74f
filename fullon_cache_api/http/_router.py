"""A Router that tries only the routes of a request's first path segment.

Starlette's Router tries every route in order until one matches: with ~55 routes a request to
the last domain ran ~25 regular expressions before its own. Here routes are indexed by the
static first segment of their path (``/tickers/{exchange}`` -> ``tickers``); a request tries
the routes of its segment, plus the routes whose first segment is not static (a parameter, a
root mount, a host), all in their original order, so the first match is the one Starlette
would have found. Routes of Starlette's own classes are skipped on a failed regex match alone
(what their `matches` would start with) instead of a call that computes the path again.
Everything else (``routes``, ``url_path_for``, mounts, lifespan, 404/405, WebSocket routes,
redirect_slashes) is Starlette's.

Clients poll the same few paths (one ticker, one order) over and over, so the full match of a
path by a plain `Route` is remembered (`_MAX_REMEMBERED` paths, forgotten all at once when
full or when the routes change): a repeated path costs one dict lookup, not a regex per
candidate route plus the match of its own. Only what `Route.matches` computes from the path
and method alone is kept (the endpoint, the path parameters), and a copy of the parameters is
given to each request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import BaseRoute, Host, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

from ._asgi import get_route_path

__all__ = ["SegmentRouter", "first_segment"]


def first_segment(route: BaseRoute) -> str | None:
    """The static first segment every path `route` matches starts with; None when any path
    might match (a parameter there, a root mount, a host route)."""
    if isinstance(route, Host):
        return None
    path: Any = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return None  # a Mount at the root has path ""
    segment = path[1:].split("/", 1)[0]
    if isinstance(route, Mount) and not segment:
        return None
    return None if "{" in segment else segment


# A route, and the regex match its `matches` starts with when it is Starlette's own (a
# failed match there means Match.NONE: the route can be skipped without calling it).
_Candidate = tuple[BaseRoute, Callable[[str], object] | None]
_STARLETTE_MATCHES = (Route.matches, WebSocketRoute.matches, Mount.matches)
# Paths whose match is remembered, and the longest remembered (longer ones are rare and
# would make the bound on memory loose): ~1024 * (256 + the params) bytes at most.
_MAX_REMEMBERED = 1024
_MAX_REMEMBERED_PATH = 256
# A remembered full match: the route, its endpoint and its path parameters.
_Remembered = tuple[BaseRoute, Any, dict[str, Any]]


def _prefilter(route: BaseRoute) -> Callable[[str], object] | None:
    regex = getattr(route, "path_regex", None)
    if regex is None or type(route).matches not in _STARLETTE_MATCHES:
        return None
    match: Callable[[str], object] = regex.match
    return match


class SegmentRouter(Router):
    """Starlette's Router, matching only the routes a request's first segment can reach.

    The index follows `routes`: it is rebuilt when the list is replaced or changes length
    (``app.routes.append(...)``, ``router.mount(...)``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._indexed: list[BaseRoute] | None = None
        self._indexed_length = -1
        self._by_segment: dict[str, list[_Candidate]] = {}
        self._unsegmented: list[_Candidate] = []
        self._remembered: dict[tuple[str, str], _Remembered] = {}

    def _candidates(self, route_path: str) -> list[_Candidate]:
        if self._indexed is not self.routes or self._indexed_length != len(self.routes):
            self._index()
        segment = route_path[1:].split("/", 1)[0]
        return self._by_segment.get(segment, self._unsegmented)

    def _index(self) -> None:
        entries = [(route, _prefilter(route), first_segment(route)) for route in self.routes]
        self._unsegmented = [(r, p) for r, p, s in entries if s is None]
        self._by_segment = {
            segment: [(r, p) for r, p, s in entries if s in (segment, None)]
            for segment in {s for _, _, s in entries}
            if segment is not None
        }
        self._indexed, self._indexed_length = self.routes, len(self.routes)
        self._remembered = {}

    def _remember(self, key: tuple[str, str], route: BaseRoute, child_scope: Scope) -> None:
        """Keep a full match of a plain `Route` when it depends on the path and method only."""
        if type(route).matches is not Route.matches or len(key[0]) > _MAX_REMEMBERED_PATH:
            return
        if len(self._remembered) >= _MAX_REMEMBERED:
            self._remembered = {}  # cheaper than LRU upkeep; refilled by the next requests
        self._remembered[key] = (route, child_scope["endpoint"], dict(child_scope["path_params"]))

    def find(self, scope: Scope) -> BaseRoute | None:
        """The route that will handle `scope` (a full match), found without handling it."""
        if self._indexed is not self.routes or self._indexed_length != len(self.routes):
            self._index()
        route_path = get_route_path(scope)
        if scope["type"] == "http" and "path_params" not in scope:
            remembered = self._remembered.get((route_path, scope.get("method") or ""))
            if remembered is not None:
                return remembered[0]
        for route, prefilter in self._candidates(route_path):
            if prefilter is not None and prefilter(route_path) is None:
                continue
            if route.matches(scope)[0] is Match.FULL:
                return route
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await super().app(scope, receive, send)  # lifespan
            return
        if "router" not in scope:
            scope["router"] = self
        if self._indexed is not self.routes or self._indexed_length != len(self.routes):
            self._index()
        route_path = get_route_path(scope)
        # Inside a mount the scope already holds the mount's parameters: not remembered.
        key = None if "path_params" in scope else (route_path, scope.get("method") or "")
        if key is not None and scope["type"] == "http":
            remembered = self._remembered.get(key)
            if remembered is not None:
                route, scope["endpoint"], params = remembered
                scope["path_params"] = params.copy()
                scope["route"] = route
                await route.handle(scope, receive, send)
                return
        partial: BaseRoute | None = None
        partial_scope: Scope = {}
        for route, prefilter in self._candidates(route_path):
            if prefilter is not None and prefilter(route_path) is None:
                continue  # the regex its own `matches` would run does not match
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                if key is not None and scope["type"] == "http":
                    self._remember(key, route, child_scope)
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:  # a path that matched with another method: 405
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        if self.redirect_slashes:  # Starlette's full scan decides about the redirect
            await super().app(scope, receive, send)
            return
        await self.default(scope, receive, send)
