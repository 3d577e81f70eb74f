"""The errors the gateway can name, and the RFC 9457 problem document they become.

Exception tree::

    CacheAPIError                 (500, never raised directly)
    ├── Unauthenticated           401  no identity, or credentials that do not verify
    ├── NotFound                  404  the key or field is not in the cache (or not yours)
    ├── InvalidInput              422  a path or query parameter failed validation
    ├── TooManyStreams            429  past a stream limit (carries Retry-After)
    ├── CorruptEntry              502  a stored value cannot be decoded as fullon_cache writes it
    ├── CacheUnavailable          503  Redis cannot be reached (carries Retry-After)
    └── CacheTimeout              504  Redis did not answer within REDIS_SOCKET_TIMEOUT

A missing key (404) and a Redis outage (503) never look alike: the data layer raises NotFound
only after Redis answered.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

__all__ = [
    "CacheAPIError",
    "CacheTimeout",
    "CacheUnavailable",
    "CorruptEntry",
    "InvalidInput",
    "NotFound",
    "Problem",
    "TooManyStreams",
    "Unauthenticated",
]


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str


class CacheAPIError(Exception):
    """Base of every error the gateway answers with a problem document."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def problem(self) -> Problem:
        """The problem document describing this error."""
        return Problem(
            type=f"urn:fullon-cache-api:problem:{self.slug}",
            title=self.title,
            status=self.status,
            detail=self.detail,
        )

    def headers(self) -> dict[str, str]:
        """Extra response headers this error needs."""
        return {}


class Unauthenticated(CacheAPIError):
    """The request carries no identity, or credentials that do not verify."""

    status = 401
    title = "Not authenticated"
    slug = "not-authenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class NotFound(CacheAPIError):
    """The addressed key or field does not exist in the cache."""

    status = 404
    title = "Not found"
    slug = "not-found"


class InvalidInput(CacheAPIError):
    """A request parameter is malformed or out of bounds."""

    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class TooManyStreams(CacheAPIError):
    """A new stream would exceed a limit: per identity, in all, or of distinct polled keys."""

    status = 429
    title = "Too many streams"
    slug = "too-many-streams"
    retry_after: ClassVar[int] = 5

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class CorruptEntry(CacheAPIError):
    """A stored value does not decode as fullon_cache writes it (bad JSON, wrong key type)."""

    status = 502
    title = "Corrupt cache entry"
    slug = "corrupt-entry"


class CacheUnavailable(CacheAPIError):
    """Redis cannot be reached (refused, reset, authentication or pool exhausted)."""

    status = 503
    title = "Cache unavailable"
    slug = "cache-unavailable"
    retry_after: ClassVar[int] = 1

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class CacheTimeout(CacheAPIError):
    """Redis did not answer within the configured socket timeout."""

    status = 504
    title = "Cache timeout"
    slug = "cache-timeout"
