"""What every domain reader shares: the client, incremental SCAN, and skip accounting.

Readers issue read commands only (GET, MGET, HGET, HMGET, HGETALL, HLEN, HSCAN, LRANGE, LLEN,
SCAN, EXISTS, TYPE, TTL, PING, INFO). Pipelines are built with ``transaction=False`` so no
MULTI/EXEC is ever sent.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from .._redis import CacheClient, translate_errors

__all__ = ["SCAN_COUNT", "BaseReader", "text"]

# Keys per SCAN step: large enough to keep round trips few, small enough that one step never
# holds Redis for long on a big keyspace.
SCAN_COUNT = 500

_log = logging.getLogger("fullon.api.cache.data")


def text(value: bytes | str) -> str:
    """A Redis key or field as text (fullon_cache writes UTF-8 only)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class BaseReader:
    """A reader of one fullon_cache domain, over a shared client it does not own."""

    # Called once per skipped entry; metrics set it per instance to count them by domain.
    on_skip: Callable[[], None] | None = None

    def __init__(self, redis: CacheClient) -> None:
        self.redis = redis

    async def scan_keys(self, pattern: str, key_type: str) -> list[str]:
        """Every key matching `pattern` (a constant glob) of Redis type `key_type`, sorted.

        SCAN with TYPE filters server-side, so a key of the wrong type is never read.
        """
        return sorted([key async for key in self._scan(pattern, key_type)])

    async def _scan(self, pattern: str, key_type: str) -> AsyncIterator[str]:
        cursor = 0
        with translate_errors(f"keys {pattern}"):
            while True:
                cursor, keys = await self.redis.scan(
                    cursor, match=pattern, count=SCAN_COUNT, _type=key_type
                )
                for key in keys:
                    yield text(key)
                if cursor == 0:
                    return

    def skipped(self, what: str, where: str, reason: object) -> None:
        """Log one corrupt entry left out of a list (the caller counts it in its answer)."""
        _log.warning(
            "skipped corrupt entry %s in %s: %s",
            what,
            where,
            reason,
            extra={"entry": what, "key": where},
        )
        if self.on_skip is not None:
            self.on_skip()
