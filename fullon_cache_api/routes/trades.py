"""Trades: ``trades:{ex}:{symbol}`` and ``user_trades:{uid}:{ex}`` queues, read without
consuming them, and the ``TRADE:STATUS:{key}`` update times.

Private: a non-admin reads the user queues of the uids it owns, and in a shared
``trades:{exchange}:{symbol}`` queue only the trades carrying its ids; the overview is
admin-only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._params import EXCHANGE, SYMBOL, UID, Bound, path_param, query_int
from .._responses import MsgspecResponse
from ..structs.trades import TradeList, TradeOverview, TradeQueueStatus, UserTradeList
from ._common import ApiRoute, ownership_of, reader_from

# How many of the newest trades one request returns.
TRADE_LIMIT = Bound(default=100, minimum=1, maximum=10000)


async def overview(request: Request) -> Response:
    """Trade queues with their lengths, and the last update time of each trade status (admin)."""
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).trades.overview(only=only))


async def queue_status(request: Request) -> Response:
    """Every trade queue with its length and its exchange's TRADE:STATUS time and age.

    SCAN ``trades:*`` and ``user_trades:*`` (lists) and ``TRADE:STATUS:*`` (strings), then one
    pipeline: LLEN per queue and an MGET of the statuses; nothing is consumed. Admins see
    every queue and status; others only the ``user_trades:{uid}:*`` queues of their uids (the
    shared ``trades:`` queues name no owner, as on /trades). The scans stop after the Redis
    socket timeout (``partial: true``).
    """
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).queues.trade_queues(only=only))


async def user_trades(request: Request) -> Response:
    """The newest trades of a user's queue on one exchange, oldest first; nothing is popped."""
    uid = path_param(request, "uid", UID)
    exchange = path_param(request, "exchange", EXCHANGE)
    limit = query_int(request, "limit", TRADE_LIMIT)
    only = await ownership_of(request)
    trades = reader_from(request).trades
    return MsgspecResponse(await trades.user_queue(uid, exchange, limit, only=only))


async def symbol_trades(request: Request) -> Response:
    """The newest trades of one exchange and symbol, oldest first; nothing is consumed."""
    exchange = path_param(request, "exchange", EXCHANGE)
    symbol = path_param(request, "symbol", SYMBOL)
    limit = query_int(request, "limit", TRADE_LIMIT)
    only = await ownership_of(request)
    trades = reader_from(request).trades
    return MsgspecResponse(await trades.queue(exchange, symbol, limit, only=only))


routes = [
    ApiRoute("/trades", overview, response=TradeOverview, access="private"),
    # Before /trades/{exchange}/{symbol}: an exchange named "queue" is not addressable there.
    ApiRoute(
        "/trades/queue/status",
        queue_status,
        response=TradeQueueStatus,
        access="private",
        ages=True,
    ),
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
