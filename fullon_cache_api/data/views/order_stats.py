"""The order statistics view over the order hashes and open-order queues (nothing popped)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from ...security import Ownership, may_hold, sees_corrupt
from ...structs.orders import Order, OrderQueue
from ...structs.views import OrderKeyStats, OrderStats
from .._base import BaseReader, Deadline
from .._chunks import pipelined
from .._codec import Invalid
from .._order_values import _from_stored, _StoredOrder
from .._pages import KEY_PAGE
from .._phases import scan_phases
from .._skips import Skips
from ..orders import sees_order
from ._scan import exact_sum, hash_batches, money

__all__ = ["OPEN_STATUSES", "OrderStatsReader"]

_ORDERS = "order_status:"
_QUEUES = "new_orders:"
# Order statuses (case-insensitive) whose volume is still on the book: fullon's factories use
# pending/open/partially_filled, ccxt-style writers new/open.
OPEN_STATUSES = frozenset({"new", "open", "pending", "partially_filled"})


@dataclass
class _OrderCounts:
    orders: int = 0
    skipped: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_side: Counter[str] = field(default_factory=Counter)
    open_orders: int = 0
    open_unsized: int = 0
    open_volume: dict[str, Decimal] = field(default_factory=dict)

    def add(self, order: Order) -> None:
        self.orders += 1
        status = order.status or "unknown"
        self.by_status[status] += 1
        self.by_side[order.side or "unknown"] += 1
        if status.casefold() not in OPEN_STATUSES:
            return
        self.open_orders += 1
        volume = money(order.volume)
        if volume is None:
            self.open_unsized += 1
            return
        symbol = order.symbol or "unknown"
        self.open_volume[symbol] = exact_sum([self.open_volume.get(symbol, Decimal(0)), volume])


class OrderStatsReader(BaseReader):
    """Order statistics, streaming over the hashes in bounded batches."""

    async def orders(
        self,
        *,
        only: Ownership | None,
        deadline: Deadline,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
    ) -> OrderStats:
        """A page of about `limit` keys: ``order_status:*`` hashes (SCAN, TTL, then HSCAN
        replies of `chunk`) with their counts, then (admins) ``new_orders:*`` queues (LLEN,
        nothing popped).

        Visibility follows the orders domain (`_access`): a non-admin sees the hash of an
        owned ex_id whole and, in exchange-named hashes, the orders carrying its ids; the
        ``new_orders:*`` queues name no owner and are shown to admins only. Hashes are read
        until done or `deadline` spent.
        """
        phases = [(f"{_ORDERS}*", "hash")]
        if only is None:
            phases.append((f"{_QUEUES}*", "list"))
        page = await scan_phases(self, phases, cursor, limit, deadline)
        keys = [key for key in page.keys(0) if may_hold(only, key.removeprefix(_ORDERS))]
        ttls = await self._ttls(keys)
        stats: list[OrderKeyStats] = []
        for key, ttl in zip(keys, ttls, strict=True):
            if deadline.spent():
                break
            counts = await self._order_counts(key, only, deadline)
            if counts.orders or counts.skipped:
                stats.append(_key_stats(key.removeprefix(_ORDERS), counts, ttl))
        queues: list[OrderQueue] = []
        wrong = sum(sees_corrupt(only, key.removeprefix(_ORDERS)) for key in page.wrong_type(0))
        if only is None:
            queues = await self._queue_lengths(page.keys(1))
            wrong += len(page.wrong_type(1))
        return OrderStats(
            count=len(stats),
            orders=sum(stat.orders for stat in stats),
            keys=stats,
            queue_count=len(queues),
            queued=sum(queue.length for queue in queues),
            skipped=wrong,
            partial=deadline.cut,
            next_cursor=page.next_cursor,
            queues=queues,
        )

    async def _queue_lengths(self, keys: list[str]) -> list[OrderQueue]:
        """LLEN of each open-order queue, `chunk` per pipeline (empty or retyped ones left
        out)."""
        lengths = await pipelined(
            self.redis, "open-order queues", keys, lambda pipe, key: pipe.llen(key),
            self.limits.chunk,
        )  # fmt: skip
        return [
            OrderQueue(local_oid=key.removeprefix(_QUEUES), length=length)
            for key, length in zip(keys, lengths, strict=True)
            if isinstance(length, int) and length
        ]

    async def _ttls(self, keys: list[str]) -> list[int]:
        """TTL of each key, `chunk` per pipeline (an error reply counts as no TTL)."""
        ttls = await pipelined(
            self.redis, "order hashes", keys, lambda pipe, key: pipe.ttl(key), self.limits.chunk
        )
        return [ttl if isinstance(ttl, int) else -1 for ttl in ttls]

    async def _order_counts(
        self, key: str, only: Ownership | None, deadline: Deadline
    ) -> _OrderCounts:
        account = key.removeprefix(_ORDERS)
        counts, skips = _OrderCounts(), Skips(key)
        async for batch in hash_batches(self.redis, key, self.limits, deadline):
            for order_id, raw in batch:
                stored = self.limits.decode(raw, _StoredOrder)
                if isinstance(stored, Invalid):
                    skips.add(order_id, stored.reason)
                    counts.skipped += sees_corrupt(only, account)
                    continue
                order = _from_stored(account, order_id, stored)
                if sees_order(only, order):
                    counts.add(order)
        self.report(skips)
        return counts


def _key_stats(key: str, counts: _OrderCounts, ttl: int) -> OrderKeyStats:
    return OrderKeyStats(
        key=key,
        orders=counts.orders,
        skipped=counts.skipped,
        ttl_seconds=ttl if ttl >= 0 else None,
        by_status=dict(sorted(counts.by_status.items())),
        by_side=dict(sorted(counts.by_side.items())),
        open_orders=counts.open_orders,
        open_unsized=counts.open_unsized,
        open_volume={symbol: float(v) for symbol, v in sorted(counts.open_volume.items())},
    )
