"""The client's streams against a real `fullon-cache-api serve` process over a real Redis:
typed events, the server's ``close`` ending the iteration with its reason, reconnection with
bounded backoff after the server is killed and restarted, a 429 retried, and the blocking
client's streams, pages and poller."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from fullon_cache_api.client import (
    AsyncCacheClient,
    BarPage,
    CacheClient,
    Close,
    NotFound,
    ProcessBroadcast,
    Reconnect,
    Snapshot,
    Status,
    TickerPage,
    Unreachable,
    Update,
)
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.server import free_port
from fullon_cache_api.structs.accounts import Account
from fullon_cache_api.structs.tickers import Ticker

from .support.processes import CLI, Running, running, sockets

pytestmark = pytest.mark.anyio

WAIT = 15  # seconds: the bound of every wait on a stream or a process
FAST = Reconnect(initial=0.05, maximum=0.2, attempts=200)


def environment(redis_url: str, **extra: str) -> dict[str, str]:
    """A gateway without authentication, with fast heartbeats and polls."""
    return {
        "REDIS_URL": redis_url,
        "FULLON_CACHE_API_AUTH": "off",
        "LOG_LEVEL": "warning",
        "FULLON_CACHE_API_STREAM_HEARTBEAT": "0.5",
        "FULLON_CACHE_API_STREAM_POLL_INTERVAL": "0.05",
        **extra,
    }


@contextmanager
def gateway(redis_url: str, port: int | None = None, **extra: str) -> Iterator[Running]:
    """`serve` (uvicorn) as a process on `port` (a free one by default); always stopped."""
    command = [*CLI, "serve", "--server", "uvicorn", "--port", str(port or free_port())]
    with running(command, environment(redis_url, **extra)) as server:
        yield server


def kill(server: Running) -> None:
    """Kill the gateway at once: its streams drop without a ``close`` event."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=WAIT)


async def next_event(events: Any) -> Any:
    """The next event of an async stream iterator, within WAIT seconds."""
    async with asyncio.timeout(WAIT):
        return await anext(events)


async def test_typed_events_then_close_ends_the_stream(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """A ticker stream yields a `Snapshot` of a `Ticker`, an `Update` per publication, and on
    SIGTERM the server's `Close` (reason ``shutdown``); then the iteration ends, no reconnect."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    with gateway(flushed.url) as server:
        async with (
            AsyncCacheClient(server.url, reconnect=FAST) as cache,
            cache.stream_ticker("binance", "BTC/USDT") as stream,
        ):
            events = aiter(stream)
            snapshot = await next_event(events)
            assert isinstance(snapshot, Snapshot) and isinstance(snapshot.data, Ticker)
            assert snapshot.data.price == 1.0 and snapshot.id == 1
            await writer.set_ticker("binance", "BTC/USDT", price=2.0, time=time.time())
            update = await next_event(events)
            assert isinstance(update, Update) and update.data.price == 2.0
            server.process.send_signal(signal.SIGTERM)
            rest = [event async for event in _bounded(events)]
    assert isinstance(rest[-1], Close) and rest[-1].reason == "shutdown"
    assert stream.closed == rest[-1] and stream.reconnections == 0
    assert not any(isinstance(event, Status) for event in rest)


async def _bounded(events: Any) -> Any:
    async with asyncio.timeout(WAIT):
        async for event in events:
            yield event


async def test_reconnects_after_the_server_is_killed_and_restarted(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """The gateway killed mid-stream: the client says it is reconnecting (its own `Status`),
    retries with backoff, and once a gateway answers on the port again yields a fresh
    snapshot and its updates."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    port = free_port()
    with gateway(flushed.url, port) as first:
        cache = AsyncCacheClient(first.url, reconnect=FAST)
        stream = cache.stream_ticker("binance", "BTC/USDT")
        events = aiter(stream)
        try:
            assert isinstance(await next_event(events), Snapshot)
            kill(first)
            dropped = await next_event(events)
            assert isinstance(dropped, Status) and dropped.source == "client"
            assert dropped.state == "reconnecting"
            await writer.set_ticker("binance", "BTC/USDT", price=3.0, time=time.time())
            with gateway(flushed.url, port):
                while isinstance(event := await next_event(events), Status):
                    assert event.source == "client"  # refused until the new one listens
                assert isinstance(event, Snapshot) and event.data is not None
                assert event.data.price == 3.0 and event.id == 1  # a new stream's first
                await writer.set_ticker("binance", "BTC/USDT", price=4.0, time=time.time())
                update = await next_event(events)
                assert isinstance(update, Update) and update.data.price == 4.0
        finally:
            await stream.aclose()
            await cache.aclose()
    assert stream.reconnections >= 1 and stream.closed is None


async def test_reconnection_gives_up_after_its_attempts(flushed: RedisServer) -> None:
    """With `attempts=2`, a stream whose gateway is gone raises `Unreachable` after exactly
    two failed reconnections, each announced by a client `Status`."""
    policy = Reconnect(initial=0.01, maximum=0.05, attempts=2)
    statuses: list[Status] = []
    with gateway(flushed.url) as server:

        async def follow() -> None:
            async with AsyncCacheClient(server.url, reconnect=policy) as cache:
                async for event in cache.stream_processes():
                    if isinstance(event, Snapshot):
                        kill(server)
                    elif isinstance(event, Status):
                        statuses.append(event)

        with pytest.raises(Unreachable):
            await asyncio.wait_for(follow(), WAIT)
    assert [status.source for status in statuses] == ["client", "client"]


async def test_a_refused_stream_is_retried_until_admitted(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """Past the gateway's stream limit the answer is 429 with Retry-After: the stream
    announces it, waits (capped by the policy), and is admitted once a place is free."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    with gateway(flushed.url, FULLON_CACHE_API_STREAM_MAX_TOTAL="1") as server:
        async with AsyncCacheClient(server.url, reconnect=FAST) as cache:
            holder = cache.stream_ticker("binance", "BTC/USDT")
            waiting = cache.stream_tickers("binance")
            held, refused = aiter(holder), aiter(waiting)
            try:
                assert isinstance(await next_event(held), Snapshot)
                status = await next_event(refused)
                assert isinstance(status, Status) and "429" in status.detail
                await holder.aclose()
                while isinstance(event := await next_event(refused), Status):
                    pass
                assert isinstance(event, Snapshot) and isinstance(event.data, TickerPage)
                assert [ticker.symbol for ticker in event.data.tickers] == ["BTC/USDT"]
            finally:
                await holder.aclose()
                await waiting.aclose()


async def test_process_and_ohlcv_streams_are_typed(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """Process broadcasts arrive as `ProcessBroadcast`; OHLCV windows as `BarPage`s."""
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[1717584000, 1, 2, 0.5, 1.5, 10.0]])
    with gateway(flushed.url) as server:
        async with AsyncCacheClient(server.url, reconnect=FAST) as cache:
            async with cache.stream_processes() as processes:
                events = aiter(processes)
                assert isinstance(await next_event(events), Snapshot)
                await writer.broadcast_message("bot", "paused", {"bot_id": 2})
                message = await next_event(events)
            assert isinstance(message, Update) and isinstance(message.data, ProcessBroadcast)
            assert message.data.message == "paused" and message.data.data == {"bot_id": 2}
            async with cache.stream_ohlcv("BTC/USDT", "1m", limit=5) as bars:
                first = await next_event(aiter(bars))
            assert isinstance(first, Snapshot) and isinstance(first.data, BarPage)
            assert first.data.bars == [[1717584000, 1, 2, 0.5, 1.5, 10.0]]


async def test_the_blocking_client(flushed: RedisServer, writer: CacheWriter) -> None:
    """`CacheClient` over a real server, from a thread: calls and pages over one reused
    connection, problems raised, a stream (snapshot, then an update after a change) and the
    poller (the answer, then the next change only)."""
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0, "used": 0.0, "total": 1.0}})
    for bot_id in (1, 2, 3):
        await writer.update_bot(bot_id, {"feed_1": {"status": "running"}, "name": f"b{bot_id}"})
    with gateway(flushed.url) as server:
        cache = CacheClient(server.url, reconnect=FAST)
        try:
            account = await asyncio.to_thread(cache.account, 1)
            bots = await asyncio.to_thread(lambda: [bot.bot_id for bot in cache.bots.items()])
            assert isinstance(account, Account) and bots == ["1", "2", "3"]
            assert sockets(server.process.pid, local_port=server.port) == 1  # one, reused
            with pytest.raises(NotFound) as missing:
                await asyncio.to_thread(cache.ticker, "binance", "NOPE/USDT")
            assert missing.value.status == 404 and missing.value.problem["status"] == 404
            with cache.stream_account(1) as stream:
                events = iter(stream)
                snapshot = await asyncio.wait_for(asyncio.to_thread(next, events), WAIT)
                assert isinstance(snapshot, Snapshot) and snapshot.data is not None
                balances = {"USDT": {"free": 5.0, "used": 0.0, "total": 5.0}}
                await writer.upsert_user_account(1, balances)
                update = await asyncio.wait_for(asyncio.to_thread(next, events), WAIT)
            assert isinstance(update, Update) and update.data.balances["USDT"]["total"] == 5.0
            changes = cache.poll(cache.account.request(1), interval=0.02)
            first = await asyncio.wait_for(asyncio.to_thread(next, changes), WAIT)
            balances = {"USDT": {"free": 6.0, "used": 0.0, "total": 6.0}}
            await writer.upsert_user_account(1, balances)
            second = await asyncio.wait_for(asyncio.to_thread(next, changes), WAIT)
            changes.close()
            totals = [account.balances["USDT"]["total"] for account in (first, second)]
            assert totals == [5.0, 6.0]
        finally:
            cache.close()


async def test_a_silent_stream_reconnects_after_its_read_timeout(
    flushed: RedisServer, writer: CacheWriter
) -> None:
    """Nothing read within `stream_read_timeout` (shorter here than the gateway's heartbeat):
    the client counts the connection dead, says so, reconnects, and gets a fresh snapshot."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    with gateway(flushed.url, FULLON_CACHE_API_STREAM_HEARTBEAT="30") as server:
        cache = AsyncCacheClient(server.url, reconnect=FAST, stream_read_timeout=0.5)
        async with cache, cache.stream_ticker("binance", "BTC/USDT") as stream:
            events = aiter(stream)
            await until_snapshot(events)  # (a loaded machine may time out a first answer)
            silent = await next_event(events)
            assert isinstance(silent, Status) and silent.source == "client"
            assert "read timeout" in silent.detail
            again = await until_snapshot(events)
    assert again.id == 1 and stream.reconnections >= 1


async def until_snapshot(events: Any) -> Snapshot[Any]:
    """Skip the client's reconnection statuses up to the next snapshot."""
    while isinstance(event := await next_event(events), Status):
        assert event.source == "client", event
    assert isinstance(event, Snapshot), event
    return event
