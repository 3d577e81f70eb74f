"""Endpoints any authenticated identity may read: tickers, OHLCV, processes, health, and the
market views. Named after fullon_cache's readers where one exists."""

from __future__ import annotations

from ..structs.health import Health
from ..structs.ohlcv import OhlcvSeries, OhlcvSeriesList
from ..structs.processes import Process, ProcessHealth, ProcessList, ProcessStatus
from ..structs.tickers import ExchangeTickers, Ticker, TickerExchanges
from ..structs.views import (
    CacheStatus,
    OhlcvFreshness,
    OhlcvStatus,
    ProcessMetrics,
    TickerFeedStatus,
    TickerStatus,
)
from ._endpoints import get, listed
from ._request import Params
from ._types import Bar, BarPage, TickerPage

__all__ = ["MarketEndpoints"]

Cursor = str | None


class MarketEndpoints:
    """Tickers, OHLCV, processes, health and the market views."""

    @get("/health", Health)
    def health() -> Params:
        """Redis reachability and latency, the gateway's version (fullon_cache's ``test``)."""
        return {}

    @get("/status", CacheStatus)
    def status() -> Params:
        """Redis INFO and key counts per domain (operators; others: the market view)."""
        return {}

    @get("/openapi.json", dict)
    def openapi() -> Params:
        """The gateway's OpenAPI document."""
        return {}

    @get("/metrics", str)
    def metrics() -> Params:
        """The Prometheus metrics, as text."""
        return {}

    @listed("/tickers", TickerExchanges, "exchanges", ExchangeTickers)
    def exchanges(limit: int | None = None, cursor: Cursor = None) -> Params:
        """The exchanges that have tickers, with their ticker count."""
        return {"limit": limit, "cursor": cursor}

    @listed("/tickers/{exchange}", TickerPage, "tickers", Ticker)
    def tickers(exchange: str, limit: int | None = None, cursor: Cursor = None) -> Params:
        """The tickers of one exchange, sorted by symbol (fullon_cache's ``get_tickers``)."""
        return {"exchange": exchange, "limit": limit, "cursor": cursor}

    @get("/tickers/{exchange}/{symbol:path}", Ticker)
    def ticker(exchange: str, symbol: str) -> Params:
        """One ticker with its age (fullon_cache's ``get_ticker``)."""
        return {"exchange": exchange, "symbol": symbol}

    @listed("/tickers/status", TickerStatus, "exchanges", TickerFeedStatus)
    def ticker_status(
        stale_after: int | None = None, limit: int | None = None, cursor: Cursor = None
    ) -> Params:
        """Ticker feed freshness per exchange (a view)."""
        return {"stale_after": stale_after, "limit": limit, "cursor": cursor}

    @listed("/ohlcv", OhlcvSeriesList, "series", OhlcvSeries)
    def ohlcv_series(limit: int | None = None, cursor: Cursor = None) -> Params:
        """Every cached bar series with its bar count and end times."""
        return {"limit": limit, "cursor": cursor}

    @listed("/ohlcv/{symbol:path}/{timeframe}", BarPage, "bars", Bar)
    def ohlcv(
        symbol: str, timeframe: str, limit: int | None = None, cursor: Cursor = None
    ) -> Params:
        """The newest bars of a series, oldest first; further pages are older bars."""
        return {"symbol": symbol, "timeframe": timeframe, "limit": limit, "cursor": cursor}

    @listed("/ohlcv/status", OhlcvStatus, "series", OhlcvFreshness)
    def ohlcv_status(limit: int | None = None, cursor: Cursor = None) -> Params:
        """Freshness per OHLCV series: age and missing bars (a view)."""
        return {"limit": limit, "cursor": cursor}

    @listed("/processes", ProcessList, "processes", Process)
    def processes(
        process_type: str | None = None,
        component: str | None = None,
        since_minutes: int | None = None,
        limit: int | None = None,
        cursor: Cursor = None,
    ) -> Params:
        """Active processes, newest update first (fullon_cache's ``get_active_processes``)."""
        return {
            "type": process_type,
            "component": component,
            "since_minutes": since_minutes,
            "limit": limit,
            "cursor": cursor,
        }

    @get("/processes/health", ProcessHealth)
    def process_health() -> Params:
        """The system health summary (fullon_cache's ``get_system_health``)."""
        return {}

    @get("/processes/status", ProcessStatus)
    def process_status(since_minutes: int | None = None) -> Params:
        """Active processes at a glance, with the health summary."""
        return {"since_minutes": since_minutes}

    @get("/processes/metrics", ProcessMetrics)
    def process_metrics() -> Params:
        """fullon_cache's ``get_metrics`` plus status counts (a view)."""
        return {}

    @get("/processes/{process_id:path}", Process)
    def process(process_id: str, since_minutes: int | None = None) -> Params:
        """One process document (fullon_cache's ``get_process``)."""
        return {"process_id": process_id, "since_minutes": since_minutes}
