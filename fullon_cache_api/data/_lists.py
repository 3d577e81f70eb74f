"""Reading lists (trade queues, bar series) from the newest element back, `chunk` at a time.

fullon_cache appends at the tail (RPUSH) and removes at the head (LTRIM keeps the newest bars,
consumers pop or take whole trade queues). A page is the newest `limit` elements older than
its cursor, read in LRANGE windows of at most `chunk` elements (the newest window with LLEN,
the others in one more pipeline: two round trips, no reply over `chunk`), handed over newest
window first with a turn of the event loop between windows, and answered oldest first. Its
``next_cursor`` names the oldest element answered by head index and fingerprint: appends
never move that index, removals at the head move it down, so the next
page finds its element again by looking lower, a window of `chunk` at a time within the read
budget, and continues below it exactly. When the element is gone (taken by a consumer or
trimmed, with everything older) or not found within the budget, the cursor is refused (422).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

from .._errors import InvalidInput
from ..backend import CacheClient, translate_errors
from ._base import Deadline
from ._chunks import checkpoint
from ._cursor import decode_cursor, encode_cursor, fingerprint
from ._limits import ReadLimits

__all__ = ["ListWalk", "newest_windows"]

_KIND = "l"


async def newest_windows(
    redis: CacheClient, keys: list[str], width: int
) -> list[tuple[int, list[bytes]]]:
    """(LLEN, the newest `width` elements) of each key, in one pipeline round trip."""
    with translate_errors(keys[0]):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
                pipe.lrange(key, -width, -1)
            # Per-command errors come back unwrapped, so WRONGTYPE reads as such (502).
            replies = await pipe.execute()
    return [(int(replies[i]), replies[i + 1]) for i in range(0, len(replies), 2)]


class ListWalk:
    """The newest `limit` elements of list `key` older than `cursor` (None: the newest).

    `open` finds the length and where the page ends (given the first window when the caller
    already read it); `windows` yields the page newest window first, each window oldest element
    first. Then `next_cursor` continues below the oldest element read (None: nothing older).
    """

    def __init__(
        self,
        redis: CacheClient,
        key: str,
        limits: ReadLimits,
        *,
        limit: int,
        cursor: str | None = None,
    ) -> None:
        self.redis = redis
        self.key = key
        self.limits = limits
        self.limit = limit
        self.position = self.checked(cursor)
        self.length = 0
        self.next_cursor: str | None = None
        self.window_start = 0  # head index of the first element of the window last yielded
        self._top = -1  # head index of the page's newest element
        self._first: list[bytes] | None = None

    @staticmethod
    def checked(cursor: str | None) -> tuple[int, str] | None:
        """The position `cursor` names (None: no cursor); 422 when it is no list cursor."""
        return None if cursor is None else decode_cursor(cursor, _KIND, tuple[int, str])

    @property
    def top(self) -> int:
        """Head index of the page's newest element (-1: none), once `open`."""
        return self._top

    @staticmethod
    def cursor_at(index: int, raw: bytes) -> str:
        """The cursor continuing below the element `raw` at head index `index`."""
        return encode_cursor(_KIND, index, fingerprint(raw))

    def window_width(self) -> int:
        """How many of the newest elements the first window holds."""
        return max(1, min(self.limit, self.limits.chunk))

    async def open(self, first: tuple[int, list[bytes]] | None = None) -> None:
        """Find the list's length and the page's newest element: from `first` (LLEN and the
        newest window), else by reading them, or by finding the cursor's element again."""
        if self.position is not None:
            self.length, anchor = await self._anchor(*self.position)
            self._top = anchor - 1
            return
        if first is None:
            [first] = await newest_windows(self.redis, [self.key], self.window_width())
        self.length, self._first = first
        self._top = self.length - 1

    def only_window(self) -> list[bytes] | None:
        """The page when it is all in the newest window already read (the common page of up
        to `chunk` elements: no more reads, no iteration); else None: use `windows`."""
        spans = self._spans()
        first = self._first
        if first is None or len(spans) != 1 or len(first) != spans[0][1] - spans[0][0] + 1:
            return None
        self._first = None
        if spans[0][0] > 0 and first:
            self.next_cursor = self.cursor_at(spans[0][0], first[0])
        return first

    async def windows(self) -> AsyncIterator[list[bytes]]:
        """The page's elements, newest window first; each window oldest element first."""
        spans = self._spans()
        fetched = await self._fetch(spans)
        oldest: tuple[int, bytes] | None = None
        for (start, _), window in zip(spans, fetched, strict=False):
            if not window:
                break  # the list lost its head since: nothing older is left
            if oldest is not None:
                await checkpoint()
            oldest = (start, window[0])
            self.window_start = start
            yield window
        if oldest is not None and oldest[0] > 0:
            self.next_cursor = self.cursor_at(*oldest)

    def _spans(self) -> list[tuple[int, int]]:
        """(first, last) head indices of each window of the page, newest window first."""
        low = max(0, self._top - self.limit + 1)
        spans: list[tuple[int, int]] = []
        top = self._top
        while top >= low:
            start = max(low, top - self.limits.chunk + 1)
            spans.append((start, top))
            top = start - 1
        return spans

    async def _fetch(self, spans: list[tuple[int, int]]) -> list[list[bytes]]:
        """The windows of `spans`: the first from the newest window already read (if any),
        the others in one pipeline of LRANGEs (a reply of at most `chunk` elements each)."""
        first, self._first = self._first, None
        fetched: list[list[bytes]] = []
        if first is not None and spans and len(first) >= spans[0][1] - spans[0][0] + 1:
            size = spans[0][1] - spans[0][0] + 1
            fetched.append(first if len(first) == size else first[len(first) - size :])
        rest = spans[len(fetched) :]
        if rest:
            with translate_errors(self.key):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for start, top in rest:
                        pipe.lrange(self.key, start, top)
                    fetched.extend(cast(list[list[bytes]], await pipe.execute()))
        return fetched

    async def _anchor(self, index: int, print_: str) -> tuple[int, int]:
        """(length, head index now) of the element a cursor named: at `index`, or lower (only
        removals at the head move it, and only down), looked for a window at a time."""
        deadline = Deadline(self.limits.budget)
        top = index
        length: int | None = None
        while top >= 0 and not deadline.spent():
            low = max(0, top - self.limits.chunk + 1)
            with translate_errors(self.key):
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.llen(self.key)
                    pipe.lrange(self.key, low, top)
                    found, window = cast(tuple[int, list[Any]], await pipe.execute())
            length = int(found) if length is None else length
            for offset in range(len(window) - 1, -1, -1):
                if fingerprint(window[offset]) == print_:
                    return length, low + offset
            top = low - 1
        raise InvalidInput(
            f"the element this cursor continues from is no longer in {self.key} (taken or "
            "trimmed since, with everything older): start again without a cursor"
        )
