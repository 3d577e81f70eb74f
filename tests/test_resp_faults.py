"""Our client when Redis is slow, restarts, or callers crowd and cancel: no hang, no desync."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

import anyio
import pytest
import redis
from redis import exceptions as redis_errors

from fullon_cache_api.backend._resp import ConnectionPool, ReadOnlyRedis, options_from_url
from fullon_cache_api.demo import RedisServer

from .support.faults.proxy import latency_proxy
from .support.faults.replies import ReplySizes

pytestmark = pytest.mark.anyio

NAME = "resp-tests"


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A private redis-server this test may restart, with 200 keys k:0..k:199."""
    with RedisServer() as server:
        seed(server)
        yield server


def seed(server: RedisServer) -> None:
    with redis.Redis(port=server.port) as admin:
        admin.mset({f"k:{i}": f"v{i}" for i in range(200)})


def client_on(
    url: str, *, size: int = 50, timeout: float = 1.0, wait: float = 5.0
) -> ReadOnlyRedis:
    """Our client, named NAME in CLIENT LIST, with `size` connections."""
    options = options_from_url(url, client_name=NAME, socket_timeout=timeout, connect_timeout=2.0)
    return ReadOnlyRedis(ConnectionPool(options, max_connections=size, timeout=wait))


def listed(port: int) -> int:
    """How many connections named NAME the Redis on `port` lists."""
    with redis.Redis(port=port) as admin:
        return sum(1 for entry in admin.client_list() if entry.get("name") == NAME)


async def settled(port: int, expected: int) -> None:
    """Wait (bounded) until CLIENT LIST shows `expected` connections of ours."""
    with anyio.fail_after(5):
        while await anyio.to_thread.run_sync(listed, port) != expected:  # noqa: ASYNC110
            await anyio.sleep(0.02)


async def read(client: ReadOnlyRedis, key: str) -> None:
    """One GET whose answer does not matter."""
    await client.get(key)


@pytest.mark.slow
async def test_slow_reply_times_out_once_and_the_pool_recovers(own_redis: RedisServer) -> None:
    """A reply later than socket_timeout: TimeoutError in time, that connection is dropped,
    and the late reply is never taken for the next command's."""
    async with latency_proxy(own_redis.port) as proxy:
        client = client_on(proxy.url, timeout=0.3)
        try:
            assert await client.get("k:1") == b"v1"
            proxy.latency = 0.8
            started = time.monotonic()
            with pytest.raises(redis_errors.TimeoutError):
                await client.get("k:2")
            assert time.monotonic() - started < 0.6  # one timeout, no retry
            proxy.latency = 0.0
            assert await client.get("k:3") == b"v3"
            await anyio.sleep(1.0)  # the late k:2 reply has arrived by now, on a closed socket
            assert await client.mget("k:4", "k:5") == [b"v4", b"v5"]
            pool = client.connection_pool
            assert pool.open_connections == 1 and not pool._in_use_connections
        finally:
            await client.aclose()


async def test_restart_first_command_succeeds(own_redis: RedisServer) -> None:
    """After a Redis restart the pooled connections are stale: the next command still works
    (closed sockets are skipped or retried once) and only fresh connections stay."""
    client = client_on(own_redis.url)
    try:
        async with anyio.create_task_group() as group:  # several pooled connections
            for i in range(5):
                group.start_soon(read, client, f"k:{i}")
        assert client.connection_pool.open_connections >= 1
        own_redis.stop()
        own_redis.start()
        seed(own_redis)
        assert await client.get("k:7") == b"v7"
        assert await client.hgetall("missing") == {}
        pool = client.connection_pool
        assert all(not connection.closed for connection in pool._idle)
        await settled(own_redis.port, pool.open_connections)
    finally:
        await client.aclose()
    await settled(own_redis.port, 0)


async def test_retry_when_redis_closes_the_connection_under_a_command(
    own_redis: RedisServer,
) -> None:
    """CLIENT KILL of our idle connection right before a command: answered via one re-dial."""
    client = client_on(own_redis.url, size=1)
    try:
        assert await client.get("k:1") == b"v1"
        with redis.Redis(port=own_redis.port) as admin:
            assert admin.client_kill_filter(skipme=True, _type="normal") >= 1
        assert await client.get("k:2") == b"v2"
        await settled(own_redis.port, 1)
    finally:
        await client.aclose()


async def test_pool_of_two_serves_fifty_concurrent_callers(own_redis: RedisServer) -> None:
    """50 callers on 2 connections all get their own answers; never more than 2 open."""
    client = client_on(own_redis.url, size=2)
    answers: dict[int, bytes | str | None] = {}
    peak = 0

    async def one(i: int) -> None:
        nonlocal peak
        answers[i] = await client.get(f"k:{i}")
        peak = max(peak, client.connection_pool.open_connections)

    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                for i in range(50):
                    group.start_soon(one, i)
        assert answers == {i: f"v{i}".encode() for i in range(50)}
        assert peak <= 2
        await settled(own_redis.port, 2)
    finally:
        await client.aclose()


@pytest.mark.slow
async def test_exhausted_pool_waits_then_fails_like_redis_py(own_redis: RedisServer) -> None:
    """All connections busy past `timeout`: "No connection available." (ConnectionError)."""
    async with latency_proxy(own_redis.port, latency=0.6) as proxy:
        client = client_on(proxy.url, size=1, timeout=2.0, wait=0.2)
        try:
            slow = asyncio.ensure_future(client.get("k:1"))
            await anyio.sleep(0.05)
            started = time.monotonic()
            with pytest.raises(redis_errors.ConnectionError, match="No connection available"):
                await client.get("k:2")
            assert 0.15 < time.monotonic() - started < 0.5
            assert await slow == b"v1"
        finally:
            await client.aclose()


async def test_cancelled_callers_leave_the_pool_consistent(own_redis: RedisServer) -> None:
    """200 callers cancelled at random points (waiting, dialing, mid-reply): afterwards every
    connection is back, answers are still matched to their commands, nothing hangs."""
    async with latency_proxy(own_redis.port, latency=0.005) as proxy:
        client = client_on(proxy.url, size=4)
        pool = client.connection_pool
        rng = random.Random(7)
        try:
            with anyio.fail_after(20):
                for _round in range(5):
                    tasks = [
                        asyncio.ensure_future(client.mget(f"k:{i}", f"k:{i + 1}"))
                        for i in range(40)
                    ]
                    await anyio.sleep(rng.uniform(0, 0.02))
                    for task in rng.sample(tasks, 25):
                        task.cancel()
                        await anyio.sleep(rng.uniform(0, 0.002))
                    results = await asyncio.gather(*tasks, return_exceptions=True)
                    for i, result in enumerate(results):
                        if not isinstance(result, BaseException):
                            assert result == [f"v{i}".encode(), f"v{i + 1}".encode()]
                for i in range(20):  # every connection in turn, nothing stale on any
                    assert await client.get(f"k:{i}") == f"v{i}".encode()
            assert not pool._in_use_connections and not pool._waiters
            assert pool.open_connections <= 4
            await settled(own_redis.port, pool.open_connections)
        finally:
            await client.aclose()
    await settled(own_redis.port, 0)


async def test_subscriber_mode_connection(own_redis: RedisServer) -> None:
    """make_connection drives pub/sub like redis-py's: SUBSCRIBE, messages, read timeout."""
    client = client_on(own_redis.url)
    connection = client.connection_pool.make_connection()
    connection.client_name = "resp-pubsub"
    connection.socket_timeout = None
    try:
        await connection.connect()
        await connection.send_command("SUBSCRIBE", "news")
        assert await connection.read_response(timeout=2) == [b"subscribe", b"news", 1]
        assert await connection.read_response(timeout=0.05) is None  # silence, not an error
        with redis.Redis(port=own_redis.port) as admin:
            admin.publish("news", "hello")
        assert await connection.read_response(timeout=2) == [b"message", b"news", b"hello"]
        await connection.send_command("PING")
        assert await connection.read_response(timeout=2) == [b"pong", b""]
    finally:
        await connection.disconnect(nowait=True)
        await client.aclose()
    with pytest.raises(redis_errors.ConnectionError):
        await connection.read_response(timeout=1)


async def test_reader_swapped_after_a_big_reply_never_splits_a_reply(
    flushed: RedisServer,
) -> None:
    """Past 1 MiB read, a connection replaces its hiredis reader (freeing its buffer) only when
    no reply is half read: a 2 MB array arriving in reads that end between its elements (where
    hiredis says it holds no data) parses whole, and the connection stays in step."""
    items = [b"%057d" % i for i in range(32_000)]  # 64 bytes each on the wire: 2 MB
    with redis.Redis(port=flushed.port) as admin:
        admin.rpush("items", *items)
    async with ReplySizes(flushed.port) as proxy:
        proxy.drip = 200
        client = client_on(proxy.url, size=1, timeout=20.0)
        try:
            with anyio.fail_after(60):
                assert await client.lrange("items", 0, -1) == items
                assert await client.llen("items") == len(items)
        finally:
            await client.aclose()
