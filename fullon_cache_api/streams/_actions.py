"""The actions of each WebSocket domain, backed by the same readers as HTTP (and the hub).

A request/response action returns its result (an HTTP Struct, or one of the small Structs of
`_calls` where the original gateway had its own shape); a ``stream_*`` action returns a
`StreamStart`. Private domains read with the caller's `Ownership`, exactly as HTTP does.

Every read is the HTTP route's, bounded the same way: a list action answers a page (``limit``
with the route's default and maximum, ``cursor`` = the ``next_cursor`` of the page before).
"""

from __future__ import annotations

from typing import Any

from .._errors import NotFound
from ..data import DOCUMENT_PAGE, ENTRY_PAGE, PROCESS_PAGE
from ..http import (
    ACCOUNT,
    BOT_ID,
    COMPONENT,
    CURSOR,
    EX_ID,
    EXCHANGE,
    ORDER_ID,
    PROCESS_TYPE,
    SYMBOL,
    TIMEFRAME,
)
from ..security import ex_id_of, sees
from ..structs.accounts import AccountPositions
from ..structs.tickers import TickerList
from ..structs.trades import TradeList
from ._calls import (
    COUNT,
    CURRENCY,
    SINCE_MINUTES,
    STREAM_LIMIT,
    TRADE_COUNT,
    Balance,
    BlockStatus,
    Call,
    Domain,
    Handler,
    Pong,
    QueueLength,
    StreamStart,
)
from ._hub import Spec
from ._polled import Bots, BotStatus, Ohlcv, Orders, Positions, ProcessHealth, Trades
from ._specs import TickerExchange, TickerSymbol

__all__ = ["DOMAINS"]


async def _ping(call: Call) -> Pong:
    return Pong(status="ok")


async def _health_check(call: Call) -> Any:
    return await call.reader.health.check()


# -- tickers ------------------------------------------------------------------------------
async def _get_ticker(call: Call) -> Any:
    p = call.params
    return await call.reader.tickers.one(p.text("exchange", EXCHANGE), p.text("symbol", SYMBOL))


async def _get_all_tickers(call: Call) -> Any:
    p = call.params
    exchange = p.text("exchange", EXCHANGE)
    limit, cursor = p.integer("limit", ENTRY_PAGE), p.optional("cursor", CURSOR)
    try:
        return await call.reader.tickers.all(exchange, cursor=cursor, limit=limit)
    except NotFound:  # the original answered an empty list
        return TickerList(exchange=exchange, count=0, skipped=0, tickers=[])


async def _stream_tickers(call: Call) -> StreamStart:
    exchange = call.params.text("exchange", EXCHANGE)
    symbols = call.params.texts("symbols", SYMBOL, call.max_symbols)
    specs: list[Spec] = [TickerSymbol(exchange, symbol) for symbol in symbols]
    shown = f"{len(symbols)} symbols" if symbols else "every symbol"
    return StreamStart(
        "ticker_update",
        specs or [TickerExchange(exchange)],
        f"Streaming started for {shown} on {exchange}",
    )


# -- accounts -----------------------------------------------------------------------------
async def _get_balance(call: Call) -> Balance:
    ex_id = call.params.text("ex_id", EX_ID, "exchange")
    currency = call.params.text("currency", CURRENCY)
    account = await call.reader.accounts.one(ex_id, only=await call.ownership())
    if currency not in account.balances:
        raise NotFound(f"no {currency} balance cached for account {ex_id!r}")
    return Balance(
        ex_id=ex_id,
        currency=currency,
        balance=account.balances[currency],
        updated_at=account.updated_at,
    )


async def _get_positions(call: Call) -> Any:
    p = call.params
    ex_id = p.optional("ex_id", EX_ID, "exchange")
    only = await call.ownership()
    if ex_id is None:
        limit, cursor = p.integer("limit", DOCUMENT_PAGE), p.optional("cursor", CURSOR)
        return await call.reader.accounts.all_positions(only=only, cursor=cursor, limit=limit)
    try:
        return await call.reader.accounts.positions(ex_id, only=only)
    except NotFound:  # the original answered an empty list
        return AccountPositions(ex_id=ex_id, updated_at=None, count=0, skipped=0, positions=[])


async def _stream_positions(call: Call) -> StreamStart:
    ex_id = call.params.text("ex_id", EX_ID, "exchange")
    if not sees(await call.ownership(), ex_id=ex_id):
        raise NotFound(f"no account {ex_id!r} cached")
    return StreamStart(
        "position_update", [Positions(ex_id)], f"Streaming started for account {ex_id}"
    )


# -- orders -------------------------------------------------------------------------------
async def _get_order_status(call: Call) -> Any:
    account = call.params.text("exchange", ACCOUNT, "account")
    order_id = call.params.text("order_id", ORDER_ID)
    return await call.reader.orders.one(account, order_id, only=await call.ownership())


async def _get_queue_length(call: Call) -> QueueLength:
    account = call.params.text("exchange", ACCOUNT, "account")
    only = await call.ownership()
    try:
        orders = await call.reader.orders.all(account, status=None, symbol=None, limit=1, only=only)
    except NotFound:
        return QueueLength(exchange=account, queue_length=0)
    return QueueLength(exchange=account, queue_length=orders.matched)


async def _stream_order_queue(call: Call) -> StreamStart:
    account = call.params.text("exchange", ACCOUNT, "account")
    only = await call.ownership()
    ex_id = ex_id_of(account)
    if ex_id is not None and not sees(only, ex_id=ex_id):
        raise NotFound(f"no orders cached under {account!r}")
    return StreamStart(
        "queue_update", [Orders(account, STREAM_LIMIT, only)], f"Streaming started for {account}"
    )


# -- bots ---------------------------------------------------------------------------------
async def _get_bot_status(call: Call) -> Any:
    bot_id = call.params.text("bot_id", BOT_ID)
    return await call.reader.bots.one(bot_id, only=await call.ownership())


async def _is_blocked(call: Call) -> BlockStatus:
    exchange = call.params.text("exchange", ACCOUNT, "ex_id")
    symbol = call.params.text("symbol", SYMBOL)
    found = await call.reader.bots.block(exchange, symbol, only=await call.ownership())
    return BlockStatus(
        exchange=exchange, symbol=symbol, is_blocked=found.blocked, blocked_by=found.bot
    )


async def _get_bots(call: Call) -> Any:
    p = call.params
    limit, cursor = p.integer("limit", DOCUMENT_PAGE), p.optional("cursor", CURSOR)
    return await call.reader.bots.all(only=await call.ownership(), cursor=cursor, limit=limit)


async def _stream_bot_status(call: Call) -> StreamStart:
    bot_id = call.params.optional("bot_id", BOT_ID)
    only = await call.ownership()
    if bot_id is None:
        return StreamStart("bot_update", [Bots(only)], "Streaming started")
    if not sees(only, bot_id=bot_id):
        raise NotFound(f"no status cached for bot {bot_id!r}")
    return StreamStart("bot_update", [BotStatus(bot_id)], f"Streaming started for bot {bot_id}")


# -- trades -------------------------------------------------------------------------------
async def _get_trades(call: Call) -> Any:
    """LRANGE only: unlike the original (fullon_cache's get_trades), nothing is consumed."""
    p = call.params
    exchange, symbol = p.text("exchange", EXCHANGE), p.text("symbol", SYMBOL)
    limit, cursor = p.integer("count", TRADE_COUNT), p.optional("cursor", CURSOR)
    only = await call.ownership()
    try:
        return await call.reader.trades.queue(exchange, symbol, limit, only=only, cursor=cursor)
    except NotFound:  # the original answered an empty list
        key = f"trades:{exchange}:{symbol.replace('/', '')}"
        return TradeList(
            exchange=exchange, symbol=symbol, key=key, length=0, count=0, skipped=0, trades=[]
        )


async def _stream_trade_updates(call: Call) -> StreamStart:
    p = call.params
    exchange, symbol = p.text("exchange", EXCHANGE), p.text("symbol", SYMBOL)
    spec = Trades(exchange, symbol, p.integer("count", TRADE_COUNT), await call.ownership())
    return StreamStart("trade_update", [spec], f"Streaming started for {exchange} symbol={symbol}")


# -- ohlcv --------------------------------------------------------------------------------
async def _get_latest_ohlcv_bars(call: Call) -> Any:
    p = call.params
    symbol, timeframe = p.text("symbol", SYMBOL), p.text("timeframe", TIMEFRAME)
    count, cursor = p.integer("count", COUNT), p.optional("cursor", CURSOR)
    return await call.reader.ohlcv.bars(symbol, timeframe, count, cursor=cursor)


async def _stream_ohlcv(call: Call) -> StreamStart:
    p = call.params
    symbol, timeframe = p.text("symbol", SYMBOL), p.text("timeframe", TIMEFRAME)
    count = min(p.integer("count", COUNT), STREAM_LIMIT)
    return StreamStart(
        "ohlcv_update",
        [Ohlcv(symbol, timeframe, count)],
        f"Streaming started for {symbol} {timeframe}",
    )


# -- process ------------------------------------------------------------------------------
async def _get_system_health(call: Call) -> Any:
    return await call.reader.processes.system_health()


async def _get_active_processes(call: Call) -> Any:
    p = call.params
    return await call.reader.processes.active(
        process_type=p.optional("process_type", PROCESS_TYPE),
        component=p.optional("component", COMPONENT),
        since_minutes=p.integer("since_minutes", SINCE_MINUTES),
        cursor=p.optional("cursor", CURSOR),
        limit=p.integer("limit", PROCESS_PAGE),
    )


async def _stream_process_health(call: Call) -> StreamStart:
    return StreamStart(
        "process_health_update", [ProcessHealth()], "Streaming started for process health"
    )


_COMMON: dict[str, Handler] = {"ping": _ping}

DOMAINS: dict[str, Domain] = {
    domain.name: domain
    for domain in (
        Domain("", "NOT_FOUND", {**_COMMON, "health_check": _health_check}),
        Domain(
            "tickers",
            "TICKER_NOT_FOUND",
            {
                **_COMMON,
                "get_ticker": _get_ticker,
                "get_all_tickers": _get_all_tickers,
                "stream_tickers": _stream_tickers,
            },
        ),
        Domain(
            "accounts",
            "BALANCE_NOT_FOUND",
            {
                **_COMMON,
                "get_balance": _get_balance,
                "get_positions": _get_positions,
                "stream_positions": _stream_positions,
            },
        ),
        Domain(
            "orders",
            "ORDER_NOT_FOUND",
            {
                **_COMMON,
                "get_order_status": _get_order_status,
                "get_queue_length": _get_queue_length,
                "stream_order_queue": _stream_order_queue,
            },
        ),
        Domain(
            "bots",
            "BOT_NOT_FOUND",
            {
                **_COMMON,
                "get_bot_status": _get_bot_status,
                "is_blocked": _is_blocked,
                "get_bots": _get_bots,
                "stream_bot_status": _stream_bot_status,
            },
        ),
        Domain(
            "trades",
            "NOT_FOUND",
            {**_COMMON, "get_trades": _get_trades, "stream_trade_updates": _stream_trade_updates},
        ),
        Domain(
            "ohlcv",
            "OHLCV_NOT_FOUND",
            {
                **_COMMON,
                "get_latest_ohlcv_bars": _get_latest_ohlcv_bars,
                "stream_ohlcv": _stream_ohlcv,
            },
        ),
        Domain(
            "process",
            "NOT_FOUND",
            {
                **_COMMON,
                "get_system_health": _get_system_health,
                "get_active_processes": _get_active_processes,
                "stream_process_health": _stream_process_health,
            },
        ),
    )
}
