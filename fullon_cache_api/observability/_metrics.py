"""Prometheus metrics of one app: a private registry, ``/metrics``, and `Metrics.observe`,
which the gateway's one middleware pass (`GatewayMiddleware`) calls once per answered request.

Each app gets its own ``CollectorRegistry`` (never the global one), so several apps in one
process (a host, tests) never collide. Series, all prefixed ``fullon_cache_api_``:

- ``requests_total{route, method, status}``: answered HTTP requests;
- ``request_duration_seconds{route}``: latency histogram (streams left out: they last minutes);
- ``redis_read_duration_seconds{operation}``: one data-layer read, e.g. ``tickers.one``
  (its Redis round trips plus decoding), timed at the reader method boundary;
- ``cache_lookups_total{domain, result}``: data routes answering 2xx/304 (hit) or 404 (miss),
  streams left out;
- ``corrupt_entries_skipped_total{domain}``: entries left out of lists as unreadable;
- ``open_streams`` and ``hub_subscriptions``: SSE and WebSocket clients, and the Redis
  channels and patterns the stream hub subscribes to (``app.state.hub.stats()``);
- ``event_loop_lag_seconds``: how late the event loop ran a timer due every 0.1 s
  (`_runtime.LoopMonitor`): anything that holds the loop shows up here.

``route`` is always a route template (``/tickers/{exchange}``) or ``unrouted``, never a raw
path, so the number of series stays bounded whatever clients request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from ._route_names import ROUTE_SCOPE_KEY, route_template
from ._series import CounterFamily, HistogramFamily, Series

__all__ = ["Metrics", "metrics_routes"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Reads are sub-millisecond on a local Redis; the default buckets start at 5 ms.
_READ_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
# A healthy loop wakes a timer within a millisecond; a stall worth a warning is over 0.1 s.
_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# What one answered request updates: its counter, its latency histogram, its cache lookup.
_Series = tuple[Callable[[], None], Callable[[float], None] | None, Callable[[], None] | None]


class Metrics:
    """The series of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.hub: Callable[[], Any] = lambda: None
        self._series: dict[tuple[int, str, int, bool], _Series] = {}
        ns, reg = "fullon_cache_api", self.registry
        # Updated on every request: lock-free families (`_series`), shown by one collector.
        self.requests = CounterFamily(
            f"{ns}_requests", "HTTP requests answered.", ["route", "method", "status"]
        )
        self.latency = HistogramFamily(
            f"{ns}_request_duration_seconds",
            "Time to answer an HTTP request (streams excluded).",
            ["route"],
        )
        self.reads = HistogramFamily(
            f"{ns}_redis_read_duration_seconds",
            "One data-layer read: Redis round trips plus decoding.",
            ["operation"],
            buckets=_READ_BUCKETS,
        )
        self.lookups = CounterFamily(
            f"{ns}_cache_lookups",
            "Data requests found (hit: 2xx/304) or not found (miss: 404).",
            ["domain", "result"],
        )
        lag = HistogramFamily(
            f"{ns}_event_loop_lag_seconds",
            "How late the event loop ran a timer due every 0.1 s (stalls show here).",
            [],
            buckets=_LAG_BUCKETS,
        )
        self.loop_lag = lag.labels().observe  # one series, shown (at zero) from the start
        reg.register(Series(self.requests, self.latency, self.reads, self.lookups, lag))
        self.skipped = Counter(
            "corrupt_entries_skipped",
            "Unreadable entries left out of list answers.",
            ["domain"],
            namespace=ns,
            registry=reg,
        )
        streams = Gauge(
            "open_streams", "Open SSE and WebSocket streams.", namespace=ns, registry=reg
        )
        streams.set_function(lambda: _hub_count(self.hub(), "open_streams"))
        subscriptions = Gauge(
            "hub_subscriptions",
            "Redis channels and patterns the stream hub subscribes to.",
            namespace=ns,
            registry=reg,
        )
        subscriptions.set_function(lambda: _hub_count(self.hub(), "subscriptions"))

    def attach(self, app: Any) -> None:
        """Watch `app`'s stream hub (its data-layer reads are wired by `create_app`, through
        `read_timer` and `skip_counter`)."""
        self.hub = lambda: getattr(app.state, "hub", None)

    def read_timer(self, operation: str) -> Callable[[float], None]:
        """What times one data-layer read, e.g. ``tickers.one``."""
        return self.reads.labels(operation).observe

    def skip_counter(self, domain: str) -> Callable[[int], object]:
        """What counts one domain's unreadable entries left out of lists."""
        return self.skipped.labels(domain).inc

    def observe(self, scope: Scope, status: int, seconds: float, streamed: bool) -> None:
        """Record one answered request."""
        method = scope["method"] if scope["method"] in _METHODS else "other"
        # The series are found once per (route, method, status) and kept. Bounded: routes
        # live as long as the app (their id is stable), methods are a fixed set.
        route = scope.get(ROUTE_SCOPE_KEY) or scope.get("route")
        key = (id(route), method, status, streamed)
        series = self._series.get(key)
        if series is None:
            label = _route_label(scope)
            series = self._series[key] = self._children(scope, label, method, status, streamed)
        count, timer, lookup = series
        count()
        if timer is not None:
            timer(seconds)
        if lookup is not None:
            lookup()

    def _children(
        self, scope: Scope, label: str, method: str, status: int, streamed: bool
    ) -> _Series:
        """The bound updates one (route, method, status) answer makes."""
        timer = None if streamed else self.latency.labels(label).observe
        lookup = None
        if not streamed and getattr(scope.get(ROUTE_SCOPE_KEY), "cache_lookups", False):
            result = "hit" if 200 <= status < 300 or status == 304 else "miss"
            if result == "hit" or status == 404:
                lookup = self.lookups.labels(_domain(scope), result).inc
        return self.requests.labels(label, method, str(status)).inc, timer, lookup

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (Prometheus text or OpenMetrics)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def _route_label(scope: Scope) -> str:
    template = route_template(scope)
    if template != "unrouted":
        return template
    # Routes that are not ApiRoutes (streams, docs, /metrics): Starlette records the match.
    route = scope.get("route")
    return route.path if isinstance(route, Route | WebSocketRoute) else "unrouted"


def _domain(scope: Scope) -> str:
    module = getattr(scope.get("endpoint"), "__module__", "") or ""
    return module.rsplit(".", 1)[-1] if module.startswith("fullon_cache_api.routes.") else "other"


def _hub_count(hub: Any, name: str) -> float:
    """``open_streams`` (clients) or ``subscriptions`` (channels and patterns) of the hub's
    `stats()`; 0 when the app has no hub."""
    stats = getattr(hub, "stats", None)
    if not callable(stats):
        return 0.0
    counts = stats()
    if name == "open_streams":
        return float(counts.clients)
    return float(counts.channels + counts.patterns)


async def _metrics_endpoint(request: Request) -> Response:
    """The app's metrics in the Prometheus text format (OpenMetrics when asked for)."""
    metrics: Metrics = request.app.state.metrics
    body, content_type = metrics.exposition(request.headers.get("accept"))
    return Response(body, headers={"Content-Type": content_type})


class _MetricsRoute(Route):
    """``GET /metrics``; it names its template in the scope like an ApiRoute does."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[ROUTE_SCOPE_KEY] = self
        await super().handle(scope, receive, send)


def metrics_routes() -> list[Route]:
    """The ``/metrics`` route, added by `create_app` unless ``metrics=False``."""
    return [_MetricsRoute("/metrics", _metrics_endpoint, methods=["GET"])]
