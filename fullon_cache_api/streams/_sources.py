"""Sources: one per watched channel, pattern or polled key, shared by all of its clients.

A source fans each change out to its feeds, encoded once (a poller: once per distinct view of
its value). Snapshots are coalesced: feeds that need one (new clients, or everybody after a
reconnect) are served by a single load.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import Counter
from typing import Any, Protocol

from .._errors import CacheTimeout, CacheUnavailable, CorruptEntry, NotFound
from ..data import CacheReader
from ._events import NULL, Event, encode, status_event
from ._pubsub import PubSubLink
from ._queue import Feed
from ._settings import StreamSettings
from ._specs import ChannelSpec, PollSpec

__all__ = ["ChannelSource", "PollSource", "Source"]

_log = logging.getLogger("fullon.api.cache.streams")
# Errors that mean "Redis is unreachable or too slow": the source retries, clients are told.
_OUTAGE = (CacheUnavailable, CacheTimeout)
_NULL_SNAPSHOT = Event("snapshot", NULL)  # the key is not cached (or shows this view nothing)
_ABSENT = object()  # a poller's value when its key is not cached


class SourceHub(Protocol):
    """What a source needs of the hub that runs it (`_hub.Hub`): declared here, so sources do
    not import the hub that imports them."""

    reader: CacheReader
    settings: StreamSettings
    link: PubSubLink


class Source:
    """What every source shares: its feeds, and the task it runs while it has any."""

    def __init__(self, hub: SourceHub) -> None:
        self.hub = hub
        self.feeds: set[Feed] = set()
        self._want: set[Feed] = set()  # feeds waiting for a snapshot
        self._task: asyncio.Task[None] | None = None

    def detach(self, feed: Feed) -> None:
        """Forget `feed`; after the last one the hub stops the source (`Hub._unwatch`)."""
        self.feeds.discard(feed)
        self._want.discard(feed)

    def stop(self) -> asyncio.Task[None] | None:
        """Cancel the source's task; returns it so the hub can await it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        return task

    def _down(self, detail: str) -> None:
        event = status_event("reconnecting", detail)
        for feed in list(self.feeds):
            feed.down(event)


class ChannelSource(Source):
    """A channel or pattern: updates come from the hub's pub/sub link."""

    def __init__(self, hub: SourceHub, spec: ChannelSpec) -> None:
        super().__init__(hub)
        self.spec = spec
        self.topic = spec.topic
        self.skipped = 0

    def attach(self, feed: Feed) -> None:
        """Subscribe on the first feed; every feed gets a snapshot once the link confirms."""
        link = self.hub.link
        if not self.feeds:
            link.acquire(self.topic, self)
        self.feeds.add(feed)
        self._want.add(feed)
        if link.down_detail is not None:
            feed.down(status_event("reconnecting", link.down_detail))
        self._kick()

    def detach(self, feed: Feed) -> None:
        super().detach(feed)
        if not self.feeds:
            self.hub.link.release(self.topic, self)

    # -- Listener -------------------------------------------------------------------------
    def on_message(self, channel: str, data: bytes) -> None:
        """Decode once, queue for every feed."""
        event = self.spec.decode(channel, data)
        if event is None:
            self.skipped += 1  # a producer writing garbage must not flood the log
            log = _log.warning if self.skipped == 1 else _log.debug
            log("skipped a message on %s that does not decode (%d so far)", channel, self.skipped)
            return
        for feed in self.feeds:
            feed.update(event, self)

    def on_down(self, detail: str) -> None:
        self._down(detail)

    def on_up(self) -> None:
        # Subscribed again, messages may flow before the fresh snapshot is read: each feed
        # holds them until its snapshot is queued, so none ends on the older snapshot.
        for feed in self.feeds:
            feed.resync(self)
        self._want = set(self.feeds)
        self._kick()

    # -- snapshots ------------------------------------------------------------------------
    def _kick(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._snapshots(), name=f"snapshots {self.topic}")

    async def _snapshots(self) -> None:
        """Serve the feeds waiting for a snapshot with one load per round."""
        delay = self.hub.settings.poll_interval
        while self._want:
            # Loaded only after Redis confirmed the subscription: no update can fall between.
            await self.hub.link.confirmed(self.topic)
            batch, self._want = self._want, set()
            try:
                event = await self.spec.snapshot(self.hub.reader)
            except _OUTAGE as exc:
                self._want |= batch & self.feeds
                self._down(exc.detail)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.hub.settings.max_backoff)
                continue
            for feed in batch & self.feeds:
                feed.snapshot(event, self)


class PollSource(Source):
    """A key polled every `poll_interval` seconds; emits only when its raw state changed.

    One per `PollSpec.source`, whatever the callers' rights or limits: the value is loaded
    once per change, and each feed receives its spec's `view` of it, encoded once per view.
    A view whose payload did not change (another owner's order changed) sends nothing. After
    a load the next poll waits at least as long as the load took: a big key that changes all
    the time is not read back to back.
    """

    def __init__(self, hub: SourceHub, spec: PollSpec) -> None:
        super().__init__(hub)
        self.spec = spec
        self._polling = spec.polling(hub.reader, hub.settings.poll_entries)
        self._loaded_in = 0.0  # seconds the last load took
        self._digest: bytes | None = None
        self._loaded = False
        # What `spec.load` returned: the value, `_ABSENT`, or the problem standing in for it.
        self._value: Any = _ABSENT
        self._down_detail: str | None = None
        self._wake = asyncio.Event()
        self._view_of: dict[Feed, PollSpec] = {}
        self._viewers: Counter[PollSpec] = Counter()
        self._shown: dict[PollSpec, Event] = {}  # each view's snapshot of the current value

    def attach(self, feed: Feed, view: PollSpec) -> None:
        """A live poller serves the snapshot from what it last read: no extra Redis read."""
        self.feeds.add(feed)
        self._view_of[feed] = view
        self._viewers[view] += 1
        if self._down_detail is not None:
            feed.down(status_event("reconnecting", self._down_detail))
            self._want.add(feed)
        elif self._loaded:
            feed.snapshot(self._snapshot(view), self)
        else:
            self._want.add(feed)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"poll {self.spec!r}")
        else:
            self._wake.set()

    def detach(self, feed: Feed) -> None:
        super().detach(feed)
        view = self._view_of.pop(feed, None)
        if view is not None:
            self._viewers[view] -= 1
            if not self._viewers[view]:
                del self._viewers[view]
                self._shown.pop(view, None)

    async def _run(self) -> None:
        delay = 0.0
        while True:
            if delay:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
            self._wake.clear()
            try:
                changed = await self._poll()
            except _OUTAGE as exc:
                self._down_detail = exc.detail
                self._down(exc.detail)
                settings = self.hub.settings
                delay = min(max(delay * 2, settings.poll_interval), settings.max_backoff)
                continue
            delay = max(self.hub.settings.poll_interval, self._loaded_in)
            self._loaded_in = 0.0
            if self._down_detail is not None:  # back after an outage: everybody resyncs
                self._down_detail = None
                self._want = set(self.feeds)
            if changed:
                self._publish()
            if self._want:
                for feed in self._want & self.feeds:
                    feed.snapshot(self._snapshot(self._view_of[feed]), self)
                self._want = set()

    async def _poll(self) -> bool:
        """Probe; on a new digest load (and decode) once. True when a new value was loaded."""
        try:
            raw = await self._polling.probe(self.hub.reader.redis)
        except CorruptEntry as exc:  # e.g. the key holds another Redis type
            raw = b"\x00corrupt:" + exc.detail.encode()
        digest = hashlib.blake2b(raw, digest_size=20).digest()
        if digest == self._digest:
            return False  # unchanged: nothing loaded, nothing decoded
        started = time.monotonic()
        try:
            value = await self._polling.load(self.hub.reader)
        except NotFound:
            value = _ABSENT
        except CorruptEntry as exc:
            value = Event("problem", encode(exc.problem()))
        self._loaded_in = time.monotonic() - started
        self._digest = digest  # only once loaded: an outage mid-load retries the load
        self._value, self._loaded = value, True
        return True

    def _publish(self) -> None:
        """Send each feed an update of its view, when that view changed."""
        before, self._shown = self._shown, {}
        updates: dict[PollSpec, Event | None] = {}
        for feed in self.feeds - self._want:
            view = self._view_of[feed]
            if view not in updates:
                now = self._snapshot(view)
                updates[view] = None if before.get(view) == now else _as_update(now)
            update = updates[view]
            if update is not None:
                feed.update(update, self)

    def _snapshot(self, view: PollSpec) -> Event:
        """`view` of the current value as a snapshot (or problem), encoded once per value."""
        event = self._shown.get(view)
        if event is None:
            event = self._shown[view] = self._render(view)
        return event

    def _render(self, view: PollSpec) -> Event:
        value = self._value
        if isinstance(value, Event):  # a problem stands in for every view
            return value
        if value is _ABSENT:
            return _NULL_SNAPSHOT
        try:
            return Event("snapshot", encode(view.view(value)))
        except NotFound:  # nothing of the value is this view's
            return _NULL_SNAPSHOT


def _as_update(snapshot: Event) -> Event:
    return snapshot if snapshot.kind == "problem" else Event("update", snapshot.data)
