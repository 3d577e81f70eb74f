"""Domain gauges: computed by one background collector over the data layer, shown by scrapes
that never wait on Redis, with bounded labels and the collector's own health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from fullon_cache_api import Settings, SettingsError, create_app
from fullon_cache_api._errors import TooManyStreams
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.gauges import GaugeCollector, GaugeSettings
from fullon_cache_api.server import read_configuration
from fullon_cache_api.streams import StreamSettings

from .support.credentials import ADMIN_KEY
from .support.gauges import AGE_SLACK, AGES, EXPECTED, seed_health
from .support.streams import eventually

pytestmark = pytest.mark.anyio

P = "fullon_cache_api_"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
# Long enough that no background run happens during a test unless the test asks for one.
QUIET = GaugeSettings(interval=3600, budget=5)


@asynccontextmanager
async def gateway(
    settings: Settings, gauges: GaugeSettings = QUIET, **options: object
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app (lifespan entered) and an admin client calling it in-process."""
    app = create_app(settings=settings, gauges=gauges, **options)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://g", headers={"X-API-Key": ADMIN_KEY}
        ) as http,
    ):
        yield app, http


async def scrape(http: httpx.AsyncClient) -> Samples:
    """Every sample of ``/metrics`` (prefix removed), keyed by (name, sorted labels)."""
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name.removeprefix(P), tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def named(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: value for (sample, labels), value in samples.items() if sample == name}


def collector(app: Starlette) -> GaugeCollector:
    found: GaugeCollector = app.state.gauges
    return found


async def test_gauges_show_the_seeded_cache(settings: Settings, writer: CacheWriter) -> None:
    """After one run, every gauge shows the seeded cache's counts, and ages its times."""
    await seed_health(writer)
    async with gateway(settings) as (app, http):
        snapshot = await collector(app).run_once()
        samples = await scrape(http)
    assert snapshot.redis_up
    for key, expected in EXPECTED.items():
        assert samples.get(key) == expected, key
    for key, age in AGES.items():
        assert age <= samples[key] <= age + AGE_SLACK, (key, samples.get(key))
    assert samples[("redis_up", ())] == 1
    assert 0 < samples[("redis_ping_seconds", ())] < 5
    assert samples[("gauges_runs_total", (("result", "ok"),))] == 1
    assert samples[("gauges_last_success_timestamp_seconds", ())] == pytest.approx(
        time.time(), abs=AGE_SLACK
    )
    assert named(samples, "gauges_truncated") == {
        (("part", part),): 0 for part in ("tickers", "processes", "queues", "ohlcv")
    }


async def test_first_scrape_starts_the_collector_without_waiting(
    settings: Settings, writer: CacheWriter
) -> None:
    """The first scrape answers at once without domain gauges and starts the collector; its
    run then shows in later scrapes."""
    await seed_health(writer)
    async with gateway(settings) as (app, http):
        assert not collector(app).running
        first = await scrape(http)
        assert collector(app).running
        assert not named(first, "tickers")
        assert first[("gauges_last_success_timestamp_seconds", ())] == 0

        async def ran() -> bool:
            return collector(app).snapshot is not None

        await eventually(ran, within=10)
        later = await scrape(http)
    assert later[("tickers", (("exchange", "binance"),))] == 3
    assert not collector(app).running  # the lifespan stopped it


async def test_runs_at_most_once_per_interval(settings: Settings) -> None:
    """Started by a scrape, the collector runs no more often than its interval allows."""
    async with gateway(settings, GaugeSettings(interval=0.3, budget=0.3)) as (app, http):
        started = time.monotonic()
        await scrape(http)

        async def ran() -> bool:
            return sum(collector(app).runs.values()) >= 1

        await eventually(ran, within=10)
        await asyncio.sleep(1.0)
        runs = sum(collector(app).runs.values())
        elapsed = time.monotonic() - started
    assert runs <= int(elapsed / 0.3) + 1, (runs, elapsed)


async def test_scrape_never_touches_redis(settings: Settings, flushed: RedisServer) -> None:
    """With Redis stopped, a scrape still answers 200 with the last snapshot (the scrape only
    reads memory); the next run reports Redis down and drops the domain gauges."""
    async with gateway(settings) as (app, http):
        await collector(app).run_once()
        flushed.stop()
        try:
            during = await scrape(http)
            assert during[("redis_up", ())] == 1  # the last snapshot, as it was
            assert named(during, "order_queue_length") == {(): 0}
            await collector(app).run_once()
            after = await scrape(http)
        finally:
            flushed.start()
    assert after[("redis_up", ())] == 0
    assert after[("gauges_runs_total", (("result", "failed"),))] >= 1  # the scrape's run too
    assert not named(after, "order_queue_length")
    assert not named(after, "tickers")


async def test_budget_cuts_a_run_short(settings: Settings, writer: CacheWriter) -> None:
    """A part past its time share stops, reports what it read, and says it was truncated."""
    await seed_health(writer)
    tiny = GaugeSettings(interval=3600, budget=1e-6)
    async with gateway(settings, tiny) as (app, http):
        await collector(app).run_once()
        samples = await scrape(http)
    assert samples[("gauges_truncated", (("part", "tickers"),))] == 1
    assert samples[("gauges_runs_total", (("result", "partial"),))] == 1
    assert samples[("gauges_last_success_timestamp_seconds", ())] > 0


async def test_labels_are_bounded(settings: Settings, writer: CacheWriter) -> None:
    """Past `max_labels` distinct exchanges, the rest are summed under ``other``."""
    now = time.time()
    for n in range(6):
        await writer.set_ticker(f"ex{n}", "BTC/USDT", price=1.0, time=now)
    async with gateway(settings, GaugeSettings(interval=3600, max_labels=2)) as (app, http):
        await collector(app).run_once()
        samples = await scrape(http)
    tickers = named(samples, "tickers")
    assert len(tickers) == 3
    assert tickers[(("exchange", "other"),)] == 4
    assert sum(tickers.values()) == 6
    assert samples[("gauges_truncated", (("part", "tickers"),))] == 1


async def test_refused_streams_are_counted(settings: Settings) -> None:
    """A stream refused past the admission limits counts in ``streams_refused_total``."""
    async with gateway(settings, streams=StreamSettings(max_total=1)) as (app, http):
        ticket = app.state.hub.admission.admit(None)
        with pytest.raises(TooManyStreams):
            app.state.hub.admission.admit(None)
        ticket.close()
        samples = await scrape(http)
    assert samples[("streams_refused_total", ())] == 1


async def test_lifespan_end_stops_it_for_good(settings: Settings) -> None:
    """After the lifespan, a render no longer starts the collector."""
    async with gateway(settings) as (app, http):
        await scrape(http)
        assert collector(app).running
    assert not collector(app).running
    app.state.metrics.exposition(None)
    assert not collector(app).running


def test_settings_from_the_environment() -> None:
    """``FULLON_CACHE_API_GAUGES_*`` are read, and a bad one names its variable (``serve``
    checks them before it listens)."""
    env = {"FULLON_CACHE_API_GAUGES_INTERVAL": "2", "FULLON_CACHE_API_GAUGES_BUDGET": "0.5"}
    assert GaugeSettings.from_env(env) == GaugeSettings(interval=2, budget=0.5)
    with pytest.raises(SettingsError, match="FULLON_CACHE_API_GAUGES_MAX_LABELS='0'"):
        GaugeSettings.from_env({"FULLON_CACHE_API_GAUGES_MAX_LABELS": "0"})
    with pytest.raises(SettingsError, match="must not exceed FULLON_CACHE_API_GAUGES_INTERVAL"):
        GaugeSettings.from_env({"FULLON_CACHE_API_GAUGES_INTERVAL": "0.5"})


def test_serve_checks_gauge_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad ``FULLON_CACHE_API_GAUGES_*`` stops ``serve`` before it listens."""
    monkeypatch.setenv("FULLON_CACHE_API_GAUGES_TICKER_STALE", "soon")
    with pytest.raises(SettingsError, match="FULLON_CACHE_API_GAUGES_TICKER_STALE"):
        read_configuration()


async def test_collector_reads_only() -> None:
    """As a read-only ACL user, a run reads every part (none fails, none is truncated), and
    MONITOR sees only read and connection commands from it."""
    from redis.asyncio import Redis

    from .support.acl import ALLOWED, READER_ACL
    from .support.monitor import monitored

    with RedisServer(extra_config=[READER_ACL]) as server:
        admin = Redis(port=server.port)
        try:
            await seed_health(CacheWriter(admin))
        finally:
            await admin.aclose()
        reader = Settings(redis_url=server.url, redis_username="reader", redis_password="reader-pw")
        with monitored(server.port) as seen:
            async with gateway(reader) as (app, _):
                snapshot = await collector(app).run_once()
    assert snapshot.redis_up
    assert not any(part.truncated for part in snapshot.parts.values())
    sent = {command for _, command in seen}
    assert {"SCAN", "HSCAN", "LLEN", "MGET", "PING"} <= sent
    assert sent <= ALLOWED, sent - ALLOWED


async def test_reads_are_chunked(
    settings: Settings, writer: CacheWriter, flushed: RedisServer
) -> None:
    """With ``read_chunk=10``, a 50-ticker hash is read in HSCAN replies (never HGETALL) and
    keys are found by SCAN (never KEYS): no reply holds more than a chunk."""
    from .support.monitor import monitored

    now = time.time()
    for n in range(50):
        await writer.set_ticker("binance", f"S{n}/USDT", price=1.0, time=now)
    chunked = msgspec.structs.replace(settings, read_chunk=10, near_cache_ttl=0)
    with monitored(flushed.port) as seen:
        async with gateway(chunked) as (app, _):
            snapshot = await collector(app).run_once()
    commands = [command for _, command in seen]
    assert snapshot.parts["tickers"].families[0].values == {("binance",): 50}
    assert commands.count("HSCAN") >= 5
    assert "HGETALL" not in commands and "KEYS" not in commands
