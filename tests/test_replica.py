"""Reads from a replica (REDIS_READ_URL): where the gateway's commands go, and what /health
says about the replica's lag."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from redis.asyncio import Redis

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter

from .support.faults.load import gateway_client, gateway_connections
from .support.faults.topology import Topology, topology, wait_until

pytestmark = pytest.mark.anyio


@pytest.fixture
def pair() -> Iterator[Topology]:
    """A primary and a replica of it (no sentinel)."""
    with topology(with_sentinel=False) as servers:
        yield servers


async def write_ticker(pair: Topology, price: float) -> None:
    """Write a ticker on the primary and wait until the replica has applied it."""
    client = Redis(port=pair.primary.port)
    try:
        await CacheWriter(client).set_ticker("binance", "BTC/USDT", price=price, time=time.time())
        assert await client.wait(1, 2000) == 1
    finally:
        await client.aclose()


@pytest.mark.slow
async def test_reads_go_to_the_replica_only(pair: Topology) -> None:
    """With REDIS_READ_URL every command goes to the replica; the primary sees no connection."""
    await write_ticker(pair, 1.5)
    settings = Settings(redis_url=pair.primary.url, redis_read_url=pair.replica.url)
    async with gateway_client(create_app(settings=settings, auth=False)) as http:
        ticker = await http.get("/tickers/binance/BTC/USDT")
        listed = await http.get("/tickers")
        assert await gateway_connections(pair.replica.port) >= 1
        assert await gateway_connections(pair.primary.port) == 0
    assert ticker.status_code == 200 and ticker.json()["price"] == 1.5
    assert listed.json()["count"] == 1


@pytest.mark.slow
async def test_health_reports_replication_lag_of_the_replica(pair: Topology) -> None:
    """/health names the replica's link state, last I/O age and offset; a primary has none."""
    await write_ticker(pair, 1.5)
    replica = Settings(redis_read_url=pair.replica.url)
    async with gateway_client(create_app(settings=replica, auth=False)) as http:
        health = (await http.get("/health")).json()
    replication = health["replication"]
    assert replication["role"] == "replica" and replication["link_up"] is True
    assert 0 <= replication["last_io_seconds_ago"] <= 11  # the primary pings every 10 s
    assert replication["link_down_seconds"] is None
    assert replication["offset"] > 0
    primary = Settings(redis_url=pair.primary.url)
    async with gateway_client(create_app(settings=primary, auth=False)) as http:
        assert "replication" not in (await http.get("/health")).json()


@pytest.mark.slow
async def test_replica_keeps_serving_when_the_primary_dies(pair: Topology) -> None:
    """Primary gone: reads still answer from the replica, and /health shows the link down."""
    await write_ticker(pair, 2.5)
    settings = Settings(redis_read_url=pair.replica.url, redis_socket_timeout=1.0)
    async with gateway_client(create_app(settings=settings, auth=False)) as http:
        pair.primary.kill()
        wait_until(lambda: not _link_up(pair.replica.port), 5.0, "the replica to see the loss")
        ticker = await http.get("/tickers/binance/BTC/USDT")
        replication = (await http.get("/health")).json()["replication"]
    assert ticker.status_code == 200 and ticker.json()["price"] == 2.5
    assert replication["link_up"] is False
    assert replication["last_io_seconds_ago"] is None
    assert replication["link_down_seconds"] >= 0


def _link_up(port: int) -> bool:
    with redis.Redis(port=port) as client:
        return client.info("replication").get("master_link_status") == "up"


def test_read_url_settings_are_validated() -> None:
    """REDIS_READ_URL is checked like REDIS_URL and never shows its password."""
    settings = Settings.from_env({"REDIS_READ_URL": "redis://u:hunter2@replica:6380/0"})
    assert settings.redis_read_url == "redis://u:hunter2@replica:6380/0"
    assert "hunter2" not in repr(settings)
    assert settings.redacted_target() == "redis://replica:6380/0 (read replica)"
    with pytest.raises(ValueError, match="REDIS_READ_URL"):
        Settings.from_env({"REDIS_READ_URL": "http://replica"})
