"""Prometheus metrics: scraped from ``/metrics``; labels are route templates, never raw paths."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from redis.asyncio import Redis
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.observability._series import CounterFamily, HistogramFamily, Series

from .support.credentials import ADMIN_KEY, HEADERS
from .support.metrics import P, label_values, scrape, value
from .support.streams import eventually, serve, sse

pytestmark = pytest.mark.anyio


async def test_metrics_need_an_identity(app: Starlette, client: httpx.AsyncClient) -> None:
    """``/metrics`` answers 401 without credentials, like data routes (scrape with a key)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as anonymous:
        response = await anonymous.get("/metrics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_labels_are_route_templates(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """50 distinct symbols add one series per status, labelled by template, never by path."""
    for n in range(25):
        await writer.set_ticker("binance", f"S{n}/USDT", price=1.0, time=1717584000.0)
    for n in range(50):
        await client.get(f"/tickers/binance/S{n}/USDT")  # 25 found, 25 not
    samples = await scrape(client)
    routes = label_values(samples, P + "requests_total", "route")
    assert routes == {"/tickers/{exchange}/{symbol:path}"}
    template = "/tickers/{exchange}/{symbol:path}"
    assert value(samples, P + "requests_total", route=template, method="GET", status="200") == 25
    assert value(samples, P + "requests_total", route=template, method="GET", status="404") == 25
    assert value(samples, P + "request_duration_seconds_count", route=template) == 50
    assert not any("S7" in str(labels) for _, labels in samples)
    again = await scrape(client)  # the first scrape is counted under /metrics' own template
    assert value(again, P + "requests_total", route="/metrics", method="GET", status="200") == 1


async def test_unrouted_and_odd_methods_stay_bounded(client: httpx.AsyncClient) -> None:
    """Unknown paths share the ``unrouted`` label; unknown methods share ``other``."""
    for n in range(20):
        await client.get(f"/no/such/path/{n}")
        await client.request(f"BREW{n}", "/tickers")
    samples = await scrape(client)
    assert value(samples, P + "requests_total", route="unrouted", method="GET", status="404") == 20
    methods = label_values(samples, P + "requests_total", "method")
    assert methods == {"GET", "other"}


async def test_hits_misses_and_read_latency(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """2xx/304 count as hits and 404 as misses per domain; each reader call is timed."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=1717584000.0)
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[1717584000, 1, 2, 0.5, 1.5, 10.0]])
    for path in ("/tickers/binance/BTC/USDT", "/tickers/binance/ETH/USDT", "/tickers/binance"):
        await client.get(path)
    first = await client.get("/ohlcv/BTC/USDT/1m")
    await client.get("/ohlcv/BTC/USDT/1m", headers={"If-None-Match": first.headers["etag"]})
    await client.get("/ohlcv/ETH/USDT/1m")
    samples = await scrape(client)
    lookups = P + "cache_lookups_total"
    assert value(samples, lookups, domain="tickers", result="hit") == 2
    assert value(samples, lookups, domain="tickers", result="miss") == 1
    assert value(samples, lookups, domain="ohlcv", result="hit") == 2  # the 304 included
    assert value(samples, lookups, domain="ohlcv", result="miss") == 1
    reads = P + "redis_read_duration_seconds_count"
    assert value(samples, reads, operation="tickers.one") == 2
    assert value(samples, reads, operation="tickers.all") == 1
    assert value(samples, reads, operation="ohlcv.bars") == 3
    assert value(samples, P + "redis_read_duration_seconds_sum", operation="tickers.one") > 0


async def test_corrupt_entries_are_counted(client: httpx.AsyncClient, flushed: RedisServer) -> None:
    """Entries skipped as unreadable are counted per domain."""
    async with Redis(port=flushed.port) as raw:
        await raw.hset("tickers:binance", mapping={"A/USDT": "{not json", "B/USDT": "[1"})
        await raw.hset("tickers:binance", "C/USDT", '{"price": 1.0, "time": 1717584000.0}')
    response = await client.get("/tickers/binance")
    assert response.json()["skipped"] == 2
    samples = await scrape(client)
    assert value(samples, P + "corrupt_entries_skipped_total", domain="tickers") == 2


async def test_stream_gauges_follow_open_streams(settings: Settings, writer: CacheWriter) -> None:
    """An open SSE stream shows as one open stream and one hub subscription, then 0 again;
    the stream is neither a latency sample nor a cache lookup."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=1717584000.0)
    template = "/tickers/{exchange}/{symbol:path}/stream"
    async with (
        serve(settings) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers=HEADERS) as http,
    ):
        before = await scrape(http)
        assert value(before, P + "open_streams") == value(before, P + "hub_subscriptions") == 0
        async with sse(http, "/tickers/binance/BTC/USDT/stream") as stream:
            await stream.until("snapshot")
            await eventually(lambda: _scraped(http, 1, "hub_subscriptions"))
            during = await scrape(http)
            assert value(during, P + "open_streams") == 1
        await eventually(lambda: _scraped(http, 0, "hub_subscriptions"))
        labels = {"route": template, "method": "GET", "status": "200"}
        await eventually(lambda: _scraped(http, 1, "requests_total", **labels))  # on its end
        after = await scrape(http)
    assert value(after, P + "open_streams") == 0
    assert value(after, P + "request_duration_seconds_count", route=template) == 0
    assert value(after, P + "cache_lookups_total", domain="streams", result="hit") == 0


async def _scraped(http: httpx.AsyncClient, expected: float, name: str, **labels: str) -> bool:
    return value(await scrape(http), P + name, **labels) == expected


async def test_openmetrics_when_asked(client: httpx.AsyncClient) -> None:
    """A scraper asking for OpenMetrics gets it (content type and ``# EOF``)."""
    response = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


@pytest.fixture
async def two_apps(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """Two apps in one process, plus one built with ``metrics=False``."""
    apps = [create_app(settings=settings), create_app(settings=settings)]
    apps.append(create_app(settings=settings, metrics=False))
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gateway",
            headers={"X-API-Key": ADMIN_KEY},
        )
        for app in apps
    ]
    try:
        yield tuple(clients)
    finally:
        for http, app in zip(clients, apps, strict=True):
            await http.aclose()
            await app.state.reader.redis.aclose()


async def test_apps_have_their_own_registry(two_apps: tuple[httpx.AsyncClient, ...]) -> None:
    """Requests to one app never show in another's metrics; ``metrics=False`` has no route."""
    first, second, without = two_apps
    for _ in range(3):
        await first.get("/health")
    await second.get("/health")
    count = P + "requests_total"
    assert value(await scrape(first), count, route="/health", method="GET", status="200") == 3
    assert value(await scrape(second), count, route="/health", method="GET", status="200") == 1
    assert (await without.get("/metrics")).status_code == 404


def test_series_expose_what_prometheus_client_would() -> None:
    """Our lock-free counter and histogram families scrape exactly like prometheus_client's
    Counter and Histogram fed the same values (creation timestamps aside)."""
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    counter = Counter("c", "A counter.", ["route", "status"], namespace="x", registry=theirs)
    histogram = Histogram("h", "A histogram.", ["route"], namespace="x", registry=theirs)
    our_counter = CounterFamily("x_c", "A counter.", ["route", "status"])
    our_histogram = HistogramFamily("x_h", "A histogram.", ["route"])
    ours.register(Series(our_counter, our_histogram))
    for route, status, seconds in [("/a", "200", 0.004), ("/a", "404", 0.3), ("/b", "200", 12.0)]:
        counter.labels(route, status).inc()
        our_counter.labels(route, status).inc()
        histogram.labels(route).observe(seconds)
        our_histogram.labels(route).observe(seconds)
    histogram.labels("/a").observe(0.005)  # on a bucket bound: counted in that bucket
    our_histogram.labels("/a").observe(0.005)

    def text(registry: CollectorRegistry) -> list[str]:
        return [
            line
            for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line
        ]

    assert text(ours) == text(theirs)
    created = [line for line in generate_latest(ours).decode().splitlines() if "_created{" in line]
    assert len(created) == 5  # three counter series, two histogram series
