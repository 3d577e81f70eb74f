"""Health of the gateway itself: Redis reachability and round-trip latency."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._responses import MsgspecResponse
from ._common import reader_from


async def health(request: Request) -> Response:
    """200 with the PING latency when Redis answers; 503 problem with Retry-After when not."""
    return MsgspecResponse(await reader_from(request).health.check())


routes = [
    Route("/health", health),
]
