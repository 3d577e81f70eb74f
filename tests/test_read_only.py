"""Read-only by construction: the surface works for a read-only ACL user and writes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import redis
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter, RedisServer

from .support.acl import ALLOWED, PUBSUB, READER_ACL, TRACKING_READER_ACL
from .support.apps import in_process
from .support.monitor import monitored
from .support.streams import Gateway, eventually, pubsub_counts, serve, sse
from .support.surface import NOW, SAMPLES, STREAM_SAMPLES, seed_surface

pytestmark = pytest.mark.anyio

# Bounds of the stream crawl: each stream's first event, and the hub letting go of Redis.
FIRST_EVENT_WITHIN = 5.0


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisServer]:
    """A redis-server whose `reader` user may only read."""
    with RedisServer(extra_config=[READER_ACL, TRACKING_READER_ACL]) as server:
        yield server


@pytest.fixture
async def seeded_acl(acl_server: RedisServer) -> RedisServer:
    admin = Redis(port=acl_server.port)
    await admin.flushall()
    await seed_surface(CacheWriter(admin))
    await admin.aclose()
    return acl_server


def test_reader_user_cannot_write(acl_server: RedisServer) -> None:
    """The ACL really forbids writes (so the next test proves something)."""
    with (
        redis.Redis(port=acl_server.port, username="reader", password="reader-pw") as reader,
        pytest.raises(redis.exceptions.NoPermissionError),
    ):
        reader.set("probe", "1")


@pytest.mark.parametrize(("user", "near_cache"), [("reader", False), ("tracker", True)])
async def test_surface_works_as_read_only_user(
    seeded_acl: RedisServer, user: str, near_cache: bool
) -> None:
    """Every route answers 200 (twice) as a read-only ACL user, with or without the near cache."""
    settings = Settings(redis_url=seeded_acl.url, redis_username=user, redis_password=f"{user}-pw")
    app = create_app(settings=settings, auth=False)
    async with (
        in_process(app) as http,
    ):
        for _ in range(2):  # the second crawl is served from the near cache where it is on
            for template, path in SAMPLES.items():
                response = await http.get(path)
                assert response.status_code == 200, (template, response.text)
        hits = app.state.reader.redis.store.hits
    assert (hits > 0) is near_cache


@pytest.mark.parametrize("user", ["reader", "tracker"])
async def test_streams_work_as_read_only_user(seeded_acl: RedisServer, user: str) -> None:
    """Every stream opens with its snapshot as a read-only ACL user, and the hub's pub/sub
    link subscribes and unsubscribes without a refusal."""
    settings = Settings(redis_url=seeded_acl.url, redis_username=user, redis_password=f"{user}-pw")
    admin = Redis(port=seeded_acl.port)
    try:
        async with serve(settings, auth=False) as gateway:
            await assert_streams_deliver(gateway, admin)
    finally:
        await admin.aclose()


async def assert_streams_deliver(gateway: Gateway, admin: Redis) -> None:
    """A WebSocket `stream_tickers` and every SSE route deliver their snapshot, a published
    tick arrives, then the hub lets go of every topic; its pub/sub link never failed on the
    way (a refused SUBSCRIBE or UNSUBSCRIBE would have made it reconnect)."""
    await websocket_ticker_snapshot(gateway)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        for template, path in STREAM_SAMPLES.items():
            async with sse(http, path) as stream:
                first = await stream.next(FIRST_EVENT_WITHIN)
                assert first.event == "snapshot", (template, first)
        # An update proves the subscription itself, beyond the snapshot's reads.
        async with sse(http, "/tickers/binance/BTC/USDT/stream") as stream:
            assert (await stream.next(FIRST_EVENT_WITHIN)).event == "snapshot"
            await CacheWriter(admin).set_ticker(
                "binance", "BTC/USDT", price=50001.0, time=NOW.timestamp()
            )
            update = await stream.next(FIRST_EVENT_WITHIN)
            assert (update.event, update.data["price"]) == ("update", 50001.0)

    async def released() -> bool:
        return await pubsub_counts(admin) == (0, [])

    await eventually(released)
    link = gateway.hub.link
    assert (link.connects, link.down_detail) == (1, None)


async def websocket_ticker_snapshot(gateway: Gateway) -> None:
    """`stream_tickers` on the tickers socket: its confirmation, then the ticker's snapshot."""
    params = {"exchange": "binance", "symbols": ["BTC/USDT"]}
    async with connect(f"{gateway.ws_url}/ws/v2/tickers/read-only") as ws:
        await ws.send(json.dumps({"action": "stream_tickers", "request_id": "1", "params": params}))
        confirmation = json.loads(await asyncio.wait_for(ws.recv(), FIRST_EVENT_WITHIN))
        assert confirmation["success"], confirmation
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), FIRST_EVENT_WITHIN))
        assert snapshot.get("snapshot") is True, snapshot
        assert snapshot["result"]["price"] == 50000.0, snapshot


@pytest.mark.slow
async def test_monitor_sees_no_write(seeded_acl: RedisServer) -> None:
    """MONITOR during a full crawl, streams included, records only read, connection and
    (un)subscribe commands from the gateway (the test's own writes and probes are left out)."""
    # One connection, so its address tells the test's commands apart from the gateway's.
    admin = Redis(port=seeded_acl.port, single_connection_client=True)
    try:
        admin_address = (await admin.client_info())["addr"]
        with monitored(seeded_acl.port) as seen:
            async with (
                serve(Settings(redis_url=seeded_acl.url), auth=False) as gateway,
                httpx.AsyncClient(base_url=gateway.url, timeout=10) as http,
            ):
                for path in SAMPLES.values():
                    assert (await http.get(path)).status_code == 200, path
                await assert_streams_deliver(gateway, admin)
    finally:
        await admin.aclose()
    sent = {command for address, command in seen if address != admin_address}
    assert sent >= PUBSUB, "MONITOR did not capture the streams' (un)subscriptions"
    assert sent <= ALLOWED, sent - ALLOWED
