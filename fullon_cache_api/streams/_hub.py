"""The hub: one per app, created without I/O by `create_app`; starts work on first use."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import msgspec
from starlette.requests import HTTPConnection

from .._errors import TooManyStreams
from ..backend import LoopBinding
from ..data import CacheReader
from ..security import Identity
from ._admission import Admission, Ticket
from ._events import HEARTBEAT
from ._pubsub import PubSubLink
from ._queue import ClientQueue, Feed, Flusher
from ._settings import StreamSettings
from ._sources import ChannelSource, PollSource, Source
from ._specs import ChannelSpec, PollSpec

__all__ = ["Hub", "HubStats", "Watch", "hub_from"]

Spec = ChannelSpec | PollSpec

_log = logging.getLogger("fullon.api.cache.streams")


class HubStats(msgspec.Struct, frozen=True, kw_only=True):
    """What the hub holds right now (for tests, metrics and the benchmark)."""

    clients: int
    sources: int
    feeds: int
    channels: int
    patterns: int
    link_connects: int
    link_up: bool
    cutoffs: int
    streams: int  # admitted: SSE responses and WebSocket subscriptions
    identities: int  # identities holding at least one admitted stream
    polled_keys: int  # distinct keys read by shared pollers


class Watch:
    """A feed attached to a source; `close()` detaches it (idempotent)."""

    __slots__ = ("_feed", "_hub", "_spec")

    def __init__(self, hub: Hub | None, spec: Spec, feed: Feed) -> None:
        self._hub = hub
        self._spec = spec
        self._feed = feed

    def close(self) -> None:
        hub, self._hub = self._hub, None
        if hub is not None:
            hub._unwatch(self._spec, self._feed)


class Hub:
    """The pub/sub link, the shared sources keyed by spec, and the clients' queues."""

    def __init__(self, reader: CacheReader, settings: StreamSettings) -> None:
        self.reader = reader
        self.settings = settings
        self.link = PubSubLink(reader.redis, settings)
        self._sources: dict[Spec, Source] = {}
        self._queues: set[ClientQueue[Any]] = set()
        self._stopping: set[asyncio.Task[None]] = set()
        self._cutoffs = 0
        self._housekeeper: asyncio.Task[None] | None = None
        self.flusher = Flusher()  # sends for every SSE client in one pass (see `EventStream`)
        self.admission = Admission(per_identity=settings.max_per_identity, total=settings.max_total)
        self._polled = 0  # PollSources in `_sources`
        self.closed = False
        self._binding = LoopBinding()

    def _on_running_loop(self) -> None:
        """Everything the hub holds runs on one event loop; on another one (a new TestClient
        portal) it starts afresh, and a loop shutting down leaves nothing behind."""
        if self._binding.rebind(self._forget):
            self._forget()

    def _forget(self) -> None:
        # The loop's tasks were cancelled (or the loop is gone): keep no reference to them.
        # Admission tickets are not reset: each stream's own clean-up gives its ticket back.
        self.link = PubSubLink(self.reader.redis, self.settings)
        self._sources.clear()
        self._polled = 0
        self._queues.clear()
        self._stopping.clear()
        self._housekeeper = None
        self.flusher = Flusher()

    def admit(self, identity: Identity | None, specs: Sequence[Spec]) -> Ticket:
        """A ticket for one stream of `identity` over `specs` (close it when the stream ends).

        Raises `TooManyStreams` past the identity's or the process's stream limit, or when the
        stream needs pollers for more distinct keys than `max_polled_keys` allows.
        """
        new_keys = {
            spec.source
            for spec in specs
            if isinstance(spec, PollSpec)
            and not isinstance(self._sources.get(spec.source), PollSource)
        }
        if new_keys and self._polled + len(new_keys) > self.settings.max_polled_keys:
            self.admission.refused += 1
            raise TooManyStreams(
                f"the gateway polls its maximum of {self.settings.max_polled_keys} distinct "
                "keys; retry later, or stream a key already streamed"
            )
        return self.admission.admit(identity)

    def open_queue(self, *, heartbeats: bool = True) -> ClientQueue[Any]:
        """A new client's bounded queue; give it back with `close_queue`."""
        self._on_running_loop()
        queue: ClientQueue[Any] = ClientQueue(self.settings.queue_size, heartbeats=heartbeats)
        if self.closed:
            queue.close("shutdown", "the gateway is shutting down")
        self._queues.add(queue)
        if self._housekeeper is None and not self.closed:
            self._housekeeper = asyncio.create_task(self._housekeep(), name="fullon-cache-api-hub")
        return queue

    def close_queue(self, queue: ClientQueue[Any]) -> None:
        """The client is gone: count it if it was cut off, and forget it."""
        self._queues.discard(queue)
        if queue.closed is not None and b"slow_consumer" in queue.closed.data:
            self._cutoffs += 1

    def watch(self, spec: Spec, feed: Feed) -> Watch:
        """Attach `feed` to the source of `spec`, creating (and starting) it if needed.

        A poll spec's source is its `source` (what is read from Redis): streams that differ
        only in the caller's rights or a limit share one poller. Once the hub is closed
        nothing is attached (the client's queue is closed already).
        """
        key: Spec = spec.source if isinstance(spec, PollSpec) else spec
        if self.closed:
            return Watch(None, key, feed)
        source = self._sources.get(key)
        if isinstance(spec, ChannelSpec):
            if not isinstance(source, ChannelSource):
                source = self._sources[key] = ChannelSource(self, spec)
            source.attach(feed)
        else:
            if not isinstance(source, PollSource):
                source = self._sources[key] = PollSource(self, spec.source)
                self._polled += 1
            source.attach(feed, spec)
        return Watch(self, key, feed)

    def _unwatch(self, spec: Spec, feed: Feed) -> None:
        source = self._sources.get(spec)
        if source is None:
            return
        source.detach(feed)
        if not source.feeds:
            del self._sources[spec]
            if isinstance(source, PollSource):
                self._polled -= 1
            task = source.stop()
            if task is not None and not task.done():
                self._stopping.add(task)  # keep a reference until the cancellation lands
                task.add_done_callback(self._stopping.discard)

    async def _housekeep(self) -> None:
        """Cut off writers stuck in a send; queue heartbeats on idle SSE queues.

        One pass over the clients every quarter of the shorter period, instead of a timer per
        send and per wait (which cost more than the sends themselves with 1,000 clients).
        """
        settings = self.settings
        tick = max(0.01, min(settings.heartbeat, settings.send_timeout) / 4)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for queue in list(self._queues):
                busy = queue.busy_since
                if busy is not None and now - busy > settings.send_timeout:
                    detail = f"the client took nothing for {settings.send_timeout} s"
                    _log.warning("cut off a slow client (%s): %s", queue.label, detail)
                    queue.close("slow_consumer", detail)
                    if queue.on_stall is not None:
                        queue.on_stall()
                elif (
                    queue.heartbeats
                    and busy is None
                    and now - queue.last_sent >= settings.heartbeat
                ):
                    queue.put(HEARTBEAT)

    def stats(self) -> HubStats:
        """Counts of clients, sources, feeds and subscriptions."""
        channels, patterns = self.link.counts()
        return HubStats(
            clients=len(self._queues),
            sources=len(self._sources),
            feeds=sum(len(source.feeds) for source in self._sources.values()),
            channels=channels,
            patterns=patterns,
            link_connects=self.link.connects,
            link_up=self.link.down_detail is None,
            cutoffs=self._cutoffs,
            streams=self.admission.open,
            identities=self.admission.identities(),
            polled_keys=self._polled,
        )

    def shutdown(self) -> None:
        """The process is stopping: end every stream now (`close` event, reason ``shutdown``)
        and end new ones at once. Synchronous and without I/O, so a signal can start it;
        `aclose` (the lifespan) stops the sources and the link afterwards."""
        self.closed = True
        for queue in list(self._queues):
            queue.close("shutdown", "the gateway is shutting down")

    async def streams_ended(self, within: float) -> bool:
        """After `shutdown`: wait, at most `within` seconds, until every stream has sent its
        ``close`` and ended (a server closing its connections after that cuts none of them);
        True when they all did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # A short poll: streams leave `_queues` from their own tasks, once, at shutdown.
        while self._queues and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return not self._queues

    async def aclose(self) -> None:
        """End every stream (`close` event, reason ``shutdown``), stop sources and the link."""
        self.shutdown()
        tasks = [task for source in self._sources.values() if (task := source.stop())]
        self._sources.clear()
        self._polled = 0
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            tasks.append(self._housekeeper)
            self._housekeeper = None
        tasks.extend(self._stopping)
        flusher = self.flusher.stop()
        if flusher is not None:
            tasks.append(flusher)
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.link.aclose()


def hub_from(connection: HTTPConnection) -> Hub:
    """The app's hub (built by `create_app`, shared by all requests and sockets)."""
    hub: Hub = connection.app.state.hub
    return hub
