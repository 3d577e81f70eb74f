"""`GaugeCollector`: reads the cache's health in the background, at most once per interval.

A scrape never waits on Redis: it shows the last `Snapshot` and its age. The collector's task
starts with the first scrape (``/metrics`` renders `GaugeExport`, which calls `ensure`): a
gateway nobody scrapes sends Redis nothing for it, and a host that mounts the app without
running its lifespan still gets its gauges. The lifespan, or a shutdown signal, stops it.

One run: PING (Redis up or not, and its round trip), then the four parts one after the other,
each with an equal share of `budget`; the whole run is also cut at `budget` plus the Redis
socket timeout (one command may take that long). A run that fails (Redis down, or a command
refused) publishes a snapshot with Redis down and no domain gauges: stale values would be
mistaken for live ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter

import msgspec

from ..data import BaseReader, CacheReader, QueueReader
from ..data.views.freshness import FreshnessReader
from . import _parts
from ._settings import GaugeSettings
from ._snapshot import PartResult, Snapshot

__all__ = ["PARTS", "RESULTS", "GaugeCollector"]

PARTS = ("tickers", "processes", "queues", "ohlcv")
RESULTS = ("ok", "partial", "failed")
# A failing run is logged at most this often (a Redis outage must not flood the log).
_WARN_EVERY = 60.0
_log = logging.getLogger("fullon.api.cache.gauges")


class GaugeCollector:
    """The domain gauges of one app, refreshed by a background task."""

    def __init__(self, reader: CacheReader, settings: GaugeSettings) -> None:
        self.settings = settings
        self.redis = reader.redis
        share = settings.budget / len(PARTS)
        limits = reader.limits
        # Long-lived readers: their skip logs rate-limit the warnings about corrupt entries.
        self._freshness = FreshnessReader(reader.redis, limits)
        self._processes = _parts.ProcessWalk(
            reader.redis, msgspec.structs.replace(limits, budget=share)
        )
        self._queues = QueueReader(reader.redis, limits)
        self._keys = BaseReader(reader.redis, limits)
        self._share = share
        self._socket_timeout = limits.socket_timeout  # one command may take this long
        self.snapshot: Snapshot | None = None
        self.runs: Counter[str] = Counter()
        self.last_duration: float | None = None
        self.last_success: float | None = None
        self.closed = False
        self._task: asyncio.Task[None] | None = None
        self._warned_at = -math.inf

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    def ensure(self) -> None:
        """Start the background task in the running loop, unless running, closed, or called
        outside a loop (a scrape rendered by synchronous code)."""
        if self.closed or self.running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._loop(), name="fullon-cache-api-gauges")

    def stop(self) -> None:
        """Stop for good, at once (a shutdown signal: no more reads while shutting down)."""
        self.closed = True
        if self._task is not None:
            self._task.cancel()

    async def aclose(self) -> None:
        """Stop for good and wait for the task to end (the lifespan's end)."""
        self.stop()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.run_once()
            # At most one run per interval, however long the run took.
            await asyncio.sleep(max(0.0, self.settings.interval - (loop.time() - started)))

    async def run_once(self) -> Snapshot:
        """One run: its snapshot replaces the last one, and the run is counted."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.budget + self._socket_timeout):
                snapshot = await self._collect()
        except Exception as exc:  # Redis down or refusing: the run failed, the loop goes on
            self._warn(exc)
            snapshot = Snapshot(taken_at=time.time(), redis_up=False)
        self.last_duration = time.perf_counter() - started
        if not snapshot.redis_up:
            self.runs["failed"] += 1
        else:
            partial = any(part.truncated for part in snapshot.parts.values())
            self.runs["partial" if partial else "ok"] += 1
            self.last_success = snapshot.taken_at
        self.snapshot = snapshot
        return snapshot

    async def _collect(self) -> Snapshot:
        pinged = time.perf_counter()
        await self.redis.ping()
        ping = time.perf_counter() - pinged
        settings, share = self.settings, self._share
        parts: dict[str, PartResult] = {
            "tickers": await _parts.tickers(self._freshness, settings, share),
            "processes": await self._processes.each(settings),
            "queues": _joined(
                await _parts.trade_queues(self._queues, settings, share / 2),
                await _parts.order_queue(self._keys, share / 2),
            ),
            "ohlcv": await _parts.ohlcv(self._freshness, settings, share),
        }
        return Snapshot(taken_at=time.time(), redis_up=True, ping_seconds=ping, parts=parts)

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            reason = " ".join(str(exc).split()) or type(exc).__name__
            _log.warning("the gauges collector could not read the cache: %s", reason)


def _joined(first: PartResult, second: PartResult) -> PartResult:
    return PartResult(
        [*first.families, *second.families],
        first.truncated or second.truncated,
        first.skipped + second.skipped,
    )
