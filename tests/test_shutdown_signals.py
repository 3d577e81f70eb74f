"""The shutdown watch in this process: what it chains onto, and what a signal then does."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from types import FrameType

import httpx
import pytest
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def sigterm_handler() -> Iterator[list[int]]:
    """A host's own SIGTERM handler recording what it receives (restored afterwards)."""
    received: list[int] = []

    def host_handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, host_handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


async def first_request(app: Starlette) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        assert (await http.get("/health")).status_code == 200


async def test_the_default_handler_is_left_alone(settings: Settings) -> None:
    """Where only the default handles SIGTERM (the process dies at once anyway), serving a
    request chains nothing."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        app = create_app(settings=settings)
        await first_request(app)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        await app.state.runtime.aclose()
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_a_hosts_handler_is_chained_and_still_called(
    settings: Settings, sigterm_handler: list[int]
) -> None:
    """After the first request, SIGTERM first ends the gateway's streams (hub closed, the
    runtime stopping), then reaches the host's own handler, once."""
    app = create_app(settings=settings)
    await first_request(app)
    assert not app.state.runtime.stopping
    signal.raise_signal(signal.SIGTERM)
    await asyncio.sleep(0)  # the streams end in the app's loop, right after the handler
    assert sigterm_handler == [signal.SIGTERM]
    assert app.state.runtime.stopping and app.state.hub.closed
    await app.state.runtime.aclose()
