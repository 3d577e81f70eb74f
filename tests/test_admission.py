"""Stream admission: per-identity and process-wide limits on open streams (SSE responses and
WebSocket subscriptions), a cap on distinct polled keys, and counts that always return to zero."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fullon_cache_api import Settings
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.streams import Hub

from .support.credentials import ADMIN_KEY, HEADERS
from .support.slow_clients import drain_until_closed, small_server_socket, stalled_client, tick_json
from .support.streams import SseReader, eventually, fast_streams, serve, sse, with_user_key

pytestmark = pytest.mark.anyio

USER_KEY = "admission-user-key"
USER = {"X-API-Key": USER_KEY}


def ticker(symbol: str) -> str:
    return f"/tickers/binance/{symbol}/USDT/stream"


def bars(symbol: str) -> str:
    return f"/ohlcv/{symbol}/USDT/1m/stream"


async def open_sse(stack: AsyncExitStack, http: httpx.AsyncClient, path: str) -> SseReader:
    stream = await stack.enter_async_context(sse(http, path))
    assert (await stream.next()).event == "snapshot"
    return stream


async def refusal(http: httpx.AsyncClient, path: str) -> httpx.Response:
    """The answer to a stream request expected to be refused (bounded by the client timeout)."""
    async with http.stream("GET", path) as response:
        await response.aread()
        return response


def assert_429(response: httpx.Response, words: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    problem = response.json()
    assert problem["status"] == 429 and problem["type"].endswith(":too-many-streams")
    assert words in problem["detail"]


async def counts(hub: Hub) -> tuple[int, int, int]:
    stats = hub.stats()
    return stats.streams, stats.identities, stats.polled_keys


async def released(hub: Hub) -> None:
    """Every admission ticket and poller given back (bounded wait)."""

    async def zero() -> bool:
        return await counts(hub) == (0, 0, 0)

    await eventually(zero)


async def ask(ws: ClientConnection, action: str, request_id: Any, **params: Any) -> Any:
    await ws.send(json.dumps({"action": action, "request_id": request_id, "params": params}))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def test_sse_past_the_identity_limit_answers_429(settings: Settings) -> None:
    """An identity holding its maximum of streams gets 429 (problem, Retry-After) for one
    more; another identity is still admitted; a closed stream frees its place."""
    streams = fast_streams(max_per_identity=3)
    async with (
        serve(with_user_key(settings, USER_KEY), streams) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers=USER, timeout=10) as user,
        httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as admin,
    ):
        async with AsyncExitStack() as stack:
            first = await open_sse(stack, user, ticker("A"))
            for symbol in ("B", "C"):
                await open_sse(stack, user, ticker(symbol))
            assert_429(await refusal(user, ticker("D")), "at most 3 open streams per identity")
            await open_sse(stack, admin, ticker("D"))
            assert await counts(gateway.hub) == (4, 2, 0)
            await first.close()
        await released(gateway.hub)
        async with AsyncExitStack() as stack:
            await open_sse(stack, user, ticker("D"))


async def test_process_limit_applies_to_everyone_and_alone_without_auth(
    settings: Settings,
) -> None:
    """Past `max_total` every identity gets 429; with authentication off the one anonymous
    caller is not held to the per-identity limit, only to the process's."""
    streams = fast_streams(max_per_identity=1, max_total=3)
    async with (
        serve(settings, streams, auth=False) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=10) as http,
        AsyncExitStack() as stack,
    ):
        for symbol in ("A", "B", "C"):
            await open_sse(stack, http, ticker(symbol))
        assert_429(await refusal(http, ticker("D")), "maximum of 3 streams")
        assert await counts(gateway.hub) == (3, 0, 0)


async def test_polled_keys_are_capped_and_pollers_stay_shared(settings: Settings) -> None:
    """`max_polled_keys` distinct keys get pollers; a new key past it is refused (SSE 429,
    WebSocket error frame), while more streams on a polled key share its poller."""
    streams = fast_streams(max_polled_keys=2)
    async with (
        serve(settings, streams) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as http,
        AsyncExitStack() as stack,
    ):
        for symbol in ("A", "B", "A", "A"):
            await open_sse(stack, http, bars(symbol))
        assert_429(await refusal(http, bars("C")), "2 distinct keys")
        await open_sse(stack, http, ticker("C"))  # pub/sub: no poller needed
        stats = gateway.hub.stats()
        assert (stats.polled_keys, stats.streams, stats.sources) == (2, 5, 3)
        url = f"{gateway.ws_url}/ws/v2/ohlcv/c1?token={ADMIN_KEY}"
        async with connect(url) as ws:
            refused = await ask(ws, "stream_ohlcv", "r", symbol="C/USDT", timeframe="1m")
            assert (refused["success"], refused["error_code"]) == (False, "TOO_MANY_STREAMS")
            shared = await ask(ws, "stream_ohlcv", "s", symbol="A/USDT", timeframe="1m", count=100)
            assert shared["success"] is True
            assert gateway.hub.stats().polled_keys == 2
        assert gateway.hub.admission.refused == 2  # /metrics: streams_refused_total


async def test_websocket_subscriptions_count_and_a_full_identity_gets_1013(
    settings: Settings,
) -> None:
    """Each stream action is one stream of the identity: past the limit an error frame (the
    socket lives on), a new socket is closed with 1013, and SSE is refused too; replacing a
    stream (same request id) or unsubscribing frees its place."""
    streams = fast_streams(max_per_identity=2)
    async with serve(with_user_key(settings, USER_KEY), streams) as gateway:
        url = f"{gateway.ws_url}/ws/v2/tickers/c1?token={USER_KEY}"
        async with connect(url) as ws:
            for request_id in ("a", "b", "a"):
                assert (await ask(ws, "stream_tickers", request_id, exchange="x"))["success"]
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["snapshot"] is True
            refused = await ask(ws, "stream_tickers", "c", exchange="x")
            assert (refused["success"], refused["error_code"]) == (False, "TOO_MANY_STREAMS")
            assert "at most 2 open streams per identity" in refused["error"]
            async with connect(url) as second:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(second.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1013 and "per identity" in closed.value.rcvd.reason
            async with httpx.AsyncClient(base_url=gateway.url, headers=USER, timeout=10) as http:
                assert_429(await refusal(http, ticker("A")), "per identity")
            assert gateway.hub.admission.refused == 3  # error frame, 1013 and 429 all count
            assert (await ask(ws, "unsubscribe", "u", stream_key="c1:a"))["success"] is True
            assert (await ask(ws, "stream_tickers", "c", exchange="x"))["success"] is True
            assert await counts(gateway.hub) == (2, 1, 0)
        await released(gateway.hub)


@pytest.mark.slow
async def test_counts_return_to_zero_on_every_way_out(
    settings: Settings, writer: CacheWriter
) -> None:
    """Many streams opened and ended every way (client gone, cancelled, refused, cut off as
    slow, unsubscribed, replaced, socket aborted, gateway shutdown): every ticket and poller
    is given back."""
    sock = small_server_socket()
    streams = fast_streams(send_timeout=0.3, heartbeat=5, max_polled_keys=4)
    async with (
        serve(settings, streams, sock=sock) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as http,
    ):
        hub = gateway.hub
        for n in range(30):  # the client leaves mid-stream
            async with AsyncExitStack() as stack:
                await open_sse(stack, http, bars("ABCD"[n % 4]) if n % 2 else ticker(str(n)))
        for _ in range(10):  # the client's task is cancelled before any event
            reading = asyncio.create_task(refusal(http, bars("A")))
            await eventually(lambda: _holding(hub, 1))
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            await released(hub)
        async with AsyncExitStack() as stack:  # refused past the polled-key cap
            for symbol in "ABCD":
                await open_sse(stack, http, bars(symbol))
            for _ in range(5):
                assert (await refusal(http, bars("E"))).status_code == 429
            assert await counts(hub) == (4, 1, 4)
        await released(hub)
        await _slow_client_cut_off(gateway.hub, sock.getsockname()[1], writer)
        await released(hub)
        await _websocket_ways_out(f"{gateway.ws_url}/ws/v2/ohlcv/c1?token={ADMIN_KEY}")
        await released(hub)
        async with AsyncExitStack() as stack:  # the gateway shuts down
            opened = [await open_sse(stack, http, bars(symbol)) for symbol in "AB"]
            hub.shutdown()
            for stream in opened:
                assert (await stream.until("close")).data["reason"] == "shutdown"
        await released(hub)


async def _holding(hub: Hub, streams: int) -> bool:
    return hub.stats().streams == streams


async def _slow_client_cut_off(hub: Hub, port: int, writer: CacheWriter) -> None:
    """A client that stops reading a ticker stream until the hub cuts it off."""
    slow = await stalled_client(port, ticker("BTC"))
    started, price = time.monotonic(), 0
    while hub.stats().cutoffs == 0:
        price += 1
        async with writer.redis.pipeline(transaction=False) as pipe:
            for _ in range(50):
                pipe.publish("ticker_updates:binance:BTC/USDT", tick_json(price))
            await pipe.execute()
        await asyncio.sleep(0.01)
        assert time.monotonic() - started < 15
    await drain_until_closed(slow)
    slow.close()


async def _websocket_ways_out(url: str) -> None:
    """Streams unsubscribed, replaced, refused, and abandoned with their socket."""
    for n in range(10):
        async with connect(url, close_timeout=0.2) as ws:
            for request_id in ("a", "b", "a"):
                reply = await ask(ws, "stream_ohlcv", request_id, symbol="A/USDT", timeframe="1m")
                assert reply["success"] is True
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["snapshot"] is True
            assert (await ask(ws, "unsubscribe", "u", stream_key="c1:b"))["success"] is True
            if n % 2:
                ws.transport.abort()  # no close frame at all
