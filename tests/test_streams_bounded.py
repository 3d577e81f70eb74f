"""Stream pollers on big keys: a poll reads a bounded part of a key, never the whole of it.

Keys of 600 entries, a read chunk of 20 and FULLON_CACHE_API_STREAM_POLL_ENTRIES of 100: each
poll of a big hash sends HLEN and a few HSCANs of about a chunk (never HGETALL), a value
changed in place still reaches the stream, a non-admin's bot stream reads its own fields only,
and a trade stream reads the pushed trades only after its first window.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from websockets.asyncio.client import connect

from fullon_cache_api import Settings, create_app
from fullon_cache_api.data import CacheReader
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.streams import Feed, Hub
from fullon_cache_api.streams._polled import Balances

from .support.big_keys import seed_big
from .support.credentials import ADMIN_KEY
from .support.faults.replies import ReplySizes
from .support.monitor import monitored
from .support.streams import (
    Gateway,
    eventually,
    fast_streams,
    grant_ex_1_bot_42,
    serve,
    sse,
    with_user_key,
)
from .support.surface import TRADE

pytestmark = pytest.mark.anyio

CHUNK = 20
ENTRIES = 600
PER_POLL = 100
USER_KEY = "bounded-user-key"


@asynccontextmanager
async def bounded_gateway(
    settings: Settings, port: int
) -> AsyncIterator[tuple[Gateway, ReplySizes]]:
    """A gateway reading through a reply-measuring proxy: chunk 20, 100 entries per poll, no
    near cache; a ``user`` key owning account 1 and bot 42."""
    async with ReplySizes(port) as proxy:
        changed = msgspec.structs.replace(
            with_user_key(settings, USER_KEY),
            near_cache_ttl=0.0,
            read_chunk=CHUNK,
            redis_url=proxy.url,
        )
        streams = fast_streams(poll_entries=PER_POLL)
        async with serve(changed, streams, ownership=grant_ex_1_bot_42) as gateway:
            yield gateway, proxy


Opener = Callable[[Gateway], AbstractAsyncContextManager[Callable[[], Awaitable[Any]]]]


def sse_stream(path: str, key: str = ADMIN_KEY) -> Opener:
    """An SSE stream of `path`; yields a function returning its next event's data."""

    @asynccontextmanager
    async def opened(gateway: Gateway) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
        headers = {"X-API-Key": key}
        async with (
            httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=30) as client,
            sse(client, path) as events,
        ):

            async def next_data() -> Any:
                return (await events.next(within=20)).data

            yield next_data

    return opened


def ws_stream(path: str, action: str, **params: Any) -> Opener:
    """A WebSocket stream action on `path`; yields a function returning its next push."""

    @asynccontextmanager
    async def opened(gateway: Gateway) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
        async with connect(f"{gateway.ws_url}{path}?token={ADMIN_KEY}", max_size=None) as ws:
            request = {"action": action, "request_id": "s", "params": params}
            await ws.send(json.dumps(request))
            confirmed = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert confirmed["success"] is True, confirmed

            async def next_push() -> Any:
                return json.loads(await asyncio.wait_for(ws.recv(), 20))

            yield next_push

    return opened


BIG_HASH_STREAMS: dict[str, Opener] = {
    "orders": sse_stream("/orders/binance/stream?limit=10"),
    "bots": sse_stream("/bots/stream"),
    "all positions": ws_stream("/ws/accounts/c1", "stream_positions", user_id="1"),
    "process health": ws_stream("/ws/v2/process/c1", "stream_process_health"),
}


async def polls_seen(commands: list[tuple[str, str]], polls: int) -> None:
    """Wait until MONITOR saw `polls` HLENs (one per poll of a hash)."""

    async def enough() -> bool:
        return sum(name == "HLEN" for _, name in commands) >= polls

    await eventually(enough, within=20)


@pytest.mark.slow
@pytest.mark.parametrize("stream", sorted(BIG_HASH_STREAMS))
async def test_a_poll_reads_a_bounded_part_of_a_big_hash(
    settings: Settings, flushed: RedisServer, stream: str
) -> None:
    """After its snapshot, a stream on a hash of 600 entries polls with HLEN and at most
    100 / 20 + 1 HSCAN replies per poll, none of more than about a chunk; no HGETALL."""
    seed_big(flushed.port, ENTRIES)
    async with (
        bounded_gateway(settings, flushed.port) as (gateway, proxy),
        BIG_HASH_STREAMS[stream](gateway) as next_event,
    ):
        await next_event()  # the snapshot (read whole once, in chunks)
        proxy.sizes.clear()
        with monitored(flushed.port) as commands:
            await polls_seen(commands, 8)
        names = Counter(name for _, name in commands)
    assert "HGETALL" not in names
    assert names["HSCAN"] <= names["HLEN"] * (PER_POLL // CHUNK + 1), names
    assert names["HSCAN"] >= names["HLEN"] - 1, names  # the walk goes on, poll after poll
    assert max(proxy.sizes) <= 2 * 2 * CHUNK, sorted(proxy.sizes)[-5:]


async def test_a_value_changed_in_place_in_a_big_hash_reaches_the_stream(
    settings: Settings, flushed: RedisServer, writer: CacheWriter
) -> None:
    """An order of a 600-order hash updated in place (same field, HLEN unchanged) is seen once
    the poller's walk reaches it: the stream sends it as the newest order."""
    seed_big(flushed.port, ENTRIES)
    async with (
        bounded_gateway(settings, flushed.port) as (gateway, _),
        sse_stream("/orders/binance/stream?limit=1")(gateway) as next_event,
    ):
        first = await next_event()
        assert first["orders"][0]["order_id"] == f"O{ENTRIES - 1:04d}"
        await writer.save_order("binance", {"ex_order_id": "O0007", "ex_id": 1, "status": "done"})
        update = await next_event()
    assert [(o["order_id"], o["status"]) for o in update["orders"]] == [("O0007", "done")]
    assert update["matched"] == ENTRIES


async def test_a_non_admin_bot_stream_reads_its_own_fields_only(
    settings: Settings, flushed: RedisServer, writer: CacheWriter
) -> None:
    """A user owning bot 42 streams /bots: its poller reads bot_status with HMGET of its ids,
    never a walk of the hash; its bot's changes reach it."""
    seed_big(flushed.port, ENTRIES)
    await writer.update_bot(42, {"name": "mine"})
    async with (
        bounded_gateway(settings, flushed.port) as (gateway, _),
        sse_stream("/bots/stream", USER_KEY)(gateway) as next_event,
    ):
        assert [bot["bot_id"] for bot in (await next_event())["bots"]] == ["42"]
        with monitored(flushed.port) as commands:

            async def polled() -> bool:
                return sum(name == "HMGET" for _, name in commands) >= 5

            await eventually(polled, within=20)
            await writer.update_bot(42, {"name": "renamed"})
            update = await next_event()
        names = {name for _, name in commands if name not in ("HSET",)}
    assert update["bots"][0]["fields"] == {"name": "renamed"}
    assert names == {"HMGET"}, names


async def test_a_trade_stream_reads_the_pushed_trades_only(
    settings: Settings, flushed: RedisServer, writer: CacheWriter
) -> None:
    """A trade stream on a queue of 600 reads its window in LRANGE replies of at most a chunk;
    after three pushes it reads those three (and the element it held newest), nothing more."""
    seed_big(flushed.port, ENTRIES)
    opener = ws_stream(
        "/ws/v2/trades/c1", "stream_trade_updates", exchange="binance", symbol="BTC/USDT", count=5
    )
    async with (
        bounded_gateway(settings, flushed.port) as (gateway, proxy),
        opener(gateway) as next_push,
    ):
        snapshot = await next_push()
        assert snapshot["result"]["length"] == ENTRIES
        assert max(proxy.sizes) <= CHUNK, sorted(proxy.sizes)[-5:]
        proxy.sizes.clear()
        for trade_id in (9001, 9002, 9003):
            await writer.push_trade("binance", {**TRADE, "trade_id": trade_id})
        while (update := await next_push())["result"]["length"] < ENTRIES + 3:
            pass
    assert [t["trade_id"] for t in update["result"]["trades"][-3:]] == [9001, 9002, 9003]
    assert max(proxy.sizes) <= 4, sorted(proxy.sizes)[-5:]


@dataclass(frozen=True)
class SlowBalances(Balances):
    """Balances whose value changes at every probe and whose load takes 0.3 s (counted)."""

    calls: Counter[str] = field(default_factory=Counter, compare=False)

    async def probe(self, redis: Any) -> bytes:
        self.calls["probe"] += 1
        return str(self.calls["probe"]).encode()

    async def load(self, reader: CacheReader) -> Any:
        self.calls["load"] += 1
        await asyncio.sleep(0.3)
        return await super().load(reader)


@pytest.mark.slow
async def test_a_poller_waits_as_long_as_its_last_load_took(
    settings: Settings, writer: CacheWriter
) -> None:
    """A key that changes at every poll and takes 0.3 s to load, polled every 0.05 s: the
    next poll waits for as long as the load took, so 2 s see at most 4 loads (not 6)."""
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0}})
    app = create_app(settings=settings, streams=fast_streams())
    hub: Hub = app.state.hub
    spec = SlowBalances("1")
    queue = hub.open_queue(heartbeats=False)
    watch = hub.watch(spec, Feed(queue, "only"))
    try:
        await asyncio.sleep(2.0)
    finally:
        watch.close()
        hub.close_queue(queue)
        await hub.aclose()
        await app.state.reader.redis.aclose()
    assert 1 <= spec.calls["load"] <= 4, spec.calls
