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

from ._actions import DOMAINS
from ._calls import Domain
from ._dialects import MAIN, ORIGINAL, RICH, Dialect
from ._events import Event, ProcessBroadcast, StreamClosed, StreamStatus
from ._hub import Hub, HubStats, Spec, Watch, hub_from
from ._original_actions import ORIGINAL_DOMAINS
from ._polled import Balances, Bots, Ohlcv, Orders, Positions
from ._pubsub import PUBSUB_CLIENT_NAME
from ._queue import ClientClosed, ClientQueue, Feed
from ._settings import StreamSettings
from ._socket import Session
from ._specs import ProcessBroadcasts, TickerExchange, TickerSymbol
from ._sse import EventStream

__all__ = [
    "DOMAINS",
    "MAIN",
    "ORIGINAL",
    "ORIGINAL_DOMAINS",
    "PUBSUB_CLIENT_NAME",
    "RICH",
    "Balances",
    "Bots",
    "ClientClosed",
    "ClientQueue",
    "Dialect",
    "Domain",
    "Event",
    "EventStream",
    "Feed",
    "Hub",
    "HubStats",
    "Ohlcv",
    "Orders",
    "Positions",
    "ProcessBroadcast",
    "ProcessBroadcasts",
    "Session",
    "Spec",
    "StreamClosed",
    "StreamSettings",
    "StreamStatus",
    "TickerExchange",
    "TickerSymbol",
    "Watch",
    "hub_from",
]
