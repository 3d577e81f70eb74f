"""Bounded concurrent load on an in-process gateway, recording every answer with its timing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette

from fullon_cache_api.backend._near._link import LINK_CLIENT_NAME
from fullon_cache_api.streams._pubsub import PUBSUB_CLIENT_NAME

from ..apps import in_process

__all__ = [
    "GATEWAY_LINK_NAMES",
    "GATEWAY_NAME",
    "Load",
    "Sample",
    "gateway_client",
    "gateway_connections",
    "gateway_links",
]

GATEWAY_NAME = "fullon_cache_api"  # the data pool's connections
# Every connection the gateway opens to its Redis: the data pool, the near cache's
# invalidation link and the streams' pub/sub connection (CLIENT SETNAME of each).
GATEWAY_LINK_NAMES = (GATEWAY_NAME, LINK_CLIENT_NAME, PUBSUB_CLIENT_NAME)


@dataclass(frozen=True)
class Sample:
    """One request: when it started (monotonic), how long it took, what it answered."""

    path: str
    started: float
    elapsed: float
    status: int
    retry_after: str | None
    content_type: str
    detail: str = ""


@dataclass
class Load:
    """`clients` concurrent loops cycling over `paths`, each pausing `pause` between requests."""

    http: httpx.AsyncClient
    paths: Sequence[str]
    clients: int = 20
    pause: float = 0.005
    samples: list[Sample] = field(default_factory=list)

    async def run(self, seconds: float) -> None:
        """Hammer for `seconds` (each loop sends at least once); every request is recorded."""
        until = time.monotonic() + seconds
        async with anyio.create_task_group() as group:
            for offset in range(self.clients):
                group.start_soon(self._loop, offset, until)

    async def _loop(self, offset: int, until: float) -> None:
        index = offset
        # At least one request per loop: on a slow machine the window can close before a
        # task first runs, and a run with no samples proves nothing.
        while index == offset or time.monotonic() < until:
            path = self.paths[index % len(self.paths)]
            index += 1
            started = time.monotonic()
            response = await self.http.get(path)
            self.samples.append(
                Sample(
                    path=path,
                    started=started,
                    elapsed=time.monotonic() - started,
                    status=response.status_code,
                    retry_after=response.headers.get("retry-after"),
                    content_type=response.headers.get("content-type", ""),
                    detail=_detail(response),
                )
            )
            await anyio.sleep(self.pause)

    def between(self, start: float, end: float) -> list[Sample]:
        """The samples whose request started in [start, end)."""
        return [sample for sample in self.samples if start <= sample.started < end]

    def within(self, start: float, end: float) -> list[Sample]:
        """The samples whose request started and ended in [start, end]."""
        return [
            sample
            for sample in self.samples
            if start <= sample.started and sample.started + sample.elapsed <= end
        ]


def _detail(response: httpx.Response) -> str:
    """The problem detail of an error answer (empty for a success)."""
    if response.status_code < 400:
        return ""
    detail: str = response.json().get("detail", "")
    return detail


@asynccontextmanager
async def gateway_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling `app` in-process inside its lifespan, whose timeout outlasts
    every fault the tests inject (the timeouts they see are the gateway's)."""
    async with in_process(app, request_timeout=30.0) as http:
        yield http


async def gateway_connections(port: int) -> int:
    """How many connections of the gateway's data pool the Redis on `port` lists."""
    return (await gateway_links(port))[GATEWAY_NAME]


async def gateway_links(port: int) -> Counter[str]:
    """The gateway's connections the Redis on `port` lists, counted by name (every name of
    `GATEWAY_LINK_NAMES` present, 0 when none is open)."""
    admin = Redis(port=port)
    try:
        clients = await admin.client_list()
    finally:
        await admin.aclose()
    names = Counter(client.get("name") for client in clients)
    return Counter({name: names[name] for name in GATEWAY_LINK_NAMES})
