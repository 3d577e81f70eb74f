"""How a request is named in logs and metrics: by the template of the route that handled it
(``/tickers/{exchange}``), never by its raw path, so the names stay a bounded set."""

from __future__ import annotations

from starlette.types import Scope

__all__ = ["ROUTE_SCOPE_KEY", "route_template"]

# A route that names itself puts itself here while it handles the request (`ApiRoute`, the
# docs and /metrics routes); the request log and the metrics read it back.
ROUTE_SCOPE_KEY = "fullon_cache_api.route"


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request (never the raw path)."""
    route = scope.get(ROUTE_SCOPE_KEY)
    return getattr(route, "path", None) or "unrouted"
