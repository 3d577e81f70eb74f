"""The private domains' actions (accounts, orders, bots, trades) in the original gateway's
shapes; see `_original_actions`. Each reads with the caller's `Ownership`, as HTTP does.

An action that answered "everything" in the original (``get_positions`` without an account,
``get_bots``) keeps its shape and answers one page of the largest size the HTTP route allows
(DOCUMENT_PAGE.maximum accounts or bots): the rest is in the HTTP pages (``/positions``,
``/bots``) and the ``/ws/v2`` actions' ``cursor``."""

from __future__ import annotations

import time
from typing import Any

from .._errors import NotFound
from ..data import DOCUMENT_PAGE
from ..http import ACCOUNT, BOT_ID, EX_ID, EXCHANGE, ORDER_ID, SYMBOL, Bound
from ..security import Ownership, ex_id_of, sees
from ._calls import CURRENCY, Call
from ._dialects import OriginalStart
from ._original_shapes import balance, bot_document, bot_status, order, position, trade
from ._original_streams import (
    AllPositions,
    BotsPush,
    PositionPushes,
    QueueLengthPush,
    TradePush,
    bots_update,
    queue_length,
)
from ._polled import Bots, Orders, Positions, Trades
from ._protocol import INVALID_PARAMS, ActionError

__all__ = [
    "get_balance",
    "get_bot_status",
    "get_bots",
    "get_order_status",
    "get_positions",
    "get_queue_length",
    "get_trades",
    "integer",
    "is_blocked",
    "stream_bot_status",
    "stream_order_queue",
    "stream_positions",
    "stream_trade_updates",
]

TRADE_COUNT = Bound(default=10000, minimum=1, maximum=10000)  # the original read every trade


def integer(call: Call, name: str, bound: Bound) -> int:
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


# -- accounts -----------------------------------------------------------------------------
def _account(call: Call, name: str, *aliases: str) -> str | None:
    return call.params.optional(name, EX_ID, *aliases)


async def get_balance(call: Call) -> Any:
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


async def get_positions(call: Call) -> Any:
    raw = call.params.raw
    user_id = _account(call, "user_id")
    ex_id = _account(call, "exchange", "ex_id")
    if user_id is None and ex_id is None:
        raise ActionError(INVALID_PARAMS, "user_id or exchange parameter required")
    only = await call.ownership()
    if ex_id is None:  # every account (the original: get_all_positions): one largest page
        listed = await call.reader.accounts.all_positions(only=only, limit=DOCUMENT_PAGE.maximum)
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


async def stream_positions(call: Call) -> OriginalStart:
    user_id = _account(call, "user_id")
    ex_id = _account(call, "exchange", "ex_id")
    if user_id is None and ex_id is None:
        raise ActionError(INVALID_PARAMS, "user_id or exchange parameter required")
    only = await call.ownership()
    if ex_id is None:
        spec = PositionPushes(AllPositions(None if only is None else only.ex_ids))
        return OriginalStart("position_update", [spec], f"Streaming started for user {user_id}")
    if not sees(only, ex_id=ex_id):
        raise NotFound(f"no account {ex_id!r} cached")
    spec = PositionPushes(Positions(ex_id))
    return OriginalStart("position_update", [spec], f"Streaming started for exchange {ex_id}")


# -- orders -------------------------------------------------------------------------------
async def get_order_status(call: Call) -> Any:
    account = call.params.text("exchange", ACCOUNT, "account")
    order_id = call.params.text("order_id", ORDER_ID)
    try:
        found = await call.reader.orders.one(account, order_id, only=await call.ownership())
    except NotFound:
        raise NotFound(f"Order {order_id} not found") from None
    return order(found, account)


async def get_queue_length(call: Call) -> Any:
    account = call.params.text("exchange", ACCOUNT, "account")
    only = await call.ownership()
    try:
        orders = await call.reader.orders.all(account, status=None, symbol=None, limit=1, only=only)
    except NotFound:
        return queue_length(account, 0)
    return queue_length(account, orders.matched)


async def stream_order_queue(call: Call) -> OriginalStart:
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
async def get_bot_status(call: Call) -> Any:
    bot_id = call.params.text("bot_id", BOT_ID)
    try:
        found = bot_status(await call.reader.bots.one(bot_id, only=await call.ownership()))
    except NotFound:
        found = None
    if found is None:
        raise NotFound(f"Bot {bot_id} not found")
    return found


async def is_blocked(call: Call) -> Any:
    exchange = call.params.text("exchange", ACCOUNT, "ex_id")
    symbol = call.params.text("symbol", SYMBOL)
    found = await call.reader.bots.block(exchange, symbol, only=await call.ownership())
    return {
        "exchange": exchange,
        "symbol": symbol,
        "is_blocked": found.blocked,
        "blocked_by": found.bot,
        "timestamp": time.time(),
    }


async def get_bots(call: Call) -> Any:
    only = await call.ownership()
    listed = await call.reader.bots.all(only=only, limit=DOCUMENT_PAGE.maximum)
    return {"bots": {bot.bot_id: bot_document(bot) for bot in listed.bots}}


async def stream_bot_status(call: Call) -> OriginalStart:
    bot_id = call.params.optional("bot_id", BOT_ID)
    only = await call.ownership()
    if bot_id is not None:  # that bot's field only (HMGET), if the caller may read it
        mine = sees(only, bot_id=bot_id)
        only = Ownership(bot_ids=frozenset({bot_id} if mine else ()))
    message = f"Streaming started for bot {bot_id}" if bot_id else "Streaming started"
    return OriginalStart(
        "bot_update",
        [BotsPush(Bots(only), bot_id)],
        message,
        absent=lambda: [bots_update({}, bot_id)],
    )


# -- trades -------------------------------------------------------------------------------
async def get_trades(call: Call) -> Any:
    """LRANGE only: unlike the original (fullon_cache's get_trades), nothing is consumed."""
    p = call.params
    exchange, symbol = p.text("exchange", EXCHANGE), p.text("symbol", SYMBOL)
    limit = integer(call, "count", TRADE_COUNT)
    try:
        listed = await call.reader.trades.queue(
            exchange, symbol, limit, only=await call.ownership()
        )
        items = [trade(t, exchange, symbol) for t in listed.trades]
    except NotFound:
        items = []
    return {"exchange": exchange, "symbol": symbol, "trades": items}


async def stream_trade_updates(call: Call) -> OriginalStart:
    p = call.params
    exchange, symbol = p.text("exchange", EXCHANGE), p.optional("symbol", SYMBOL)
    if symbol is None:  # the original accepted this and pushed nothing
        return OriginalStart("trade_update", [], f"Streaming started for {exchange}")
    spec = TradePush(Trades(exchange, symbol, 1, await call.ownership()))
    message = f"Streaming started for {exchange} symbol={symbol}"
    return OriginalStart("trade_update", [spec], message)
