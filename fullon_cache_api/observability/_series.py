"""Labelled counters and histograms for the per-request path, exposed through a
prometheus_client collector.

prometheus_client takes a lock per update and walks a histogram's buckets in Python: about
1 us per counter increment and 2 us per histogram observation, and a request makes four.
Every update here comes from the event loop's thread, so plain numbers suffice (about
0.1-0.3 us). Scrapes see exactly what prometheus_client's Counter and Histogram would show:
``_total`` and ``_created`` samples; ``_bucket``, ``_count``, ``_sum`` and ``_created``.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import metrics as prometheus_metrics
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import INF, floatToGoString

__all__ = ["Count", "CounterFamily", "HistogramFamily", "Series", "Timing"]

# prometheus_client's default buckets (Histogram.DEFAULT_BUCKETS).
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


def _created_shown() -> bool:
    # prometheus_client's switch (PROMETHEUS_DISABLE_CREATED_SERIES, disable_created_metrics).
    return bool(getattr(prometheus_metrics, "_use_created", True))


class Count:
    """One counter series."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1.0) -> None:
        """Add `amount` (1 by default)."""
        self.value += amount


class Timing:
    """One histogram series: a count per bucket (not cumulative) and the sum."""

    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds  # ends with +Inf
        self.counts = [0] * len(bounds)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, amount: float) -> None:
        """Record one value (prometheus' rule: the first bucket whose bound is >= it)."""
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


class CounterFamily:
    """A labelled counter (the name without ``_total``)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name, self.documentation = name, documentation
        self.labelnames = tuple(labelnames)
        self.children: dict[tuple[str, ...], Count] = {}

    def labels(self, *values: str) -> Count:
        """The series of these label values (created on first use)."""
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = Count()
        return child

    def collect(self) -> Metric:
        """The family as prometheus_client's Counter would expose it."""
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        created = _created_shown()
        for values, child in list(self.children.items()):
            family.add_metric(values, child.value, created=child.created if created else None)
        return family


class HistogramFamily:
    """A labelled histogram."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        self.name, self.documentation = name, documentation
        self.labelnames = tuple(labelnames)
        bounds = tuple(float(bound) for bound in buckets)
        self.bounds = bounds if bounds and bounds[-1] == INF else (*bounds, INF)
        self.children: dict[tuple[str, ...], Timing] = {}

    def labels(self, *values: str) -> Timing:
        """The series of these label values (created on first use)."""
        child = self.children.get(values)
        if child is None:
            child = self.children[values] = Timing(self.bounds)
        return child

    def collect(self) -> Metric:
        """The family as prometheus_client's Histogram would expose it."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        created = _created_shown()
        for values, child in list(self.children.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip(self.bounds, child.counts, strict=True):
                cumulative += count
                le = floatToGoString(bound)  # type: ignore[no-untyped-call]  # untyped upstream
                buckets.append((le, cumulative))
            family.add_metric(values, buckets, child.sum)
            if created:
                labels = dict(zip(self.labelnames, values, strict=True))
                family.samples.append(Sample(self.name + "_created", labels, child.created))
        return family


class Series(Collector):
    """The collector that shows some families in a registry."""

    def __init__(self, *families: CounterFamily | HistogramFamily) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield family.collect()
