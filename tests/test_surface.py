"""Properties of the whole surface, crawled route by route from the route table."""

from __future__ import annotations

import hashlib

import httpx
import pytest
import redis

from fullon_cache_api._app import all_routes
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.surface import DOC_PATHS, SAMPLES, STREAM_SAMPLES, WEBSOCKET_PATHS, seed_surface

pytestmark = pytest.mark.anyio


def route_paths() -> list[str]:
    return [getattr(route, "path", "") for route in all_routes()]


def test_every_route_has_a_sample() -> None:
    """A route added to a table without a sample in tests/support/surface.py fails this test."""
    expected = [*SAMPLES, *STREAM_SAMPLES, *WEBSOCKET_PATHS, *DOC_PATHS]
    assert sorted(route_paths()) == sorted(expected)


async def test_every_route_answers_with_seeded_data(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Each route answers 200 JSON for data written in fullon_cache's layout."""
    await seed_surface(writer)
    for template, path in SAMPLES.items():
        response = await client.get(path)
        assert response.status_code == 200, (template, response.text)
        assert response.headers["content-type"] == "application/json"


async def test_outage_is_503_then_recovers(
    client: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer
) -> None:
    """Redis stopped: every route answers 503 with Retry-After; restarted: 200 again."""
    await seed_surface(writer)
    assert (await client.get("/tickers")).status_code == 200  # the pool holds a connection
    flushed.stop()
    for template, path in SAMPLES.items():
        response = await client.get(path)
        assert response.status_code == 503, (template, response.text)
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"] == "application/problem+json"
    flushed.start()
    await seed_surface(writer)
    for template, path in SAMPLES.items():
        assert (await client.get(path)).status_code == 200, template


def keyspace_digest(server: RedisServer) -> dict[str, tuple[str, str]]:
    """Every key's type and a digest of its full content (DUMP payload)."""
    with redis.Redis(port=server.port) as admin:
        return {
            key.decode(): (
                admin.type(key).decode(),
                hashlib.sha256(admin.dump(key) or b"").hexdigest(),
            )
            for key in admin.scan_iter(count=1000)
        }


async def test_crawl_changes_nothing(
    client: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer
) -> None:
    """Reading every route (queues included) leaves every key exactly as it was."""
    await seed_surface(writer)
    before = keyspace_digest(flushed)
    for path in SAMPLES.values():
        await client.get(path)
        await client.get(path)
    assert keyspace_digest(flushed) == before
    assert {"trades:binance:BTCUSDT", "user_trades:7:binance", "new_orders:L1"} <= set(before)
