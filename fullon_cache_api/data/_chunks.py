"""Reading big hashes and many keys a chunk at a time: no reply holds more than `chunk` entries.

`HashWalk` reads a hash with HSCAN ``COUNT chunk``: a hash that fits in one reply (up to about
`chunk` fields) comes whole in one round trip, the same cost as HGETALL, and is cacheable by
the near cache; a bigger one comes in replies of about `chunk` fields, each handed to the
caller (who decodes it and lets it go) before the next is asked for, and the event loop serves
other requests in between (`checkpoint`: a reply the near cache answers would not yield).
`pipelined` sends per-key commands `chunk` at a time.

Paging follows Redis's SCAN guarantees: a field present from the first page to the last is
returned, and returned once unless the hash shrank meanwhile (Redis may then repeat some);
fields added or removed between pages may or may not be returned. Within one page nothing is
returned twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, cast

from ..backend import CacheClient, translate_errors
from ._base import Deadline
from ._cursor import decode_cursor, encode_cursor
from ._limits import ReadLimits

__all__ = ["FieldPage", "HashWalk", "checkpoint", "pipelined"]


async def checkpoint() -> None:
    """Let the event loop serve others before the next chunk is read and decoded.

    Awaiting a Redis reply yields, but a reply the near cache holds returns at once: a loop
    over the windows of a cached list would otherwise decode a whole key in one go.
    """
    await asyncio.sleep(0)


class HashWalk:
    """HSCAN of hash `key` from cursor `start`, until about `limit` fields were read (None: no
    limit), the hash ends, or `deadline` is spent.

    `reply()` reads the next HSCAN reply (None once the walk is over); `chunks()` iterates them.
    After each: `next` is the HSCAN cursor to continue from (None: the hash is done), `whole`
    says the walk read the whole hash (from its start to its end), `read` counts the fields.
    """

    def __init__(
        self,
        redis: CacheClient,
        key: str,
        limits: ReadLimits,
        *,
        start: int = 0,
        limit: int | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.redis = redis
        self.key = key
        self.limits = limits
        self.start = start
        self.limit = limit
        self.deadline = deadline
        self.next: int | None = start
        self.whole = False
        self.read = 0
        self._replies = 0
        # A page (`limit`) never returns a field twice; an unlimited walk keeps no names (its
        # memory would grow with the hash): Redis repeats fields only while a hash shrinks. A
        # hash read in one reply needs no names at all.
        self._seen: set[Any] | None = None

    @property
    def over(self) -> bool:
        """Whether the walk has nothing more to read (end of hash, page full, or budget)."""
        if self.next is None:
            return True
        if self._replies and self.limit is not None and self.read >= self.limit:
            return True
        return bool(self._replies) and self.deadline is not None and self.deadline.spent()

    async def reply(self) -> dict[Any, Any] | None:
        """The fields (bytes -> bytes) of the next HSCAN reply; None once the walk is over."""
        while not self.over:
            if self._replies:
                await checkpoint()
            self._replies += 1
            limit = self.limit
            count = self.limits.chunk
            if limit is not None:
                count = max(1, min(count, limit - self.read))
            with translate_errors(self.key):
                cursor, found = cast(
                    tuple[int, dict[Any, Any]],
                    await self.redis.hscan(self.key, self.next or 0, count=count),
                )
            seen = self._seen
            if seen is not None:
                if seen.intersection(found):
                    found = {name: value for name, value in found.items() if name not in seen}
                seen.update(found)
            elif limit is not None and cursor != 0:  # more replies follow: remember names
                self._seen = set(found)
            self.read += len(found)
            self.next = cursor or None
            self.whole = self.start == 0 and cursor == 0
            if found:
                return found
        return None

    async def chunks(self) -> AsyncIterator[dict[Any, Any]]:
        """The hash's fields (bytes -> bytes), one HSCAN reply at a time."""
        while (found := await self.reply()) is not None:
            yield found


async def pipelined(
    redis: CacheClient,
    what: str,
    items: Sequence[Any],
    queue: Callable[[Any, Any], None],
    chunk: int,
) -> list[Any]:
    """Replies of one queued command per item, `chunk` commands per pipeline round trip.

    `queue(pipe, item)` queues an item's command; error replies are returned, not raised (a
    key retyped since it was found answers WRONGTYPE).
    """
    replies: list[Any] = []
    for offset in range(0, len(items), chunk):
        with translate_errors(what):
            async with redis.pipeline(transaction=False) as pipe:
                for item in items[offset : offset + chunk]:
                    queue(pipe, item)
                replies.extend(await pipe.execute(raise_on_error=False))
    return replies


class FieldPage:
    """A page of hash `key`: every field (HSCAN from the cursor, about `limit` fields) when
    `owned` is None, else only the fields named in `owned` (sorted ids: HMGET of `limit` of
    them from the cursor's offset, `chunk` per round trip).

    After `chunks()`: `next_cursor` fetches the next page (None: this was the last), `whole`
    says the page held every field there is to see.
    """

    def __init__(
        self,
        redis: CacheClient,
        key: str,
        limits: ReadLimits,
        *,
        owned: list[str] | None,
        cursor: str | None,
        limit: int,
    ) -> None:
        self.redis = redis
        self.key = key
        self.limits = limits
        self.owned = owned
        self.limit = limit
        kind = "h" if owned is None else "i"
        self.start = 0 if cursor is None else decode_cursor(cursor, kind, tuple[int])[0]
        self.next_cursor: str | None = None
        self.whole = False

    async def chunks(self) -> AsyncIterator[dict[Any, Any]]:
        """The page's fields and values, one Redis reply at a time."""
        if self.owned is None:
            walk = HashWalk(self.redis, self.key, self.limits, start=self.start, limit=self.limit)
            async for found in walk.chunks():
                yield found
            self.whole = walk.whole
            self.next_cursor = None if walk.next is None else encode_cursor("h", walk.next)
            return
        wanted = self.owned[self.start : self.start + self.limit]
        end = self.start + len(wanted)
        for offset in range(0, len(wanted), self.limits.chunk):
            if offset:
                await checkpoint()
            names = wanted[offset : offset + self.limits.chunk]
            with translate_errors(self.key):
                values = await self.redis.hmget(self.key, names)
            yield {name: value for name, value in zip(names, values, strict=True) if value}
        self.whole = self.start == 0 and end >= len(self.owned)
        self.next_cursor = encode_cursor("i", end) if end < len(self.owned) else None
