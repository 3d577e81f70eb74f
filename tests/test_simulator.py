"""The demo's live feed: tickers move and publish, bars append per period, processes heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.seed import seed
from fullon_cache_api.demo.simulator import Simulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def redis(flushed: RedisServer) -> AsyncIterator[Redis]:
    """A client on the seeded test database, for the simulator and the checks."""
    client = Redis(port=flushed.port, decode_responses=True)
    try:
        await seed(CacheWriter(client))
        yield client
    finally:
        await client.aclose()


async def heartbeats(redis: Redis) -> dict[str, tuple[str, str]]:
    """component -> (status, heartbeat) of every registered process."""
    found = {}
    for component, process_id in (await redis.hgetall("process:components")).items():
        document = json.loads(await redis.get(f"process:data:{process_id}"))
        found[component] = (document["status"], document["heartbeat"])
    return found


async def test_live_feed_moves_and_publishes(redis: Redis, client: httpx.AsyncClient) -> None:
    """Within ~2 s: a ticker update is published, ticker time and heartbeats advance."""
    before_tick = json.loads(await redis.hget("tickers:binance", "BTC/USDT"))
    before_beats = await heartbeats(redis)
    simulator = Simulator(redis, tick_interval=0.1, order_interval=0.2, heartbeat_interval=0.3)
    async with redis.pubsub() as pubsub:
        await pubsub.psubscribe("ticker_updates:*")
        await pubsub.get_message(timeout=1.0)  # the psubscribe confirmation
        feed = asyncio.create_task(simulator.run())
        try:
            message = None
            async with asyncio.timeout(5):
                while message is None:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            await asyncio.sleep(1.0)
        finally:
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed
    assert feed.cancelled()
    assert message["channel"].startswith("ticker_updates:")
    exchange, symbol = message["channel"].removeprefix("ticker_updates:").split(":", 1)
    published = json.loads(message["data"])  # the same JSON text as the hash value
    assert (published["exchange"], published["symbol"]) == (exchange, symbol)
    after_tick = json.loads(await redis.hget("tickers:binance", "BTC/USDT"))
    assert after_tick["time"] > before_tick["time"] and time.time() - after_tick["time"] < 2
    assert float(await redis.get("ticker_time:binance:BTC/USDT")) == after_tick["time"]
    after_beats = await heartbeats(redis)
    for component, (status, beat) in before_beats.items():
        moved = after_beats[component][1] > beat
        assert moved == (status != "error"), component  # a process in error stays silent
    served = (await client.get("/tickers/binance/BTC/USDT")).json()
    assert served["price"] == after_tick["price"] and served["age_seconds"] < 2
    orders = await redis.hgetall("order_status:binance")
    assert {"SIM-1", "SIM-2", "SIM-3"} <= set(orders)


class Clock:
    """A settable clock for the simulator."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("unit", [1, 1000], ids=["seconds", "milliseconds"])
async def test_bars_append_once_per_completed_period(flushed: RedisServer, unit: int) -> None:
    """A 1m series gets one bar per completed minute, appended, never rewritten, stamped in
    the unit the series already uses."""
    start = 1717584000  # a minute boundary
    async with Redis(port=flushed.port, decode_responses=True) as redis:
        writer = CacheWriter(redis)
        await writer.set_ticker("binance", "BTC/USDT", price=100.0, time=start)
        seeded = [start * unit, 99, 101, 98, 100.5, 3.0]
        await writer.update_ohlcv_bars("BTC/USDT", "1m", [seeded])
        clock = Clock(start + 30.0)
        simulator = Simulator(redis, clock=clock, seed=1)
        await simulator.prepare()
        stamps = []
        for now in (start + 30, start + 90, start + 119, start + 121, start + 150, start + 185):
            clock.now = now
            await simulator.step()
            bars = [json.loads(bar) for bar in await redis.lrange("ohlcv:BTC/USDT:1m", 0, -1)]
            stamps.append([bar[0] // unit - start for bar in bars])
    assert stamps == [[0], [0], [0], [0, 60], [0, 60], [0, 60, 120]]
    stored, first, second = bars
    assert stored == seeded
    assert first[1] == 100.5  # opens at the previous close
    for bar in (first, second):
        assert len(bar) == 6 and bar[2] >= max(bar[1], bar[4]) and bar[3] <= min(bar[1], bar[4])
    assert second[1] == first[4]


async def test_feed_is_bounded(redis: Redis) -> None:
    """Many steps add no keys after the first order cycle and never make a hash expire."""
    clock = Clock(time.time())
    simulator = Simulator(redis, clock=clock, order_interval=1.0, heartbeat_interval=1.0)
    await simulator.prepare()
    for _ in range(3):
        clock.now += 1.0
        await simulator.step()
    keys = {key async for key in redis.scan_iter()}
    fields = await redis.hlen("order_status:binance")
    for _ in range(40):
        clock.now += 1.0
        await simulator.step()
    assert {key async for key in redis.scan_iter()} == keys
    assert await redis.hlen("order_status:binance") == fields
    assert await redis.ttl("order_status:binance") == -1
    statuses = {
        json.loads(v)["status"]
        for k, v in (await redis.hgetall("order_status:binance")).items()
        if k.startswith("SIM-")
    }
    assert statuses <= {"open", "partially_filled", "filled"}


async def test_feed_stops_on_every_cancel(redis: Redis) -> None:
    """Cancelled at any point, even mid-write, the feed ends (the demo's Ctrl-C waits on it).

    redis-py 8 may finish a command its task was cancelled in and return normally; the feed
    must still stop, not sleep and step on with the cancel lost.
    """
    simulator = Simulator(redis, tick_interval=0.0, seed=7)  # always inside a write
    rng = random.Random(7)
    for _ in range(30):
        feed = asyncio.create_task(simulator.run())
        await asyncio.sleep(rng.uniform(0.0, 0.02))
        feed.cancel()
        done, _ = await asyncio.wait({feed}, timeout=2.0)
        assert done, "the feed went on after it was cancelled"
        assert feed.cancelled()


async def test_a_simulated_order_goes_open_then_partially_filled_then_filled(
    redis: Redis, client: httpx.AsyncClient
) -> None:
    """Driving the clock one order interval per step, the gateway serves ``SIM-1`` open, then
    partially filled, then filled (its filled volume 0, then half, then all)."""
    clock = Clock(time.time())
    simulator = Simulator(redis, clock=clock, seed=3)
    await simulator.prepare()
    exchange = simulator.quotes[0].exchange  # SIM-1 trades the first ticker found
    seen: list[tuple[str, float]] = []
    for _ in range(9):  # three orders advanced in turn: SIM-1 moves every third round
        await simulator.step()
        served = await client.get(f"/orders/{exchange}/SIM-1")
        assert served.status_code == 200, served.text
        state = (served.json()["status"], served.json()["final_volume"])
        if not seen or seen[-1] != state:
            seen.append(state)
        clock.now += simulator.order_interval
    assert seen == [("open", 0.0), ("partially_filled", 0.5), ("filled", 1.0)]


async def test_the_default_feed_ticks_several_times_a_second(redis: Redis) -> None:
    """With its defaults the feed publishes a ticker at least 3 times in about 1 s."""
    simulator = Simulator(redis)
    assert simulator.tick_interval <= 0.5
    loop = asyncio.get_running_loop()
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe("ticker_updates:binance:BTC/USDT")
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        feed = asyncio.create_task(simulator.run())
        try:
            first = None
            async with asyncio.timeout(5):
                while first is None:
                    first = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            ticks = 1
            window_end = loop.time() + 1.0  # one second counted from the first tick
            while (left := window_end - loop.time()) > 0:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
                ticks += message is not None
        finally:
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed
    assert ticks >= 3, f"{ticks} ticks in 1 s"
