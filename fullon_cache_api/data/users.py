"""The per-user summary: the orders, bots, balances and positions one user owns.

Whose entries count is decided by an `Owner`: the grant of the host's ownership hook (the
rules of each domain, see `_access`), the entries' own ``uid`` field when there is no hook, or
everything for an admin identity without a user id.

Nothing is read whole. Owned ``bot_status`` / ``accounts`` / ``account_positions`` fields are
fetched with HMGET, `chunk` fields at a time; every hash that must be searched (the
``order_status:*`` hashes, and ``bot_status`` without a hook) is walked with HSCAN COUNT
`chunk` (`HashWalk`), never HGETALL. The walk stops once the time budget is spent and the
answer says ``partial: true``; its counts then cover what was read. Values are decoded with
the read limits: a corrupt one costs no exception, one above the value limit is skipped
undecoded, and the skipped entries of each hash are logged once per interval (`SkipLog`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from ..backend import translate_errors
from ..security import Ownership, may_hold, sees_corrupt
from ..structs.bots import Bot
from ..structs.orders import Order
from ..structs.users import UserBot, UserSummary
from ._base import BaseReader, Deadline, text
from ._chunks import HashWalk
from ._codec import Invalid
from ._instrument import timed_read
from ._limits import ReadLimits
from ._order_values import _from_stored, _StoredOrder
from ._skips import Skips
from .accounts import ACCOUNTS_KEY, POSITIONS_KEY, _account_of
from .bots import _bot_of, _natural
from .orders import sees_order
from .views.order_stats import OPEN_STATUSES

__all__ = ["Basis", "Owner", "UserReader"]

_ORDERS = "order_status:"
_BOT_STATUS = "bot_status"
_ROOT_TIMESTAMP = "timestamp"  # the root key of a positions document, not a symbol

Basis = Literal["hook", "uid_field", "admin", "none"]


@dataclass(frozen=True)
class Owner:
    """Whose entries a summary counts.

    `granted` set: what it grants (basis ``hook``, or ``none`` for an empty grant). `granted`
    None with a `uid`: the entries whose own ``uid`` field is `uid` (``uid_field``); with
    neither: every entry (``admin``).
    """

    uid: str | None
    basis: Basis
    granted: Ownership | None = None


@dataclass
class _Tally:
    orders: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    open_orders: int = 0
    bots: list[UserBot] = field(default_factory=list)
    accounts: int = 0
    balances: int = 0
    positions: int = 0
    skipped: int = 0


class _Read:
    """One summary's read: its limits (the chunk it was asked for), budget, tally and the
    entries it skipped per key."""

    def __init__(self, limits: ReadLimits, deadline: Deadline) -> None:
        self.limits = limits
        self.deadline = deadline
        self.tally = _Tally()
        self.skips: dict[str, Skips] = {}

    def skip(self, key: str, what: str, reason: object, *, counted: bool = True) -> None:
        """One entry of `key` left out (counted in the answer's `skipped` when `counted`)."""
        self.skips.setdefault(key, Skips(key)).add(what, reason)
        self.tally.skipped += counted

    def document(self, key: str, field: str, raw: bytes | str) -> dict[str, Any] | None:
        """The JSON object stored as `raw` (oversized ones undecoded), or None (skipped)."""
        found = self.limits.decode(raw, dict[str, Any])
        if isinstance(found, Invalid):
            self.skip(key, field, found.reason)
            return None
        return found

    async def walk(self, redis: Any, key: str) -> AsyncIterator[list[tuple[str, bytes | str]]]:
        """The fields of hash `key`, one HSCAN reply at a time, within the budget."""
        walk = HashWalk(redis, key, self.limits, deadline=self.deadline)
        async for found in walk.chunks():
            yield [(text(field), value) for field, value in found.items()]


class UserReader(BaseReader):
    """Per-user summaries (fullon_cache's ``get_user_order_count`` / ``get_user_bot_status``)."""

    @timed_read
    async def summary(
        self, owner: Owner, *, budget: float | None = None, chunk: int | None = None
    ) -> UserSummary:
        """What `owner` owns: the owned fields first (HMGET), then the hashes to search (HSCAN)."""
        limits = self.limits if chunk is None else msgspec.structs.replace(self.limits, chunk=chunk)
        read = _Read(limits, Deadline(self.limits.budget if budget is None else budget))
        if owner.granted is not None:
            await self._owned_accounts(owner.granted, read)
            await self._owned_bots(owner.granted, read)
        else:
            if owner.uid is None:  # an admin: every account
                await self._all_accounts(read)
            await self._searched_bots(owner.uid, read)
        await self._orders(owner, read)
        for skips in read.skips.values():
            self.report(skips)
        tally = read.tally
        counted = owner.basis != "uid_field"  # balances and positions carry no uid
        tally.bots.sort(key=lambda bot: _natural(bot.bot_id))
        return UserSummary(
            uid=owner.uid,
            ownership=owner.basis,
            orders=tally.orders,
            orders_by_status=dict(sorted(tally.by_status.items())),
            open_orders=tally.open_orders,
            bot_count=len(tally.bots),
            bots=tally.bots,
            accounts=tally.accounts if counted else None,
            balances=tally.balances if counted else None,
            positions=tally.positions if counted else None,
            skipped=tally.skipped,
            partial=read.deadline.cut,
        )

    async def _owned_accounts(self, granted: Ownership, read: _Read) -> None:
        """Balances and positions of the granted ex_ids: one pipeline of two HMGETs per chunk."""
        ex_ids, chunk = sorted(granted.ex_ids), read.limits.chunk
        for start in range(0, len(ex_ids), chunk):
            if read.deadline.spent():
                return
            ids = ex_ids[start : start + chunk]
            with translate_errors("accounts and positions"):
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.hmget(ACCOUNTS_KEY, ids)
                    pipe.hmget(POSITIONS_KEY, ids)
                    balances, positions = await pipe.execute()
            for ex_id, raw in zip(ids, balances, strict=True):
                if raw is not None:
                    _count_balances(ex_id, raw, read)
            for ex_id, raw in zip(ids, positions, strict=True):
                if raw is not None:
                    _count_positions(ex_id, raw, read)

    async def _all_accounts(self, read: _Read) -> None:
        """Balances and positions of every account (HSCAN both hashes)."""
        async for batch in read.walk(self.redis, ACCOUNTS_KEY):
            for ex_id, raw in batch:
                _count_balances(ex_id, raw, read)
        async for batch in read.walk(self.redis, POSITIONS_KEY):
            for ex_id, raw in batch:
                _count_positions(ex_id, raw, read)

    async def _owned_bots(self, granted: Ownership, read: _Read) -> None:
        """Status documents of the granted bot ids (HMGET ``bot_status``, a chunk at a time)."""
        bot_ids, chunk = sorted(granted.bot_ids), read.limits.chunk
        for start in range(0, len(bot_ids), chunk):
            if read.deadline.spent():
                return
            ids = bot_ids[start : start + chunk]
            with translate_errors(_BOT_STATUS):
                values: list[bytes | str | None] = await self.redis.hmget(_BOT_STATUS, ids)
            for bot_id, raw in zip(ids, values, strict=True):
                document = None if raw is None else read.document(_BOT_STATUS, bot_id, raw)
                if document is not None:
                    read.tally.bots.append(_user_bot(_bot_of(bot_id, document)))

    async def _searched_bots(self, uid: str | None, read: _Read) -> None:
        """Every status document (HSCAN ``bot_status``) whose ``uid`` field is `uid` (every
        one when `uid` is None); a corrupt one's owner is unknown, so only an admin counts it."""
        async for batch in read.walk(self.redis, _BOT_STATUS):
            for bot_id, raw in batch:
                document = read.limits.decode(raw, dict[str, Any])
                if isinstance(document, Invalid):
                    read.skip(_BOT_STATUS, bot_id, document.reason, counted=uid is None)
                    continue
                bot = _bot_of(bot_id, document)
                if uid is None or _same_id(bot.fields.get("uid"), uid):
                    read.tally.bots.append(_user_bot(bot))

    async def _orders(self, owner: Owner, read: _Read) -> None:
        """Every ``order_status:*`` hash that may hold the owner's orders, walked with HSCAN."""
        granted, deadline, tally = owner.granted, read.deadline, read.tally
        if deadline.spent() or (granted is not None and not _grants_any(granted)):
            return
        scanned = await self.scan_typed(f"{_ORDERS}*", "hash", deadline)
        tally.skipped += sum(_shows_corrupt(owner, key) for key in scanned.wrong_type)
        for key in scanned.keys:
            account = key.removeprefix(_ORDERS)
            if granted is not None and not may_hold(granted, account):
                continue  # keyed by an ex_id not granted: none of its orders count
            shown = _shows_corrupt(owner, key)
            async for batch in read.walk(self.redis, key):
                for order_id, raw in batch:
                    stored = read.limits.decode(raw, _StoredOrder)
                    if isinstance(stored, Invalid):
                        read.skip(key, order_id, stored.reason, counted=shown)
                        continue
                    order = _from_stored(account, order_id, stored)
                    if _owns(owner, order):
                        tally.orders += 1
                        status = order.status or "unknown"
                        tally.by_status[status] += 1
                        tally.open_orders += status.casefold() in OPEN_STATUSES
            if deadline.spent():
                return


def _count_balances(ex_id: str, raw: bytes | str, read: _Read) -> None:
    document = read.document(ACCOUNTS_KEY, ex_id, raw)
    if document is not None:
        read.tally.accounts += 1
        read.tally.balances += len(_account_of(ex_id, document).balances)


def _count_positions(ex_id: str, raw: bytes | str, read: _Read) -> None:
    document = read.document(POSITIONS_KEY, ex_id, raw)
    for symbol, value in (document or {}).items():
        if symbol == _ROOT_TIMESTAMP:
            continue
        if isinstance(value, dict):
            read.tally.positions += 1
        else:
            read.skip(POSITIONS_KEY, f"{ex_id}/{symbol}", "position is not an object")


def _owns(owner: Owner, order: Order) -> bool:
    """Whether `order` is the owner's: the hook's rules, its own ``uid``, or (admin) always."""
    if owner.granted is not None:
        return sees_order(owner.granted, order)
    return owner.uid is None or _same_id(order.uid, owner.uid)


def _grants_any(granted: Ownership) -> bool:
    """Whether a grant names any id at all (an empty one can own no order)."""
    return bool(granted.ex_ids or granted.uids or granted.bot_ids)


def _shows_corrupt(owner: Owner, key: str) -> bool:
    """A corrupt order counts only where its owner is known without decoding it."""
    if owner.granted is not None:
        return sees_corrupt(owner.granted, key.removeprefix(_ORDERS))
    return owner.uid is None


def _same_id(value: object, uid: str) -> bool:
    """Whether a stored id (int or text) is `uid`."""
    return isinstance(value, int | str) and not isinstance(value, bool) and str(value) == uid


def _user_bot(bot: Bot) -> UserBot:
    feeds = {name: _string(feed.data.get("status")) for name, feed in sorted(bot.feeds.items())}
    own = _string(bot.fields.get("status"))
    agreed = set(feeds.values())
    status = own if own is not None else (agreed.pop() if len(agreed) == 1 else None)
    return UserBot(
        bot_id=bot.bot_id,
        name=_string(bot.fields.get("name")),
        status=status,
        feeds=feeds,
        updated=bot.updated,
    )


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
