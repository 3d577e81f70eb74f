"""Domain gauges: the cache's own health (ticker freshness, process heartbeats, queue lengths,
OHLCV staleness, Redis reachability) in ``/metrics``, computed in the background by one
collector at most once per interval, never on the scrape path.

`install` builds an app's collector and shows it in the app's metrics registry; the app's
lifespan calls `GaugeCollector.aclose`. See docs/operations.md for the series and their
labels.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from ._collector import PARTS, GaugeCollector
from ._export import GaugeExport, refused_streams
from ._settings import GaugeSettings
from ._snapshot import OTHER, Snapshot

__all__ = ["OTHER", "PARTS", "GaugeCollector", "GaugeSettings", "Snapshot", "install"]


def install(app: Any, registry: CollectorRegistry, settings: GaugeSettings) -> GaugeCollector:
    """The collector of `app` (over its reader), shown in `registry`; nothing starts yet."""
    collector = GaugeCollector(app.state.reader, settings)
    registry.register(GaugeExport(collector, refused_streams(app)))
    return collector
