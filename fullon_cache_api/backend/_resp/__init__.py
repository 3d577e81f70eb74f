"""The gateway's own read-only Redis client: asyncio protocols and hiredis, nothing else.

redis-py 8's asyncio client spends most of a small request's CPU in layers a read-only gateway
does not need (observability hooks, retries around every call, ``wait_for``). This client keeps
what the gateway needs: a pool with redis-py's blocking semantics, AUTH (ACL user or password),
SELECT, CLIENT SETNAME, TLS, connect and socket timeouts, one retry after a server restart,
pipelines, and a connection the hub's pub/sub link and the near cache's RESP3 invalidation
link can drive. Errors are redis-py's exception classes, so error handling is the same for
both clients.

    ReadOnlyRedis ── ConnectionPool ── Connection (asyncio.Protocol + hiredis.Reader)
        └─ Pipeline ──┘
"""

from ..._redis_url import Options, options_from_url, ssl_context
from ._client import Pipeline, ReadOnlyRedis
from ._connection import Connection, pack
from ._pool import ConnectionPool

__all__ = [
    "Connection",
    "ConnectionPool",
    "Options",
    "Pipeline",
    "ReadOnlyRedis",
    "options_from_url",
    "pack",
    "ssl_context",
]
