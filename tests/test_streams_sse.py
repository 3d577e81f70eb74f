"""Server-Sent Events against a real uvicorn server and a real redis-server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from fullon_cache_api import Settings
from fullon_cache_api._settings import ApiKey
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.security._auth import Identity, Ownership, hash_api_key

from .support.credentials import ADMIN_KEY, HEADERS
from .support.streams import Gateway, eventually, pubsub_connections, pubsub_counts, serve, sse

# Under uvicorn and under granian (`serve --server granian`), over real sockets.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("each_server")]

NOW = time.time()
USER_KEY = "streams-user-key"


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with serve(settings) as running:
        yield running


@pytest.fixture
async def http(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=10) as client:
        yield client


async def channels_are(writer: CacheWriter, numpat: int, channels: list[str]) -> None:
    async def check() -> bool:
        return await pubsub_counts(writer.redis) == (numpat, channels)

    await eventually(check)


async def test_ticker_stream_starts_with_snapshot_then_updates(
    http: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """One ticker: the cached value first, then each value fullon_cache publishes."""
    await writer.set_ticker("binance", "BTC/USDT", price=100.0, time=NOW)
    async with sse(http, "/tickers/binance/BTC/USDT/stream") as stream:
        first = await stream.next()
        assert (first.event, first.id, first.data["price"]) == ("snapshot", 1, 100.0)
        await writer.set_ticker("binance", "BTC/USDT", price=101.5, bid=101.0, time=NOW + 1)
        update = await stream.next()
        assert (update.event, update.id) == ("update", 2)
        assert update.data["symbol"] == "BTC/USDT"
        assert (update.data["price"], update.data["bid"]) == (101.5, 101.0)
        assert update.data["time"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(NOW)))


async def test_undecodable_messages_are_skipped(
    http: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """A message that is not a ticker's JSON is skipped; the stream goes on."""
    async with sse(http, "/tickers/binance/BTC/USDT/stream") as stream:
        assert (await stream.next()).event == "snapshot"
        await writer.redis.publish("ticker_updates:binance:BTC/USDT", b"\xff not json")
        await writer.redis.publish("ticker_updates:binance:BTC/USDT", b"[1, 2]")
        await writer.set_ticker("binance", "BTC/USDT", price=7.0, time=NOW)
        update = await stream.next()
        assert (update.event, update.id, update.data["price"]) == ("update", 2, 7.0)


async def test_absent_ticker_snapshot_is_null_then_updates(
    http: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """A ticker not cached yet: a null snapshot, then its first publication."""
    async with sse(http, "/tickers/kraken/ETH/EUR/stream") as stream:
        first = await stream.next()
        assert (first.event, first.data) == ("snapshot", None)
        await writer.set_ticker("kraken", "ETH/EUR", price=3000.0, time=NOW)
        assert (await stream.next()).data["price"] == 3000.0


async def test_exchange_stream_is_one_pattern_for_all_clients(
    http: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Two clients of an exchange: one PSUBSCRIBE, a TickerList, updates named per channel."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=NOW)
    async with (
        sse(http, "/tickers/binance/stream") as first,
        sse(http, "/tickers/binance/stream") as second,
    ):
        for stream in (first, second):
            snapshot = await stream.next()
            assert snapshot.event == "snapshot"
            assert [t["symbol"] for t in snapshot.data["tickers"]] == ["BTC/USDT"]
        assert await pubsub_counts(writer.redis) == (1, [])
        await writer.set_ticker("binance", "ETH/USDT", price=2.0, time=NOW)
        await writer.set_ticker("kraken", "ETH/USDT", price=9.0, time=NOW)  # not this exchange
        await writer.set_ticker("binance", "BTC/USDT", price=4.0, time=NOW)
        for stream in (first, second):
            got = [(await stream.next()).data for _ in range(2)]
            assert [(t["exchange"], t["symbol"], t["price"]) for t in got] == [
                ("binance", "ETH/USDT", 2.0),
                ("binance", "BTC/USDT", 4.0),
            ]
    await channels_are(writer, 0, [])


async def test_subscription_is_refcounted(
    http: httpx.AsyncClient, writer: CacheWriter, gateway: Gateway
) -> None:
    """Three clients of one ticker: one SUBSCRIBE on one connection; gone after the last."""
    channel = "ticker_updates:binance:BTC/USDT"
    path = "/tickers/binance/BTC/USDT/stream"
    async with sse(http, path) as a, sse(http, path) as b:
        async with sse(http, path) as c:
            for stream in (a, b, c):
                assert (await stream.next()).event == "snapshot"
            assert await pubsub_counts(writer.redis) == (0, [channel])
            assert await writer.redis.pubsub_numsub(channel) == [(channel.encode(), 1)]
            assert await pubsub_connections(writer.redis) == 1
            assert gateway.hub.stats().feeds == 3
        await eventually(lambda: _feeds(gateway, 2))
        assert await pubsub_counts(writer.redis) == (0, [channel])
    await channels_are(writer, 0, [])
    assert gateway.hub.stats().sources == 0
    assert await pubsub_connections(writer.redis) == 1  # the link stays, idle


async def _feeds(gateway: Gateway, count: int) -> bool:
    return gateway.hub.stats().feeds == count


async def test_process_stream_sends_active_processes_then_broadcasts(
    http: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Process stream: the active processes, then each process:broadcast:* message."""
    await writer.register_process("tick", "binance:BTC/USDT")
    async with sse(http, "/processes/stream") as stream:
        snapshot = await stream.next()
        assert snapshot.event == "snapshot"
        assert [p["component"] for p in snapshot.data["processes"]] == ["binance:BTC/USDT"]
        await writer.broadcast_message("tick", "restart", {"reason": "deploy"})
        update = await stream.next()
        assert update.event == "update"
        assert update.data["process_type"] == "tick"
        assert (update.data["message"], update.data["data"]) == ("restart", {"reason": "deploy"})
        assert update.data["timestamp"].endswith("Z")


Write = Callable[[CacheWriter, int], Awaitable[Any]]


async def _balances(writer: CacheWriter, n: int) -> None:
    await writer.upsert_user_account(1, {"USDT": {"free": float(n), "total": float(n)}})


async def _positions(writer: CacheWriter, n: int) -> None:
    await writer.upsert_positions(1, [{"symbol": "BTC/USDT", "volume": float(n)}])


async def _orders(writer: CacheWriter, n: int) -> None:
    await writer.save_order("binance", {"ex_order_id": f"EX_{n}", "ex_id": 1, "status": "open"})


async def _bots(writer: CacheWriter, n: int) -> None:
    await writer.update_bot(42, {"feed_1": {"status": f"run {n}"}})


async def _bars(writer: CacheWriter, n: int) -> None:
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[1717584000 + 60 * n, 1, 2, 0.5, 1.5, n]])


POLLED: list[tuple[str, Write, Callable[[Any], Any]]] = [
    ("/accounts/1/stream", _balances, lambda d: d["balances"]["USDT"]["free"]),
    ("/accounts/1/positions/stream", _positions, lambda d: d["positions"][0]["volume"]),
    ("/orders/binance/stream", _orders, lambda d: d["count"]),
    ("/bots/stream", _bots, lambda d: d["bots"][0]["feeds"]["feed_1"]["data"]["status"]),
    ("/ohlcv/BTC/USDT/1m/stream", _bars, lambda d: d["bars"][-1][5]),
]


@pytest.mark.parametrize(("path", "write", "seen"), POLLED, ids=[p for p, _, _ in POLLED])
async def test_polled_stream_sends_snapshot_then_changes_only(
    http: httpx.AsyncClient,
    writer: CacheWriter,
    path: str,
    write: Write,
    seen: Callable[[Any], Any],
) -> None:
    """Polled stream: a snapshot, one update per change, nothing while the key is unchanged."""
    await write(writer, 1)
    async with sse(http, path) as stream:
        snapshot = await stream.next()
        assert snapshot.event == "snapshot"
        first = seen(snapshot.data)
        with pytest.raises(TimeoutError):  # sixteen poll intervals, no change, no event
            await stream.next(within=0.8)
        assert stream.comments >= 1  # but the heartbeat (every 0.5 s of silence)
        await write(writer, 2)
        update = await stream.next()
        assert update.event == "update"
        assert seen(update.data) != first
        assert update.id == snapshot.id + 1


async def test_corrupt_entry_is_a_problem_event_then_recovers(
    http: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Corrupt balances: a problem event (502) stands in for the snapshot; a fix is an update."""
    await writer.redis.hset("accounts", "1", "{not json")
    async with sse(http, "/accounts/1/stream") as stream:
        problem = await stream.next()
        assert problem.event == "problem"
        assert problem.data["status"] == 502
        await _balances(writer, 5)
        update = await stream.next()
        assert (update.event, update.data["balances"]["USDT"]["free"]) == ("update", 5.0)


async def test_head_answers_headers_and_subscribes_nothing(
    http: httpx.AsyncClient, gateway: Gateway
) -> None:
    """HEAD on a stream: 200 text/event-stream, no body, no source."""
    response = await http.head("/tickers/binance/stream")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == b""
    assert gateway.hub.stats().sources == 0


@pytest.mark.parametrize(
    "path",
    [
        "/tickers/bin*ance/stream",
        "/ohlcv/BTC/USDT/1x/stream",
        "/ohlcv/BTC/USDT/1m/stream?limit=0",
        "/ohlcv/BTC/USDT/1m/stream?limit=1001",
        "/orders/binance/stream?limit=x",
        "/accounts/abc/stream",
    ],
)
async def test_invalid_parameters_are_422(http: httpx.AsyncClient, path: str) -> None:
    """Invalid path or query values are refused before any stream starts."""
    response = await http.get(path)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_streams_need_identity_and_accept_query_token(
    gateway: Gateway, writer: CacheWriter
) -> None:
    """No credentials: 401 problem; ``?token=<API key>`` (EventSource style) is accepted."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as anonymous:
        refused = await anonymous.get("/tickers/binance/stream")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        async with sse(anonymous, f"/tickers/binance/stream?token={ADMIN_KEY}") as stream:
            assert (await stream.next()).event == "snapshot"


@pytest.fixture
def user_settings(settings: Settings) -> Settings:
    """The test settings plus a non-admin API key named ``user``."""
    user = ApiKey(name="user", sha256=hash_api_key(USER_KEY))
    auth = settings.auth
    return Settings(
        redis_url=settings.redis_url,
        redis_socket_timeout=settings.redis_socket_timeout,
        auth=type(auth)(api_keys=(*auth.api_keys, user)),
    )


async def _grant(identity: Identity) -> Ownership:
    return Ownership(ex_ids=frozenset({"1"}), bot_ids=frozenset({"42"}))


async def test_private_streams_honour_ownership(
    user_settings: Settings, writer: CacheWriter
) -> None:
    """A non-admin: 404 on accounts and order keys it does not own; lists show only its own."""
    await _balances(writer, 1)
    await writer.upsert_user_account(2, {"USDT": {"free": 2.0}})
    await writer.update_bot(42, {"name": "mine"})
    await writer.update_bot(43, {"name": "theirs"})
    await writer.save_order("binance", {"ex_order_id": "A1", "ex_id": 1, "status": "open"})
    await writer.save_order("binance", {"ex_order_id": "B1", "ex_id": 2, "status": "open"})
    async with (
        serve(user_settings, ownership=_grant) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers={"X-API-Key": USER_KEY}) as http,
    ):
        for path in ("/accounts/2/stream", "/accounts/2/positions/stream", "/orders/2/stream"):
            refused = await http.get(path)
            assert refused.status_code == 404, path
            assert refused.headers["content-type"] == "application/problem+json"
        async with sse(http, "/accounts/1/stream") as stream:
            assert (await stream.next()).data["ex_id"] == "1"
        async with sse(http, "/bots/stream") as stream:
            assert [bot["bot_id"] for bot in (await stream.next()).data["bots"]] == ["42"]
        async with sse(http, "/orders/binance/stream") as stream:
            assert [o["order_id"] for o in (await stream.next()).data["orders"]] == ["A1"]
