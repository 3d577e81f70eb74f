"""The client's `Connection` in the near cache's use: dial only, RESP3 pushes, lost first."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis import exceptions as redis_errors

from fullon_cache_api.backend._near._store import Store
from fullon_cache_api.backend._resp import Connection, options_from_url, pack
from fullon_cache_api.demo import CacheWriter, RedisServer

pytestmark = pytest.mark.anyio

KEY = "push:key"


async def dialled(server: RedisServer) -> Connection:
    """A connection to `server` with no hand-shake of its own (its client name unsent)."""
    url = f"redis://127.0.0.1:{server.port}/0"
    connection = Connection(options_from_url(url, client_name="fullon_cache_api.test"))
    async with asyncio.timeout(5.0):
        await connection.connect(handshake=False)
    return connection


async def ask(connection: Connection, *commands: tuple[Any, ...]) -> Any:
    """Send `commands` in one write; their replies (the reply, for one command)."""
    async with asyncio.timeout(5.0):
        return await connection.request(b"".join(map(pack, commands)), len(commands))


async def test_push_reaches_callback_before_the_writers_reply(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """With `on_push`, an ``invalidate`` push is handed over in the I/O callback (no task),
    before the writer's own reply to the write that caused it is seen."""
    connection = await dialled(flushed)
    pushes: list[tuple[Any, asyncio.Task[Any] | None]] = []
    connection.on_push = lambda push: pushes.append((push, asyncio.current_task()))
    try:
        assert await ask(connection, ("CLIENT", "GETNAME")) is None  # no hand-shake was sent
        tracking = ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "push:")
        hello, on = await ask(connection, ("HELLO", "3"), tracking)
        assert hello[b"proto"] == 3 and on == b"OK"
        for value in range(3):
            await writer.redis.set(KEY, value)
            assert pushes == [([b"invalidate", [KEY.encode()]], None)], value
            pushes.clear()
        assert await ask(connection, ("PING",)) == b"PONG"  # replies still match requests
        await writer.redis.flushdb()
        await ask(connection, ("PING",))
        assert pushes == [([b"invalidate", None], None)]
    finally:
        connection.abort()


async def test_lost_callback_flushes_the_store_before_requests_fail(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """`on_lost` runs first in `connection_lost`: a store it flushes is already empty and
    inactive when a request waiting on the killed connection fails."""
    store = Store(ttl=60.0, max_entries=10, max_bytes=1 << 20)
    store.active = True
    store.end(KEY, "slot", store.begin(KEY), b"cached")
    assert store.entries == 1
    connection = await dialled(flushed)
    seen: dict[str, Any] = {}

    def lost(_: Connection) -> None:
        store.active = False
        store.flush()
        seen["request_done"] = waiting.done()

    connection.on_lost = lost
    try:
        await ask(connection, ("CLIENT", "SETNAME", "push-victim"))
        waiting = connection.request(pack(("XREAD", "BLOCK", "0", "STREAMS", "none", "$")), 1)
        (victim,) = [c for c in await writer.redis.client_list() if c["name"] == "push-victim"]
        await writer.redis.client_kill_filter(_id=victim["id"])
        with pytest.raises(redis_errors.ConnectionError):
            async with asyncio.timeout(5.0):
                await waiting
        # The callback ran while the request still waited (it fails after); the store is flushed.
        assert seen == {"request_done": False}
        assert (store.active, store.entries) == (False, 0)
    finally:
        connection.abort()
