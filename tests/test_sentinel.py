"""Redis Sentinel: the gateway finds the primary (or the replicas) through the sentinels and
follows a failover, answering 503 only while it lasts."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import anyio
import httpx
import msgspec
import pytest
import redis
from redis.asyncio import Redis

from fullon_cache_api import Settings, SettingsError, create_app
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.security._auth import hash_api_key

from .support.credentials import ADMIN_KEY, HEADERS
from .support.faults.load import GATEWAY_NAME, Load, gateway_client, gateway_connections
from .support.faults.topology import (
    MASTER_NAME,
    SentinelServer,
    SentinelWatch,
    Topology,
    topology,
    wait_until,
)
from .support.streams import serve, sse

pytestmark = pytest.mark.anyio

TIMEOUT = 1.0
ADMIN = ApiKey(name="tests", sha256=hash_api_key(ADMIN_KEY), admin=True)


@pytest.fixture
def watched() -> Iterator[Topology]:
    """A primary, its replica and a sentinel that already knows the replica."""
    with topology(with_sentinel=True) as servers:
        assert servers.sentinel is not None
        wait_until(lambda: _replicas_known(servers.sentinel), 15.0, "sentinel to find the replica")
        yield servers


def _replicas_known(sentinel: SentinelServer | None) -> bool:
    assert sentinel is not None
    with redis.Redis(port=sentinel.port) as client:
        return bool(client.sentinel_slaves(MASTER_NAME))


def sentinel_settings(servers: Topology, read: str = "primary") -> Settings:
    """Settings reaching the topology through its sentinel only."""
    assert servers.sentinel is not None
    return Settings(
        redis_sentinels=(("127.0.0.1", servers.sentinel.port),),
        redis_sentinel_master=MASTER_NAME,
        redis_sentinel_read="primary" if read == "primary" else "replica",
        redis_socket_timeout=TIMEOUT,
    )


async def seed(servers: Topology) -> None:
    """A ticker on the primary, replicated before we go on."""
    client = Redis(port=servers.primary.port)
    try:
        await CacheWriter(client).set_ticker("binance", "BTC/USDT", price=7.0, time=time.time())
        assert await client.wait(1, 2000) == 1
    finally:
        await client.aclose()


@pytest.mark.slow
async def test_follows_a_failover_with_503_only_during_it(watched: Topology) -> None:
    """Primary killed: 503s until Sentinel promotes the replica, then 200 with the data.

    After the promotion a 503 is allowed only while Sentinel itself names no usable primary
    (it may flag the new one down for a moment): then there is nothing to follow.
    """
    sentinel = watched.sentinel
    assert sentinel is not None
    await seed(watched)
    app = create_app(settings=sentinel_settings(watched), auth=False)
    new_primary = watched.replica.port

    def promoted_replica() -> bool:
        return sentinel.master_port() == new_primary

    with SentinelWatch(sentinel) as watch:
        async with gateway_client(app) as http:
            load = Load(http, ["/tickers/binance/BTC/USDT", "/tickers"], clients=5, pause=0.02)
            async with anyio.create_task_group() as group:
                group.start_soon(load.run, 25.0)
                await anyio.sleep(0.5)
                killed = time.monotonic()
                watched.primary.kill()
                await anyio.to_thread.run_sync(wait_until, promoted_replica, 20.0, "the failover")
                promoted = time.monotonic()
                await anyio.sleep(1.5)
                group.cancel_scope.cancel()
            ticker = await http.get("/tickers/binance/BTC/USDT")
    # Every answer completed before the kill is a 200. (A request in flight at the kill may
    # meet it: on a busy machine one started a quarter of a second earlier was still waiting
    # for the event loop, so "started before" is not a bound.)
    before = load.within(0, killed)
    early = [(round(s.started - killed, 3), s.status, s.detail) for s in before if s.status != 200]
    assert before and {s.status for s in before} == {200}, early
    assert {s.status for s in load.samples} <= {200, 503}
    assert max(s.elapsed for s in load.samples) < TIMEOUT * 2 + 0.5
    assert 503 in {s.status for s in load.between(killed, promoted)}
    late = [
        (round(s.started - promoted, 3), round(s.elapsed, 3), s.status, s.detail)
        for s in load.between(promoted + 0.5, float("inf"))
        if s.status != 200
        and not watch.reported_other_than(new_primary, s.started - 0.05, s.started + s.elapsed)
    ]
    assert not late, f"errors with the new primary named (s after promotion, elapsed): {late}"
    assert sum(s.status == 200 for s in load.between(promoted + 0.5, float("inf"))) > 0
    assert ticker.status_code == 200 and ticker.json()["price"] == 7.0
    assert promoted - killed < 20


@pytest.mark.slow
async def test_reads_from_the_replica_set(watched: Topology) -> None:
    """REDIS_SENTINEL_READ=replica: commands go to the replica and /health shows its lag."""
    await seed(watched)
    app = create_app(settings=sentinel_settings(watched, read="replica"), auth=False)
    async with gateway_client(app) as http:
        ticker = await http.get("/tickers/binance/BTC/USDT")
        health = (await http.get("/health")).json()
        assert await gateway_connections(watched.replica.port) >= 1
        assert await gateway_connections(watched.primary.port) == 0
    assert ticker.json()["price"] == 7.0
    assert health["replication"]["role"] == "replica"


@pytest.mark.slow
async def test_a_full_sentinel_pool_queues_requests(watched: Topology) -> None:
    """With one pooled connection, 20 concurrent requests wait for it instead of failing."""
    await seed(watched)
    settings = msgspec.structs.replace(sentinel_settings(watched), redis_max_connections=1)
    statuses: list[int] = []
    async with gateway_client(create_app(settings=settings, auth=False)) as http:

        async def one() -> None:
            statuses.append((await http.get("/tickers/binance/BTC/USDT")).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
        assert await gateway_connections(watched.primary.port) == 1
    assert statuses == [200] * 20


@pytest.mark.slow
async def test_closing_the_app_closes_the_sentinel_connections(watched: Topology) -> None:
    """The lifespan closes the Sentinel's own clients too, not just the data pool."""
    assert watched.sentinel is not None
    app = create_app(settings=sentinel_settings(watched), auth=False)
    async with gateway_client(app) as http:
        assert (await http.get("/tickers")).status_code == 200
        assert _sentinel_clients(watched.sentinel) >= 1
    wait_until(lambda: _sentinel_clients(watched.sentinel) == 0, 2.0, "sentinel clients to close")


def _sentinel_clients(sentinel: SentinelServer | None) -> int:
    assert sentinel is not None
    with redis.Redis(port=sentinel.port) as client:
        listed = client.client_list()
    return sum(1 for entry in listed if entry.get("name") == f"{GATEWAY_NAME}_sentinel")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"REDIS_SENTINELS": "127.0.0.1:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINEL_MASTER": "mymaster"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "h:99999", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "a:1,b:x", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        (
            {"REDIS_SENTINELS": "h:1", "REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "redis://h"},
            "REDIS_URL",
        ),
        (
            {"REDIS_SENTINELS": "h:1", "REDIS_SENTINEL_MASTER": "m", "REDIS_READ_URL": "redis://r"},
            "REDIS_READ_URL",
        ),
        (
            {"REDIS_SENTINELS": "h:1", "REDIS_SENTINEL_MASTER": "m", "REDIS_SENTINEL_READ": "x"},
            "REDIS_SENTINEL_READ",
        ),
    ],
)
def test_sentinel_settings_errors_name_the_variable(environ: dict[str, str], named: str) -> None:
    """Incomplete or contradictory Sentinel settings raise SettingsError naming the variable."""
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


def test_sentinel_settings_are_parsed_and_redacted() -> None:
    """Several sentinels (IPv6 included, default port 26379); the password is never shown."""
    settings = Settings.from_env(
        {
            "REDIS_SENTINELS": "s1:26380, [::1] ,s3",
            "REDIS_SENTINEL_MASTER": "mymaster",
            "REDIS_SENTINEL_READ": "replica",
            "REDIS_SENTINEL_PASSWORD": "hunter2",
            "REDIS_PASSWORD": "hunter3",
        }
    )
    assert settings.redis_sentinels == (("s1", 26380), ("::1", 26379), ("s3", 26379))
    assert settings.redis_sentinel_read == "replica"
    assert "hunter" not in repr(settings)
    assert settings.redacted_target() == (
        "sentinel://s1:26380,[::1]:26379,s3:26379/mymaster (replica, db 0)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("read", ["primary", "replica"])
async def test_streams_follow_the_primary_through_sentinel(watched: Topology, read: str) -> None:
    """An SSE stream over Sentinel gets updates, and keeps getting them after a failover."""
    sentinel = watched.sentinel
    assert sentinel is not None
    await seed(watched)
    settings = msgspec.structs.replace(
        sentinel_settings(watched, read), auth=AuthConfig(api_keys=(ADMIN,))
    )
    async with (
        serve(settings) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as http,
        sse(http, "/tickers/binance/BTC/USDT/stream") as events,
    ):
        assert (await events.until("snapshot")).data["price"] == 7.0
        await publish(watched.primary.port, 8.0)
        assert (await events.until("update")).data["price"] == 8.0
        watched.primary.kill()
        await anyio.to_thread.run_sync(
            wait_until, lambda: sentinel.master_port() == watched.replica.port, 20.0, "failover"
        )
        for attempt in range(100):  # until the hub's pub/sub link is back, on the new primary
            await publish(watched.replica.port, 9.0 + attempt)
            with contextlib.suppress(TimeoutError):
                event = await events.until("update", within=0.2)
                if event.data["price"] >= 9.0:
                    break
        else:
            pytest.fail("no update after the failover")


async def publish(port: int, price: float) -> None:
    """A ticker update written and published as fullon_cache does."""
    client = Redis(port=port)
    try:
        await CacheWriter(client).set_ticker("binance", "BTC/USDT", price=price, time=time.time())
    finally:
        await client.aclose()
