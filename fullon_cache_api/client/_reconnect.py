"""What both stream classes share: when a dropped stream reconnects, and what it says."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ._config import RETRYABLE, Reconnect
from .errors import CacheApiError, Timeout, Unreachable
from .events import Status

__all__ = ["HEADERS", "Drop", "Reconnecting", "drop_of", "reopen"]

HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}


@dataclass(frozen=True, slots=True)
class Drop:
    """Why a connection ended (or never started), and the error to raise if giving up."""

    detail: str
    error: CacheApiError | None = None
    retry_after: float | None = None


def drop_of(exc: httpx.TransportError) -> Drop:
    """The drop a transport error means."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return Drop(f"no data within the read timeout ({name})", Timeout(str(exc) or name))
    return Drop(f"connection lost ({name}: {exc})", Unreachable(str(exc) or name))


def reopen(drop: Drop, delay: float) -> Status:
    """The client's own `Status` announcing a reconnection."""
    return Status("reconnecting", f"{drop.detail}; reconnecting in {delay:.2f} s", "client")


class Reconnecting:
    """Counts the failures in a row of one stream and says how long to wait before the next
    attempt; raises once the policy allows no more."""

    def __init__(self, policy: Reconnect | None) -> None:
        self.policy = policy
        self.failures = 0
        self.pending: Drop | None = None

    def refused(self, error: CacheApiError) -> None:
        """An error answer: 429 and 503 are retried, anything else raised now."""
        if self.policy is None or error.status not in RETRYABLE:
            raise error
        self.pending = Drop(f"refused: {error}", error, error.retry_after)

    def connected(self) -> None:
        """A snapshot arrived: the connection works, failures start again from zero."""
        self.failures = 0

    def failed(self, drop: Drop) -> tuple[Drop, float]:
        """What ended the last attempt (a refusal, else `drop`) and the seconds to wait
        before reconnecting."""
        drop, self.pending = self.pending or drop, None
        self.failures += 1
        policy = self.policy
        if policy is None or (policy.attempts is not None and self.failures > policy.attempts):
            raise drop.error or Unreachable(drop.detail)
        return drop, policy.wait(self.failures, drop.retry_after)
