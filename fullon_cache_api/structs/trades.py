"""Structs of the trades domain (``trades:*`` and ``user_trades:*`` queues, ``TRADE:STATUS:*``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from .views import TradeStatusAge

__all__ = [
    "Trade",
    "TradeList",
    "TradeOverview",
    "TradeQueue",
    "TradeQueueState",
    "TradeQueueStatus",
    "TradeStatus",
    "UserTradeList",
]


class Trade(msgspec.Struct, frozen=True, kw_only=True):
    """One queued trade (``Trade.to_dict()``); keys the writer left out are null."""

    trade_id: int | str | None
    ex_trade_id: str | int | None
    ex_order_id: str | int | None
    uid: int | str | None
    ex_id: int | str | None
    bot_id: int | str | None
    symbol: str | None
    order_type: str | None
    side: str | None
    volume: float | None
    price: float | None
    cost: float | None
    fee: float | None
    leverage: float | None
    roi: float | None
    roi_pct: float | None
    reason: str | None
    time: datetime | None


class TradeList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the newest trades of ``trades:{exchange}:{symbol without /}``, oldest first;
    not consumed. `next_cursor` fetches the page of older trades (null: none)."""

    exchange: str
    symbol: str
    key: str
    length: int
    count: int
    skipped: int
    next_cursor: str | None = None
    trades: list[Trade]


class UserTradeList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the newest trades of ``user_trades:{uid}:{exchange}``, oldest first; not
    consumed. `next_cursor` fetches the page of older trades (null: none)."""

    uid: str
    exchange: str
    key: str
    length: int
    count: int
    skipped: int
    next_cursor: str | None = None
    trades: list[Trade]


class TradeQueue(msgspec.Struct, frozen=True, kw_only=True):
    """A ``trades:{exchange}:{symbol_key}`` queue and its length (`symbol_key` has no ``/``)."""

    exchange: str
    symbol_key: str
    length: int


class TradeStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A ``TRADE:STATUS:{key}`` mark: when trades were last pushed for `key` (an exchange)."""

    key: str
    updated_at: datetime | None


class TradeOverview(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the trade queues with their lengths, then of the trade statuses with their
    times (queues first; `next_cursor` continues).

    `skipped` counts ``trades:`` and ``TRADE:STATUS:`` keys of another Redis type (not a list,
    not a string); `status_skipped` counts statuses whose value is not a timestamp.
    """

    queue_count: int
    queues: list[TradeQueue]
    status_count: int
    status_skipped: int
    skipped: int
    next_cursor: str | None = None
    statuses: list[TradeStatus]


class TradeQueueState(msgspec.Struct, frozen=True, kw_only=True):
    """One trade queue: its length, and its exchange's ``TRADE:STATUS`` time and age.

    `kind` ``trades`` is a shared ``trades:{exchange}:{symbol_key}`` queue, ``user_trades`` a
    ``user_trades:{uid}:{exchange}`` one. The status is null when the exchange has none.
    """

    key: str
    kind: Literal["trades", "user_trades"]
    exchange: str
    symbol_key: str | None
    uid: str | None
    length: int
    status_updated_at: datetime | None
    status_age_seconds: float | None


class TradeQueueStatus(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of the trade queues the caller may see, sorted by key within the page, then
    (admins) of the trade status marks.

    A page holds about `limit` keys: ``trades:*`` queues (admins), ``user_trades:*`` queues,
    then (admins) ``TRADE:STATUS:*`` marks; each queue carries its exchange's status time.
    `count` is the number of queues of this page; `skipped` counts its queue and status keys
    of another Redis type. `next_cursor` fetches the next page (null: this was the last);
    `partial` says the scan stopped when its time budget ran out.
    """

    count: int
    skipped: int
    partial: bool
    next_cursor: str | None = None
    queues: list[TradeQueueState]
    statuses: list[TradeStatusAge]
