"""Health of the gateway itself: Redis reachability and round-trip latency."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._responses import MsgspecResponse
from ..structs.health import Health
from ._common import ApiRoute, reader_from


async def health(request: Request) -> Response:
    """200 with the PING latency when Redis answers; 503 problem with Retry-After when not."""
    return MsgspecResponse(await reader_from(request).health.check())


routes = [
    ApiRoute("/health", health, response=Health, access="public"),
]
