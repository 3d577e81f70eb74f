"""The four parts of a collector run, each over the data layer's own readers and bounds.

Tickers and OHLCV series come from the freshness views (`FreshnessReader`: SCAN pages, HSCAN
replies of `chunk` fields, a deadline), processes from `ProcessReader`'s walk of the active
hashes (HSCAN + MGET per reply, within its read budget), trade queues from `QueueReader` pages
(LLEN, nothing popped), open-order queues from a typed SCAN and pipelined LLEN. Every value is
aggregated under bounded labels as it is read: no per-symbol or per-id series, no key list
kept beyond one SCAN page.
"""

from __future__ import annotations

import time
from contextlib import aclosing

from ..data import KEY_PAGE, BaseReader, Deadline, ProcessReader, QueueReader, pipelined
from ..data.processes import HEALTH_WINDOW_MINUTES
from ..data.views.freshness import FreshnessReader
from ..data.views.status import PROCESS_TYPES
from ..structs.processes import Process
from ._settings import GaugeSettings
from ._snapshot import Family, Labels, PartResult

__all__ = ["ProcessWalk", "ohlcv", "order_queue", "tickers", "trade_queues"]

_PAGE = KEY_PAGE.maximum  # keys per page of a view: the deadline, not the page, ends a part


async def tickers(reader: FreshnessReader, settings: GaugeSettings, share: float) -> PartResult:
    """Per exchange: tickers, stale tickers, the newest and the oldest ticker time."""
    by = ("exchange",)
    count = Family("tickers", "Readable tickers cached, per exchange.", by)
    stale = Family(
        "tickers_stale",
        "Tickers older than FULLON_CACHE_API_GAUGES_TICKER_STALE seconds, per exchange.",
        by,
    )
    newest = Family(
        "ticker_newest_age_seconds", "Age of the newest ticker, per exchange.", by, "max", True
    )
    oldest = Family(
        "ticker_oldest_age_seconds", "Age of the oldest ticker, per exchange.", by, "min", True
    )
    labels, skipped, cursor = Labels(settings.max_labels), 0, None
    deadline = Deadline(share)
    while True:
        page = await reader.tickers(settings.ticker_stale, deadline, cursor=cursor, limit=_PAGE)
        skipped += page.skipped
        for feed in page.exchanges:
            key = (labels(feed.exchange),)
            count.put(key, feed.symbols - feed.skipped)
            stale.put(key, feed.stale)
            skipped += feed.skipped
            if feed.newest_time is not None and feed.oldest_time is not None:
                newest.put(key, feed.newest_time.timestamp())
                oldest.put(key, feed.oldest_time.timestamp())
        cursor = page.next_cursor
        if cursor is None or deadline.spent():
            break
    truncated = deadline.cut or bool(labels.folded)
    return PartResult([count, stale, newest, oldest], truncated, skipped)


class ProcessWalk(ProcessReader):
    """`ProcessReader`'s walk of every process active within the health window, one process
    at a time (its read budget, `limits.budget`, is the part's share of the run)."""

    async def each(self, settings: GaugeSettings) -> PartResult:
        """Per process type: processes active in the last hour, stale ones, the oldest
        heartbeat."""
        by = ("process_type",)
        active = Family(
            "processes", "Processes updated within the last hour, per process type.", by
        )
        stale = Family(
            "processes_stale",
            "Of those, processes whose heartbeat is missing or older than "
            "FULLON_CACHE_API_GAUGES_PROCESS_STALE seconds, per process type.",
            by,
        )
        oldest = Family(
            "process_oldest_heartbeat_age_seconds",
            "Age of the oldest heartbeat, per process type.",
            by,
            "min",
            True,
        )
        labels = Labels(settings.max_labels)
        # fullon's 8 types always show, at 0 when none runs (within the label cap: a seeded
        # type is never folded into ``other``).
        for known in PROCESS_TYPES[: settings.max_labels]:
            key = (labels(known),)
            active.put(key, 0)
            stale.put(key, 0)
        cutoff = time.time() - settings.process_stale

        def count(process: Process) -> None:
            key = (labels(process.process_type),)
            beat = process.heartbeat
            active.put(key, 1)
            stale.put(key, int(beat is None or beat.timestamp() < cutoff))
            if beat is not None:
                oldest.put(key, beat.timestamp())

        found = await self._find(None, None, HEALTH_WINDOW_MINUTES, count)
        truncated = found.partial or bool(labels.folded)
        return PartResult([active, stale, oldest], truncated, found.skipped)


async def trade_queues(reader: QueueReader, settings: GaugeSettings, share: float) -> PartResult:
    """Entries waiting in the trade queues, per exchange and kind (``trades``,
    ``user_trades``): LLEN of each, nothing popped."""
    length = Family(
        "trade_queue_length",
        "Trades waiting in the trade queues (LLEN), per exchange and kind.",
        ("exchange", "kind"),
    )
    labels, skipped, cursor, truncated = Labels(settings.max_labels), 0, None, False
    ends = time.monotonic() + share
    while True:
        page = await reader.trade_queues(
            cursor=cursor, limit=_PAGE, budget=max(ends - time.monotonic(), 1e-3)
        )
        skipped += page.skipped
        for queue in page.queues:
            length.put((labels(queue.exchange), queue.kind), queue.length)
        cursor = page.next_cursor
        if page.partial or (cursor is not None and time.monotonic() >= ends):
            truncated = True
            break
        if cursor is None:
            break
    return PartResult([length], truncated or bool(labels.folded), skipped)


async def order_queue(reader: BaseReader, share: float) -> PartResult:
    """Order ids waiting in every ``new_orders:*`` queue (LLEN of each; those keys name no
    exchange, so one series)."""
    length = Family(
        "order_queue_length", "Order ids waiting in the open-order queues (LLEN), summed."
    )
    length.put((), 0)
    deadline, skipped = Deadline(share), 0
    batches = reader.typed_batches("new_orders:*", "list", deadline)
    async with aclosing(batches):
        async for keys, wrong in batches:
            skipped += len(wrong)
            replies = await pipelined(
                reader.redis, "open-order queues", keys, lambda pipe, key: pipe.llen(key),
                reader.limits.chunk,
            )  # fmt: skip
            length.put((), sum(reply for reply in replies if isinstance(reply, int)))
    return PartResult([length], deadline.cut, skipped)


async def ohlcv(reader: FreshnessReader, settings: GaugeSettings, share: float) -> PartResult:
    """Per timeframe: series, stale series (a closed bar missing), the oldest last bar."""
    by = ("timeframe",)
    count = Family("ohlcv_series", "OHLCV series cached, per timeframe.", by)
    stale = Family(
        "ohlcv_series_stale", "Series missing at least one closed bar, per timeframe.", by
    )
    oldest = Family(
        "ohlcv_oldest_last_bar_age_seconds",
        "Age of the last bar of the series least recently updated, per timeframe.",
        by,
        "min",
        True,
    )
    labels, skipped, cursor = Labels(settings.max_labels), 0, None
    deadline = Deadline(share)
    while True:
        page = await reader.ohlcv(deadline, cursor=cursor, limit=_PAGE)
        skipped += page.skipped
        for series in page.series:
            key = (labels(series.timeframe),)
            count.put(key, 1)
            stale.put(key, int(bool(series.stale)))
            if series.last_time is not None:
                oldest.put(key, series.last_time.timestamp())
        cursor = page.next_cursor
        if cursor is None or deadline.spent():
            break
    return PartResult([count, stale, oldest], deadline.cut or bool(labels.folded), skipped)
