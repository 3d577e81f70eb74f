"""Settings of the live streams: heartbeat, polling, per-client bounds, reconnect backoff."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import msgspec

from .._settings import struct_from_env

__all__ = ["StreamSettings"]

_Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]

# Environment variable -> field, read only by `StreamSettings.from_env`.
_ENV = {
    "FULLON_CACHE_API_STREAM_HEARTBEAT": "heartbeat",
    "FULLON_CACHE_API_STREAM_POLL_INTERVAL": "poll_interval",
    "FULLON_CACHE_API_STREAM_POLL_ENTRIES": "poll_entries",
    "FULLON_CACHE_API_STREAM_QUEUE_SIZE": "queue_size",
    "FULLON_CACHE_API_STREAM_SEND_TIMEOUT": "send_timeout",
    "FULLON_CACHE_API_STREAM_MAX_BACKOFF": "max_backoff",
    "FULLON_CACHE_API_STREAM_MAX_PER_IDENTITY": "max_per_identity",
    "FULLON_CACHE_API_STREAM_MAX_TOTAL": "max_total",
    "FULLON_CACHE_API_STREAM_MAX_POLLED_KEYS": "max_polled_keys",
}


class StreamSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How streams behave; every duration is in seconds.

    `heartbeat`: an SSE comment after this long without an event. `poll_interval`: how often a
    shared poller reads a key of a domain fullon_cache does not publish. `poll_entries`: the
    most entries of a big key one poll reads to see whether it changed (a hash bigger than
    that is walked over several polls, see `hub._probes`); a poller also waits as long as its
    last load took before it polls again. `queue_size`: events a
    client may have pending before it is cut off as a slow consumer. `send_timeout`: a client
    whose socket accepts nothing for this long is cut off. `max_backoff`: the cap of the
    exponential reconnect delay. `keepalive`: the pub/sub connection sends PING after this long
    without traffic and is presumed dead after twice that. `max_streams`: streams one WebSocket
    may hold at once. `max_symbols`: symbols one ``stream_tickers`` action may name.

    Admission (see `hub._admission`): `max_per_identity` streams (SSE responses and WebSocket
    subscriptions) one identity may hold open, `max_total` in the whole process, and
    `max_polled_keys` distinct keys the shared pollers may read (a stream on a key already
    polled costs no new poller, so it is never refused for this one).
    """

    heartbeat: _Seconds = 15.0
    poll_interval: _Seconds = 1.0
    poll_entries: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 10_000
    queue_size: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 4096
    send_timeout: _Seconds = 10.0
    max_backoff: _Seconds = 5.0
    keepalive: _Seconds = 5.0
    max_streams: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 64
    max_symbols: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 200
    max_per_identity: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 100
    max_total: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 10_000
    max_polled_keys: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StreamSettings:
        """Read ``FULLON_CACHE_API_STREAM_*`` from `environ` (default ``os.environ``).

        An invalid value raises `SettingsError` naming the variable (one line).
        """
        return struct_from_env(cls, _ENV, environ)
