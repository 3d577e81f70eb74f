"""The actions of each WebSocket domain in the original gateway's shapes.

Same readers, same rights (`Ownership`) and same streams as `_actions` (the richer shapes of
``/ws/v2``); the results are the original's (see `_original_shapes`, `_original_streams`),
and the parameters are read the original's way: ``count`` may be a numeric string (``0``: all
bars), ``user_id`` names an account (fullon_cache's ex_id), ``stream_trade_updates`` may go
without a symbol (the original then pushed nothing, and neither do we). The private domains'
handlers are in `_original_private`; this module has the rest and the domain table.
"""

from __future__ import annotations

import time
from typing import Any

from .._errors import CacheAPIError, NotFound
from ..data import ENTRY_PAGE, PROCESS_PAGE
from ..http import COMPONENT, EXCHANGE, PROCESS_TYPE, SYMBOL, TIMEFRAME, Bound
from ._calls import Call, Domain, Handler, Pong
from ._dialects import OriginalStart
from ._original_private import (
    get_balance,
    get_bot_status,
    get_bots,
    get_order_status,
    get_positions,
    get_queue_length,
    get_trades,
    integer,
    is_blocked,
    stream_bot_status,
    stream_order_queue,
    stream_positions,
    stream_trade_updates,
)
from ._original_shapes import active_process, system_health, ticker
from ._original_streams import (
    ActiveProcesses,
    OhlcvPush,
    ProcessCountPush,
    TickerPushes,
    decode_ticker,
    process_count,
)
from ._polled import Ohlcv
from ._specs import TickerExchange, TickerSymbol

__all__ = ["ORIGINAL_DOMAINS"]

OHLCV_COUNT = Bound(default=10, minimum=0, maximum=10000)  # 0: every bar (at most 10000 kept)
SINCE_MINUTES = Bound(default=5, minimum=1, maximum=10080)


async def _ping(call: Call) -> Pong:
    return Pong(status="ok")


async def _health_check(call: Call) -> dict[str, Any]:
    """The original's two sections; the cache one is a real PING here (the original's was
    always "healthy")."""
    now = time.time()
    websocket = {
        "status": "healthy",
        "framework": "starlette",
        "transport": "websocket",
        "timestamp": now,
        "services": {},
    }
    try:
        health = await call.reader.health.check()
        cache: dict[str, Any] = {"status": "healthy", "timestamp": now, "services": {}}
        cache["services"]["redis"] = health.redis
    except CacheAPIError as exc:
        cache = {"status": "unhealthy", "timestamp": now, "services": {}, "error": exc.detail}
    return {"websocket": websocket, "cache": cache}


# -- tickers ------------------------------------------------------------------------------
async def _get_ticker(call: Call) -> Any:
    p = call.params
    exchange, symbol = p.text("exchange", EXCHANGE), p.text("symbol", SYMBOL)
    return ticker(await call.reader.tickers.one(exchange, symbol))


async def _get_all_tickers(call: Call) -> Any:
    exchange = call.params.text("exchange", EXCHANGE)
    try:  # every ticker in the original: one page of the largest size (ENTRY_PAGE.maximum)
        listed = await call.reader.tickers.all(exchange, limit=ENTRY_PAGE.maximum)
    except NotFound:
        return {"exchange": exchange, "tickers": []}
    return {"exchange": exchange, "tickers": [ticker(decode_ticker(t)) for t in listed.tickers]}


async def _stream_tickers(call: Call) -> OriginalStart:
    exchange = call.params.text("exchange", EXCHANGE)
    symbols = call.params.texts("symbols", SYMBOL, call.max_symbols)
    specs: list[Any] = [TickerPushes(TickerSymbol(exchange, symbol)) for symbol in symbols]
    return OriginalStart(
        "ticker_update",
        specs or [TickerPushes(TickerExchange(exchange))],
        f"Streaming started for {len(symbols)} symbols on {exchange}",
    )


# -- ohlcv --------------------------------------------------------------------------------
async def _get_latest_ohlcv_bars(call: Call) -> Any:
    p = call.params
    symbol, timeframe = p.text("symbol", SYMBOL), p.text("timeframe", TIMEFRAME)
    count = integer(call, "count", OHLCV_COUNT) or OHLCV_COUNT.maximum
    try:
        found = await call.reader.ohlcv.bars(symbol, timeframe, count)
    except NotFound:
        found = None
    if found is None or not found.count:
        raise NotFound(f"OHLCV data not found for {symbol} {timeframe}")
    return {"symbol": symbol, "timeframe": timeframe, "bars": found.bars}


async def _stream_ohlcv(call: Call) -> OriginalStart:
    p = call.params
    symbol, timeframe = p.text("symbol", SYMBOL), p.text("timeframe", TIMEFRAME)
    return OriginalStart(
        "ohlcv_update",
        [OhlcvPush(Ohlcv(symbol, timeframe, 1))],
        f"Streaming started for {symbol} {timeframe}",
    )


# -- process ------------------------------------------------------------------------------
async def _get_system_health(call: Call) -> Any:
    return system_health(await call.reader.processes.system_health())


async def _get_active_processes(call: Call) -> Any:
    p = call.params
    listed = await call.reader.processes.active(
        process_type=p.optional("process_type", PROCESS_TYPE),
        component=p.optional("component", COMPONENT),
        since_minutes=integer(call, "since_minutes", SINCE_MINUTES),
        limit=PROCESS_PAGE.maximum,
    )
    return {"processes": [active_process(process) for process in listed.processes]}


async def _stream_process_health(call: Call) -> OriginalStart:
    return OriginalStart(
        "process_health_update",
        [ProcessCountPush(ActiveProcesses())],
        "Streaming started for process health",
        absent=lambda: [process_count(0)],
    )


_COMMON: dict[str, Handler] = {"ping": _ping}


def _domain(name: str, not_found: str, **actions: Handler) -> Domain:
    return Domain(name, not_found, {**_COMMON, **actions})


ORIGINAL_DOMAINS: dict[str, Domain] = {
    domain.name: domain
    for domain in (
        _domain("", "NOT_FOUND", health_check=_health_check),
        _domain(
            "tickers",
            "TICKER_NOT_FOUND",
            get_ticker=_get_ticker,
            get_all_tickers=_get_all_tickers,
            stream_tickers=_stream_tickers,
        ),
        _domain(
            "accounts",
            "BALANCE_NOT_FOUND",
            get_balance=get_balance,
            get_positions=get_positions,
            stream_positions=stream_positions,
        ),
        _domain(
            "orders",
            "ORDER_NOT_FOUND",
            get_order_status=get_order_status,
            get_queue_length=get_queue_length,
            stream_order_queue=stream_order_queue,
        ),
        _domain(
            "bots",
            "BOT_NOT_FOUND",
            get_bot_status=get_bot_status,
            is_blocked=is_blocked,
            get_bots=get_bots,
            stream_bot_status=stream_bot_status,
        ),
        _domain(
            "trades",
            "NOT_FOUND",
            get_trades=get_trades,
            stream_trade_updates=stream_trade_updates,
        ),
        _domain(
            "ohlcv",
            "OHLCV_NOT_FOUND",
            get_latest_ohlcv_bars=_get_latest_ohlcv_bars,
            stream_ohlcv=_stream_ohlcv,
        ),
        _domain(
            "process",
            "NOT_FOUND",
            get_system_health=_get_system_health,
            get_active_processes=_get_active_processes,
            stream_process_health=_stream_process_health,
        ),
    )
}
