"""Structs of the gateway's own health check (``/health``)."""

from __future__ import annotations

import msgspec

__all__ = ["Health", "RedisHealth", "Replication"]


class RedisHealth(msgspec.Struct, frozen=True, kw_only=True):
    """Redis answered a PING; `latency_ms` is that round trip as seen by the gateway."""

    reachable: bool
    latency_ms: float
    # The server's version (INFO server redis_version), for operators (admins, ``:ops`` keys);
    # null for anyone else, and when the ACL refuses INFO.
    version: str | None = None


class Replication(msgspec.Struct, frozen=True, kw_only=True):
    """The replica the gateway reads from: its link to the primary, and how stale it may be."""

    role: str
    link_up: bool
    # Seconds since the replica last heard from its primary (INFO master_last_io_seconds_ago):
    # writes arrive at once and the primary pings every 10 s, so past ~10 s reads are stale.
    last_io_seconds_ago: int | None
    # How long the link has been down (master_link_down_since_seconds); null while it is up.
    link_down_seconds: int | None
    sync_in_progress: bool
    # Bytes of the primary's replication stream applied so far (slave_repl_offset).
    offset: int | None


class Health(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The gateway is up; with an identity, Redis answered too (an outage is a 503 problem)."""

    status: str
    # Details for identified callers only; anonymous liveness is ``{"status": "ok"}``.
    # The gateway's version (the fullon_cache_api package).
    version: str | None = None
    redis: RedisHealth | None = None
    # Present when the gateway reads from a replica (REDIS_READ_URL, REDIS_SENTINEL_READ),
    # for operators only.
    replication: Replication | None = None
