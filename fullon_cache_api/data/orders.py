"""Reader of ``order_status:{key}`` hashes and ``new_orders:{local_oid}`` queues.

The key of an order hash is an exchange name (save_order / update_order) or an ex_id
(save_order_data); both kinds coexist, so both are read the same way. The hash field is the
order's authoritative id: the stored ``order_id`` is usually that same text but turns into the
internal int after update_order, so it is exposed as ``stored_order_id`` and never trusted.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import msgspec

from .._access import ex_id_of, may_hold, sees_corrupt, sees_in
from .._auth import Ownership
from .._codec import Undecodable, decode, to_datetime, to_float
from .._errors import CorruptEntry, NotFound
from .._redis import translate_errors
from ..structs.orders import (
    Order,
    OrderHash,
    OrderHashes,
    OrderList,
    OrderMatches,
    OrderQueue,
    OrderQueues,
)
from ._base import BaseReader, Scanned, text

__all__ = ["OrderReader"]

_HASH_PREFIX = "order_status:"
_QUEUE_PREFIX = "new_orders:"
# One order's answer is a function of (key, field, stored value): polled orders are decoded
# once per stored value. Order is frozen and holds no mutable value, so it is shared; the
# memo is bounded (dropped whole when full, like a generation) and sees only `one`'s reads
# of values up to `_MAX_DECODED_VALUE` bytes (an order is ~450).
_MAX_DECODED = 2048
_MAX_DECODED_VALUE = 4096
_decoded: dict[tuple[str, str, bytes | str], Order] = {}


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


class OrderReader(BaseReader):
    """Orders of every key (exchange name or ex_id), found by SCAN, and open-order queues.

    `only` restricts reads to what an `Ownership` grants (None: everything): a hash keyed by
    an ex_id is the owner's whole, an exchange-named hash is filtered order by order on the
    ids each order carries, and a hash that shows the caller nothing reads as absent.
    """

    async def hashes(self, *, only: Ownership | None = None) -> OrderHashes:
        """Every ``order_status:*`` hash with its size and TTL (SCAN, then HLEN + TTL each).

        For a non-admin an exchange-named hash is read whole (HGETALL) to count only the
        caller's orders; hashes holding none of theirs are not listed. A key of another Redis
        type is counted in `skipped` (for a non-admin only when keyed by one of its ex_ids).
        """
        scanned = await self._hash_keys()
        keys = [key for key in scanned.keys if may_hold(only, _account(key))]
        shared = {key for key in keys if only is not None and ex_id_of(_account(key)) is None}
        with translate_errors("order hashes"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    if key in shared:
                        pipe.hgetall(key)
                    else:
                        pipe.hlen(key)
                    pipe.ttl(key)
                replies = await pipe.execute()
        found: list[OrderHash] = []
        for key, size, ttl in zip(keys, replies[::2], replies[1::2], strict=True):
            if key in shared:
                size = sum(_shows(only, _account(key), text(f), raw) for f, raw in size.items())
            if size:  # a hash that expired between SCAN and HLEN is gone
                found.append(OrderHash(key=_account(key), orders=size, ttl_seconds=_ttl(ttl)))
        return OrderHashes(
            count=len(found), skipped=_wrong_seen(only, scanned.wrong_type), hashes=found
        )

    async def find(self, order_id: str, *, only: Ownership | None = None) -> OrderMatches:
        """`order_id` in every ``order_status:*`` hash (SCAN, then HGET each); 404 when absent."""
        missing = NotFound(f"order {order_id!r} is in no order_status hash")
        scanned = await self._hash_keys()
        keys = [key for key in scanned.keys if may_hold(only, _account(key))]
        with translate_errors(f"order {order_id!r} in order hashes"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hget(key, order_id)
                values: list[bytes | None] = await pipe.execute()
        orders: list[Order] = []
        # A hash of another Redis type might hold the order: it is counted as skipped.
        skipped = _wrong_seen(only, scanned.wrong_type)
        for key, raw in zip(keys, values, strict=True):
            if raw is None:
                continue
            try:
                order = _order(_account(key), order_id, raw)
            except Undecodable as exc:
                self.skipped(order_id, key, exc)
                skipped += sees_corrupt(only, _account(key))
                continue
            if sees_order(only, order):
                orders.append(order)
        if not orders and not skipped:
            raise missing
        return OrderMatches(order_id=order_id, count=len(orders), skipped=skipped, orders=orders)

    async def queues(self, *, only: Ownership | None = None) -> OrderQueues:
        """Every ``new_orders:*`` queue with its length (SCAN, then LLEN each; nothing popped).

        The queues name no owner, so only an admin sees them; anyone else gets none. A key of
        another Redis type is counted in `skipped`.
        """
        if only is not None:
            return OrderQueues(count=0, skipped=0, queues=[])
        scanned = await self.scan_typed(f"{_QUEUE_PREFIX}*", "list")
        keys = scanned.keys
        with translate_errors("open-order queues"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                lengths = await pipe.execute()
        found = [
            OrderQueue(local_oid=key.removeprefix(_QUEUE_PREFIX), length=length)
            for key, length in zip(keys, lengths, strict=True)
            if length
        ]
        return OrderQueues(count=len(found), skipped=len(scanned.wrong_type), queues=found)

    async def all(
        self,
        account: str,
        *,
        status: str | None,
        symbol: str | None,
        limit: int,
        only: Ownership | None = None,
    ) -> OrderList:
        """Orders under `account`, newest write first (HGETALL + TTL); 404 when the key is absent.

        `status` matches case-insensitively (``FILLED`` finds ``filled``), `symbol` exactly.
        Ties in write time are broken by order id; orders without a time come last.
        """
        missing = NotFound(f"no orders cached under {account!r}")
        if not may_hold(only, account):
            raise missing
        key = f"{_HASH_PREFIX}{account}"
        with translate_errors(key):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(key)
                pipe.ttl(key)
                stored, ttl = await pipe.execute()
        orders: list[Order] = []
        skipped = 0
        for field, raw in stored.items():
            order_id = text(field)
            try:
                order = _order(account, order_id, raw)
            except Undecodable as exc:
                self.skipped(order_id, key, exc)
                skipped += sees_corrupt(only, account)
                continue
            if sees_order(only, order):
                orders.append(order)
        if not orders and not skipped:
            raise missing
        wanted = status.casefold() if status is not None else None
        orders = [
            order
            for order in orders
            if (wanted is None or (order.status or "").casefold() == wanted)
            and (symbol is None or order.symbol == symbol)
        ]
        orders.sort(key=_newest_first)
        kept = orders[:limit]
        return OrderList(
            key=account,
            ttl_seconds=_ttl(ttl),
            count=len(kept),
            matched=len(orders),
            skipped=skipped,
            orders=kept,
        )

    async def one(self, account: str, order_id: str, *, only: Ownership | None = None) -> Order:
        """The order stored under field `order_id` of ``order_status:{account}`` (HGET)."""
        missing = NotFound(f"no order {order_id!r} cached under {account!r}")
        if not may_hold(only, account):
            raise missing
        key = f"{_HASH_PREFIX}{account}"
        with translate_errors(key):
            raw = await self.redis.hget(key, order_id)
        if raw is None:
            raise missing
        try:
            order = _remembered_order(account, order_id, raw)
        except Undecodable as exc:
            if not sees_corrupt(only, account):
                raise missing from None  # whose it is cannot be read: not the caller's
            raise CorruptEntry(f"order {order_id!r} in {key} is not valid JSON: {exc}") from None
        if not sees_order(only, order):
            raise missing
        return order

    async def _hash_keys(self) -> Scanned:
        return await self.scan_typed(f"{_HASH_PREFIX}*", "hash")


def _account(key: str) -> str:
    """The account part of an ``order_status:`` key: an exchange name or an ex_id."""
    return key.removeprefix(_HASH_PREFIX)


def _wrong_seen(only: Ownership | None, wrong_type: list[str]) -> int:
    """How many wrong-type order keys the caller is shown (rules of a corrupt entry)."""
    return sum(sees_corrupt(only, _account(key)) for key in wrong_type)


def sees_order(only: Ownership | None, order: Order) -> bool:
    """Whether the caller sees `order` (rules in `_access`)."""
    return sees_in(only, order.key, ex_id=order.ex_id, uid=order.uid, bot_id=order.bot_id)


def _shows(only: Ownership | None, account: str, order_id: str, raw: bytes | str) -> bool:
    """Whether the caller sees a stored order; a corrupt one's owner is unknown: hidden."""
    try:
        return sees_order(only, _order(account, order_id, raw))
    except Undecodable:
        return False


def _remembered_order(key: str, order_id: str, raw: bytes | str) -> Order:
    """`_order`, memoised by its arguments (the near cache hands back the same bytes object,
    whose hash Python keeps, so a repeated read costs one dict lookup)."""
    global _decoded
    if len(raw) > _MAX_DECODED_VALUE:
        return _order(key, order_id, raw)
    memo = (key, order_id, raw)
    order = _decoded.get(memo)
    if order is None:
        order = _order(key, order_id, raw)
        if len(_decoded) >= _MAX_DECODED:
            _decoded = {}
        _decoded[memo] = order
    return order


def _order(key: str, order_id: str, raw: bytes | str) -> Order:
    # Trust the hash field for the id; every stored value is converted on its own so one odd
    # value (a number as text, the string "None") nulls that value, not the whole order.
    stored = decode(raw, _StoredOrder)
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


def _ttl(reply: int) -> int | None:
    """TTL's answer in seconds; -1 (no expiry) and -2 (gone) become None."""
    return reply if reply >= 0 else None


def _newest_first(order: Order) -> tuple[bool, float, str]:
    when: datetime | None = order.timestamp
    return (when is None, -when.timestamp() if when is not None else 0.0, order.order_id)
