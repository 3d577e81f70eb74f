"""Structs of the derived views: freshness, statistics, bot activity, process metrics, status.

The portfolio view's structs are in ``views_portfolio``. Ages are seconds before the request
(negative when a writer's clock runs ahead); amounts follow the portfolio's exact-sum policy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from .orders import OrderQueue

__all__ = [
    "BotActivity",
    "BotActivityList",
    "BotFeedActivity",
    "BotHold",
    "CacheStatus",
    "OhlcvFreshness",
    "OhlcvStatus",
    "OrderKeyStats",
    "OrderStats",
    "ProcessMetrics",
    "RedisInfo",
    "TickerFeedStatus",
    "TickerStatus",
    "TradeQueueStats",
    "TradeStats",
    "TradeStatusAge",
]


class TickerFeedStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The ticker feed of one exchange: how many symbols, how fresh, how many stale.

    `stale` counts tickers older than `stale_after`; `undated` those without a readable time
    (not counted as stale); `skipped` those whose JSON is corrupt. `stale_symbols` lists up to
    100 stale symbols, by name.
    """

    exchange: str
    symbols: int
    stale: int
    undated: int
    skipped: int
    newest_age_seconds: float | None
    oldest_age_seconds: float | None
    newest_time: datetime | None
    oldest_time: datetime | None
    stale_symbols: list[str]


class TickerStatus(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Ticker subscription status of a page of the exchanges found by scanning ``tickers:*``.

    `count`, `symbols` and `stale` are totals over this page's exchanges; `skipped` counts
    the page's ``tickers:`` keys of another Redis type than hash. `next_cursor` fetches the next
    page (null: this was the last); `partial` says the time budget ran out before every
    exchange of the page was read whole.
    """

    stale_after: int
    count: int
    symbols: int
    stale: int
    skipped: int
    partial: bool
    next_cursor: str | None = None
    exchanges: list[TickerFeedStatus]


class OhlcvFreshness(msgspec.Struct, frozen=True, kw_only=True):
    """Freshness of one bar series; interval, missing bars and stale are null when unknown."""

    symbol: str
    timeframe: str
    bars: int
    last: int | float | None
    unit: Literal["s", "ms"] | None
    last_time: datetime | None
    age_seconds: float | None
    interval_seconds: int | None
    missing_bars: int | None
    stale: bool | None


class OhlcvStatus(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Freshness of a page of the series found by scanning ``ohlcv:*``, sorted by key.

    `count` and `stale` are totals over this page; `skipped` counts the page's ``ohlcv:`` keys
    of another Redis type than list. `next_cursor` fetches the next page (null: this was the
    last); `partial` says the time budget ran out before every series of the page was read.
    """

    count: int
    stale: int
    skipped: int
    partial: bool
    next_cursor: str | None = None
    series: list[OhlcvFreshness]


class OrderKeyStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counts of one ``order_status:{key}`` hash by status and side, and its open volume.

    `open_volume` maps each symbol to the summed `volume` of its open orders; `open_unsized`
    counts open orders without a numeric volume (not summed).
    """

    key: str
    orders: int
    skipped: int
    ttl_seconds: int | None
    by_status: dict[str, int]
    by_side: dict[str, int]
    open_orders: int
    open_unsized: int
    open_volume: dict[str, float]


class OrderStats(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Order statistics of a page of the visible order hashes, then of the open-order queues.

    A page holds about `limit` keys: ``order_status:*`` hashes first, then (admins)
    ``new_orders:*`` queues; `count`/`orders` and `queue_count`/`queued` are totals over this
    page's hashes and queues. `skipped` counts the page's keys of another Redis type (not a
    hash, not a list). `next_cursor` fetches the next page (null: this was the last).
    `partial` is true when the view's time budget (the Redis socket timeout) ran out: the
    answer covers what was read until then.
    """

    count: int
    orders: int
    keys: list[OrderKeyStats]
    queue_count: int
    queued: int
    skipped: int
    partial: bool
    next_cursor: str | None = None
    queues: list[OrderQueue]


class TradeQueueStats(msgspec.Struct, frozen=True, kw_only=True):
    """One trade queue, peeked (never consumed): size, time span, buy/sell counts and volumes.

    `kind` is ``trades`` (``trades:{exchange}:{symbol_key}``) or ``user_trades``
    (``user_trades:{uid}:{exchange}``). `scanned` trades were read; `partial` says the queue is
    longer than the scan cap and only its newest trades were read. `other` counts trades whose
    side is neither buy nor sell, `skipped` corrupt ones. `status_age_seconds` is the age of
    ``TRADE:STATUS:{exchange}``.
    """

    key: str
    kind: Literal["trades", "user_trades"]
    exchange: str
    symbol_key: str | None
    uid: str | None
    length: int
    scanned: int
    partial: bool
    skipped: int
    oldest_time: datetime | None
    newest_time: datetime | None
    buy_count: int
    buy_volume: float
    sell_count: int
    sell_volume: float
    other: int
    status_age_seconds: float | None


class TradeStatusAge(msgspec.Struct, frozen=True, kw_only=True):
    """A ``TRADE:STATUS:{key}`` mark and its age (null time when unreadable)."""

    key: str
    updated_at: datetime | None
    age_seconds: float | None


class TradeStats(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Statistics of a page of the visible trade queues, then (admins) of the status marks.

    A page holds about `limit` keys: ``trades:*`` queues, then ``user_trades:*`` queues, then
    (admins) ``TRADE:STATUS:*`` marks; `count` and `trades` are totals over this page's
    queues. `skipped` counts the page's keys of another Redis type (not a list, not a string).
    `next_cursor` fetches the next page (null: this was the last). `partial` is true when the
    view's time budget (the Redis socket timeout) ran out: the answer covers what was read
    until then.
    """

    count: int
    trades: int
    skipped: int
    partial: bool
    next_cursor: str | None = None
    queues: list[TradeQueueStats]
    statuses: list[TradeStatusAge]


class BotFeedActivity(msgspec.Struct, frozen=True, kw_only=True):
    """One feed of a bot and the age of its last update."""

    name: str
    updated: datetime | None
    age_seconds: float | None
    stale: bool


class BotHold(msgspec.Struct, frozen=True, kw_only=True):
    """An exchange/symbol pair a bot blocks or is opening a position on (`since` if known)."""

    ex_id: str
    symbol: str
    since: datetime | None
    age_seconds: float | None


class BotActivity(msgspec.Struct, frozen=True, kw_only=True):
    """One bot: its feeds, the blocks it holds, its opening positions and a stale flag.

    `stale` is true when no feed was updated within `stale_after` (or the bot has no status
    document at all, `known` false, yet holds blocks or marks).
    """

    bot_id: str
    known: bool
    updated: datetime | None
    age_seconds: float | None
    stale: bool
    feeds: list[BotFeedActivity]
    blocks: list[BotHold]
    opening_positions: list[BotHold]


class BotActivityList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Activity of a page of the visible bots, sorted by bot id within the page.

    Pages list the bots with a status document (a page of ``bot_status``, as ``/bots``), then
    the bots that only hold blocks or opening marks (`known` false), by bot id. `count` and
    `stale` are totals over this page; `skipped` counts its corrupt status documents.
    `next_cursor` fetches the next page (null: this was the last). `partial` is true when the
    view's time budget (the Redis socket timeout) ran out and the answer covers only what was
    read until then.
    """

    stale_after: int
    count: int
    stale: int
    skipped: int
    partial: bool
    next_cursor: str | None = None
    bots: list[BotActivity]


class ProcessMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """fullon_cache's ``get_metrics`` plus counts by status and the oldest heartbeat.

    `active_by_type` holds get_metrics' ``active_{type}`` values (every ProcessType, plus any
    other type found); `by_status` and the heartbeat fields come from the ``process:data:*``
    documents, `skipped` counts those that are not valid JSON and ``process:`` keys of another
    Redis type. `partial` is true when the view's time budget (the Redis socket timeout) ran
    out: the answer covers what was read until then.
    """

    total_processes: int
    active_processes: int
    components: int
    active_by_type: dict[str, int]
    by_status: dict[str, int]
    oldest_heartbeat: datetime | None
    oldest_heartbeat_age_seconds: float | None
    oldest_heartbeat_process: str | None
    skipped: int
    partial: bool


class RedisInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What Redis says about itself (``INFO``)."""

    version: str | None
    uptime_seconds: int | None
    used_memory: int | None
    used_memory_human: str | None
    connected_clients: int | None
    ops_per_second: int | None
    keyspace: dict[str, int]


class CacheStatus(msgspec.Struct, frozen=True, kw_only=True):
    """System-wide status: Redis INFO and key counts per fullon_cache domain.

    Keys are counted by one incremental SCAN bounded by `budget_ms`; `partial` is true when
    the budget ran out before the scan finished (the counts then cover `scanned` keys).
    `view` is ``operations`` for operators (admins, API keys flagged ``:ops``): INFO and every
    domain. Anyone else gets view ``market``: `redis` null, and only the domains any identity
    may list (tickers, ohlcv, processes), `scanned` being their sum.
    """

    redis: RedisInfo | None
    keys_by_domain: dict[str, int]
    scanned: int
    partial: bool
    budget_ms: float
    elapsed_ms: float
    view: Literal["operations", "market"] = "operations"
