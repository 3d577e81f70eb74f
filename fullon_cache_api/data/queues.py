"""Reader of fullon_cache's transient queues at a glance: one open-order queue
(``new_orders:{local_oid}``) by name, and every trade queue (``trades:*``, ``user_trades:*``)
with its exchange's ``TRADE:STATUS`` time.

Only LLEN, TYPE, SCAN and MGET reach the queues: nothing is popped or consumed.
"""

from __future__ import annotations

import time

from .._access import sees
from .._auth import Ownership
from .._codec import to_datetime
from .._redis import translate_errors
from ..structs.orders import OrderQueue, OrderQueues
from ..structs.trades import TradeQueueState, TradeQueueStatus
from ..structs.views import TradeStatusAge
from ._base import BaseReader, Deadline, Scanned, text
from .views._scan import age_of

__all__ = ["QueueReader"]

_OPEN_ORDERS = "new_orders:"
_TRADES = "trades:"
_USER_TRADES = "user_trades:"
_STATUS = "TRADE:STATUS:"
_NO_QUEUES = OrderQueues(count=0, skipped=0, queues=[])


class QueueReader(BaseReader):
    """Queue lengths, read without consuming anything.

    `only` restricts reads to what an `Ownership` grants (None: everything): open-order queues
    and shared ``trades:`` queues name no owner and are admin-only; a ``user_trades:{uid}:*``
    queue belongs to the uid in its key.
    """

    async def open_orders(self, local_oid: str, *, only: Ownership | None = None) -> OrderQueues:
        """The queue ``new_orders:{local_oid}`` alone (TYPE + LLEN in one pipeline), as one
        entry of ``/orders/queues``; none when absent. A key of another type is `skipped`."""
        if only is not None:
            return _NO_QUEUES
        key = f"{_OPEN_ORDERS}{local_oid}"
        with translate_errors(key):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.type(key)
                pipe.llen(key)
                kind, length = await pipe.execute(raise_on_error=False)
        kind = text(kind) if isinstance(kind, bytes | str) else "none"
        if kind == "list" and isinstance(length, int) and length:
            queue = OrderQueue(local_oid=local_oid, length=length)
            return OrderQueues(count=1, skipped=0, queues=[queue])
        if kind not in ("list", "none"):
            self.skipped(key, "open-order queues", f"wrong Redis type: {kind}, expected list")
            return OrderQueues(count=0, skipped=1, queues=[])
        return _NO_QUEUES

    async def trade_queues(
        self, *, only: Ownership | None = None, budget: float | None = None
    ) -> TradeQueueStatus:
        """Every visible trade queue with its length and its exchange's status time and age.

        SCAN ``trades:*`` (admins only) and ``user_trades:*`` TYPE list, and (admins)
        ``TRADE:STATUS:*`` TYPE string; then one pipeline: LLEN per queue and one MGET of the
        statuses (for others, of their queues' exchanges only). The scans stop once `budget`
        seconds (default: the socket timeout) are spent, and the answer says ``partial``.
        """
        now = time.time()
        deadline = Deadline(self.limits.budget if budget is None else budget)
        admin = only is None
        shared = await self._scan(f"{_TRADES}*", "list", deadline) if admin else Scanned()
        users = await self._scan(f"{_USER_TRADES}*", "list", deadline)
        user_keys = [key for key in users.keys if sees(only, uid=_user_queue(key)[0])]
        skipped = len(shared.wrong_type) + sum(
            sees(only, uid=_user_queue(key)[0]) for key in users.wrong_type
        )
        queue_keys = [key for key in (*shared.keys, *user_keys) if _well_formed(key)]
        if admin:
            scanned = await self._scan(f"{_STATUS}*", "string", deadline)
            status_keys, skipped = scanned.keys, skipped + len(scanned.wrong_type)
        else:
            status_keys = sorted({f"{_STATUS}{_exchange_of(key)}" for key in queue_keys})
        lengths, values = await self._lengths_and_statuses(queue_keys, status_keys)
        statuses = _statuses(status_keys, values, now)
        queues = [
            _queue_state(key, length, statuses)
            for key, length in zip(queue_keys, lengths, strict=True)
            if isinstance(length, int) and length  # gone or retyped since the SCAN: left out
        ]
        queues.sort(key=lambda queue: queue.key)
        return TradeQueueStatus(
            count=len(queues),
            skipped=skipped,
            partial=deadline.cut,
            queues=queues,
            statuses=list(statuses.values()) if admin else [],
        )

    async def _scan(self, pattern: str, key_type: str, deadline: Deadline) -> Scanned:
        """`scan_typed`, or nothing once the deadline is spent."""
        if deadline.spent():
            return Scanned()
        return await self.scan_typed(pattern, key_type, deadline)

    async def _lengths_and_statuses(
        self, queue_keys: list[str], status_keys: list[str]
    ) -> tuple[list[int | Exception], list[bytes | str | None]]:
        if not queue_keys and not status_keys:
            return [], []
        with translate_errors("trade queues and statuses"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in queue_keys:
                    pipe.llen(key)
                if status_keys:
                    pipe.mget(status_keys)
                # A key retyped since the SCAN answers an error reply: that queue is left out.
                replies = await pipe.execute(raise_on_error=False)
        values = replies[len(queue_keys)] if status_keys else []
        return replies[: len(queue_keys)], values if isinstance(values, list) else []


def _user_queue(key: str) -> tuple[str, str]:
    """(uid, exchange) of a ``user_trades:{uid}:{exchange}`` key."""
    uid, _, exchange = key.removeprefix(_USER_TRADES).partition(":")
    return uid, exchange


def _well_formed(key: str) -> bool:
    """Whether a queue key has both of its parts (as ``/trades`` requires them too)."""
    if key.startswith(_USER_TRADES):
        return all(_user_queue(key))
    exchange, _, symbol_key = key.removeprefix(_TRADES).partition(":")
    return bool(exchange and symbol_key)


def _exchange_of(key: str) -> str:
    """The exchange of a trade queue key (the exchange name has no ``:``)."""
    if key.startswith(_USER_TRADES):
        return _user_queue(key)[1]
    return key.removeprefix(_TRADES).partition(":")[0]


def _statuses(
    keys: list[str], values: list[bytes | str | None], now: float
) -> dict[str, TradeStatusAge]:
    """Exchange -> its status time and age; keys gone since the SCAN are left out."""
    found: dict[str, TradeStatusAge] = {}
    for key, value in zip(keys, values, strict=True):
        if value is not None:
            when = to_datetime(text(value))
            name = key.removeprefix(_STATUS)
            found[name] = TradeStatusAge(key=name, updated_at=when, age_seconds=age_of(when, now))
    return found


def _queue_state(key: str, length: int, statuses: dict[str, TradeStatusAge]) -> TradeQueueState:
    exchange = _exchange_of(key)
    status = statuses.get(exchange)
    if key.startswith(_USER_TRADES):
        uid, symbol_key = _user_queue(key)[0], None
    else:
        uid, symbol_key = None, key.removeprefix(_TRADES).partition(":")[2]
    return TradeQueueState(
        key=key,
        kind="user_trades" if uid is not None else "trades",
        exchange=exchange,
        symbol_key=symbol_key,
        uid=uid,
        length=length,
        status_updated_at=status.updated_at if status is not None else None,
        status_age_seconds=status.age_seconds if status is not None else None,
    )
