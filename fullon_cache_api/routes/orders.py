"""Orders: ``order_status:{key}`` hashes (key = exchange name or ex_id) and open-order queues.

Private: a non-admin sees hashes keyed by the ex_ids it owns, and in exchange-named hashes
only the orders carrying its ids; open-order queues name no owner and are admin-only.

The specification's ``/orders/queue/size`` and ``/orders/{order_id}/status`` come before
``/orders/{account}/{order_id}``: an order stored under the id ``status`` (or ``size`` under
``queue``) is reached through ``/orders?order_id=`` or ``/orders/{account}`` instead.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..data import KEY_PAGE, ORDER_PAGE
from ..http import (
    CURSOR,
    ORDER_ID,
    STATUS,
    SYMBOL,
    MsgspecResponse,
    Pattern,
    query_int,
    query_text,
)
from ..structs.orders import (
    Order,
    OrderHashes,
    OrderList,
    OrderMatches,
    OrderQueues,
    OrderStatus,
    OrderStatusList,
)
from ._common import ApiRoute, ownership_of, reader_from

# Orders returned by one list call (also the limit of an order stream).
ORDER_LIMIT = ORDER_PAGE
# The name of an open-order queue, ``new_orders:{local_oid}``.
LOCAL_OID = Pattern("local_oid", r"[A-Za-z0-9][A-Za-z0-9_.\-:]*", 128, "open-order queue id")


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


async def queue_size(request: Request) -> Response:
    """Open-order queue sizes (fullon_cache's get_queue_size), as /orders/queues.

    A page of the ``new_orders:*`` queues with their lengths (SCAN, LLEN each); with `local_oid`,
    that queue alone (TYPE + LLEN, no SCAN). Nothing is popped. The queues name no owner:
    admins only, others get an empty list.
    """
    local_oid = query_text(request, "local_oid", LOCAL_OID)
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", KEY_PAGE)
    only = await ownership_of(request)
    reader = reader_from(request)
    if local_oid is None:
        return MsgspecResponse(await reader.orders.queues(only=only, cursor=cursor, limit=limit))
    return MsgspecResponse(await reader.queues.open_orders(local_oid, only=only))


async def order_status(request: Request) -> Response:
    """The status of one order wherever it is cached; 404 when no order hash holds it.

    The ``order_status:*`` hashes, keyed by exchange name or by ex_id, are searched a page of
    keys at a time (SCAN, then HGET each; `next_cursor` continues), as ``/orders?order_id=``
    does; each hit names the key it was found under. An order you do not own is not shown (a
    404 when none is yours).
    """
    order_id = request.path_params["order_id"]
    cursor = query_text(request, "cursor", CURSOR)
    limit = query_int(request, "limit", KEY_PAGE)
    only = await ownership_of(request)
    orders = reader_from(request).orders
    found = await orders.find(order_id, only=only, cursor=cursor, limit=limit)
    return MsgspecResponse(_statuses(found))


def _statuses(found: OrderMatches) -> OrderStatusList:
    statuses = [
        OrderStatus(
            key=order.key,
            order_id=order.order_id,
            status=order.status,
            symbol=order.symbol,
            side=order.side,
            order_type=order.order_type,
            volume=order.volume,
            final_volume=order.final_volume,
            price=order.price,
            timestamp=order.timestamp,
        )
        for order in found.orders
    ]
    return OrderStatusList(
        order_id=found.order_id,
        count=found.count,
        skipped=found.skipped,
        next_cursor=found.next_cursor,
        orders=statuses,
    )


async def account_orders(request: Request) -> Response:
    """Orders under one key (exchange name or ex_id), newest first, filtered by status and
    symbol, a page at a time (`partial` when the read budget ran out first)."""
    account = request.path_params["account"]
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
    account = request.path_params["account"]
    order_id = request.path_params["order_id"]
    only = await ownership_of(request)
    return MsgspecResponse(await reader_from(request).orders.one(account, order_id, only=only))


routes = [
    ApiRoute(
        "/orders",
        list_order_hashes,
        response=OrderHashes | OrderMatches,
        query={"order_id": ORDER_ID, "limit": KEY_PAGE, "cursor": CURSOR},
        access="private",
        misses=True,  # ?order_id= of an order in no hash (or none the caller may see): 404
    ),
    ApiRoute(
        "/orders/queues",
        list_queues,
        response=OrderQueues,
        query={"limit": KEY_PAGE, "cursor": CURSOR},
        access="private",
    ),
    # The specification's literal paths, before the parameterised ones they would fall into.
    ApiRoute(
        "/orders/queue/size",
        queue_size,
        response=OrderQueues,
        query={"local_oid": LOCAL_OID, "limit": KEY_PAGE, "cursor": CURSOR},
        access="private",
    ),
    ApiRoute(
        "/orders/{order_id}/status",
        order_status,
        response=OrderStatusList,
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
