"""Event-loop lag: a histogram in /metrics, and a rate-limited warning when the loop stalls."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import httpx
import pytest
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app, lifespan
from fullon_cache_api.observability._runtime import LoopMonitor

pytestmark = pytest.mark.anyio

LAG = "fullon_cache_api_event_loop_lag_seconds"


def lag_series(exposition: str) -> dict[str, float]:
    """The lag histogram's samples: ``le`` bound (or ``count``) -> value."""
    series = {
        match[1]: float(match[2])
        for match in re.finditer(rf'^{LAG}_bucket{{le="([^"]+)"}} (\S+)$', exposition, re.M)
    }
    count = re.search(rf"^{LAG}_count (\S+)$", exposition, re.M)
    assert count is not None, exposition
    series["count"] = float(count[1])
    return series


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "fullon.api.cache.loop" and r.levelno >= 30]


@pytest.mark.slow
async def test_stalls_show_in_the_histogram_and_warn_once(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Three 300 ms stalls: at least three lag observations over 0.1 s in /metrics, and one
    warning line (the first stall), the others counted until the next one is due."""
    caplog.set_level(logging.WARNING, logger="fullon.api.cache.loop")
    assert (await client.get("/health")).status_code == 200  # starts the monitor
    before = lag_series((await client.get("/metrics")).text)
    for _ in range(3):
        await asyncio.sleep(0.25)  # the monitor is asleep, due to wake within 0.1 s
        time.sleep(0.3)  # noqa: ASYNC251  # the stall under test: the loop is held
    await asyncio.sleep(0.25)  # the monitor wakes and records the last one
    after = lag_series((await client.get("/metrics")).text)
    stalls = (after["count"] - after["0.1"]) - (before["count"] - before["0.1"])
    assert stalls >= 3
    assert after["+Inf"] == after["count"]
    warnings = warnings_of(caplog)
    assert len(warnings) == 1
    assert "stalled" in warnings[0].getMessage()
    monitor = app.state.runtime.monitor
    assert monitor.stalls >= 2 and monitor.longest >= 0.2  # held for the next warning


def test_warnings_are_rate_limited_with_the_longest_stall(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One warning per `warn_every` seconds: the first stall at once, then the count and the
    longest stall of those that came meanwhile; lags under the threshold are not stalls."""
    caplog.set_level(logging.WARNING, logger="fullon.api.cache.loop")
    observed: list[float] = []
    monitor = LoopMonitor(threshold=0.1, warn_every=30.0, observe=observed.append)
    for lag, now in ((0.2, 100.0), (0.35, 101.0), (0.05, 102.0), (0.15, 110.0), (0.0, 129.0)):
        monitor.record(lag, now)
    assert len(warnings_of(caplog)) == 1
    monitor.record(0.0, 130.0)  # the next tick after the interval: the summary
    first, second = (record.getMessage() for record in warnings_of(caplog))
    assert "1 time(s)" in first and "200 ms" in first
    assert "2 time(s)" in second and "350 ms" in second
    assert observed == [0.2, 0.35, 0.05, 0.15, 0.0, 0.0]
    monitor.record(0.0, 200.0)  # no stall since: nothing to say
    assert len(warnings_of(caplog)) == 2


async def test_monitor_starts_with_the_first_request_and_stops_with_the_lifespan(
    settings: Settings,
) -> None:
    """create_app starts no task; the first request starts the monitor; the lifespan's end
    stops it, and a later request does not restart it."""
    app = create_app(settings=settings)
    monitor = app.state.runtime.monitor
    assert not monitor.running
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        async with lifespan(app):
            assert not monitor.running
            assert (await http.get("/health")).status_code == 200
            assert monitor.running
        assert not monitor.running
        assert (await http.get("/health")).status_code == 200
        assert not monitor.running
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "fullon-cache-api-loop-lag" not in names
