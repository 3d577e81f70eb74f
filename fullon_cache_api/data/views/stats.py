"""Statistics views over the trade queues (read, never consumed); the order statistics are
in ``order_stats``."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from ...security import Ownership, sees
from ...structs.trades import Trade
from ...structs.views import TradeQueueStats, TradeStats, TradeStatusAge
from .._base import BaseReader, Deadline, text
from .._chunks import pipelined
from .._codec import Invalid, to_datetime
from .._pages import KEY_PAGE
from .._phases import scan_phases
from .._skips import Skips
from ..trades import _from_stored as _trade_from
from ..trades import _StoredTrade
from ._scan import age_of, exact_sum, list_windows, money
from .order_stats import OPEN_STATUSES, OrderStatsReader

__all__ = ["OPEN_STATUSES", "TRADE_SCAN_CAP", "OrderStatsReader", "StatsReader"]

# Trades read at most per queue (the newest ones when a queue is longer), `chunk` per LRANGE.
TRADE_SCAN_CAP = 100_000
_STATUS = "TRADE:STATUS:"


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
    """Trade statistics, streaming over the queues in bounded batches."""

    async def trades(
        self,
        *,
        only: Ownership | None,
        deadline: Deadline,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
    ) -> TradeStats:
        """A page of about `limit` keys: ``trades:*`` then ``user_trades:*`` queues (LLEN,
        LRANGE windows), then (admins) ``TRADE:STATUS:*`` marks (MGET).

        Visibility follows the trades domain (`_access`): a non-admin sees the user queues of
        its uids whole and, in the shared ``trades:`` queues, the trades carrying its ids
        (`length` then counts those); the ``TRADE:STATUS`` list is admin-only. Queues are read
        until done or `deadline` spent.
        """
        now = time.time()
        admin = only is None
        phases = [("trades:*", "list"), ("user_trades:*", "list")]
        if admin:
            phases.append((f"{_STATUS}*", "string"))
        page = await scan_phases(self, phases, cursor, limit, deadline)
        shared = page.keys(0)
        exchanges = sorted({key.removeprefix("trades:").partition(":")[0] for key in shared})
        marks = await self._statuses([f"{_STATUS}{name}" for name in exchanges], now)
        skipped = len(page.wrong_type(0)) if admin else 0
        skipped += sum(sees(only, uid=_uid_of(key)) for key in page.wrong_type(1))
        queues: list[TradeQueueStats] = []
        for key in shared:
            if deadline.spent():
                break
            exchange, _, symbol_key = key.removeprefix("trades:").partition(":")
            found = await self._queue(key, only, deadline, whole=admin)
            if found is not None:
                status = marks.get(exchange)
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
        for key in page.keys(1):
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
        statuses: list[TradeStatusAge] = []
        if admin:
            statuses = list((await self._statuses(page.keys(2), now)).values())
            skipped += len(page.wrong_type(2))
        return TradeStats(
            count=len(queues),
            trades=sum(queue.length for queue in queues),
            skipped=skipped,
            partial=deadline.cut,
            next_cursor=page.next_cursor,
            queues=queues,
            statuses=statuses,
        )

    async def _statuses(self, keys: list[str], now: float) -> dict[str, TradeStatusAge]:
        """The ``TRADE:STATUS:{key}`` marks of `keys` (MGET, `chunk` keys per command) by
        key, with their age; gone or unreadable ones are left out."""
        if not keys:
            return {}
        chunk = self.limits.chunk
        replies = await pipelined(
            self.redis,
            "trade statuses",
            [keys[i : i + chunk] for i in range(0, len(keys), chunk)],
            lambda pipe, some: pipe.mget(some),
            1,
        )
        values = [
            value for reply in replies for value in (reply if isinstance(reply, list) else [])
        ]
        found: dict[str, TradeStatusAge] = {}
        for key, value in zip(keys, values, strict=False):
            if value is None or len(value) > 64:
                continue  # deleted since the SCAN, or not a time
            when = to_datetime(text(value))
            name = key.removeprefix(_STATUS)
            found[name] = TradeStatusAge(key=name, updated_at=when, age_seconds=age_of(when, now))
        return found

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
