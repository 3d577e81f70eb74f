"""The actions of each WebSocket domain in the original gateway's shapes.

Same readers, same rights (`Ownership`) and same streams as `_actions` (the richer shapes of
``/ws/v2``); the results are the original's (see `_original_shapes`, `_original_streams`),
and the parameters are read the original's way: ``count`` may be a numeric string (``0``: all
bars), ``user_id`` names an account (fullon_cache's ex_id), ``stream_trade_updates`` may go
without a symbol (the original then pushed nothing, and neither do we).
"""

from __future__ import annotations

import time
from typing import Any

from .._access import ex_id_of, sees
from .._errors import CacheAPIError, NotFound
from .._params import (
    ACCOUNT,
    BOT_ID,
    COMPONENT,
    EX_ID,
    EXCHANGE,
    ORDER_ID,
    SYMBOL,
    TIMEFRAME,
    Bound,
)
from .._params import PROCESS_TYPE as PROCESS_TYPE_PARAM
from ._calls import CURRENCY, Call, Domain, Handler, Pong
from ._dialects import OriginalStart
from ._original_shapes import (
    active_process,
    balance,
    bot_document,
    bot_status,
    order,
    position,
    system_health,
    ticker,
    trade,
)
from ._original_streams import (
    ActiveProcesses,
    AllPositions,
    BotsPush,
    OhlcvPush,
    PositionPushes,
    ProcessCountPush,
    QueueLengthPush,
    TickerPushes,
    TradePush,
    bots_update,
    decode_ticker,
    process_count,
    queue_length,
)
from ._polled import Bots, Ohlcv, Orders, Positions, Trades
from ._protocol import INVALID_PARAMS, ActionError
from ._specs import TickerExchange, TickerSymbol

__all__ = ["ORIGINAL_DOMAINS"]

OHLCV_COUNT = Bound(default=10, minimum=0, maximum=10000)  # 0: every bar (at most 10000 kept)
TRADE_COUNT = Bound(default=10000, minimum=1, maximum=10000)  # the original read every trade
SINCE_MINUTES = Bound(default=5, minimum=1, maximum=10080)


def _integer(call: Call, name: str, bound: Bound) -> int:
    """An integer parameter, given as a number or a numeric string (``int()`` as the original
    read it), within `bound`."""
    value = call.params.raw.get(name)
    if value is None:
        return bound.default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ActionError(INVALID_PARAMS, f"{name} must be an integer")
    if not bound.minimum <= value <= bound.maximum:
        raise ActionError(
            INVALID_PARAMS, f"{name} must be between {bound.minimum} and {bound.maximum}"
        )
    return value


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
    try:
        listed = await call.reader.tickers.all(exchange)
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


# -- accounts -----------------------------------------------------------------------------
def _account(call: Call, name: str, *aliases: str) -> str | None:
    return call.params.optional(name, EX_ID, *aliases)


async def _get_balance(call: Call) -> Any:
    ex_id = _account(call, "user_id", "ex_id")
    currency = call.params.optional("currency", CURRENCY, "exchange")
    if ex_id is None or currency is None:
        raise ActionError(INVALID_PARAMS, "user_id and currency parameters required")
    try:
        account = await call.reader.accounts.one(ex_id, only=await call.ownership())
        found = balance(int(ex_id), currency, account.balances.get(currency))
    except NotFound:
        found = None
    if found is None:
        raise NotFound(f"Balance not found for user {ex_id} {currency}")
    return found


async def _get_positions(call: Call) -> Any:
    raw = call.params.raw
    user_id = _account(call, "user_id")
    ex_id = _account(call, "exchange", "ex_id")
    if user_id is None and ex_id is None:
        raise ActionError(INVALID_PARAMS, "user_id or exchange parameter required")
    only = await call.ownership()
    if ex_id is None:  # every account (the original: get_all_positions)
        listed = await call.reader.accounts.all_positions(only=only)
        items = [position(p) for p in listed.positions]
    else:
        try:
            held = await call.reader.accounts.positions(ex_id, only=only)
            items = [position(p, held.updated_at) for p in held.positions]
        except NotFound:
            items = []
    return {
        "user_id": int(user_id) if user_id else None,
        "exchange": raw.get("exchange", raw.get("ex_id")),
        "positions": items,
        "count": len(items),
    }


async def _stream_positions(call: Call) -> OriginalStart:
    user_id = _account(call, "user_id")
    ex_id = _account(call, "exchange", "ex_id")
    if user_id is None and ex_id is None:
        raise ActionError(INVALID_PARAMS, "user_id or exchange parameter required")
    only = await call.ownership()
    if ex_id is None:
        spec = PositionPushes(AllPositions(only))
        return OriginalStart("position_update", [spec], f"Streaming started for user {user_id}")
    if not sees(only, ex_id=ex_id):
        raise NotFound(f"no account {ex_id!r} cached")
    spec = PositionPushes(Positions(ex_id))
    return OriginalStart("position_update", [spec], f"Streaming started for exchange {ex_id}")


# -- orders -------------------------------------------------------------------------------
async def _get_order_status(call: Call) -> Any:
    account = call.params.text("exchange", ACCOUNT, "account")
    order_id = call.params.text("order_id", ORDER_ID)
    try:
        found = await call.reader.orders.one(account, order_id, only=await call.ownership())
    except NotFound:
        raise NotFound(f"Order {order_id} not found") from None
    return order(found, account)


async def _get_queue_length(call: Call) -> Any:
    account = call.params.text("exchange", ACCOUNT, "account")
    only = await call.ownership()
    try:
        orders = await call.reader.orders.all(account, status=None, symbol=None, limit=1, only=only)
    except NotFound:
        return queue_length(account, 0)
    return queue_length(account, orders.matched)


async def _stream_order_queue(call: Call) -> OriginalStart:
    account = call.params.text("exchange", ACCOUNT, "account")
    only = await call.ownership()
    ex_id = ex_id_of(account)
    if ex_id is not None and not sees(only, ex_id=ex_id):
        raise NotFound(f"no orders cached under {account!r}")
    return OriginalStart(
        "queue_update",
        [QueueLengthPush(Orders(account, 1, only))],
        f"Streaming started for {account}",
        absent=lambda: [queue_length(account, 0)],
    )


# -- bots ---------------------------------------------------------------------------------
async def _get_bot_status(call: Call) -> Any:
    bot_id = call.params.text("bot_id", BOT_ID)
    try:
        found = bot_status(await call.reader.bots.one(bot_id, only=await call.ownership()))
    except NotFound:
        found = None
    if found is None:
        raise NotFound(f"Bot {bot_id} not found")
    return found


async def _is_blocked(call: Call) -> Any:
    exchange = call.params.text("exchange", ACCOUNT, "ex_id")
    symbol = call.params.text("symbol", SYMBOL)
    blocks = await call.reader.bots.blocks(only=await call.ownership())
    holder = next(
        (b.bot_id for b in blocks.blocks if (b.ex_id, b.symbol) == (exchange, symbol)), None
    )
    return {
        "exchange": exchange,
        "symbol": symbol,
        "is_blocked": holder is not None,
        "blocked_by": holder,
        "timestamp": time.time(),
    }


async def _get_bots(call: Call) -> Any:
    listed = await call.reader.bots.all(only=await call.ownership())
    return {"bots": {bot.bot_id: bot_document(bot) for bot in listed.bots}}


async def _stream_bot_status(call: Call) -> OriginalStart:
    bot_id = call.params.optional("bot_id", BOT_ID)
    only = await call.ownership()
    message = f"Streaming started for bot {bot_id}" if bot_id else "Streaming started"
    return OriginalStart(
        "bot_update",
        [BotsPush(Bots(only), bot_id)],
        message,
        absent=lambda: [bots_update({}, bot_id)],
    )


# -- trades -------------------------------------------------------------------------------
async def _get_trades(call: Call) -> Any:
    """LRANGE only: unlike the original (fullon_cache's get_trades), nothing is consumed."""
    p = call.params
    exchange, symbol = p.text("exchange", EXCHANGE), p.text("symbol", SYMBOL)
    limit = _integer(call, "count", TRADE_COUNT)
    try:
        listed = await call.reader.trades.queue(
            exchange, symbol, limit, only=await call.ownership()
        )
        items = [trade(t, exchange, symbol) for t in listed.trades]
    except NotFound:
        items = []
    return {"exchange": exchange, "symbol": symbol, "trades": items}


async def _stream_trade_updates(call: Call) -> OriginalStart:
    p = call.params
    exchange, symbol = p.text("exchange", EXCHANGE), p.optional("symbol", SYMBOL)
    if symbol is None:  # the original accepted this and pushed nothing
        return OriginalStart("trade_update", [], f"Streaming started for {exchange}")
    spec = TradePush(Trades(exchange, symbol, 1, await call.ownership()))
    message = f"Streaming started for {exchange} symbol={symbol}"
    return OriginalStart("trade_update", [spec], message)


# -- ohlcv --------------------------------------------------------------------------------
async def _get_latest_ohlcv_bars(call: Call) -> Any:
    p = call.params
    symbol, timeframe = p.text("symbol", SYMBOL), p.text("timeframe", TIMEFRAME)
    count = _integer(call, "count", OHLCV_COUNT) or OHLCV_COUNT.maximum
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
        process_type=p.optional("process_type", PROCESS_TYPE_PARAM),
        component=p.optional("component", COMPONENT),
        since_minutes=_integer(call, "since_minutes", SINCE_MINUTES),
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
            get_balance=_get_balance,
            get_positions=_get_positions,
            stream_positions=_stream_positions,
        ),
        _domain(
            "orders",
            "ORDER_NOT_FOUND",
            get_order_status=_get_order_status,
            get_queue_length=_get_queue_length,
            stream_order_queue=_stream_order_queue,
        ),
        _domain(
            "bots",
            "BOT_NOT_FOUND",
            get_bot_status=_get_bot_status,
            is_blocked=_is_blocked,
            get_bots=_get_bots,
            stream_bot_status=_stream_bot_status,
        ),
        _domain(
            "trades",
            "NOT_FOUND",
            get_trades=_get_trades,
            stream_trade_updates=_stream_trade_updates,
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
