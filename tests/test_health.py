"""Health: ``/health`` times a PING; an outage is a 503 problem with Retry-After."""

from __future__ import annotations

import httpx
import pytest

from fullon_cache_api.demo import RedisServer

pytestmark = pytest.mark.anyio


async def test_health_reports_latency(client: httpx.AsyncClient) -> None:
    """A reachable Redis answers 200 with its PING latency, with or without a trailing slash."""
    for path in ("/health", "/health/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["status"] == "ok"
        assert body["redis"]["reachable"] is True
        assert set(body) == {"status", "redis"}
        assert set(body["redis"]) == {"reachable", "latency_ms"}
        assert 0 < body["redis"]["latency_ms"] < 2000


async def test_health_outage_then_recovery(client: httpx.AsyncClient, flushed: RedisServer) -> None:
    """Stopping Redis gives 503 with Retry-After; restarting it gives 200 on the same app."""
    assert (await client.get("/health")).status_code == 200
    flushed.stop()
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    problem = response.json()
    assert problem["status"] == 503
    assert problem["type"] == "urn:fullon-cache-api:problem:cache-unavailable"
    flushed.start()
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["redis"]["reachable"] is True
