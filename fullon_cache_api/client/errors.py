"""Problems as exceptions: the gateway's RFC 9457 documents become `CacheApiError`s.

Exception tree::

    CacheApiError            any problem (its status, type, title, detail, the whole document)
    ├── Unauthorized         401  no credentials, or credentials that do not verify
    ├── Forbidden            403  refused (a host in front of the gateway may answer it)
    ├── NotFound             404  not in the cache, or not yours
    ├── InvalidInput         422  a parameter or cursor was refused (also 400, 414, 431)
    ├── RateLimited          429  past a stream limit (`retry_after` seconds)
    ├── CorruptEntry         502  the addressed entry does not decode
    ├── Unavailable          503  Redis unreachable, or the gateway shutting down
    ├── Timeout              504  Redis did not answer in time; also no answer in the client's
    │                             own timeout (then `status` is None)
    └── Unreachable          the gateway itself could not be reached (`status` is None)
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, ClassVar

import httpx
import msgspec

__all__ = [
    "CacheApiError",
    "CorruptEntry",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "Timeout",
    "Unauthorized",
    "Unavailable",
    "Unreachable",
    "error_from_response",
    "retry_after",
]


class CacheApiError(Exception):
    """A problem answered by the gateway (or met on the way to it)."""

    default_status: ClassVar[int | None] = None

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        type: str = "about:blank",  # the problem document's member name
        title: str = "",
        problem: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if status else detail)
        self.status = status if status is not None else self.default_status
        self.type = type
        self.title = title
        self.detail = detail
        self.problem: dict[str, Any] = problem or {}
        self.retry_after = retry_after


class Unauthorized(CacheApiError):
    """401: no credentials, or credentials that do not verify."""

    default_status = 401


class Forbidden(CacheApiError):
    """403: the credentials verify but may not do this."""

    default_status = 403


class NotFound(CacheApiError):
    """404: the key or field is not in the cache (or not yours), or the path is unknown."""

    default_status = 404


class InvalidInput(CacheApiError):
    """422 (and 400, 414, 431): the request was refused as malformed or out of bounds."""

    default_status = 422


class RateLimited(CacheApiError):
    """429: past a limit; `retry_after` says when to try again."""

    default_status = 429


class CorruptEntry(CacheApiError):
    """502: the addressed cache entry does not decode as fullon_cache writes it."""

    default_status = 502


class Unavailable(CacheApiError):
    """503: Redis is unreachable or the gateway is shutting down; `retry_after` says when."""

    default_status = 503


class Timeout(CacheApiError):
    """504 (Redis did not answer in time), or no answer within the client's own timeout."""

    default_status = 504


class Unreachable(CacheApiError):
    """The gateway could not be reached at all (refused, reset, DNS): no status."""


_BY_STATUS: dict[int, type[CacheApiError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    414: InvalidInput,
    422: InvalidInput,
    431: InvalidInput,
    429: RateLimited,
    502: CorruptEntry,
    503: Unavailable,
    504: Timeout,
}


def error_from_response(response: httpx.Response, body: bytes) -> CacheApiError:
    """The exception for an error answer: its problem document when it carries one."""
    problem = _problem(body)
    status = response.status_code
    title = str(problem.get("title") or response.reason_phrase)
    detail = str(problem.get("detail") or title)
    kind = _BY_STATUS.get(status, CacheApiError)
    return kind(
        detail,
        status=status,
        type=str(problem.get("type") or "about:blank"),
        title=title,
        problem=problem,
        retry_after=retry_after(response.headers.get("retry-after")),
    )


def _problem(body: bytes) -> dict[str, Any]:
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
