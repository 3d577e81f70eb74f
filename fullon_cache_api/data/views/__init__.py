"""Derived views: summaries computed from the cached data, read-only and in bounded memory.

Each view reuses the domain readers' decoders, reads big hashes in HSCAN pages and lists in
LRANGE windows (never popping), and sums money exactly (see ``_scan``). Each has a time budget
(by default the Redis socket timeout): once it is spent the view reads nothing more and answers
what it computed with ``partial: true``.
"""

from __future__ import annotations

from ...backend import CacheClient
from ...security import Ownership
from ...structs.views import (
    BotActivityList,
    CacheStatus,
    OhlcvStatus,
    OrderStats,
    ProcessMetrics,
    TickerStatus,
    TradeStats,
)
from ...structs.views_portfolio import AccountSummary, PortfolioSummary
from .._base import NO_TIMERS
from .._instrument import timed_read
from .._limits import DEFAULT_LIMITS, ReadLimits
from .._pages import DOCUMENT_PAGE, KEY_PAGE
from ._scan import Deadline
from .activity import ActivityReader
from .freshness import FreshnessReader
from .order_stats import OrderStatsReader
from .portfolio import PortfolioReader
from .stats import StatsReader
from .status import StatusReader

__all__ = ["ViewReader", "status_budget"]

# The /status scan stops after this share of the socket timeout (and never after more than
# _MAX_BUDGET seconds), so the view answers well before a client-side timeout.
_BUDGET_SHARE = 0.5
_MAX_BUDGET = 2.0


def status_budget(limits: ReadLimits) -> float:
    """Seconds the /status key count may take: half the socket timeout, at most 2 s."""
    return min(_MAX_BUDGET, limits.socket_timeout * _BUDGET_SHARE)


class ViewReader:
    """Every derived view, one method each (``reader.views.ticker_status(60)``)."""

    read_timers = NO_TIMERS  # its views are timed as ``views.<name>`` (`timed_read`)

    def __init__(self, redis: CacheClient, limits: ReadLimits = DEFAULT_LIMITS) -> None:
        self.redis = redis
        self.limits = limits
        self._portfolio = PortfolioReader(redis, limits)
        self._freshness = FreshnessReader(redis, limits)
        self._stats = StatsReader(redis, limits)
        self._order_stats = OrderStatsReader(redis, limits)
        self._activity = ActivityReader(redis, limits)
        self._status = StatusReader(redis, limits)

    def _deadline(self, budget: float | None) -> Deadline:
        """The budget of one view: `budget` seconds, by default the Redis socket timeout."""
        return Deadline(self.limits.socket_timeout if budget is None else budget)

    @timed_read
    async def portfolio(
        self,
        *,
        quote: str,
        exchange: str | None,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = DOCUMENT_PAGE.default,
        budget: float | None = None,
    ) -> PortfolioSummary:
        """Portfolio of a page of the visible accounts (`only`: the ex_ids a non-admin owns)."""
        return await self._portfolio.all(
            quote=quote,
            exchange=exchange,
            only=only,
            deadline=self._deadline(budget),
            cursor=cursor,
            limit=limit,
        )

    @timed_read
    async def account_summary(
        self,
        ex_id: str,
        *,
        quote: str,
        exchange: str | None,
        only: Ownership | None = None,
        budget: float | None = None,
    ) -> AccountSummary:
        """Portfolio of one account; an account not owned reads as absent (404)."""
        return await self._portfolio.one(
            ex_id, quote=quote, exchange=exchange, only=only, deadline=self._deadline(budget)
        )

    @timed_read
    async def ticker_status(
        self,
        stale_after: int,
        *,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
        budget: float | None = None,
    ) -> TickerStatus:
        """Ticker feed status of a page of exchanges."""
        deadline = self._deadline(budget)
        return await self._freshness.tickers(stale_after, deadline, cursor=cursor, limit=limit)

    @timed_read
    async def ohlcv_status(
        self,
        *,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
        budget: float | None = None,
    ) -> OhlcvStatus:
        """Freshness of a page of OHLCV series."""
        return await self._freshness.ohlcv(self._deadline(budget), cursor=cursor, limit=limit)

    @timed_read
    async def order_stats(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
        budget: float | None = None,
    ) -> OrderStats:
        """Order counts of a page of hashes, then queue lengths (`only`: what a non-admin
        owns)."""
        deadline = self._deadline(budget)
        return await self._order_stats.orders(
            only=only, deadline=deadline, cursor=cursor, limit=limit
        )

    @timed_read
    async def trade_stats(
        self,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = KEY_PAGE.default,
        budget: float | None = None,
    ) -> TradeStats:
        """Statistics of a page of trade queues (peeked, never consumed), then status marks."""
        deadline = self._deadline(budget)
        return await self._stats.trades(only=only, deadline=deadline, cursor=cursor, limit=limit)

    @timed_read
    async def bot_activity(
        self,
        stale_after: int,
        *,
        only: Ownership | None = None,
        cursor: str | None = None,
        limit: int = DOCUMENT_PAGE.default,
        budget: float | None = None,
    ) -> BotActivityList:
        """Feeds, blocks and opening positions of a page of bots."""
        deadline = self._deadline(budget)
        return await self._activity.bots(
            stale_after, only=only, deadline=deadline, cursor=cursor, limit=limit
        )

    @timed_read
    async def process_metrics(self, *, budget: float | None = None) -> ProcessMetrics:
        """fullon_cache's get_metrics plus status counts and the oldest heartbeat."""
        return await self._status.process_metrics(self._deadline(budget))

    @timed_read
    async def cache_status(self, budget: float | None = None) -> CacheStatus:
        """Redis INFO and key counts per domain (`budget` seconds; default `status_budget`)."""
        return await self._status.cache_status(
            status_budget(self.limits) if budget is None else budget
        )
