"""Sources: one per watched channel, pattern or polled key, shared by all of its clients.

A source fans each change out to its feeds, encoded once. Snapshots are coalesced: feeds
that need one (new clients, or everybody after a reconnect) are served by a single load.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import TYPE_CHECKING

from .._errors import CacheTimeout, CacheUnavailable, CorruptEntry
from ._events import Event, encode, status_event
from ._queue import Feed
from ._specs import ChannelSpec, PollSpec, load_event

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["ChannelSource", "PollSource", "Source"]

_log = logging.getLogger("fullon.api.cache.streams")
# Errors that mean "Redis is unreachable or too slow": the source retries, clients are told.
_OUTAGE = (CacheUnavailable, CacheTimeout)


class Source:
    """What every source shares: its feeds, and the task it runs while it has any."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.feeds: set[Feed] = set()
        self._want: set[Feed] = set()  # feeds waiting for a snapshot
        self._task: asyncio.Task[None] | None = None

    def attach(self, feed: Feed) -> None:
        raise NotImplementedError

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

    def __init__(self, hub: Hub, spec: ChannelSpec) -> None:
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
            feed.update(event)

    def on_down(self, detail: str) -> None:
        self._down(detail)

    def on_up(self) -> None:
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
                event = await self.hub.detached(self.spec.snapshot(self.hub.reader))
            except _OUTAGE as exc:
                self._want |= batch & self.feeds
                self._down(exc.detail)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.hub.settings.max_backoff)
                continue
            for feed in batch & self.feeds:
                feed.snapshot(event)


class PollSource(Source):
    """A key polled every `poll_interval` seconds; emits only when its raw state changed."""

    def __init__(self, hub: Hub, spec: PollSpec) -> None:
        super().__init__(hub)
        self.spec = spec
        self._digest: bytes | None = None
        self._value: bytes | None = None  # the JSON clients were last sent
        self._problem: Event | None = None  # stands in for the value while it is corrupt
        self._down_detail: str | None = None
        self._wake = asyncio.Event()

    def attach(self, feed: Feed) -> None:
        """A live poller serves the snapshot from what it last read: no extra Redis read."""
        self.feeds.add(feed)
        if self._down_detail is not None:
            feed.down(status_event("reconnecting", self._down_detail))
            self._want.add(feed)
        elif self._current() is not None:
            feed.snapshot(self._snapshot_event())
        else:
            self._want.add(feed)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"poll {self.spec!r}")
        else:
            self._wake.set()

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
            delay = self.hub.settings.poll_interval
            if self._down_detail is not None:  # back after an outage: everybody resyncs
                self._down_detail = None
                self._want = set(self.feeds)
            if changed:
                update = self._update_event()
                for feed in self.feeds - self._want:
                    feed.update(update)
            if self._want:
                snapshot = self._snapshot_event()
                for feed in self._want & self.feeds:
                    feed.snapshot(snapshot)
                self._want = set()

    async def _poll(self) -> bool:
        """Probe; on a new digest load and encode. True when clients must hear of a change."""
        try:
            raw = await self.hub.detached(self.spec.probe(self.hub.reader.redis))
        except CorruptEntry as exc:  # e.g. the key holds another Redis type
            raw = b"\x00corrupt:" + exc.detail.encode()
        digest = hashlib.blake2b(raw, digest_size=20).digest()
        if digest == self._digest:
            return False  # unchanged: nothing decoded
        first = self._digest is None
        event = await self.hub.detached(load_event(lambda: self.spec.load(self.hub.reader)))
        self._digest = digest  # only once loaded: an outage mid-load retries the load
        if event.kind == "problem":
            changed = self._problem is None or self._problem.data != event.data
            self._problem = event
        else:
            changed = self._problem is not None or event.data != self._value
            self._problem, self._value = None, event.data
        return changed and not first

    def _current(self) -> bytes | None:
        return self._problem.data if self._problem is not None else self._value

    def _snapshot_event(self) -> Event:
        return self._problem or Event("snapshot", self._value or encode(None))

    def _update_event(self) -> Event:
        return self._problem or Event("update", self._value or encode(None))
