"""The portfolio view: balances and positions of an account valued at current ticker prices.

Accounts are keyed by ex_id and tickers by exchange name, and Redis holds no mapping between
the two. The ticker exchange is therefore the request's ``exchange`` parameter or, without it,
the exchange named by the account's cached orders (an order's ``exchange`` field, or the name
of the ``order_status:{name}`` hash holding an order whose ``ex_id`` is the account). When
neither gives exactly one exchange, only the quote currency itself is valued and every other
entry says why it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import msgspec

from ..._errors import CorruptEntry, NotFound
from ...backend import CacheClient, translate_errors
from ...security import Ownership, ex_id_of, owned, sees
from ...structs.accounts import Position
from ...structs.views_portfolio import AccountSummary, PortfolioSummary
from .._base import BaseReader, Deadline, text
from .._chunks import HashWalk
from .._codec import Invalid, Undecodable
from .._cursor import decode_cursor, encode_cursor
from .._limits import DEFAULT_LIMITS, ReadLimits
from .._order_values import _id, _text
from .._pages import DOCUMENT_PAGE
from ..accounts import AccountReader, _account, _ex_id_order, _object
from ._scan import exact_sum, hash_batches
from ._valuation import Prices, Valued, balance_value, position_value

__all__ = ["PortfolioReader"]

_ACCOUNTS = "accounts"
_POSITIONS = "account_positions"
_ORDERS = "order_status:"

Source = Literal["query", "orders"]


class PortfolioReader(BaseReader):
    """Portfolio summaries over ``accounts``, ``account_positions``, orders and tickers."""

    def __init__(self, redis: CacheClient, limits: ReadLimits = DEFAULT_LIMITS) -> None:
        super().__init__(redis, limits)
        self._accounts = AccountReader(redis, limits)

    async def one(
        self,
        ex_id: str,
        *,
        quote: str,
        exchange: str | None,
        only: Ownership | None,
        deadline: Deadline,
    ) -> AccountSummary:
        """The summary of `ex_id`; 404 when it has neither balances nor positions, or when
        the caller does not own it (the same answer, so ex_ids cannot be probed). The search
        of the orders for its exchange stops once `deadline` is spent (then `partial`)."""
        balances = positions = None
        if sees(only, ex_id=ex_id):
            [(balances, positions)] = await self._documents([ex_id])
        if balances is None and positions is None:
            raise NotFound(f"no balances or positions cached for account {ex_id!r}")
        names = await self._order_exchanges({ex_id}, deadline) if exchange is None else {}
        try:
            found = await self._summary(
                ex_id, (balances, positions), quote, exchange, names, partial=deadline.cut
            )
        except Undecodable as exc:
            raise CorruptEntry(f"account {ex_id!r} is not a JSON object: {exc}") from None
        return found.summary

    async def all(
        self,
        *,
        quote: str,
        exchange: str | None,
        only: Ownership | None,
        deadline: Deadline,
        cursor: str | None = None,
        limit: int = DOCUMENT_PAGE.default,
    ) -> PortfolioSummary:
        """Summaries of a page of about `limit` accounts, by ex_id: the owned ex_ids (a
        non-admin), else the fields of ``accounts`` then those of ``account_positions`` that
        have no balances (see `_page`).

        Accounts are valued one by one until done or `deadline` spent; those not reached are
        left out and the answer says `partial`.
        """
        wanted, next_cursor = await self._page(only, cursor, limit, deadline)
        names = await self._order_exchanges(set(wanted), deadline) if exchange is None else {}
        names_cut = deadline.cut
        summaries: list[_Account] = []
        skipped = 0
        step = self.limits.chunk  # accounts per HMGET
        for start in range(0, len(wanted), step):
            if deadline.spent():
                break
            chunk = wanted[start : start + step]
            for ex_id, documents in zip(chunk, await self._documents(chunk), strict=True):
                if documents == (None, None):
                    continue  # gone since the page was listed
                if deadline.spent():
                    break
                try:
                    summaries.append(
                        await self._summary(
                            ex_id, documents, quote, exchange, names, partial=names_cut
                        )
                    )
                except Undecodable as exc:
                    self.skipped(ex_id, f"{_ACCOUNTS}/{_POSITIONS}", exc)
                    skipped += 1
        return _portfolio(quote, summaries, skipped, partial=deadline.cut, next_cursor=next_cursor)

    async def _page(
        self, only: Ownership | None, cursor: str | None, limit: int, deadline: Deadline
    ) -> tuple[list[str], str | None]:
        """The ex_ids of a page (sorted) and the next page's cursor.

        An admin's pages walk ``accounts``, then ``account_positions`` for the ex_ids that
        have no balances (HEXISTS per reply), until about `limit` were found or `deadline` is
        spent (the cursor then continues where the walk stopped).
        """
        mine = owned(only, "ex_ids")
        if mine is not None:  # the owned ex_ids, by offset
            start = 0 if cursor is None else decode_cursor(cursor, "i", tuple[int])[0]
            end = start + limit
            return mine[start:end], encode_cursor("i", end) if end < len(mine) else None
        phase, start = (0, 0) if cursor is None else decode_cursor(cursor, "h2", tuple[int, int])
        found: list[str] = []
        for index, key in enumerate((_ACCOUNTS, _POSITIONS)):
            if index < phase:
                continue
            walk = HashWalk(self.redis, key, self.limits, start=start, deadline=deadline)
            while len(found) < limit:
                walk.limit = walk.read + limit - len(found)  # HSCAN COUNT: what the page lacks
                batch = await walk.reply()
                if batch is None:
                    break
                names = [text(field) for field in batch]
                found.extend(names if not index else await self._without_balances(names))
            start = 0
            if walk.next is not None:
                return sorted(set(found), key=_ex_id_order), encode_cursor("h2", index, walk.next)
            if index == 0 and len(found) >= limit:
                return sorted(set(found), key=_ex_id_order), encode_cursor("h2", 1, 0)
        return sorted(set(found), key=_ex_id_order), None

    async def _without_balances(self, ex_ids: list[str]) -> list[str]:
        """Those of `ex_ids` with no field in ``accounts`` (HEXISTS, one pipeline)."""
        with translate_errors(_ACCOUNTS):
            async with self.redis.pipeline(transaction=False) as pipe:
                for ex_id in ex_ids:
                    pipe.hexists(_ACCOUNTS, ex_id)
                exists = await pipe.execute()
        return [ex_id for ex_id, there in zip(ex_ids, exists, strict=True) if not there]

    async def _documents(self, ex_ids: list[str]) -> list[tuple[bytes | None, bytes | None]]:
        """(balances, positions) JSON of each ex_id: one pipeline of two HMGETs."""
        with translate_errors(f"{_ACCOUNTS} and {_POSITIONS}"):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hmget(_ACCOUNTS, ex_ids)
                pipe.hmget(_POSITIONS, ex_ids)
                balances, positions = await pipe.execute()
        return list(zip(balances, positions, strict=True))

    async def _order_exchanges(self, wanted: set[str], deadline: Deadline) -> dict[str, set[str]]:
        """Exchange names that the cached orders give each wanted ex_id (HSCAN-bounded),
        as far as `deadline` allows."""
        found: dict[str, set[str]] = {}
        for key in (await self.scan_typed(f"{_ORDERS}*", "hash", deadline)).keys:
            account = key.removeprefix(_ORDERS)
            if ex_id_of(account) is not None and account not in wanted:
                continue  # another account's own hash (save_order_data): nothing for us
            if deadline.spent():
                break
            async for batch in hash_batches(self.redis, key, self.limits, deadline):
                for _, raw in batch:
                    pair = _order_pair(account, raw, self.limits)
                    if pair is not None and pair[0] in wanted:
                        found.setdefault(pair[0], set()).add(pair[1])
        return found

    async def _summary(
        self,
        ex_id: str,
        documents: tuple[bytes | None, bytes | None],
        quote: str,
        exchange: str | None,
        names: dict[str, set[str]],
        *,
        partial: bool,
    ) -> _Account:
        balances_raw, positions_raw = documents
        for raw in documents:
            why = None if raw is None else self.limits.oversized(raw)
            if why is not None:
                raise Undecodable(why)
        account = _account(ex_id, balances_raw) if balances_raw is not None else None
        positions: list[Position] = []
        if positions_raw is not None:
            # The domain reader's own split of a positions document (root timestamp left out).
            positions, _ = self._accounts._symbols(ex_id, _object(positions_raw))
        balances = account.balances if account is not None else {}
        name, source, why = _exchange_for(ex_id, exchange, names)
        prices = Prices(quote=quote, exchange=name, missing_reason=why)
        await prices.load(self.redis, list(balances), [p.symbol for p in positions])
        valued_balances = [balance_value(c, balances[c], prices) for c in sorted(balances)]
        valued_positions = [position_value(position, prices) for position in positions]
        totals = _Totals.of(valued_balances, valued_positions)
        summary = AccountSummary(
            ex_id=ex_id,
            quote=quote,
            exchange=name,
            exchange_source=source,
            updated_at=account.updated_at if account is not None else None,
            balances=[valued.entry for valued in valued_balances],
            positions=[valued.entry for valued in valued_positions],
            balances_value=float(totals.balances),
            positions_value=float(totals.positions),
            unrealized_pnl=float(totals.pnl),
            unvalued=totals.unvalued,
            partial=partial,
        )
        return _Account(summary, totals)


@dataclass(frozen=True)
class _Totals:
    """Exact sums of one account (or of several), kept exact until answered."""

    balances: Decimal
    positions: Decimal
    pnl: Decimal
    unvalued: int

    @classmethod
    def of(cls, balances: list[Valued], positions: list[Valued]) -> _Totals:
        entries = [*balances, *positions]
        return cls(
            balances=exact_sum(v.value for v in balances if v.value is not None),
            positions=exact_sum(v.value for v in positions if v.value is not None),
            pnl=exact_sum(v.pnl for v in positions if v.pnl is not None),
            unvalued=sum(v.entry.reason is not None for v in entries),
        )


@dataclass(frozen=True)
class _Account:
    summary: AccountSummary
    totals: _Totals


class _OrderRef(msgspec.Struct):
    """The two keys of an order the exchange mapping needs (decoding the rest is wasted)."""

    ex_id: Any = None
    exchange: Any = None


def _order_pair(account: str, raw: bytes | str, limits: ReadLimits) -> tuple[str, str] | None:
    """(ex_id, exchange name) an order tells, or None when it does not tell both."""
    ref = limits.decode(raw, _OrderRef)
    if isinstance(ref, Invalid):
        return None
    # The orders domain's own normalisers: an id as written (a whole float is an int).
    stored_id, stored_name = _id(ref.ex_id), _text(ref.exchange)
    by_id = ex_id_of(account) is not None
    ex_id = str(stored_id) if stored_id is not None else (account if by_id else None)
    name = stored_name or (None if by_id else account)
    return (ex_id, name) if ex_id and name else None


def _exchange_for(
    ex_id: str, exchange: str | None, names: dict[str, set[str]]
) -> tuple[str | None, Source | None, str | None]:
    """The ticker exchange of an account, where it came from, or why there is none."""
    if exchange is not None:
        return exchange, "query", None
    found = sorted(names.get(ex_id, ()))
    if len(found) == 1:
        return found[0], "orders", None
    if found:
        listed = ", ".join(found)
        return None, None, f"orders of account {ex_id} name several exchanges ({listed})"
    return None, None, f"no ticker exchange known for account {ex_id} (pass ?exchange=)"


def _portfolio(
    quote: str,
    accounts: list[_Account],
    skipped: int,
    *,
    partial: bool,
    next_cursor: str | None,
) -> PortfolioSummary:
    accounts.sort(key=lambda account: _ex_id_order(account.summary.ex_id))
    return PortfolioSummary(
        quote=quote,
        count=len(accounts),
        skipped=skipped,
        balances_value=float(exact_sum(a.totals.balances for a in accounts)),
        positions_value=float(exact_sum(a.totals.positions for a in accounts)),
        unrealized_pnl=float(exact_sum(a.totals.pnl for a in accounts)),
        unvalued=sum(a.totals.unvalued for a in accounts),
        partial=partial,
        next_cursor=next_cursor,
        accounts=[account.summary for account in accounts],
    )
