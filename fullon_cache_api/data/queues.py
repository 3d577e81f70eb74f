"""Reader of fullon_cache's transient queues at a glance: one open-order queue
(``new_orders:{local_oid}``) by name, and a page of the trade queues (``trades:*``,
``user_trades:*``) with their exchange's ``TRADE:STATUS`` time.

Only LLEN, TYPE, SCAN and MGET reach the queues: nothing is popped or consumed.
"""

from __future__ import annotations

import time

from ..backend import translate_errors
from ..security import Ownership, sees
from ..structs.orders import OrderQueue, OrderQueues
from ..structs.trades import TradeQueueState, TradeQueueStatus
from ..structs.views import TradeStatusAge
from ._base import BaseReader, Deadline, text
from ._chunks import pipelined
from ._codec import to_datetime
from ._instrument import timed_read
from ._pages import KEY_PAGE
from ._phases import scan_phases
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

    @timed_read
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

    @timed_read
    async def trade_queues(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
        budget: float | None = None,
    ) -> TradeQueueStatus:
        """A page of about `limit` keys: the visible trade queues with their length and their
        exchange's status time and age, then (admins) the status marks.

        SCAN ``trades:*`` (admins only), then ``user_trades:*`` TYPE list, then (admins)
        ``TRADE:STATUS:*`` TYPE string, one after the other (`scan_phases`); then LLEN per
        queue and MGET of the page's status keys and of its queues' exchanges, `chunk` per
        round trip. The scans stop once `budget` seconds (default: the read budget) are
        spent, and the answer says ``partial``.
        """
        now = time.time()
        deadline = Deadline(self.limits.budget if budget is None else budget)
        admin = only is None
        phases = [(f"{_USER_TRADES}*", "list")]
        if admin:
            phases = [(f"{_TRADES}*", "list"), *phases, (f"{_STATUS}*", "string")]
        page = await scan_phases(self, phases, cursor, limit, deadline)
        shared = page.keys(0) if admin else []
        users = page.keys(1 if admin else 0)
        user_keys = [key for key in users if sees(only, uid=_user_queue(key)[0])]
        skipped = sum(len(found.wrong_type) for found in page.scans) if admin else 0
        if not admin:
            skipped = sum(sees(only, uid=_user_queue(key)[0]) for key in page.wrong_type(0))
        queue_keys = [key for key in (*shared, *user_keys) if _well_formed(key)]
        listed = page.keys(2) if admin else []
        marks = sorted({f"{_STATUS}{_exchange_of(key)}" for key in queue_keys} | set(listed))
        lengths = await pipelined(
            self.redis, "trade queues", queue_keys, lambda pipe, key: pipe.llen(key),
            self.limits.chunk,
        )  # fmt: skip
        statuses = _statuses(marks, await self._values(marks), now)
        queues = [
            _queue_state(key, length, statuses)
            for key, length in zip(queue_keys, lengths, strict=True)
            if isinstance(length, int) and length  # gone or retyped since the SCAN: left out
        ]
        queues.sort(key=lambda queue: queue.key)
        shown = {key.removeprefix(_STATUS) for key in listed}
        return TradeQueueStatus(
            count=len(queues),
            skipped=skipped,
            partial=deadline.cut,
            next_cursor=page.next_cursor,
            queues=queues,
            statuses=[status for name, status in statuses.items() if name in shown],
        )

    async def _values(self, keys: list[str]) -> list[bytes | str | None]:
        """MGET of `keys`, `chunk` keys per command, one pipeline per `chunk` commands."""
        chunk = self.limits.chunk
        groups = [keys[i : i + chunk] for i in range(0, len(keys), chunk)]
        replies = await pipelined(
            self.redis, "trade statuses", groups, lambda pipe, some: pipe.mget(some), chunk
        )
        values: list[bytes | str | None] = []
        for group, reply in zip(groups, replies, strict=True):
            values.extend(reply if isinstance(reply, list) else [None] * len(group))
        return values


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
