"""Health of the gateway itself: liveness for anyone; Redis reachability and latency, and the
gateway's version, for identified callers; the Redis server's version and the replica's
replication state for operators only (admins, API keys flagged ``:ops``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..http import MsgspecResponse
from ..structs.health import Health, RedisHealth
from ._common import ApiRoute, identity_of, is_operator, reader_from


async def health(request: Request) -> Response:
    """Anonymous: 200 ``{"status": "ok"}`` without touching Redis (liveness). Identified: 200
    with the PING latency and the gateway's version when Redis answers, 503 problem with
    Retry-After when not. Operators (admins, ``:ops`` keys) also get the Redis server's
    version and, on a replica, its replication state."""
    if identity_of(request) is None:
        return MsgspecResponse(Health(status="ok"))
    checked = await reader_from(request).health.check()
    return MsgspecResponse(checked if is_operator(request) else _own_view(checked))


def _own_view(checked: Health) -> Health:
    """What a non-operator learns: the gateway works and Redis answers (and how fast)."""
    redis = checked.redis
    if redis is not None:
        redis = RedisHealth(reachable=redis.reachable, latency_ms=redis.latency_ms)
    return Health(status=checked.status, version=checked.version, redis=redis)


routes = [
    ApiRoute("/health", health, response=Health, access="public"),
]
