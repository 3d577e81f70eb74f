"""Event-loop lag: how late the loop runs a task that asked to wake up on time.

A task sleeps `interval` seconds at a time and measures how much later than asked it woke up:
anything that holds the loop (a large decode, a blocking call, CPU starvation) shows up as lag,
whoever caused it. Each measurement goes to a histogram (``/metrics``); a lag past `threshold`
is a stall, logged as a warning at most once per `warn_every` seconds, with the number of
stalls and the longest one since the last warning (a stalled loop must not also flood the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable

__all__ = ["LoopMonitor"]

_log = logging.getLogger("fullon.api.cache.loop")


class LoopMonitor:
    """Measures the lag of the loop it runs in; started by `start`, stopped by `aclose`."""

    def __init__(
        self,
        *,
        interval: float = 0.1,
        threshold: float = 0.1,
        warn_every: float = 30.0,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        self.interval = interval
        self.threshold = threshold
        self.warn_every = warn_every
        self.observe = observe
        self.stalls = 0  # since the last warning
        self.longest = 0.0  # since the last warning
        self._warned_at = -math.inf
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the measuring task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start measuring in the running loop (a no-op while already measuring)."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="fullon-cache-api-loop-lag")

    async def aclose(self) -> None:
        """Stop measuring."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            now = loop.time()
            self.record(max(0.0, now - due), now)

    def record(self, lag: float, now: float) -> None:
        """One measurement: observed, counted as a stall past the threshold, warned about."""
        if self.observe is not None:
            self.observe(lag)
        if lag > self.threshold:
            self.stalls += 1
            self.longest = max(self.longest, lag)
        if self.stalls and now - self._warned_at >= self.warn_every:
            _log.warning(
                "the event loop stalled %d time(s) for more than %.0f ms; the longest stall "
                "was %.0f ms (something blocked the loop or the CPU is saturated)",
                self.stalls,
                self.threshold * 1000,
                self.longest * 1000,
                extra={"stalls": self.stalls, "longest_ms": round(self.longest * 1000, 1)},
            )
            self._warned_at = now
            self.stalls, self.longest = 0, 0.0
