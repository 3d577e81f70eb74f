"""The app factory: `create_app()` assembles settings, the Redis client and the route tables."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ._errors import CacheAPIError
from ._settings import Settings
from .backend import CacheClient, adopt_injected, build_client, with_near_cache
from .data import CacheReader, ReadLimits, instrument_reads
from .gauges import GaugeSettings, install
from .http import GatewayApp, ProblemResponse
from .observability import LoopMonitor, Metrics, Runtime, metrics_routes
from .routes import (
    accounts,
    bots,
    docs,
    health,
    ohlcv,
    orders,
    processes,
    streams,
    tickers,
    trades,
    users,
    views,
    ws,
)
from .security import Authenticator, OwnershipHook
from .streams import Hub, StreamSettings

__all__ = ["all_routes", "create_app", "lifespan"]

_log = logging.getLogger("fullon.api.cache")


def all_routes() -> list[BaseRoute]:
    """The whole HTTP and WebSocket surface, in matching order (static segments first).

    Derived views (``/tickers/status``...) and streams (``.../stream``) come before the
    domain tables so their static segments win over the domains' path parameters; within a
    domain table the specification's literal paths (``/orders/queue/size``,
    ``/orders/{order_id}/status``, ``/trades/queue/status``, ``/processes/status``...) come
    before the parameterised routes they would otherwise fall into.
    """
    return [
        *docs.routes,
        *health.routes,
        *views.routes,
        *streams.routes,
        *ws.routes,
        *tickers.routes,
        *accounts.routes,
        *orders.routes,
        *bots.routes,
        *trades.routes,
        *ohlcv.routes,
        *processes.routes,
        *users.routes,
    ]


def create_app(
    *,
    settings: Settings | None = None,
    redis: CacheClient | None = None,
    auth: bool | None = None,
    ownership: OwnershipHook | None = None,
    metrics: bool = True,
    streams: StreamSettings | None = None,
    gauges: GaugeSettings | None = None,
    debug: bool = False,
) -> Starlette:
    """Build the gateway. No I/O: Redis is first contacted by the first request.

    With no `settings` they come from the environment (`Settings.from_env`). An injected
    `redis` client is used as is and never closed by us; a client we build is closed by
    `lifespan` (run it standalone, or enter it from a host's own lifespan). `auth=False`
    turns authentication off (it is on by default); `ownership` is the host's async hook
    telling what a non-admin identity may read (without it, private data is admin-only).
    `metrics=False` leaves out the Prometheus series and the ``/metrics`` route. `streams`
    tunes the live streams (heartbeat, poll interval, per-client bounds); without it they come
    from ``FULLON_CACHE_API_STREAM_*`` when `settings` do (from the environment), else defaults.
    `gauges` tunes the domain gauges collector (default: ``FULLON_CACHE_API_GAUGES_*``).
    """
    if streams is None:
        streams = StreamSettings.from_env() if settings is None else StreamSettings()
    settings = settings if settings is not None else Settings.from_env()
    if auth is not None:
        settings = msgspec.structs.replace(
            settings, auth=msgspec.structs.replace(settings.auth, enabled=auth)
        )
    client, owned = (
        (build_client(settings), True) if redis is None else (adopt_injected(redis), False)
    )
    if owned:  # never in front of an injected client: its owner may not want one
        client = with_near_cache(client, settings)
    authenticator = Authenticator(settings.auth, ownership)
    recorder = Metrics() if metrics else None
    # Built here, started by the first request (no task, no signal handler before that).
    runtime = Runtime(LoopMonitor(observe=recorder.loop_lag if recorder else None))
    # One pass (limits, identity, errors, HTTP caching, metrics, log) around an indexed
    # router: `_gateway`. Still a Starlette app, mountable in any host.
    app = GatewayApp(
        debug=debug,
        routes=[*all_routes(), *(metrics_routes() if recorder else [])],
        authenticator=authenticator,
        metrics=recorder,
        exception_handlers={
            CacheAPIError: _problem,
            HTTPException: _http_problem,
            Exception: _unexpected,
        },
        lifespan=lifespan,
        runtime=runtime,
    )
    limits = ReadLimits(
        chunk=settings.read_chunk,
        max_value_bytes=settings.max_value_bytes,
        budget=settings.read_budget,
        socket_timeout=settings.redis_socket_timeout,
    )
    app.state.reader = CacheReader(client, limits)
    app.state.authenticator = authenticator
    app.state.owns_redis = owned
    app.state.hub = Hub(app.state.reader, streams)  # no I/O until the first stream
    app.state.runtime = runtime
    # SIGTERM / SIGINT end the streams at once, whoever runs us (see `_runtime._signals`).
    runtime.shutdown.on_stop(app.state.hub.shutdown)
    if recorder is not None:
        app.state.metrics = recorder
        instrument_reads(app.state.reader, recorder.read_timer, recorder.skip_counter)
        recorder.attach(app)
        # The cache's health in /metrics: started by the first scrape, stopped like the streams.
        collector = install(app, recorder.registry, gauges or GaugeSettings.from_env())
        app.state.gauges = collector
        runtime.shutdown.on_stop(collector.stop)
    return app


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Clean shutdown: end the streams, then close the Redis client if `create_app` built it."""
    try:
        yield
    finally:
        await app.state.runtime.aclose()
        if (gauges := getattr(app.state, "gauges", None)) is not None:
            await gauges.aclose()
        await app.state.hub.aclose()
        if app.state.owns_redis:
            await app.state.reader.redis.aclose()


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CacheAPIError)
    return ProblemResponse.from_error(exc)


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return ProblemResponse.from_status(exc.status_code, exc.detail, exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    _log.exception("unexpected error in %s", request.url.path, exc_info=exc)
    return ProblemResponse.from_status(500, "The gateway failed unexpectedly.", None)
