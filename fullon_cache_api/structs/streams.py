"""Structs the streams send about themselves: the Redis link's state, and why a stream ended."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["CloseReason", "StreamClosed", "StreamStatus"]

CloseReason = Literal["slow_consumer", "shutdown", "token_expired"]


class StreamStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The Redis link behind a stream: `reconnecting` (updates paused) or `live` again."""

    state: Literal["live", "reconnecting"]
    detail: str


class StreamClosed(msgspec.Struct, frozen=True, kw_only=True):
    """Why the gateway ended a stream: a `slow_consumer` cut off, the gateway's `shutdown`, or
    the end of the JWT that authenticated it (`token_expired`)."""

    reason: CloseReason
    detail: str
