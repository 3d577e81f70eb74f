"""Building the one Redis client an app uses, and translating redis-py errors to ours.

The client we build is our own read-only `ReadOnlyRedis` (asyncio + hiredis, see `_resp`),
except with Sentinel, where redis-py's Sentinel support finds the nodes (behind `RedisPy`,
the adapter that owns redis-py's cancel behaviour). A host may inject a redis-py client
instead (`_redis_py.adopt_injected`). The data layer is written against `CacheClient`
(`_client`), a Protocol either of them satisfies: both speak redis-py's method names and raise
redis-py's exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff

from .._errors import CacheTimeout, CacheUnavailable, CorruptEntry
from .._settings import Settings
from ._client import CacheClient
from ._redis_py import RedisPy
from ._resp import ConnectionPool, Options, ReadOnlyRedis, options_from_url

__all__ = ["CLIENT_NAME", "CacheClient", "build_client", "translate_errors"]

CLIENT_NAME = "fullon_cache_api"  # in CLIENT LIST, for operators


def build_client(settings: Settings) -> CacheClient:
    """A client over one blocking pool; nothing connects until the first command.

    The pool blocks (up to the socket timeout) instead of failing when every connection is in
    use, so bursts beyond REDIS_MAX_CONNECTIONS queue. One immediate retry on a connection
    error re-dials a pooled socket that Redis closed (restart, failover); no retry on
    timeouts, so a slow Redis answers 504 after one timeout, not two. No PING per operation.

    Every command the gateway sends is a read, so the client goes where reads should go:
    the Sentinel-managed primary or replicas (REDIS_SENTINELS), else REDIS_READ_URL (a
    replica), else REDIS_URL / REDIS_HOST.
    """
    if settings.redis_sentinels:
        return RedisPy(_sentinel_client(settings, _options(settings)))
    pool = ConnectionPool(
        _resp_options(settings),
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_socket_timeout,
    )
    return ReadOnlyRedis(pool)


def _resp_options(settings: Settings) -> Options:
    """Where our own client connects: REDIS_READ_URL, else REDIS_URL, else host and port.

    Credentials and db in a URL win over REDIS_USERNAME / REDIS_PASSWORD / REDIS_DB (as with
    redis-py's ``from_url``).
    """
    defaults: dict[str, Any] = {
        "username": settings.redis_username,
        "password": settings.redis_password,
        "client_name": CLIENT_NAME,
        "socket_timeout": settings.redis_socket_timeout,
        "connect_timeout": settings.redis_socket_timeout,
    }
    url = settings.redis_read_url or settings.redis_url
    if url is not None:
        return options_from_url(url, **defaults)
    return Options(
        host=settings.redis_host, port=settings.redis_port, db=settings.redis_db, **defaults
    )


def _options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "max_connections": settings.redis_max_connections,
        "timeout": settings.redis_socket_timeout,
        "socket_timeout": settings.redis_socket_timeout,
        "socket_connect_timeout": settings.redis_socket_timeout,
        # redis-py retries timeouts too by default: a slow Redis would take two timeouts.
        "retry": Retry(NoBackoff(), 1, supported_errors=(redis_errors.ConnectionError,)),
        "client_name": CLIENT_NAME,
    }
    if settings.redis_username is not None:
        options["username"] = settings.redis_username
    if settings.redis_password is not None:
        options["password"] = settings.redis_password
    return options


class _SentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Addresses from Sentinel, waiting like the plain pool, closing its Sentinel with it.

    redis-py's Sentinel pool fails at once when full, and leaves the Sentinel's own clients
    open when the Redis client is closed; this pool does neither.
    """

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            await self.sentinel_manager.aclose()


def _sentinel_client(settings: Settings, options: dict[str, Any]) -> Redis:
    """master_for (or slave_for with REDIS_SENTINEL_READ=replica) over `_SentinelPool`."""
    sentinel_options = {
        "socket_timeout": settings.redis_socket_timeout,
        "socket_connect_timeout": settings.redis_socket_timeout,
        "retry": options["retry"],
        "client_name": "fullon_cache_api_sentinel",
    }
    if settings.redis_sentinel_password is not None:
        sentinel_options["password"] = settings.redis_sentinel_password
    # redis-py before 8.2 leaves it unannotated
    sentinel = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]
        list(settings.redis_sentinels), sentinel_kwargs=sentinel_options, db=settings.redis_db
    )
    pick = sentinel.slave_for if settings.redis_sentinel_read == "replica" else sentinel.master_for
    client: Redis = pick(
        settings.redis_sentinel_master or "",
        redis_class=Redis,
        connection_pool_class=_SentinelPool,
        **options,
    )
    return client


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Turn redis-py errors raised while reading `what` into the gateway's error tree."""
    try:
        yield
    except (redis_errors.TimeoutError, TimeoutError) as exc:
        raise CacheTimeout(f"Redis did not answer in time while reading {what}") from exc
    except redis_errors.ResponseError as exc:
        if "WRONGTYPE" in str(exc):  # pipelines prefix the server message
            raise CorruptEntry(f"{what} holds the wrong Redis type") from exc
        if isinstance(exc, redis_errors.NoPermissionError):
            raise CacheUnavailable(f"Redis refused to let us read {what} (ACL)") from exc
        raise CacheUnavailable(f"Redis refused the read of {what}: {exc}") from exc
    except (redis_errors.ConnectionError, redis_errors.BusyLoadingError, OSError) as exc:
        raise CacheUnavailable(f"Redis is unreachable while reading {what}") from exc
    except redis_errors.RedisError as exc:
        raise CacheUnavailable(f"Redis failed while reading {what}: {type(exc).__name__}") from exc
