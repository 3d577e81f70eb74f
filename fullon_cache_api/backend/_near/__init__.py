"""A near cache: hot keys answered from memory, kept exact by Redis client-side tracking.

``create_app`` wraps the client it builds (never an injected one, never under Sentinel) when
``FULLON_CACHE_API_NEAR_CACHE_TTL`` is above 0 (default 1 s). The pieces:

- `Store` (``_store``): replies by key and command, bounded in entries and bytes, expiring
  after the TTL, with the pending-read rule that keeps a reply raced by a write out;
- `InvalidationLink` (``_link``): one RESP3 connection (the client's `Connection`) with
  ``CLIENT TRACKING on BCAST PREFIX ...``, its ``invalidate`` pushes applied to the store at
  once; while tracking is not confirmed the store is flushed and bypassed;
- `NearCache` (``_client``): the redis-py client's read methods in front of the store, every
  other method passed through.
"""

from __future__ import annotations

from typing import Any, cast

from ..._settings import Settings
from .._redis import CacheClient
from .._resp import Options
from ._client import NearCache
from ._link import LINK_CLIENT_NAME, InvalidationLink
from ._store import Store

__all__ = [
    "LINK_CLIENT_NAME",
    "MAX_BYTES",
    "MAX_ENTRIES",
    "TRACKED_PREFIXES",
    "InvalidationLink",
    "NearCache",
    "Store",
    "with_near_cache",
]

# Keys the hot single-command reads touch. Redis refuses overlapping prefixes, and reports
# writes under each one to us, so write-heavy keys nobody reads one at a time (OHLCV series,
# order queues, trade statuses) are left out. So are ``process:data:*`` documents: they expire,
# and Redis reports an expiry only when it deletes the key (on access, which a hit never makes,
# or in its sampling expire cycle), so a hit could outlive the key by up to that cycle.
TRACKED_PREFIXES = (
    "tickers:",
    "order_status:",  # expires only an hour after a cancel; the TTL bounds the lag then
    "bot_status",
    "block_exchange",
    "opening_position",
    "accounts",
    "account_positions",
    "process:active:",
    "process:components",
    "trades:",
    "user_trades:",
)
MAX_ENTRIES = 20_000
MAX_BYTES = 32 * 1024 * 1024


def with_near_cache(client: CacheClient, settings: Settings) -> CacheClient:
    """`client` behind a near cache, or `client` itself when the settings turn it off.

    For the client `create_app` builds only. Sentinel is left alone: a failover moves reads
    to another server whose invalidations this link would not hear.
    """
    options = _options_of(client)
    if settings.near_cache_ttl <= 0 or settings.redis_sentinels or options is None:
        return client
    store = Store(
        ttl=settings.near_cache_ttl,
        max_entries=MAX_ENTRIES,
        max_bytes=MAX_BYTES,
        max_entry_bytes=settings.max_value_bytes,  # an oversized value is never kept
    )
    link = InvalidationLink(store, options, TRACKED_PREFIXES)
    # Duck-typed: NearCache has every method the data layer calls, the rest pass through.
    return cast(CacheClient, NearCache(client, store, link, TRACKED_PREFIXES))


def _options_of(client: CacheClient) -> Options | None:
    """Where `client` connects, as our own client's `Options` (from a redis-py pool too)."""
    pool: Any = client.connection_pool
    options = getattr(pool, "options", None)
    if isinstance(options, Options):
        return options
    kwargs = getattr(pool, "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return None
    template = pool.connection_class(**kwargs)  # never connected: read its address only
    context = getattr(template, "ssl_context", None)
    return Options(
        host=getattr(template, "host", "localhost"),
        port=getattr(template, "port", 6379),
        path=getattr(template, "path", None),
        username=template.username,
        password=template.password,
        socket_timeout=template.socket_timeout,
        connect_timeout=template.socket_connect_timeout,
        ssl=context.get() if context is not None else None,
    )
