"""Slow consumers: bounded queues, conflation, and cut-offs that never slow anyone else."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

import httpx
import msgspec
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from fullon_cache_api import Settings
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.streams import ClientClosed, ClientQueue, Event, Feed

from .support.credentials import ADMIN_KEY, HEADERS
from .support.slow_clients import (
    TINY_BUFFER,
    drain_until_closed,
    read_until_closed,
    small_server_socket,
    stalled_client,
    tick_json,
)
from .support.streams import eventually, fast_streams, serve, sse

pytestmark = pytest.mark.anyio


def tick(symbol: str, price: float) -> Event:
    return Event("update", msgspec.json.encode({"symbol": symbol, "price": price}), key=symbol)


async def test_queue_conflates_per_key_and_keeps_order() -> None:
    """Queued ticks of one symbol collapse to the newest, in the first one's place."""
    queue: ClientQueue[Event] = ClientQueue(limit=10)
    feed = Feed(queue, None)
    feed.snapshot(Event("snapshot", b"[]"))
    for price in (1.0, 2.0, 3.0):
        feed.update(tick("BTC", price))
        feed.update(tick("ETH", price * 10))
    feed.update(Event("update", b"{}"))  # keyless: never conflated
    slots = await asyncio.wait_for(queue.get(), 1)
    assert [(s.item.kind, s.item.data) for s in slots] == [
        ("snapshot", b"[]"),
        ("update", b'{"symbol":"BTC","price":3.0}'),
        ("update", b'{"symbol":"ETH","price":30.0}'),
        ("update", b"{}"),
    ]
    assert len(queue) == 0
    feed.update(tick("BTC", 4.0))  # drained: a new tick of BTC is queued, not lost
    slots = await asyncio.wait_for(queue.get(), 1)
    assert [s.item.data for s in slots] == [b'{"symbol":"BTC","price":4.0}']


async def test_updates_before_the_first_snapshot_wait_behind_it() -> None:
    """An update that races the first snapshot is held back and delivered after it."""
    queue: ClientQueue[Event] = ClientQueue(limit=10)
    feed = Feed(queue, None)
    feed.update(tick("BTC", 2.0))
    assert len(queue) == 0
    feed.snapshot(Event("snapshot", b"1"))
    slots = await asyncio.wait_for(queue.get(), 1)
    assert [slot.item.kind for slot in slots] == ["snapshot", "update"]


async def test_overflow_cuts_the_client_off_with_a_reason() -> None:
    """More pending events than the bound: the queue closes with reason slow_consumer."""
    queue: ClientQueue[Event] = ClientQueue(limit=3)
    feed = Feed(queue, None)
    feed.snapshot(Event("snapshot", b"1"))
    for n in range(5):
        feed.update(Event("update", str(n).encode()))
    with pytest.raises(ClientClosed) as closed:
        await asyncio.wait_for(queue.get(), 1)
    assert msgspec.json.decode(closed.value.event.data) == {
        "reason": "slow_consumer",
        "detail": "more than 3 events were pending",
    }
    feed.update(Event("update", b"late"))  # ignored once closed
    assert len(queue) == 0


async def test_slow_sse_client_is_cut_off_while_fast_one_keeps_up(
    settings: Settings, writer: CacheWriter, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that stops reading is cut off after send_timeout; a fast one gets every last
    value meanwhile, and the hub forgets the slow one."""
    path = "/tickers/binance/BTC/USDT/stream"
    await writer.set_ticker("binance", "BTC/USDT", price=0.0, time=time.time())
    streams = fast_streams(send_timeout=0.3, heartbeat=5)
    sock = small_server_socket()
    caplog.set_level(logging.WARNING, "fullon.api.cache")
    async with (
        serve(settings, streams, sock=sock) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as http,
        sse(http, path) as fast,
    ):
        assert (await fast.next()).event == "snapshot"
        slow = await stalled_client(sock.getsockname()[1], path)
        await eventually(lambda: _clients(gateway.hub, 2))
        started = time.monotonic()
        price = 0
        while gateway.hub.stats().cutoffs == 0:  # ~200-byte ticks until the slow one stalls
            price += 1
            async with writer.redis.pipeline(transaction=False) as pipe:
                for _ in range(50):
                    pipe.publish("ticker_updates:binance:BTC/USDT", tick_json(price))
                await pipe.execute()
            assert (await fast.until("update")).data["price"] == price  # never held back
            assert time.monotonic() - started < 15
        assert gateway.hub.stats().clients == 1
        tail = await drain_until_closed(slow)  # the server closed it
        slow.close()
        assert b"event: update" in tail
        await writer.set_ticker("binance", "BTC/USDT", price=-1.0, time=time.time())
        assert (await fast.until("update")).data["price"] == -1.0
    assert any(
        "cut off a slow client (SSE /tickers/binance/BTC/USDT/stream)" in r.getMessage()
        for r in caplog.records
    )


async def _clients(hub: object, count: int) -> bool:
    return hub.stats().clients == count  # type: ignore[attr-defined,no-any-return]


@pytest.mark.slow
async def test_slow_websocket_client_is_cut_off(settings: Settings, writer: CacheWriter) -> None:
    """A WebSocket client that stops reading is cut off: its connection ends (1013 when the
    close frame still fits, else the transport is dropped) and the hub forgets it."""
    sock = small_server_socket()
    streams = fast_streams(send_timeout=0.3, heartbeat=5)
    async with serve(settings, streams, sock=sock) as gateway:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, TINY_BUFFER)
        client.connect(("127.0.0.1", sock.getsockname()[1]))
        url = f"{gateway.ws_url}/ws/v2/tickers/slow?token={ADMIN_KEY}"
        async with connect(url, sock=client, max_queue=1) as ws:
            params = {"exchange": "binance"}  # every symbol: conflation keeps one per symbol
            await ws.send(
                json.dumps({"action": "stream_tickers", "request_id": 1, "params": params})
            )
            assert json.loads(await ws.recv())["success"] is True
            started = time.monotonic()
            while gateway.hub.stats().cutoffs == 0:
                async with writer.redis.pipeline(transaction=False) as pipe:
                    for n in range(50):
                        pipe.publish(f"ticker_updates:binance:S{n}/USDT", tick_json(n))
                    await pipe.execute()
                await asyncio.sleep(0.01)
                assert time.monotonic() - started < 15
            with pytest.raises(ConnectionClosed) as closed:
                await read_until_closed(ws)
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1013
        await eventually(lambda: _clients(gateway.hub, 0))
