"""Reader of the trade queues: ``trades:{ex}:{symbol without /}``, ``user_trades:{uid}:{ex}``
and the ``TRADE:STATUS:{key}`` strings.

The queues are transient: fullon_cache's own ``get_trades`` does LRANGE then DEL and its
``pop_*`` methods pop. This reader only ever issues LLEN and LRANGE on them, so reading never
consumes a trade. A queue is answered a page at a time, newest trades last, read in LRANGE
windows of `chunk` (see ``_lists``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._errors import NotFound
from ..backend import CacheClient
from ..security import Ownership, sees
from ..structs.trades import (
    Trade,
    TradeList,
    TradeOverview,
    TradeQueue,
    TradeStatus,
    UserTradeList,
)
from ._base import BaseReader, Deadline, Scanned, text
from ._chunks import pipelined
from ._codec import Invalid, decode, to_datetime
from ._cursor import decode_cursor, encode_cursor
from ._instrument import timed_read
from ._limits import ReadLimits
from ._lists import ListWalk
from ._pages import KEY_PAGE, TRADE_PAGE
from ._skips import Skips

__all__ = ["OWNED_WINDOW", "TRADE_PAGE", "TradeReader"]

_QUEUE_PREFIX = "trades:"
# With the trailing colon, unlike fullon_cache's ``TRADE:STATUS*`` glob (which also matches
# e.g. ``TRADE:STATUSX``).
_STATUS_PREFIX = "TRADE:STATUS:"
_EMPTY_OVERVIEW = TradeOverview(
    skipped=0, queue_count=0, queues=[], status_count=0, status_skipped=0, statuses=[]
)
# The two SCANs of the overview, run one after the other by one cursor.
_PHASES = ((f"{_QUEUE_PREFIX}*", "list"), (f"{_STATUS_PREFIX}*", "string"))
# How far back a non-admin's trades are looked for in a shared queue: its newest entries.
OWNED_WINDOW = 10000


class _StoredTrade(msgspec.Struct):
    """The keys of ``Trade.to_dict()`` (inferred) we report; others are ignored."""

    trade_id: int | str | None = None
    ex_trade_id: str | int | None = None
    ex_order_id: str | int | None = None
    uid: int | str | None = None
    ex_id: int | str | None = None
    bot_id: int | str | None = None
    symbol: str | None = None
    order_type: str | None = None
    side: str | None = None
    volume: float | None = None
    price: float | None = None
    cost: float | None = None
    fee: float | None = None
    leverage: float | None = None
    roi: float | None = None
    roi_pct: float | None = None
    reason: str | None = None
    time: float | str | None = None  # epoch float or ISO text, depending on the writer


class TradeReader(BaseReader):
    """Trade queues and trade statuses, read without consuming anything.

    `only` restricts reads to what an `Ownership` grants (None: everything). A user queue
    belongs to the uid in its key. A ``trades:`` queue is shared: a non-admin gets only the
    trades carrying its ids among the newest `OWNED_WINDOW`, `length` counting those. The
    overview names no owner and is admin-only.
    """

    @timed_read
    async def overview(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
    ) -> TradeOverview:
        """A page of queues and statuses: SCAN ``trades:*`` (list), then SCAN
        ``TRADE:STATUS:*`` (string), about `limit` keys in all; then LLEN per queue and MGET
        of the statuses, `chunk` keys per round trip."""
        if only is not None:
            return _EMPTY_OVERVIEW
        phase, start = (0, 0) if cursor is None else decode_cursor(cursor, "s2", tuple[int, int])
        if phase not in (0, 1):
            phase, start = 1, 0
        deadline = Deadline(self.limits.budget)
        scans: list[Scanned] = [Scanned(), Scanned()]
        while True:
            pattern, kind = _PHASES[phase]
            room = limit - sum(len(found.keys) + len(found.wrong_type) for found in scans)
            scans[phase] = await self.scan_typed(pattern, kind, deadline, start=start, limit=room)
            stop = scans[phase].next
            if stop is not None or phase == 1 or deadline.spent() or room <= 0:
                break
            phase, start = 1, 0
        next_cursor = None if stop is None and phase == 1 else encode_cursor("s2", phase, stop or 0)
        queue_keys, status_keys = scans[0].keys, scans[1].keys
        wrong_type = len(scans[0].wrong_type) + len(scans[1].wrong_type)
        chunk = self.limits.chunk
        lengths = await pipelined(
            self.redis, "trade queues", queue_keys, lambda pipe, key: pipe.llen(key), chunk
        )
        values = [
            value
            for reply in await pipelined(
                self.redis,
                "trade statuses",
                [status_keys[i : i + chunk] for i in range(0, len(status_keys), chunk)],
                lambda pipe, keys: pipe.mget(keys),
                1,
            )
            for value in (reply if isinstance(reply, list) else [])
        ]
        queues = self._queues(queue_keys, lengths)
        statuses = self._statuses(status_keys, values)
        return TradeOverview(
            skipped=wrong_type,
            queue_count=len(queues),
            queues=queues,
            status_count=len(statuses),
            # Keys deleted between SCAN and MGET are gone, not corrupt.
            status_skipped=sum(value is not None for value in values) - len(statuses),
            next_cursor=next_cursor,
            statuses=statuses,
        )

    @timed_read
    async def queue(
        self,
        exchange: str,
        symbol: str,
        limit: int = TRADE_PAGE.default,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
    ) -> TradeList:
        """The newest `limit` trades of ``trades:{exchange}:{symbol without /}`` older than
        `cursor`, oldest first, and the queue length (LLEN, LRANGE windows)."""
        key = f"{_QUEUE_PREFIX}{exchange}:{symbol.replace('/', '')}"
        if only is None:
            page = await _page(self.redis, key, self.limits, limit, cursor)
        else:
            page = await _owned(self.redis, key, self.limits, limit, cursor, only)
        self.report(page.skips)
        if not page.length:
            raise NotFound(f"no trade queue for {symbol!r} on {exchange!r}")
        return TradeList(
            exchange=exchange,
            symbol=symbol,
            key=key,
            length=page.length,
            count=len(page.trades),
            skipped=page.skips.count if only is None else 0,
            next_cursor=page.next_cursor,
            trades=page.trades,
        )

    @timed_read
    async def user_queue(
        self,
        uid: str,
        exchange: str,
        limit: int = TRADE_PAGE.default,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
    ) -> UserTradeList:
        """The newest `limit` trades of ``user_trades:{uid}:{exchange}`` older than `cursor`,
        oldest first, and the queue length (LLEN, LRANGE windows); a foreign uid is a miss."""
        key = f"user_trades:{uid}:{exchange}"
        missing = NotFound(f"no trade queue for user {uid} on {exchange!r}")
        if not sees(only, uid=uid):
            raise missing
        page = await _page(self.redis, key, self.limits, limit, cursor)
        self.report(page.skips)
        if not page.length:
            raise missing
        return UserTradeList(
            uid=uid,
            exchange=exchange,
            key=key,
            length=page.length,
            count=len(page.trades),
            skipped=page.skips.count,
            next_cursor=page.next_cursor,
            trades=page.trades,
        )

    def _queues(self, keys: list[str], lengths: list[Any]) -> list[TradeQueue]:
        queues: list[TradeQueue] = []
        for key, length in zip(keys, lengths, strict=True):
            # The exchange name has no ':'; the symbol part may (e.g. BTCUSDT:USDT).
            exchange, _, symbol_key = key.removeprefix(_QUEUE_PREFIX).partition(":")
            if isinstance(length, int) and length and exchange and symbol_key:
                queues.append(TradeQueue(exchange=exchange, symbol_key=symbol_key, length=length))
        return queues

    def _statuses(self, keys: list[str], values: list[bytes | None]) -> list[TradeStatus]:
        statuses: list[TradeStatus] = []
        skips = Skips("trade statuses")
        for key, value in zip(keys, values, strict=True):
            if value is None:
                continue
            when = to_datetime(text(value)) if len(value) <= 64 else None
            if when is None:
                skips.add(key, f"not a timestamp: {text(value[:40])!r}")
                continue
            statuses.append(TradeStatus(key=key.removeprefix(_STATUS_PREFIX), updated_at=when))
        self.report(skips)
        return statuses


class _Page:
    """What one page of a trade queue found."""

    def __init__(self, key: str) -> None:
        self.length = 0
        self.trades: list[Trade] = []
        self.skips = Skips(key)
        self.next_cursor: str | None = None


async def _page(
    redis: CacheClient, key: str, limits: ReadLimits, limit: int, cursor: str | None
) -> _Page:
    """The newest `limit` trades older than `cursor` (LRANGE windows, never popped)."""
    page = _Page(key)
    walk = ListWalk(redis, key, limits, limit=limit, cursor=cursor)
    await walk.open()
    windows: list[list[Trade]] = []
    async for raws in walk.windows():
        windows.append(_decoded(raws, limits, page.skips))
    page.length, page.next_cursor = walk.length, walk.next_cursor
    page.trades = [trade for window in reversed(windows) for trade in window]
    return page


async def _owned(
    redis: CacheClient,
    key: str,
    limits: ReadLimits,
    limit: int,
    cursor: str | None,
    only: Ownership,
) -> _Page:
    """The caller's trades among the newest `OWNED_WINDOW` of a shared queue: how many (as
    `length`), and the newest `limit` of them older than `cursor`. Corrupt entries are not
    counted: their owner is unknown."""
    page = _Page(key)
    window = ListWalk(redis, key, limits, limit=OWNED_WINDOW)
    await window.open()
    top = window.top
    if cursor is not None:
        below = ListWalk(redis, key, limits, limit=limit, cursor=cursor)
        await below.open()  # finds the cursor's element again
        top = below.top
    mine: list[Trade] = []  # newest first
    oldest: tuple[int, bytes] | None = None
    older = 0  # the caller's trades below the page
    async for raws in window.windows():
        start = window.window_start
        for offset in range(len(raws) - 1, -1, -1):
            stored = limits.decode(raws[offset], _StoredTrade)
            if isinstance(stored, Invalid) or not _sees(only, stored):
                continue
            page.length += 1
            if start + offset > top:
                continue
            if len(mine) < limit:
                mine.append(_from_stored(stored))
                oldest = (start + offset, raws[offset])
            else:
                older += 1
    page.trades = mine[::-1]
    if older and oldest is not None:
        page.next_cursor = ListWalk.cursor_at(*oldest)
    return page


def _sees(only: Ownership, stored: _StoredTrade) -> bool:
    return sees(only, ex_id=stored.ex_id, uid=stored.uid, bot_id=stored.bot_id)


def _decoded(raws: list[bytes], limits: ReadLimits, skips: Skips) -> list[Trade]:
    """The trades of one window, oldest first; corrupt and oversized ones in `skips`."""
    trades: list[Trade] = []
    for raw in raws:
        stored = limits.decode(raw, _StoredTrade)
        if isinstance(stored, Invalid):
            skips.add("a trade", stored.reason)
        else:
            trades.append(_from_stored(stored))
    return trades


def _trade(raw: bytes | str) -> Trade:
    """The trade stored as `raw`; raises `Undecodable`."""
    return _from_stored(decode(raw, _StoredTrade))


def _from_stored(stored: _StoredTrade) -> Trade:
    fields = msgspec.structs.asdict(stored)
    fields["time"] = to_datetime(stored.time)
    return Trade(**fields)
