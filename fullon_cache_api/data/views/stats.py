"""Statistics views over the order hashes and the trade queues (read, never consumed)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from ..._access import may_hold, sees, sees_corrupt
from ..._auth import Ownership
from ..._codec import Invalid, to_datetime
from ..._redis import CacheClient
from ...structs.orders import Order, OrderQueues
from ...structs.trades import Trade
from ...structs.views import (
    OrderKeyStats,
    OrderStats,
    TradeQueueStats,
    TradeStats,
    TradeStatusAge,
)
from .._base import BaseReader, Deadline, text
from .._chunks import pipelined
from .._limits import DEFAULT_LIMITS, ReadLimits
from .._order_values import _from_stored, _StoredOrder
from .._skips import Skips
from ..orders import OrderReader, sees_order
from ..trades import _from_stored as _trade_from
from ..trades import _StoredTrade
from ._scan import age_of, exact_sum, hash_batches, list_windows, money

__all__ = ["OPEN_STATUSES", "TRADE_SCAN_CAP", "StatsReader"]

_ORDERS = "order_status:"
# Order statuses (case-insensitive) whose volume is still on the book: fullon's factories use
# pending/open/partially_filled, ccxt-style writers new/open.
OPEN_STATUSES = frozenset({"new", "open", "pending", "partially_filled"})
# Trades read at most per queue (the newest ones when a queue is longer), `chunk` per LRANGE.
TRADE_SCAN_CAP = 100_000
# Every queue key of the scan: the view's own budget bounds it.
_ALL_KEYS = 1 << 62
_STATUS = "TRADE:STATUS:"


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


@dataclass
class _TradeCounts:
    scanned: int = 0
    skipped: int = 0
    oldest: datetime | None = None
    newest: datetime | None = None
    sides: Counter[str] = field(default_factory=Counter)
    volumes: dict[str, Decimal] = field(default_factory=dict)

    def add(self, trade: Trade) -> None:
        self.scanned += 1
        if trade.time is not None:
            self.oldest = trade.time if self.oldest is None else min(self.oldest, trade.time)
            self.newest = trade.time if self.newest is None else max(self.newest, trade.time)
        side = (trade.side or "").casefold()
        side = side if side in ("buy", "sell") else "other"
        self.sides[side] += 1
        volume = money(trade.volume)
        if volume is not None and side != "other":
            self.volumes[side] = exact_sum([self.volumes.get(side, Decimal(0)), volume])


class StatsReader(BaseReader):
    """Order and trade statistics, streaming over the data in bounded batches."""

    def __init__(self, redis: CacheClient, limits: ReadLimits = DEFAULT_LIMITS) -> None:
        super().__init__(redis, limits)
        self._orders = OrderReader(redis, limits)

    async def orders(self, *, only: Ownership | None, deadline: Deadline) -> OrderStats:
        """Per ``order_status:*`` hash (SCAN, TTL, then HSCAN replies of `chunk`): counts.

        Visibility follows the orders domain (`_access`): a non-admin sees the hash of an
        owned ex_id whole and, in exchange-named hashes, the orders carrying its ids; the
        ``new_orders:*`` queues name no owner and are shown to admins only. Hashes are read
        until done or `deadline` spent; the queues are then listed only if time is left.
        """
        scanned = await self.scan_typed(f"{_ORDERS}*", "hash", deadline)
        keys = [key for key in scanned.keys if may_hold(only, key.removeprefix(_ORDERS))]
        ttls = await self._ttls(keys)
        stats: list[OrderKeyStats] = []
        for key, ttl in zip(keys, ttls, strict=True):
            if deadline.spent():
                break
            counts = await self._order_counts(key, only, deadline)
            if counts.orders or counts.skipped:
                stats.append(_key_stats(key.removeprefix(_ORDERS), counts, ttl))
        queues = OrderQueues(count=0, skipped=0, queues=[])
        if not deadline.spent():
            queues = await self._orders.queues(only=only, limit=_ALL_KEYS)
        wrong = sum(sees_corrupt(only, key.removeprefix(_ORDERS)) for key in scanned.wrong_type)
        return OrderStats(
            count=len(stats),
            orders=sum(stat.orders for stat in stats),
            keys=stats,
            queue_count=len(queues.queues),
            queued=sum(queue.length for queue in queues.queues),
            skipped=wrong + queues.skipped,
            partial=deadline.cut,
            queues=queues.queues,
        )

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

    async def trades(self, *, only: Ownership | None, deadline: Deadline) -> TradeStats:
        """Per trade queue (SCAN ``trades:*`` and ``user_trades:*``, LLEN, LRANGE windows).

        Visibility follows the trades domain (`_access`): a non-admin sees the user queues of
        its uids whole and, in the shared ``trades:`` queues, the trades carrying its ids
        (`length` then counts those); the ``TRADE:STATUS`` list is admin-only. Queues are read
        until done or `deadline` spent.
        """
        now = time.time()
        statuses, skipped = await self._statuses(now, deadline)
        skipped = skipped if only is None else 0
        queues: list[TradeQueueStats] = []
        shared = await self.scan_typed("trades:*", "list", deadline)
        skipped += len(shared.wrong_type) if only is None else 0
        for key in shared.keys:
            if deadline.spent():
                break
            exchange, _, symbol_key = key.removeprefix("trades:").partition(":")
            found = await self._queue(key, only, deadline, whole=only is None)
            if found is not None:
                status = statuses.get(exchange)
                queues.append(
                    _queue_stats(
                        found,
                        key=key,
                        kind="trades",
                        exchange=exchange,
                        symbol_key=symbol_key,
                        uid=None,
                        status_age=status.age_seconds if status is not None else None,
                    )
                )
        users = await self.scan_typed("user_trades:*", "list", deadline)
        skipped += sum(sees(only, uid=_uid_of(key)) for key in users.wrong_type)
        for key in users.keys:
            uid, _, exchange = key.removeprefix("user_trades:").partition(":")
            if not sees(only, uid=uid):
                continue
            if deadline.spent():
                break
            found = await self._queue(key, only, deadline, whole=True)
            if found is not None:
                queues.append(
                    _queue_stats(
                        found,
                        key=key,
                        kind="user_trades",
                        exchange=exchange,
                        symbol_key=None,
                        uid=uid,
                        status_age=None,
                    )
                )
        return TradeStats(
            count=len(queues),
            trades=sum(queue.length for queue in queues),
            skipped=skipped,
            partial=deadline.cut,
            queues=queues,
            statuses=list(statuses.values()) if only is None else [],
        )

    async def _statuses(
        self, now: float, deadline: Deadline
    ) -> tuple[dict[str, TradeStatusAge], int]:
        """Every ``TRADE:STATUS:{key}`` (SCAN, one MGET) by key, with its age; and how many
        such keys are of another Redis type."""
        scanned = await self.scan_typed(f"{_STATUS}*", "string", deadline)
        keys = scanned.keys
        if not keys or deadline.spent():
            return {}, len(scanned.wrong_type)
        chunk = self.limits.chunk
        replies = await pipelined(
            self.redis,
            "trade statuses",
            [keys[i : i + chunk] for i in range(0, len(keys), chunk)],
            lambda pipe, some: pipe.mget(some),
            1,
        )
        values = [value for reply in replies for value in reply]
        found: dict[str, TradeStatusAge] = {}
        for key, value in zip(keys, values, strict=True):
            if value is None or len(value) > 64:
                continue  # deleted since the SCAN, or not a time
            when = to_datetime(text(value))
            name = key.removeprefix(_STATUS)
            found[name] = TradeStatusAge(key=name, updated_at=when, age_seconds=age_of(when, now))
        return found, len(scanned.wrong_type)

    async def _llen(self, key: str) -> int:
        replies = await pipelined(self.redis, key, [key], lambda pipe, k: pipe.llen(k), 1)
        return replies[0] if isinstance(replies[0], int) else 0

    async def _queue(
        self, key: str, only: Ownership | None, deadline: Deadline, *, whole: bool
    ) -> _Queue | None:
        """Counts over the newest TRADE_SCAN_CAP trades of `key`, read TRADE_WINDOW at a time."""
        length = await self._llen(key)
        start = max(0, length - TRADE_SCAN_CAP)
        counts, skips = _TradeCounts(), Skips(key)
        windows = list_windows(self.redis, key, start, length - 1, self.limits.chunk, deadline)
        async for window in windows:
            for raw in window:
                stored = self.limits.decode(raw, _StoredTrade)
                if isinstance(stored, Invalid):
                    if whole:
                        skips.add("a trade", stored.reason)
                        counts.skipped += 1
                    continue
                trade = _trade_from(stored)
                if whole or sees(only, ex_id=trade.ex_id, uid=trade.uid, bot_id=trade.bot_id):
                    counts.add(trade)
        self.report(skips)
        if whole and length:
            return _Queue(length=length, partial=start > 0, counts=counts)
        if counts.scanned:
            return _Queue(length=counts.scanned, partial=start > 0, counts=counts)
        return None


def _uid_of(key: str) -> str:
    """The uid of a ``user_trades:{uid}:{exchange}`` key."""
    return key.removeprefix("user_trades:").partition(":")[0]


@dataclass(frozen=True)
class _Queue:
    length: int
    partial: bool
    counts: _TradeCounts


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


def _queue_stats(
    found: _Queue,
    *,
    key: str,
    kind: Literal["trades", "user_trades"],
    exchange: str,
    symbol_key: str | None,
    uid: str | None,
    status_age: float | None,
) -> TradeQueueStats:
    counts = found.counts
    return TradeQueueStats(
        key=key,
        kind=kind,
        exchange=exchange,
        symbol_key=symbol_key,
        uid=uid,
        length=found.length,
        scanned=counts.scanned + counts.skipped,
        partial=found.partial,
        skipped=counts.skipped,
        oldest_time=counts.oldest,
        newest_time=counts.newest,
        buy_count=counts.sides["buy"],
        buy_volume=float(counts.volumes.get("buy", Decimal(0))),
        sell_count=counts.sides["sell"],
        sell_volume=float(counts.volumes.get("sell", Decimal(0))),
        other=counts.sides["other"],
        status_age_seconds=status_age,
    )
