"""Settings of the domain gauges collector, read from ``FULLON_CACHE_API_GAUGES_*``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import msgspec

from .._settings import SettingsError, struct_from_env

__all__ = ["GaugeSettings"]

# Environment variable -> field, read only by `GaugeSettings.from_env`.
_ENV = {
    "FULLON_CACHE_API_GAUGES_INTERVAL": "interval",
    "FULLON_CACHE_API_GAUGES_BUDGET": "budget",
    "FULLON_CACHE_API_GAUGES_TICKER_STALE": "ticker_stale",
    "FULLON_CACHE_API_GAUGES_PROCESS_STALE": "process_stale",
    "FULLON_CACHE_API_GAUGES_MAX_LABELS": "max_labels",
}

_TOO_LONG = (
    "FULLON_CACHE_API_GAUGES_BUDGET={budget:g} is invalid: it must not exceed "
    "FULLON_CACHE_API_GAUGES_INTERVAL={interval:g} (a run ends before the next is due)"
)


class GaugeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the collector runs; durations in seconds.

    `interval`: a run starts at most once per interval. `budget`: the Redis time one run may
    spend, shared equally by its four parts (tickers, processes, queues, OHLCV); a part past
    its share reports what it read so far and says it was truncated. `ticker_stale`: a ticker
    older than this is stale. `process_stale`: a process whose heartbeat is older than this (or
    missing) is stale. `max_labels`: distinct values one label (exchange, process type,
    timeframe) may take; values past it are summed under ``other``.
    """

    interval: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] = 5.0
    budget: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    ticker_stale: Annotated[int, msgspec.Meta(ge=1, le=86400 * 7)] = 60
    process_stale: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 300.0
    max_labels: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100

    def __post_init__(self) -> None:
        if self.budget > self.interval:
            raise SettingsError(_TOO_LONG.format(budget=self.budget, interval=self.interval))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GaugeSettings:
        """Read ``FULLON_CACHE_API_GAUGES_*`` from `environ` (default ``os.environ``).

        An invalid value raises `SettingsError` naming the variable (one line).
        """
        return struct_from_env(cls, _ENV, environ)
