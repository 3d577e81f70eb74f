"""Trades: ``trades:{ex}:{symbol}`` and ``user_trades:{uid}:{ex}`` queues, read without
consuming them, and the ``TRADE:STATUS:{key}`` update times."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._params import EXCHANGE, SYMBOL, UID, Bound, path_param, query_int
from .._responses import MsgspecResponse
from ..structs.trades import TradeList, TradeOverview, UserTradeList
from ._common import ApiRoute, reader_from

# How many of the newest trades one request returns.
TRADE_LIMIT = Bound(default=100, minimum=1, maximum=10000)


async def overview(request: Request) -> Response:
    """Trade queues with their lengths, and the last update time of each trade status."""
    return MsgspecResponse(await reader_from(request).trades.overview())


async def user_trades(request: Request) -> Response:
    """The newest trades of a user's queue on one exchange, oldest first; nothing is popped."""
    uid = path_param(request, "uid", UID)
    exchange = path_param(request, "exchange", EXCHANGE)
    limit = query_int(request, "limit", TRADE_LIMIT)
    return MsgspecResponse(await reader_from(request).trades.user_queue(uid, exchange, limit))


async def symbol_trades(request: Request) -> Response:
    """The newest trades of one exchange and symbol, oldest first; nothing is consumed."""
    exchange = path_param(request, "exchange", EXCHANGE)
    symbol = path_param(request, "symbol", SYMBOL)
    limit = query_int(request, "limit", TRADE_LIMIT)
    return MsgspecResponse(await reader_from(request).trades.queue(exchange, symbol, limit))


routes = [
    ApiRoute("/trades", overview, response=TradeOverview, access="private"),
    ApiRoute(
        "/trades/users/{uid}/{exchange}",
        user_trades,
        response=UserTradeList,
        query={"limit": TRADE_LIMIT},
        access="private",
    ),
    ApiRoute(
        "/trades/{exchange}/{symbol:path}",
        symbol_trades,
        response=TradeList,
        query={"limit": TRADE_LIMIT},
        access="private",
    ),
]
