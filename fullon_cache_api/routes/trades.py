"""Trades: ``trades:{ex}:{symbol}`` and ``user_trades:{uid}:{ex}`` queues, read without
consuming them, and the ``TRADE:STATUS:{key}`` update times.

Private: a non-admin reads the user queues of the uids it owns, and in a shared
``trades:{exchange}:{symbol}`` queue only the trades carrying its ids; the overview is
admin-only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..data import KEY_PAGE, TRADE_PAGE
from ..http import (
    CURSOR,
    Bound,
    MsgspecResponse,
    Pattern,
    query_int,
    query_text,
)
from ..structs.trades import TradeList, TradeOverview, TradeQueueStatus, UserTradeList
from ._common import ApiRoute, ownership_of, reader_from

# How many of the newest trades one request returns.
TRADE_LIMIT = TRADE_PAGE
_PAGE: dict[str, Pattern | Bound] = {"limit": TRADE_PAGE, "cursor": CURSOR}


async def overview(request: Request) -> Response:
    """A page of the trade queues with their lengths, then of the trade statuses with their
    last update time (admin)."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", KEY_PAGE)
    only = await ownership_of(request)
    trades = reader_from(request).trades
    return MsgspecResponse(await trades.overview(only=only, cursor=cursor, limit=limit))


async def queue_status(request: Request) -> Response:
    """Every trade queue with its length and its exchange's TRADE:STATUS time and age.

    SCAN ``trades:*`` and ``user_trades:*`` (lists) and ``TRADE:STATUS:*`` (strings), then
    LLEN per queue and MGET of the statuses, a chunk per round trip; nothing is consumed. Admins see
    every queue and status; others only the ``user_trades:{uid}:*`` queues of their uids (the
    shared ``trades:`` queues name no owner, as on /trades). A page holds about `limit` keys
    (default 1000, at most 10000; `cursor` = the `next_cursor` of the page before): queues,
    then (admins) status marks. The scans stop once the read budget is spent (``partial:
    true``).
    """
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", KEY_PAGE)
    only = await ownership_of(request)
    queues = reader_from(request).queues
    return MsgspecResponse(await queues.trade_queues(only=only, cursor=cursor, limit=limit))


async def user_trades(request: Request) -> Response:
    """The newest trades of a user's queue on one exchange, oldest first, a page at a time
    (`cursor`: older ones); nothing is popped."""
    uid = request.path_params["uid"]
    exchange = request.path_params["exchange"]
    limit = query_int(request, "limit", TRADE_PAGE)
    cursor = query_text(request, "cursor", CURSOR)
    only = await ownership_of(request)
    trades = reader_from(request).trades
    return MsgspecResponse(await trades.user_queue(uid, exchange, limit, only=only, cursor=cursor))


async def symbol_trades(request: Request) -> Response:
    """The newest trades of one exchange and symbol, oldest first, a page at a time
    (`cursor`: older ones); nothing is consumed."""
    exchange = request.path_params["exchange"]
    symbol = request.path_params["symbol"]
    limit = query_int(request, "limit", TRADE_PAGE)
    cursor = query_text(request, "cursor", CURSOR)
    only = await ownership_of(request)
    trades = reader_from(request).trades
    return MsgspecResponse(await trades.queue(exchange, symbol, limit, only=only, cursor=cursor))


routes = [
    ApiRoute(
        "/trades",
        overview,
        response=TradeOverview,
        query={"limit": KEY_PAGE, "cursor": CURSOR},
        access="private",
    ),
    # Before /trades/{exchange}/{symbol}: an exchange named "queue" is not addressable there.
    ApiRoute(
        "/trades/queue/status",
        queue_status,
        response=TradeQueueStatus,
        query={"limit": KEY_PAGE, "cursor": CURSOR},
        access="private",
        ages=True,
    ),
    ApiRoute(
        "/trades/users/{uid}/{exchange}",
        user_trades,
        response=UserTradeList,
        query=_PAGE,
        access="private",
    ),
    ApiRoute(
        "/trades/{exchange}/{symbol:path}",
        symbol_trades,
        response=TradeList,
        query=_PAGE,
        access="private",
    ),
]
