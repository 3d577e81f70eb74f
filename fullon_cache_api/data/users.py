"""The per-user summary: the orders, bots, balances and positions one user owns.

Whose entries count is decided by an `Owner`: the grant of the host's ownership hook (the
rules of each domain, see `_access`), the entries' own ``uid`` field when there is no hook, or
everything for an admin identity without a user id.

Nothing is read whole. Owned ``bot_status`` / ``accounts`` / ``account_positions`` fields are
fetched with HMGET, `chunk` fields at a time; every hash that must be searched (the
``order_status:*`` hashes, and ``bot_status`` without a hook) is walked with HSCAN COUNT
`chunk`, never HGETALL. The walk stops once the time budget is spent and the answer says
``partial: true``; its counts then cover what was read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, cast

from .._access import may_hold, sees_corrupt
from .._auth import Ownership
from .._codec import Undecodable
from .._redis import CacheClient, translate_errors
from ..structs.bots import Bot
from ..structs.orders import Order
from ..structs.users import UserBot, UserSummary
from ._base import BaseReader, Deadline, text
from ._order_values import _order
from .accounts import ACCOUNTS_KEY, POSITIONS_KEY, _account, _object
from .bots import _bot, _natural
from .orders import sees_order
from .views.stats import OPEN_STATUSES

__all__ = ["Basis", "Owner", "UserReader", "hscan_chunks"]

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


async def hscan_chunks(
    redis: CacheClient, key: str, chunk: int, deadline: Deadline
) -> AsyncIterator[list[tuple[str, bytes | str]]]:
    """The fields of hash `key`, one HSCAN step (COUNT `chunk`) at a time, until the end or
    until `deadline` is spent. Fields HSCAN returns twice (while Redis rehashes) are dropped:
    their names are remembered, never their values."""
    seen: set[str] = set()
    cursor = 0
    while not deadline.spent():
        with translate_errors(key):
            cursor, page = cast(
                tuple[int, dict[bytes | str, bytes | str]],
                await redis.hscan(key, cursor, count=chunk),
            )
        batch = [(name, value) for raw, value in page.items() if (name := text(raw)) not in seen]
        seen.update(name for name, _ in batch)
        if batch:
            yield batch
        if cursor == 0:
            return


class UserReader(BaseReader):
    """Per-user summaries (fullon_cache's ``get_user_order_count`` / ``get_user_bot_status``)."""

    async def summary(
        self, owner: Owner, *, budget: float | None = None, chunk: int | None = None
    ) -> UserSummary:
        """What `owner` owns: the owned fields first (HMGET), then the hashes to search (HSCAN)."""
        deadline = Deadline(self.limits.budget if budget is None else budget)
        chunk = self.limits.chunk if chunk is None else chunk
        tally = _Tally()
        if owner.granted is not None:
            await self._owned_accounts(owner.granted, tally, deadline, chunk)
            await self._owned_bots(owner.granted, tally, deadline, chunk)
        else:
            if owner.uid is None:  # an admin: every account
                await self._all_accounts(tally, deadline, chunk)
            await self._searched_bots(owner.uid, tally, deadline, chunk)
        await self._orders(owner, tally, deadline, chunk)
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
            partial=deadline.cut,
        )

    async def _owned_accounts(
        self, granted: Ownership, tally: _Tally, deadline: Deadline, chunk: int
    ) -> None:
        """Balances and positions of the granted ex_ids: one pipeline of two HMGETs per chunk."""
        ex_ids = sorted(granted.ex_ids)
        for start in range(0, len(ex_ids), chunk):
            if deadline.spent():
                return
            ids = ex_ids[start : start + chunk]
            with translate_errors("accounts and positions"):
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.hmget(ACCOUNTS_KEY, ids)
                    pipe.hmget(POSITIONS_KEY, ids)
                    balances, positions = await pipe.execute()
            for ex_id, raw in zip(ids, balances, strict=True):
                if raw is not None:
                    self._count_balances(ex_id, raw, tally)
            for ex_id, raw in zip(ids, positions, strict=True):
                if raw is not None:
                    self._count_positions(ex_id, raw, tally)

    async def _all_accounts(self, tally: _Tally, deadline: Deadline, chunk: int) -> None:
        """Balances and positions of every account (HSCAN both hashes)."""
        async for batch in hscan_chunks(self.redis, ACCOUNTS_KEY, chunk, deadline):
            for ex_id, raw in batch:
                self._count_balances(ex_id, raw, tally)
        async for batch in hscan_chunks(self.redis, POSITIONS_KEY, chunk, deadline):
            for ex_id, raw in batch:
                self._count_positions(ex_id, raw, tally)

    def _count_balances(self, ex_id: str, raw: bytes | str, tally: _Tally) -> None:
        try:
            account = _account(ex_id, raw)
        except Undecodable as exc:
            self.skipped(ex_id, ACCOUNTS_KEY, exc)
            tally.skipped += 1
            return
        tally.accounts += 1
        tally.balances += len(account.balances)

    def _count_positions(self, ex_id: str, raw: bytes | str, tally: _Tally) -> None:
        try:
            document = _object(raw)
        except Undecodable as exc:
            self.skipped(ex_id, POSITIONS_KEY, exc)
            tally.skipped += 1
            return
        for symbol, value in document.items():
            if symbol == _ROOT_TIMESTAMP:
                continue
            if isinstance(value, dict):
                tally.positions += 1
            else:
                self.skipped(f"{ex_id}/{symbol}", POSITIONS_KEY, "position is not an object")
                tally.skipped += 1

    async def _owned_bots(
        self, granted: Ownership, tally: _Tally, deadline: Deadline, chunk: int
    ) -> None:
        """Status documents of the granted bot ids (HMGET ``bot_status``, a chunk at a time)."""
        bot_ids = sorted(granted.bot_ids)
        for start in range(0, len(bot_ids), chunk):
            if deadline.spent():
                return
            ids = bot_ids[start : start + chunk]
            with translate_errors(_BOT_STATUS):
                values: list[bytes | str | None] = await self.redis.hmget(_BOT_STATUS, ids)
            for bot_id, raw in zip(ids, values, strict=True):
                if raw is None:
                    continue
                try:
                    tally.bots.append(_user_bot(_bot(bot_id, raw)))
                except Undecodable as exc:
                    self.skipped(bot_id, _BOT_STATUS, exc)
                    tally.skipped += 1

    async def _searched_bots(
        self, uid: str | None, tally: _Tally, deadline: Deadline, chunk: int
    ) -> None:
        """Every status document (HSCAN ``bot_status``) whose ``uid`` field is `uid` (every
        one when `uid` is None); a corrupt one's owner is unknown, so only an admin counts it."""
        async for batch in hscan_chunks(self.redis, _BOT_STATUS, chunk, deadline):
            for bot_id, raw in batch:
                try:
                    bot = _bot(bot_id, raw)
                except Undecodable as exc:
                    self.skipped(bot_id, _BOT_STATUS, exc)
                    tally.skipped += uid is None
                    continue
                if uid is None or _same_id(bot.fields.get("uid"), uid):
                    tally.bots.append(_user_bot(bot))

    async def _orders(self, owner: Owner, tally: _Tally, deadline: Deadline, chunk: int) -> None:
        """Every ``order_status:*`` hash that may hold the owner's orders, walked with HSCAN."""
        granted = owner.granted
        if deadline.spent() or (granted is not None and not _grants_any(granted)):
            return
        scanned = await self.scan_typed(f"{_ORDERS}*", "hash", deadline)
        tally.skipped += sum(_shows_corrupt(owner, key) for key in scanned.wrong_type)
        for key in scanned.keys:
            account = key.removeprefix(_ORDERS)
            if granted is not None and not may_hold(granted, account):
                continue  # keyed by an ex_id not granted: none of its orders count
            async for batch in hscan_chunks(self.redis, key, chunk, deadline):
                for order_id, raw in batch:
                    try:
                        order = _order(account, order_id, raw)
                    except Undecodable as exc:
                        self.skipped(order_id, key, exc)
                        tally.skipped += _shows_corrupt(owner, key)
                        continue
                    if _owns(owner, order):
                        tally.orders += 1
                        status = order.status or "unknown"
                        tally.by_status[status] += 1
                        tally.open_orders += status.casefold() in OPEN_STATUSES
            if deadline.spent():
                return


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
