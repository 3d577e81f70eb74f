"""What every domain reader shares: the client, incremental SCAN, skip accounting, budgets.

Readers issue read commands only (GET, MGET, HGET, HMGET, HLEN, HEXISTS, HSCAN, LRANGE, LLEN,
SCAN, EXISTS, TYPE, TTL, PING, INFO). Pipelines are built with ``transaction=False`` so no
MULTI/EXEC is ever sent.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from types import MappingProxyType

from ..backend import CacheClient, translate_errors
from ._limits import DEFAULT_LIMITS, ReadLimits
from ._skips import SkipLog, Skips

__all__ = ["NO_TIMERS", "SCAN_COUNT", "BaseReader", "Deadline", "Scanned", "text"]

# Keys per SCAN step of the hub's pollers: large enough to keep round trips few, small enough
# that one step never holds Redis for long on a big keyspace (readers use their `chunk`).
SCAN_COUNT = 500


def text(value: bytes | str) -> str:
    """A Redis key or field as text (fullon_cache writes UTF-8 only)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# A reader's observers when nobody watches its reads.
NO_TIMERS: Mapping[str, Callable[[float], None]] = MappingProxyType({})


class Deadline:
    """A time budget measured on the monotonic clock.

    `spent()` is asked before each step of work; once it answers True the step is not done
    and `cut` stays True, so the answer says it is partial.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.cut = False

    @property
    def expired(self) -> bool:
        """Whether the budget is spent."""
        return time.monotonic() - self.started >= self.seconds

    def spent(self) -> bool:
        """Whether to stop before the next step (the answer is then marked partial)."""
        if not self.cut and self.expired:
            self.cut = True
        return self.cut

    @property
    def elapsed_ms(self) -> float:
        """Milliseconds since the budget started."""
        return round((time.monotonic() - self.started) * 1000.0, 3)


@dataclass
class Scanned:
    """What a typed SCAN found: keys of the wanted type (sorted) and keys of another type.

    `next` is the SCAN cursor to continue from when the scan stopped early (a page was full or
    the deadline spent), None when it went through every key.
    """

    keys: list[str] = field(default_factory=list)
    wrong_type: list[str] = field(default_factory=list)
    next: int | None = None


class BaseReader:
    """A reader of one fullon_cache domain, over a shared client it does not own."""

    # Called with the number of entries an answer skipped; metrics set it per instance to
    # count them by domain.
    on_skip: Callable[[int], object] | None = None
    # The observers of its reads by method name (`_instrument.timed_read`); none by default.
    read_timers: Mapping[str, Callable[[float], None]] = NO_TIMERS

    def __init__(self, redis: CacheClient, limits: ReadLimits = DEFAULT_LIMITS) -> None:
        self.redis = redis
        self.limits = limits
        self.skip_log = SkipLog()

    async def scan_keys(self, pattern: str, key_type: str) -> list[str]:
        """Every key matching `pattern` (a constant glob) of Redis type `key_type`, sorted.

        Keys of another type are logged as skipped (see `scan_typed` to count them).
        """
        return (await self.scan_typed(pattern, key_type)).keys

    async def scan_typed(
        self,
        pattern: str,
        key_type: str,
        deadline: Deadline | None = None,
        *,
        start: int = 0,
        limit: int | None = None,
    ) -> Scanned:
        """Keys matching `pattern` of type `key_type` (sorted), and those of another type.

        Each key of another type is logged via `skipped`; the caller counts it in its answer.
        The SCAN starts at cursor `start` and stops once it found `limit` keys of either kind
        or `deadline` is spent (`deadline.cut` then says so); `next` tells where it stopped.
        """
        found = Scanned(next=start)
        batches = self.typed_batches(pattern, key_type, deadline, start=start, found=found)
        async with aclosing(batches):  # a generator left early is closed now, not at GC
            async for keys, wrong in batches:
                found.keys.extend(keys)
                found.wrong_type.extend(wrong)
                if limit is not None and len(found.keys) + len(found.wrong_type) >= limit:
                    break
        # SCAN may return a key twice (while Redis rehashes): each is kept once.
        found.keys = sorted(set(found.keys))
        found.wrong_type = sorted(set(found.wrong_type))
        return found

    async def typed_batches(
        self,
        pattern: str,
        key_type: str,
        deadline: Deadline | None = None,
        *,
        start: int = 0,
        found: Scanned | None = None,
    ) -> AsyncGenerator[tuple[list[str], list[str]], None]:
        """Per SCAN step (``COUNT chunk``): (keys of type `key_type`, keys of another type).

        SCAN with a TYPE filter would drop a wrong-type key silently; instead each step's keys
        are typed by one pipeline of TYPE (one extra round trip per step, none when the step
        found nothing). Keys gone since the SCAN (type ``none``) are neither. `found.next`
        follows the cursor (None once the SCAN is complete).
        """
        cursor = start
        while True:
            with translate_errors(f"keys {pattern}"):
                cursor, raw_keys = await self.redis.scan(
                    cursor, match=pattern, count=self.limits.chunk
                )
            if found is not None:
                found.next = cursor or None
            keys = [text(key) for key in raw_keys]
            if keys:
                yield self._split_by_type(pattern, key_type, keys, await self._types(keys))
            if cursor == 0 or (deadline is not None and deadline.spent()):
                return

    async def types_of(self, keys: list[str]) -> list[str]:
        """The Redis type of each key (``none`` when it does not exist), in one pipeline."""
        return await self._types(keys) if keys else []

    async def _types(self, keys: list[str]) -> list[str]:
        with translate_errors("key types"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.type(key)
                replies: list[bytes | str] = await pipe.execute()
        return [text(reply) for reply in replies]

    def _split_by_type(
        self, pattern: str, key_type: str, keys: list[str], types: list[str]
    ) -> tuple[list[str], list[str]]:
        wanted: list[str] = []
        wrong: list[str] = []
        for key, kind in zip(keys, types, strict=True):
            if kind == key_type:
                wanted.append(key)
            elif kind != "none":
                self.skipped(key, pattern, f"wrong Redis type: {kind}, expected {key_type}")
                wrong.append(key)
        return wanted, wrong

    def skipped(self, what: str, where: str, reason: object) -> None:
        """One entry of `where` left out of an answer (the caller counts it in its answer)."""
        skips = Skips(where)
        skips.add(what, reason)
        self.report(skips)

    def report(self, skips: Skips) -> None:
        """What one read of a key left out: logged (at most once per key per interval) and
        counted in the metrics."""
        if skips.count:
            self.skip_log.report(skips)
            if self.on_skip is not None:
                self.on_skip(skips.count)
