"""Reader of the trade queues: ``trades:{ex}:{symbol without /}``, ``user_trades:{uid}:{ex}``
and the ``TRADE:STATUS:{key}`` strings.

The queues are transient: fullon_cache's own ``get_trades`` does LRANGE then DEL and its
``pop_*`` methods pop. This reader only ever issues LLEN and LRANGE on them, so reading never
consumes a trade.
"""

from __future__ import annotations

import msgspec

from .._access import sees
from .._auth import Ownership
from .._codec import Undecodable, decode, to_datetime
from .._errors import NotFound
from .._redis import translate_errors
from ..structs.trades import (
    Trade,
    TradeList,
    TradeOverview,
    TradeQueue,
    TradeStatus,
    UserTradeList,
)
from ._base import BaseReader, text

__all__ = ["TradeReader"]

_QUEUE_PREFIX = "trades:"
# With the trailing colon, unlike fullon_cache's ``TRADE:STATUS*`` glob (which also matches
# e.g. ``TRADE:STATUSX``).
_STATUS_PREFIX = "TRADE:STATUS:"
_EMPTY_OVERVIEW = TradeOverview(
    skipped=0, queue_count=0, queues=[], status_count=0, status_skipped=0, statuses=[]
)
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

    async def overview(self, *, only: Ownership | None = None) -> TradeOverview:
        """Queues and statuses: SCAN ``trades:*`` (list), SCAN ``TRADE:STATUS:*`` (string),
        then one pipeline of LLEN per queue plus one MGET of the statuses."""
        if only is not None:
            return _EMPTY_OVERVIEW
        queue_scan = await self.scan_typed(f"{_QUEUE_PREFIX}*", "list")
        status_scan = await self.scan_typed(f"{_STATUS_PREFIX}*", "string")
        queue_keys, status_keys = queue_scan.keys, status_scan.keys
        wrong_type = len(queue_scan.wrong_type) + len(status_scan.wrong_type)
        if not queue_keys and not status_keys:
            return msgspec.structs.replace(_EMPTY_OVERVIEW, skipped=wrong_type)
        with translate_errors("trade queues and statuses"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in queue_keys:
                    pipe.llen(key)
                if status_keys:
                    pipe.mget(status_keys)
                # A key retyped since SCAN answers an error reply; it is left out below.
                replies = await pipe.execute(raise_on_error=False)
        lengths = replies[: len(queue_keys)]
        values = replies[len(queue_keys)] if status_keys else []
        queues = self._queues(queue_keys, lengths)
        statuses = self._statuses(status_keys, values)
        return TradeOverview(
            skipped=wrong_type,
            queue_count=len(queues),
            queues=queues,
            status_count=len(statuses),
            # Keys deleted between SCAN and MGET are gone, not corrupt.
            status_skipped=sum(value is not None for value in values) - len(statuses),
            statuses=statuses,
        )

    async def queue(
        self, exchange: str, symbol: str, limit: int, *, only: Ownership | None = None
    ) -> TradeList:
        """The newest `limit` trades of ``trades:{exchange}:{symbol without /}``, oldest
        first, and the queue length (one pipeline: LLEN, LRANGE -limit -1)."""
        key = f"{_QUEUE_PREFIX}{exchange}:{symbol.replace('/', '')}"
        if only is None:
            length, raws = await self._window(key, limit)
            trades = self._trades(key, raws)
            skipped = len(raws) - len(trades)
        else:
            length, trades, skipped = await self._owned(key, limit, only)
        if not length:
            raise NotFound(f"no trade queue for {symbol!r} on {exchange!r}")
        return TradeList(
            exchange=exchange,
            symbol=symbol,
            key=key,
            length=length,
            count=len(trades),
            skipped=skipped,
            trades=trades,
        )

    async def user_queue(
        self, uid: str, exchange: str, limit: int, *, only: Ownership | None = None
    ) -> UserTradeList:
        """The newest `limit` trades of ``user_trades:{uid}:{exchange}``, oldest first, and
        the queue length (one pipeline: LLEN, LRANGE -limit -1); a foreign uid is a miss."""
        key = f"user_trades:{uid}:{exchange}"
        length, raws = await self._window(key, limit) if sees(only, uid=uid) else (0, [])
        if not length:
            raise NotFound(f"no trade queue for user {uid} on {exchange!r}")
        trades = self._trades(key, raws)
        return UserTradeList(
            uid=uid,
            exchange=exchange,
            key=key,
            length=length,
            count=len(trades),
            skipped=len(raws) - len(trades),
            trades=trades,
        )

    async def _window(self, key: str, limit: int) -> tuple[int, list[bytes]]:
        # LRANGE, never LPOP/DEL: the queue stays as it was for its real consumer.
        with translate_errors(key):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.llen(key)
                pipe.lrange(key, -limit, -1)
                # Per-command errors come back unwrapped, so WRONGTYPE reads as such (502).
                length, raws = await pipe.execute()
        return int(length), list(raws)

    async def _owned(self, key: str, limit: int, only: Ownership) -> tuple[int, list[Trade], int]:
        """The caller's trades among the newest `OWNED_WINDOW` of a shared queue: how many,
        the newest `limit` of them, and 0 skipped (a corrupt entry's owner is unknown)."""
        with translate_errors(key):
            raws = await self.redis.lrange(key, -OWNED_WINDOW, -1)
        mine = [
            trade
            for raw in raws
            if (trade := _decoded(raw)) is not None
            and sees(only, ex_id=trade.ex_id, uid=trade.uid, bot_id=trade.bot_id)
        ]
        return len(mine), mine[-limit:], 0

    def _trades(self, key: str, raws: list[bytes]) -> list[Trade]:
        trades: list[Trade] = []
        for index, raw in enumerate(raws):
            try:
                trades.append(_trade(raw))
            except Undecodable as exc:
                self.skipped(f"trade #{index} of the window", key, exc)
        return trades

    def _queues(self, keys: list[str], lengths: list[int | Exception]) -> list[TradeQueue]:
        queues: list[TradeQueue] = []
        for key, length in zip(keys, lengths, strict=True):
            # The exchange name has no ':'; the symbol part may (e.g. BTCUSDT:USDT).
            exchange, _, symbol_key = key.removeprefix(_QUEUE_PREFIX).partition(":")
            if isinstance(length, int) and length and exchange and symbol_key:
                queues.append(TradeQueue(exchange=exchange, symbol_key=symbol_key, length=length))
        return queues

    def _statuses(self, keys: list[str], values: list[bytes | None]) -> list[TradeStatus]:
        statuses: list[TradeStatus] = []
        for key, value in zip(keys, values, strict=True):
            if value is None:
                continue
            when = to_datetime(text(value))
            if when is None:
                self.skipped(key, "trade statuses", f"not a timestamp: {text(value)[:40]!r}")
                continue
            statuses.append(TradeStatus(key=key.removeprefix(_STATUS_PREFIX), updated_at=when))
        return statuses


def _decoded(raw: bytes | str) -> Trade | None:
    try:
        return _trade(raw)
    except Undecodable:
        return None


def _trade(raw: bytes | str) -> Trade:
    stored = decode(raw, _StoredTrade)
    fields = msgspec.structs.asdict(stored)
    fields["time"] = to_datetime(stored.time)
    return Trade(**fields)
