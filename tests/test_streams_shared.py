"""Shared pollers and stream ordering, against a real redis-server.

One poller per Redis key whatever the callers' rights or limits (each caller still sees only
its own view); no load while a key is unchanged; and with several sources on one feed (a
WebSocket ``stream_tickers`` naming several symbols) each source's snapshot precedes its
updates, so no client ends on a value older than one it already received.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect

from fullon_cache_api import Settings, create_app
from fullon_cache_api.data import CacheReader
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.streams import ClientQueue, Event, Feed, Hub
from fullon_cache_api.streams._polled import Balances
from fullon_cache_api.streams._specs import TickerSymbol

from .support.credentials import ADMIN_KEY, HEADERS
from .support.streams import (
    Gateway,
    eventually,
    fast_streams,
    grant_ex_1_bot_42,
    serve,
    sse,
    with_user_key,
)

pytestmark = pytest.mark.anyio

USER_KEY = "shared-user-key"
NOW = time.time()


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """A gateway with the admin key and a ``user`` key owning account 1 and bot 42."""
    async with serve(with_user_key(settings, USER_KEY), ownership=grant_ex_1_bot_42) as running:
        yield running


@pytest.fixture
async def admin(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as client:
        yield client


@pytest.fixture
async def user(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"X-API-Key": USER_KEY}
    async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=10) as client:
        yield client


def one_poller(gateway: Gateway, feeds: int) -> None:
    stats = gateway.hub.stats()
    assert (stats.sources, stats.feeds) == (1, feeds)


# -- one poller per key, whatever the callers' rights and limits ---------------------------
async def test_bot_streams_poll_the_hash_for_admins_and_owned_fields_for_others(
    gateway: Gateway, admin: httpx.AsyncClient, user: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """An admin and a user on /bots/stream: each sees what GET /bots shows it; the admin's
    poller reads the hash, the user's only its own bot ids (shared by streams of that grant);
    a change the user cannot see sends it nothing."""
    await writer.update_bot(42, {"name": "mine"})
    await writer.update_bot(43, {"name": "theirs"})
    await writer.redis.hset("bot_status", "44", "{not json")  # counted for the admin only
    async with (
        sse(admin, "/bots/stream") as everything,
        sse(user, "/bots/stream") as own,
        sse(user, "/bots/stream") as again,
    ):
        seen_all, seen_own = await everything.next(), await own.next()
        assert seen_all.data == (await admin.get("/bots")).json()
        assert seen_own.data == (await user.get("/bots")).json()
        assert (await again.next()).data == seen_own.data
        assert [bot["bot_id"] for bot in seen_all.data["bots"]] == ["42", "43"]
        assert (seen_all.data["skipped"], seen_own.data["skipped"]) == (1, 0)
        assert [bot["bot_id"] for bot in seen_own.data["bots"]] == ["42"]
        stats = gateway.hub.stats()
        assert (stats.sources, stats.feeds) == (2, 3)

        await writer.update_bot(43, {"name": "theirs, renamed"})
        changed = await everything.next()
        assert changed.event == "update"
        assert changed.data["bots"][1]["fields"] == {"name": "theirs, renamed"}
        await writer.update_bot(42, {"name": "mine, renamed"})
        mine = await own.next()  # the first event since the snapshot: bot 43 sent nothing
        assert (mine.event, mine.id) == ("update", seen_own.id + 1)
        assert mine.data == (await user.get("/bots")).json()
        assert [bot["fields"]["name"] for bot in mine.data["bots"]] == ["mine, renamed"]


async def test_order_streams_with_other_limits_and_rights_share_one_poller(
    gateway: Gateway, admin: httpx.AsyncClient, user: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """/orders/binance/stream with ?limit=1 (admin) and the default limit (user): one poller;
    each view is exactly what GET /orders/binance answers that caller."""
    await writer.save_order("binance", {"ex_order_id": "A1", "ex_id": 1, "status": "open"})
    await writer.save_order("binance", {"ex_order_id": "B1", "ex_id": 2, "status": "open"})
    path = "/orders/binance/stream"
    async with sse(admin, f"{path}?limit=1") as newest, sse(user, path) as own:
        seen_newest, seen_own = await newest.next(), await own.next()
        assert seen_newest.data == (await admin.get("/orders/binance?limit=1")).json()
        assert seen_own.data == (await user.get("/orders/binance")).json()
        assert (seen_newest.data["count"], seen_newest.data["matched"]) == (1, 2)
        assert [order["order_id"] for order in seen_own.data["orders"]] == ["A1"]
        one_poller(gateway, 2)

        await writer.save_order("binance", {"ex_order_id": "B2", "ex_id": 2, "status": "open"})
        assert (await newest.next()).data["matched"] == 3
        await writer.save_order("binance", {"ex_order_id": "A2", "ex_id": 1, "status": "open"})
        mine = await own.next()  # the first event since the snapshot: B2 sent nothing
        assert (mine.event, mine.id) == ("update", seen_own.id + 1)
        assert mine.data == (await user.get("/orders/binance")).json()
        assert sorted(order["order_id"] for order in mine.data["orders"]) == ["A1", "A2"]


def _trade(ex_trade_id: str, ex_id: int) -> dict[str, Any]:
    return {"trade_id": 1, "ex_trade_id": ex_trade_id, "ex_id": ex_id, "symbol": "BTC/USDT"}


async def _stream(ws: ClientConnection, **params: Any) -> Any:
    """Start stream_trade_updates; returns the snapshot push."""
    request = {"action": "stream_trade_updates", "request_id": "s", "params": params}
    await ws.send(json.dumps(request))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["success"] is True
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def test_trade_streams_with_other_counts_and_rights_share_one_poller(
    gateway: Gateway, writer: CacheWriter
) -> None:
    """stream_trade_updates with count=1 (admin) and count=5 (user): one poller on the
    queue, each socket its own view (the user's trades only)."""
    for ex_trade_id, ex_id in (("T1", 1), ("T2", 2), ("T3", 1)):
        await writer.push_trade("binance", _trade(ex_trade_id, ex_id))
    base = f"{gateway.ws_url}/ws/v2/trades"
    async with (
        connect(f"{base}/admin?token={ADMIN_KEY}") as admin_ws,
        connect(f"{base}/user?token={USER_KEY}") as user_ws,
    ):
        newest = await _stream(admin_ws, exchange="binance", symbol="BTC/USDT", count=1)
        own = await _stream(user_ws, exchange="binance", symbol="BTC/USDT", count=5)
        assert [t["ex_trade_id"] for t in newest["result"]["trades"]] == ["T3"]
        assert newest["result"]["length"] == 3
        assert [t["ex_trade_id"] for t in own["result"]["trades"]] == ["T1", "T3"]
        assert own["result"]["length"] == 2
        one_poller(gateway, 2)
        await writer.push_trade("binance", _trade("T4", 1))
        for ws, expected in ((admin_ws, ["T4"]), (user_ws, ["T1", "T3", "T4"])):
            update = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert update["snapshot"] is False
            assert [t["ex_trade_id"] for t in update["result"]["trades"]] == expected


# -- no load while nothing changed ---------------------------------------------------------
@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    """The hub of an app that serves no request: the tests drive it directly."""
    app = create_app(settings=settings, streams=fast_streams())
    hub: Hub = app.state.hub
    try:
        yield hub
    finally:
        await hub.aclose()
        await app.state.reader.redis.aclose()


@dataclass(frozen=True)
class CountedBalances(Balances):
    """Balances whose probes and loads are counted (the counter is no part of its identity)."""

    calls: Counter[str] = field(default_factory=Counter, compare=False)

    async def probe(self, redis: Any) -> bytes:
        self.calls["probe"] += 1
        return await super().probe(redis)

    async def load(self, reader: CacheReader) -> Any:
        self.calls["load"] += 1
        return await super().load(reader)


async def events(queue: ClientQueue[Event], enough: Callable[[list[Event]], bool]) -> list[Event]:
    """Events taken from `queue` until `enough` of them arrived (within 5 s)."""
    got: list[Event] = []
    async with asyncio.timeout(5):
        while not enough(got):
            got.extend(slot.item for slot in await queue.get())
    return got


async def test_unchanged_key_is_probed_but_never_loaded_again(
    hub: Hub, writer: CacheWriter
) -> None:
    """The poller probes every interval; it loads (decodes) only when the probe changed, and
    a second client's snapshot is served from memory."""
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0}})
    spec = CountedBalances("1")
    queue = hub.open_queue(heartbeats=False)
    watches = [hub.watch(spec, Feed(queue, "first"))]
    try:
        assert [e.kind for e in await events(queue, lambda got: len(got) >= 1)] == ["snapshot"]

        async def probed(times: int) -> bool:
            return spec.calls["probe"] >= times

        await eventually(lambda: probed(6))
        assert spec.calls["load"] == 1
        watches.append(hub.watch(CountedBalances("1"), Feed(queue, "second")))
        assert [slot.tag for slot in queue.take()] == ["second"]  # its snapshot, at once
        await writer.upsert_user_account(1, {"USDT": {"free": 2.0}})
        assert [e.kind for e in await events(queue, lambda got: len(got) >= 2)] == [
            "update",
            "update",
        ]
        assert spec.calls["load"] == 2
        probes = spec.calls["probe"]
        await eventually(lambda: probed(probes + 5))
        assert spec.calls["load"] == 2
        assert len(queue) == 0
    finally:
        for watch in watches:
            watch.close()
        hub.close_queue(queue)


# -- each source's snapshot before its updates ---------------------------------------------
@dataclass(frozen=True)
class HeldSnapshot(TickerSymbol):
    """A ticker whose snapshot, once read from Redis, is handed over only after `release`."""

    read: asyncio.Event = field(default_factory=asyncio.Event, compare=False)
    release: asyncio.Event = field(default_factory=asyncio.Event, compare=False)

    async def snapshot(self, reader: CacheReader) -> Event:
        event = await super().snapshot(reader)
        self.read.set()
        await self.release.wait()
        return event


def _seen(event: Event) -> tuple[str, str, float]:
    ticker = msgspec.json.decode(event.data)
    return (event.kind, ticker["symbol"], ticker["price"])


async def test_every_symbol_snapshot_precedes_its_ticks(hub: Hub, writer: CacheWriter) -> None:
    """One feed on two tickers (as stream_tickers builds it): ETH's snapshot is read (10.0),
    then ETH ticks 11.0 before that snapshot is queued. The tick waits behind ETH's snapshot,
    so the client ends on 11.0, while BTC's updates flow meanwhile."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=NOW)
    await writer.set_ticker("binance", "ETH/USDT", price=10.0, time=NOW)
    slow = HeldSnapshot("binance", "ETH/USDT")
    queue = hub.open_queue(heartbeats=False)
    feed = Feed(queue, "tickers")
    watches = [hub.watch(TickerSymbol("binance", "BTC/USDT"), feed), hub.watch(slow, feed)]
    try:
        got = await events(queue, lambda got: len(got) >= 1)
        await asyncio.wait_for(slow.read.wait(), 5)
        await writer.set_ticker("binance", "ETH/USDT", price=11.0, time=NOW + 1)
        # Published after ETH's tick on the same connection: once BTC's update is here,
        # ETH's tick was dispatched too.
        await writer.set_ticker("binance", "BTC/USDT", price=2.0, time=NOW + 1)
        got += await events(queue, lambda more: ("update", "BTC/USDT", 2.0) in map(_seen, more))
        slow.release.set()
        got += await events(queue, lambda more: any(e.kind == "snapshot" for e in more))
        got += [slot.item for slot in queue.take()]
        assert [_seen(event) for event in got] == [
            ("snapshot", "BTC/USDT", 1.0),
            ("update", "BTC/USDT", 2.0),
            ("snapshot", "ETH/USDT", 10.0),
            ("update", "ETH/USDT", 11.0),
        ]
    finally:
        slow.release.set()
        for watch in watches:
            watch.close()
        hub.close_queue(queue)


def tick(symbol: str, price: float) -> Event:
    return Event("update", msgspec.json.encode({"symbol": symbol, "price": price}), key=symbol)


def test_a_tick_queued_before_a_fresh_snapshot_never_takes_a_newer_value() -> None:
    """After a reconnect a source `resync`s its feeds: a tick still queued from before is not
    replaced by a newer one (which would then precede the older snapshot); ticks that arrive
    before the fresh snapshot wait behind it, and conflate there."""
    queue: ClientQueue[Event] = ClientQueue(limit=10)
    feed = Feed(queue, None)
    source = object()
    feed.snapshot(Event("snapshot", b"0"), source)
    feed.update(tick("BTC", 1.0), source)  # still queued when the link drops
    feed.resync(source)
    feed.update(tick("BTC", 3.0), source)  # resubscribed, fresh snapshot not read yet
    feed.snapshot(Event("snapshot", b"2"), source)
    feed.update(tick("BTC", 4.0), source)
    assert [slot.item.data for slot in queue.take()] == [
        b"0",
        b'{"symbol":"BTC","price":1.0}',
        b"2",
        b'{"symbol":"BTC","price":4.0}',
    ]
