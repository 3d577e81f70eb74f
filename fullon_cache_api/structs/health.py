"""Structs of the gateway's own health check (``/health``)."""

from __future__ import annotations

import msgspec

__all__ = ["Health", "RedisHealth"]


class RedisHealth(msgspec.Struct, frozen=True, kw_only=True):
    """Redis answered a PING; `latency_ms` is that round trip as seen by the gateway."""

    reachable: bool
    latency_ms: float


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """The gateway is up and Redis answers (an outage is a 503 problem, never this body)."""

    status: str
    redis: RedisHealth
