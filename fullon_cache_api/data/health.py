"""Reader behind ``/health``: is Redis reachable, how long does one round trip take, which
versions answer (the gateway's, the Redis server's), and, when the gateway reads from a
replica, how far behind its primary that replica may be."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from .._version import __version__
from ..backend import translate_errors
from ..structs.health import Health, RedisHealth, Replication
from ._base import BaseReader
from ._instrument import timed_read

__all__ = ["HealthReader"]


class ServerFacts(NamedTuple):
    """What INFO tells of the Redis the gateway reads from (None: INFO refused or absent)."""

    version: str | None
    replication: Replication | None


class HealthReader(BaseReader):
    """The gateway's own health: a timed PING (fullon_cache's BaseCache.ping does the same)."""

    # Seconds the INFO facts (server version, replication) are reused: a health poll then
    # costs one PING (the replica's lag is reported in whole seconds anyway).
    info_ttl = 1.0
    _info: tuple[float, ServerFacts] | None = None  # (monotonic time read, facts)

    # The PING in flight: health checks arriving while it is out share its answer (under a
    # poll of many clients, one round trip answers all that came in the same loop turns).
    # The check that sent it owns it; its waiters only read the future it resolves.
    _shared: asyncio.Future[Health] | None = None

    @timed_read
    async def check(self) -> Health:
        """A timed PING, with INFO replication and INFO server in the same round trip when
        the last INFO is older than `info_ttl`; an outage raises CacheUnavailable (503). An
        INFO the ACL refuses only leaves `replication` out and the Redis version null. A check
        made while a PING is in flight shares its answer: Redis answered after that check
        arrived."""
        shared = self._shared
        if shared is not None:
            try:
                return await asyncio.shield(shared)
            except asyncio.CancelledError:
                if not shared.cancelled():
                    raise  # this check was cancelled, not the PING
                # The check owning the PING went away (its client left): ping on our own.
        shared = self._shared = asyncio.get_running_loop().create_future()
        try:
            health = await self._check()
        except Exception as exc:
            shared.set_exception(exc)
            shared.exception()  # retrieved: no "never retrieved" log when nobody waited
            raise
        except BaseException:  # cancelled: its waiters ping on their own
            shared.cancel()
            raise
        finally:
            if self._shared is shared:
                self._shared = None
        shared.set_result(health)
        return health

    async def _check(self) -> Health:
        now = time.monotonic()
        known = self._info
        started = time.perf_counter()
        with translate_errors("PING"):
            if known is not None and now - known[0] < self.info_ttl:
                await self.redis.ping()
                facts = known[1]
            else:
                facts = await self._ping_and_info()
                self._info = (now, facts)
        latency_ms = (time.perf_counter() - started) * 1000.0
        return Health(
            status="ok",
            version=__version__,
            redis=RedisHealth(
                reachable=True, latency_ms=round(latency_ms, 3), version=facts.version
            ),
            replication=facts.replication,
        )

    async def _ping_and_info(self) -> ServerFacts:
        # Two INFO commands, not ``INFO replication server``: Redis < 7 takes one section.
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.ping()
            pipe.info("replication")
            pipe.info("server")
            pong, replication, server = await pipe.execute(raise_on_error=False)
        if isinstance(pong, Exception):
            raise pong
        return ServerFacts(
            version=_version(server) if isinstance(server, Mapping) else None,
            replication=_replication(replication) if isinstance(replication, Mapping) else None,
        )


def _version(info: Mapping[str, Any]) -> str | None:
    """INFO server's redis_version (redis-py may parse a version such as "7.2" as a float)."""
    value = info.get("redis_version")
    return None if value is None else str(value)


def _replication(info: Mapping[str, Any]) -> Replication | None:
    """The replica's side of INFO replication; None when we read from a primary."""
    if info.get("role") != "slave":
        return None
    link_up = info.get("master_link_status") == "up"
    return Replication(
        role="replica",
        link_up=link_up,
        last_io_seconds_ago=_int(info.get("master_last_io_seconds_ago")) if link_up else None,
        link_down_seconds=None if link_up else _int(info.get("master_link_down_since_seconds")),
        sync_in_progress=bool(info.get("master_sync_in_progress")),
        offset=_int(info.get("slave_repl_offset")),
    )


def _int(value: Any) -> int | None:
    """An INFO number (redis-py parses them; -1 means unknown)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
