"""A client's bounded outbound queue, and the `Feed` through which one source fills it.

The hub only ever calls the synchronous `put`: it never waits for a client. A client that
falls `limit` items behind is closed with a reason. Events that carry a conflation key replace
the same key's event while it is still queued (the newest value keeps the oldest position), so
a slow ticker client receives the latest price per symbol rather than every tick; that lookup
is the hub's hottest path (one per client per tick) and allocates nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._events import CloseReason, Event, StreamClosed, encode, status_event

__all__ = ["ClientClosed", "ClientQueue", "Feed", "Flusher", "Slot"]

T = TypeVar("T")

_log = logging.getLogger("fullon.api.cache.streams")
_FLUSH_SLICE = 50  # clients flushed between two looks at the sockets (about a millisecond)


class ClientClosed(Exception):
    """The queue was closed: `event` is the `close` event saying why."""

    def __init__(self, event: Event) -> None:
        super().__init__(event.data.decode())
        self.event = event


class Slot:
    """A queued item and the tag of the stream it belongs to; `pending` until drained."""

    __slots__ = ("item", "pending", "tag")

    def __init__(self, item: Any, tag: Any) -> None:
        self.item = item
        self.tag = tag
        self.pending = True


class ClientQueue(Generic[T]):
    """Items waiting to be sent to one client, drained in batches by its single writer.

    The writer brackets each send with `sending` / `sent`; the hub's housekeeping reads those
    marks to cut off a writer stuck in a send (calling `on_stall`) and to queue heartbeats on
    idle queues, so neither costs a timer per send or per wait.
    """

    def __init__(self, limit: int, *, heartbeats: bool = True) -> None:
        self.limit = limit
        self.heartbeats = heartbeats
        self._slots: deque[Slot] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.closed: Event | None = None
        self.busy_since: float | None = None  # monotonic time the current send began
        self.last_sent = time.monotonic()
        self.on_stall: Callable[[], object] | None = None
        self.label = "a client"  # for logs: the stream's path or the socket
        # Push mode (SSE): `put` calls `notify` once per batch instead of waking `get`, so the
        # hub's `Flusher` drains many queues in one pass rather than waking a task per client.
        self.notify: Callable[[], object] | None = None
        self.notified = False

    def __len__(self) -> int:
        return len(self._slots)

    def put(self, item: T, tag: Any = None) -> Slot | None:
        """Queue `item`; returns its slot (None once closed) so a newer value can replace it."""
        if self.closed is not None:
            return None
        slot = Slot(item, tag)
        self._slots.append(slot)
        if len(self._slots) > self.limit:
            self.close("slow_consumer", f"more than {self.limit} events were pending")
            return None
        notify = self.notify
        if notify is not None:
            if not self.notified:
                self.notified = True
                notify()
            return slot
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return slot

    def close(self, reason: CloseReason, detail: str) -> None:
        """Close the queue: pending items are dropped and the writer gets `ClientClosed`."""
        if self.closed is not None:
            return
        self.closed = Event("close", encode(StreamClosed(reason=reason, detail=detail)))
        self._slots.clear()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> list[Slot]:
        """Every queued slot, oldest first, waiting for one if none is queued.

        Raises `ClientClosed` once the queue is closed.
        """
        while not self._slots and self.closed is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.take()

    def take(self) -> list[Slot]:
        """Every queued slot, oldest first (maybe none), without waiting.

        Raises `ClientClosed` once the queue is closed.
        """
        if self.closed is not None:
            raise ClientClosed(self.closed)
        slots = list(self._slots)
        self._slots.clear()
        for slot in slots:
            slot.pending = False
        return slots

    async def park(self) -> None:
        """Wait for `wake` or `close` (a push-mode writer's own task waits here)."""
        if self.closed is not None:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        """End a `park`."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def sending(self) -> None:
        """The writer starts a send."""
        self.busy_since = time.monotonic()

    def sent(self) -> None:
        """The writer's send completed."""
        self.last_sent = time.monotonic()
        self.busy_since = None


class Feed:
    """What one client receives from one stream: events queued with the feed's `tag`.

    A feed may be fed by several sources (a WebSocket ``stream_tickers`` naming several
    symbols). Each source's snapshot comes before that source's updates: updates of a source
    whose snapshot has not been queued yet (a new feed, or one the source `resync`s after a
    reconnect) are held back, then queued behind it. Status events are never held back, so a
    client learns at once that Redis is unreachable. `degraded` remembers a ``reconnecting``
    status so that the next snapshot is preceded by a ``live`` one.
    """

    __slots__ = ("_held", "_held_count", "_keyed", "_live", "degraded", "queue", "tag")

    def __init__(self, queue: ClientQueue[Any], tag: Any) -> None:
        self.queue = queue
        self.tag = tag
        self.degraded = False
        self._live: set[object] = set()  # sources whose snapshot is queued: updates flow
        self._held: dict[object, list[Event]] = {}  # source -> updates waiting for its snapshot
        self._held_count = 0
        self._keyed: dict[str, Slot] = {}  # conflation key -> its slot, while pending

    def update(self, event: Event, origin: object = None) -> None:
        """An update (or problem) from the source `origin`."""
        if origin in self._live:
            self._put(event)
        elif self._held_count < self.queue.limit:
            self._held.setdefault(origin, []).append(event)
            self._held_count += 1
        else:
            self.queue.close("slow_consumer", f"more than {self.queue.limit} events were pending")

    def snapshot(self, event: Event, origin: object = None) -> None:
        """A snapshot (or the problem standing in for one) from `origin`: first, or after a
        reconnect; then the updates of `origin` held back meanwhile."""
        if self.degraded:
            self.degraded = False
            self._put(_LIVE)
        # A tick still queued before this snapshot must not take a newer value in its place:
        # the client would then end on the (older) snapshot. Later ticks get slots behind it.
        self._keyed.clear()
        self._put(event)
        self._live.add(origin)
        held = self._held.pop(origin, None)
        if held:
            self._held_count -= len(held)
            for early in held:
                self._put(early)

    def resync(self, origin: object) -> None:
        """`origin` will send a fresh snapshot (after a reconnect): hold its updates until then,
        so that no update newer than the snapshot is queued before it."""
        self._live.discard(origin)

    def down(self, event: Event) -> None:
        """The Redis link behind the source failed: say so once per outage."""
        if not self.degraded:
            self.degraded = True
            self._put(event)

    def _put(self, event: Event) -> None:
        key = event.key
        if key is None:
            self.queue.put(event, self.tag)
            return
        slot = self._keyed.get(key)
        if slot is not None and slot.pending:
            slot.item = event  # conflated: the newest value, in the queued one's place
            return
        slot = self.queue.put(event, self.tag)
        if slot is not None:
            self._keyed[key] = slot


_LIVE = status_event("live", "Redis is reachable again; a fresh snapshot follows")


class Flusher:
    """One task that runs, in one pass, the `flush` of every client with something to send.

    With 1,000 clients on one ticker, a task wake-up per client per tick (each resuming its
    request's deep await chain through the middleware) cost as much as the sends themselves;
    here a burst of ticks costs one wake-up, and each client one `flush` call.
    """

    def __init__(self) -> None:
        self._due: list[Callable[[], object]] = []
        self._waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    def add(self, flush: Callable[[], object]) -> None:
        """Run `flush` in the next pass (the caller makes sure it is added once per batch)."""
        self._due.append(flush)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fullon-cache-api-flusher")
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def stop(self) -> asyncio.Task[None] | None:
        """Cancel the task; returns it so the hub can await it."""
        task, self._task = self._task, None
        self._due.clear()
        if task is not None:
            task.cancel()
        return task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._due:
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            due, self._due = self._due, []
            for done, flush in enumerate(due, 1):
                try:
                    flush()
                except Exception:  # one broken writer must not stop the others
                    _log.exception("a stream writer failed")
                if not done % _FLUSH_SLICE:
                    # Let the pub/sub reader in: a tick read now reaches every client within
                    # one round (clients flushed already queue behind the rest of this one)
                    # instead of waiting for the round to end first.
                    await asyncio.sleep(0)
