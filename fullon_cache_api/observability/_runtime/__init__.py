"""What an app runs beside its requests: the event-loop lag monitor and the shutdown watch.

`create_app` builds a `Runtime` without I/O or side effects; the gateway's middleware calls
`Runtime.ensure` on every request, which starts both on the first request in a loop (so a host
that never runs our lifespan still gets them); the lifespan stops them.
"""

from __future__ import annotations

from ._lag import LoopMonitor
from ._signals import SIGNALS, ShutdownWatch

__all__ = ["SIGNALS", "LoopMonitor", "Runtime", "ShutdownWatch"]


class Runtime:
    """The loop monitor and the shutdown watch of one app."""

    def __init__(self, monitor: LoopMonitor | None = None) -> None:
        self.monitor = monitor if monitor is not None else LoopMonitor()
        self.shutdown = ShutdownWatch()
        self.closed = False

    def ensure(self) -> None:
        """Start the monitor and arm the shutdown watch in this loop, unless done already."""
        if not self.closed and not self.monitor.running:
            self.monitor.start()
            self.shutdown.arm()

    @property
    def stopping(self) -> bool:
        """Whether a shutdown signal arrived."""
        return self.shutdown.stopping

    async def aclose(self) -> None:
        """Stop the monitor for good (the lifespan's end)."""
        self.closed = True
        await self.monitor.aclose()
