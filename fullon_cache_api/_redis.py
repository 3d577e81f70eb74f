"""Building the one Redis client an app uses, and translating redis-py errors to ours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ._errors import CacheTimeout, CacheUnavailable, CorruptEntry
from ._settings import Settings

__all__ = ["build_client", "translate_errors"]


def build_client(settings: Settings) -> Redis:
    """A client over one blocking pool; nothing connects until the first command.

    The pool blocks (up to the socket timeout) instead of failing when every connection is in
    use, so bursts beyond REDIS_MAX_CONNECTIONS queue. One immediate retry on a connection
    error re-dials a pooled socket that Redis closed (restart); no retry on timeouts, so a slow
    Redis answers 504 after one timeout, not several. No PING per operation.
    """
    options: dict[str, Any] = {
        "max_connections": settings.redis_max_connections,
        "timeout": settings.redis_socket_timeout,
        "socket_timeout": settings.redis_socket_timeout,
        "socket_connect_timeout": settings.redis_socket_timeout,
        "retry": Retry(NoBackoff(), 1),
        "client_name": "fullon_cache_api",
    }
    if settings.redis_username is not None:
        options["username"] = settings.redis_username
    if settings.redis_password is not None:
        options["password"] = settings.redis_password
    if settings.redis_url is not None:
        pool = BlockingConnectionPool.from_url(settings.redis_url, **options)
    else:
        pool = BlockingConnectionPool(
            host=settings.redis_host, port=settings.redis_port, db=settings.redis_db, **options
        )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() disconnects it


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
