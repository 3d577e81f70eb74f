"""A typed Python client of the gateway: `AsyncCacheClient` and `CacheClient` (blocking).

    pip install "fullon_cache_api[client]"

    async with AsyncCacheClient("http://127.0.0.1:8000", api_key=KEY) as cache:
        ticker = await cache.ticker("binance", "BTC/USDT")      # a Ticker Struct
        async for bot in cache.bots.items():                      # every page, followed
            ...
        async with cache.stream_ticker("binance", "BTC/USDT") as stream:
            async for event in stream:                            # Snapshot, Update, ...
                ...

One method per HTTP endpoint, answering the gateway's own msgspec Structs; problem documents
raised as `CacheApiError` subclasses; streams as typed events that reconnect after a dropped
connection; `poll` yields an answer only when it changed (ETag revalidation). This package
imports httpx, msgspec and the gateway's Structs only, never the server's dependencies.
"""

from __future__ import annotations

from ._config import Reconnect, Retry
from ._request import Request
from ._stream_aio import AsyncStream
from ._stream_sync import SyncStream
from ._types import Bar, BarPage, TickerPage
from .async_client import AsyncCacheClient
from .errors import (
    CacheApiError,
    CorruptEntry,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Timeout,
    Unauthorized,
    Unavailable,
    Unreachable,
)
from .events import Close, Event, Problem, ProcessBroadcast, Snapshot, Status, Update
from .sync_client import CacheClient

__all__ = [
    "AsyncCacheClient",
    "AsyncStream",
    "Bar",
    "BarPage",
    "CacheApiError",
    "CacheClient",
    "Close",
    "CorruptEntry",
    "Event",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "Problem",
    "ProcessBroadcast",
    "RateLimited",
    "Reconnect",
    "Request",
    "Retry",
    "Snapshot",
    "Status",
    "SyncStream",
    "TickerPage",
    "Timeout",
    "Unauthorized",
    "Unavailable",
    "Unreachable",
    "Update",
]
