"""Live streams: one Redis pub/sub connection and shared pollers, fanned out to many clients.

::

    Redis ──(1 pub/sub connection)── PubSubLink ──┐
          ──(read commands, 1 per key)── poller ──┤ Source (1 per channel / pattern / key)
                                                  │   decodes and encodes each change once
                                                  ├── Feed ── ClientQueue ── SSE response
                                                  └── Feed ── ClientQueue ── WebSocket writer

Every stream starts with a snapshot; a slow client is cut off with a reason; a Redis outage is
a ``status`` event, then a reconnect with backoff, resubscription and fresh snapshots.
"""

from __future__ import annotations

from ._events import Event, ProcessBroadcast, StreamClosed, StreamStatus
from ._hub import Hub, HubStats, Spec, Watch, hub_from
from ._pubsub import PUBSUB_CLIENT_NAME
from ._queue import ClientClosed, ClientQueue, Feed
from ._settings import StreamSettings
from ._sse import EventStream

__all__ = [
    "PUBSUB_CLIENT_NAME",
    "ClientClosed",
    "ClientQueue",
    "Event",
    "EventStream",
    "Feed",
    "Hub",
    "HubStats",
    "ProcessBroadcast",
    "Spec",
    "StreamClosed",
    "StreamSettings",
    "StreamStatus",
    "Watch",
    "hub_from",
]
