"""How a stored order becomes an `Order`: each stored value converted on its own.

The hash field is the order's authoritative id: the stored ``order_id`` is usually that same
text but turns into the internal int after update_order, so it is exposed as
``stored_order_id`` and never trusted. A listing ranks orders from `_OrderRank` / `_OrderKey`
(the few keys ranking and filtering need) and decodes only the orders it answers whole.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from ..structs.orders import Order
from ._codec import Invalid, attempt, decode, to_datetime, to_float

# One order's answer is a function of (key, field, stored value): polled orders are decoded
# once per stored value. Order is frozen and holds no mutable value, so it is shared; the
# memo is bounded (dropped whole when full, like a generation) and sees only `one`'s reads
# of values up to `_MAX_DECODED_VALUE` bytes (an order is ~450).
_MAX_DECODED = 2048
_MAX_DECODED_VALUE = 4096
_decoded: dict[tuple[str, str, bytes | str], Order] = {}


class _OrderRank(msgspec.Struct):
    """What ranking and filtering an order needs; the rest is decoded for answered ones only."""

    timestamp: Any = None
    status: Any = None
    symbol: Any = None


class _OrderKey(_OrderRank):
    """`_OrderRank` and the owner ids, for a caller who sees only some orders."""

    ex_id: Any = None
    uid: Any = None
    bot_id: Any = None


# An order's place in a newest-first listing: (no time, minus its time, order id).
_Rank = tuple[bool, float, str]


class _StoredOrder(msgspec.Struct):
    """The keys of ``Order.to_dict()`` we use, untyped: each is converted on its own."""

    order_id: Any = None
    ex_order_id: Any = None
    exchange: Any = None
    symbol: Any = None
    order_type: Any = None
    side: Any = None
    status: Any = None
    command: Any = None
    reason: Any = None
    volume: Any = None
    final_volume: Any = None
    price: Any = None
    plimit: Any = None
    leverage: Any = None
    fee: Any = None
    cost: Any = None
    futures: Any = None
    timestamp: Any = None
    bot_id: Any = None
    uid: Any = None
    ex_id: Any = None
    cat_ex_id: Any = None
    tick: Any = None


def _remembered_order(key: str, order_id: str, raw: bytes | str) -> Order | Invalid:
    """The order stored as `raw` (or why not), memoised by its arguments (the near cache hands
    back the same bytes object, whose hash Python keeps, so a repeated read costs one dict
    lookup)."""
    global _decoded
    memo = (key, order_id, raw)
    order = _decoded.get(memo) if len(raw) <= _MAX_DECODED_VALUE else None
    if order is not None:
        return order
    stored = attempt(raw, _StoredOrder)
    if isinstance(stored, Invalid):
        return stored
    order = _from_stored(key, order_id, stored)
    if len(raw) <= _MAX_DECODED_VALUE:
        if len(_decoded) >= _MAX_DECODED:
            _decoded = {}
        _decoded[memo] = order
    return order


def _order(key: str, order_id: str, raw: bytes | str) -> Order:
    """The order stored as `raw`; raises `Undecodable`."""
    return _from_stored(key, order_id, decode(raw, _StoredOrder))


def _from_stored(key: str, order_id: str, stored: _StoredOrder) -> Order:
    # Trust the hash field for the id; every stored value is converted on its own so one odd
    # value (a number as text, the string "None") nulls that value, not the whole order.
    return Order(
        key=key,
        order_id=order_id,
        ex_order_id=_text(stored.ex_order_id),
        stored_order_id=_id(stored.order_id),
        exchange=_text(stored.exchange),
        symbol=_text(stored.symbol),
        order_type=_text(stored.order_type),
        side=_text(stored.side),
        status=_text(stored.status),
        command=_text(stored.command),
        reason=_text(stored.reason),
        volume=to_float(stored.volume),
        final_volume=to_float(stored.final_volume),
        price=to_float(stored.price),
        plimit=to_float(stored.plimit),
        leverage=to_float(stored.leverage),
        fee=to_float(stored.fee),
        cost=to_float(stored.cost),
        futures=_flag(stored.futures),
        timestamp=to_datetime(stored.timestamp),
        bot_id=_id(stored.bot_id),
        uid=_id(stored.uid),
        ex_id=_id(stored.ex_id),
        cat_ex_id=_id(stored.cat_ex_id),
        tick=to_float(stored.tick),
    )


def _text(value: Any) -> str | None:
    """A stored string; an int id (``ex_order_id`` may be one) becomes its text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _id(value: Any) -> int | str | None:
    """A stored identifier as written (int or text); a whole float becomes an int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _flag(value: Any) -> bool | None:
    """A stored boolean, also accepting 0/1 and their text or ``true``/``false``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(value.strip().lower())
    return None
