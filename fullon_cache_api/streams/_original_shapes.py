"""The original gateway's result shapes, computed from the data layer's Structs.

The original (fullon_cache_api 0.2.x, WebSocket only) answered with dicts built from
fullon_cache's models; each function here takes what our readers return for the same Redis
data and computes the same fields the same way: epoch-float timestamps, ``side``/``size``
from a position's signed volume, ``filled``/``remaining`` from an order's final volume, and so
on. Where the original's value came from a model attribute that fullon_cache never stores
(a position's ``pnl``, a ticker's ``change_24h``) it answered its default, ``0.0``; so do we.
Differences, each documented in the README: NaN/Infinity and absent numbers are ``null``
(the original wrote bare ``NaN`` or failed); an account stored in ccxt's free/used/total shape
reads ``free`` as its available balance (the original knew only ``available`` and answered
``0.0``); process entries carry the stored fields (the original read attributes of a dict and
answered ``null`` for all but ``last_seen``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import msgspec

from ..structs.accounts import Position
from ..structs.bots import Bot
from ..structs.orders import Order
from ..structs.processes import Process, ProcessHealth
from ..structs.tickers import Ticker
from ..structs.trades import Trade

__all__ = [
    "ActiveProcess",
    "OriginalBalance",
    "OriginalOrder",
    "OriginalPosition",
    "OriginalTicker",
    "OriginalTrade",
    "PositionUpdate",
    "SystemHealth",
    "active_process",
    "balance",
    "bot_document",
    "bot_status",
    "epoch",
    "order",
    "position",
    "position_update",
    "system_health",
    "ticker",
    "trade",
]


class OriginalTicker(msgspec.Struct, frozen=True, kw_only=True):
    """A ticker as the original answered it (``get_ticker``, ``get_all_tickers``, pushes)."""

    symbol: str
    exchange: str
    price: float | None
    volume: float | None
    timestamp: float | None
    bid: float | None
    ask: float | None
    change_24h: float


class OriginalBalance(msgspec.Struct, frozen=True, kw_only=True):
    """One currency of an account (``get_balance``); `user_id` is fullon_cache's ex_id."""

    user_id: int | str
    currency: str
    total_balance: float
    available_balance: float
    reserved_balance: float
    timestamp: float


class OriginalPosition(msgspec.Struct, frozen=True, kw_only=True):
    """One position (``get_positions``); `exchange` is the account's ex_id."""

    symbol: str
    exchange: str
    side: str
    size: float
    entry_price: float | None
    mark_price: float | None
    pnl: float
    pnl_percent: float
    timestamp: float


class PositionUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """A ``position_update`` result: a position, and a `user_id` fullon_cache never stores."""

    user_id: None = None
    exchange: str
    symbol: str
    side: str
    size: float
    entry_price: float | None
    mark_price: float | None
    pnl: float
    pnl_percent: float
    timestamp: float


class OriginalOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order (``get_order_status``): amounts from volume and final volume."""

    order_id: str
    symbol: str
    exchange: str
    side: str
    amount: float | None
    price: float | None
    filled: float
    remaining: float | None
    status: str
    order_type: str
    timestamp: float
    last_update: float


class OriginalTrade(msgspec.Struct, frozen=True, kw_only=True):
    """A queued trade (``get_trades`` items, ``trade_update``)."""

    symbol: str
    exchange: str
    side: str | None
    volume: float | None
    price: float | None
    timestamp: float | None
    trade_id: int | str | None


class ActiveProcess(msgspec.Struct, frozen=True, kw_only=True):
    """A process (``get_active_processes`` items): `name` is its component."""

    process_id: str
    name: str | None
    status: str | None
    pid: int | None
    last_seen: float


class SystemHealth(msgspec.Struct, frozen=True, kw_only=True):
    """fullon_cache's ``get_system_health`` dict (``get_system_health``)."""

    healthy: bool
    total_processes: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    stale_processes: int
    error_processes: int


def epoch(moment: datetime | None) -> float | None:
    """Seconds since 1970 (the original's float timestamps)."""
    return None if moment is None else moment.timestamp()


def ticker(stored: Ticker) -> OriginalTicker:
    """`Tick` fields; `time` (epoch float in fullon_cache) as `timestamp`."""
    return OriginalTicker(
        symbol=stored.symbol,
        exchange=stored.exchange,
        price=stored.price,
        volume=stored.volume,
        timestamp=epoch(stored.time),
        bid=stored.bid,
        ask=stored.ask,
        change_24h=0.0,  # not a field of fullon_cache's tickers: the original's default
    )


def balance(user_id: int | str, currency: str, stored: Any) -> OriginalBalance | None:
    """``balance`` (else ``total``) as the total, ``available`` (else ``free``) as available,
    the rest reserved; None when the currency's entry is empty or not an object."""
    if not isinstance(stored, dict) or not stored:
        return None
    total = _number(stored.get("balance")) or _number(stored.get("total")) or 0.0
    available = _number(stored.get("available", stored.get("free"))) or 0.0
    return OriginalBalance(
        user_id=user_id,
        currency=currency,
        total_balance=total,
        available_balance=available,
        reserved_balance=max(total - available, 0.0),
        timestamp=time.time(),
    )


def position(stored: Position, updated_at: datetime | None = None) -> OriginalPosition:
    """Long for volume >= 0, short below; size is the absolute volume; entry and mark price
    are the stored price; pnl is not stored (0.0)."""
    volume = stored.volume or 0.0
    moment = stored.timestamp or updated_at
    return OriginalPosition(
        symbol=stored.symbol,
        exchange=stored.ex_id,
        side="long" if volume >= 0 else "short",
        size=abs(volume),
        entry_price=stored.price,
        mark_price=stored.price,
        pnl=0.0,
        pnl_percent=0.0,
        timestamp=moment.timestamp() if moment is not None else time.time(),
    )


def position_update(stored: Position, updated_at: datetime | None = None) -> PositionUpdate:
    """`position` as pushed by ``stream_positions``."""
    shaped = position(stored, updated_at)
    return PositionUpdate(**{f: getattr(shaped, f) for f in PositionUpdate.__struct_fields__[1:]})


def order(stored: Order, exchange: str) -> OriginalOrder:
    """fullon_cache's decoded order: the stored ``order_id`` is the exchange order id, text
    fields read ``""`` when null; filled = final volume, remaining = volume - filled."""
    filled = stored.final_volume or 0.0
    volume = stored.volume
    stamp = epoch(stored.timestamp)
    stamp = time.time() if stamp is None else stamp
    order_id = stored.stored_order_id
    return OriginalOrder(
        order_id=str(order_id) if order_id is not None else stored.ex_order_id or stored.order_id,
        symbol=stored.symbol or "",
        exchange=exchange,
        side=stored.side or "",
        amount=volume,
        price=stored.price,
        filled=filled,
        remaining=None if volume is None else max(volume - filled, 0.0),
        status=stored.status or "",
        order_type=stored.order_type or "",
        timestamp=stamp,
        last_update=stamp,
    )


def bot_document(bot: Bot) -> dict[str, Any]:
    """The stored bot status document: plain fields, and each feed with its ``timestamp``."""
    document: dict[str, Any] = dict(bot.fields)
    for name, feed in bot.feeds.items():
        data = dict(feed.data)
        if feed.timestamp is not None:
            data["timestamp"] = feed.timestamp.isoformat()
        document[name] = data
    return document


def bot_status(bot: Bot) -> dict[str, Any] | None:
    """``get_bot_status``: the status of the first feed that has one; None for an empty
    document (the original answered BOT_NOT_FOUND)."""
    document = bot_document(bot)
    if not document:
        return None
    status = next((f.data["status"] for f in bot.feeds.values() if "status" in f.data), None)
    return {
        "bot_id": bot.bot_id,
        "status": status or "unknown",
        "data": document,
        "timestamp": time.time(),
    }


def trade(stored: Trade, exchange: str, symbol: str) -> OriginalTrade:
    """A trade's stored fields; its ``time`` as epoch seconds."""
    return OriginalTrade(
        symbol=stored.symbol or symbol,
        exchange=exchange,
        side=stored.side,
        volume=stored.volume,
        price=stored.price,
        timestamp=epoch(stored.time),
        trade_id=stored.trade_id,
    )


def active_process(stored: Process) -> ActiveProcess:
    """The stored process document, its heartbeat (else last update) as `last_seen`."""
    pid = stored.params.get("pid")
    seen = epoch(stored.heartbeat or stored.updated_at)
    return ActiveProcess(
        process_id=stored.process_id,
        name=stored.component,
        status=stored.status,
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        last_seen=time.time() if seen is None else seen,
    )


def system_health(health: ProcessHealth) -> SystemHealth:
    """fullon_cache's dict: our `skipped` count is left out."""
    return SystemHealth(
        healthy=health.healthy,
        total_processes=health.total_processes,
        by_type=health.by_type,
        by_status=health.by_status,
        stale_processes=health.stale_processes,
        error_processes=health.error_processes,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None
