"""Health: ``/health`` times a PING (INFO reused for a second), names the gateway's and the
Redis server's versions to identified callers only; an outage is a 503 problem with
Retry-After."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import redis
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api._version import __version__
from fullon_cache_api.demo import RedisServer

from .support.apps import in_process
from .support.credentials import ADMIN_KEY

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
        assert set(body) == {"status", "version", "redis"}
        assert set(body["redis"]) == {"reachable", "latency_ms", "version"}
        assert 0 < body["redis"]["latency_ms"] < 2000


async def test_health_names_versions_to_identified_callers(
    client: httpx.AsyncClient, flushed: RedisServer
) -> None:
    """With identity: the gateway's version and the Redis server's (INFO server)."""
    with redis.Redis(port=flushed.port) as probe:
        redis_version = str(probe.info("server")["redis_version"])
    body = (await client.get("/health")).json()
    assert body["version"] == __version__
    assert body["redis"]["version"] == redis_version


async def test_health_shows_no_versions_without_identity(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """Without identity: bare liveness, no version of anything, even once INFO is cached."""
    assert (await client.get("/health")).json()["version"] == __version__  # INFO now cached
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as anonymous_client:
        anonymous = await anonymous_client.get("/health")
    assert (anonymous.status_code, anonymous.json()) == (200, {"status": "ok"})


async def test_health_without_info_permission_keeps_the_gateway_version(
    settings: Settings, flushed: RedisServer
) -> None:
    """A Redis user refused INFO still gets PING's answer: the Redis version is null, the
    gateway's is there."""
    with redis.Redis(port=flushed.port) as admin:
        admin.acl_setuser(
            "pinger", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-info"]
        )
    try:
        url = f"redis://pinger:pw@127.0.0.1:{flushed.port}/0"
        app = create_app(settings=Settings(redis_url=url, auth=settings.auth))
        async with (
            in_process(app, headers={"X-API-Key": ADMIN_KEY}) as http,
        ):
            response = await http.get("/health")
        body = response.json()
        assert body.get("version") == __version__, response.text
        assert body["redis"]["reachable"] is True and body["redis"]["version"] is None
    finally:
        with redis.Redis(port=flushed.port) as admin:
            admin.acl_deluser("pinger")


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


class Calls:
    """PING and INFO calls Redis answered, read through INFO commandstats (which counts an
    INFO once it has answered: the snapshots' own are taken out)."""

    def __init__(self, port: int) -> None:
        self.probe = redis.Redis(port=port)
        self.snapshots = 0

    def __call__(self) -> tuple[int, int]:
        stats: dict[str, Any] = self.probe.info("commandstats")
        self.snapshots += 1
        ping, info = (int(stats.get(f"cmdstat_{n}", {}).get("calls", 0)) for n in ("ping", "info"))
        return ping, info - (self.snapshots - 1)


async def test_health_polls_cost_one_ping(
    app: Starlette, client: httpx.AsyncClient, flushed: RedisServer
) -> None:
    """INFO (replication and server) is reused for `info_ttl`: three polls are three PINGs
    and one pair of INFOs; with the interval at 0 every poll asks both INFOs again."""
    calls = Calls(flushed.port)
    try:
        start = calls()
        for _ in range(3):
            assert (await client.get("/health")).status_code == 200
        assert calls() == (start[0] + 3, start[1] + 2)
        app.state.reader.health.info_ttl = 0.0
        start = calls()
        for _ in range(3):
            assert (await client.get("/health")).status_code == 200
        assert calls() == (start[0] + 3, start[1] + 6)
    finally:
        calls.probe.close()


async def test_concurrent_checks_share_one_ping(
    app: Starlette, client: httpx.AsyncClient, flushed: RedisServer
) -> None:
    """Checks arriving while a PING is out share it; the next one sends its own."""
    calls = Calls(flushed.port)
    try:
        assert (await client.get("/health")).status_code == 200  # INFO read, then reused
        start = calls()
        answers = await asyncio.gather(*(client.get("/health") for _ in range(8)))
        assert [answer.status_code for answer in answers] == [200] * 8
        assert calls()[0] == start[0] + 1
        assert (await client.get("/health")).status_code == 200
        assert calls()[0] == start[0] + 2
    finally:
        calls.probe.close()


async def test_shared_ping_outlives_a_cancelled_check(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """A check cancelled while it owns the PING leaves its waiter to ping on its own."""
    health = app.state.reader.health
    owner = asyncio.ensure_future(health.check())
    await asyncio.sleep(0)  # the owner sent its PING
    waiter = asyncio.ensure_future(health.check())
    await asyncio.sleep(0)
    owner.cancel()
    assert (await waiter).redis is not None
    assert owner.cancelled()
    assert health._shared is None
