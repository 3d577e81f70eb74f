"""`GaugeExport`: the collector's last snapshot and its own health, as Prometheus families.

Rendering reads memory only (never Redis). Ages are computed here, at scrape time, from the
timestamps a run stored. Series, all prefixed ``fullon_cache_api_``:

- the snapshot's families (``tickers{exchange}``, ``processes_stale{process_type}``...; see
  `_parts`), ``redis_up`` and ``redis_ping_seconds`` (the run's PING);
- the collector's health: ``gauges_runs_total{result}`` (ok, partial, failed),
  ``gauges_last_run_duration_seconds``, ``gauges_last_success_timestamp_seconds`` (0 before
  the first success), ``gauges_snapshot_age_seconds``, and per part
  ``gauges_truncated{part}`` (1: cut by its time share or the label cap) and
  ``gauges_skipped_entries{part}`` (unreadable or mistyped entries left out);
- ``streams_refused_total``: streams refused past the admission limits (from the hub).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ._collector import PARTS, RESULTS, GaugeCollector
from ._snapshot import Family

__all__ = ["GaugeExport"]

_NS = "fullon_cache_api_"


class GaugeExport(Collector):
    """Shows `collector`'s snapshot in a registry; each render starts the collector if needed."""

    def __init__(self, collector: GaugeCollector, refused: Callable[[], int]) -> None:
        self.collector = collector
        self.refused = refused

    def describe(self) -> list[Metric]:
        # Registration must not render (it would start the collector outside a scrape).
        return []

    def collect(self) -> Iterator[Metric]:
        collector = self.collector
        collector.ensure()  # the first scrape starts the runs; this one shows what exists
        now = time.time()
        yield from _health(collector, now)
        refused = CounterMetricFamily(
            _NS + "streams_refused",
            "Streams refused past a stream limit (SSE 429, WebSocket error or close 1013).",
        )
        refused.add_metric([], float(self.refused()))
        yield refused
        snapshot = collector.snapshot
        if snapshot is None:
            return
        yield _gauge(
            "redis_up",
            "1 when Redis answered the collector's last PING, else 0.",
            float(snapshot.redis_up),
        )
        if snapshot.ping_seconds is not None:
            yield _gauge(
                "redis_ping_seconds",
                "Round trip of the collector's last PING.",
                snapshot.ping_seconds,
            )
        for part in snapshot.parts.values():
            for family in part.families:
                yield _family(family, now)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(_NS + name, documentation, value=value)


def _family(family: Family, now: float) -> GaugeMetricFamily:
    shown = GaugeMetricFamily(_NS + family.name, family.documentation, labels=family.labels)
    for labels, value in sorted(family.values.items()):
        shown.add_metric(list(labels), round(now - value, 3) if family.ages else value)
    return shown


def _health(collector: GaugeCollector, now: float) -> Iterator[Metric]:
    runs = CounterMetricFamily(
        _NS + "gauges_runs", "Runs of the gauges collector, by result.", labels=["result"]
    )
    for result in RESULTS:
        runs.add_metric([result], float(collector.runs[result]))
    yield runs
    if collector.last_duration is not None:
        yield _gauge(
            "gauges_last_run_duration_seconds",
            "Duration of the collector's last run.",
            collector.last_duration,
        )
    yield _gauge(
        "gauges_last_success_timestamp_seconds",
        "When the collector last read the cache (Unix time; 0: never).",
        collector.last_success or 0.0,
    )
    snapshot = collector.snapshot
    if snapshot is None:
        return
    yield _gauge(
        "gauges_snapshot_age_seconds",
        "Age of the snapshot this scrape shows.",
        round(now - snapshot.taken_at, 3),
    )
    truncated = GaugeMetricFamily(
        _NS + "gauges_truncated",
        "1 when the part's last run stopped at its time share or folded labels into 'other'.",
        labels=["part"],
    )
    skipped = GaugeMetricFamily(
        _NS + "gauges_skipped_entries",
        "Entries the part's last run left out (unreadable, or of another Redis type).",
        labels=["part"],
    )
    for name in PARTS:
        part = snapshot.parts.get(name)
        if part is not None:
            truncated.add_metric([name], float(part.truncated))
            skipped.add_metric([name], float(part.skipped))
    yield truncated
    yield skipped


def refused_streams(app: Any) -> Callable[[], int]:
    """How many streams `app`'s hub refused so far."""
    admission = app.state.hub.admission
    return lambda: int(admission.refused)
