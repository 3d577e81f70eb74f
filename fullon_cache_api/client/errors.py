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


# Status -> exception, filled by the subclasses that declare a status (`CacheApiError`
# otherwise); read by `error_from_response`.
_BY_STATUS: dict[int, type[CacheApiError]] = {}


class CacheApiError(Exception):
    """A problem answered by the gateway (or met on the way to it)."""

    default_status: ClassVar[int | None] = None

    def __init_subclass__(
        cls, *, status: int | None = None, also: tuple[int, ...] = (), **kwargs: Any
    ) -> None:
        """``class NotFound(CacheApiError, status=404)``: its `default_status`, and the class
        `error_from_response` raises for that status and the statuses `also` names."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.default_status = status
            _BY_STATUS.update(dict.fromkeys((status, *also), cls))

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


class Unauthorized(CacheApiError, status=401):
    """401: no credentials, or credentials that do not verify."""


class Forbidden(CacheApiError, status=403):
    """403: the credentials verify but may not do this."""


class NotFound(CacheApiError, status=404):
    """404: the key or field is not in the cache (or not yours), or the path is unknown."""


class InvalidInput(CacheApiError, status=422, also=(400, 414, 431)):
    """422 (and 400, 414, 431): the request was refused as malformed or out of bounds."""


class RateLimited(CacheApiError, status=429):
    """429: past a limit; `retry_after` says when to try again."""


class CorruptEntry(CacheApiError, status=502):
    """502: the addressed cache entry does not decode as fullon_cache writes it."""


class Unavailable(CacheApiError, status=503):
    """503: Redis is unreachable or the gateway is shutting down; `retry_after` says when."""


class Timeout(CacheApiError, status=504):
    """504 (Redis did not answer in time), or no answer within the client's own timeout."""


class Unreachable(CacheApiError):
    """The gateway could not be reached at all (refused, reset, DNS): no status."""


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
