"""`NearCache`: the app's Redis client with hot reads answered from memory.

It has the method names and signatures of redis-py's client for what the data layer reads
one command at a time (GET, MGET, HGET, HMGET, HGETALL, LRANGE, and HSCAN from cursor 0 when
its one reply holds the whole hash); everything else (pipelines, SCAN, INFO, pub/sub, the
pool) is the wrapped client's, untouched. Only keys under the tracked prefixes are kept, since
Redis reports changes to those keys only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

from .._redis import CacheClient
from ._link import InvalidationLink
from ._store import MISS, Store

__all__ = ["NearCache"]

_GET = ("GET",)
# MGET is kept per key, apart from GET: it answers nil for a key of another type, where GET
# fails with WRONGTYPE (which the gateway reports as a corrupt entry).
_MGET = ("MGET",)
_HGETALL = ("HGETALL",)


class NearCache:
    """A redis-py client whose hot reads are served from a store kept exact by invalidation."""

    def __init__(
        self, redis: CacheClient, store: Store, link: InvalidationLink, prefixes: Sequence[str]
    ) -> None:
        self.redis = redis
        self.store = store
        self.link = link
        self.prefixes = tuple(prefixes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.redis, name)

    async def get(self, name: str) -> Any:
        found = self.store.get(name, _GET)
        if found is not MISS:
            return found
        return await self._fill(name, _GET, self.redis.get(name))

    async def hget(self, name: str, key: str) -> Any:
        slot = ("HGET", key)
        found = self.store.get(name, slot)
        if found is not MISS:
            return found
        return await self._fill(name, slot, self.redis.hget(name, key))

    async def hgetall(self, name: str) -> Any:
        found = self.store.get(name, _HGETALL)
        if found is not MISS:
            return found
        return await self._fill(name, _HGETALL, self.redis.hgetall(name))

    async def hmget(self, name: str, keys: str | Sequence[str], *args: str) -> Any:
        fields = (keys, *args) if isinstance(keys, str | bytes) else (*keys, *args)
        slot = ("HMGET", fields)
        found = self.store.get(name, slot)
        if found is not MISS:
            return found
        return await self._fill(name, slot, self.redis.hmget(name, list(fields)))

    async def hscan(
        self, name: str, cursor: int = 0, match: str | None = None, count: int | None = None
    ) -> Any:
        # Only a first reply that is the whole hash (cursor back to 0) is kept: the HGETALL of
        # a hash small enough for one reply. Later pages of a big hash always go to Redis.
        if cursor != 0 or match is not None:
            return await self.redis.hscan(name, cursor, match=match, count=count)
        slot = ("HSCAN", count)
        found = self.store.get(name, slot)
        if found is not MISS:
            return found
        return await self._fill(name, slot, self.redis.hscan(name, 0, count=count), _whole)

    async def lrange(self, name: str, start: int, end: int) -> Any:
        slot = ("LRANGE", start, end)
        found = self.store.get(name, slot)
        if found is not MISS:
            return found
        return await self._fill(name, slot, self.redis.lrange(name, start, end))

    async def mget(self, keys: str | Sequence[str], *args: str) -> list[Any]:
        names = [keys, *args] if isinstance(keys, str | bytes) else [*keys, *args]
        values = [self.store.get(name, _MGET) for name in names]
        missing = [name for name, value in zip(names, values, strict=True) if value is MISS]
        if not missing:
            return values
        tracked = [name for name in missing if self._keeps(name)]
        tickets = [self.store.begin(name) for name in tracked]
        fetched: list[Any] = []
        try:
            fetched = await self.redis.mget(missing)
        finally:
            replies = dict(zip(missing, fetched, strict=False))
            for name, ticket in zip(tracked, tickets, strict=True):
                self.store.end(name, _MGET, ticket, replies.get(name, MISS))
        found = iter(fetched)
        return [next(found) if value is MISS else value for value in values]

    async def aclose(self) -> None:
        """Stop the invalidation link, then close the wrapped client."""
        try:
            await self.link.aclose()
        finally:
            await self.redis.aclose()

    async def _fill(
        self,
        name: str,
        slot: Hashable,
        reply: Awaitable[Any],
        keep: Callable[[Any], bool] | None = None,
    ) -> Any:
        """Await the read; keep its reply if the key is tracked, nothing spoiled it, and `keep`
        (when given) accepts it."""
        if not self._keeps(name):
            return await reply
        ticket = self.store.begin(name)
        value: Any = MISS
        try:
            value = await reply
        finally:
            kept = value if keep is None or value is MISS or keep(value) else MISS
            self.store.end(name, slot, ticket, kept)
        return value if type(value) is bytes or value is None else _copied(value)

    def _keeps(self, name: object) -> bool:
        if not self.store.active:
            self.link.start()  # first use, or after aclose: (re)start the link
            return False
        return type(name) is str and name.startswith(self.prefixes)


def _whole(reply: Any) -> bool:
    """Whether an HSCAN reply from cursor 0 is the whole hash (its cursor is back at 0)."""
    return int(reply[0]) == 0


def _copied(value: Any) -> Any:
    # The store holds the original; the caller may change what it gets.
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    if isinstance(value, tuple):  # HSCAN's (cursor, fields)
        return tuple(_copied(part) for part in value)
    return value
