"""The original gateway's protocol on the original URLs: for every action and stream of every
domain, the frame's keys and the result's keys and value types as the original produced them
(fullon_cache_api 0.2.x handlers), on data written in fullon_cache's layout."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from fullon_cache_api import Settings
from fullon_cache_api.demo import CacheWriter

from .support.credentials import ADMIN_KEY
from .support.streams import Gateway, fast_streams, serve

# Under uvicorn and under granian (`serve --server granian`), over real sockets.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("each_server")]

NOW = time.time()

# The original's result shapes: key -> JSON type name ("null" where the original had None).
TICKER = {
    "symbol": "str",
    "exchange": "str",
    "price": "float",
    "volume": "float",
    "timestamp": "float",
    "bid": "float",
    "ask": "float",
    "change_24h": "float",
}
POSITION = {
    "symbol": "str",
    "exchange": "str",
    "side": "str",
    "size": "float",
    "entry_price": "float",
    "mark_price": "float",
    "pnl": "float",
    "pnl_percent": "float",
    "timestamp": "float",
}
TRADE = {
    "symbol": "str",
    "exchange": "str",
    "side": "str",
    "volume": "float",
    "price": "float",
    "timestamp": "float",
    "trade_id": "int",
}
REPLY = ["action", "request_id", "result", "success"]
ERROR = ["error", "error_code", "request_id", "success"]
MISS = ["action", "error", "error_code", "request_id", "success"]
CONFIRMATION = ["action", "message", "request_id", "stream_key", "success"]
PUSH = ["action", "request_id", "result"]


def types(value: dict[str, Any]) -> dict[str, str]:
    """Each key's JSON type name."""
    names = {str: "str", bool: "bool", int: "int", float: "float", list: "list", dict: "dict"}
    return {key: names.get(type(item), "null") for key, item in value.items()}


async def seed(writer: CacheWriter) -> None:
    """One entry per domain, written as fullon_cache writes it (NaN bid included)."""
    await writer.set_ticker(
        "binance", "BTC/USDT", price=50000.0, volume=12.5, time=NOW, bid=49999.0, ask=50001.0
    )
    await writer.set_ticker("binance", "ETH/USDT", price=3000.0, volume=1.0, time=NOW, bid=math.nan)
    await writer.upsert_user_account(1, {"USDT": {"balance": 10000.0, "available": 8500.0}})
    await writer.upsert_user_account(2, {"USDT": {"free": 70.0, "used": 30.0, "total": 100.0}})
    positions = [
        {"symbol": "BTC/USDT", "volume": 0.2, "price": 50000.0, "cost": 10000.0, "timestamp": NOW},
        {"symbol": "ETH/USDT", "volume": -1.5, "price": 3000.0, "cost": 4500.0, "timestamp": NOW},
    ]
    await writer.upsert_positions(1, positions)
    order = {"ex_order_id": "EX_1", "symbol": "BTC/USDT", "side": "buy", "status": "open"}
    order |= {"volume": 1.0, "final_volume": 0.25, "price": 50000.0, "order_type": "limit"}
    await writer.save_order("binance", order)
    await writer.update_bot("BOT_1", {"feed_1": {"status": "running"}, "name": "trend"})
    await writer.block_exchange("binance", "BTC/USDT", "BOT_1")
    trade = {"trade_id": 11, "symbol": "BTC/USDT", "side": "buy", "volume": 0.1}
    await writer.push_trade("binance", trade | {"price": 50000.0, "time": NOW, "ex_id": 1})
    bars = [[1717584000 + 60 * n, 1, 2, 0.5, 1.5, 10.0] for n in range(5)]
    await writer.update_ohlcv_bars("BTC/USDT", "1m", bars)
    await writer.register_process("tick", "binance", params={"pid": 4242})


@pytest.fixture
async def gateway(settings: Settings, writer: CacheWriter) -> AsyncIterator[Gateway]:
    await seed(writer)
    async with serve(settings, fast_streams()) as running:
        yield running


def url(gateway: Gateway, domain: str) -> str:
    path = "/ws" if not domain else f"/ws/{domain}/c1"
    return f"{gateway.ws_url}{path}?token={ADMIN_KEY}"


async def frame(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def ask(ws: ClientConnection, action: str, **params: Any) -> Any:
    await ws.send(json.dumps({"action": action, "request_id": "r1", "params": params}))
    return await frame(ws)


Check = Callable[[dict[str, Any]], None]


def shaped(expected: dict[str, str]) -> Check:
    def check(result: dict[str, Any]) -> None:
        assert types(result) == expected, result

    return check


def ticker_list(result: dict[str, Any]) -> None:
    assert types(result) == {"exchange": "str", "tickers": "list"}
    btc, eth = result["tickers"]
    assert types(btc) == TICKER
    assert types(eth) == TICKER | {"bid": "null", "ask": "null"}  # NaN and absent: null


def balance(result: dict[str, Any]) -> None:
    assert types(result) == {
        "user_id": "int",
        "currency": "str",
        "total_balance": "float",
        "available_balance": "float",
        "reserved_balance": "float",
        "timestamp": "float",
    }
    assert (result["total_balance"], result["available_balance"]) == (10000.0, 8500.0)
    assert result["reserved_balance"] == 1500.0


def positions(result: dict[str, Any]) -> None:
    assert types(result) == {
        "user_id": "null",
        "exchange": "str",
        "positions": "list",
        "count": "int",
    }
    btc, eth = result["positions"]
    assert types(btc) == types(eth) == POSITION
    assert (btc["side"], btc["size"], btc["entry_price"], btc["pnl"]) == ("long", 0.2, 50000.0, 0.0)
    assert (eth["side"], eth["size"], eth["exchange"]) == ("short", 1.5, "1")
    assert btc["timestamp"] == pytest.approx(NOW)


def order(result: dict[str, Any]) -> None:
    assert types(result) == {
        "order_id": "str",
        "symbol": "str",
        "exchange": "str",
        "side": "str",
        "amount": "float",
        "price": "float",
        "filled": "float",
        "remaining": "float",
        "status": "str",
        "order_type": "str",
        "timestamp": "float",
        "last_update": "float",
    }
    assert (result["order_id"], result["filled"], result["remaining"]) == ("EX_1", 0.25, 0.75)


def bot(result: dict[str, Any]) -> None:
    assert types(result) == {"bot_id": "str", "status": "str", "data": "dict", "timestamp": "float"}
    assert result["status"] == "running"
    assert result["data"]["name"] == "trend"
    assert result["data"]["feed_1"]["status"] == "running"
    assert isinstance(result["data"]["feed_1"]["timestamp"], str)


def bots(result: dict[str, Any]) -> None:
    assert types(result) == {"bots": "dict"}
    assert list(result["bots"]) == ["BOT_1"]
    assert result["bots"]["BOT_1"]["feed_1"]["status"] == "running"


def trades(result: dict[str, Any]) -> None:
    assert types(result) == {"exchange": "str", "symbol": "str", "trades": "list"}
    assert [types(trade) for trade in result["trades"]] == [TRADE]


def bars(count: int) -> Check:
    def check(result: dict[str, Any]) -> None:
        assert types(result) == {"symbol": "str", "timeframe": "str", "bars": "list"}
        assert len(result["bars"]) == count
        assert result["bars"][-1] == [1717584240, 1, 2, 0.5, 1.5, 10.0]  # as stored

    return check


def processes(result: dict[str, Any]) -> None:
    assert types(result) == {"processes": "list"}
    (process,) = result["processes"]
    expected = {"process_id": "str", "name": "str", "status": "str", "pid": "int"}
    assert types(process) == expected | {"last_seen": "float"}
    assert (process["name"], process["pid"]) == ("binance", 4242)


ACTIONS: list[tuple[str, str, dict[str, Any], Check]] = [
    ("tickers", "get_ticker", {"exchange": "binance", "symbol": "BTC/USDT"}, shaped(TICKER)),
    ("tickers", "get_all_tickers", {"exchange": "binance"}, ticker_list),
    ("accounts", "get_balance", {"user_id": 1, "currency": "USDT"}, balance),
    ("accounts", "get_positions", {"exchange": "1"}, positions),
    ("orders", "get_order_status", {"exchange": "binance", "order_id": "EX_1"}, order),
    (
        "orders",
        "get_queue_length",
        {"exchange": "binance"},
        shaped({"exchange": "str", "queue_length": "int", "timestamp": "float"}),
    ),
    ("bots", "get_bot_status", {"bot_id": "BOT_1"}, bot),
    (
        "bots",
        "is_blocked",
        {"exchange": "binance", "symbol": "BTC/USDT"},
        shaped(
            {
                "exchange": "str",
                "symbol": "str",
                "is_blocked": "bool",
                "blocked_by": "str",
                "timestamp": "float",
            }
        ),
    ),
    ("bots", "get_bots", {}, bots),
    ("trades", "get_trades", {"exchange": "binance", "symbol": "BTC/USDT"}, trades),
    (
        "ohlcv",
        "get_latest_ohlcv_bars",
        {"symbol": "BTC/USDT", "timeframe": "1m", "count": "2"},
        bars(2),
    ),
    (
        "ohlcv",
        "get_latest_ohlcv_bars",
        {"symbol": "BTC/USDT", "timeframe": "1m", "count": 0},
        bars(5),
    ),
    (
        "process",
        "get_system_health",
        {},
        shaped(
            {
                "healthy": "bool",
                "total_processes": "int",
                "by_type": "dict",
                "by_status": "dict",
                "stale_processes": "int",
                "error_processes": "int",
            }
        ),
    ),
    ("process", "get_active_processes", {"process_type": "tick", "since_minutes": "60"}, processes),
]


@pytest.mark.parametrize(("domain", "action", "params", "check"), ACTIONS)
async def test_actions_answer_the_original_shapes(
    gateway: Gateway, domain: str, action: str, params: dict[str, Any], check: Check
) -> None:
    """Each request/response action: the original reply envelope and result shape."""
    async with connect(url(gateway, domain)) as ws:
        reply = await ask(ws, action, **params)
    assert sorted(reply) == REPLY and (reply["action"], reply["success"]) == (action, True), reply
    check(reply["result"])


MISSES = [
    ("tickers", "get_ticker", {"exchange": "binance", "symbol": "XRP/USDT"}, "TICKER_NOT_FOUND"),
    ("accounts", "get_balance", {"user_id": 1, "currency": "EUR"}, "BALANCE_NOT_FOUND"),
    ("orders", "get_order_status", {"exchange": "binance", "order_id": "X"}, "ORDER_NOT_FOUND"),
    ("bots", "get_bot_status", {"bot_id": "BOT_9"}, "BOT_NOT_FOUND"),
    (
        "ohlcv",
        "get_latest_ohlcv_bars",
        {"symbol": "XRP/USDT", "timeframe": "1m"},
        "OHLCV_NOT_FOUND",
    ),
]


@pytest.mark.parametrize(("domain", "action", "params", "code"), MISSES)
async def test_misses_answer_the_original_not_found_frame(
    gateway: Gateway, domain: str, action: str, params: dict[str, Any], code: str
) -> None:
    """A miss: ``{request_id, action, success: false, error_code, error}``, the domain's code."""
    async with connect(url(gateway, domain)) as ws:
        reply = await ask(ws, action, **params)
    assert sorted(reply) == MISS and (reply["success"], reply["error_code"]) == (False, code)


async def test_other_errors_answer_the_original_error_frame(gateway: Gateway) -> None:
    """Bad JSON, an unknown action, missing params: ``{request_id, success, error_code,
    error}`` without ``action``, as the original's `send_error`."""
    async with connect(url(gateway, "tickers")) as ws:
        await ws.send("{not json")
        malformed = await frame(ws)
        unknown = await ask(ws, "get_everything")
        missing = await ask(ws, "get_ticker", exchange="binance")
    assert sorted(malformed) == sorted(unknown) == sorted(missing) == ERROR
    assert (malformed["request_id"], malformed["error_code"]) == (None, "MALFORMED_MESSAGE")
    assert (unknown["request_id"], unknown["error_code"]) == ("r1", "INVALID_OPERATION")
    assert missing["error_code"] == "INVALID_PARAMS"


async def test_original_parameters_are_accepted(gateway: Gateway, writer: CacheWriter) -> None:
    """A ccxt-shaped balance reads ``free`` as available; positions by ``user_id`` list every
    account; ``count`` as a numeric string; a negative count is refused."""
    async with connect(url(gateway, "accounts")) as ws:
        ccxt = (await ask(ws, "get_balance", user_id="2", currency="USDT"))["result"]
        everyone = (await ask(ws, "get_positions", user_id=7))["result"]
    assert (ccxt["user_id"], ccxt["total_balance"], ccxt["available_balance"]) == (2, 100.0, 70.0)
    assert ccxt["reserved_balance"] == 30.0
    assert (everyone["user_id"], everyone["exchange"], everyone["count"]) == (7, None, 2)
    async with connect(url(gateway, "ohlcv")) as ws:
        refused = await ask(
            ws, "get_latest_ohlcv_bars", symbol="BTC/USDT", timeframe="1m", count=-1
        )
    assert refused["error_code"] == "INVALID_PARAMS"


async def test_get_trades_never_consumes_the_queue(gateway: Gateway, writer: CacheWriter) -> None:
    """Reading trades twice answers them twice; the queue keeps its length (the original's
    fullon_cache call deleted it)."""
    async with connect(url(gateway, "trades")) as ws:
        params = {"exchange": "binance", "symbol": "BTC/USDT"}
        first, second = await ask(ws, "get_trades", **params), await ask(ws, "get_trades", **params)
    assert first["result"] == second["result"] and len(first["result"]["trades"]) == 1
    assert await writer.redis.llen("trades:binance:BTCUSDT") == 1


Change = Callable[[CacheWriter], Awaitable[None]]


async def _tick(writer: CacheWriter) -> None:
    tick = {"price": 50010.0, "volume": 13.0, "bid": 50009.0, "ask": 50011.0}
    await writer.set_ticker("binance", "BTC/USDT", time=time.time(), **tick)


async def _position(writer: CacheWriter) -> None:
    await writer.upsert_positions(1, [{"symbol": "BTC/USDT", "volume": 0.3, "timestamp": NOW}])


async def _order(writer: CacheWriter) -> None:
    await writer.save_order("binance", {"ex_order_id": "EX_2", "status": "open"})


async def _bot(writer: CacheWriter) -> None:
    await writer.update_bot("BOT_1", {"feed_1": {"status": "paused"}})


async def _trade(writer: CacheWriter) -> None:
    trade = {"trade_id": 12, "symbol": "BTC/USDT", "side": "sell", "volume": 0.2}
    await writer.push_trade("binance", trade | {"price": 50100.0, "time": time.time()})


async def _bar(writer: CacheWriter) -> None:
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[1717584300, 2, 3, 1, 2.5, 5.0]])


async def _process(writer: CacheWriter) -> None:
    await writer.register_process("bot", "bot-7")


POSITION_UPDATE = {"stream_key": "str", "user_id": "null"} | POSITION
STREAMS: list[tuple[str, str, dict[str, Any], str, dict[str, str], int, Change, str]] = [
    (
        "tickers",
        "stream_tickers",
        {"exchange": "binance", "symbols": ["BTC/USDT"]},
        "ticker_update",
        {"stream_key": "str"}
        | {k: v for k, v in TICKER.items() if k != "exchange"}
        | {"exchange": "str"},
        1,
        _tick,
        "price",
    ),
    (
        "accounts",
        "stream_positions",
        {"exchange": "1"},
        "position_update",
        POSITION_UPDATE,
        2,
        _position,
        "size",
    ),
    (
        "orders",
        "stream_order_queue",
        {"exchange": "binance"},
        "queue_update",
        {"stream_key": "str", "exchange": "str", "queue_length": "int", "timestamp": "float"},
        1,
        _order,
        "queue_length",
    ),
    (
        "bots",
        "stream_bot_status",
        {"bot_id": "BOT_1"},
        "bot_update",
        {"stream_key": "str", "bots": "dict", "timestamp": "float"},
        1,
        _bot,
        "bots",
    ),
    (
        "trades",
        "stream_trade_updates",
        {"exchange": "binance", "symbol": "BTC/USDT"},
        "trade_update",
        {"stream_key": "str"} | TRADE,
        1,
        _trade,
        "trade_id",
    ),
    (
        "ohlcv",
        "stream_ohlcv",
        {"symbol": "BTC/USDT", "timeframe": "1m"},
        "ohlcv_update",
        {"stream_key": "str", "symbol": "str", "timeframe": "str", "bar": "list"},
        1,
        _bar,
        "bar",
    ),
    (
        "process",
        "stream_process_health",
        {},
        "process_health_update",
        {"stream_key": "str", "active_processes": "int", "timestamp": "float"},
        1,
        _process,
        "active_processes",
    ),
]


@pytest.mark.parametrize(
    ("domain", "action", "params", "push", "shape", "count", "change", "field"), STREAMS
)
async def test_streams_confirm_then_push_the_original_shapes(
    gateway: Gateway,
    writer: CacheWriter,
    domain: str,
    action: str,
    params: dict[str, Any],
    push: str,
    shape: dict[str, str],
    count: int,
    change: Change,
    field: str,
) -> None:
    """A stream action: the original confirmation, then ``{request_id, action, result}``
    pushes with ``stream_key`` inside the result (one per position), again after a change."""
    async with connect(url(gateway, domain)) as ws:
        confirmation = await ask(ws, action, **params)
        assert sorted(confirmation) == CONFIRMATION and confirmation["stream_key"] == "c1:r1"
        first = [await frame(ws) for _ in range(count)]
        await change(writer)
        update = await frame(ws)
    for pushed in [*first, update]:
        assert sorted(pushed) == PUSH and (pushed["action"], pushed["request_id"]) == (push, "r1")
        assert types(pushed["result"]) == shape, pushed
        assert pushed["result"]["stream_key"] == "c1:r1"
    assert update["result"][field] != first[0]["result"][field]


async def test_bar_pushes_are_six_floats(gateway: Gateway) -> None:
    """``ohlcv_update`` carries the newest bar as six floats (the original's ``float()``s)."""
    async with connect(url(gateway, "ohlcv")) as ws:
        await ask(ws, "stream_ohlcv", symbol="BTC/USDT", timeframe="1m")
        bar = (await frame(ws))["result"]["bar"]
    assert bar == [1717584240.0, 1.0, 2.0, 0.5, 1.5, 10.0]
    assert all(type(value) is float for value in bar)


async def test_streams_the_original_accepted_without_a_filter(
    gateway: Gateway, writer: CacheWriter
) -> None:
    """``stream_positions`` with ``user_id`` pushes every account's positions;
    ``stream_trade_updates`` without a symbol is confirmed (the original then pushed nothing)."""
    async with connect(url(gateway, "accounts")) as ws:
        await ask(ws, "stream_positions", user_id=7)
        pushed = [await frame(ws), await frame(ws)]
    assert [p["result"]["symbol"] for p in pushed] == ["BTC/USDT", "ETH/USDT"]
    async with connect(url(gateway, "trades")) as ws:
        confirmation = await ask(ws, "stream_trade_updates", exchange="binance")
        assert confirmation["success"] is True
        assert (await ask(ws, "ping"))["result"] == {"status": "ok"}  # nothing pushed between


async def test_main_socket_speaks_the_operation_envelope(gateway: Gateway) -> None:
    """``/ws``: ``{"operation", "request_id", "params"}`` requests get the original
    ``CacheResponse`` / ``ErrorMessage`` frames; ``action`` frames the action replies."""
    async with connect(url(gateway, "")) as ws:
        await ws.send(json.dumps({"operation": "ping", "request_id": "p", "params": {}}))
        pong = await frame(ws)
        await ws.send(json.dumps({"operation": "health_check", "request_id": "h"}))
        health = await frame(ws)
        await ws.send(json.dumps({"operation": "get_ticker", "request_id": "x"}))
        unknown = await frame(ws)
        await ws.send("[1, 2")
        malformed = await frame(ws)
        action = await ask(ws, "ping")
    response = ["error", "error_code", "latency_ms", "request_id", "result", "success", "timestamp"]
    assert sorted(pong) == sorted(health) == response
    assert (pong["request_id"], pong["success"], pong["result"]) == ("p", True, {"status": "ok"})
    assert (pong["error"], pong["error_code"]) == (None, None)
    assert types(health["result"]) == {"websocket": "dict", "cache": "dict"}
    websocket = {"status": "str", "framework": "str", "transport": "str", "timestamp": "float"}
    assert types(health["result"]["websocket"]) == websocket | {"services": "dict"}
    assert health["result"]["cache"]["status"] == "healthy"
    assert health["result"]["cache"]["services"]["redis"]["reachable"] is True
    message = ["details", "error", "error_code", "request_id", "timestamp"]
    assert sorted(unknown) == sorted(malformed) == message
    assert (unknown["request_id"], unknown["error_code"]) == ("x", "INVALID_OPERATION")
    assert (malformed["request_id"], malformed["error_code"]) == (None, "MALFORMED_MESSAGE")
    assert sorted(action) == REPLY and action["result"] == {"status": "ok"}
