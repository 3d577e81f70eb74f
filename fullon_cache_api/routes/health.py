"""Health of the gateway itself: liveness for anyone; Redis reachability and latency, and the
gateway's and Redis's versions, for identified callers only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._responses import MsgspecResponse
from ..structs.health import Health
from ._common import ApiRoute, identity_of, reader_from


async def health(request: Request) -> Response:
    """Anonymous: 200 ``{"status": "ok"}`` without touching Redis (liveness). Identified: 200
    with the PING latency and the versions when Redis answers, 503 problem with Retry-After
    when not."""
    if identity_of(request) is None:
        return MsgspecResponse(Health(status="ok"))
    return MsgspecResponse(await reader_from(request).health.check())


routes = [
    ApiRoute("/health", health, response=Health, access="public"),
]
