"""Derived views: summaries computed from the cached data (read-only, bounded memory).

This table comes before the domain tables, so ``/tickers/status`` is matched here and not as
the exchange ``status`` (likewise ``/orders/stats``, ``/bots/activity``, ``/accounts/summary``).
Each endpoint's docstring states its formula; it becomes the OpenAPI description. Every view
but ``/status`` has a time budget of the Redis socket timeout: when it runs out the view reads
nothing more and answers what it computed with ``partial: true``.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ..data import DOCUMENT_PAGE, KEY_PAGE
from ..data.views import ViewReader
from ..http import (
    CURSOR,
    EXCHANGE,
    Bound,
    MsgspecResponse,
    Pattern,
    query_int,
    query_text,
)
from ..structs.views import (
    BotActivityList,
    CacheStatus,
    OhlcvStatus,
    OrderStats,
    ProcessMetrics,
    TickerStatus,
    TradeStats,
)
from ..structs.views_portfolio import AccountSummary, PortfolioSummary
from ._common import ApiRoute, is_operator, ownership_of, reader_from

QUOTE = Pattern("quote", r"[A-Za-z0-9][A-Za-z0-9_.\-]*", 20, "currency code (e.g. USDT)")
DEFAULT_QUOTE = "USDT"
# The domains any identity may list: their key counts are not tenant-wide figures.
MARKET_DOMAINS = ("tickers", "ohlcv", "processes")
# Seconds after which a ticker or bot feed counts as stale.
STALE_AFTER = Bound(default=60, minimum=1, maximum=86400)


def _views(request: Request) -> ViewReader:
    return reader_from(request).views


def _page(request: Request, bound: Bound) -> tuple[str | None, int]:
    """The ``cursor`` and ``limit`` query parameters of a paged view."""
    return query_text(request, "cursor", CURSOR), query_int(request, "limit", bound)


async def portfolio(request: Request) -> Response:
    """Portfolio of every account you may read, valued in `quote` (default USDT).

    Per currency: ``value = total * rate`` (``total`` = free + used when absent), ``rate`` = 1
    for the quote, else the price of ``CUR/QUOTE``, else 1 / price of ``QUOTE/CUR``. Per
    position: ``value = volume * price`` and ``unrealized_pnl = value - cost`` in the symbol's
    quote currency (a short's positive cost counts negative), where price = ticker ``last``,
    else mid of ``bid``/``ask``, else ``price``; totals convert them with the rate. Tickers
    come from `exchange`, else from the exchange the account's cached orders name. Sums are
    exact decimals of the stored floats. Entries that cannot be valued carry a `reason` and
    are not summed. A page holds `limit` accounts (default 100, at most 1000; `cursor` = the
    `next_cursor` of the page before) and its sums cover them. Accounts not reached within the
    time budget are left out (``partial: true``).
    """
    quote = query_text(request, "quote", QUOTE) or DEFAULT_QUOTE
    exchange = query_text(request, "exchange", EXCHANGE)
    cursor, limit = _page(request, DOCUMENT_PAGE)
    only = await ownership_of(request)
    views = _views(request)
    summary = await views.portfolio(
        quote=quote, exchange=exchange, only=only, cursor=cursor, limit=limit
    )
    return MsgspecResponse(summary)


async def account_summary(request: Request) -> Response:
    """Portfolio of one account valued in `quote` (default USDT); 404 without data.

    Per currency: ``value = total * rate`` (``total`` = free + used when absent), ``rate`` = 1
    for the quote, else the price of ``CUR/QUOTE``, else 1 / price of ``QUOTE/CUR``. Per
    position: ``value = volume * price`` and ``unrealized_pnl = value - cost`` in the symbol's
    quote currency (a short's positive cost counts negative), where price = ticker ``last``,
    else mid of ``bid``/``ask``, else ``price``; ``ticker_age_seconds = now - ticker time``.
    ``balances_value``, ``positions_value`` and ``unrealized_pnl`` are the exact decimal sums
    of the valued entries, converted with the rate. Tickers come from `exchange`, else from
    the exchange the account's cached orders name; ``partial: true`` when the budget ran out
    during that search. Entries that cannot be valued carry a `reason`, are counted in
    `unvalued` and are not summed.
    """
    ex_id = request.path_params["ex_id"]
    quote = query_text(request, "quote", QUOTE) or DEFAULT_QUOTE
    exchange = query_text(request, "exchange", EXCHANGE)
    only = await ownership_of(request)
    views = _views(request)
    summary = await views.account_summary(ex_id, quote=quote, exchange=exchange, only=only)
    return MsgspecResponse(summary)


async def ticker_status(request: Request) -> Response:
    """Ticker feed status per exchange (SCAN ``tickers:*``).

    ``age = now - ticker.time``; `newest`/`oldest` are the smallest/largest age; `stale`
    counts tickers with ``age > stale_after`` (default 60 s); tickers without a time are
    `undated`, not stale. `skipped` counts ``tickers:`` keys that are not hashes. A page holds
    about `limit` exchanges (default 1000, at most 10000; `cursor` = the `next_cursor` of the
    page before); `count`, `symbols` and `stale` are its totals.
    """
    stale_after = query_int(request, "stale_after", STALE_AFTER)
    cursor, limit = _page(request, KEY_PAGE)
    status = await _views(request).ticker_status(stale_after, cursor=cursor, limit=limit)
    return MsgspecResponse(status)


async def ohlcv_status(request: Request) -> Response:
    """Freshness per OHLCV series (SCAN ``ohlcv:*``).

    ``age = now - last bar time`` (ms stamps detected above 1e11); ``interval`` from the
    timeframe (``s m h d w``; ``M`` = 30 d, ``y`` = 365 d); ``missing_bars = max(0,
    floor(age / interval) - 1)``, the bars opened after the last stored one that have closed
    since; ``stale = missing_bars > 0``. `skipped` counts ``ohlcv:`` keys that are not lists.
    A page holds about `limit` series (default 1000, at most 10000; `cursor` = the
    `next_cursor` of the page before); `count` and `stale` are its totals.
    """
    cursor, limit = _page(request, KEY_PAGE)
    return MsgspecResponse(await _views(request).ohlcv_status(cursor=cursor, limit=limit))


async def order_stats(request: Request) -> Response:
    """Per order hash: counts by status and side; open volume per symbol.

    Open = status (case-insensitive) in new, open, pending, partially_filled;
    ``open_volume[symbol] = sum(volume)`` of open orders (exact decimal sum). Plus every
    ``new_orders:*`` queue length (admins only; nothing is popped). `skipped` counts keys of
    another Redis type. A page holds about `limit` keys, hashes first, then queues (default
    1000, at most 10000; `cursor` = the `next_cursor` of the page before); `count`, `orders`,
    `queue_count` and `queued` are its totals.
    """
    cursor, limit = _page(request, KEY_PAGE)
    only = await ownership_of(request)
    stats = await _views(request).order_stats(only=only, cursor=cursor, limit=limit)
    return MsgspecResponse(stats)


async def trade_stats(request: Request) -> Response:
    """Per trade queue (``trades:*``, ``user_trades:*``), peeked with LRANGE, never consumed.

    `length` = LLEN; oldest/newest = min/max trade ``time``; buy/sell counts and
    ``sum(volume)`` per side (exact); `status_age_seconds` = now - ``TRADE:STATUS:{exchange}``.
    At most the newest 100000 trades per queue are read (then the queue's `partial`), 1000 per
    LRANGE (``FULLON_CACHE_API_READ_CHUNK``). `skipped` counts keys of another Redis type.
    A page holds about `limit` keys: ``trades:*``, then ``user_trades:*`` queues, then (admins)
    ``TRADE:STATUS:*`` marks (default 1000, at most 10000; `cursor` = the `next_cursor` of the
    page before); `count` and `trades` are its totals.
    """
    cursor, limit = _page(request, KEY_PAGE)
    only = await ownership_of(request)
    stats = await _views(request).trade_stats(only=only, cursor=cursor, limit=limit)
    return MsgspecResponse(stats)


async def bot_activity(request: Request) -> Response:
    """Per bot: feeds with ``age = now - feed timestamp``, blocks held, opening positions.

    A feed is stale when ``age > stale_after`` (default 60 s); a bot is stale when its newest
    feed is (or it has none). Bots that only appear in blocks or marks have `known` false. A
    page holds `limit` bots (default 100, at most 1000; `cursor` = the `next_cursor` of the page
    before): those with a status document first (a page of ``bot_status``, as ``/bots``), then
    those with marks only, by bot id; `count` and `stale` are its totals.
    """
    stale_after = query_int(request, "stale_after", STALE_AFTER)
    cursor, limit = _page(request, DOCUMENT_PAGE)
    only = await ownership_of(request)
    views = _views(request)
    activity = await views.bot_activity(stale_after, only=only, cursor=cursor, limit=limit)
    return MsgspecResponse(activity)


async def process_metrics(request: Request) -> Response:
    """fullon_cache's ``get_metrics`` plus status counts and the oldest heartbeat.

    ``active_by_type[t] = HLEN process:active:{t}``; ``active_processes`` = their sum;
    ``components = HLEN process:components``; ``total_processes`` = keys found by SCAN
    ``process:data:*``; `by_status` counts those documents by status; the oldest heartbeat is
    the minimum over them. `skipped` counts invalid documents and keys of another Redis type.
    """
    return MsgspecResponse(await _views(request).process_metrics())


async def cache_status(request: Request) -> Response:
    """Redis INFO (version, uptime, memory, clients, ops/s) and key counts per domain.

    Keys are counted by one SCAN (COUNT 1000, the read chunk) classified by fullon_cache prefix;
    it stops after half the Redis socket timeout (at most 2 s) and then says ``partial: true``.
    INFO and the counts of every domain are for operators (admins, API keys flagged ``:ops``);
    anyone else gets view ``market``: no INFO, the tickers, ohlcv and processes counts.
    """
    status = await _views(request).cache_status()
    return MsgspecResponse(status if is_operator(request) else market_view(status))


def market_view(status: CacheStatus) -> CacheStatus:
    """`status` as a non-operator sees it: what any identity could count by listing."""
    counts = {domain: status.keys_by_domain.get(domain, 0) for domain in MARKET_DOMAINS}
    return msgspec.structs.replace(
        status, redis=None, keys_by_domain=counts, scanned=sum(counts.values()), view="market"
    )


_PORTFOLIO_QUERY: dict[str, Pattern | Bound] = {"quote": QUOTE, "exchange": EXCHANGE}
_KEYS: dict[str, Pattern | Bound] = {"limit": KEY_PAGE, "cursor": CURSOR}
_DOCUMENTS: dict[str, Pattern | Bound] = {"limit": DOCUMENT_PAGE, "cursor": CURSOR}

routes = [
    ApiRoute("/status", cache_status, response=CacheStatus),
    ApiRoute(
        "/accounts/summary",
        portfolio,
        response=PortfolioSummary,
        query={**_PORTFOLIO_QUERY, **_DOCUMENTS},
        access="private",
        ages=True,
    ),
    ApiRoute(
        "/accounts/{ex_id}/summary",
        account_summary,
        response=AccountSummary,
        query=_PORTFOLIO_QUERY,
        access="private",
        ages=True,
    ),
    ApiRoute(
        "/tickers/status",
        ticker_status,
        response=TickerStatus,
        query={"stale_after": STALE_AFTER, **_KEYS},
        ages=True,
    ),
    ApiRoute("/ohlcv/status", ohlcv_status, response=OhlcvStatus, query=_KEYS, ages=True),
    ApiRoute("/orders/stats", order_stats, response=OrderStats, query=_KEYS, access="private"),
    ApiRoute(
        "/trades/stats",
        trade_stats,
        response=TradeStats,
        query=_KEYS,
        access="private",
        ages=True,
    ),
    ApiRoute(
        "/bots/activity",
        bot_activity,
        response=BotActivityList,
        query={"stale_after": STALE_AFTER, **_DOCUMENTS},
        access="private",
        ages=True,
    ),
    ApiRoute("/processes/metrics", process_metrics, response=ProcessMetrics, ages=True),
]
