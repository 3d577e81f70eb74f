"""Structs of the accounts domain (``accounts`` and ``account_positions`` hashes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = ["Account", "AccountList", "AccountPositions", "Position", "PositionList"]


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """Balances of one exchange account (ex_id) as stored, with the date they were written."""

    ex_id: str
    updated_at: datetime | None
    balances: dict[str, Any]


class AccountList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of account balances, sorted by ex_id; corrupt and oversized entries are counted
    in `skipped`; `next_cursor` fetches the next page (null: this was the last)."""

    count: int
    skipped: int
    next_cursor: str | None = None
    accounts: list[Account]


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """One position of an account; `timestamp` is the position's own time."""

    ex_id: str
    symbol: str
    cost: float | None
    volume: float | None
    fee: float | None
    count: float | None
    price: float | None
    timestamp: datetime | None


class AccountPositions(msgspec.Struct, frozen=True, kw_only=True):
    """Positions of one account, sorted by symbol; `updated_at` is the last write of the set."""

    ex_id: str
    updated_at: datetime | None
    count: int
    skipped: int
    positions: list[Position]


class PositionList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The positions of a page of accounts, sorted by (ex_id, symbol); corrupt entries are
    counted in `skipped`; `next_cursor` fetches the next page of accounts."""

    count: int
    skipped: int
    next_cursor: str | None = None
    positions: list[Position]
