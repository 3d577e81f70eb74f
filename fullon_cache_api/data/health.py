"""Reader behind ``/health``: is Redis reachable, and how long does one round trip take."""

from __future__ import annotations

import time

from .._redis import translate_errors
from ..structs.health import Health, RedisHealth
from ._base import BaseReader

__all__ = ["HealthReader"]


class HealthReader(BaseReader):
    """The gateway's own health: a timed PING (fullon_cache's BaseCache.ping does the same)."""

    async def check(self) -> Health:
        """PING Redis and time the round trip; an outage raises CacheUnavailable (503)."""
        started = time.perf_counter()
        with translate_errors("PING"):
            await self.redis.ping()
        latency_ms = (time.perf_counter() - started) * 1000.0
        return Health(
            status="ok", redis=RedisHealth(reachable=True, latency_ms=round(latency_ms, 3))
        )
