"""Reader of ``order_status:{key}`` hashes and ``new_orders:{local_oid}`` queues.

The key of an order hash is an exchange name (save_order / update_order) or an ex_id
(save_order_data); both kinds coexist, so both are read the same way. The hash field is the
order's authoritative id: the stored ``order_id`` is usually that same text but turns into the
internal int after update_order, so it is exposed as ``stored_order_id`` and never trusted.

Orders are listed newest first, which needs every order of a hash: the hash is read in HSCAN
replies of `chunk` orders, each decoded only as far as ranking and filtering need (time,
status, symbol, owner ids) and offered to a top-k (see ``_topk``); only the orders answered are
decoded whole. Memory is bounded by the page, time by the read budget (then ``partial``).
"""

from __future__ import annotations

from typing import Any, cast

from .._errors import CorruptEntry, NotFound
from ..backend import translate_errors
from ..security import Ownership, ex_id_of, may_hold, sees_corrupt, sees_in
from ..structs.orders import (
    Order,
    OrderHash,
    OrderHashes,
    OrderList,
    OrderMatches,
    OrderQueue,
    OrderQueues,
)
from ._base import BaseReader, Deadline, Scanned, text
from ._chunks import HashWalk, pipelined
from ._codec import Invalid, to_datetime
from ._cursor import decode_cursor, encode_cursor
from ._instrument import timed_read
from ._order_values import (
    _from_stored,
    _id,
    _OrderKey,
    _OrderRank,
    _Rank,
    _remembered_order,
    _StoredOrder,
    _text,
)
from ._pages import KEY_PAGE, ORDER_PAGE
from ._skips import Skips
from ._topk import TopK

__all__ = ["ORDER_PAGE", "OrderReader", "next_order_cursor", "sees_order"]

_HASH_PREFIX = "order_status:"
_QUEUE_PREFIX = "new_orders:"


class OrderReader(BaseReader):
    """Orders of every key (exchange name or ex_id), found by SCAN, and open-order queues.

    `only` restricts reads to what an `Ownership` grants (None: everything): a hash keyed by
    an ex_id is the owner's whole, an exchange-named hash is filtered order by order on the
    ids each order carries, and a hash that shows the caller nothing reads as absent.
    """

    @timed_read
    async def hashes(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
    ) -> OrderHashes:
        """A page of ``order_status:*`` hashes with their size and TTL (SCAN, then HLEN + TTL
        each).

        For a non-admin an exchange-named hash is read through (HSCAN, within the budget) to
        count only the caller's orders; hashes holding none of theirs are not listed. A key of
        another Redis type is counted in `skipped` (for a non-admin only when keyed by one of
        its ex_ids).
        """
        deadline = Deadline(self.limits.budget)
        scanned = await self._hash_keys(cursor, limit, deadline)
        keys = [key for key in scanned.keys if may_hold(only, _account(key))]
        sizes = await pipelined(self.redis, "order hashes", keys, _queue_size, self.limits.chunk)
        found: list[OrderHash] = []
        for key, (size, ttl) in zip(keys, zip(sizes[::2], sizes[1::2], strict=True), strict=True):
            if only is not None and ex_id_of(_account(key)) is None:
                size = await self._visible(key, only, deadline)
            if isinstance(size, int) and size:  # a hash that expired since SCAN is gone
                found.append(OrderHash(key=_account(key), orders=size, ttl_seconds=_ttl(ttl)))
        return OrderHashes(
            count=len(found),
            skipped=_wrong_seen(only, scanned.wrong_type),
            partial=deadline.cut,
            next_cursor=_scan_cursor(scanned),
            hashes=found,
        )

    async def _visible(self, key: str, only: Ownership, deadline: Deadline) -> int:
        """How many orders of a shared hash the caller sees (as far as `deadline` allows)."""
        account, seen = _account(key), 0
        walk = HashWalk(self.redis, key, self.limits, deadline=deadline)
        async for stored in walk.chunks():
            for raw in stored.values():
                ranked = self.limits.decode(raw, _OrderKey)
                seen += not isinstance(ranked, Invalid) and _key_visible(only, account, ranked)
        return seen

    @timed_read
    async def find(
        self,
        order_id: str,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
    ) -> OrderMatches:
        """`order_id` in a page of ``order_status:*`` hashes (SCAN, then HGET each); 404 when
        a search from the first hash to the last finds it nowhere."""
        deadline = Deadline(self.limits.budget)
        scanned = await self._hash_keys(cursor, limit, deadline)
        keys = [key for key in scanned.keys if may_hold(only, _account(key))]
        values = await pipelined(
            self.redis,
            f"order {order_id!r} in order hashes",
            keys,
            lambda pipe, key: pipe.hget(key, order_id),
            self.limits.chunk,
        )
        orders: list[Order] = []
        # A hash of another Redis type might hold the order: it is counted as skipped.
        skipped = _wrong_seen(only, scanned.wrong_type)
        for key, raw in zip(keys, values, strict=True):
            if raw is None or isinstance(raw, Exception):
                continue
            order = self._checked(_account(key), order_id, raw, key)
            if isinstance(order, Invalid):
                skipped += sees_corrupt(only, _account(key))
            elif sees_order(only, order):
                orders.append(order)
        next_cursor = _scan_cursor(scanned)
        if not orders and not skipped and cursor is None and next_cursor is None:
            raise NotFound(f"order {order_id!r} is in no order_status hash")
        return OrderMatches(
            order_id=order_id,
            count=len(orders),
            skipped=skipped,
            next_cursor=next_cursor,
            orders=orders,
        )

    @timed_read
    async def queues(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
    ) -> OrderQueues:
        """A page of ``new_orders:*`` queues with their lengths (SCAN, then LLEN each; nothing
        popped).

        The queues name no owner, so only an admin sees them; anyone else gets none. A key of
        another Redis type is counted in `skipped`.
        """
        if only is not None:
            return OrderQueues(count=0, skipped=0, queues=[])
        start = 0 if cursor is None else decode_cursor(cursor, "s", tuple[int])[0]
        deadline = Deadline(self.limits.budget)
        scanned = await self.scan_typed(
            f"{_QUEUE_PREFIX}*", "list", deadline, start=start, limit=limit
        )
        keys = scanned.keys
        lengths = await pipelined(
            self.redis, "open-order queues", keys, lambda pipe, key: pipe.llen(key),
            self.limits.chunk,
        )  # fmt: skip
        found = [
            OrderQueue(local_oid=key.removeprefix(_QUEUE_PREFIX), length=length)
            for key, length in zip(keys, lengths, strict=True)
            if isinstance(length, int) and length
        ]
        return OrderQueues(
            count=len(found),
            skipped=len(scanned.wrong_type),
            next_cursor=_scan_cursor(scanned),
            queues=found,
        )

    @timed_read
    async def all(
        self,
        account: str,
        *,
        status: str | None,
        symbol: str | None,
        limit: int,
        only: Ownership | None = None,
        cursor: str | None = None,
    ) -> OrderList:
        """The newest `limit` orders under `account` after `cursor`, newest write first (HSCAN,
        TTL); 404 when the key holds nothing the caller sees.

        `status` matches case-insensitively (``FILLED`` finds ``filled``), `symbol` exactly.
        Ties in write time are broken by order id; orders without a time come last. The whole
        hash is read within the read budget; past it the answer is `partial`: the newest of
        the orders read.
        """
        missing = NotFound(f"no orders cached under {account!r}")
        if not may_hold(only, account):
            raise missing
        after = None if cursor is None else decode_cursor(cursor, "k", tuple[bool, float, str])
        key = f"{_HASH_PREFIX}{account}"
        deadline = Deadline(self.limits.budget)
        ranking = _Ranking(self, account, key, status, symbol, only, after, limit)
        async for stored in HashWalk(self.redis, key, self.limits, deadline=deadline).chunks():
            ranking.add(stored)
        self.report(ranking.skips)
        if not ranking.visible and not ranking.skipped and not deadline.cut:
            raise missing
        with translate_errors(key):
            ttl = await self.redis.ttl(key)
        orders = ranking.orders()
        return OrderList(
            key=account,
            ttl_seconds=_ttl(ttl),
            count=len(orders),
            matched=ranking.matched,
            skipped=ranking.skipped,
            partial=deadline.cut,
            next_cursor=next_order_cursor(orders, ranking.eligible),
            orders=orders,
        )

    @timed_read
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
        why = self.limits.oversized(raw)
        order = _remembered_order(account, order_id, raw) if why is None else Invalid(why)
        if isinstance(order, Invalid):
            if not sees_corrupt(only, account):
                raise missing  # whose it is cannot be read: not the caller's
            raise CorruptEntry(f"order {order_id!r} in {key} is not valid: {order.reason}")
        if not sees_order(only, order):
            raise missing
        return order

    def _checked(self, account: str, order_id: str, raw: bytes | str, key: str) -> Order | Invalid:
        """The order stored as `raw`, or why not (logged as skipped)."""
        stored = self.limits.decode(raw, _StoredOrder)
        if isinstance(stored, Invalid):
            self.skipped(order_id, key, stored.reason)
            return stored
        return _from_stored(account, order_id, stored)

    async def _hash_keys(
        self, cursor: str | None, limit: int | None = None, deadline: Deadline | None = None
    ) -> Scanned:
        start = 0 if cursor is None else decode_cursor(cursor, "s", tuple[int])[0]
        return await self.scan_typed(f"{_HASH_PREFIX}*", "hash", deadline, start=start, limit=limit)


class _Ranking:
    """One newest-first read of an order hash: counts, skips, and the top `limit` orders."""

    def __init__(
        self,
        reader: OrderReader,
        account: str,
        key: str,
        status: str | None,
        symbol: str | None,
        only: Ownership | None,
        after: _Rank | None,
        limit: int,
    ) -> None:
        self.reader = reader
        self.account = account
        self.status = status.casefold() if status is not None else None
        self.symbol = symbol
        self.only = only
        self.after = after
        self.top: TopK[tuple[str, bytes | str]] = TopK(limit)
        self.skips = Skips(key)
        self.visible = self.matched = self.eligible = self.skipped = 0
        self.shows_corrupt = sees_corrupt(only, account)

    def add(self, stored: dict[Any, Any]) -> None:
        """Rank one HSCAN reply's orders (decoded only as far as ranking needs; this loop runs
        per order of the hash, hence its locals)."""
        limits, top, after, only = self.reader.limits, self.top, self.after, self.only
        shape = _OrderRank if only is None else _OrderKey  # an admin needs no owner ids
        filtered = self.status is not None or self.symbol is not None
        for field, raw in stored.items():
            ranked = limits.decode(raw, shape)
            if isinstance(ranked, Invalid):
                self.skips.add(text(field), ranked.reason)
                self.skipped += self.shows_corrupt
                continue
            if only is not None and not _key_visible(only, self.account, cast(_OrderKey, ranked)):
                continue
            self.visible += 1
            if filtered and not self._matches(ranked):
                continue
            self.matched += 1
            order_id = text(field)
            when = to_datetime(ranked.timestamp)
            rank = (when is None, -when.timestamp() if when is not None else 0.0, order_id)
            if after is None or rank > after:
                self.eligible += 1
                top.offer(field, rank, (order_id, raw))

    def _matches(self, ranked: _OrderRank) -> bool:
        if self.symbol is not None and _text(ranked.symbol) != self.symbol:
            return False
        return self.status is None or (_text(ranked.status) or "").casefold() == self.status

    def orders(self) -> list[Order]:
        """The top orders, decoded whole, newest first."""
        orders: list[Order] = []
        for _, (order_id, raw) in self.top.smallest():
            order = self.reader._checked(self.account, order_id, raw, self.skips.key)
            if not isinstance(order, Invalid):
                orders.append(order)
        return orders


def _key_visible(only: Ownership | None, account: str, ranked: _OrderKey) -> bool:
    """`sees_order` on the owner ids of a partly decoded order."""
    return sees_in(
        only, account, ex_id=_id(ranked.ex_id), uid=_id(ranked.uid), bot_id=_id(ranked.bot_id)
    )


def _queue_size(pipe: Any, key: str) -> None:
    pipe.hlen(key)
    pipe.ttl(key)


def _scan_cursor(scanned: Scanned) -> str | None:
    return None if scanned.next is None else encode_cursor("s", scanned.next)


def next_order_cursor(page: list[Order], eligible: int) -> str | None:
    """The next_cursor of a newest-first `page` out of `eligible` orders (None: no more)."""
    if eligible <= len(page) or not page:
        return None
    when = page[-1].timestamp
    rank = (when is None, -when.timestamp() if when is not None else 0.0, page[-1].order_id)
    return encode_cursor("k", *rank)


def _account(key: str) -> str:
    """The account part of an ``order_status:`` key: an exchange name or an ex_id."""
    return key.removeprefix(_HASH_PREFIX)


def _wrong_seen(only: Ownership | None, wrong_type: list[str]) -> int:
    """How many wrong-type order keys the caller is shown (rules of a corrupt entry)."""
    return sum(sees_corrupt(only, _account(key)) for key in wrong_type)


def sees_order(only: Ownership | None, order: Order) -> bool:
    """Whether the caller sees `order` (rules in `_access`)."""
    return sees_in(only, order.key, ex_id=order.ex_id, uid=order.uid, bot_id=order.bot_id)


def _ttl(reply: object) -> int | None:
    """TTL's answer in seconds; -1 (no expiry), -2 (gone) and error replies become None."""
    return reply if isinstance(reply, int) and reply >= 0 else None
