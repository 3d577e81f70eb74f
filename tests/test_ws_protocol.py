"""The WebSockets in this gateway's richer shapes (``/ws/v2``), over real sockets (uvicorn +
``websockets``); the original shapes of the original URLs are pinned in test_ws_original.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fullon_cache_api import Settings
from fullon_cache_api._app import all_routes
from fullon_cache_api._settings import ApiKey
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.security._auth import Identity, Ownership, hash_api_key

from .support.credentials import ADMIN_KEY
from .support.streams import Gateway, eventually, fast_streams, pubsub_counts, serve
from .support.surface import TRADE, seed_surface

# Under uvicorn and under granian (`serve --server granian`), over real sockets.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("each_server")]

DOMAINS = ("tickers", "orders", "trades", "accounts", "bots", "ohlcv", "process")
USER_KEY = "ws-user-key"


@pytest.fixture
async def gateway(settings: Settings, writer: CacheWriter) -> AsyncIterator[Gateway]:
    await seed_surface(writer)
    async with serve(settings) as running:
        yield running


def socket_url(gateway: Gateway, domain: str, key: str = ADMIN_KEY) -> str:
    path = "/ws/v2" if not domain else f"/ws/v2/{domain}/test-1"
    return f"{gateway.ws_url}{path}?token={key}"


async def ask(ws: ClientConnection, action: str, request_id: Any = "r", **params: Any) -> Any:
    """Send one action and return the next frame."""
    await ws.send(json.dumps({"action": action, "request_id": request_id, "params": params}))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def frame(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


def test_the_original_eight_routes_exist_and_their_v2_twins() -> None:
    """`/ws` and `/ws/{domain}/{connection_id}` for the seven domains the master looks for,
    and the same eight under ``/ws/v2`` (the richer shapes)."""
    paths = sorted(getattr(route, "path", "") for route in all_routes())
    original = ["/ws", *(f"/ws/{domain}/{{connection_id}}" for domain in DOMAINS)]
    richer = [path.replace("/ws", "/ws/v2", 1) for path in original]
    assert [path for path in paths if path.startswith("/ws")] == sorted(original + richer)


async def test_every_socket_answers_ping(gateway: Gateway) -> None:
    """`ping` on each of the eight sockets answers ``{"status": "ok"}`` with the request id."""
    for domain in ("", *DOMAINS):
        async with connect(socket_url(gateway, domain)) as ws:
            reply = await ask(ws, "ping", request_id=7)
            assert reply == {
                "request_id": 7,
                "action": "ping",
                "success": True,
                "result": {"status": "ok"},
            }


CASES: list[tuple[str, str, dict[str, Any], Any]] = [
    ("", "health_check", {}, lambda r: r["status"] == "ok" and r["redis"]["reachable"]),
    (
        "tickers",
        "get_ticker",
        {"exchange": "binance", "symbol": "BTC/USDT"},
        lambda r: r["price"] == 50000.0,
    ),
    ("tickers", "get_all_tickers", {"exchange": "binance"}, lambda r: r["count"] == 1),
    ("tickers", "get_all_tickers", {"exchange": "nowhere"}, lambda r: r["tickers"] == []),
    (
        "accounts",
        "get_balance",
        {"ex_id": "1", "currency": "USDT"},
        lambda r: r["balance"]["free"] == 10.0,
    ),
    ("accounts", "get_positions", {"ex_id": 1}, lambda r: r["positions"][0]["volume"] == 0.1),
    ("accounts", "get_positions", {}, lambda r: r["count"] == 1),
    ("accounts", "get_positions", {"ex_id": "99"}, lambda r: r["count"] == 0),
    (
        "orders",
        "get_order_status",
        {"exchange": "binance", "order_id": "EX_1"},
        lambda r: r["status"] == "open",
    ),
    ("orders", "get_queue_length", {"exchange": "binance"}, lambda r: r["queue_length"] == 1),
    ("orders", "get_queue_length", {"exchange": "nowhere"}, lambda r: r["queue_length"] == 0),
    (
        "bots",
        "get_bot_status",
        {"bot_id": 42},
        lambda r: r["feeds"]["feed_1"]["data"] == {"status": "running"},
    ),
    (
        "bots",
        "is_blocked",
        {"exchange": "1", "symbol": "BTC/USDT"},
        lambda r: r["blocked_by"] == "42",
    ),
    (
        "bots",
        "is_blocked",
        {"exchange": "2", "symbol": "BTC/USDT"},
        lambda r: r["is_blocked"] is False,
    ),
    ("bots", "get_bots", {}, lambda r: [b["bot_id"] for b in r["bots"]] == ["42"]),
    (
        "trades",
        "get_trades",
        {"exchange": "binance", "symbol": "BTC/USDT"},
        lambda r: r["trades"][0]["ex_trade_id"] == "T1",
    ),
    (
        "trades",
        "get_trades",
        {"exchange": "binance", "symbol": "ETH/USDT"},
        lambda r: r["length"] == 0,
    ),
    (
        "ohlcv",
        "get_latest_ohlcv_bars",
        {"symbol": "BTC/USDT", "timeframe": "1m", "count": 5},
        lambda r: r["bars"] == [[1717584000, 1, 2, 0.5, 1.5, 10.0]],
    ),
    ("process", "get_system_health", {}, lambda r: r["total_processes"] == 1),
    (
        "process",
        "get_active_processes",
        {"process_type": "tick", "since_minutes": 60},
        lambda r: r["count"] == 1,
    ),
]


@pytest.mark.parametrize(("domain", "action", "params", "check"), CASES)
async def test_request_response_actions_read_the_cache(
    gateway: Gateway, domain: str, action: str, params: dict[str, Any], check: Any
) -> None:
    """Each request/response action answers success with the cached data (HTTP's Structs)."""
    async with connect(socket_url(gateway, domain)) as ws:
        reply = await ask(ws, action, "q1", **params)
        assert (reply["request_id"], reply["action"], reply["success"]) == ("q1", action, True)
        assert check(reply["result"]), reply


MISSES: list[tuple[str, str, dict[str, Any], str]] = [
    ("tickers", "get_ticker", {"exchange": "binance", "symbol": "XRP/USDT"}, "TICKER_NOT_FOUND"),
    ("accounts", "get_balance", {"ex_id": "9", "currency": "USDT"}, "BALANCE_NOT_FOUND"),
    ("accounts", "get_balance", {"ex_id": "1", "currency": "DOGE"}, "BALANCE_NOT_FOUND"),
    ("orders", "get_order_status", {"exchange": "binance", "order_id": "NOPE"}, "ORDER_NOT_FOUND"),
    ("bots", "get_bot_status", {"bot_id": "77"}, "BOT_NOT_FOUND"),
    (
        "ohlcv",
        "get_latest_ohlcv_bars",
        {"symbol": "BTC/USDT", "timeframe": "4h"},
        "OHLCV_NOT_FOUND",
    ),
]


@pytest.mark.parametrize(("domain", "action", "params", "code"), MISSES)
async def test_misses_answer_the_domain_error_code(
    gateway: Gateway, domain: str, action: str, params: dict[str, Any], code: str
) -> None:
    """A miss is the original gateway's domain code, with the request id and a message."""
    async with connect(socket_url(gateway, domain)) as ws:
        reply = await ask(ws, action, "m", **params)
        assert (reply["request_id"], reply["success"], reply["error_code"]) == ("m", False, code)
        assert reply["error"]


async def test_bad_frames_answer_protocol_error_codes(gateway: Gateway) -> None:
    """Malformed frames, unknown actions and invalid parameters have their own codes."""
    async with connect(socket_url(gateway, "ohlcv")) as ws:
        for raw in ("not json", "[1, 2]", '{"request_id": 1}', '{"action": 5}', "x" * 70_000):
            await ws.send(raw)
            assert (await frame(ws))["error_code"] == "MALFORMED_MESSAGE", raw[:20]
        assert (await ask(ws, "get_ticker"))["error_code"] == "INVALID_OPERATION"
        invalid = [
            {},
            {"symbol": "BTC/USDT"},
            {"symbol": "BTC*", "timeframe": "1m"},
            {"symbol": "BTC/USDT", "timeframe": "1m", "count": 0},
            {"symbol": "BTC/USDT", "timeframe": "1m", "count": "5"},
            {"symbol": ["BTC"], "timeframe": "1m"},
        ]
        for params in invalid:
            reply = await ask(ws, "get_latest_ohlcv_bars", **params)
            assert reply["error_code"] == "INVALID_PARAMS", params
    async with connect(socket_url(gateway, "tickers")) as ws:
        reply = await ask(ws, "stream_tickers", exchange="binance", symbols="BTC/USDT")
        assert reply["error_code"] == "INVALID_PARAMS"


async def test_get_trades_never_consumes_the_queue(gateway: Gateway, writer: CacheWriter) -> None:
    """get_trades reads with LRANGE: the queue is intact after two reads (the original
    called fullon_cache's get_trades, which deletes it)."""
    await writer.push_trade("binance", {**TRADE, "trade_id": 2, "ex_trade_id": "T2"})
    async with connect(socket_url(gateway, "trades")) as ws:
        for _ in range(2):
            reply = await ask(ws, "get_trades", exchange="binance", symbol="BTC/USDT")
            assert [t["ex_trade_id"] for t in reply["result"]["trades"]] == ["T1", "T2"]
    assert await writer.redis.llen("trades:binance:BTCUSDT") == 2


async def _new_order(w: CacheWriter) -> None:
    await w.save_order("binance", {"ex_order_id": "EX_2", "ex_id": 1, "status": "open"})


async def _new_bot_feed(w: CacheWriter) -> None:
    await w.update_bot(42, {"feed_1": {"status": "stopped"}, "name": "bot"})


async def _new_position(w: CacheWriter) -> None:
    await w.upsert_positions(1, [{"symbol": "ETH/USDT", "volume": 2.0}])


async def _new_trade(w: CacheWriter) -> None:
    await w.push_trade("binance", {**TRADE, "ex_trade_id": "T9"})


async def _new_bar(w: CacheWriter) -> None:
    await w.update_ohlcv_bars("BTC/USDT", "1m", [[1717584060, 1, 2, 0.5, 1.5, 11.0]])


async def _new_process(w: CacheWriter) -> None:
    await w.register_process("bot", "bot-42")


STREAMS: list[tuple[str, str, dict[str, Any], str, Any, Any]] = [
    (
        "orders",
        "stream_order_queue",
        {"exchange": "binance"},
        "queue_update",
        _new_order,
        lambda r: r["count"],
    ),
    ("bots", "stream_bot_status", {}, "bot_update", _new_bot_feed, lambda r: r["bots"][0]["feeds"]),
    (
        "bots",
        "stream_bot_status",
        {"bot_id": "42"},
        "bot_update",
        _new_bot_feed,
        lambda r: r["feeds"],
    ),
    (
        "accounts",
        "stream_positions",
        {"ex_id": "1"},
        "position_update",
        _new_position,
        lambda r: r["positions"],
    ),
    (
        "trades",
        "stream_trade_updates",
        {"exchange": "binance", "symbol": "BTC/USDT"},
        "trade_update",
        _new_trade,
        lambda r: r["length"],
    ),
    (
        "ohlcv",
        "stream_ohlcv",
        {"symbol": "BTC/USDT", "timeframe": "1m"},
        "ohlcv_update",
        _new_bar,
        lambda r: r["count"],
    ),
    (
        "process",
        "stream_process_health",
        {},
        "process_health_update",
        _new_process,
        lambda r: r["total_processes"],
    ),
]


@pytest.mark.parametrize(("domain", "action", "params", "push", "change", "seen"), STREAMS)
async def test_stream_actions_confirm_then_snapshot_then_update(
    gateway: Gateway,
    writer: CacheWriter,
    domain: str,
    action: str,
    params: dict[str, Any],
    push: str,
    change: Any,
    seen: Any,
) -> None:
    """A stream action: a confirmation with its stream_key, a snapshot push, then a push per
    change of the cached data."""
    async with connect(socket_url(gateway, domain)) as ws:
        confirmation = await ask(ws, action, "s1", **params)
        assert confirmation["success"] is True
        assert confirmation["stream_key"] == "test-1:s1" == confirmation["result"]["stream_key"]
        snapshot = await frame(ws)
        assert (snapshot["action"], snapshot["snapshot"], snapshot["stream_key"]) == (
            push,
            True,
            "test-1:s1",
        )
        await change(writer)
        update = await frame(ws)
        assert (update["request_id"], update["action"], update["snapshot"]) == ("s1", push, False)
        assert seen(update["result"]) != seen(snapshot["result"])


async def test_unsubscribe_stops_pushes_and_releases_the_channel(
    gateway: Gateway, writer: CacheWriter
) -> None:
    """`unsubscribe` ends the stream: no more pushes, and the hub unsubscribes the channel."""
    channel = "ticker_updates:binance:BTC/USDT"
    async with connect(socket_url(gateway, "tickers")) as ws:
        await ask(ws, "stream_tickers", "t", exchange="binance", symbols=["BTC/USDT"])
        assert (await frame(ws))["result"]["price"] == 50000.0
        assert await pubsub_counts(writer.redis) == (0, [channel])
        assert (await ask(ws, "unsubscribe", "u", stream_key="nope"))["error_code"] == (
            "INVALID_PARAMS"
        )
        reply = await ask(ws, "unsubscribe", "u", stream_key="test-1:t")
        assert reply["result"] == {"unsubscribed": ["test-1:t"]}
        await writer.redis.publish(channel, '{"price": 1.0}')
        assert (await ask(ws, "ping", "p"))["action"] == "ping"  # no push came in between

        async def released() -> bool:
            return await pubsub_counts(writer.redis) == (0, [])

        await eventually(released)


async def test_replies_and_pushes_go_through_one_writer(
    gateway: Gateway, writer: CacheWriter
) -> None:
    """A burst of requests while ticks stream: every frame is whole JSON and every reply
    arrives once, in request order (one writer, no concurrent sends)."""
    async with connect(socket_url(gateway, "tickers")) as ws:
        await ask(ws, "stream_tickers", "s", exchange="binance")
        assert (await frame(ws))["snapshot"] is True

        async def publish() -> None:
            for n in range(200):
                await writer.set_ticker("binance", f"S{n % 20}/USDT", price=float(n), time=1.0)

        publisher = asyncio.create_task(publish())
        one = json.dumps({"exchange": "binance", "symbol": "BTC/USDT"})
        for n in range(50):
            await ws.send(f'{{"action": "get_ticker", "request_id": {n}, "params": {one}}}')
        replies = []
        while len(replies) < 50:
            received = await frame(ws)
            if received["action"] == "get_ticker":
                replies.append(received["request_id"])
            else:
                assert (received["action"], received["stream_key"]) == ("ticker_update", "test-1:s")
        await publisher
        assert replies == list(range(50))
        await ws.send('{"action": "unsubscribe", "request_id": "end"}')
        while (await frame(ws))["request_id"] != "end":  # read what is left: a client that
            pass  # leaves unread frames cannot read the close frame back (websockets)


async def test_stream_tickers_sends_each_symbol_snapshot_before_its_ticks(
    gateway: Gateway, writer: CacheWriter
) -> None:
    """stream_tickers naming several symbols, with ticks racing the snapshots: for each
    symbol one snapshot push comes first, and its last push is the last price published."""
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    for symbol in symbols:
        await writer.set_ticker("binance", symbol, price=0.0, time=1.0)
    async with connect(socket_url(gateway, "tickers")) as ws:
        params = {"exchange": "binance", "symbols": symbols}
        await ws.send(json.dumps({"action": "stream_tickers", "request_id": "m", "params": params}))
        for n in range(1, 31):
            for symbol in symbols:
                await writer.set_ticker("binance", symbol, price=float(n), time=1.0)
        assert (await frame(ws))["success"] is True
        seen: dict[str, list[tuple[bool, float]]] = {symbol: [] for symbol in symbols}
        while any(not pushes or pushes[-1][1] != 30.0 for pushes in seen.values()):
            push = await frame(ws)
            seen[push["result"]["symbol"]].append((push["snapshot"], push["result"]["price"]))
        for pushes in seen.values():
            assert [snapshot for snapshot, _ in pushes] == [True] + [False] * (len(pushes) - 1)


async def test_max_streams_per_socket(settings: Settings, writer: CacheWriter) -> None:
    """More streams than `max_streams` on one socket: INVALID_OPERATION; the same request id
    again replaces its stream rather than adding one."""
    async with (
        serve(settings, fast_streams(max_streams=2)) as gateway,
        connect(socket_url(gateway, "tickers")) as ws,
    ):
        for request_id in ("a", "b", "a"):
            assert (await ask(ws, "stream_tickers", request_id, exchange="x"))["success"]
            assert (await frame(ws))["snapshot"] is True
        refused = await ask(ws, "stream_tickers", "c", exchange="x")
        assert refused["error_code"] == "INVALID_OPERATION"
        assert gateway.hub.stats().feeds == 2


async def test_authentication_is_required(gateway: Gateway) -> None:
    """No credentials, a bad token or a bad connection id: the socket is closed with 1008 and
    a reason; the X-API-Key header or ``?token=`` are accepted."""
    refused_urls = (
        f"{gateway.ws_url}/ws/v2/tickers/a",
        f"{gateway.ws_url}/ws/v2/tickers/a?token=bad",
        f"{gateway.ws_url}/ws/v2/tickers/bad%20id?token={ADMIN_KEY}",
    )
    for url in refused_urls:
        async with connect(url) as ws:
            with pytest.raises(ConnectionClosed) as refused:
                await ws.recv()
        assert refused.value.rcvd is not None, url
        assert (refused.value.rcvd.code, bool(refused.value.rcvd.reason)) == (1008, True), url
    headers = {"X-API-Key": ADMIN_KEY}
    async with connect(f"{gateway.ws_url}/ws/v2/tickers/a", additional_headers=headers) as ws:
        assert (await ask(ws, "ping"))["success"] is True


async def _grant(identity: Identity) -> Ownership:
    return Ownership(ex_ids=frozenset({"1"}), bot_ids=frozenset({"42"}))


async def test_private_actions_follow_ownership(settings: Settings, writer: CacheWriter) -> None:
    """A non-admin reads only what the hook grants; others' ids answer as misses."""
    await seed_surface(writer)
    await writer.upsert_user_account(2, {"USDT": {"free": 2.0}})
    await writer.update_bot(43, {"name": "theirs"})
    user = ApiKey(name="user", sha256=hash_api_key(USER_KEY))
    auth = type(settings.auth)(api_keys=(*settings.auth.api_keys, user))
    user_settings = Settings(redis_url=settings.redis_url, auth=auth)
    async with serve(user_settings, ownership=_grant) as gateway:
        async with connect(socket_url(gateway, "accounts", USER_KEY)) as ws:
            assert (await ask(ws, "get_balance", ex_id="1", currency="USDT"))["success"]
            mine = await ask(ws, "get_balance", ex_id="2", currency="USDT")
            assert mine["error_code"] == "BALANCE_NOT_FOUND"
            assert (await ask(ws, "stream_positions", ex_id="2"))["error_code"] == (
                "BALANCE_NOT_FOUND"
            )
        async with connect(socket_url(gateway, "bots", USER_KEY)) as ws:
            bots = (await ask(ws, "get_bots"))["result"]["bots"]
            assert [bot["bot_id"] for bot in bots] == ["42"]
            assert (await ask(ws, "get_bot_status", bot_id="43"))["error_code"] == "BOT_NOT_FOUND"


async def test_shutdown_closes_sockets_with_1001(settings: Settings) -> None:
    """The gateway shutting down closes open sockets with 1001 (going away) and a reason."""
    async with serve(settings) as gateway, connect(socket_url(gateway, "tickers")) as ws:
        assert (await ask(ws, "ping"))["success"] is True
        await gateway.hub.aclose()
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            1001,
            "the gateway is shutting down",
        )
