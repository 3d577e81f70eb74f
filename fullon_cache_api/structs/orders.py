"""Structs of the orders domain (``order_status:{key}`` hashes and ``new_orders:{oid}`` lists)."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = [
    "Order",
    "OrderHash",
    "OrderHashes",
    "OrderList",
    "OrderMatches",
    "OrderQueue",
    "OrderQueues",
    "OrderStatus",
    "OrderStatusList",
]


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """One cached order; `order_id` is its hash field, `timestamp` when the cache wrote it."""

    key: str
    order_id: str
    ex_order_id: str | None
    stored_order_id: str | int | None
    exchange: str | None
    symbol: str | None
    order_type: str | None
    side: str | None
    status: str | None
    command: str | None
    reason: str | None
    volume: float | None
    final_volume: float | None
    price: float | None
    plimit: float | None
    leverage: float | None
    fee: float | None
    cost: float | None
    futures: bool | None
    timestamp: datetime | None
    bot_id: int | str | None
    uid: int | str | None
    ex_id: int | str | None
    cat_ex_id: int | str | None
    tick: float | None


class OrderList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the orders under one key, newest write first; `matched` counts the orders
    matching the filters (before `limit`); `partial`: the read budget ran out before the end of
    the hash, so these are the newest of the orders read; `next_cursor` fetches the next page
    (null: no more matching orders)."""

    key: str
    ttl_seconds: int | None
    count: int
    matched: int
    skipped: int
    partial: bool = False
    next_cursor: str | None = None
    orders: list[Order]


class OrderMatches(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The order hashes of one page of the scan that hold `order_id` (each order carries the
    key it was found under); `next_cursor` continues the search over the next hashes."""

    order_id: str
    count: int
    skipped: int
    next_cursor: str | None = None
    orders: list[Order]


class OrderHash(msgspec.Struct, frozen=True, kw_only=True):
    """An ``order_status:`` hash: its key (exchange name or ex_id), order count and TTL."""

    key: str
    orders: int
    ttl_seconds: int | None


class OrderHashes(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the order hashes found by scanning ``order_status:*``, sorted by key; `skipped`
    counts ``order_status:`` keys of another Redis type than hash; `partial`: a shared hash
    could not be counted to its end within the read budget; `next_cursor` continues the scan."""

    count: int
    skipped: int
    partial: bool = False
    next_cursor: str | None = None
    hashes: list[OrderHash]


class OrderQueue(msgspec.Struct, frozen=True, kw_only=True):
    """An open-order queue ``new_orders:{local_oid}`` and how many ids wait in it."""

    local_oid: str
    length: int


class OrderQueues(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Every open-order queue found by scanning ``new_orders:*``, sorted by local_oid;
    `skipped` counts ``new_orders:`` keys of another Redis type than list."""

    count: int
    skipped: int
    next_cursor: str | None = None
    queues: list[OrderQueue]


class OrderStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where an order is cached (`key`: exchange name or ex_id) and its state there."""

    key: str
    order_id: str
    status: str | None
    symbol: str | None
    side: str | None
    order_type: str | None
    volume: float | None
    final_volume: float | None
    price: float | None
    timestamp: datetime | None


class OrderStatusList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The status of `order_id` in the ``order_status:*`` hashes of one page of the scan
    holding it, by key; `skipped` counts hashes where it is stored corrupt (or keys of another
    Redis type); `next_cursor` continues the search over the next hashes."""

    order_id: str
    count: int
    skipped: int
    next_cursor: str | None = None
    orders: list[OrderStatus]
