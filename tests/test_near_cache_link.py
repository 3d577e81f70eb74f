"""The invalidation link: races, lost connections, restarts, ACLs and clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from fullon_cache_api import Settings, create_app
from fullon_cache_api.backend._near import LINK_CLIENT_NAME, NearCache
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.apps import in_process
from .support.faults.proxy import latency_proxy
from .support.near_cache import calls, eventually, linked, near_of, until

pytestmark = pytest.mark.anyio

KEY, FIELD = "tickers:binance", "BTC/USDT"


class _HeldReplies:
    """Lets a read reach Redis, then holds its reply until `release` (the race window)."""

    def __init__(self, near: NearCache) -> None:
        self.real = near.redis
        self.sent = asyncio.Event()
        self.released = asyncio.Event()

    async def hget(self, name: str, key: str) -> Any:
        reply = await self.real.hget(name, key)  # the old value, read before the write
        self.sent.set()
        await self.released.wait()
        return reply


async def test_reply_raced_by_a_write_is_not_kept(
    settings: Settings, writer: CacheWriter, flushed: RedisServer
) -> None:
    """A read answered before a write but delivered after its invalidation is not cached."""
    near = await linked(near_of(create_app(settings=settings)))
    try:
        await writer.redis.hset(KEY, FIELD, "old")
        held = _HeldReplies(near)
        near.redis = held  # type: ignore[assignment]  # the delay shim around the real client
        read = asyncio.create_task(near.hget(KEY, FIELD))
        await held.sent.wait()
        await writer.redis.hset(KEY, FIELD, "new")
        await until(lambda: KEY in near.store._spoiled, deadline=1.0)
        held.released.set()
        assert await read == b"old"  # the caller gets what Redis said then
        near.redis = held.real
        assert await near.hget(KEY, FIELD) == b"new"  # but it was not kept
    finally:
        near.redis = getattr(near.redis, "real", near.redis)
        await near.aclose()


async def test_killed_link_flushes_bypasses_then_recovers(
    settings: Settings, writer: CacheWriter, flushed: RedisServer
) -> None:
    """CLIENT KILL of the link: the store is emptied, reads go to Redis, then hits resume."""
    near = await linked(near_of(create_app(settings=settings)))
    try:
        await writer.redis.hset(KEY, FIELD, "1")
        assert await near.hget(KEY, FIELD) == b"1"
        assert near.store.entries == 1
        (link,) = [c for c in await writer.redis.client_list() if c["name"] == LINK_CLIENT_NAME]
        await writer.redis.client_kill_filter(_id=link["id"])
        await until(lambda: not near.store.active, deadline=1.0)
        assert near.store.entries == 0
        before = await calls(flushed.port, "hget")
        assert await near.hget(KEY, FIELD) == b"1"
        assert near.store.entries == 0 or near.store.active  # not kept unless back up
        assert await calls(flushed.port, "hget") == before + 1
        await until(lambda: near.store.active)
        assert near.link.connects == 2
        await near.hget(KEY, FIELD)
        before = await calls(flushed.port, "hget")
        assert await near.hget(KEY, FIELD) == b"1"
        assert await calls(flushed.port, "hget") == before
    finally:
        await near.aclose()


async def test_redis_restart_serves_fresh_values(settings: Settings, flushed: RedisServer) -> None:
    """Across a Redis restart nothing old is served; afterwards the new value, then hits."""
    app = create_app(settings=settings)
    near = await linked(near_of(app))
    writer = CacheWriter(Redis(port=flushed.port))
    try:
        await writer.redis.hset(KEY, FIELD, "before")
        assert await near.hget(KEY, FIELD) == b"before"
        await asyncio.to_thread(flushed.stop)
        await until(lambda: not near.store.active, deadline=1.0)
        assert near.store.entries == 0
        await asyncio.to_thread(flushed.start)
        await writer.redis.hset(KEY, FIELD, "after")  # redis-py re-dials after the restart

        async def value() -> Any:
            try:
                return await near.hget(KEY, FIELD)
            except Exception as exc:  # the pool may meet a dead socket once
                return type(exc).__name__

        await eventually(value, b"after", 2.0)
        await until(lambda: near.store.active)
        await writer.redis.hset(KEY, FIELD, "again")
        assert await near.hget(KEY, FIELD) == b"again"
    finally:
        await writer.redis.aclose()
        await near.aclose()


@pytest.mark.slow
async def test_silent_link_is_given_up(settings: Settings, flushed: RedisServer) -> None:
    """A link whose PING goes unanswered (replies held by a proxy) is dropped and the store
    bypassed within keepalive + socket timeout; it comes back when replies flow again."""
    async with latency_proxy(flushed.port) as proxy:
        slow = msgspec.structs.replace(settings, redis_url=proxy.url, redis_socket_timeout=0.5)
        near = await linked(near_of(create_app(settings=slow)))
        try:
            proxy.latency = 30.0
            stalled = time.monotonic()
            await until(lambda: not near.store.active, deadline=4.0)
            assert time.monotonic() - stalled < 1.0 + 0.5 + 1.0  # keepalive, timeout, margin
            proxy.latency = 0.0
            await until(lambda: near.store.active, deadline=8.0)
        finally:
            await near.aclose()


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisServer]:
    """Users: `reader` (the README's read-only ACL) and `tracker` (plus CLIENT TRACKING)."""
    read_only = "-@all +@read -@write -@dangerous +hello +auth +select +ping +info +client|setname"
    with RedisServer(
        extra_config=[
            f"user reader on >reader-pw ~* &* {read_only}",
            f"user tracker on >tracker-pw ~* &* {read_only} +client|tracking",
        ]
    ) as server:
        yield server


async def test_read_only_acl_turns_it_off_with_one_warning(
    acl_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """NOPERM on CLIENT TRACKING: one warning, the link gives up, requests still answer."""
    settings = Settings(
        redis_url=acl_server.url, redis_username="reader", redis_password="reader-pw"
    )
    app = create_app(settings=settings, auth=False)
    near = near_of(app)
    with caplog.at_level(logging.WARNING, logger="fullon.api.cache.near"):
        async with (
            in_process(app) as http,
        ):
            assert (await http.get("/tickers/binance/BTC/USDT")).status_code == 404
            await until(lambda: near.link.refused, deadline=2.0)
            for _ in range(3):
                assert (await http.get("/tickers/binance/BTC/USDT")).status_code == 404
            assert not near.store.active and near.store.entries == 0
    refusals = [r for r in caplog.records if "refused client tracking" in r.getMessage()]
    assert len(refusals) == 1 and "NOPERM" in refusals[0].getMessage()


async def test_acl_with_tracking_rights_works(acl_server: RedisServer) -> None:
    """A read-only user granted CLIENT TRACKING (``+client|tracking``) gets the near cache."""
    settings = Settings(
        redis_url=acl_server.url, redis_username="tracker", redis_password="tracker-pw"
    )
    near = await linked(near_of(create_app(settings=settings)))
    admin = Redis(port=acl_server.port)
    try:
        await admin.hset(KEY, FIELD, "1")
        assert await near.hget(KEY, FIELD) == b"1"
        await admin.hset(KEY, FIELD, "2")
        assert await near.hget(KEY, FIELD) == b"2"
        assert near.store.hits == 0 and near.store.entries == 1
        assert await near.hget(KEY, FIELD) == b"2"
        assert near.store.hits == 1
    finally:
        await admin.delete(KEY)
        await admin.aclose()
        await near.aclose()


async def link_clients(port: int) -> int:
    admin = Redis(port=port)
    try:
        return sum(1 for c in await admin.client_list() if c.get("name") == LINK_CLIENT_NAME)
    finally:
        await admin.aclose()


def link_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "fullon-cache-api-near-link"]


async def test_lifespan_closes_the_link(settings: Settings, flushed: RedisServer) -> None:
    """After the lifespan no link task is left and Redis lists no link connection."""
    app = create_app(settings=settings)
    async with app.router.lifespan_context(app):
        await linked(near_of(app))
        assert len(link_tasks()) == 1
        assert await link_clients(flushed.port) == 1
    assert link_tasks() == []
    await eventually(lambda: link_clients(flushed.port), 0, 1.0)
    assert not near_of(app).store.active


async def test_building_the_app_connects_nothing(settings: Settings, flushed: RedisServer) -> None:
    """No I/O before the first read: no link task and no link connection."""
    app = create_app(settings=settings)
    await asyncio.sleep(0.05)
    assert link_tasks() == []
    assert await link_clients(flushed.port) == 0
    await app.state.reader.redis.aclose()


def test_works_under_uvloop(settings: Settings, flushed: RedisServer) -> None:
    """Under uvloop (uvicorn's loop in production) the link comes up and invalidates."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        near = await linked(near_of(create_app(settings=settings)))
        admin = Redis(port=flushed.port)
        try:
            await admin.hset(KEY, FIELD, "1")
            assert await near.hget(KEY, FIELD) == b"1"
            assert await near.hget(KEY, FIELD) == b"1"
            assert near.store.hits == 1
            await admin.hset(KEY, FIELD, "2")
            assert await near.hget(KEY, FIELD) == b"2"
        finally:
            await admin.aclose()
            await near.aclose()

    uvloop.run(scenario())
