"""Helpers of the stream tests: a real uvicorn server in the test's loop, an SSE reader, and
Redis introspection (PUBSUB NUMPAT / CHANNELS / NUMSUB, CLIENT LIST)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.types import ASGIApp

from fullon_cache_api import Settings, create_app
from fullon_cache_api._settings import ApiKey
from fullon_cache_api.security._auth import Identity, Ownership, hash_api_key
from fullon_cache_api.streams import PUBSUB_CLIENT_NAME, Hub, StreamSettings


def fast_streams(**overrides: Any) -> StreamSettings:
    """Stream settings with short periods, so tests run in well under a second each."""
    values: dict[str, Any] = {
        "heartbeat": 0.5,
        "poll_interval": 0.05,
        "send_timeout": 2.0,
        "max_backoff": 0.2,
        "keepalive": 1.0,
    }
    return StreamSettings(**{**values, **overrides})


def with_user_key(settings: Settings, key: str) -> Settings:
    """`settings` plus a non-admin API key `key` named ``user`` (see `grant_ex_1_bot_42`)."""
    user = ApiKey(name="user", sha256=hash_api_key(key))
    auth = settings.auth
    return Settings(
        redis_url=settings.redis_url,
        redis_socket_timeout=settings.redis_socket_timeout,
        auth=type(auth)(api_keys=(*auth.api_keys, user)),
    )


async def grant_ex_1_bot_42(identity: Identity) -> Ownership:
    """An ownership hook: every non-admin owns account ``1`` and bot ``42``."""
    return Ownership(ex_ids=frozenset({"1"}), bot_ids=frozenset({"42"}))


@dataclass
class Gateway:
    """A running gateway: its base URL and the cache app (whose state holds the hub)."""

    url: str
    app: Starlette

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


@asynccontextmanager
async def serve(
    settings: Settings,
    streams: StreamSettings | None = None,
    sock: socket.socket | None = None,
    **app_options: Any,
) -> AsyncIterator[Gateway]:
    """uvicorn on a free loopback port in this event loop, running the app's lifespan."""
    app = create_app(settings=settings, streams=streams or fast_streams(), **app_options)
    async with serve_asgi(app, sock) as url:
        yield Gateway(url=url, app=app)


# The server `serve_asgi` runs apps under: uvicorn, or granian for the modules that run
# their tests under both (the `each_server` fixture sets it).
SERVER = "uvicorn"


@asynccontextmanager
async def serve_asgi(app: ASGIApp, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Any ASGI app under `SERVER` on loopback (a socket of ours when given); yields its URL."""
    if sock is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
    if SERVER == "granian":
        async with _granian(app, sock) as url:
            yield url
        return
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@dataclass(frozen=True)
class SseEvent:
    """One parsed Server-Sent Event."""

    event: str
    id: int
    data: Any


class SseReader:
    """Reads events (counting comments) from a streaming httpx response in a background task,
    so a wait that times out leaves the stream usable."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments = 0
        self._events: asyncio.Queue[SseEvent | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments += 1
                elif line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif "event" in fields:
                    data = msgspec.json.decode(fields["data"])
                    self._events.put_nowait(SseEvent(fields["event"], int(fields["id"]), data))
                    fields = {}
        finally:
            self._events.put_nowait(None)

    async def next(self, within: float = 5.0) -> SseEvent:
        """The next event, within `within` seconds; EOFError when the stream ended."""
        async with asyncio.timeout(within):
            event = await self._events.get()
        if event is None:
            self._events.put_nowait(None)
            raise EOFError("the stream ended")
        return event

    async def until(self, kind: str, within: float = 5.0) -> SseEvent:
        """Skip events until one of `kind`."""
        async with asyncio.timeout(within):
            while (event := await self.next(within)).event != kind:
                pass
        return event

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@asynccontextmanager
async def sse(client: httpx.AsyncClient, path: str, **kwargs: Any) -> AsyncIterator[SseReader]:
    """Open an SSE stream; fails unless it answers 200 text/event-stream."""
    async with client.stream("GET", path, **kwargs) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        try:
            yield reader
        finally:
            await reader.close()


async def pubsub_counts(redis: Redis) -> tuple[int, list[str]]:
    """PUBSUB NUMPAT and the sorted PUBSUB CHANNELS."""
    numpat = await redis.pubsub_numpat()
    channels = sorted(channel.decode() for channel in await redis.pubsub_channels())
    return int(numpat), channels


async def pubsub_connections(redis: Redis) -> int:
    """Connections named as the hub's pub/sub link in CLIENT LIST."""
    clients = await redis.client_list()
    return sum(1 for client in clients if client.get("name") == PUBSUB_CLIENT_NAME)


async def eventually(check: Any, within: float = 5.0) -> None:
    """Poll the async predicate `check` until it is true, within `within` seconds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - Redis state has no event to wait on
            await asyncio.sleep(0.02)


@asynccontextmanager
async def _granian(app: ASGIApp, sock: socket.socket) -> AsyncIterator[str]:
    """`app` under granian's embedded server (as ``serve --server granian`` runs it), in this
    event loop, lifespan included."""
    from fullon_cache_api.server._granian_server import embedded_server

    sock.listen(2048)
    server = embedded_server(app, sock, "warning", lifespan=True)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.wrks:  # the worker task that serves
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.stop()
        await asyncio.wait_for(task, 10)
        sock.close()
