"""A client's bounded outbound queue, and the `Feed` through which one source fills it.

The hub only ever calls the synchronous `put`: it never waits for a client. A client that
falls `limit` events behind is closed with a reason; entries that share a conflation key
replace each other in place (the newest value keeps the oldest position), so a slow ticker
client receives the latest price per symbol rather than every tick.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from ._events import CloseReason, Event, StreamClosed, encode, status_event

__all__ = ["ClientClosed", "ClientQueue", "Feed"]

T = TypeVar("T")


class ClientClosed(Exception):
    """The queue was closed: `event` is the `close` event saying why."""

    def __init__(self, event: Event) -> None:
        super().__init__(event.data.decode())
        self.event = event


class ClientQueue(Generic[T]):
    """Items waiting to be sent to one client, drained in batches by its single writer.

    The writer brackets each send with `sending` / `sent`; the hub's housekeeping reads those
    marks to cut off a writer stuck in a send (calling `on_stall`) and to queue heartbeats on
    idle queues, so neither costs a timer per send or per wait.
    """

    def __init__(self, limit: int, *, heartbeats: bool = True) -> None:
        self.limit = limit
        self.heartbeats = heartbeats
        self._slots: deque[list[object]] = deque()  # [item, key]: mutable so conflation is O(1)
        self._by_key: dict[Hashable, list[object]] = {}
        self._waiter: asyncio.Future[None] | None = None
        self.closed: Event | None = None
        self.busy_since: float | None = None  # monotonic time the current send began
        self.last_sent = time.monotonic()
        self.on_stall: Callable[[], object] | None = None
        self.label = "a client"  # for logs: the stream's path or the socket

    def __len__(self) -> int:
        return len(self._slots)

    def put(self, item: T, key: Hashable | None = None) -> None:
        """Queue `item`; with a `key`, replace a queued item of the same key instead."""
        if self.closed is not None:
            return
        if key is not None:
            slot = self._by_key.get(key)
            if slot is not None:
                slot[0] = item
                return
        slot = [item, key]
        self._slots.append(slot)
        if key is not None:
            self._by_key[key] = slot
        if len(self._slots) > self.limit:
            self.close("slow_consumer", f"more than {self.limit} events were pending")
            return
        self._wake()

    def close(self, reason: CloseReason, detail: str) -> None:
        """Close the queue: pending items are dropped and the writer gets `ClientClosed`."""
        if self.closed is not None:
            return
        self.closed = Event("close", encode(StreamClosed(reason=reason, detail=detail)))
        self._slots.clear()
        self._by_key.clear()
        self._wake()

    async def get(self) -> list[T]:
        """Every queued item, oldest first, waiting for one if none is queued.

        Raises `ClientClosed` once the queue is closed.
        """
        while not self._slots and self.closed is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.closed is not None:
            raise ClientClosed(self.closed)
        items: list[T] = [slot[0] for slot in self._slots]  # type: ignore[misc]
        self._slots.clear()
        self._by_key.clear()
        return items

    def sending(self) -> None:
        """The writer starts a send."""
        self.busy_since = time.monotonic()

    def sent(self) -> None:
        """The writer's send completed."""
        self.last_sent = time.monotonic()
        self.busy_since = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Feed(Generic[T]):
    """What one client receives from one source, queued as ``(tag, event)``.

    The first snapshot always comes first: updates that arrive before it are held back, then
    flushed behind it. Status events are never held back, so a client learns at once that Redis
    is unreachable. `degraded` remembers a ``reconnecting`` status so that the next snapshot is
    preceded by a ``live`` one.
    """

    __slots__ = ("_early", "degraded", "queue", "ready", "tag")

    def __init__(self, queue: ClientQueue[tuple[T, Event]], tag: T) -> None:
        self.queue = queue
        self.tag = tag
        self.ready = False
        self.degraded = False
        self._early: list[Event] = []

    def update(self, event: Event) -> None:
        """An update (or problem) from the source."""
        if self.ready:
            self._put(event)
        elif len(self._early) < self.queue.limit:
            self._early.append(event)
        else:
            self.queue.close("slow_consumer", f"more than {self.queue.limit} events were pending")

    def snapshot(self, event: Event) -> None:
        """A snapshot (or the problem standing in for one): first, or after a reconnect."""
        if self.degraded:
            self.degraded = False
            self._put(_LIVE)
        self._put(event)
        if not self.ready:
            self.ready = True
            for early in self._early:
                self._put(early)
            self._early.clear()

    def down(self, event: Event) -> None:
        """The Redis link behind the source failed: say so once per outage."""
        if not self.degraded:
            self.degraded = True
            self._put(event)

    def _put(self, event: Event) -> None:
        key = None if event.key is None else (self.tag, event.key)
        self.queue.put((self.tag, event), key)


_LIVE = status_event("live", "Redis is reachable again; a fresh snapshot follows")
