"""What the near cache's invalidation link says when it is lost and when it is back: a reason
in every loss (never an empty one), and a line at the same level when it is back."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import RedisServer

from .support.faults.proxy import latency_proxy
from .support.near_cache import linked, near_of, until

pytestmark = pytest.mark.anyio

LOGGER = "fullon.api.cache.near"


def link_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def lost_and_back(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    records = [r for r in link_records(caplog) if r.levelno >= logging.WARNING]
    lost = [r.getMessage() for r in records if "link lost" in r.getMessage()]
    back = [r.getMessage() for r in records if "on again" in r.getMessage()]
    return lost, back


@pytest.mark.slow
async def test_a_silent_link_is_reported_with_its_reason_and_its_return(
    settings: Settings, flushed: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """PINGs left unanswered: the loss names the wait that ran out (not ``()``); when replies
    flow again a warning says the link is back, after how long."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with latency_proxy(flushed.port) as proxy:
        slow = msgspec.structs.replace(settings, redis_url=proxy.url, redis_socket_timeout=0.5)
        near = await linked(near_of(create_app(settings=slow)))
        try:
            proxy.latency = 30.0
            await until(lambda: not near.store.active, deadline=4.0)
            proxy.latency = 0.0
            await until(lambda: near.store.active, deadline=8.0)
            await until(lambda: bool(lost_and_back(caplog)[1]), deadline=1.0)
        finally:
            await near.aclose()
    lost, back = lost_and_back(caplog)
    assert len(lost) == 1 and "()" not in lost[0], lost
    assert "did not answer within 0.5 s" in lost[0], lost
    assert len(back) == 1 and "was lost for" in back[0], back


async def test_a_restart_is_reported_lost_then_back(
    settings: Settings, flushed: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis stopped then started: one loss with its reason, one line when the link is back."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    near = await linked(near_of(create_app(settings=settings)))
    try:
        await asyncio.to_thread(flushed.stop)
        await until(lambda: not near.store.active, deadline=2.0)
        await asyncio.to_thread(flushed.start)
        await until(lambda: near.store.active, deadline=10.0)
        await until(lambda: bool(lost_and_back(caplog)[1]), deadline=1.0)
    finally:
        await near.aclose()
    lost, back = lost_and_back(caplog)
    assert len(lost) == 1 and lost[0].endswith("(connection closed by Redis)"), lost
    assert len(back) == 1 and "was lost for" in back[0], back
