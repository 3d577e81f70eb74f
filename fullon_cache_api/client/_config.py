"""What both clients are built from: the base URL, credentials, timeouts, and the policies
for retrying refused calls and reconnecting dropped streams."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from .._version import __version__

__all__ = ["Reconnect", "Retry", "client_options"]

# The statuses a retry may repeat a call for: both say "later", with Retry-After.
RETRYABLE = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Retry:
    """Opt-in retry of calls answered 429 or 503: `attempts` calls in all, waiting what the
    answer's ``Retry-After`` asks (else `backoff` doubling per attempt), never more than
    `max_wait` seconds at once."""

    attempts: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0
    statuses: frozenset[int] = RETRYABLE

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 = the first call)."""
        wanted = retry_after if retry_after is not None else self.backoff * 2.0 ** (attempt - 1)
        return max(0.0, min(wanted, self.max_wait))


@dataclass(frozen=True, slots=True)
class Reconnect:
    """How a stream reconnects after a dropped connection: waits of `initial` seconds doubling
    up to `maximum` (with up to 10 % jitter, so clients dropped together do not return
    together), at most `attempts` failures in a row (None: until the stream is closed). A
    ``Retry-After`` of a 429 or 503 answer is honoured up to `maximum`."""

    initial: float = 0.5
    maximum: float = 10.0
    attempts: int | None = None

    def wait(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after `failures` failures in a row (1 = the first)."""
        if retry_after is not None:
            return min(retry_after, self.maximum)
        delay = min(self.initial * 2.0 ** (failures - 1), self.maximum)
        return delay * (1 + random.random() / 10)  # noqa: S311  # jitter, not a secret


def base_url_of(base_url: str) -> str:
    """`base_url` ending in ``/``: the gateway root, alone or under a mount (``/api/v1/cache``)."""
    return base_url.rstrip("/") + "/"


def client_options(
    base_url: str,
    *,
    token: str | None,
    api_key: str | None,
    timeout: float | httpx.Timeout,
    headers: dict[str, str] | None,
) -> dict[str, Any]:
    """The keyword arguments of the httpx client behind a gateway client."""
    if token and api_key:
        raise ValueError("give token= or api_key=, not both")
    sent = {"User-Agent": f"fullon-cache-api-client/{__version__}", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if api_key:
        sent["X-API-Key"] = api_key
    return {"base_url": base_url_of(base_url), "headers": sent, "timeout": timeout}


def stream_timeout(timeout: float | httpx.Timeout, read: float) -> httpx.Timeout:
    """The client's timeouts with a stream's `read` timeout (longer than the heartbeats)."""
    base = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    return httpx.Timeout(connect=base.connect, read=read, write=base.write, pool=base.pool)
