"""Streams across a Redis outage: a status event, reconnect with backoff, resubscription, a
fresh snapshot, then updates again; no connection leaks."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from websockets.asyncio.client import connect

from fullon_cache_api import Settings
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.credentials import ADMIN_KEY, HEADERS
from .support.streams import Gateway, eventually, pubsub_connections, pubsub_counts, serve, sse

pytestmark = pytest.mark.anyio


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with serve(settings) as running:
        yield running


@pytest.fixture
async def http(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as client:
        yield client


async def test_ticker_stream_survives_redis_restart(
    http: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer, gateway: Gateway
) -> None:
    """Redis restarted mid-stream: reconnecting, then live + fresh snapshot, then updates."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    async with sse(http, "/tickers/binance/BTC/USDT/stream") as stream:
        assert (await stream.next()).event == "snapshot"
        flushed.stop()
        down = await stream.next()
        assert (down.event, down.data["state"]) == ("status", "reconnecting")
        assert not gateway.hub.stats().link_up
        flushed.start()
        up = await stream.next()
        assert (up.event, up.data["state"]) == ("status", "live")
        assert (await stream.next()).event == "snapshot"  # the restarted Redis is empty: null
        await writer.set_ticker("binance", "BTC/USDT", price=2.0, time=time.time())
        update = await stream.next()
        assert (update.event, update.data["price"]) == ("update", 2.0)
        assert gateway.hub.stats().link_up
        assert await pubsub_connections(writer.redis) == 1


async def test_polled_stream_survives_redis_restart(
    http: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer
) -> None:
    """A poller that fails says reconnecting once, then resyncs with a fresh snapshot.

    The restarted Redis is empty until the test writes: the poller may read it before the
    write (a null snapshot, then the write as an update) or after (the write as the snapshot).
    """
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0}})
    async with sse(http, "/accounts/1/stream") as stream:
        assert (await stream.next()).data["balances"]["USDT"]["free"] == 1.0
        flushed.stop()
        down = await stream.next()
        assert (down.event, down.data["state"]) == ("status", "reconnecting")
        flushed.start()
        await writer.upsert_user_account(1, {"USDT": {"free": 7.0}})
        assert (await stream.next()).data["state"] == "live"
        fresh = await stream.next()
        assert fresh.event == "snapshot"
        if fresh.data is None:  # read before the write: the empty, restarted Redis
            fresh = await stream.next()
            assert fresh.event == "update"
        assert fresh.data["balances"]["USDT"]["free"] == 7.0


async def test_pattern_and_channels_resubscribe_after_redis_restart(
    http: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer, gateway: Gateway
) -> None:
    """Redis restarted under an exchange stream and the process stream (two PSUBSCRIBEs) and
    two ticker streams (two SUBSCRIBEs): each says reconnecting, then live and a fresh
    snapshot (of the restarted, empty Redis); every topic is subscribed again and updates
    flow on each stream, over one pub/sub connection."""
    now = time.time()
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=now)
    await writer.set_ticker("binance", "ETH/USDT", price=10.0, time=now)
    await writer.register_process("tick", "binance:BTC/USDT")
    paths = [
        "/tickers/binance/stream",
        "/tickers/binance/BTC/USDT/stream",
        "/tickers/binance/ETH/USDT/stream",
        "/processes/stream",
    ]
    topics = (2, ["ticker_updates:binance:BTC/USDT", "ticker_updates:binance:ETH/USDT"])
    async with AsyncExitStack() as stack:
        exchange, btc, eth, processes = [
            await stack.enter_async_context(sse(http, path)) for path in paths
        ]
        before = [await stream.next() for stream in (exchange, btc, eth, processes)]
        assert [event.event for event in before] == ["snapshot"] * 4
        assert before[0].data["count"] == 2 and before[3].data["count"] == 1
        assert await pubsub_counts(writer.redis) == topics
        flushed.stop()
        for stream in (exchange, btc, eth, processes):
            down = await stream.next()
            assert (down.event, down.data["state"]) == ("status", "reconnecting")
        flushed.start()
        for stream in (exchange, btc, eth, processes):
            assert (await stream.next()).data["state"] == "live"
        fresh = [await stream.next() for stream in (exchange, btc, eth, processes)]
        assert [event.event for event in fresh] == ["snapshot"] * 4
        assert [event.data for event in fresh[:3]] == [None, None, None]  # not the old values
        assert fresh[3].data["count"] == 0
        assert await pubsub_counts(writer.redis) == topics  # confirmed before the snapshots

        await writer.set_ticker("binance", "BTC/USDT", price=2.0, time=time.time())
        await writer.set_ticker("binance", "ETH/USDT", price=20.0, time=time.time())
        await writer.broadcast_message("tick", "restart", {"reason": "test"})
        got = [(await exchange.next()).data for _ in range(2)]
        assert [(ticker["symbol"], ticker["price"]) for ticker in got] == [
            ("BTC/USDT", 2.0),
            ("ETH/USDT", 20.0),
        ]
        assert (await btc.next()).data["price"] == 2.0
        assert (await eth.next()).data["price"] == 20.0
        broadcast = await processes.next()
        assert (broadcast.event, broadcast.data["message"]) == ("update", "restart")
        assert gateway.hub.stats().link_up
        assert await pubsub_connections(writer.redis) == 1


async def test_stream_opened_during_outage_starts_with_status(
    http: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer
) -> None:
    """Opened while Redis is down: 200 at once, a reconnecting status, then the snapshot."""
    flushed.stop()
    async with sse(http, "/tickers/binance/BTC/USDT/stream") as stream:
        first = await stream.next()
        assert (first.event, first.data["state"]) == ("status", "reconnecting")
        flushed.start()
        await writer.set_ticker("binance", "BTC/USDT", price=3.0, time=time.time())
        assert (await stream.next()).data["state"] == "live"
        snapshot = await stream.until("snapshot")
        assert snapshot.data is None or snapshot.data["price"] == 3.0
        await writer.set_ticker("binance", "BTC/USDT", price=4.0, time=time.time())
        assert (await stream.until("update")).data["price"] == 4.0


async def test_websocket_reports_outage_and_cache_errors(
    gateway: Gateway, writer: CacheWriter, flushed: RedisServer
) -> None:
    """WebSocket: a stream_status push on outage; a read then is CACHE_ERROR, never not found."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    url = f"{gateway.ws_url}/ws/v2/tickers/c1?token={ADMIN_KEY}"
    async with connect(url) as ws:
        start = {"exchange": "binance", "symbols": ["BTC/USDT"]}
        await ws.send(json.dumps({"action": "stream_tickers", "request_id": "s", "params": start}))
        assert json.loads(await ws.recv())["success"] is True
        assert json.loads(await ws.recv())["snapshot"] is True
        flushed.stop()
        status = json.loads(await ws.recv())
        assert (status["action"], status["result"]["state"]) == ("stream_status", "reconnecting")
        one = {"exchange": "binance", "symbol": "BTC/USDT"}
        await ws.send(json.dumps({"action": "get_ticker", "request_id": "g", "params": one}))
        error = json.loads(await ws.recv())
        assert (error["request_id"], error["error_code"]) == ("g", "CACHE_ERROR")
        flushed.start()
        assert json.loads(await ws.recv())["result"]["state"] == "live"
        assert json.loads(await ws.recv())["snapshot"] is True

    async def no_leak() -> bool:
        return await pubsub_connections(writer.redis) == 1

    await eventually(no_leak)
