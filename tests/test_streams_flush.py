"""The SSE push path: the hub's flusher steps each client's ASGI send in place, and a send that
has to wait is finished by the response's own task, in order, one at a time."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.types import Message

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.streams import Hub
from fullon_cache_api.streams._queue import Flusher

from .support.credentials import ADMIN_KEY
from .support.streams import eventually, fast_streams

pytestmark = pytest.mark.anyio

PATH = "/tickers/binance/BTC/USDT/stream"
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    cache = create_app(settings=settings, streams=fast_streams())
    async with cache.router.lifespan_context(cache):
        yield cache


class Client:
    """Drives the app as an ASGI server would, with a send that sometimes has to wait."""

    def __init__(self, app: Starlette, *, wait_every: int, request_id: str) -> None:
        self.app = app
        self.wait_every = wait_every
        self.request_id = request_id
        self.bodies: list[bytes] = []
        self.contexts: set[str] = set()
        self.in_send = 0
        self.overlaps = 0
        self.gone = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def send(self, message: Message) -> None:
        self.in_send += 1
        self.overlaps += self.in_send > 1
        try:
            if message["type"] == "http.response.body":
                self.contexts.add(REQUEST_ID.get())
                if len(self.bodies) % self.wait_every == 0:
                    for _ in range(3):  # a full socket buffer: several loop iterations
                        await asyncio.sleep(0)
                self.bodies.append(message["body"])
        finally:
            self.in_send -= 1

    async def receive(self) -> Message:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    def start(self) -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": PATH,
            "raw_path": PATH.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"test"), (b"x-api-key", ADMIN_KEY.encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        # A server's per-request context: set in the request's task, seen by its sends.
        self.task = asyncio.create_task(self._run(scope))

    async def _run(self, scope: dict[str, Any]) -> None:
        REQUEST_ID.set(self.request_id)
        await self.app(scope, self.receive, self.send)

    def prices(self) -> list[float]:
        text = b"".join(self.bodies).decode()
        return [
            float(line.split('"price":')[1].split(",")[0])
            for line in text.splitlines()
            if line.startswith("data:") and '"price":' in line
        ]

    def ids(self) -> list[int]:
        text = b"".join(self.bodies).decode()
        return [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]


async def test_sends_that_wait_are_finished_in_order_by_one_writer(
    app: Starlette, writer: CacheWriter
) -> None:
    """Every other send has to wait: all frames still arrive once, in order, never overlapping,
    in the request's context; leaving releases everything."""
    hub: Hub = app.state.hub
    await writer.set_ticker("binance", "BTC/USDT", price=0.0, time=1.0)
    clients = [Client(app, wait_every=n, request_id=f"request-{n}") for n in (1, 2, 3)]
    for client in clients:
        client.start()

    async def snapshot() -> bool:
        return all(client.prices() == [0.0] for client in clients)

    await eventually(snapshot)
    for price in range(1, 41):
        await writer.set_ticker("binance", "BTC/USDT", price=float(price), time=1.0)
        await asyncio.sleep(0.002)

    async def last() -> bool:
        return all(client.prices()[-1:] == [40.0] for client in clients)

    await eventually(last)
    for client in clients:
        prices = client.prices()
        assert prices == sorted(set(prices))  # in order, none twice (conflation may skip some)
        assert client.ids() == list(range(1, len(client.ids()) + 1))
        assert client.overlaps == 0
        assert client.contexts == {client.request_id}
        client.gone.set()
        assert client.task is not None
        await asyncio.wait_for(client.task, 5)
    assert (hub.stats().clients, hub.stats().feeds) == (0, 0)


async def test_flusher_survives_a_failing_flush() -> None:
    """One writer raising does not stop the others, in this pass or the next."""
    flusher = Flusher()
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    flusher.add(broken)
    flusher.add(lambda: calls.append("ok"))
    await asyncio.sleep(0.01)
    flusher.add(lambda: calls.append("later"))
    await asyncio.sleep(0.01)
    task = flusher.stop()
    assert task is not None
    await asyncio.gather(task, return_exceptions=True)
    assert calls == ["broken", "ok", "later"]


async def test_flusher_yields_between_slices() -> None:
    """A long pass lets other tasks run between slices (the pub/sub reader reads ticks)."""
    flusher = Flusher()
    order: list[str] = []
    for n in range(120):
        flusher.add(lambda n=n: order.append(f"flush{n}"))

    async def other() -> None:
        order.append("other")

    asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(other()))
    await asyncio.sleep(0.05)
    task = flusher.stop()
    assert task is not None
    await asyncio.gather(task, return_exceptions=True)
    assert len(order) == 121
    assert 0 < order.index("other") < 120  # ran within the pass, not after all of it
