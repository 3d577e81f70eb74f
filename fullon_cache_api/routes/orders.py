"""Orders: ``order_status:{key}`` hashes (key = exchange name or ex_id) and open-order queues.

Private: a non-admin sees hashes keyed by the ex_ids it owns, and in exchange-named hashes
only the orders carrying its ids; open-order queues name no owner and are admin-only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._params import (
    ACCOUNT,
    CURSOR,
    ORDER_ID,
    STATUS,
    SYMBOL,
    path_param,
    query_int,
    query_text,
)
from .._responses import MsgspecResponse
from ..data._pages import KEY_PAGE, ORDER_PAGE
from ..structs.orders import Order, OrderHashes, OrderList, OrderMatches, OrderQueues
from ._common import ApiRoute, ownership_of, reader_from

# Orders returned by one list call (also the limit of an order stream).
ORDER_LIMIT = ORDER_PAGE


async def list_order_hashes(request: Request) -> Response:
    """A page of the order hashes with their order count and TTL; `?order_id=` finds one
    order in them."""
    reader = reader_from(request).orders
    order_id = query_text(request, "order_id", ORDER_ID)
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", KEY_PAGE)
    only = await ownership_of(request)
    if order_id is not None:
        return MsgspecResponse(await reader.find(order_id, only=only, cursor=cursor, limit=limit))
    return MsgspecResponse(await reader.hashes(only=only, cursor=cursor, limit=limit))


async def list_queues(request: Request) -> Response:
    """A page of the open-order queues (``new_orders:*``) with their lengths; nothing is
    popped (admin only)."""
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", KEY_PAGE)
    only = await ownership_of(request)
    orders = reader_from(request).orders
    return MsgspecResponse(await orders.queues(only=only, cursor=cursor, limit=limit))


async def account_orders(request: Request) -> Response:
    """Orders under one key (exchange name or ex_id), newest first, filtered by status and
    symbol, a page at a time (`partial` when the read budget ran out first)."""
    account = path_param(request, "account", ACCOUNT)
    status = query_text(request, "status", STATUS)
    symbol = query_text(request, "symbol", SYMBOL)
    limit = query_int(request, "limit", ORDER_PAGE)
    cursor = query_text(request, "cursor", CURSOR)
    only = await ownership_of(request)
    orders = reader_from(request).orders
    return MsgspecResponse(
        await orders.all(
            account, status=status, symbol=symbol, limit=limit, only=only, cursor=cursor
        )
    )


async def one_order(request: Request) -> Response:
    """One order, addressed by its hash field (the exchange order id, or ``None``)."""
    account = path_param(request, "account", ACCOUNT)
    order_id = path_param(request, "order_id", ORDER_ID)
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).orders.one(account, order_id, only=only))


routes = [
    ApiRoute(
        "/orders",
        list_order_hashes,
        response=OrderHashes | OrderMatches,
        query={"order_id": ORDER_ID, "limit": KEY_PAGE, "cursor": CURSOR},
        access="private",
    ),
    ApiRoute(
        "/orders/queues",
        list_queues,
        response=OrderQueues,
        query={"limit": KEY_PAGE, "cursor": CURSOR},
        access="private",
    ),
    ApiRoute(
        "/orders/{account}",
        account_orders,
        response=OrderList,
        query={"status": STATUS, "symbol": SYMBOL, "limit": ORDER_PAGE, "cursor": CURSOR},
        access="private",
    ),
    ApiRoute("/orders/{account}/{order_id:path}", one_order, response=Order, access="private"),
]
