"""Structs of the portfolio view (``/accounts/summary``, ``/accounts/{ex_id}/summary``).

Amounts are computed exactly (``Decimal`` of each stored float's repr) and answered as the
nearest float; an amount that cannot be computed is null and its entry carries a `reason`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

__all__ = ["AccountSummary", "BalanceValue", "PortfolioSummary", "PositionValue"]


class BalanceValue(msgspec.Struct, frozen=True, kw_only=True):
    """One currency of an account: free/used/total as stored, and `total` valued in `quote`.

    `rate` is the price of one unit in the quote currency (1 for the quote itself); `value` is
    ``total * rate``. When either is unknown, `reason` says why and the entry is not summed.
    """

    currency: str
    free: float | None
    used: float | None
    total: float | None
    rate: float | None
    value: float | None
    reason: str | None


class PositionValue(msgspec.Struct, frozen=True, kw_only=True):
    """One position valued at its current ticker price, with its unrealised PnL.

    `price`, `value` (``volume * price``) and `unrealized_pnl` (``value - cost``) are in the
    symbol's quote `currency`; `rate` converts that currency to the summary's quote. When
    anything is unknown, `reason` says why and the position is not summed.
    """

    symbol: str
    currency: str | None
    volume: float | None
    cost: float | None
    price: float | None
    price_source: Literal["last", "mid", "price"] | None
    ticker_age_seconds: float | None
    value: float | None
    unrealized_pnl: float | None
    rate: float | None
    reason: str | None


class AccountSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Portfolio of one exchange account (ex_id) valued in `quote` with tickers of `exchange`.

    `exchange_source` tells where the ticker exchange came from: the ``exchange`` query
    parameter, the account's cached orders, or nowhere (then only the quote currency itself
    is valued). `unvalued` counts balances and positions that carry a `reason`. `partial` is
    true when the time budget (the Redis socket timeout) ran out while the account's orders
    were searched for its exchange, so `exchange` may be unknown.
    """

    ex_id: str
    quote: str
    exchange: str | None
    exchange_source: Literal["query", "orders"] | None
    updated_at: datetime | None
    balances: list[BalanceValue]
    positions: list[PositionValue]
    balances_value: float
    positions_value: float
    unrealized_pnl: float
    unvalued: int
    partial: bool


class PortfolioSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the visible accounts' portfolios, sorted by ex_id, with the sums over the
    accounts of this page.

    `skipped` counts the page's balance or position documents that are not JSON objects.
    `next_cursor` fetches the next page (null: this was the last). `partial` is true when the
    time budget (the Redis socket timeout) ran out: the accounts not reached by then are left
    out and the sums cover the ones listed.
    """

    quote: str
    count: int
    skipped: int
    balances_value: float
    positions_value: float
    unrealized_pnl: float
    unvalued: int
    partial: bool
    next_cursor: str | None = None
    accounts: list[AccountSummary]
